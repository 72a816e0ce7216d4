// SPDX-License-Identifier: MIT
/* vCPU migration messages: checks and blob reassembly (core/migrate.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/migrate.h"
#include "core/state.h"

int mig_chunk_check(const struct vmw_migrate_chunk *m, size_t len, uint32_t nr_vcpus,
		    const char **why)
{
	if (len < sizeof(*m) || m->version != VMW_VERSION)
		*why = "chunk: short or wrong version";
	else if (m->vcpu >= nr_vcpus)
		*why = "chunk: vCPU out of range";
	else if (!m->len || m->len > VMW_CHUNK_DATA_MAX || len != sizeof(*m) + m->len)
		*why = "chunk: data length does not match the message";
	else if (m->total < sizeof(struct vcpu_state_hdr) ||
		 m->total > VCPU_STATE_MAX_LEN)
		*why = "chunk: blob size out of bounds";
	else if ((uint64_t)m->offset + m->len > m->total)
		*why = "chunk: data past the end of the blob";
	else
		return 0;
	return -EPROTO;
}

void mig_rx_reset(struct mig_rx *rx)
{
	free(rx->buf);
	memset(rx, 0, sizeof(*rx));
}

static int mig_rx_start(struct mig_rx *rx, uint32_t src,
			const struct vmw_migrate_chunk *m)
{
	mig_rx_reset(rx);
	rx->buf = malloc(m->total);
	if (!rx->buf)
		return -ENOMEM;
	rx->active = true;
	rx->src = src;
	rx->epoch = m->epoch;
	rx->total = m->total;
	rx->park_ns = m->park_ns;
	rx->saved_ns = m->saved_ns;
	return 0;
}

int mig_rx_add(struct mig_rx *rx, uint32_t src, const struct vmw_migrate_chunk *m,
	       const void *data, uint32_t known_epoch, const char **why)
{
	int err;

	if (m->epoch <= known_epoch) {
		*why = "chunk: an epoch this node has seen already";
		goto err_drop;
	}
	if (m->offset == 0) {
		err = mig_rx_start(rx, src, m);
		if (err)
			return err;
	} else if (!rx->active || rx->src != src || rx->epoch != m->epoch ||
		   rx->total != m->total) {
		*why = "chunk: not the next piece of the blob being received";
		goto err_drop;
	} else if (m->offset != rx->got) {
		*why = "chunk: gap or overlap in the blob";
		goto err_drop;
	}
	memcpy(rx->buf + m->offset, data, m->len);
	rx->got = m->offset + m->len;
	return rx->got == rx->total;
err_drop:
	mig_rx_reset(rx);
	return -EPROTO;
}

int mig_owner_check(const struct vmw_owner *m, uint32_t src, uint32_t nr_vcpus,
		    uint32_t known_epoch, const char **why)
{
	if (m->vcpu >= nr_vcpus) {
		*why = "owner: vCPU out of range";
		return -EPROTO;
	}
	if (m->node != src) {
		*why = "owner: a node may only announce itself";
		return -EPROTO;
	}
	return m->epoch > known_epoch;
}
