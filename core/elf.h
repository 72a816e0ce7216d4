/* SPDX-License-Identifier: MIT */
/*
 * core/elf.h - ELF64 x86-64 loader for guest kernels (private to core/).
 *
 * Loads an ET_EXEC image by physical address: every PT_LOAD segment goes to
 * p_paddr (not p_vaddr, which for Linux's vmlinux is the high kernel map),
 * with p_memsz - p_filesz zero bytes after the file's part. The image is
 * untrusted input: every offset, size and address is checked (overflow-safe)
 * before anything is written to guest memory, so a rejected image leaves
 * guest RAM untouched.
 */
#ifndef RACKVM_CORE_ELF_H
#define RACKVM_CORE_ELF_H

#include <stddef.h>
#include <stdint.h>

#include "core/mem.h"

/* Xen's PVH entry note: the 32-bit physical entry point (Linux vmlinux has it). */
#define ELF_NOTE_XEN_NAME    "Xen"
#define ELF_XEN_PHYS32_ENTRY 18

struct elf_info {
	uint64_t entry;	    /* e_entry, as the file gives it (virtual for vmlinux) */
	uint64_t lo, hi;    /* physical span of the loaded segments: [lo, hi) */
	uint32_t pvh_entry; /* XEN_ELFNOTE_PHYS32_ENTRY, 0 if the note is absent */
	char error[256];    /* why the load failed, for the caller to print */
};

/*
 * Load the image @file (@len bytes) into @gm. 0 on success; -ENOEXEC for a
 * malformed or unsupported file, -ERANGE for a segment outside guest RAM;
 * @out->error then says what and where.
 */
int elf_load(const void *file, size_t len, struct guest_mem *gm, struct elf_info *out)
    __attribute__((warn_unused_result));

/* elf_load() on the file at @path; errors name the path (also for a missing,
 * unreadable or empty file: -errno / -ENOEXEC). */
int elf_load_file(const char *path, struct guest_mem *gm, struct elf_info *out)
    __attribute__((warn_unused_result));

#endif
