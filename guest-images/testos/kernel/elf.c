// SPDX-License-Identifier: MIT
/*
 * kernel/elf.c - check a user program (a static ELF64 the VMM put at
 * bootinfo.initrd_gpa) and record its segments. Nothing is copied here:
 * ring 3 copies them (user_start), ring 0 is too slow on PVM.
 */
#include "kernel.h"
#include "../lib/testos.h"

struct elf64_ehdr {
	unsigned char ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf64_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

enum {
	ET_EXEC = 2,
	EM_X86_64 = 62,
	PT_LOAD = 1,
	PT_DYNAMIC = 2,
	PT_INTERP = 3,
	PF_X = 1
};
#define ELF_MAX_PHDRS 32

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static bool in_free_ram(uint64_t base, uint64_t size)
{
	for (unsigned int i = 0; i < g_nr_free; i++)
		if (base >= g_free[i].base && size <= g_free[i].size &&
		    base - g_free[i].base <= g_free[i].size - size)
			return true;
	return false;
}

static const char *check_header(const struct elf64_ehdr *eh, uint64_t size)
{
	if (eh->ident[0] != 0x7f || eh->ident[1] != 'E' || eh->ident[2] != 'L' ||
	    eh->ident[3] != 'F')
		return "bad-magic";
	if (eh->ident[4] != 2)
		return "not-elf64";
	if (eh->ident[5] != 1)
		return "not-little-endian";
	if (eh->type != ET_EXEC)
		return "not-executable";
	if (eh->machine != EM_X86_64)
		return "not-x86-64";
	if (eh->phentsize != sizeof(struct elf64_phdr) || eh->phnum == 0 ||
	    eh->phnum > ELF_MAX_PHDRS)
		return "bad-phdr-table";
	if (eh->phoff > size || (uint64_t)eh->phnum * eh->phentsize > size - eh->phoff)
		return "phdrs-outside-file";
	return NULL;
}

static const char *add_segment(const struct elf64_phdr *ph, uint64_t gpa, uint64_t size)
{
	struct prog_seg *s;

	if (ph->type == PT_INTERP || ph->type == PT_DYNAMIC)
		return "not-static";
	if (ph->type != PT_LOAD || ph->memsz == 0)
		return NULL;
	if (ph->filesz > ph->memsz || ph->offset > size || ph->filesz > size - ph->offset)
		return "segment-outside-file";
	if (ph->vaddr + ph->memsz < ph->vaddr)
		return "segment-wraps";
	/* the free ranges exclude testos, the initrd and earlier segments */
	if (!in_free_ram(ph->vaddr, ph->memsz))
		return "segment-outside-free-ram";
	if (g_prog.nr_segs == PROG_MAX_SEGS)
		return "too-many-segments";
	if (mem_ranges_reserve(ph->vaddr, ph->memsz))
		return "too-many-free-ranges";
	s = &g_prog.segs[g_prog.nr_segs++];
	*s = (struct prog_seg){ph->vaddr, gpa + ph->offset, ph->filesz, ph->memsz};
	return NULL;
}

static bool entry_in_code(const struct elf64_ehdr *eh, const struct elf64_phdr *ph)
{
	for (unsigned int i = 0; i < eh->phnum; i++)
		if (ph[i].type == PT_LOAD && (ph[i].flags & PF_X) &&
		    eh->entry >= ph[i].vaddr && eh->entry - ph[i].vaddr < ph[i].memsz)
			return true;
	return false;
}

int elf_prepare(uint64_t gpa, uint64_t size, const char **why)
{
	const struct elf64_ehdr *eh = (const void *)(uintptr_t)gpa;
	const struct elf64_phdr *ph;
	uint64_t kend = (uintptr_t)__kernel_end;

	*why = NULL;
	if (size < sizeof(*eh) || !ram_contains(gpa, size))
		*why = "initrd-outside-ram";
	else if (overlaps(gpa, size, 0, kend)) /* testos, trampoline, bootinfo */
		*why = "initrd-overlaps-testos";
	else if (mem_ranges_reserve(gpa, size))
		*why = "too-many-free-ranges";
	else
		*why = check_header(eh, size);
	if (*why)
		return -22;
	ph = (const void *)(uintptr_t)(gpa + eh->phoff);
	for (unsigned int i = 0; i < eh->phnum && !*why; i++)
		*why = add_segment(&ph[i], gpa, size);
	if (!*why && !g_prog.nr_segs)
		*why = "no-load-segment";
	if (!*why && !entry_in_code(eh, ph))
		*why = "entry-not-in-code";
	g_prog.entry = eh->entry;
	return *why ? -22 : 0;
}
