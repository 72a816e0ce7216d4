// SPDX-License-Identifier: MIT
/*
 * The native ibverbs RC backend: device, protection domain, completion
 * channel + CQ, SRQ with receive buffers, memory registration. Queue pairs
 * and their address live in verbs_qp.c, the data path in verbs_io.c.
 * Built only with libibverbs; on a host without an RDMA device xport_open
 * says so and returns -ENODEV.
 */
#ifdef RACKVM_HAVE_IBVERBS
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "interconnect/verbs_priv.h"

static void vb_close(struct xport_base *b);
static int vb_mr_reg(struct xport_base *b, uint32_t region, void *base, size_t len,
		     uint64_t *key);

static const struct xb_ops vb_bops = {
    .mr_reg = vb_mr_reg,
    .local_addr = vb_local_addr,
    .connect = vb_connect,
    .send = vb_send,
    .rma = vb_rma,
    .progress = vb_progress,
    .arm = vb_arm,
    .busy = vb_busy,
    .close = vb_close,
};

static const struct xport_ops vb_ops = XB_XPORT_OPS("verbs", xport_verbs_open);

static int vb_err(const char *what, int err)
{
	fprintf(stderr, "rackvm xport: verbs: %s: %s\n", what, strerror(err));
	return -err;
}

/* The first device, or RACKVM_IB_DEV; GID index from RACKVM_IB_GID (RoCE). */
static int vb_open_device(struct vb *v)
{
	const char *want = getenv("RACKVM_IB_DEV"), *gid = getenv("RACKVM_IB_GID");
	struct ibv_device **list;
	int n = 0, i;

	list = ibv_get_device_list(&n);
	if (!list || !n) {
		if (list)
			ibv_free_device_list(list);
		fprintf(stderr, "rackvm xport: no RDMA device (ibv_get_device_list found "
				"none)\n");
		return -ENODEV;
	}
	for (i = 0; want && i < n && strcmp(ibv_get_device_name(list[i]), want); i++)
		;
	if (i == n) {
		fprintf(stderr, "rackvm xport: RDMA device %s not found\n", want);
		ibv_free_device_list(list);
		return -ENODEV;
	}
	v->ctx = ibv_open_device(list[want ? i : 0]);
	ibv_free_device_list(list);
	if (!v->ctx)
		return vb_err("ibv_open_device", errno);
	v->gid_index = gid ? atoi(gid) : 0;
	if (ibv_query_port(v->ctx, VB_PORT, &v->port))
		return vb_err("ibv_query_port", errno);
	if (ibv_query_gid(v->ctx, VB_PORT, v->gid_index, &v->gid))
		return vb_err("ibv_query_gid", errno);
	return 0;
}

static int vb_open_cq(struct vb *v)
{
	int cqe = VB_NR_RX + VB_NR_TX + VB_NR_RMA + 16, flags;

	v->pd = ibv_alloc_pd(v->ctx);
	if (!v->pd)
		return vb_err("ibv_alloc_pd", errno);
	v->chan = ibv_create_comp_channel(v->ctx);
	if (!v->chan)
		return vb_err("ibv_create_comp_channel", errno);
	/* progress drains events without blocking */
	flags = fcntl(v->chan->fd, F_GETFL);
	if (fcntl(v->chan->fd, F_SETFL, flags | O_NONBLOCK))
		return vb_err("completion channel O_NONBLOCK", errno);
	v->cq = ibv_create_cq(v->ctx, cqe, NULL, v->chan, 0);
	if (!v->cq)
		return vb_err("ibv_create_cq", errno);
	return xb_add_wait_fd(&v->b, v->chan->fd);
}

static int vb_open_pools(struct vb *v)
{
	struct ibv_srq_init_attr sa = {.attr = {.max_wr = VB_NR_RX, .max_sge = 1}};
	int access = IBV_ACCESS_LOCAL_WRITE;

	v->rx = calloc(VB_NR_RX, sizeof(*v->rx));
	v->tx = calloc(VB_NR_TX, sizeof(*v->tx));
	v->rma = calloc(VB_NR_RMA, sizeof(*v->rma));
	v->qp = calloc(v->b.max_nodes, sizeof(*v->qp));
	if (!v->rx || !v->tx || !v->rma || !v->qp)
		return -ENOMEM;
	v->rx_mr = ibv_reg_mr(v->pd, v->rx, VB_NR_RX * sizeof(*v->rx), access);
	v->tx_mr = ibv_reg_mr(v->pd, v->tx, VB_NR_TX * sizeof(*v->tx), access);
	if (!v->rx_mr || !v->tx_mr)
		return vb_err("registering message buffers", errno);
	for (unsigned int i = 0; i < VB_NR_TX; i++) {
		v->tx[i].op.kind = VB_OP_TX;
		v->tx[i].next_free = i + 1 < VB_NR_TX ? &v->tx[i + 1] : NULL;
	}
	v->tx_free = v->tx;
	for (unsigned int i = 0; i < VB_NR_RMA; i++) {
		v->rma[i].op.kind = VB_OP_RMA;
		v->rma[i].next_free = i + 1 < VB_NR_RMA ? &v->rma[i + 1] : NULL;
	}
	v->rma_free = v->rma;
	v->srq = ibv_create_srq(v->pd, &sa);
	if (!v->srq)
		return vb_err("ibv_create_srq", errno);
	for (unsigned int i = 0; i < VB_NR_RX; i++) {
		v->rx[i].op.kind = VB_OP_RX;
		if (vb_post_rx(v, &v->rx[i]))
			return -EIO;
	}
	return 0;
}

static int vb_setup(struct vb *v)
{
	uint64_t key = 0;
	int ret;

	ret = vb_open_device(v);
	if (!ret)
		ret = vb_open_cq(v);
	if (!ret)
		ret = vb_open_pools(v);
	if (!ret)
		ret = vb_create_qps(v);
	if (!ret)
		ret = vb_mr_reg(&v->b, XB_SCRATCH, v->b.scratch, XB_SCRATCH_SIZE, &key);
	if (ret)
		return ret;
	v->b.local[XB_SCRATCH] =
	    (struct xb_region){v->b.scratch, XB_SCRATCH_SIZE, key, true};
	v->b.virt_addr = true;
	v->b.ordered = true; /* RC: in order per QP */
	/* a random start PSN keeps a stale packet of an earlier run out */
	if (getrandom(&v->psn, sizeof(v->psn), 0) != sizeof(v->psn))
		v->psn = (uint32_t)time(NULL);
	v->psn &= 0xffffff;
	return 0;
}

int xport_verbs_open(const struct xport_config *cfg, struct transport **out)
{
	struct vb *v = calloc(1, sizeof(*v));
	int ret;

	if (!v)
		return -ENOMEM;
	/* each peer costs a QP, so without a bound use a modest one */
	ret = xb_init(&v->b, cfg, &vb_bops, 64);
	if (ret)
		goto err_free;
	v->b.pub.ops = &vb_ops;
	ret = vb_setup(v);
	if (ret)
		goto err_close;
	*out = &v->b.pub;
	return 0;

err_close:
	vb_close(&v->b); /* frees v */
	return ret;
err_free:
	free(v);
	return ret;
}

static void vb_close(struct xport_base *b)
{
	struct vb *v = vb_of(b);

	for (uint32_t i = 0; v->qp && i < b->max_nodes; i++)
		if (v->qp[i])
			ibv_destroy_qp(v->qp[i]);
	if (v->srq)
		ibv_destroy_srq(v->srq);
	for (unsigned int i = 0; i < XB_NR_REGIONS; i++)
		if (v->mr[i])
			ibv_dereg_mr(v->mr[i]);
	if (v->rx_mr)
		ibv_dereg_mr(v->rx_mr);
	if (v->tx_mr)
		ibv_dereg_mr(v->tx_mr);
	if (v->cq)
		ibv_destroy_cq(v->cq);
	if (v->chan)
		ibv_destroy_comp_channel(v->chan);
	if (v->pd)
		ibv_dealloc_pd(v->pd);
	if (v->ctx)
		ibv_close_device(v->ctx);
	free(v->qp);
	free(v->rx);
	free(v->tx);
	free(v->rma);
	xb_fini(b);
	free(v);
}

static int vb_mr_reg(struct xport_base *b, uint32_t region, void *base, size_t len,
		     uint64_t *key)
{
	struct vb *v = vb_of(b);
	int access =
	    IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE;

	v->mr[region] = ibv_reg_mr(v->pd, base, len, access);
	if (!v->mr[region])
		return vb_err("ibv_reg_mr", errno);
	*key = v->mr[region]->rkey;
	return 0;
}
#endif
