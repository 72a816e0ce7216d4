// SPDX-License-Identifier: MIT
/*
 * The verbs backend's data path: SEND from a bounded pool of registered
 * slots (inline when small), RDMA READ/WRITE, the CQ loop, and arming the
 * completion channel. Lock held throughout, as in the ofi backend: a sender
 * waiting for a slot reaps completions and queues what is not its own.
 */
#ifdef RACKVM_HAVE_IBVERBS
#include <errno.h>
#include <string.h>

#include "interconnect/verbs_priv.h"

#define VB_BATCH 16

int vb_post_rx(struct vb *v, struct vb_rx *rx)
{
	struct ibv_sge sge = {(uintptr_t)rx->buf, sizeof(rx->buf), v->rx_mr->lkey};
	struct ibv_recv_wr wr = {.wr_id = (uintptr_t)rx, .sg_list = &sge, .num_sge = 1};
	struct ibv_recv_wr *bad;
	int ret = ibv_post_srq_recv(v->srq, &wr, &bad);

	if (ret)
		xb_log(&v->b, "verbs: posting a receive buffer failed: %s",
		       strerror(ret));
	return -ret;
}

static struct vb_tx *vb_tx_get(struct vb *v)
{
	struct vb_tx *tx;

	while (!v->tx_free)
		if (vb_progress(&v->b, NULL, 0) < 0)
			return NULL;
	tx = v->tx_free;
	v->tx_free = tx->next_free;
	v->tx_busy++;
	return tx;
}

static void vb_tx_put(struct vb *v, struct vb_tx *tx)
{
	tx->next_free = v->tx_free;
	v->tx_free = tx;
	v->tx_busy--;
}

int vb_send(struct xport_base *b, uint32_t dst, const uint8_t *hdr, const void *buf,
	    size_t len)
{
	struct vb *v = vb_of(b);
	struct vb_tx *tx = vb_tx_get(v);
	uint32_t total = (uint32_t)(XPORT_WIRE_HDR_SIZE + len);
	struct ibv_sge sge;
	struct ibv_send_wr wr = {.sg_list = &sge,
				 .num_sge = 1,
				 .opcode = IBV_WR_SEND,
				 .send_flags = IBV_SEND_SIGNALED};
	struct ibv_send_wr *bad;
	int ret;

	if (!tx)
		return -EIO;
	tx->dst = dst;
	memcpy(tx->buf, hdr, XPORT_WIRE_HDR_SIZE);
	if (len)
		memcpy(tx->buf + XPORT_WIRE_HDR_SIZE, buf, len);
	sge = (struct ibv_sge){(uintptr_t)tx->buf, total, v->tx_mr->lkey};
	wr.wr_id = (uintptr_t)tx;
	if (total <= v->max_inline)
		wr.send_flags |= IBV_SEND_INLINE;
	ret = ibv_post_send(v->qp[dst], &wr, &bad);
	if (ret)
		vb_tx_put(v, tx);
	return -ret;
}

int vb_rma(struct xport_base *b, const struct xb_rma *req)
{
	struct vb *v = vb_of(b);
	struct ibv_sge sge = {(uintptr_t)req->local, (uint32_t)req->len,
			      v->mr[req->region]->lkey};
	struct ibv_send_wr wr = {
	    .sg_list = &sge,
	    .num_sge = 1,
	    .send_flags = IBV_SEND_SIGNALED,
	    .opcode = req->write ? IBV_WR_RDMA_WRITE : IBV_WR_RDMA_READ,
	    .wr.rdma = {.remote_addr = req->raddr, .rkey = (uint32_t)req->key}};
	struct ibv_send_wr *bad;
	struct vb_rma *op;
	int ret;

	if (req->len > UINT32_MAX)
		return -EINVAL;
	while (!v->rma_free)
		if (vb_progress(b, NULL, 0) < 0)
			return -EIO;
	op = v->rma_free;
	v->rma_free = op->next_free;
	v->rma_busy++;
	op->req = *req;
	wr.wr_id = (uintptr_t)op;
	ret = ibv_post_send(v->qp[req->node], &wr, &bad);
	if (ret) {
		op->next_free = v->rma_free;
		v->rma_free = op;
		v->rma_busy--;
	}
	return -ret;
}

static void vb_rma_done(struct vb *v, struct vb_rma *op, struct xport_event *ev, int max,
			int *n, int status)
{
	struct xb_rma req = op->req;

	op->next_free = v->rma_free;
	v->rma_free = op;
	v->rma_busy--;
	xb_on_rma_done(&v->b, ev, max, n, &req, status);
}

static void vb_rx_done(struct vb *v, struct vb_rx *rx, const struct ibv_wc *wc,
		       struct xport_event *ev, int max, int *n)
{
	struct xport_event e;

	if (wc->status != IBV_WC_SUCCESS) {
		if (wc->status != IBV_WC_WR_FLUSH_ERR)
			xb_emit_error(&v->b, ev, max, n, XPORT_NODE_UNKNOWN, -EIO,
				      ibv_wc_status_str(wc->status));
	} else if (xb_on_recv(&v->b, rx->buf, wc->byte_len, &e)) {
		/* the SRQ must stay full: copy rather than lend the buffer */
		xb_emit(&v->b, NULL, 0, NULL, &e,
			e.kind == XPORT_EV_RECV ? v->b.delay_ns : 0);
	}
	vb_post_rx(v, rx);
}

static void vb_complete(struct vb *v, const struct ibv_wc *wc, struct xport_event *ev,
			int max, int *n)
{
	struct vb_op *op = (struct vb_op *)(uintptr_t)wc->wr_id;
	int status = wc->status == IBV_WC_SUCCESS ? 0 : -EIO;

	switch (op->kind) {
	case VB_OP_RX:
		vb_rx_done(v, (struct vb_rx *)op, wc, ev, max, n);
		break;
	case VB_OP_TX:
		if (status)
			xb_emit_error(&v->b, ev, max, n, ((struct vb_tx *)op)->dst,
				      status, ibv_wc_status_str(wc->status));
		vb_tx_put(v, (struct vb_tx *)op);
		break;
	case VB_OP_RMA:
		if (status)
			xb_log(&v->b, "verbs: one-sided operation failed: %s",
			       ibv_wc_status_str(wc->status));
		vb_rma_done(v, (struct vb_rma *)op, ev, max, n, status);
		break;
	}
}

/* Acknowledges channel events so the fd stops being readable. */
static void vb_drain_channel(struct vb *v)
{
	struct ibv_cq *cq;
	void *cq_ctx;

	while (!ibv_get_cq_event(v->chan, &cq, &cq_ctx)) {
		ibv_ack_cq_events(cq, 1);
		v->notify_armed = false;
	}
}

int vb_progress(struct xport_base *b, struct xport_event *ev, int max)
{
	struct vb *v = vb_of(b);
	struct ibv_wc wc[VB_BATCH];
	int n = 0, reaped = 0, got;

	if (v->notify_armed)
		vb_drain_channel(v);
	do {
		got = ibv_poll_cq(v->cq, VB_BATCH, wc);
		if (got < 0)
			return -EIO;
		for (int i = 0; i < got; i++)
			vb_complete(v, &wc[i], ev, max, &n);
		reaped += got;
	} while (got == VB_BATCH);
	return ev ? n : reaped;
}

/* Request an event, then make the caller look once more: a completion that
 * landed before the request would otherwise never raise one. */
int vb_arm(struct xport_base *b)
{
	struct vb *v = vb_of(b);

	if (v->notify_armed)
		return 0;
	if (ibv_req_notify_cq(v->cq, 0))
		return -EIO;
	v->notify_armed = true;
	return -EAGAIN;
}

unsigned int vb_busy(struct xport_base *b)
{
	struct vb *v = vb_of(b);

	return v->tx_busy + v->rma_busy;
}
#endif
