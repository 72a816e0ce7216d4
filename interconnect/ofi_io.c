// SPDX-License-Identifier: MIT
/*
 * The libfabric backend's data path: sends through a bounded pool of slots
 * (or inject for small messages), one-sided reads and writes, and the
 * completion loop. Everything here runs with the transport lock held.
 *
 * A send or RMA that finds no free slot progresses the completion queue
 * until one frees up. It queues whatever else it reaps (messages, RMA
 * completions) for xport_poll, copying received payloads so that their
 * buffers are reposted at once: two nodes sending to each other at the same
 * time keep draining each other, and neither can stall the other.
 */
#include <errno.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>

#include "interconnect/ofi_priv.h"

#define OFI_BATCH 16

int ofi_post_rx(struct ofi *o, struct ofi_rx *rx)
{
	void *desc = o->rx_mr ? fi_mr_desc(o->rx_mr) : NULL;
	ssize_t ret;

	do {
		ret = fi_recv(o->ep, rx->buf, sizeof(rx->buf), desc, FI_ADDR_UNSPEC,
			      &rx->op.ctx);
		if (ret == -FI_EAGAIN)
			ofi_progress(&o->b, NULL, 0);
	} while (ret == -FI_EAGAIN);
	if (ret)
		xb_log(&o->b, "posting a receive buffer failed: %s",
		       fi_strerror((int)-ret));
	return (int)ret;
}

static uint64_t ofi_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * The provider said "not now" (-FI_EAGAIN): progress and say whether to try
 * again. A peer whose queue does not drain within stall_ms (1 s) is declared
 * gone: this and later operations towards it fail with -ETIMEDOUT at once,
 * so no thread ever spins forever on a dead peer.
 */
static int ofi_retry(struct ofi *o, uint32_t dst, uint64_t *deadline)
{
	uint64_t now = ofi_now_ns();
	int ret;

	if (!*deadline)
		*deadline = now + o->b.stall_ns;
	if (now > *deadline) {
		if (!o->dead[dst])
			xb_log(&o->b, "node %u stopped taking messages: treating it as gone",
			       dst);
		o->dead[dst] = true;
		return -ETIMEDOUT;
	}
	ret = ofi_progress(&o->b, NULL, 0);
	return ret < 0 ? ret : 0;
}

/* Progress until a send slot is free; completions found are queued. */
static struct ofi_tx *ofi_tx_get(struct ofi *o, uint32_t dst)
{
	uint64_t deadline = 0;
	struct ofi_tx *tx;

	while (!o->tx_free) {
		if (ofi_retry(o, dst, &deadline) < 0)
			return NULL;
	}
	tx = o->tx_free;
	o->tx_free = tx->next_free;
	o->tx_busy++;
	return tx;
}

static void ofi_tx_put(struct ofi *o, struct ofi_tx *tx)
{
	tx->next_free = o->tx_free;
	o->tx_free = tx;
	o->tx_busy--;
}

static int ofi_inject(struct ofi *o, uint32_t dst, const uint8_t *hdr, const void *buf,
		      size_t len)
{
	uint8_t msg[OFI_INJECT_MAX];
	ssize_t ret;

	uint64_t deadline = 0;

	memcpy(msg, hdr, XPORT_WIRE_HDR_SIZE);
	if (len)
		memcpy(msg + XPORT_WIRE_HDR_SIZE, buf, len);
	for (;;) {
		ret = fi_inject(o->ep, msg, XPORT_WIRE_HDR_SIZE + len, o->addrs[dst]);
		if (ret != -FI_EAGAIN)
			return (int)ret;
		ret = ofi_retry(o, dst, &deadline);
		if (ret < 0)
			return (int)ret;
	}
}

int ofi_send(struct xport_base *b, uint32_t dst, const uint8_t *hdr, const void *buf,
	     size_t len)
{
	struct ofi *o = ofi_of(b);
	size_t total = XPORT_WIRE_HDR_SIZE + len;
	void *desc = o->tx_mr ? fi_mr_desc(o->tx_mr) : NULL;
	uint64_t deadline = 0;
	struct ofi_tx *tx;
	ssize_t ret;

	if (o->dead[dst])
		return -ETIMEDOUT;
	if (total <= o->inject_size && total <= OFI_INJECT_MAX)
		return ofi_inject(o, dst, hdr, buf, len);
	tx = ofi_tx_get(o, dst);
	if (!tx)
		return o->dead[dst] ? -ETIMEDOUT : -EIO;
	tx->dst = dst;
	memcpy(tx->buf, hdr, XPORT_WIRE_HDR_SIZE);
	if (len)
		memcpy(tx->buf + XPORT_WIRE_HDR_SIZE, buf, len);
	for (;;) {
		ret = fi_send(o->ep, tx->buf, total, desc, o->addrs[dst], &tx->op.ctx);
		if (ret != -FI_EAGAIN)
			break;
		ret = ofi_retry(o, dst, &deadline);
		if (ret < 0)
			break;
	}
	if (ret)
		ofi_tx_put(o, tx);
	return (int)ret;
}

int ofi_rma(struct xport_base *b, const struct xb_rma *req)
{
	struct ofi *o = ofi_of(b);
	struct fid_mr *mr = o->mr[req->region];
	void *desc = o->mr_local && mr ? fi_mr_desc(mr) : NULL;
	uint64_t deadline = 0;
	struct ofi_rma *op;
	ssize_t ret;

	if (o->dead[req->node])
		return -ETIMEDOUT;
	while (!o->rma_free)
		if (ofi_retry(o, req->node, &deadline) < 0)
			return o->dead[req->node] ? -ETIMEDOUT : -EIO;
	op = o->rma_free;
	o->rma_free = op->next_free;
	o->rma_busy++;
	op->req = *req;
	for (;;) {
		if (req->write)
			ret = fi_write(o->ep, req->local, req->len, desc,
				       o->addrs[req->node], req->raddr, req->key,
				       &op->op.ctx);
		else
			ret = fi_read(o->ep, req->local, req->len, desc,
				      o->addrs[req->node], req->raddr, req->key,
				      &op->op.ctx);
		if (ret != -FI_EAGAIN || ofi_retry(o, req->node, &deadline) < 0)
			break;
	}
	if (ret) {
		op->next_free = o->rma_free;
		o->rma_free = op;
		o->rma_busy--;
	}
	return (int)ret;
}

static void ofi_rma_done(struct ofi *o, struct ofi_rma *op, struct xport_event *ev,
			 int max, int *n, int status)
{
	struct xb_rma req = op->req;

	op->next_free = o->rma_free;
	o->rma_free = op;
	o->rma_busy--;
	xb_on_rma_done(&o->b, ev, max, n, &req, status);
}

static void ofi_rx_done(struct ofi *o, struct ofi_rx *rx, size_t len,
			struct xport_event *ev, int max, int *n)
{
	struct xport_event e;
	bool lent = false;

	if (xb_on_recv(&o->b, rx->buf, len, &e)) {
		uint64_t delay = e.kind == XPORT_EV_RECV ? o->b.delay_ns : 0;

		lent = xb_emit(&o->b, ev, max, n, &e, delay) && e.kind == XPORT_EV_RECV;
	}
	if (lent) {
		rx->next_lent = o->lent;
		o->lent = rx;
		return;
	}
	ofi_post_rx(o, rx);
}

static void ofi_complete(struct ofi *o, struct ofi_op *op, size_t len,
			 struct xport_event *ev, int max, int *n)
{
	switch (op->kind) {
	case OFI_OP_RX:
		ofi_rx_done(o, (struct ofi_rx *)op, len, ev, max, n);
		break;
	case OFI_OP_TX:
		ofi_tx_put(o, (struct ofi_tx *)op);
		break;
	case OFI_OP_RMA:
		ofi_rma_done(o, (struct ofi_rma *)op, ev, max, n, 0);
		break;
	}
}

static int ofi_cq_error(struct ofi *o, struct xport_event *ev, int max, int *n)
{
	struct fi_cq_err_entry err = {0};
	struct ofi_op *op;
	ssize_t ret;

	ret = fi_cq_readerr(o->cq, &err, 0);
	if (ret < 0)
		return ret == -FI_EAGAIN ? 0 : (int)ret;
	op = err.op_context;
	if (!op)
		return 0;
	switch (op->kind) {
	case OFI_OP_RX:
		if (err.err == FI_ECANCELED)
			return 0;
		xb_emit_error(&o->b, ev, max, n, XPORT_NODE_UNKNOWN, -err.err,
			      err.err == FI_ETRUNC ? "message longer than XPORT_MSG_MAX"
						   : fi_strerror(err.err));
		ofi_post_rx(o, (struct ofi_rx *)op);
		break;
	case OFI_OP_TX:
		xb_emit_error(
		    &o->b, ev, max, n, ((struct ofi_tx *)op)->dst, -err.err,
		    fi_cq_strerror(o->cq, err.prov_errno, err.err_data, NULL, 0));
		ofi_tx_put(o, (struct ofi_tx *)op);
		break;
	case OFI_OP_RMA:
		xb_log(&o->b, "one-sided operation failed: %s", fi_strerror(err.err));
		ofi_rma_done(o, (struct ofi_rma *)op, ev, max, n, -err.err);
		break;
	}
	return 0;
}

/* Buffers lent to the caller of the previous poll go back to the provider. */
static void ofi_repost_lent(struct ofi *o)
{
	while (o->lent) {
		struct ofi_rx *rx = o->lent;

		o->lent = rx->next_lent;
		ofi_post_rx(o, rx);
	}
}

int ofi_progress(struct xport_base *b, struct xport_event *ev, int max)
{
	struct ofi *o = ofi_of(b);
	struct fi_cq_msg_entry ce[OFI_BATCH];
	int n = 0, reaped = 0;
	ssize_t ret;

	if (ev)
		ofi_repost_lent(o);
	for (;;) {
		size_t want = ev && max - n < OFI_BATCH ? (size_t)(max - n) : OFI_BATCH;

		if (!want)
			break;
		ret = fi_cq_read(o->cq, ce, want);
		if (ret == -FI_EAGAIN)
			break;
		if (ret == -FI_EAVAIL) {
			ret = ofi_cq_error(o, ev, max, &n);
			reaped++;
			if (ret)
				return (int)ret;
			continue;
		}
		if (ret < 0)
			return (int)ret;
		for (ssize_t i = 0; i < ret; i++)
			ofi_complete(o, ce[i].op_context, ce[i].len, ev, max, &n);
		reaped += (int)ret;
		if ((size_t)ret < want)
			break;
	}
	return ev ? n : reaped;
}

/*
 * Without a provider wait object nothing can wake a sleeper when a peer
 * writes into our shared-memory queue, so the wait fd becomes a one-shot
 * timer: a sleeping poller looks again after at most OFI_NAP_NS. Setting a
 * timer costs ~20 us in a VM, so one still pending is left alone.
 */
static int ofi_arm_nap(struct ofi *o)
{
	struct itimerspec its = {.it_value.tv_nsec = OFI_NAP_NS};
	uint64_t ticks, now = xb_now_ns();

	if (now < o->nap_due_ns)
		return 0;
	if (read(o->nap_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return -errno;
	if (timerfd_settime(o->nap_fd, 0, &its, NULL))
		return -errno;
	o->nap_due_ns = now + OFI_NAP_NS;
	return 0;
}

int ofi_arm(struct xport_base *b)
{
	struct ofi *o = ofi_of(b);
	struct fid *fids[1] = {&o->cq->fid};
	int ret;

	if (o->nap_fd >= 0)
		return ofi_arm_nap(o);
	ret = fi_trywait(o->fabric, fids, 1);

	return ret == -FI_EAGAIN ? -EAGAIN : ret;
}

unsigned int ofi_busy(struct xport_base *b)
{
	struct ofi *o = ofi_of(b);

	return o->tx_busy + o->rma_busy;
}
