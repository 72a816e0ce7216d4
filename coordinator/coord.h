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

#define COORD_NODE_COUNTERS 8 /* heartbeat counters kept per node for `rackvm stats` */

struct coord_counter {
	char key[65];
	uint64_t value;
};

/* Where a vCPU runs, and the move in flight (coord_migrate.c). */
struct coord_vcpu {
	uint32_t node;
	uint32_t epoch; /* moves so far */
	bool moving;	/* Migrate sent, no MigrateDone yet */
	uint8_t client[CTL_ID_MAX]; /* `rackvm migrate` waiting for the outcome */
	size_t client_len;	    /* 0: nobody waits */
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
	struct coord_counter stats[COORD_NODE_COUNTERS]; /* its last heartbeat's */
	unsigned int nr_stats;
};

/* A move's pause, and its parts (docs/migration.md "The pause"). */
enum coord_pause_part {
	COORD_PAUSE_TOTAL,  /* old owner's park -> first entry on the new one */
	COORD_PAUSE_SAVE,   /* park -> the old owner saved the state blob */
	COORD_PAUSE_ARRIVE, /* -> the blob all on the new owner */
	COORD_PAUSE_LOAD,   /* -> its thread started there */
	COORD_PAUSE_START,  /* -> its first entry (the rest of the total) */
	COORD_PAUSE_PARTS
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
	struct coord_vcpu *vcpus; /* o->vcpus entries; NULL: no VM */
	/* of every completed move: its pause and the parts MigrateDone gave
	 * (enum coord_pause_part), in ns */
	uint64_t *pauses[COORD_PAUSE_PARTS];
	size_t nr_pauses, cap_pauses;
	uint64_t migrations, migrate_refused;
	uint64_t next_storm; /* --migrate-storm: next move (ms), 0 = off */
	uint64_t rng;
	struct coord_policy *policy; /* --policy auto, else NULL */
};

/*
 * Ask the owner of @vcpu to move it to node @to. 0 if the request was sent;
 * -EBUSY while that vCPU is already moving, -EINVAL for a bad vcpu/node (also
 * @to being where it runs already), -ENOENT if no VM runs. The outcome
 * arrives later as a MigrateDone from the node (counted in the stats).
 */
int coord_migrate(struct coord *c, uint32_t vcpu, uint32_t to);

/* coord_handle.c */
void coord_handle(struct coord *c, const struct ctl_frame *f);
/* coord.c */
void coord_fail(struct coord *c, int64_t fault, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int coord_send_configs(struct coord *c);
void coord_send_start(struct coord *c);
const char *coord_node_name(const struct coord *c, uint32_t id, char *buf, size_t len);
/* coord_migrate.c: the live placement, moves, the storm, command clients. */
int coord_migrate_init(struct coord *c) __attribute__((warn_unused_result));
void coord_migrate_fini(struct coord *c);
/* The same checks as coord_migrate, with a one-line reason in @why. */
int coord_migrate_why(struct coord *c, uint32_t vcpu, uint32_t to, char *why, size_t len);
void coord_migrate_done(struct coord *c, uint32_t id, const Rackvm__MigrateDone *m);
/* Migrate or Query from a peer that is not a node (rackvm migrate / stats). */
void coord_client(struct coord *c, const struct ctl_frame *f, const Rackvm__Envelope *env);
void coord_node_stats(struct coord *c, uint32_t id, const Rackvm__Stats *st);
/* --migrate-storm: the next move if it is due; the time of the next one. */
void coord_storm(struct coord *c, uint64_t now);
void coord_migrate_summary(const struct coord *c);
/* p50, p99 and max of the pauses so far (sorts them in place); zeros if none. */
void coord_pause_pcts(const struct coord *c, uint64_t out[3]);
/* The same for one part of the pause. */
void coord_pause_part_pcts(const struct coord *c, enum coord_pause_part part,
			   uint64_t out[3]);
/* coord_policy.c: the placement policy (NULL state when --policy off) */
int coord_policy_init(struct coord *c) __attribute__((warn_unused_result));
void coord_policy_free(struct coord *c);
/* The vCPU counters of a heartbeat from @node. */
void coord_policy_stats(struct coord *c, uint32_t node, const Rackvm__Stats *st,
			uint64_t now);
/* Decide and act, once per --policy-interval-ms while the VM runs. */
void coord_policy_tick(struct coord *c, uint64_t now);
void coord_policy_summary(struct coord *c);
/* Moves the policy made and moves coord_migrate refused (0 when off). */
void coord_policy_counts(const struct coord *c, unsigned int *moves,
			 unsigned int *refused);
/* Remote faults the policy's moves avoided up to @now (an estimate: policy.h
 * struct policy_gain); 0 when off. */
int64_t coord_policy_avoided(const struct coord *c, uint64_t now);

#endif
