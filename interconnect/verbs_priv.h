/* SPDX-License-Identifier: MIT */
/*
 * interconnect/verbs_priv.h - the native ibverbs backend: one RC queue pair
 * per peer sharing one SRQ of receive buffers and one CQ with a completion
 * channel (its fd is in the wait set). Messages are SEND/RECV, one-sided
 * operations RDMA READ/WRITE on regions registered with remote access.
 *
 * Address (little-endian): u16 lid, u8 port, u8 mtu, u32 psn, u8 gid[16],
 * u32 nr_qp, then nr_qp x u32 qpn: qpn[j] is the QP this node keeps for
 * node j, so node j connects its QP for us to qpn[our id].
 */
#ifndef RACKVM_INTERCONNECT_VERBS_PRIV_H
#define RACKVM_INTERCONNECT_VERBS_PRIV_H

#include <infiniband/verbs.h>

#include "interconnect/xport_priv.h"

#define VB_NR_RX    128
#define VB_NR_TX    64
#define VB_NR_RMA   128
#define VB_BUF	    (XPORT_WIRE_HDR_SIZE + XPORT_MSG_MAX)
#define VB_ADDR_HDR 28
#define VB_PORT	    1
_Static_assert(VB_ADDR_HDR + 4 * XPORT_MAX_NODES <= XPORT_ADDR_MAX,
	       "a verbs address with one QP number per node fits");

enum vb_op_kind { VB_OP_RX = 1, VB_OP_TX, VB_OP_RMA };

struct vb_op {
	uint8_t kind;
};

struct vb_rx {
	struct vb_op op;
	uint8_t buf[VB_BUF];
};

struct vb_tx {
	struct vb_op op;
	struct vb_tx *next_free;
	uint32_t dst;
	uint8_t buf[VB_BUF];
};

struct vb_rma {
	struct vb_op op;
	struct vb_rma *next_free;
	struct xb_rma req;
};

struct vb {
	struct xport_base b;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_comp_channel *chan;
	struct ibv_cq *cq;
	struct ibv_srq *srq;
	struct ibv_qp **qp; /* per node; ours is unused */
	struct ibv_mr *mr[XB_NR_REGIONS];
	struct ibv_mr *rx_mr, *tx_mr;
	struct ibv_port_attr port;
	union ibv_gid gid;
	int gid_index;
	uint32_t psn, max_inline;
	bool notify_armed;

	struct vb_rx *rx;
	struct vb_tx *tx, *tx_free;
	struct vb_rma *rma, *rma_free;
	unsigned int tx_busy, rma_busy;
};

static inline struct vb *vb_of(struct xport_base *b)
{
	return (struct vb *)b;
}

/* verbs_io.c */
int vb_post_rx(struct vb *v, struct vb_rx *rx);
int vb_send(struct xport_base *b, uint32_t dst, const uint8_t *hdr, const void *buf,
	    size_t len);
int vb_rma(struct xport_base *b, const struct xb_rma *op);
int vb_progress(struct xport_base *b, struct xport_event *ev, int max);
int vb_arm(struct xport_base *b);
unsigned int vb_busy(struct xport_base *b);
/* verbs_qp.c */
int vb_create_qps(struct vb *v);
int vb_connect(struct xport_base *b, const struct xport_addr *peers);
int vb_local_addr(struct xport_base *b, struct xport_addr *out);

#endif
