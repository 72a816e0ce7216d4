// SPDX-License-Identifier: MIT
/*
 * What arrives from a peer: every message is validated (wire header, then
 * the per-sender sequence) before anything in it is used; the transport's
 * own message types are handled here; the rest becomes an event. Failures
 * become XPORT_EV_ERROR events and one log line, never a crash.
 */
#include <errno.h>
#include <string.h>

#include "interconnect/xport_priv.h"

void xb_emit_error(struct xport_base *b, struct xport_event *ev, int max, int *n,
		   uint32_t src, int status, const char *why)
{
	struct xport_event e = {.kind = XPORT_EV_ERROR, .src = src, .status = status};

	if (src == XPORT_NODE_UNKNOWN)
		xb_log(b, "error from an unknown sender: %s", why);
	else
		xb_log(b, "error with node %u: %s", src, why);
	xb_emit(b, ev, max, n, &e, 0);
}

static bool xb_reject(struct xport_base *b, const void *buf, size_t n,
		      const struct xport_wire_hdr *h, const char *why, int err,
		      struct xport_event *e)
{
	bool named = n >= XPORT_WIRE_HDR_SIZE && h->magic == XPORT_WIRE_MAGIC &&
		     h->src < b->nr_nodes && h->src != b->self;
	uint8_t first = n ? *(const uint8_t *)buf : 0;

	/* only a header that parsed this far may name its sender */
	memset(e, 0, sizeof(*e));
	e->kind = XPORT_EV_ERROR;
	e->src = named ? h->src : XPORT_NODE_UNKNOWN;
	e->status = err;
	if (named)
		xb_log(b, "dropped a %zu-byte message from node %u: %s", n, h->src, why);
	else
		xb_log(b,
		       "dropped a %zu-byte message (first byte 0x%02x) from an unknown "
		       "sender: %s",
		       n, first, why);
	return true;
}

static bool xb_internal(struct xport_base *b, const struct xport_wire_hdr *h,
			const uint8_t *payload, struct xport_event *e)
{
	switch (h->type) {
	case XPORT_WIRE_REGIONS:
		xb_regions_recv(b, h->src, payload, h->len);
		return false;
	case XPORT_WIRE_PING:
		xb_selftest_ping(b, h->src, payload, h->len);
		return false;
	case XPORT_WIRE_PONG:
		xb_selftest_pong(b, h->src, payload, h->len);
		return false;
	}
	return xb_reject(b, payload - XPORT_WIRE_HDR_SIZE, h->len + XPORT_WIRE_HDR_SIZE,
			 h, "unknown reserved message type", -EPROTO, e);
}

bool xb_on_recv(struct xport_base *b, const void *buf, size_t n, struct xport_event *e)
{
	const uint8_t *payload = (const uint8_t *)buf + XPORT_WIRE_HDR_SIZE;
	struct xport_wire_hdr h;
	const char *why;
	int ret;

	memset(&h, 0, sizeof(h));
	ret = xport_wire_decode(buf, n, b->self, b->nr_nodes, &h, &why);
	if (ret)
		return xb_reject(b, buf, n, &h, why, ret, e);
	if (b->ordered && h.seq != b->rx_seq[h.src]) {
		xb_log(b, "node %u: sequence %llu, expected %llu (lost or reordered)",
		       h.src, (unsigned long long)h.seq,
		       (unsigned long long)b->rx_seq[h.src]);
		b->rx_seq[h.src] = h.seq + 1;
		return xb_reject(b, buf, n, &h, "sequence gap", -EPROTO, e);
	}
	b->rx_seq[h.src] = h.seq + 1;
	if (h.type >= XPORT_TYPE_RESERVED)
		return xb_internal(b, &h, payload, e);
	memset(e, 0, sizeof(*e));
	e->kind = XPORT_EV_RECV;
	e->src = h.src;
	e->type = h.type;
	e->len = h.len;
	e->data = payload;
	return true;
}

void xb_on_rma_done(struct xport_base *b, struct xport_event *ev, int max, int *n,
		    const struct xb_rma *op, int status)
{
	struct xport_event e = {0};

	if (op->internal) {
		b->st.read_status[op->node] = status;
		return;
	}
	e.kind = op->write ? XPORT_EV_WRITE : XPORT_EV_READ;
	e.src = op->node;
	e.status = status;
	e.len = (uint32_t)op->len;
	e.cookie = op->cookie;
	/* a one-sided operation crosses the link twice: request and answer */
	xb_emit(b, ev, max, n, &e, 2 * b->delay_ns);
}
