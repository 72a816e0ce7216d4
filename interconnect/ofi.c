// SPDX-License-Identifier: MIT
/*
 * The libfabric backend: one RDM endpoint per node, one completion queue
 * with an fd wait object, an address vector with every node, pools of
 * receive buffers, send slots and one-sided operation contexts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <rdma/fi_cm.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>

#include "interconnect/ofi_priv.h"

#define OFI_API FI_VERSION(1, 9)

static void ofi_close(struct xport_base *b);
static int ofi_mr_reg(struct xport_base *b, uint32_t region, void *base, size_t len,
		      uint64_t *key);
static int ofi_local_addr(struct xport_base *b, struct xport_addr *out);
static int ofi_connect(struct xport_base *b, const struct xport_addr *peers);

static const struct xb_ops ofi_bops = {
    .mr_reg = ofi_mr_reg,
    .local_addr = ofi_local_addr,
    .connect = ofi_connect,
    .send = ofi_send,
    .rma = ofi_rma,
    .progress = ofi_progress,
    .arm = ofi_arm,
    .busy = ofi_busy,
    .close = ofi_close,
};

static const struct xport_ops ofi_ops = XB_XPORT_OPS("ofi", xport_ofi_open);

static int ofi_err(const char *what, const char *prov, int ret)
{
	fprintf(stderr, "rackvm xport: %s (provider %s): %s\n", what, prov,
		fi_strerror(-ret));
	return ret == -FI_ENODATA ? -ENODEV : ret;
}

static struct fi_info *ofi_hints(const char *prov)
{
	struct fi_info *h = fi_allocinfo();

	if (!h)
		return NULL;
	h->ep_attr->type = FI_EP_RDM;
	h->caps = FI_MSG | FI_RMA;
	h->mode = FI_CONTEXT;
	h->domain_attr->mr_mode =
	    FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY;
	/* every call is made under our lock */
	h->domain_attr->threading = FI_THREAD_DOMAIN;
	h->tx_attr->msg_order = FI_ORDER_SAS;
	h->rx_attr->msg_order = FI_ORDER_SAS;
	h->fabric_attr->prov_name = strdup(prov);
	if (!h->fabric_attr->prov_name) {
		fi_freeinfo(h);
		return NULL;
	}
	return h;
}

static int ofi_getinfo(struct ofi *o, const struct xport_config *cfg, const char *prov)
{
	/* shm names endpoints itself; IP providers bind to the given address */
	const char *node = strcmp(prov, "shm") ? cfg->iface : NULL;
	struct fi_info *hints = ofi_hints(prov);
	int ret;

	if (!hints)
		return -ENOMEM;
	ret = fi_getinfo(OFI_API, node, node ? "0" : NULL, node ? FI_SOURCE : 0, hints,
			 &o->info);
	fi_freeinfo(hints);
	if (ret) {
		fprintf(stderr,
			"rackvm xport: no libfabric provider '%s' with RDM "
			"endpoints, messages and RMA%s%s (check `fi_info -p %s`)\n",
			prov, node ? " on " : "", node ? node : "", prov);
		return ret == -FI_ENODATA ? -ENODEV : ret;
	}
	o->mr_local = o->info->domain_attr->mr_mode & FI_MR_LOCAL;
	o->prov_key = o->info->domain_attr->mr_mode & FI_MR_PROV_KEY;
	o->b.virt_addr = o->info->domain_attr->mr_mode & FI_MR_VIRT_ADDR;
	o->b.ordered = (o->info->tx_attr->msg_order & FI_ORDER_SAS) &&
		       (o->info->rx_attr->msg_order & FI_ORDER_SAS);
	o->inject_size = o->info->tx_attr->inject_size;
	if (o->info->domain_attr->mr_key_size > sizeof(uint64_t)) {
		fprintf(stderr,
			"rackvm xport: provider %s needs raw memory keys "
			"(unsupported)\n",
			prov);
		return -ENOTSUP;
	}
	return 0;
}

static int ofi_open_cq_av(struct ofi *o)
{
	struct fi_cq_attr cq_attr = {
	    .size = OFI_NR_RX + OFI_NR_TX + OFI_NR_RMA + 64,
	    .format = FI_CQ_FORMAT_MSG,
	    .wait_obj = FI_WAIT_FD,
	};
	struct fi_av_attr av_attr = {.type = FI_AV_TABLE, .count = o->b.max_nodes};
	const char *prov = o->info->fabric_attr->prov_name;
	int ret, fd;

	ret = fi_cq_open(o->domain, &cq_attr, &o->cq, NULL);
	if (ret == -FI_ENOSYS) {
		/* shm (libfabric 1.17) has no wait object: see ofi_arm */
		cq_attr.wait_obj = FI_WAIT_NONE;
		ret = fi_cq_open(o->domain, &cq_attr, &o->cq, NULL);
		fd = o->nap_fd =
		    timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (!ret && fd < 0)
			ret = -errno;
	} else if (!ret) {
		ret = fi_control(&o->cq->fid, FI_GETWAIT, &fd);
	}
	if (ret)
		return ofi_err("completion queue with a wait fd", prov, ret);
	ret = xb_add_wait_fd(&o->b, fd);
	if (ret)
		return ret;
	ret = fi_av_open(o->domain, &av_attr, &o->av, NULL);
	return ret ? ofi_err("address vector", prov, ret) : 0;
}

static int ofi_open_ep(struct ofi *o)
{
	const char *prov = o->info->fabric_attr->prov_name;
	int ret;

	ret = fi_endpoint(o->domain, o->info, &o->ep, NULL);
	if (ret)
		return ofi_err("endpoint", prov, ret);
	ret = fi_ep_bind(o->ep, &o->cq->fid, FI_TRANSMIT | FI_RECV);
	if (!ret)
		ret = fi_ep_bind(o->ep, &o->av->fid, 0);
	if (!ret)
		ret = fi_enable(o->ep);
	return ret ? ofi_err("endpoint setup", prov, ret) : 0;
}

static int ofi_reg_pool(struct ofi *o, void *base, size_t len, uint64_t key,
			struct fid_mr **mr)
{
	int ret = fi_mr_reg(o->domain, base, len, FI_SEND | FI_RECV, 0, key, 0, mr, NULL);

	return ret ? ofi_err("buffer registration", o->info->fabric_attr->prov_name, ret)
		   : 0;
}

static int ofi_alloc_pools(struct ofi *o)
{
	int ret;

	o->addrs = calloc(o->b.max_nodes, sizeof(*o->addrs));
	o->rx = aligned_alloc(64, OFI_NR_RX * sizeof(*o->rx));
	o->tx = aligned_alloc(64, OFI_NR_TX * sizeof(*o->tx));
	o->rma = calloc(OFI_NR_RMA, sizeof(*o->rma));
	if (!o->addrs || !o->rx || !o->tx || !o->rma)
		return -ENOMEM;
	memset(o->rx, 0, OFI_NR_RX * sizeof(*o->rx));
	memset(o->tx, 0, OFI_NR_TX * sizeof(*o->tx));
	for (unsigned int i = 0; i < OFI_NR_TX; i++) {
		o->tx[i].op.kind = OFI_OP_TX;
		o->tx[i].next_free = i + 1 < OFI_NR_TX ? &o->tx[i + 1] : NULL;
	}
	o->tx_free = o->tx;
	for (unsigned int i = 0; i < OFI_NR_RMA; i++) {
		o->rma[i].op.kind = OFI_OP_RMA;
		o->rma[i].next_free = i + 1 < OFI_NR_RMA ? &o->rma[i + 1] : NULL;
	}
	o->rma_free = o->rma;
	if (o->mr_local) {
		/* keys only need to differ from the regions' (1..XB_NR_REGIONS) */
		ret =
		    ofi_reg_pool(o, o->rx, OFI_NR_RX * sizeof(*o->rx), 0x100, &o->rx_mr);
		if (!ret)
			ret = ofi_reg_pool(o, o->tx, OFI_NR_TX * sizeof(*o->tx), 0x101,
					   &o->tx_mr);
		if (ret)
			return ret;
	}
	return 0;
}

static int ofi_setup(struct ofi *o, const struct xport_config *cfg, const char *prov)
{
	uint64_t key = 0;
	int ret;

	ret = ofi_getinfo(o, cfg, prov);
	if (ret)
		return ret;
	ret = fi_fabric(o->info->fabric_attr, &o->fabric, NULL);
	if (ret)
		return ofi_err("fabric", prov, ret);
	ret = fi_domain(o->fabric, o->info, &o->domain, NULL);
	if (ret)
		return ofi_err("domain", prov, ret);
	ret = ofi_open_cq_av(o);
	if (!ret)
		ret = ofi_open_ep(o);
	if (!ret)
		ret = ofi_alloc_pools(o);
	for (unsigned int i = 0; !ret && i < OFI_NR_RX; i++) {
		o->rx[i].op.kind = OFI_OP_RX;
		ret = ofi_post_rx(o, &o->rx[i]);
	}
	if (ret)
		return ret;
	ret = ofi_mr_reg(&o->b, XB_SCRATCH, o->b.scratch, XB_SCRATCH_SIZE, &key);
	if (ret)
		return ret;
	o->b.local[XB_SCRATCH] = (struct xb_region){
	    .base = o->b.scratch, .len = XB_SCRATCH_SIZE, .key = key, .valid = true};
	return 0;
}

int xport_ofi_open(const struct xport_config *cfg, struct transport **out)
{
	const char *prov = cfg->provider ? cfg->provider : "tcp";
	struct ofi *o = calloc(1, sizeof(*o));
	int ret;

	if (!o)
		return -ENOMEM;
	o->nap_fd = -1;
	ret = xb_init(&o->b, cfg, &ofi_bops, XPORT_MAX_NODES);
	if (ret)
		goto err_free;
	o->b.pub.ops = &ofi_ops;
	ret = ofi_setup(o, cfg, prov);
	if (ret)
		goto err_close;
	*out = &o->b.pub;
	return 0;

err_close:
	ofi_close(&o->b); /* frees o */
	return ret;
err_free:
	free(o);
	return ret;
}

static void ofi_close_fid(struct fid *fid)
{
	if (fid)
		fi_close(fid);
}

static void ofi_close(struct xport_base *b)
{
	struct ofi *o = ofi_of(b);

	if (o->ep)
		ofi_close_fid(&o->ep->fid);
	if (o->av)
		ofi_close_fid(&o->av->fid);
	for (unsigned int i = 0; i < XB_NR_REGIONS; i++)
		if (o->mr[i])
			ofi_close_fid(&o->mr[i]->fid);
	if (o->rx_mr)
		ofi_close_fid(&o->rx_mr->fid);
	if (o->tx_mr)
		ofi_close_fid(&o->tx_mr->fid);
	if (o->cq)
		ofi_close_fid(&o->cq->fid);
	if (o->domain)
		ofi_close_fid(&o->domain->fid);
	if (o->fabric)
		ofi_close_fid(&o->fabric->fid);
	if (o->info)
		fi_freeinfo(o->info);
	if (o->nap_fd >= 0)
		close(o->nap_fd);
	free(o->addrs);
	free(o->rx);
	free(o->tx);
	free(o->rma);
	xb_fini(b);
	free(o);
}

static int ofi_mr_reg(struct xport_base *b, uint32_t region, void *base, size_t len,
		      uint64_t *key)
{
	struct ofi *o = ofi_of(b);
	uint64_t access = FI_READ | FI_WRITE | FI_REMOTE_READ | FI_REMOTE_WRITE;
	int ret;

	ret = fi_mr_reg(o->domain, base, len, access, 0, region + 1, 0, &o->mr[region],
			NULL);
	if (ret)
		return ofi_err("memory registration", o->info->fabric_attr->prov_name,
			       ret);
	*key = fi_mr_key(o->mr[region]);
	if (*key == FI_KEY_NOTAVAIL) {
		fi_close(&o->mr[region]->fid);
		o->mr[region] = NULL;
		return -ENOTSUP;
	}
	return 0;
}

static int ofi_local_addr(struct xport_base *b, struct xport_addr *out)
{
	struct ofi *o = ofi_of(b);
	size_t len = sizeof(out->bytes);
	int ret;

	ret = fi_getname(&o->ep->fid, out->bytes, &len);
	if (ret)
		return ofi_err("endpoint address", o->info->fabric_attr->prov_name, ret);
	out->len = (uint32_t)len;
	return 0;
}

static int ofi_connect(struct xport_base *b, const struct xport_addr *peers)
{
	struct ofi *o = ofi_of(b);
	int ret;

	for (uint32_t i = 0; i < b->nr_nodes; i++) {
		ret = fi_av_insert(o->av, peers[i].bytes, 1, &o->addrs[i], 0, NULL);
		if (ret != 1) {
			fprintf(stderr,
				"rackvm xport: node %u: the provider rejected its "
				"address (%u bytes): %s\n",
				i, peers[i].len,
				ret < 0 ? fi_strerror(-ret) : "not inserted");
			return ret < 0 ? ret : -EINVAL;
		}
	}
	return 0;
}
