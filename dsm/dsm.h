/* SPDX-License-Identifier: MIT */
/*
 * dsm/dsm.h - coherent guest memory across nodes (the public face of dsm/).
 *
 * A region (guest RAM) is one memfd mapped twice: the guest view, handed to
 * KVM and driven by userfaultfd, and the alias view, the DSM's own access and
 * the transport's region that peers read pages from one-sided. Coherence is
 * the home-based directory MSI protocol of tests/model/dsm.pml (docs/dsm.md).
 *
 * Life cycle: open + xport_mr_reg nothing yourself: dsm_create registers the
 * alias with the transport (before xport_connect), then the caller connects
 * the transport, then dsm_start runs the fault service thread, which from
 * then on owns xport_poll; messages that are not the DSM's go to
 * cfg->on_msg on that thread. dsm_stop, then dsm_destroy.
 *
 * Guest memory is touched through dsm_guest_view() (KVM, vCPU threads, the
 * VMM's own dsm_access): a fault there blocks the touching thread until the
 * page is coherent. Never touch the guest view from cfg->on_msg.
 */
#ifndef RACKVM_DSM_H
#define RACKVM_DSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "interconnect/transport.h"

#define DSM_PAGE_SIZE	4096u
#define DSM_PAGE_SHIFT	12
#define DSM_MAX_NODES	XPORT_MAX_NODES
#define DSM_XPORT_TYPE	0x0d50u	   /* transport message type of every DSM message */
#define DSM_STATS_CHUNK (2u << 20) /* bytes of region per range counter */
#define DSM_MAX_THREADS 64	   /* faulting threads counted one by one */

/* [off, off + len) of the region has its directory on @node. */
struct dsm_home_range {
	uint64_t off, len;
	uint32_t node;
};

struct dsm_config {
	uint32_t node_id;
	uint32_t nr_nodes;
	uint64_t region_size; /* bytes, a multiple of DSM_PAGE_SIZE */
	/* NULL: the region is split into nr_nodes equal contiguous ranges
	 * (node i is home of the i-th one, as the NUMA layout does). */
	const struct dsm_home_range *homes;
	uint32_t nr_homes;
	struct transport *xport; /* NULL only when nr_nodes == 1 */
	uint32_t xport_region;	 /* the transport region id for the alias */
	/* Called on the DSM thread for every transport event that is not the
	 * DSM's (other message types, errors). May be NULL. */
	void (*on_msg)(void *arg, const struct xport_event *ev);
	void *on_msg_arg;
	/* Minimum time a node keeps a page it was just granted before it
	 * serves an INV or DOWNGRADE for it (Mirage's "delta" window): the
	 * faulting vCPU gets to use the page before it moves on. 0: none. */
	uint32_t hold_us;
	bool verbose; /* log every dropped message, not only the first ones */
};

/* Fault counters (kinds as the protocol sees them). */
struct dsm_fault_stats {
	uint64_t read;	  /* read fault on I: READ_REQ */
	uint64_t write;	  /* write fault on I: WRITE_REQ */
	uint64_t upgrade; /* write fault on S: UPGRADE_REQ */
	uint64_t zero;	  /* of those, resolved by a local zero fill */
	uint64_t remote;  /* of those, the home was another node */
	uint64_t bytes_in;
	uint64_t wait_ns; /* sum of fault-to-resolution times */
	uint64_t wait_max_ns;
};

struct dsm_stats {
	struct dsm_fault_stats faults;
	uint64_t spurious; /* fault events for a page already resolved */
	uint64_t msgs_sent, msgs_recv;
	uint64_t bad_msgs;     /* peer messages dropped by validation */
	uint64_t inv_served;   /* INV done here (page dropped to I) */
	uint64_t down_served;  /* DOWNGRADE done here (M -> S) */
	uint64_t held;	       /* INV/DOWNGRADE deferred by the hold window */
	uint64_t dir_requests; /* requests served as home */
	uint64_t dir_queued;   /* of those, that waited for the busy bit */
	uint64_t accesses;     /* dsm_access calls */
};

struct dsm_thread_stats {
	int32_t tid; /* 0: faults whose thread the kernel did not name */
	struct dsm_fault_stats faults;
};

/* A page that moved often (dsm_hot_pages). */
struct dsm_hot_page {
	uint64_t off;	 /* region offset */
	uint32_t faults; /* faults on it resolved here */
	uint32_t lost;	 /* INV or DOWNGRADE served here: a peer took it */
};

struct dsm;

int dsm_create(const struct dsm_config *cfg, struct dsm **out)
    __attribute__((warn_unused_result));
/* The guest view (for KVM_SET_USER_MEMORY_REGION) and its memfd. */
void *dsm_guest_view(struct dsm *d, uint64_t *size);
int dsm_memfd(struct dsm *d);
/* Start the fault service thread. The transport must be connected. */
int dsm_start(struct dsm *d) __attribute__((warn_unused_result));
/* Stop the thread; faults still in flight stay blocked (stop the vCPUs
 * first). Peers must be done with us: stop every node after a barrier. */
void dsm_stop(struct dsm *d);
void dsm_destroy(struct dsm *d);

/* Copy to/from region offset @off through the protocol (the VMM's own
 * accesses). -ERANGE outside the region, -EDEADLK from the DSM thread. */
int dsm_access(struct dsm *d, uint64_t off, void *buf, size_t len, bool write)
    __attribute__((warn_unused_result));

void dsm_stats(struct dsm *d, struct dsm_stats *out);
/* Fault counters of [off, off + len), summed over DSM_STATS_CHUNK chunks. */
int dsm_range_stats(struct dsm *d, uint64_t off, uint64_t len,
		    struct dsm_fault_stats *out);
/* Up to @max threads' counters; returns how many were written. */
int dsm_thread_stats(struct dsm *d, struct dsm_thread_stats *out, int max);
/* Thread @tid's faults by the node that served each one (the node the page's
 * data came from; the home for a grant without data), @nr >= nr_nodes
 * entries. Returns nr_nodes, -ENOENT (no fault counted for @tid) or -EINVAL. */
int dsm_thread_from(struct dsm *d, int32_t tid, uint64_t *from, uint32_t nr)
    __attribute__((warn_unused_result));
/* The @max pages with the most faults + losses here, most first; returns
 * how many were written (pages never faulted or lost are left out). */
int dsm_hot_pages(struct dsm *d, struct dsm_hot_page *out, int max);
/* Home node of region offset @off, or -ERANGE. */
int dsm_home_of(struct dsm *d, uint64_t off);

#endif
