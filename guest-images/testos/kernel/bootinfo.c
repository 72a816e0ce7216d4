// SPDX-License-Identifier: MIT
/*
 * kernel/bootinfo.c - checks on what the VMM handed us, the RAM layout
 * ([0, min(mem, 3 GiB)) and [4 GiB, 4 GiB + the rest)), the free ranges given
 * to tests and programs, and the mapping of RAM above 4 GiB.
 */
#include "kernel.h"
#include "../lib/testos.h"

#define GIB	    (1ull << 30)
#define HOLE_START  (3 * GIB)
#define HIGH_START  (4 * GIB)
#define HIGH_PD_MAX 28 /* GiB mapped above 4 GiB: RAM up to 31 GiB */
#define PAGE	    4096ull

struct mem_range g_free[MEM_MAX_RANGES];
unsigned int g_nr_free;
static uint64_t low_end, high_size; /* mapped RAM */
static uint64_t high_pd[HIGH_PD_MAX][512] __attribute__((aligned(4096)));

static bool has_nul(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!s[i])
			return true;
	return false;
}

/* 0 or a negative number naming the first failed check (printed). */
int bootinfo_check(const struct testos_bootinfo *bi)
{
	if (bi->magic != TESTOS_BOOTINFO_MAGIC || bi->version != TESTOS_ABI_VERSION)
		return -1;
	if (bi->nr_cpus < 1 || bi->nr_cpus > MAX_CPUS)
		return -2;
	if (bi->mem_size < TESTOS_USER_BASE + (1 << 20))
		return -3;
	if (!bi->tsc_khz)
		return -4;
	if (!has_nul(bi->test, sizeof(bi->test)) || !has_nul(bi->args, sizeof(bi->args)))
		return -5;
	if (bi->nr_nodes < 1 || bi->nr_nodes > TESTOS_MAX_NODES)
		return -6;
	for (uint32_t i = 0; i < bi->nr_cpus; i++)
		if (bi->cpu_node[i] >= bi->nr_nodes)
			return -7;
	return 0;
}

/* RAM above 4 GiB: PDs filled at boot (only when there is such RAM). */
void map_high_ram(void)
{
	uint64_t mem = g_bi->mem_size, gib;

	low_end = (mem < HOLE_START ? mem : HOLE_START) & ~(PAGE - 1);
	if (mem <= HOLE_START)
		return;
	high_size = (mem - HOLE_START) & ~(PAGE - 1);
	if (high_size > HIGH_PD_MAX * GIB) {
		kprintf("testos: only %u GiB of RAM above 4 GiB are mapped\n",
			HIGH_PD_MAX);
		high_size = HIGH_PD_MAX * GIB;
	}
	gib = (high_size + GIB - 1) / GIB;
	for (uint64_t g = 0; g < gib; g++) {
		for (uint64_t e = 0; e < 512; e++)
			high_pd[g][e] = (HIGH_START + g * GIB + (e << 21)) | 0x87;
		kernel_pdpt[4 + g] = (uint64_t)(uintptr_t)high_pd[g] | 0x7;
	}
	__asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
}

static bool range_in(uint64_t base, uint64_t size, uint64_t lo, uint64_t len)
{
	return base >= lo && size <= len && base - lo <= len - size;
}

bool ram_contains(uint64_t base, uint64_t size)
{
	return range_in(base, size, 0, low_end) ||
	       range_in(base, size, HIGH_START, high_size);
}

void mem_ranges_init(void)
{
	g_nr_free = 0;
	if (low_end > TESTOS_USER_BASE)
		g_free[g_nr_free++] =
		    (struct mem_range){TESTOS_USER_BASE, low_end - TESTOS_USER_BASE};
	if (high_size)
		g_free[g_nr_free++] = (struct mem_range){HIGH_START, high_size};
}

/* Take [base, base + size) (rounded out to pages) out of the free ranges. */
int mem_ranges_reserve(uint64_t base, uint64_t size)
{
	uint64_t lo = base & ~(PAGE - 1), hi = (base + size + PAGE - 1) & ~(PAGE - 1);

	for (unsigned int i = 0; i < g_nr_free; i++) {
		struct mem_range r = g_free[i];
		uint64_t end = r.base + r.size;

		if (hi <= r.base || lo >= end)
			continue;
		if (lo > r.base && hi < end) {
			if (g_nr_free == MEM_MAX_RANGES)
				return -28; /* ENOSPC */
			g_free[g_nr_free++] = (struct mem_range){hi, end - hi};
			g_free[i].size = lo - r.base;
		} else if (lo > r.base) {
			g_free[i].size = lo - r.base;
		} else if (hi < end) {
			g_free[i] = (struct mem_range){hi, end - hi};
		} else {
			g_free[i--] = g_free[--g_nr_free];
		}
	}
	return 0;
}

int64_t node_of_addr(uint64_t addr)
{
	if (!ram_contains(addr, 1))
		return -1;
	for (uint32_t i = 0; i < g_bi->nr_nodes; i++)
		if (range_in(addr, 1, g_bi->node_base[i], g_bi->node_size[i]))
			return i;
	return -1;
}
