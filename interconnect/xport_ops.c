// SPDX-License-Identifier: MIT
/*
 * The public transport operations, common to every backend: argument and
 * bounds checks, the lock, sequence numbers, then the backend (lock held).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "interconnect/xport_priv.h"

int xb_mr_reg(struct transport *t, uint32_t region, void *base, size_t len)
{
	struct xport_base *b = xb_of(t);
	struct xb_region *r;
	int ret;

	if (region >= XPORT_MAX_REGIONS || !base || !len)
		return -EINVAL;
	if (b->connected)
		return -EBUSY; /* peers learnt our table in connect */
	pthread_mutex_lock(&b->lock);
	r = &b->local[region];
	ret = -EEXIST;
	if (r->valid)
		goto out_unlock;
	ret = b->bops->mr_reg(b, region, base, len, &r->key);
	if (ret)
		goto out_unlock;
	r->base = base;
	r->len = len;
	r->valid = true;
out_unlock:
	pthread_mutex_unlock(&b->lock);
	return ret;
}

int xb_local_addr(struct transport *t, struct xport_addr *out)
{
	struct xport_base *b = xb_of(t);
	int ret;

	pthread_mutex_lock(&b->lock);
	ret = b->bops->local_addr(b, out);
	pthread_mutex_unlock(&b->lock);
	return ret;
}

int xb_pump(struct xport_base *b, int ms)
{
	struct epoll_event ee;
	int ret;

	pthread_mutex_lock(&b->lock);
	ret = b->bops->progress(b, NULL, 0);
	if (b->st.owed)
		xb_flush_owed(b);
	if (ret == 0)
		ret = b->bops->arm(b);
	pthread_mutex_unlock(&b->lock);
	if (ret == 0 && ms > 0 && epoll_wait(b->epfd, &ee, 1, ms) < 0 && errno != EINTR)
		return -errno;
	return ret == -EAGAIN ? 0 : ret < 0 ? ret : 0;
}

static int xb_check_peers(struct xport_base *b, const struct xport_addr *peers)
{
	if (!b->identity_set) {
		fprintf(stderr, "rackvm xport: connect before the node id is known "
				"(call xport_set_node)\n");
		return -EINVAL;
	}
	for (uint32_t i = 0; i < b->nr_nodes; i++) {
		if (!peers[i].len || peers[i].len > XPORT_ADDR_MAX) {
			fprintf(stderr,
				"rackvm xport: node %u: address length %u invalid\n", i,
				peers[i].len);
			return -EINVAL;
		}
	}
	return 0;
}

static bool xb_all_regions(struct xport_base *b)
{
	for (uint32_t i = 0; i < b->nr_nodes; i++)
		if (!b->regions_from[i])
			return false;
	return true;
}

static void xb_report_missing(struct xport_base *b)
{
	fprintf(stderr,
		"rackvm xport: node %u: connect timed out after %d s; no answer "
		"from node(s):",
		b->self, XB_CONNECT_TIMEOUT_MS / 1000);
	for (uint32_t i = 0; i < b->nr_nodes; i++)
		if (!b->regions_from[i])
			fprintf(stderr, " %u", i);
	fprintf(stderr, " (are they running and is the address reachable?)\n");
}

int xb_connect(struct transport *t, const struct xport_addr *peers)
{
	struct xport_base *b = xb_of(t);
	uint64_t deadline = xb_now_ns() + XB_CONNECT_TIMEOUT_MS * 1000000ull;
	int ret;

	if (b->connected)
		return -EISCONN;
	ret = xb_check_peers(b, peers);
	if (ret)
		return ret;
	pthread_mutex_lock(&b->lock);
	ret = b->bops->connect(b, peers);
	b->regions_from[b->self] = true;
	if (!ret)
		ret = xb_regions_send(b);
	pthread_mutex_unlock(&b->lock);
	while (!ret && !xb_all_regions(b)) {
		if (xb_now_ns() > deadline) {
			xb_report_missing(b);
			return -ETIMEDOUT;
		}
		ret = xb_pump(b, 10);
	}
	if (!ret)
		b->connected = true;
	return ret;
}

int xb_send_locked(struct xport_base *b, uint32_t dst, uint16_t type, const void *buf,
		   size_t len)
{
	uint8_t hdr[XPORT_WIRE_HDR_SIZE];
	struct xport_wire_hdr h = {
	    .type = type, .src = b->self, .dst = dst, .len = (uint32_t)len};
	int ret;

	if (dst == b->self) {
		struct xport_event e = {.kind = XPORT_EV_RECV,
					.src = dst,
					.type = type,
					.len = (uint32_t)len,
					.data = buf};
		xb_emit(b, NULL, 0, NULL, &e, 0);
		return 0;
	}
	h.seq = b->tx_seq[dst];
	xport_wire_encode(&h, hdr);
	ret = b->bops->send(b, dst, hdr, buf, len);
	if (!ret)
		b->tx_seq[dst]++;
	return ret;
}

int xb_send(struct transport *t, uint32_t dst, uint16_t type, const void *buf, size_t len)
{
	struct xport_base *b = xb_of(t);
	int ret;

	if (dst >= b->nr_nodes || type >= XPORT_TYPE_RESERVED || len > XPORT_MSG_MAX ||
	    (len && !buf))
		return -EINVAL;
	if (!b->connected)
		return -ENOTCONN;
	pthread_mutex_lock(&b->lock);
	ret = xb_send_locked(b, dst, type, buf, len);
	pthread_mutex_unlock(&b->lock);
	return ret;
}

/* [off, off + len) inside [0, size), without overflow. */
static bool xb_in_bounds(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static int xb_rma_local(struct xport_base *b, struct xb_rma *op, uint64_t roff)
{
	uint8_t *peer = (uint8_t *)b->local[op->region].base + roff;

	/* our own memory: no wire, same completion as for a peer */
	if (op->write)
		memmove(peer, op->local, op->len);
	else
		memmove(op->local, peer, op->len);
	xb_on_rma_done(b, NULL, 0, NULL, op, 0);
	return 0;
}

int xb_rma_locked(struct xport_base *b, bool write, bool internal, uint32_t node,
		  uint32_t region, uint64_t roff, uint64_t loff, size_t len,
		  uint64_t cookie)
{
	struct xb_region *l = &b->local[region];
	struct xb_remote *r;
	struct xb_rma op = {.write = write,
			    .internal = internal,
			    .node = node,
			    .region = region,
			    .len = len,
			    .cookie = cookie};

	if (!b->connected && !internal)
		return -ENOTCONN;
	if (node >= b->nr_nodes || region >= XB_NR_REGIONS || !len)
		return -EINVAL;
	r = &b->remote[node * XB_NR_REGIONS + region];
	if (!l->valid || (node != b->self && !r->valid))
		return -ENOENT;
	if (!xb_in_bounds(loff, len, l->len))
		return -ERANGE;
	op.local = (uint8_t *)l->base + loff;
	if (node == b->self)
		return xb_in_bounds(roff, len, l->len) ? xb_rma_local(b, &op, roff)
						       : -ERANGE;
	if (!xb_in_bounds(roff, len, r->len))
		return -ERANGE;
	op.raddr = (b->virt_addr ? r->addr : 0) + roff;
	op.key = r->key;
	return b->bops->rma(b, &op);
}

static int xb_rma(struct transport *t, bool write, uint32_t node, uint32_t region,
		  uint64_t remote_off, uint64_t local_off, size_t len, uint64_t cookie)
{
	struct xport_base *b = xb_of(t);
	int ret;

	if (region >= XPORT_MAX_REGIONS)
		return -EINVAL;
	pthread_mutex_lock(&b->lock);
	ret = xb_rma_locked(b, write, false, node, region, remote_off, local_off, len,
			    cookie);
	pthread_mutex_unlock(&b->lock);
	return ret;
}

int xb_read(struct transport *t, uint32_t src_node, uint32_t region, uint64_t remote_off,
	    uint64_t local_off, size_t len, uint64_t cookie)
{
	return xb_rma(t, false, src_node, region, remote_off, local_off, len, cookie);
}

int xb_write(struct transport *t, uint32_t dst_node, uint32_t region, uint64_t remote_off,
	     uint64_t local_off, size_t len, uint64_t cookie)
{
	return xb_rma(t, true, dst_node, region, remote_off, local_off, len, cookie);
}

void xb_close(struct transport *t)
{
	struct xport_base *b;

	if (!t)
		return;
	b = xb_of(t);
	b->bops->close(b);
}
