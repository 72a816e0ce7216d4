/* SPDX-License-Identifier: MIT */
/* coordinator/node.h - private to node_*.c: one node's control-plane state. */
#ifndef RACKVM_COORDINATOR_NODE_H
#define RACKVM_COORDINATOR_NODE_H

#include <pthread.h>

#include "coordinator/ctl.h"
#include "coordinator/node_vm.h"

enum node_phase {
	NODE_HELLO,    /* Hello sent, waiting for Welcome */
	NODE_OPEN,     /* worker: opening the transport endpoint */
	NODE_JOINED,   /* transport open, Join sent, waiting for Config */
	NODE_CHECK,    /* worker: connect the mesh + health check */
	NODE_READY,    /* Ready sent, waiting for Start */
	NODE_RUN,      /* worker: health-check rounds */
	NODE_FINISHED, /* Report sent, waiting for Stop */
	NODE_DONE,
};

enum node_task {
	NODE_TASK_OPEN,	 /* xport_open + xport_local_addr */
	NODE_TASK_CHECK, /* xport_connect + xport_mesh_selftest */
	NODE_TASK_RUN,	 /* xport_mesh_selftest */
	NODE_TASK_VM,	 /* run this node's vCPUs until the VM stops */
};

/* The data-plane worker: blocking transport calls run here so that the
 * control loop keeps heartbeating and can stop at any time. */
struct node_work {
	pthread_t thread;
	bool busy; /* started and not yet joined */
	int efd;   /* eventfd: the worker is done */
	enum node_task task;
	struct xport_config cfg; /* TASK_OPEN */
	struct xport_addr addr;	 /* TASK_OPEN: our endpoint */
	struct transport *t;
	struct xport_addr *peers; /* node_count entries (TASK_CHECK) */
	unsigned int rounds;
	struct node_vm *vm; /* TASK_CHECK creates it (if any), TASK_VM runs it */
	int result;	    /* 0 or -errno */
	uint64_t took_us;
};

struct node {
	const struct node_opts *o;
	void *ctx, *sock;
	char who[32]; /* "node K" for messages, once the id is known */
	enum node_phase phase;
	uint32_t id, count, hb_ms;
	char provider[65];
	struct node_work work; /* work.t: the transport once open */
	struct node_vm vm;
	bool has_vm; /* the Config described a VM */
	unsigned int check_rounds;
	uint64_t rounds_done, check_us;
	uint64_t t_hello, last_coord_ms, next_hb, hb_seq;
	struct node_stats *stats; /* the heartbeat's Stats map */
	int exit_code;
};

/* node.c */
int node_send(struct node *n, Rackvm__Envelope *env);
void node_finish(struct node *n, int exit_code);
/* node_handle.c */
void node_handle(struct node *n, const struct ctl_frame *f);
void node_work_done(struct node *n);
/* node_stats.c: the Stats map of a heartbeat (valid until the next call) */
struct node_stats *node_stats_new(void);
void node_stats_free(struct node_stats *s);
const Rackvm__Stats *node_stats_collect(struct node_stats *s, struct node *n);
/* node_migrate.c */
void node_migrate(struct node *n, const Rackvm__Migrate *m);
void node_report_moves(struct node *n);
/* node_work.c */
int node_work_init(struct node_work *w);
int node_work_start(struct node_work *w, enum node_task task)
    __attribute__((warn_unused_result));
/* Joins a finished worker; false if it is still busy (never blocks). */
bool node_work_reap(struct node_work *w);
/* The same, waiting up to @ms for the worker to finish. */
bool node_work_reap_wait(struct node_work *w, unsigned int ms);
void node_work_fini(struct node_work *w);

#endif
