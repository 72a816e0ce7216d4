/* SPDX-License-Identifier: MIT */
/*
 * core/migrate.h - vCPU migration (private to core/): the checks of its wire
 * messages and the reassembly of an incoming state blob, free of KVM so that
 * unit tests drive them directly. docs/migration.md has the protocol.
 */
#ifndef RACKVM_CORE_MIGRATE_H
#define RACKVM_CORE_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/wire.h"

#define VCPU_NO_MOVE UINT32_MAX /* vcpu.migrate_to: nothing asked */

/* One incoming blob, put together from its chunks. */
struct mig_rx {
	bool active;
	uint32_t src, epoch, total, got;
	uint64_t park_ns, saved_ns;
	uint8_t *buf; /* total bytes */
};

/*
 * A chunk message of @len bytes (header + data) for a VM of @nr_vcpus:
 * version, vCPU index, data length, total and offset in bounds. 0, or
 * -EPROTO with a reason in *why.
 */
int mig_chunk_check(const struct vmw_migrate_chunk *m, size_t len, uint32_t nr_vcpus,
		    const char **why) __attribute__((warn_unused_result));

/*
 * Add a checked chunk from node @src to @rx. @known_epoch: the vCPU's moves
 * this node knows of; a chunk must bring a newer one. The first chunk
 * (offset 0) starts a blob; the next ones must come from the same node with
 * the same epoch and total, each at the offset where the previous ended (no
 * gap, no overlap). 1: the blob is complete; 0: more to come; -EPROTO (why
 * set) and the partial blob is dropped; -ENOMEM.
 */
int mig_rx_add(struct mig_rx *rx, uint32_t src, const struct vmw_migrate_chunk *m,
	       const void *data, uint32_t known_epoch, const char **why)
    __attribute__((warn_unused_result));
void mig_rx_reset(struct mig_rx *rx);

/*
 * A VMW_OWNER from @src for a VM of @nr_vcpus. 1: newer than @known_epoch,
 * apply it; 0: stale (an older move's), ignore; -EPROTO (why set): bad
 * vCPU, or a node that is not the sender.
 */
int mig_owner_check(const struct vmw_owner *m, uint32_t src, uint32_t nr_vcpus,
		    uint32_t known_epoch, const char **why)
    __attribute__((warn_unused_result));

#endif
