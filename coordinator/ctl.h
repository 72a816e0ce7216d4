/* SPDX-License-Identifier: MIT */
/*
 * coordinator/ctl.h - private to the control plane: the ZeroMQ + protobuf-c
 * message layer shared by the coordinator (ROUTER) and the node (DEALER),
 * the placement plan and the two event loops. docs/control-plane.md
 * describes the messages and the life cycle.
 */
#ifndef RACKVM_COORDINATOR_CTL_H
#define RACKVM_COORDINATOR_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coordinator/policy.h"
#include "interconnect/transport.h"
#include "rackvm.pb-c.h"

#define CTL_PROTO_VERSION 1
#define CTL_NODE_ID_COORD UINT32_MAX /* Heartbeat.node_id from the coordinator */
#define CTL_MAX_NODES	  XPORT_MAX_NODES
#define CTL_MSG_MAX	  (1 << 20) /* ZMQ_MAXMSGSIZE: bigger is dropped by zmq */
#define CTL_ID_MAX	  256	    /* bytes of a ZeroMQ routing id */
#define CTL_HOST_MAX	  255
#define CTL_TEXT_MAX	  1024 /* reason / detail / error strings */
#define CTL_HB_MS_MIN	  10
#define CTL_HB_MS_MAX	  60000
#define CTL_ROUNDS_MAX	  100000
#define CTL_VCPUS_MAX	  256
/* rackvm node --delay-us (rackvm run --link-delay-us): at most 100 ms */
#define CTL_DELAY_US_MAX	  100000
/* Counters in one Stats map: room for every vCPU's fault counters (4 keys +
 * one per serving node with faults) on a few dozen vCPUs; a node leaves the
 * rest out (docs/control-plane.md). Keys up to 64 bytes keep a full map
 * well under CTL_MSG_MAX. */
#define CTL_COUNTERS_MAX 4096

/* One received ZeroMQ message: the ROUTER's routing id (if any) and body. */
struct ctl_frame {
	uint8_t id[CTL_ID_MAX];
	size_t id_len;
	void *data; /* malloc'd, ctl_frame_free releases it */
	size_t len;
};

/* ctl_msg.c: framing and validation. Decoding checks the version first, then
 * that a body is set and every field of that body is in range. */
int ctl_send(void *sock, const uint8_t *id, size_t id_len, Rackvm__Envelope *env)
    __attribute__((warn_unused_result));
int ctl_recv(void *sock, bool router, struct ctl_frame *f)
    __attribute__((warn_unused_result));
void ctl_frame_free(struct ctl_frame *f);
/* 0 and *out, -EPROTONOSUPPORT (*out set: an Error can still be read),
 * or -EPROTO (*out NULL). @why gets a one-line reason. */
int ctl_decode(const void *buf, size_t len, Rackvm__Envelope **out, char *why,
	       size_t why_len) __attribute__((warn_unused_result));
int ctl_validate(const Rackvm__Envelope *env, char *why, size_t why_len)
    __attribute__((warn_unused_result));
int ctl_validate_config(const Rackvm__Config *c, char *why, size_t why_len)
    __attribute__((warn_unused_result));
const char *ctl_body_name(const Rackvm__Envelope *env);
/* Convenience senders. */
int ctl_send_error(void *sock, const uint8_t *id, size_t id_len, Rackvm__Error__Code code,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int ctl_send_stop(void *sock, const uint8_t *id, size_t id_len, bool ok,
		  const char *reason, int64_t fault_node);
int ctl_send_heartbeat(void *sock, const uint8_t *id, size_t id_len, uint32_t node_id,
		       uint64_t seq, const Rackvm__Stats *stats);

/* ctl_plan.c: where vCPUs run and which node is home of which memory. */
int ctl_plan_vcpus(unsigned int vcpus, unsigned int nodes, uint32_t *node_of_vcpu)
    __attribute__((warn_unused_result));
int ctl_plan_homes(uint64_t mem, unsigned int nodes, uint64_t *base, uint64_t *size)
    __attribute__((warn_unused_result));

/* ctl_util.c */
uint64_t ctl_now_ms(void);
uint64_t ctl_now_us(void);
/* How much longer than @timeout_ms a poll that began at @t0 took (0 if not
 * notably longer): time this process was not running. Silence timers add it
 * back, so that a stall of the observer is not blamed on its peers. */
uint64_t ctl_stall_ms(uint64_t t0, long timeout_ms, uint64_t now);
int ctl_parse_uint(const char *s, unsigned long long max, unsigned long long *out);
/* --time-dilation: "auto" (vm_host_slowdown(): 10 in a QEMU TCG host, else 1)
 * or 1..VM_MAX_DILATION. 0 or -EINVAL. */
int ctl_parse_dilation(const char *s, unsigned int *out);
/* Print "rackvm PROG: ..." style messages with a timestamp-free prefix. */
void ctl_log(const char *who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Install SIGINT/SIGTERM handlers that set a flag (ctl_stop_requested). */
void ctl_catch_signals(void);
bool ctl_stop_requested(void);
int ctl_stop_signal(void);

/* The coordinator (coord_*.c). */
struct coord_opts {
	const char *listen;
	const char *provider;
	unsigned int nodes;
	unsigned int heartbeat_ms;
	unsigned int join_timeout_ms;
	unsigned int seconds; /* keep the cluster up this long after Start */
	unsigned int vcpus;
	uint64_t mem;
	unsigned int check_rounds;
	/* The VM to run (guest NULL: the nodes only check the mesh). */
	const char *guest, *test, *kernel, *initrd, *append, *memory;
	unsigned int guest_seconds, timeout;
	bool numa_off;
	unsigned int migrate_storm_ms; /* move a random vCPU this often (0: never);
					* in guest time: times time_dilation */
	unsigned int time_dilation;    /* 0: real time (core.h) */
	bool policy_auto; /* --policy auto: move vCPUs toward their data */
	struct policy_cfg policy;
};
int coord_run(const struct coord_opts *o);

/* policy_opts.c: --policy and --policy-* (long option names without "--"). */
extern const char policy_opts_help[];
/* POLICY_CFG_DEFAULT, its rate and pause scaled by vm_host_slowdown(). */
struct policy_cfg policy_cfg_default(void);
bool policy_opt_name(const char *name);
/* Parses one; prints "rackvm WHO: ..." and returns -1 on a bad value. */
int policy_opt(const char *who, const char *name, const char *arg, bool *on,
	       struct policy_cfg *cfg);
#define POLICY_LONGOPTS(first)                                                           \
	{"policy", required_argument, NULL, (first)},                                    \
	    {"policy-interval-ms", required_argument, NULL, (first)},                    \
	    {"policy-min-rate", required_argument, NULL, (first)},                       \
	    {"policy-min-share", required_argument, NULL, (first)},                      \
	    {"policy-cooldown-ms", required_argument, NULL, (first)},                    \
	    {"policy-pause-us", required_argument, NULL, (first)},                       \
	{                                                                                \
		"policy-gain", required_argument, NULL, (first)                          \
	}

/* The node (node_*.c). */
struct node_opts {
	const char *coordinator;
	const char *provider; /* overrides Config.provider when set */
	const char *iface;
	unsigned int protocol_version; /* hidden test flag */
	int64_t want_id;	       /* -1: join order */
	int shared_mem_fd;	       /* guest RAM shared by the nodes of one host, or -1 */
	unsigned int connect_timeout_ms;
	unsigned int delay_us; /* added to every data-plane message received */
};
int node_run(const struct node_opts *o);

#endif
