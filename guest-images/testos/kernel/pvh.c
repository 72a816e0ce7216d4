// SPDX-License-Identifier: MIT
/*
 * kernel/pvh.c - a debugging aid: boot under QEMU's -kernel through the PVH
 * entry, building the bootinfo the VMM would give from the command line
 * (`-append "cpus=4 test=smp seconds=1 nodes=2 args=..."`), the PVH memory
 * map and the first module (-initrd: a user program).
 */
#include "kernel.h"
#include "../lib/testos.h"

#define PVH_MAGIC 0x336ec578u
#define E820_RAM  1

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};
struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};
struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

static struct testos_bootinfo pvh_bi;

void pvh_main(uint32_t start_info, uint32_t index) __attribute__((noreturn));

static uint64_t parse_num(const char *s, const char **end)
{
	uint64_t v = 0;

	while (*s >= '0' && *s <= '9')
		v = v * 10 + (uint64_t)(*s++ - '0');
	if (*s == 'K' || *s == 'k')
		v <<= 10, s++;
	else if (*s == 'M' || *s == 'm')
		v <<= 20, s++;
	else if (*s == 'G' || *s == 'g')
		v <<= 30, s++;
	*end = s;
	return v;
}

static void copy_word(char *dst, size_t n, const char *s, const char **end, bool rest)
{
	size_t i = 0;

	for (; *s && (rest || *s != ' '); s++)
		if (i + 1 < n)
			dst[i++] = *s;
	dst[i] = 0;
	*end = s;
}

static void parse_cmdline(struct testos_bootinfo *bi, const char *s, uint64_t *nodes)
{
	while (*s) {
		if (*s == ' ') {
			s++;
		} else if (!strncmp(s, "cpus=", 5)) {
			bi->nr_cpus = (uint32_t)parse_num(s + 5, &s);
		} else if (!strncmp(s, "seconds=", 8)) {
			bi->seconds = (uint32_t)parse_num(s + 8, &s);
		} else if (!strncmp(s, "mem=", 4)) {
			bi->mem_size = parse_num(s + 4, &s);
		} else if (!strncmp(s, "nodes=", 6)) {
			*nodes = parse_num(s + 6, &s);
		} else if (!strncmp(s, "test=", 5)) {
			copy_word(bi->test, sizeof(bi->test), s + 5, &s, false);
		} else if (!strncmp(s, "args=", 5)) {
			copy_word(bi->args, sizeof(bi->args), s + 5, &s, true);
		} else {
			while (*s && *s != ' ')
				s++;
		}
	}
}

static uint64_t memmap_size(const struct hvm_start_info *si)
{
	const struct hvm_memmap_entry *e = (const void *)(uintptr_t)si->memmap_paddr;
	uint64_t low = 0, high = 0;

	if (si->version < 1 || !si->memmap_paddr)
		return 0;
	for (uint32_t i = 0; i < si->memmap_entries; i++) {
		uint64_t end = e[i].addr + e[i].size;
		if (e[i].type != E820_RAM)
			continue;
		if (end <= (4ull << 30))
			low = end > low ? end : low;
		else
			high += e[i].size;
	}
	/* bootinfo means rackvm's layout (RAM split at 3 GiB, the rest above
	 * 4 GiB); QEMU keeps up to 3.5 GiB below 4 GiB: drop what is above 3. */
	return (low < (3ull << 30) ? low : (3ull << 30)) + high;
}

/* Fake NUMA for testing the node system calls: equal memory slices, CPUs in
 * contiguous blocks. */
static void split_nodes(struct testos_bootinfo *bi, uint64_t nodes)
{
	if (nodes < 1 || nodes > TESTOS_MAX_NODES)
		nodes = 1;
	bi->nr_nodes = (uint32_t)nodes;
	for (uint64_t i = 0; i < nodes; i++) {
		bi->node_base[i] = (bi->mem_size / nodes * i) & ~((2ull << 20) - 1);
		bi->node_size[i] =
		    (i + 1 == nodes ? bi->mem_size : bi->mem_size / nodes * (i + 1)) -
		    bi->node_base[i];
	}
	for (uint32_t c = 0; c < bi->nr_cpus && c < TESTOS_MAX_CPUS; c++)
		bi->cpu_node[c] = (uint8_t)(c * nodes / bi->nr_cpus);
}

void pvh_main(uint32_t start_info, uint32_t index)
{
	const struct hvm_start_info *si = (const void *)(uintptr_t)start_info;
	struct testos_bootinfo *bi = &pvh_bi;
	uint64_t nodes = 1;

	/* The 8259 is live under firmware: mask it so it never raises vectors
	 * that collide with exceptions. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	bi->magic = TESTOS_BOOTINFO_MAGIC;
	bi->version = TESTOS_ABI_VERSION;
	bi->nr_cpus = 1;
	if (si->magic == PVH_MAGIC) {
		bi->mem_size = memmap_size(si);
		if (si->cmdline_paddr)
			parse_cmdline(bi, (const char *)(uintptr_t)si->cmdline_paddr,
				      &nodes);
		if (si->nr_modules && si->modlist_paddr) {
			const struct hvm_modlist_entry *m =
			    (const void *)(uintptr_t)si->modlist_paddr;
			bi->initrd_gpa = m->paddr;
			bi->initrd_size = m->size;
		}
	}
	split_nodes(bi, nodes);
	cpu_init(index);
	lapic_enable();
	bi->tsc_khz = lapic_calibrate_tsc_khz();
	boot_main(bi, index);
}
