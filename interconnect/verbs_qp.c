// SPDX-License-Identifier: MIT
/* The verbs backend's queue pairs: one RC QP per peer, its address, and the
 * INIT -> RTR -> RTS walk once every peer's address is known. */
#ifdef RACKVM_HAVE_IBVERBS
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "interconnect/verbs_priv.h"

/* What a peer published, decoded. */
struct vb_peer {
	uint16_t lid;
	uint8_t port, mtu;
	uint32_t psn;
	union ibv_gid gid;
	uint32_t nr_qp;
	uint32_t qpn_for_us;
};

int vb_create_qps(struct vb *v)
{
	struct ibv_qp_init_attr ia = {.send_cq = v->cq,
				      .recv_cq = v->cq,
				      .srq = v->srq,
				      .qp_type = IBV_QPT_RC,
				      .cap = {.max_send_wr = VB_NR_TX + VB_NR_RMA,
					      .max_send_sge = 1,
					      .max_inline_data = 64}};
	struct ibv_qp_attr a = {.qp_state = IBV_QPS_INIT,
				.port_num = VB_PORT,
				.qp_access_flags =
				    IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE};
	int mask = IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS;

	for (uint32_t i = 0; i < v->b.max_nodes; i++) {
		v->qp[i] = ibv_create_qp(v->pd, &ia);
		if (!v->qp[i]) {
			fprintf(stderr, "rackvm xport: verbs: QP %u of %u: %s\n", i,
				v->b.max_nodes, strerror(errno));
			return -errno;
		}
		if (ibv_modify_qp(v->qp[i], &a, mask)) {
			fprintf(stderr, "rackvm xport: verbs: QP to INIT: %s\n",
				strerror(errno));
			return -errno;
		}
	}
	v->max_inline = ia.cap.max_inline_data;
	return 0;
}

int vb_local_addr(struct xport_base *b, struct xport_addr *out)
{
	struct vb *v = vb_of(b);
	uint8_t *p = out->bytes;
	uint16_t lid = htole16(v->port.lid);
	uint32_t psn = htole32(v->psn), n = htole32(b->max_nodes);

	memcpy(p, &lid, 2);
	p[2] = VB_PORT;
	p[3] = (uint8_t)v->port.active_mtu;
	memcpy(p + 4, &psn, 4);
	memcpy(p + 8, v->gid.raw, 16);
	memcpy(p + 24, &n, 4);
	for (uint32_t i = 0; i < b->max_nodes; i++) {
		uint32_t qpn = htole32(v->qp[i]->qp_num);

		memcpy(p + VB_ADDR_HDR + 4 * i, &qpn, 4);
	}
	out->len = VB_ADDR_HDR + 4 * b->max_nodes;
	return 0;
}

static int vb_decode(const struct vb *v, uint32_t node, const struct xport_addr *a,
		     struct vb_peer *peer)
{
	const uint8_t *p = a->bytes;
	uint32_t qpn;

	if (a->len < VB_ADDR_HDR)
		goto bad;
	memcpy(&peer->lid, p, 2);
	peer->lid = le16toh(peer->lid);
	peer->port = p[2];
	peer->mtu = p[3];
	memcpy(&peer->psn, p + 4, 4);
	peer->psn = le32toh(peer->psn) & 0xffffff;
	memcpy(peer->gid.raw, p + 8, 16);
	memcpy(&peer->nr_qp, p + 24, 4);
	peer->nr_qp = le32toh(peer->nr_qp);
	if (peer->nr_qp <= v->b.self || peer->nr_qp > XPORT_MAX_NODES ||
	    a->len != VB_ADDR_HDR + 4 * peer->nr_qp || peer->mtu < IBV_MTU_256 ||
	    peer->mtu > IBV_MTU_4096)
		goto bad;
	memcpy(&qpn, p + VB_ADDR_HDR + 4 * v->b.self, 4);
	peer->qpn_for_us = le32toh(qpn);
	return 0;
bad:
	fprintf(stderr, "rackvm xport: verbs: node %u: malformed address (%u bytes)\n",
		node, a->len);
	return -EINVAL;
}

static int vb_rtr(struct vb *v, struct ibv_qp *qp, const struct vb_peer *peer)
{
	struct ibv_qp_attr a = {
	    .qp_state = IBV_QPS_RTR,
	    .path_mtu = peer->mtu < v->port.active_mtu ? peer->mtu : v->port.active_mtu,
	    .dest_qp_num = peer->qpn_for_us,
	    .rq_psn = peer->psn,
	    .max_dest_rd_atomic = 16,
	    .min_rnr_timer = 12,
	    .ah_attr = {.dlid = peer->lid, .port_num = VB_PORT},
	};

	/* RoCE (and routed IB) need the GRH; a zero GID means plain IB LIDs */
	if (peer->gid.global.interface_id || peer->gid.global.subnet_prefix) {
		a.ah_attr.is_global = 1;
		a.ah_attr.grh.dgid = peer->gid;
		a.ah_attr.grh.sgid_index = (uint8_t)v->gid_index;
		a.ah_attr.grh.hop_limit = 64;
	}
	return ibv_modify_qp(qp, &a,
			     IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
				 IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
				 IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER);
}

static int vb_rts(struct vb *v, struct ibv_qp *qp)
{
	struct ibv_qp_attr a = {
	    .qp_state = IBV_QPS_RTS,
	    .timeout = 14,
	    .retry_cnt = 7,
	    .rnr_retry = 7, /* a peer not yet at RTR is retried, forever */
	    .sq_psn = v->psn,
	    .max_rd_atomic = 16,
	};

	return ibv_modify_qp(qp, &a,
			     IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
				 IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
				 IBV_QP_MAX_QP_RD_ATOMIC);
}

int vb_connect(struct xport_base *b, const struct xport_addr *peers)
{
	struct vb *v = vb_of(b);
	struct vb_peer peer;
	int ret;

	for (uint32_t i = 0; i < b->nr_nodes; i++) {
		if (i == b->self)
			continue;
		ret = vb_decode(v, i, &peers[i], &peer);
		if (ret)
			return ret;
		if (vb_rtr(v, v->qp[i], &peer) || vb_rts(v, v->qp[i])) {
			fprintf(stderr,
				"rackvm xport: verbs: node %u: QP to RTR/RTS: %s\n", i,
				strerror(errno));
			return -errno;
		}
	}
	return 0;
}
#endif
