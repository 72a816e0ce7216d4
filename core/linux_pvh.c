// SPDX-License-Identifier: MIT
/*
 * PVH boot (Xen's arch/x86 HVM direct boot ABI, which Linux implements for
 * any hypervisor): the ELF vmlinux's segments at their physical addresses,
 * an hvm_start_info in low memory, entry in 32-bit protected mode.
 */
#include <errno.h>
#include <string.h>

#include "core/elf.h"
#include "core/linux.h"

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* version 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info is ABI");

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry is ABI");

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_memmap_entry) == 24, "hvm_memmap_table_entry is ABI");

#define START_INFO_MODLIST (LINUX_START_INFO + 0x40)
#define START_INFO_MEMMAP  (LINUX_START_INFO + 0x80)
#define START_INFO_END	   LINUX_ZERO_PAGE
_Static_assert(START_INFO_MEMMAP + LINUX_E820_MAX * sizeof(struct hvm_memmap_entry) <=
		   START_INFO_END,
	       "the memmap ends below the zero page");

static int write_start_info(struct guest_mem *gm, const struct linux_load_args *a,
			    struct linux_boot *out)
{
	struct hvm_start_info *si = gmem_ptr(gm, LINUX_START_INFO, sizeof(*si));
	struct hvm_modlist_entry *mod = gmem_ptr(gm, START_INFO_MODLIST, sizeof(*mod));
	struct hvm_memmap_entry *mm =
	    gmem_ptr(gm, START_INFO_MEMMAP, out->nr_e820 * sizeof(*mm));

	if (!si || !mod || !mm)
		return linux_fail(out, -ENOEXEC, "no guest RAM for hvm_start_info");
	*si = (struct hvm_start_info){
	    .magic = LINUX_PVH_MAGIC,
	    .version = 1,
	    .cmdline_paddr = LINUX_CMDLINE,
	    .rsdp_paddr = a->rsdp_gpa,
	    .memmap_paddr = START_INFO_MEMMAP,
	    .memmap_entries = out->nr_e820,
	};
	if (out->initrd_size) {
		*mod = (struct hvm_modlist_entry){.paddr = out->initrd_gpa,
						  .size = out->initrd_size};
		si->nr_modules = 1;
		si->modlist_paddr = START_INFO_MODLIST;
	}
	for (unsigned int i = 0; i < out->nr_e820; i++)
		mm[i] = (struct hvm_memmap_entry){.addr = out->e820[i].addr,
						  .size = out->e820[i].size,
						  .type = out->e820[i].type};
	return 0;
}

int linux_load_pvh(struct guest_mem *gm, const uint8_t *img, size_t len,
		   const uint8_t *initrd, size_t initrd_len,
		   const struct linux_load_args *a, struct linux_boot *out)
{
	struct elf_info info;
	int err;

	memset(&info, 0, sizeof(info));
	err = elf_load(img, len, gm, &info);
	if (err)
		return linux_fail(out, err == -ERANGE ? -ENOEXEC : err, "%s", info.error);
	if (!info.pvh_entry)
		return linux_fail(
		    out, -ENOEXEC,
		    "ELF kernel without a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY):"
		    " boot the bzImage instead");
	if (info.hi > gm->low_size || info.lo < LINUX_HIGH_START)
		return linux_fail(out, -ENOEXEC,
				  "kernel segments [0x%llx, 0x%llx) are not in "
				  "RAM above 1 MiB",
				  (unsigned long long)info.lo,
				  (unsigned long long)info.hi);
	out->kernel_start = info.lo;
	out->kernel_end = info.hi;
	err = linux_place_initrd(gm, initrd, initrd_len, info.hi, gm->low_size, out);
	if (!err)
		err = linux_write_cmdline(gm, a->cmdline, LINUX_CMDLINE_MAX - 1, out);
	if (!err)
		err = write_start_info(gm, a, out);
	if (err)
		return err;
	out->mode = LINUX_BOOT_PVH32;
	out->rip = info.pvh_entry;
	out->rbx = LINUX_START_INFO;
	return linux_write_boot_tables(gm, out);
}
