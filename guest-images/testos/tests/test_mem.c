// SPDX-License-Identifier: MIT
/*
 * tests/test_mem.c - write every byte of free RAM from ring 3 with an
 * address-derived pattern (each CPU its slice), then each CPU verifies the
 * next CPU's slice, so every word is read by a CPU that did not write it.
 */
#include "tests.h"

#define MAX_RANGES 8
#define PAGE	   4096ull

static uint64_t mismatches, first_bad = ~0ull;

static inline uint64_t pattern(uint64_t a)
{
	return (a * 0x9e3779b97f4a7c15ull) ^ (a >> 29) ^ 0x5a5a5a5a00000000ull;
}

struct ranges {
	uint64_t base[MAX_RANGES], size[MAX_RANGES], total;
	unsigned int n;
};

static void get_ranges(struct ranges *r)
{
	r->n = 0;
	r->total = 0;
	while (r->n < MAX_RANGES && !t_mem_info(&r->base[r->n], &r->size[r->n], r->n)) {
		r->total += r->size[r->n];
		r->n++;
	}
}

static void note_first_bad(uint64_t a)
{
	uint64_t cur = __atomic_load_n(&first_bad, __ATOMIC_RELAXED);

	while (a < cur &&
	       !__atomic_compare_exchange_n(&first_bad, &cur, a, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

static void do_range(uint64_t a, uint64_t end, bool verify)
{
	uint64_t bad = 0;

	for (; a < end; a += 8) {
		volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)a;
		if (!verify)
			*p = pattern(a);
		else if (*p != pattern(a) && !bad++)
			note_first_bad(a);
	}
	if (bad)
		__atomic_add_fetch(&mismatches, bad, __ATOMIC_RELAXED);
}

/* Apply to bytes [lo, hi) of the ranges laid end to end. */
static void do_slice(const struct ranges *r, uint64_t lo, uint64_t hi, bool verify)
{
	uint64_t off = 0;

	for (unsigned int i = 0; i < r->n; off += r->size[i], i++) {
		uint64_t s, e;
		if (hi <= off || lo >= off + r->size[i])
			continue;
		s = lo > off ? lo - off : 0;
		e = hi - off < r->size[i] ? hi - off : r->size[i];
		do_range(r->base[i] + s, r->base[i] + e, verify);
	}
}

static uint64_t slice_start(const struct ranges *r, unsigned int cpu, unsigned int n)
{
	return cpu >= n ? r->total : (r->total / n * cpu) & ~(PAGE - 1);
}

int test_mem(const struct test_ctx *t)
{
	struct ranges r;
	unsigned int n = t->nr_cpus, v = (t->cpu + 1) % n;

	get_ranges(&r);
	t_barrier();
	do_slice(&r, slice_start(&r, t->cpu, n), slice_start(&r, t->cpu + 1, n), false);
	t_barrier();
	do_slice(&r, slice_start(&r, v, n), slice_start(&r, v + 1, n), true);
	t_barrier();
	if (t->cpu)
		return 0;
	if (mismatches || !r.total) {
		t_printf("RACKVM-RESULT test=mem status=fail bytes=%lu mismatches=%lu "
			 "first_bad=%#lx\n",
			 (unsigned long)r.total, (unsigned long)mismatches,
			 (unsigned long)first_bad);
		return 1;
	}
	t_printf("RACKVM-RESULT test=mem status=pass bytes=%lu ranges=%u cpus=%u\n",
		 (unsigned long)r.total, r.n, n);
	return 0;
}
