// SPDX-License-Identifier: MIT
/*
 * Fault counters: per node, per faulting thread (the kernel names it with
 * UFFD_FEATURE_THREAD_ID) and per DSM_STATS_CHUNK of the region. Only the
 * DSM thread writes them (relaxed atomics); readers may run anywhere.
 */
#include <errno.h>
#include <string.h>

#include "dsm/dsm_priv.h"

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

static void count(struct dsm_fault_stats *f, uint8_t kind, bool zero, bool remote,
		  uint64_t wait)
{
	uint64_t *n = kind == DSM_READ_REQ    ? &f->read
		      : kind == DSM_WRITE_REQ ? &f->write
					      : &f->upgrade;

	STAT_ADD(*n, 1);
	STAT_ADD(f->zero, zero);
	STAT_ADD(f->remote, remote);
	STAT_ADD(f->wait_ns, wait);
	if (wait > LOAD(f->wait_max_ns))
		__atomic_store_n(&f->wait_max_ns, wait, __ATOMIC_RELAXED);
}

static struct dsm_fault_stats *thread_slot(struct dsm *d, int32_t tid)
{
	for (int i = 0; i < DSM_MAX_THREADS; i++) {
		struct dsm_tstat *t = &d->threads[i];

		if (LOAD(t->tid) == tid)
			return &t->f;
		if (!LOAD(t->tid)) {
			__atomic_store_n(&t->tid, tid, __ATOMIC_RELEASE);
			return &t->f;
		}
	}
	return NULL; /* more threads than slots: only node and range counts */
}

void dsm_count_fault(struct dsm *d, const struct dsm_page *pg, uint64_t page, bool zero)
{
	uint64_t wait = dsm_now_ns() - pg->t_fault;
	bool remote = d->home[page] != d->cfg.node_id;
	struct dsm_fault_stats *t = pg->tid ? thread_slot(d, pg->tid) : NULL;

	count(&d->st.faults, pg->kind, zero, remote, wait);
	count(&d->range[(page << DSM_PAGE_SHIFT) / DSM_STATS_CHUNK], pg->kind, zero,
	      remote, wait);
	if (t)
		count(t, pg->kind, zero, remote, wait);
}

static void add(struct dsm_fault_stats *to, const struct dsm_fault_stats *f)
{
	to->read += LOAD(f->read);
	to->write += LOAD(f->write);
	to->upgrade += LOAD(f->upgrade);
	to->zero += LOAD(f->zero);
	to->remote += LOAD(f->remote);
	to->bytes_in += LOAD(f->bytes_in);
	to->wait_ns += LOAD(f->wait_ns);
	if (LOAD(f->wait_max_ns) > to->wait_max_ns)
		to->wait_max_ns = LOAD(f->wait_max_ns);
}

void dsm_stats(struct dsm *d, struct dsm_stats *out)
{
	const uint64_t *src = (const uint64_t *)&d->st;
	uint64_t *dst = (uint64_t *)out;

	_Static_assert(sizeof(struct dsm_stats) % sizeof(uint64_t) == 0, "all u64");
	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

int dsm_range_stats(struct dsm *d, uint64_t off, uint64_t len,
		    struct dsm_fault_stats *out)
{
	if (off > d->cfg.region_size || len > d->cfg.region_size - off)
		return -ERANGE;
	memset(out, 0, sizeof(*out));
	if (!len)
		return 0;
	for (uint64_t c = off / DSM_STATS_CHUNK; c <= (off + len - 1) / DSM_STATS_CHUNK;
	     c++)
		add(out, &d->range[c]);
	return 0;
}

int dsm_thread_stats(struct dsm *d, struct dsm_thread_stats *out, int max)
{
	int n = 0;

	for (int i = 0; i < DSM_MAX_THREADS && n < max; i++) {
		int32_t tid = __atomic_load_n(&d->threads[i].tid, __ATOMIC_ACQUIRE);

		if (!tid)
			break;
		out[n].tid = tid;
		memset(&out[n].faults, 0, sizeof(out[n].faults));
		add(&out[n].faults, &d->threads[i].f);
		n++;
	}
	return n;
}
