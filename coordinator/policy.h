/* SPDX-License-Identifier: MIT */
/*
 * coordinator/policy.h - private to the coordinator: the placement policy
 * that moves a vCPU to the node serving most of its remote DSM faults.
 * Pure logic over counter samples (no sockets, no clock), so that the unit
 * tests drive it interval by interval. docs/policy.md has the cost model.
 */
#ifndef RACKVM_COORDINATOR_POLICY_H
#define RACKVM_COORDINATOR_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#define POLICY_MAX_NODES   64 /* VM_MAX_NODES */
#define POLICY_BACKOFF_MAX 32 /* cool-down multiplier cap (moves back) */

struct policy_cfg {
	uint32_t interval_ms;	/* decide this often */
	uint32_t min_rate;	/* faults/s from the top node, at least */
	uint32_t min_share_pct; /* top node's share of the remote faults */
	uint32_t cooldown_ms;	/* no move within this long of the last one */
	uint32_t pause_us;	/* estimated pause of one migration */
	uint32_t gain;		/* move if staying costs > gain x pause */
};

#define POLICY_CFG_DEFAULT                                                               \
	((struct policy_cfg){.interval_ms = 250,                                         \
			     .min_rate = 50,                                             \
			     .min_share_pct = 60,                                        \
			     .cooldown_ms = 2000,                                        \
			     .pause_us = 1000,                                           \
			     .gain = 4})

/* One vCPU's cumulative counters as the node running it reported them. */
struct policy_sample {
	uint32_t node; /* where it runs (the node that sent them) */
	uint64_t tid;  /* its thread there: a new one restarts the counters */
	uint64_t faults, wait_us;
	uint64_t from[POLICY_MAX_NODES]; /* faults served by each node */
	uint64_t t_ms;			 /* when they were received */
};

/* What the policy remembers of one vCPU. */
struct policy_vcpu {
	bool have_prev;
	struct policy_sample prev; /* the baseline of the next delta */
	bool moved;
	uint64_t last_move_ms;
	uint32_t left_node; /* the node its last move left */
	uint32_t backoff;   /* cool-down multiplier, doubled by each move back */
};

struct policy_verdict {
	int32_t to;	    /* node to move to, -1 stay */
	uint32_t top;	    /* node serving most remote faults */
	uint64_t rate;	    /* faults/s from top */
	uint64_t remote_rate; /* remote faults/s, from every node */
	uint32_t share_pct; /* top's share of the remote faults */
	uint64_t wait_us;   /* mean fault wait in the interval */
	uint64_t stay_us;   /* expected fault wait over one cool-down if it stays */
	uint64_t move_us;   /* gain x pause */
	const char *why;    /* the reason it stays, or "move" */
};

/* The decision for one vCPU from a new sample taken at @s->t_ms; the sample
 * becomes the next baseline. Never moves to s->node. */
void policy_decide(const struct policy_cfg *cfg, struct policy_vcpu *st,
		   const struct policy_sample *s, uint32_t nr_nodes,
		   struct policy_verdict *out);
/* The move was sent: start its cool-down. */
void policy_moved(struct policy_vcpu *st, uint32_t from, uint32_t to, uint64_t now_ms);
/* Of @n verdicts, the one to act on (-1: none): the costliest to leave. */
int policy_pick(const struct policy_verdict *v, unsigned int n);

/*
 * What one move of the policy saved, while the vCPU stays where it put it:
 * the remote faults it would have taken at the rate that moved it, minus the
 * remote faults it took there. An estimate: it assumes the vCPU would have
 * kept faulting at that rate.
 */
struct policy_gain {
	bool on;
	uint32_t node;	       /* where the move put the vCPU */
	uint64_t tid_before;   /* its thread before: counters of a new one start at 0 */
	uint64_t rate_before;  /* remote faults/s in the interval that moved it */
	uint64_t since_ms;     /* the move was asked */
	uint64_t remote_after; /* remote faults its thread there took (last sample) */
};

void policy_gain_start(struct policy_gain *g, uint32_t to, uint64_t tid_before,
		       uint64_t rate_before, uint64_t now_ms);
/* A sample of the vCPU: counts if it comes from its thread on g->node. */
void policy_gain_sample(struct policy_gain *g, const struct policy_sample *s,
			uint32_t nr_nodes);
/* Remote faults avoided from the move to @now_ms (negative: it cost faults);
 * 0 if none is on. The caller ends a gain by clearing g->on. */
int64_t policy_gain_avoided(const struct policy_gain *g, uint64_t now_ms);

#endif
