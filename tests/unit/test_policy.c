// SPDX-License-Identifier: MIT
/* The placement policy's decision: moves a vCPU toward the node serving its
 * remote faults when it should, and not when the faults are spread, too
 * rare or too cheap, within its cool-down, to its own node, or back and forth
 * between two nodes. Time is the samples' own clock, one interval a step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "coordinator/policy.h"

#define NODES 4
#define STEP  250 /* ms, the default interval */

/* A vCPU on @node, its counters advanced interval by interval. */
struct sim {
	struct policy_cfg cfg;
	struct policy_vcpu st;
	struct policy_sample s;
	unsigned int moves;
};

static void sim_init(struct sim *m, uint32_t node)
{
	memset(m, 0, sizeof(*m));
	m->cfg = POLICY_CFG_DEFAULT;
	m->s.node = node;
	m->s.tid = 100;
	m->s.t_ms = 1000;
}

/* One interval in which node n served per[n] faults, each waiting @wait_us;
 * acts on the verdict as the coordinator does. Returns verdict.to. */
static int32_t sim_step(struct sim *m, const uint64_t per[NODES], uint64_t wait_us)
{
	struct policy_verdict v;

	m->s.t_ms += STEP;
	for (int n = 0; n < NODES; n++) {
		m->s.from[n] += per[n];
		m->s.faults += per[n];
		m->s.wait_us += per[n] * wait_us;
	}
	policy_decide(&m->cfg, &m->st, &m->s, NODES, &v);
	if (v.to >= 0) {
		assert_int_not_equal(v.to, m->s.node); /* never to where it runs */
		policy_moved(&m->st, m->s.node, (uint32_t)v.to, m->s.t_ms);
		/* the new node's thread starts from zero */
		memset(m->s.from, 0, sizeof(m->s.from));
		m->s.faults = m->s.wait_us = 0;
		m->s.node = (uint32_t)v.to;
		m->s.tid++;
		m->moves++;
	}
	return v.to;
}

/* 400 faults/s from node 0, 100 µs each: 0.1 s lost per second on node 1 */
static const uint64_t from0[NODES] = {100, 0, 0, 0};

static void test_moves_to_the_data(void **state)
{
	struct sim m;

	(void)state;
	sim_init(&m, 1);
	assert_int_equal(sim_step(&m, from0, 100), -1); /* the baseline */
	assert_int_equal(sim_step(&m, from0, 100), 0);
	assert_int_equal(m.s.node, 0);
	/* there, node 0's faults are local: it stays */
	for (int i = 0; i < 20; i++)
		assert_int_equal(sim_step(&m, (uint64_t[NODES]){0}, 100), -1);
	assert_int_equal(m.moves, 1);
}

static void test_spread_faults_stay(void **state)
{
	struct sim m;
	uint64_t spread[NODES] = {60, 0, 50, 40}; /* top share 40% */

	(void)state;
	sim_init(&m, 1);
	for (int i = 0; i < 40; i++)
		assert_int_equal(sim_step(&m, spread, 100), -1);
}

static void test_rare_or_cheap_faults_stay(void **state)
{
	struct sim m;
	uint64_t rare[NODES] = {5, 0, 0, 0}; /* 20/s: below min_rate */

	(void)state;
	sim_init(&m, 1);
	for (int i = 0; i < 20; i++)
		assert_int_equal(sim_step(&m, rare, 1000), -1);
	/* 400/s of 1 µs faults cost 0.8 ms per cool-down: less than 4 pauses */
	sim_init(&m, 1);
	for (int i = 0; i < 20; i++)
		assert_int_equal(sim_step(&m, from0, 1), -1);
	/* the same with a cheap migration moves */
	sim_init(&m, 1);
	m.cfg.pause_us = 100;
	sim_step(&m, from0, 1);
	assert_int_equal(sim_step(&m, from0, 1), 0);
}

static void test_own_node_faults_ignored(void **state)
{
	struct sim m;
	uint64_t local[NODES] = {0, 500, 0, 0}; /* served by its own node 1 */

	(void)state;
	sim_init(&m, 1);
	for (int i = 0; i < 20; i++)
		assert_int_equal(sim_step(&m, local, 100), -1);
}

static void test_cool_down(void **state)
{
	struct sim m;
	uint64_t from2[NODES] = {0, 0, 100, 0};
	int i;

	(void)state;
	sim_init(&m, 1);
	sim_step(&m, from0, 100);
	assert_int_equal(sim_step(&m, from0, 100), 0);
	/* now its data is on node 2: no move before the cool-down is over */
	sim_step(&m, from2, 100); /* the new node's baseline */
	for (i = 0; sim_step(&m, from2, 100) < 0; i++)
		assert_true(i < 100);
	assert_int_equal(m.s.node, 2);
	/* moved at 2 s after the first move: (i + 2) intervals */
	assert_true((i + 2) * STEP >= (int)m.cfg.cooldown_ms);
	assert_true((i + 1) * STEP < (int)m.cfg.cooldown_ms);
}

/* Its faults follow it: wherever it is, the other node serves them. It may
 * move, but each move back waits twice as long as the one before. */
static void test_no_thrash(void **state)
{
	struct sim m;
	uint64_t last = 0, gap = 0;
	int i;

	(void)state;
	sim_init(&m, 1);
	for (i = 0; i < 2000; i++) { /* 500 s */
		uint64_t per[NODES] = {0};

		per[m.s.node ^ 1] = 100;
		if (sim_step(&m, per, 100) < 0)
			continue;
		/* back-off: the wait doubles (less the baseline step) up to
		 * the cap, and never falls */
		if (last)
			assert_true(m.s.t_ms - last >= 2 * (gap - STEP) ||
				    m.s.t_ms - last >=
					2ull * m.cfg.cooldown_ms * POLICY_BACKOFF_MAX);
		gap = last ? m.s.t_ms - last : m.cfg.cooldown_ms / 2;
		last = m.s.t_ms;
	}
	assert_true(m.moves <= 8);
	assert_true(m.moves >= 2);
}

static void test_counter_restart_is_baseline(void **state)
{
	struct sim m;
	struct policy_verdict v;

	(void)state;
	sim_init(&m, 1);
	sim_step(&m, from0, 100);
	/* a new thread (the vCPU came back): its counters start over */
	m.s.tid++;
	m.s.t_ms += STEP;
	memset(m.s.from, 0, sizeof(m.s.from));
	m.s.faults = m.s.wait_us = 0;
	policy_decide(&m.cfg, &m.st, &m.s, NODES, &v);
	assert_int_equal(v.to, -1);
	assert_string_equal(v.why, "counters restarted");
	assert_int_equal(sim_step(&m, from0, 100), 0);
}

static void test_pick_costliest(void **state)
{
	struct policy_verdict v[3] = {{.to = 0, .stay_us = 10},
				      {.to = -1, .stay_us = 99},
				      {.to = 2, .stay_us = 50}};

	(void)state;
	assert_int_equal(policy_pick(v, 3), 2);
	v[2].to = -1;
	assert_int_equal(policy_pick(v, 3), 0);
	v[0].to = -1;
	assert_int_equal(policy_pick(v, 3), -1);
}

/* What a move saved: the rate that moved it, over the time since, minus the
 * remote faults its new thread took; only that thread's samples count. */
static void test_faults_avoided(void **state)
{
	struct policy_gain g = {0};
	struct policy_sample s = {.node = 0, .tid = 7, .t_ms = 2000};
	struct sim m;
	struct policy_verdict v;

	(void)state;
	assert_int_equal(policy_gain_avoided(&g, 5000), 0); /* none on */
	/* the verdict's rate of every remote fault: 100 per 250 ms = 400/s */
	sim_init(&m, 1);
	sim_step(&m, from0, 100);
	m.s.t_ms += STEP;
	m.s.from[0] += 100;
	m.s.from[2] += 100;
	m.s.faults += 200;
	m.s.wait_us += 200 * 100;
	policy_decide(&m.cfg, &m.st, &m.s, NODES, &v);
	assert_int_equal(v.remote_rate, 800);

	policy_gain_start(&g, 0, 6, 400, 1000);
	assert_int_equal(policy_gain_avoided(&g, 3000), 800); /* no sample yet */
	s.from[1] = 100; /* node 1 served 100 of them since */
	s.from[0] = 999; /* node 0's own: local now */
	policy_gain_sample(&g, &s, NODES);
	assert_int_equal(policy_gain_avoided(&g, 3000), 700);
	/* the thread before the move, another node, an older sample: ignored */
	s.from[1] = 5000;
	s.tid = 6;
	policy_gain_sample(&g, &s, NODES);
	s.tid = 7;
	s.node = 2;
	policy_gain_sample(&g, &s, NODES);
	s.node = 0;
	s.t_ms = 500;
	policy_gain_sample(&g, &s, NODES);
	assert_int_equal(policy_gain_avoided(&g, 3000), 700);
	/* a move that cost faults is negative */
	s.t_ms = 2500;
	policy_gain_sample(&g, &s, NODES);
	assert_int_equal(policy_gain_avoided(&g, 3000), 800 - 5000);
	/* peer counters at their limit do not wrap */
	policy_gain_start(&g, 0, 6, UINT64_MAX, 0);
	assert_true(policy_gain_avoided(&g, UINT64_MAX) > 0);
	s.from[1] = s.from[2] = UINT64_MAX;
	policy_gain_sample(&g, &s, NODES);
	assert_true(g.remote_after == UINT64_MAX);
	assert_true(policy_gain_avoided(&g, 1) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_moves_to_the_data),
	    cmocka_unit_test(test_spread_faults_stay),
	    cmocka_unit_test(test_rare_or_cheap_faults_stay),
	    cmocka_unit_test(test_own_node_faults_ignored),
	    cmocka_unit_test(test_cool_down),
	    cmocka_unit_test(test_no_thrash),
	    cmocka_unit_test(test_counter_restart_is_baseline),
	    cmocka_unit_test(test_pick_costliest),
	    cmocka_unit_test(test_faults_avoided),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
