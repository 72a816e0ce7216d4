/* SPDX-License-Identifier: MIT */
/* coordinator/coord.h - private to coord_*.c: the coordinator's state. */
#ifndef RACKVM_COORDINATOR_COORD_H
#define RACKVM_COORDINATOR_COORD_H

#include "coordinator/ctl.h"

enum coord_phase {
	COORD_JOIN,  /* collecting Hello + Join from N nodes */
	COORD_READY, /* Config sent, waiting for Ready from all */
	COORD_RUN,   /* Start sent, waiting for Reports and the run time */
	COORD_DONE,
};

struct coord_node {
	bool used; /* Hello accepted, id assigned */
	bool joined, ready, reported;
	uint8_t rid[CTL_ID_MAX]; /* ZeroMQ routing id of its DEALER */
	size_t rid_len;
	char host[CTL_HOST_MAX + 1];
	uint32_t pid;
	struct xport_addr addr;
	uint32_t cpus;
	uint64_t mem;
	uint64_t last_seen_ms;
	uint64_t check_us;
	uint64_t rounds; /* health-check rounds the node reported */
};

struct coord {
	const struct coord_opts *o;
	void *ctx, *sock;
	char endpoint[256];
	struct coord_node *nodes; /* o->nodes entries, indexed by node id */
	unsigned int nr_used, nr_joined, nr_ready, nr_reported;
	enum coord_phase phase;
	uint64_t t_begin, t_phase, t_start, next_hb;
	uint64_t hb_seq;
	int exit_code;
	int guest_exit; /* worst VM verdict the nodes reported (0 passed) */
	struct coord_policy *policy; /* --policy auto, else NULL */
};

/* coord_handle.c */
void coord_handle(struct coord *c, const struct ctl_frame *f);
/* coord.c */
void coord_fail(struct coord *c, int64_t fault, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int coord_send_configs(struct coord *c);
void coord_send_start(struct coord *c);
const char *coord_node_name(const struct coord *c, uint32_t id, char *buf, size_t len);
/* Move vCPU @vcpu to node @to. 0 sent; -EBUSY already moving; -EINVAL bad
 * vcpu/node; -ENOENT no VM. */
int coord_migrate(struct coord *c, uint32_t vcpu, uint32_t to);
/* coord_policy.c: the placement policy (NULL state when --policy off) */
int coord_policy_init(struct coord *c) __attribute__((warn_unused_result));
void coord_policy_free(struct coord *c);
/* The vCPU counters of a heartbeat from @node. */
void coord_policy_stats(struct coord *c, uint32_t node, const Rackvm__Stats *st,
			uint64_t now);
/* Decide and act, once per --policy-interval-ms while the VM runs. */
void coord_policy_tick(struct coord *c, uint64_t now);
void coord_policy_summary(const struct coord *c);

#endif
