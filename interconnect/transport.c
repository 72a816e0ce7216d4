// SPDX-License-Identifier: MIT
/* xport_open: picks the backend; xport_set_node: the late-known identity. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "interconnect/xport_priv.h"

int xport_open(const struct xport_config *cfg, struct transport **out)
{
	const char *backend = cfg->backend ? cfg->backend : "ofi";

	*out = NULL;
	if (!strcmp(backend, "ofi"))
		return xport_ofi_open(cfg, out);
	if (!strcmp(backend, "verbs"))
		return xport_verbs_open(cfg, out);
	fprintf(stderr, "rackvm xport: unknown backend '%s' (use ofi or verbs)\n",
		backend);
	return -EINVAL;
}

int xport_set_node(struct transport *t, uint32_t node_id, uint32_t nr_nodes)
{
	struct xport_base *b = xb_of(t);
	int ret = 0;

	pthread_mutex_lock(&b->lock);
	if (b->connected) {
		ret = -EISCONN;
	} else if (!nr_nodes || nr_nodes > b->max_nodes || node_id >= nr_nodes) {
		fprintf(stderr,
			"rackvm xport: node id %u of %u invalid (opened for up to %u)\n",
			node_id, nr_nodes, b->max_nodes);
		ret = -EINVAL;
	} else {
		b->self = node_id;
		b->nr_nodes = nr_nodes;
		b->identity_set = true;
		b->pub.cfg.node_id = node_id;
		b->pub.cfg.nr_nodes = nr_nodes;
		/* peers check our self-test page against our id */
		xb_scratch_fill(b->scratch, node_id);
	}
	pthread_mutex_unlock(&b->lock);
	return ret;
}

#ifndef RACKVM_HAVE_IBVERBS
int xport_verbs_open(const struct xport_config *cfg, struct transport **out)
{
	(void)cfg;
	(void)out;
	fprintf(stderr, "rackvm xport: verbs backend not built (libibverbs-dev was "
			"missing at build time)\n");
	return -ENODEV;
}
#endif
