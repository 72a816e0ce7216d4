// SPDX-License-Identifier: MIT
/*
 * A node's side of the protocol: guest faults become requests to the home;
 * GRANT, INV and DOWNGRADE change what the guest view allows. Mirrors
 * node_* and cpu in tests/model/dsm.pml.
 */
#include <errno.h>
#include <linux/userfaultfd.h>
#include <string.h>

#include "dsm/dsm_priv.h"

static void map_failed(struct dsm *d, const char *what, uint64_t page, int err)
{
	/* The kernel refused a mapping change we rely on: the region can no
	 * longer be kept coherent; say so loudly, never carry on silently. */
	dsm_log(d, "%s of page %llu failed: %s", what, (unsigned long long)page,
		strerror(-err));
}

void dsm_cache_fault(struct dsm *d, uint64_t addr, uint64_t flags, int32_t tid)
{
	uint64_t base = (uintptr_t)d->guest;
	bool write = flags & (UFFD_PAGEFAULT_FLAG_WRITE | UFFD_PAGEFAULT_FLAG_WP);

	if (addr < base || addr - base >= d->cfg.region_size) {
		dsm_log(d, "fault at %#llx outside the region", (unsigned long long)addr);
		return;
	}
	uint64_t page = (addr - base) >> DSM_PAGE_SHIFT;
	struct dsm_page *pg = &d->pages[page];

	if (!d->have_wp)
		write = true; /* no read-only copies without write-protect */
	if (pg->pending)
		return; /* the grant wakes every thread waiting on the page */
	if (pg->state == DSM_M || (pg->state == DSM_S && !write)) {
		STAT_ADD(d->st.spurious, 1);
		int err = dsm_map_wake(d, page);
		if (err)
			map_failed(d, "wake", page, err);
		return;
	}
	pg->kind = pg->state == DSM_S ? DSM_UPGRADE_REQ
		   : write	      ? DSM_WRITE_REQ
				      : DSM_READ_REQ;
	pg->pending = true;
	pg->tid = tid;
	pg->t_fault = dsm_now_ns();
	dsm_send(d, d->home[page], pg->kind, page, 0, 0);
}

/* The page is mapped as granted: close the transaction. */
static void finish(struct dsm *d, uint64_t page, uint8_t mode)
{
	struct dsm_page *pg = &d->pages[page];

	pg->state = mode;
	dsm_hold_start(d, pg);
	pg->pending = false;
	pg->reading = false;
	dsm_send(d, d->home[page], DSM_DONE, page, 0, 0);
}

static void grant_fetch(struct dsm *d, const struct dsm_msg *m)
{
	struct dsm_page *pg = &d->pages[m->page];
	uint64_t off = m->page << DSM_PAGE_SHIFT;
	int err;

	pg->reading = true;
	pg->mode = m->mode;
	err = xport_read(d->cfg.xport, m->src, d->cfg.xport_region, off, off,
			 DSM_PAGE_SIZE, DSM_COOKIE_TAG | m->page);
	if (err) {
		dsm_log(d, "one-sided read of page %llu from node %u: %s",
			(unsigned long long)m->page, m->src, strerror(-err));
		pg->reading = false;
	}
}

static void on_grant(struct dsm *d, uint32_t from, const struct dsm_msg *m)
{
	struct dsm_page *pg = &d->pages[m->page];
	int err;

	if (!pg->pending || pg->reading) {
		dsm_drop(d, from, m, "GRANT without a request in flight");
		return;
	}
	/* the data's source serves the fault; a grant without data, the home */
	pg->served = m->src < d->cfg.nr_nodes ? m->src : from;
	if (m->src == DSM_SRC_KEEP) {
		if (pg->state != DSM_S) {
			dsm_drop(d, from, m, "GRANT keep, but we hold no copy");
			return;
		}
		/* counted before the mapping wakes the faulting thread */
		dsm_count_fault(d, pg, m->page, false);
		err = dsm_map_upgrade(d, m->page);
		if (err) {
			map_failed(d, "write-unprotect", m->page, err);
			return;
		}
		{
			finish(d, m->page, DSM_M);
			return;
		}
	}
	if (pg->state != DSM_I) {
		dsm_drop(d, from, m, "GRANT with data, but we hold a copy");
		return;
	}
	if (m->src != DSM_SRC_ZERO) {
		grant_fetch(d, m);
		return;
	}
	dsm_count_fault(d, pg, m->page, true);
	err = dsm_map_zero(d, m->page, m->mode);
	if (err) {
		map_failed(d, "zero fill", m->page, err);
		return;
	}
	finish(d, m->page, m->mode);
}

void dsm_cache_read_done(struct dsm *d, uint64_t page, int status)
{
	struct dsm_page *pg;
	int err;

	if (page >= d->nr_pages || !d->pages[page].reading) {
		dsm_log(d, "read completion for page %llu that we are not reading",
			(unsigned long long)page);
		return;
	}
	pg = &d->pages[page];
	if (status) {
		dsm_log(d, "one-sided read of page %llu failed: %s",
			(unsigned long long)page, strerror(-status));
		pg->reading = false;
		return;
	}
	STAT_ADD(d->st.faults.bytes_in, DSM_PAGE_SIZE);
	dsm_count_fault(d, pg, page, false);
	err = dsm_map_install(d, page, pg->mode);
	if (err) {
		map_failed(d, "UFFDIO_CONTINUE", page, err);
		return;
	}
	finish(d, page, pg->mode);
}

static void on_inv(struct dsm *d, uint32_t from, const struct dsm_msg *m)
{
	struct dsm_page *pg = &d->pages[m->page];
	int err;

	if (pg->state == DSM_I || pg->reading) {
		dsm_drop(d, from, m, "INV for a page we do not hold");
		return;
	}
	err = dsm_map_invalidate(d, m->page);
	if (err) {
		map_failed(d, "MADV_DONTNEED", m->page, err);
		return;
	}
	if (pg->state == DSM_M)
		dsm_hold_learn(d, pg); /* write-write: longer turns help */
	pg->state = DSM_I;
	STAT_ADD(d->st.inv_served, 1);
	dsm_count_lost(d, m->page);
	dsm_send(d, from, DSM_INV_ACK, m->page, 0, 0);
}

static void on_downgrade(struct dsm *d, uint32_t from, const struct dsm_msg *m)
{
	struct dsm_page *pg = &d->pages[m->page];
	int err;

	if (pg->state != DSM_M) {
		dsm_drop(d, from, m, "DOWNGRADE for a page we do not own");
		return;
	}
	err = dsm_map_downgrade(d, m->page);
	if (err) {
		map_failed(d, "write-protect", m->page, err);
		return;
	}
	pg->state = DSM_S;
	STAT_ADD(d->st.down_served, 1);
	dsm_count_lost(d, m->page);
	dsm_send(d, from, DSM_DOWNGRADE_ACK, m->page, 0, 0);
}

void dsm_cache_msg(struct dsm *d, uint32_t from, const struct dsm_msg *m)
{
	dsm_hold_flush_page(d, m->page);
	if (!dsm_hold_msg(d, from, m))
		dsm_cache_serve(d, from, m);
}

void dsm_cache_serve(struct dsm *d, uint32_t from, const struct dsm_msg *m)
{
	switch (m->type) {
	case DSM_GRANT: {
		on_grant(d, from, m);
		return;
	}
	case DSM_INV: {
		on_inv(d, from, m);
		return;
	}
	case DSM_DOWNGRADE: {
		on_downgrade(d, from, m);
		return;
	}
	default: {
		dsm_drop(d, from, m, "not a node-side message");
		return;
	}
	}
}
