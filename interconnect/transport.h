/* SPDX-License-Identifier: MIT */
/*
 * interconnect/transport.h - the data plane between rackvm nodes.
 *
 * A transport joins N nodes in a full mesh and carries small typed messages
 * (DSM requests, IPIs, forwarded I/O, vCPU state) and one-sided reads and
 * writes of registered memory (DSM page data). Backends: libfabric RDM
 * endpoints (providers tcp, shm, verbs;ofi_rxm) and native ibverbs RC.
 *
 * Life cycle:  xport_open -> xport_mr_reg (any number of regions)
 *              -> xport_local_addr (give it to the control plane)
 *              -> xport_connect (every node's address, indexed by node id)
 *              -> send / read / write / poll ... -> xport_close.
 * Region keys are exchanged by xport_connect: a peer's region is then named
 * by (node, region id) and an offset, never by a raw remote address.
 *
 * Completions arrive through xport_poll, never callbacks; xport_wait_fd is
 * an fd that becomes readable when poll may have work (plug it into epoll).
 * Block on it only after xport_poll returned 0: that call armed it (for
 * libfabric it ran fi_trywait), so no completion can slip by unseen.
 * All calls return 0 / a count or -errno. Threads: xport_send, xport_read and
 * xport_write are safe from any thread at any time (one lock per transport);
 * xport_poll, xport_connect, xport_mesh_selftest and xport_close belong to
 * one thread at a time. Messages from one node to another arrive in the
 * order they were sent.
 *
 * The node id may be unknown when the endpoint is opened (the control plane
 * learns it after it has published the address): open with a provisional id
 * and nr_nodes as an upper bound (0 = XPORT_MAX_NODES), then call
 * xport_set_node before xport_connect.
 */
#ifndef RACKVM_INTERCONNECT_TRANSPORT_H
#define RACKVM_INTERCONNECT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XPORT_MAX_NODES 256
/* bytes of an endpoint address: verbs carries one QP number per peer */
#define XPORT_ADDR_MAX	  1536
#define XPORT_MSG_MAX	  8192 /* payload bytes of one message */
#define XPORT_MAX_REGIONS 8
/* Message types from here up belong to the transport (region exchange,
 * health check); xport_send refuses them and xport_poll never returns them. */
#define XPORT_TYPE_RESERVED 0xff00
/* src of an XPORT_EV_ERROR whose sender cannot be named (garbage bytes). */
#define XPORT_NODE_UNKNOWN UINT32_MAX

struct transport;

struct xport_config {
	const char *backend;  /* "ofi" (default) or "verbs" */
	const char *provider; /* ofi: "tcp" (default), "shm", "verbs;ofi_rxm" */
	const char *iface;    /* optional: IP address to bind (netns, QEMU hosts) */
	uint32_t node_id;
	uint32_t nr_nodes;
	uint32_t delay_us; /* injected one-way delay per message (cluster-sim) */
	uint32_t stall_ms; /* a peer that takes no message for this long is gone (0: 1000) */
	/* The owner busy-polls and never sleeps on xport_wait_fd: xport_poll
	 * then skips arming it (fi_trywait, timers), which costs microseconds. */
	bool busy_poll;
};

struct xport_addr {
	uint32_t len;
	uint8_t bytes[XPORT_ADDR_MAX];
};

enum xport_event_kind {
	XPORT_EV_RECV = 1,  /* a message arrived: src, type, data, len */
	XPORT_EV_READ = 2,  /* a one-sided read finished: cookie, status */
	XPORT_EV_WRITE = 3, /* a one-sided write finished: cookie, status */
	XPORT_EV_ERROR = 4, /* peer src failed or sent garbage: status -errno */
};

struct xport_event {
	uint32_t kind;
	uint32_t src;  /* peer node id */
	uint16_t type; /* message type (RECV) */
	int32_t status;
	uint32_t len;
	uint64_t cookie;
	const void *data; /* RECV payload, valid until the next xport_poll */
};

struct xport_ops {
	const char *name;
	int (*open)(const struct xport_config *cfg, struct transport **out);
	int (*mr_reg)(struct transport *t, uint32_t region, void *base, size_t len);
	int (*local_addr)(struct transport *t, struct xport_addr *out);
	int (*connect)(struct transport *t, const struct xport_addr *peers);
	int (*send)(struct transport *t, uint32_t dst, uint16_t type, const void *buf,
		    size_t len);
	int (*read)(struct transport *t, uint32_t src_node, uint32_t region,
		    uint64_t remote_off, uint64_t local_off, size_t len, uint64_t cookie);
	int (*write)(struct transport *t, uint32_t dst_node, uint32_t region,
		     uint64_t remote_off, uint64_t local_off, size_t len,
		     uint64_t cookie);
	int (*poll)(struct transport *t, struct xport_event *ev, int max);
	int (*wait_fd)(struct transport *t);
	void (*close)(struct transport *t);
};

struct transport {
	const struct xport_ops *ops;
	struct xport_config cfg;
};

/* Opens the backend named in cfg->backend. Errors are printed to stderr
 * ("verbs" without an RDMA device: -ENODEV). */
int xport_open(const struct xport_config *cfg, struct transport **out)
    __attribute__((warn_unused_result));

/* Fixes this node's id and the mesh size when they were not known at open
 * (@nr_nodes <= the bound given to open). Before xport_connect only. */
int xport_set_node(struct transport *t, uint32_t node_id, uint32_t nr_nodes)
    __attribute__((warn_unused_result));

/*
 * Mesh health check, collective: every node of the mesh calls it (after
 * xport_connect, with the same @rounds). Sends @rounds messages of varied
 * sizes to every peer and checks every echo (ids, sequence, payload), reads
 * each peer's 4 KiB self-test page one-sidedly and checks its content, and
 * returns once the peers' own checks of this node have been answered too.
 * Application messages that arrive meanwhile are kept for xport_poll.
 * 0, -EIO (a check failed; printed), -ETIMEDOUT (names the silent peers).
 */
int xport_mesh_selftest(struct transport *t, unsigned int rounds)
    __attribute__((warn_unused_result));

static inline int xport_mr_reg(struct transport *t, uint32_t region, void *base,
			       size_t len)
{
	return t->ops->mr_reg(t, region, base, len);
}
static inline int xport_local_addr(struct transport *t, struct xport_addr *out)
{
	return t->ops->local_addr(t, out);
}
static inline int xport_connect(struct transport *t, const struct xport_addr *peers)
{
	return t->ops->connect(t, peers);
}
static inline int xport_send(struct transport *t, uint32_t dst, uint16_t type,
			     const void *buf, size_t len)
{
	return t->ops->send(t, dst, type, buf, len);
}
/* One-sided: copy @len bytes of @src_node's @region at @remote_off into our
 * own @region at @local_off. */
static inline int xport_read(struct transport *t, uint32_t src_node, uint32_t region,
			     uint64_t remote_off, uint64_t local_off, size_t len,
			     uint64_t cookie)
{
	return t->ops->read(t, src_node, region, remote_off, local_off, len, cookie);
}
static inline int xport_write(struct transport *t, uint32_t dst_node, uint32_t region,
			      uint64_t remote_off, uint64_t local_off, size_t len,
			      uint64_t cookie)
{
	return t->ops->write(t, dst_node, region, remote_off, local_off, len, cookie);
}
static inline int xport_poll(struct transport *t, struct xport_event *ev, int max)
{
	return t->ops->poll(t, ev, max);
}
static inline int xport_wait_fd(struct transport *t)
{
	return t->ops->wait_fd(t);
}
static inline void xport_close(struct transport *t)
{
	t->ops->close(t);
}

#endif
