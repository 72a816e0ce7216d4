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
 * All calls return 0 / a count or -errno. A transport is used by one thread
 * at a time unless a backend documents otherwise; xport_send is the
 * exception: it is safe from any thread.
 */
#ifndef RACKVM_INTERCONNECT_TRANSPORT_H
#define RACKVM_INTERCONNECT_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#define XPORT_MAX_NODES 256
#define XPORT_ADDR_MAX 256   /* bytes of an endpoint address */
#define XPORT_MSG_MAX 8192   /* payload bytes of one message */
#define XPORT_MAX_REGIONS 8

struct transport;

struct xport_config {
	const char *backend;  /* "ofi" (default) or "verbs" */
	const char *provider; /* ofi: "tcp" (default), "shm", "verbs;ofi_rxm" */
	const char *iface;    /* optional: IP address to bind (netns, QEMU hosts) */
	uint32_t node_id;
	uint32_t nr_nodes;
	uint32_t delay_us; /* injected one-way delay per message (cluster-sim) */
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
		     uint64_t remote_off, uint64_t local_off, size_t len, uint64_t cookie);
	int (*poll)(struct transport *t, struct xport_event *ev, int max);
	int (*wait_fd)(struct transport *t);
	void (*close)(struct transport *t);
};

struct transport {
	const struct xport_ops *ops;
	struct xport_config cfg;
};

/* Opens the backend named in cfg->backend. */
int xport_open(const struct xport_config *cfg, struct transport **out)
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
