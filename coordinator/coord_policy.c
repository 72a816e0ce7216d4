// SPDX-License-Identifier: MIT
/*
 * The placement policy in the coordinator: the vCPU counters of every
 * heartbeat become samples (keys of docs/control-plane.md), and each
 * --policy-interval-ms the decision of policy.c runs over the fresh ones.
 * At most one vCPU moves per interval (the one whose remote faults cost
 * most), and after a move every vCPU's baseline restarts, since the deltas
 * of the interval that straddles it describe neither placement.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/coord.h"
#include "coordinator/policy.h"

struct coord_policy {
	struct policy_cfg cfg;
	uint32_t nr_vcpus, nr_nodes;
	struct policy_vcpu *st;
	struct policy_sample *cur;
	uint64_t *decided_ms; /* t_ms of the last sample decided on */
	uint64_t *msg;	      /* heartbeat that last reset cur[v] */
	struct policy_verdict *verdicts;
	uint64_t msg_seq, next_ms;
	int32_t *asked; /* node a requested move goes to, -1: none */
	unsigned int requested, moves, refused;
	struct policy_gain *gain; /* of each vCPU's last policy move */
	int64_t avoided;	  /* by the moves whose gain has ended */
};

int coord_policy_init(struct coord *c)
{
	struct coord_policy *p;
	uint32_t n = c->o->vcpus;

	if (!c->o->policy_auto)
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->cfg = c->o->policy;
	p->nr_vcpus = n;
	p->nr_nodes = c->o->nodes < POLICY_MAX_NODES ? c->o->nodes : POLICY_MAX_NODES;
	p->st = calloc(n, sizeof(*p->st));
	p->cur = calloc(n, sizeof(*p->cur));
	p->decided_ms = calloc(n, sizeof(*p->decided_ms));
	p->msg = calloc(n, sizeof(*p->msg));
	p->verdicts = calloc(n, sizeof(*p->verdicts));
	p->asked = malloc(n * sizeof(*p->asked));
	p->gain = calloc(n, sizeof(*p->gain));
	c->policy = p;
	if (!p->st || !p->cur || !p->decided_ms || !p->msg || !p->verdicts || !p->asked ||
	    !p->gain)
		return -ENOMEM;
	for (uint32_t v = 0; v < n; v++)
		p->asked[v] = -1;
	return 0;
}

void coord_policy_free(struct coord *c)
{
	struct coord_policy *p = c->policy;

	if (!p)
		return;
	free(p->st);
	free(p->cur);
	free(p->decided_ms);
	free(p->msg);
	free(p->verdicts);
	free(p->asked);
	free(p->gain);
	free(p);
	c->policy = NULL;
}

/* "vcpu.V.REST" -> V and REST; false for any other key. */
static bool vcpu_key(const char *key, uint32_t max, uint32_t *v, const char **rest)
{
	char *end;
	unsigned long n;

	if (strncmp(key, "vcpu.", 5) || key[5] < '0' || key[5] > '9')
		return false;
	n = strtoul(key + 5, &end, 10);
	if (n >= max || *end != '.')
		return false;
	*v = (uint32_t)n;
	*rest = end + 1;
	return true;
}

static void sample_put(struct coord_policy *p, struct policy_sample *s, const char *k,
		       uint64_t val)
{
	char *end;
	unsigned long n;

	if (!strcmp(k, "tid"))
		s->tid = val;
	else if (!strcmp(k, "faults"))
		s->faults = val;
	else if (!strcmp(k, "wait_us"))
		s->wait_us = val;
	else if (!strncmp(k, "faults.from.", 12) && k[12] >= '0' && k[12] <= '9') {
		n = strtoul(k + 12, &end, 10);
		if (!*end && n < p->nr_nodes)
			s->from[n] = val;
	}
}

void coord_policy_stats(struct coord *c, uint32_t node, const Rackvm__Stats *st,
			uint64_t now)
{
	struct coord_policy *p = c->policy;

	if (!p || !st)
		return;
	p->msg_seq++;
	for (size_t i = 0; i < st->n_counters; i++) {
		const char *rest;
		uint32_t v;

		if (!vcpu_key(st->counters[i]->key, p->nr_vcpus, &v, &rest))
			continue;
		if (p->msg[v] != p->msg_seq) { /* first key of vCPU v here */
			memset(&p->cur[v], 0, sizeof(p->cur[v]));
			p->cur[v].node = node;
			p->cur[v].t_ms = now;
			p->msg[v] = p->msg_seq;
		}
		sample_put(p, &p->cur[v], rest, st->counters[i]->value);
	}
}

static void coord_policy_move(struct coord *c, uint32_t v, uint64_t now)
{
	struct coord_policy *p = c->policy;
	const struct policy_verdict *d = &p->verdicts[v];
	uint32_t from = p->cur[v].node;
	char why[CTL_TEXT_MAX / 2];
	int err = coord_migrate_why(c, v, (uint32_t)d->to, why, sizeof(why));

	if (err) {
		p->refused++;
		ctl_log("coordinator", "policy: moving vCPU %u to node %d refused: %s", v,
			d->to, why);
		/* wait a cool-down before trying this vCPU again */
		policy_moved(&p->st[v], from, from, now);
		return;
	}
	p->requested++;
	p->asked[v] = d->to;
	/* its previous move's gain ends here; this one's begins */
	p->avoided += policy_gain_avoided(&p->gain[v], now);
	policy_gain_start(&p->gain[v], (uint32_t)d->to, p->cur[v].tid, d->remote_rate,
			  now);
	printf("rackvm coordinator: policy: vCPU %u node %u -> %d at %.2f s "
	       "(%llu faults/s from node %u, %u%%, wait %llu us; stay %.1f ms > "
	       "move %.1f ms)\n",
	       v, from, d->to, (double)(now - c->t_start) / 1000.0,
	       (unsigned long long)d->rate, d->top, d->share_pct,
	       (unsigned long long)d->wait_us, (double)d->stay_us / 1000.0,
	       (double)d->move_us / 1000.0);
	fflush(stdout);
	policy_moved(&p->st[v], from, (uint32_t)d->to, now);
	for (uint32_t i = 0; i < p->nr_vcpus; i++)
		p->st[i].have_prev = false; /* deltas across the move mean nothing */
}

/* The cost model's pause: the p50 of the moves measured so far in this run,
 * else --policy-pause-us. */
static uint32_t pause_estimate_us(struct coord *c)
{
	uint64_t pct[3];

	if (!c->nr_pauses)
		return c->o->policy.pause_us;
	coord_pause_pcts(c, pct);
	return pct[0] / 1000 ? (uint32_t)(pct[0] / 1000) : 1;
}

/* Requested moves that ended: done if the placement table now names the
 * target (a MigrateDone ok), else refused by the node. */
static void coord_policy_outcomes(struct coord *c)
{
	struct coord_policy *p = c->policy;

	for (uint32_t v = 0; c->vcpus && v < p->nr_vcpus; v++) {
		if (p->asked[v] < 0 || c->vcpus[v].moving)
			continue;
		if (c->vcpus[v].node == (uint32_t)p->asked[v]) {
			p->moves++;
		} else {
			p->refused++;
			p->gain[v].on = false; /* it did not move: nothing gained */
		}
		p->asked[v] = -1;
	}
}

void coord_policy_tick(struct coord *c, uint64_t now)
{
	struct coord_policy *p = c->policy;
	int best;

	if (p)
		coord_policy_outcomes(c);
	if (!p || c->phase != COORD_RUN || now < p->next_ms)
		return;
	p->next_ms = now + p->cfg.interval_ms;
	p->cfg.pause_us = pause_estimate_us(c);
	for (uint32_t v = 0; v < p->nr_vcpus; v++) {
		p->verdicts[v].to = -1;
		policy_gain_sample(&p->gain[v], &p->cur[v], p->nr_nodes);
		if (!p->cur[v].t_ms || p->cur[v].t_ms == p->decided_ms[v])
			continue; /* nothing new from its node */
		if (c->vcpus &&
		    (c->vcpus[v].moving || c->vcpus[v].node != p->cur[v].node))
			continue; /* moving, or counters from the node it left */
		p->decided_ms[v] = p->cur[v].t_ms;
		policy_decide(&p->cfg, &p->st[v], &p->cur[v], p->nr_nodes,
			      &p->verdicts[v]);
	}
	best = policy_pick(p->verdicts, p->nr_vcpus);
	if (best >= 0)
		coord_policy_move(c, (uint32_t)best, now);
}

void coord_policy_summary(struct coord *c)
{
	struct coord_policy *p = c->policy;

	if (!c->o->guest)
		return;
	if (p)
		coord_policy_outcomes(c);
	printf("rackvm coordinator: policy %s: %u migrations (%u requested, %u "
	       "refused)",
	       p ? "auto" : "off", p ? p->moves : 0, p ? p->requested : 0,
	       p ? p->refused : 0);
	if (p && p->requested)
		printf(", about %lld remote faults avoided",
		       (long long)coord_policy_avoided(c, ctl_now_ms()));
	printf("\n");
}

int64_t coord_policy_avoided(const struct coord *c, uint64_t now)
{
	const struct coord_policy *p = c->policy;
	int64_t sum;

	if (!p)
		return 0;
	sum = p->avoided;
	for (uint32_t v = 0; v < p->nr_vcpus; v++)
		sum += policy_gain_avoided(&p->gain[v], now);
	return sum;
}

void coord_policy_counts(const struct coord *c, unsigned int *moves,
			 unsigned int *refused)
{
	*moves = c->policy ? c->policy->moves : 0;
	*refused = c->policy ? c->policy->refused : 0;
}
