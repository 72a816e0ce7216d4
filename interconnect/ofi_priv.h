/* SPDX-License-Identifier: MIT */
/* interconnect/ofi_priv.h - the libfabric (RDM endpoint) backend's state. */
#ifndef RACKVM_INTERCONNECT_OFI_PRIV_H
#define RACKVM_INTERCONNECT_OFI_PRIV_H

#include <rdma/fabric.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>

#include "interconnect/xport_priv.h"

#define OFI_NR_RX      64   /* pre-posted receive buffers */
#define OFI_NR_TX      64   /* send slots: the bounded send queue */
#define OFI_NR_RMA     128  /* one-sided operations in flight */
#define OFI_INJECT_MAX 4096 /* larger injects are copied through a slot */
#define OFI_BUF	       (XPORT_WIRE_HDR_SIZE + XPORT_MSG_MAX)
#define OFI_NAP_NS     200000 /* wait-fd latency without a provider wait object */

enum ofi_op_kind { OFI_OP_RX = 1, OFI_OP_TX, OFI_OP_RMA };

/* Every operation's context starts with struct fi_context (FI_CONTEXT mode). */
struct ofi_op {
	struct fi_context ctx;
	uint8_t kind;
};

struct ofi_rx {
	struct ofi_op op;
	struct ofi_rx *next_lent;
	uint8_t buf[OFI_BUF] __attribute__((aligned(64)));
};

struct ofi_tx {
	struct ofi_op op;
	struct ofi_tx *next_free;
	uint32_t dst;
	uint8_t buf[OFI_BUF] __attribute__((aligned(64)));
};

struct ofi_rma {
	struct ofi_op op;
	struct ofi_rma *next_free;
	struct xb_rma req;
};

struct ofi {
	struct xport_base b;
	struct fi_info *info;
	struct fid_fabric *fabric;
	struct fid_domain *domain;
	struct fid_cq *cq;
	struct fid_av *av;
	struct fid_ep *ep;
	struct fid_mr *mr[XB_NR_REGIONS];
	struct fid_mr *rx_mr, *tx_mr; /* only under FI_MR_LOCAL */
	fi_addr_t *addrs;	      /* per node */
	int nap_fd; /* no provider wait object: a short timer stands in */
	uint64_t nap_due_ns;
	size_t inject_size;
	bool mr_local, prov_key;

	struct ofi_rx *rx;
	struct ofi_rx *lent; /* handed to the last poll, reposted by the next */
	struct ofi_tx *tx, *tx_free;
	struct ofi_rma *rma, *rma_free;
	unsigned int tx_busy, rma_busy;
	/* peers that let a send or one-sided op wait past stall_ns: gone */
	bool dead[XPORT_MAX_NODES];
};

/* How long a send or one-sided op may wait for the provider to take it
 * before the peer is declared gone (a dead peer's queue never drains). */

static inline struct ofi *ofi_of(struct xport_base *b)
{
	return (struct ofi *)b;
}

/* ofi_io.c */
int ofi_post_rx(struct ofi *o, struct ofi_rx *rx);
int ofi_send(struct xport_base *b, uint32_t dst, const uint8_t *hdr, const void *buf,
	     size_t len);
int ofi_rma(struct xport_base *b, const struct xb_rma *op);
int ofi_progress(struct xport_base *b, struct xport_event *ev, int max);
int ofi_arm(struct xport_base *b);
unsigned int ofi_busy(struct xport_base *b);

#endif
