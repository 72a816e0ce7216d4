// SPDX-License-Identifier: MIT
/* The coordinator's side of the policy: heartbeat counters (the keys of
 * docs/control-plane.md) become samples, and a tick acts on the verdict.
 * No VM runs here, so coord_migrate refuses (-ENOENT): the refusal count
 * shows that the policy asked, and for which vCPU the log says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "coordinator/coord.h"

struct hb {
	Rackvm__Stats st;
	Rackvm__Stats__CountersEntry e[16], *ep[16];
	char keys[16][64];
};

static void hb_put(struct hb *h, const char *key, uint64_t v)
{
	size_t i = h->st.n_counters++;

	rackvm__stats__counters_entry__init(&h->e[i]);
	snprintf(h->keys[i], sizeof(h->keys[i]), "%s", key);
	h->e[i].key = h->keys[i];
	h->e[i].has_value = true;
	h->e[i].value = v;
	h->ep[i] = &h->e[i];
}

/* Node 1's heartbeat: vCPU 1 took @n faults, all served by node 0, 100 µs each;
 * plus keys the policy must ignore. */
static void hb_fill(struct hb *h, uint64_t n)
{
	memset(h, 0, sizeof(*h));
	rackvm__stats__init(&h->st);
	h->st.counters = h->ep;
	hb_put(h, "check_rounds", 5);
	hb_put(h, "vcpu.1.tid", 4242);
	hb_put(h, "vcpu.1.faults", n);
	hb_put(h, "vcpu.1.wait_us", n * 100);
	hb_put(h, "vcpu.1.faults.from.0", n);
	hb_put(h, "vcpu.1.faults.from.9", 77);	  /* no node 9: ignored */
	hb_put(h, "vcpu.7.faults", 1);		  /* no vCPU 7: ignored */
	hb_put(h, "vcpu.x.faults", 1);		  /* not a vCPU key */
	hb_put(h, "vcpu.1.faults.from.0x", 1000); /* not a node number */
}

static void run_ticks(struct coord *c, uint64_t per_tick, int ticks, uint64_t *t)
{
	struct hb h;
	uint64_t n = 0;

	for (int i = 0; i < ticks; i++) {
		n += per_tick;
		*t += 250;
		hb_fill(&h, n);
		coord_policy_stats(c, 1, &h.st, *t);
		coord_policy_tick(c, *t);
	}
}

static void test_heartbeat_to_decision(void **state)
{
	struct coord_opts o = {.vcpus = 2,
			       .nodes = 2,
			       .guest = "testos",
			       .policy_auto = true,
			       .policy = POLICY_CFG_DEFAULT};
	struct coord c = {.o = &o, .phase = COORD_RUN};
	unsigned int moves, refused;
	uint64_t t = 1000;

	(void)state;
	assert_int_equal(coord_policy_init(&c), 0);
	/* 100 faults per 250 ms from node 0, 100 µs each: worth a move */
	run_ticks(&c, 100, 2, &t);
	coord_policy_counts(&c, &moves, &refused);
	assert_int_equal(moves, 0);
	assert_int_equal(refused, 1); /* asked; no VM here to move */
	/* a refusal counts as a move for the cool-down: no new request soon */
	run_ticks(&c, 100, 4, &t);
	coord_policy_counts(&c, &moves, &refused);
	assert_int_equal(refused, 1);
	coord_policy_free(&c);
}

static void test_off_and_quiet(void **state)
{
	struct coord_opts o = {
	    .vcpus = 2, .nodes = 2, .guest = "testos", .policy = POLICY_CFG_DEFAULT};
	struct coord c = {.o = &o, .phase = COORD_RUN};
	unsigned int moves, refused;
	uint64_t t = 1000;

	(void)state;
	assert_int_equal(coord_policy_init(&c), 0); /* --policy off: no state */
	run_ticks(&c, 100, 8, &t);
	coord_policy_counts(&c, &moves, &refused);
	assert_int_equal(moves + refused, 0);
	/* on, but no faults at all: never asks */
	o.policy_auto = true;
	assert_int_equal(coord_policy_init(&c), 0);
	run_ticks(&c, 0, 8, &t);
	coord_policy_counts(&c, &moves, &refused);
	assert_int_equal(moves + refused, 0);
	coord_policy_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_heartbeat_to_decision),
	    cmocka_unit_test(test_off_and_quiet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
