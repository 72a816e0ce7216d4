/* SPDX-License-Identifier: MIT */
/*
 * interconnect/xport_priv.h - what every backend shares.
 *
 * struct xport_base sits at the start of each backend's transport. It holds
 * the mesh identity, the wire sequence numbers, the region tables (ours and
 * every peer's), the queue of events waiting for xport_poll (delayed by
 * delay_us, or found while another thread was sending), the health-check
 * state and the wait fd. The public entry points (xb_*) take the lock and
 * call the backend through struct xb_ops with the lock held.
 */
#ifndef RACKVM_INTERCONNECT_XPORT_PRIV_H
#define RACKVM_INTERCONNECT_XPORT_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "interconnect/transport.h"
#include "interconnect/wire.h"

/* Region XB_SCRATCH is the transport's own: page 0 holds a pattern derived
 * from the node id (peers read it in the health check), page 1 is where our
 * reads of the peers' page 0 land. */
#define XB_NR_REGIONS	       (XPORT_MAX_REGIONS + 1)
#define XB_SCRATCH	       XPORT_MAX_REGIONS
#define XB_PAGE		       4096
#define XB_SCRATCH_SIZE	       (2 * XB_PAGE)
#define XB_CONNECT_TIMEOUT_MS  30000
#define XB_SELFTEST_TIMEOUT_MS 10000

struct xport_base;

struct xb_region {
	void *base;
	uint64_t len;
	uint64_t key; /* what a peer names it by (remote key) */
	bool valid;
};

struct xb_remote {
	uint64_t addr; /* peer's base address (FI_MR_VIRT_ADDR, verbs) */
	uint64_t len;
	uint64_t key;
	bool valid;
};

/* A one-sided operation as the backend posts it: everything checked. */
struct xb_rma {
	bool write;
	bool internal; /* health check: completion stays inside the transport */
	uint32_t node;
	uint32_t region;
	void *local;
	uint64_t raddr; /* remote address or offset, as the backend needs */
	uint64_t key;
	size_t len;
	uint64_t cookie;
};

struct xb_ops {
	/* Registers [base, base+len) for local and remote access; sets *key. */
	int (*mr_reg)(struct xport_base *b, uint32_t region, void *base, size_t len,
		      uint64_t *key);
	int (*local_addr)(struct xport_base *b, struct xport_addr *out);
	/* Makes every peer reachable (address vector, QP transitions). */
	int (*connect)(struct xport_base *b, const struct xport_addr *peers);
	/* Queues header + payload (copied) to @dst; may progress to find room. */
	int (*send)(struct xport_base *b, uint32_t dst, const uint8_t *hdr,
		    const void *buf, size_t len);
	int (*rma)(struct xport_base *b, const struct xb_rma *op);
	/* Reaps completions. @ev == NULL: everything found is queued for later
	 * (called from send / connect / selftest); else up to @max events may
	 * be returned directly and received buffers lent until the next call. */
	int (*progress)(struct xport_base *b, struct xport_event *ev, int max);
	/* 0: the wait fd will fire on new work; -EAGAIN: progress again. */
	int (*arm)(struct xport_base *b);
	/* Sends and one-sided operations still in flight. */
	unsigned int (*busy)(struct xport_base *b);
	void (*close)(struct xport_base *b);
};

struct xb_pend {
	struct xb_pend *next;
	struct xport_event ev;
	uint64_t due_ns;
	unsigned char data[];
};

struct xb_selftest {
	bool active;
	unsigned int rounds;
	uint64_t ping_expect; /* PINGs every peer owes us so far */
	uint64_t *ping_seen;  /* per node: PINGs answered */
	uint32_t *pong_ok;    /* per node: good echoes this run */
	uint32_t bad;	      /* bad echoes or reads this run */
	int *read_status;     /* per node: 1 in flight, 0 ok, -errno */
	struct xb_pend *owed; /* PONGs to send (not from inside progress) */
	struct xb_pend *owed_tail;
};

struct xport_base {
	struct transport pub;
	const struct xb_ops *bops;
	pthread_mutex_t lock;
	uint32_t self, nr_nodes, max_nodes;
	bool identity_set, connected, virt_addr, ordered;
	uint64_t delay_ns;
	uint64_t stall_ns; /* cfg->stall_ms: a peer that drains nothing this long is gone */

	uint64_t *tx_seq, *rx_seq; /* per node */
	struct xb_region local[XB_NR_REGIONS];
	struct xb_remote *remote; /* [max_nodes][XB_NR_REGIONS] */
	bool *regions_from;	  /* per node: its table has arrived */
	void *scratch;

	struct xb_pend *head, *tail; /* events for xport_poll, by due time */
	struct xb_pend *delivered;   /* returned by the last poll: freed next */
	struct xb_selftest st;
	unsigned int logged; /* rejected-message reports so far (rate limit) */

	int epfd, evfd, tfd;
	bool evfd_raised, timer_set;
};

static inline struct xport_base *xb_of(struct transport *t)
{
	return (struct xport_base *)t;
}

/* Life cycle, for the backends' open and close. */
int xb_init(struct xport_base *b, const struct xport_config *cfg,
	    const struct xb_ops *bops, uint32_t max_nodes);
int xb_add_wait_fd(struct xport_base *b, int fd);
void xb_fini(struct xport_base *b);

/* Events found by a backend's progress (lock held). Returns true if the
 * event went straight into @ev (its data stays lent to the caller). */
bool xb_emit(struct xport_base *b, struct xport_event *ev, int max, int *n,
	     const struct xport_event *e, uint64_t delay_ns);
/* A received message of @n bytes: validated, internal types handled.
 * true with *e filled (RECV or ERROR, data pointing into @buf) if there is
 * something for the application. */
bool xb_on_recv(struct xport_base *b, const void *buf, size_t n, struct xport_event *e);
void xb_on_rma_done(struct xport_base *b, struct xport_event *ev, int max, int *n,
		    const struct xb_rma *op, int status);
void xb_emit_error(struct xport_base *b, struct xport_event *ev, int max, int *n,
		   uint32_t src, int status, const char *why);
void xb_log(struct xport_base *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
uint64_t xb_now_ns(void);

/* Locked helpers shared by connect and the health check. */
int xb_send_locked(struct xport_base *b, uint32_t dst, uint16_t type, const void *buf,
		   size_t len);
int xb_rma_locked(struct xport_base *b, bool write, bool internal, uint32_t node,
		  uint32_t region, uint64_t roff, uint64_t loff, size_t len,
		  uint64_t cookie);
/* One round of progress + owed replies; sleeps up to @ms on the wait fd if
 * nothing happened. Takes the lock. */
int xb_pump(struct xport_base *b, int ms);
void xb_flush_owed(struct xport_base *b);

/* Region tables (xport_regions.c). */
int xb_regions_send(struct xport_base *b);
void xb_regions_recv(struct xport_base *b, uint32_t src, const void *buf, size_t len);
/* Health check messages (selftest.c). */
void xb_selftest_ping(struct xport_base *b, uint32_t src, const void *buf, size_t len);
void xb_selftest_pong(struct xport_base *b, uint32_t src, const void *buf, size_t len);
void xb_scratch_fill(uint8_t *page, uint32_t node);

/* The generic halves of the public ops. */
int xb_mr_reg(struct transport *t, uint32_t region, void *base, size_t len);
int xb_local_addr(struct transport *t, struct xport_addr *out);
int xb_connect(struct transport *t, const struct xport_addr *peers);
int xb_send(struct transport *t, uint32_t dst, uint16_t type, const void *buf,
	    size_t len);
int xb_read(struct transport *t, uint32_t src_node, uint32_t region, uint64_t remote_off,
	    uint64_t local_off, size_t len, uint64_t cookie);
int xb_write(struct transport *t, uint32_t dst_node, uint32_t region, uint64_t remote_off,
	     uint64_t local_off, size_t len, uint64_t cookie);
int xb_poll(struct transport *t, struct xport_event *ev, int max);
int xb_wait_fd(struct transport *t);
void xb_close(struct transport *t);

/* Backends (transport.c dispatches). */
int xport_ofi_open(const struct xport_config *cfg, struct transport **out);
int xport_verbs_open(const struct xport_config *cfg, struct transport **out);

/* A backend's public ops table: everything but its name and open goes
 * through the shared xport_base layer. */
#define XB_XPORT_OPS(NAME, OPEN)                                                         \
	{                                                                                \
		.name = (NAME), .open = (OPEN), .mr_reg = xb_mr_reg,                     \
		.local_addr = xb_local_addr, .connect = xb_connect, .send = xb_send,     \
		.read = xb_read, .write = xb_write, .poll = xb_poll,                     \
		.wait_fd = xb_wait_fd, .close = xb_close,                                \
	}

#endif
