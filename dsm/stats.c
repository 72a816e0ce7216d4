// SPDX-License-Identifier: MIT
/*
 * Fault counters: per node, per faulting thread (the kernel names it with
 * UFFD_FEATURE_THREAD_ID) and per DSM_STATS_CHUNK of the region; per thread
 * also split by the node that served each fault. Only the DSM thread writes
 * them (relaxed atomics); readers may run anywhere.
 *
 * Thread slots are bounded (DSM_MAX_THREADS). vCPU threads come and go when
 * vCPUs migrate, so once the slots are full the slot of a thread that has
 * exited is reset and reused for the new one.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

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

static uint32_t nodes(const struct dsm *d)
{
	return d->cfg.nr_nodes ? d->cfg.nr_nodes : 1;
}

static bool thread_gone(int32_t tid)
{
	return syscall(SYS_tgkill, getpid(), tid, 0) < 0 && errno == ESRCH;
}

/* Resets the slot of an exited thread for @tid: -1 if every thread lives. */
static int thread_recycle(struct dsm *d, int32_t tid)
{
	for (int i = 0; i < DSM_MAX_THREADS; i++) {
		struct dsm_tstat *t = &d->threads[i];

		if (!thread_gone(LOAD(t->tid)))
			continue;
		__atomic_store_n(&t->tid, -1, __ATOMIC_RELEASE); /* readers skip it */
		memset(&t->f, 0, sizeof(t->f));
		for (uint32_t n = 0; n < nodes(d); n++)
			__atomic_store_n(&d->thread_from[(size_t)i * nodes(d) + n], 0,
					 __ATOMIC_RELAXED);
		__atomic_store_n(&t->tid, tid, __ATOMIC_RELEASE);
		return i;
	}
	return -1;
}

static int thread_slot(struct dsm *d, int32_t tid)
{
	for (int i = 0; i < DSM_MAX_THREADS; i++) {
		struct dsm_tstat *t = &d->threads[i];

		if (LOAD(t->tid) == tid)
			return i;
		if (!LOAD(t->tid)) {
			__atomic_store_n(&t->tid, tid, __ATOMIC_RELEASE);
			return i;
		}
	}
	/* more threads than slots: only node and range counts if none exited */
	return thread_recycle(d, tid);
}

void dsm_count_fault(struct dsm *d, const struct dsm_page *pg, uint64_t page, bool zero)
{
	uint64_t wait = dsm_now_ns() - pg->t_fault;
	bool remote = d->home[page] != d->cfg.node_id;
	int slot = pg->tid ? thread_slot(d, pg->tid) : -1;

	count(&d->st.faults, pg->kind, zero, remote, wait);
	STAT_ADD(d->page_faults[page], 1);
	count(&d->range[(page << DSM_PAGE_SHIFT) / DSM_STATS_CHUNK], pg->kind, zero,
	      remote, wait);
	if (slot < 0)
		return;
	count(&d->threads[slot].f, pg->kind, zero, remote, wait);
	if (pg->served < nodes(d))
		STAT_ADD(d->thread_from[(size_t)slot * nodes(d) + pg->served], 1);
}

void dsm_count_lost(struct dsm *d, uint64_t page)
{
	STAT_ADD(d->page_lost[page], 1);
}

static uint64_t heat(const struct dsm *d, uint64_t page)
{
	return (uint64_t)LOAD(d->page_faults[page]) + LOAD(d->page_lost[page]);
}

/* Keeps out[0..n) sorted by heat, most first; returns the new length. */
static int hot_insert(const struct dsm *d, struct dsm_hot_page *out, int n, int max,
		      uint64_t page)
{
	uint64_t h = heat(d, page);
	int i = n < max ? n : max - 1;

	if (n == max && h <= (uint64_t)out[max - 1].faults + out[max - 1].lost)
		return n;
	for (; i > 0 && (uint64_t)out[i - 1].faults + out[i - 1].lost < h; i--)
		out[i] = out[i - 1];
	out[i] = (struct dsm_hot_page){.off = page << DSM_PAGE_SHIFT,
				       .faults = LOAD(d->page_faults[page]),
				       .lost = LOAD(d->page_lost[page])};
	return n < max ? n + 1 : n;
}

int dsm_hot_pages(struct dsm *d, struct dsm_hot_page *out, int max)
{
	int n = 0;

	for (uint64_t p = 0; max > 0 && p < d->nr_pages; p++)
		if (heat(d, p))
			n = hot_insert(d, out, n, max, p);
	return n;
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
		if (tid < 0)
			continue; /* being recycled */
		out[n].tid = tid;
		memset(&out[n].faults, 0, sizeof(out[n].faults));
		add(&out[n].faults, &d->threads[i].f);
		n++;
	}
	return n;
}

int dsm_thread_from(struct dsm *d, int32_t tid, uint64_t *from, uint32_t nr)
{
	if (tid <= 0 || nr < nodes(d))
		return -EINVAL;
	for (int i = 0; i < DSM_MAX_THREADS; i++) {
		int32_t t = __atomic_load_n(&d->threads[i].tid, __ATOMIC_ACQUIRE);

		if (!t)
			break;
		if (t != tid)
			continue;
		for (uint32_t n = 0; n < nodes(d); n++)
			from[n] = LOAD(d->thread_from[(size_t)i * nodes(d) + n]);
		return (int)nodes(d);
	}
	return -ENOENT;
}
