/* SPDX-License-Identifier: MIT */
/*
 * core/linux.h - loading a Linux kernel the way a boot loader would (private
 * to core/).
 *
 * Two ways in:
 * - a bzImage (boot protocol >= 2.12, 64-bit kernel): the protected-mode part
 *   at its pref_address, boot_params (the "zero page") with the file's setup
 *   header, the e820 map, cmdline, initrd and RSDP; the BSP starts at the
 *   64-bit entry (load address + 0x200) in long mode with RSI = boot_params.
 * - an ELF vmlinux with Xen's PVH entry note: the segments loaded by
 *   elf_load(), an hvm_start_info with cmdline, initrd module, RSDP and
 *   memory map; the BSP starts at the PVH entry in flat 32-bit protected mode,
 *   paging off, EBX = start_info. This skips the decompressor, which PVM
 *   would emulate instruction by instruction for minutes.
 *
 * Low guest memory the loader uses (all inside e820 RAM below 0x9FC00; the
 * kernel copies what it needs before it reuses the space):
 */
#ifndef RACKVM_CORE_LINUX_H
#define RACKVM_CORE_LINUX_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mem.h"

#define LINUX_BOOT_GDT	    0x500   /* null, null, 0x10 code, 0x18 data, 0x20 TSS */
#define LINUX_START_INFO    0x6000  /* PVH: hvm_start_info, module list, memmap */
#define LINUX_ZERO_PAGE	    0x7000  /* bzImage: boot_params */
#define LINUX_BOOT_STACK    0x9000  /* initial RSP/ESP (both entries set their own) */
#define LINUX_BOOT_PT	    0x10000 /* PML4, PDPT, 4 PDs: [0, 4 GiB) identity, 2 MiB */
#define LINUX_CMDLINE	    0x20000
#define LINUX_CMDLINE_MAX   4096    /* bytes with the NUL */
#define LINUX_EBDA_START    0x9FC00 /* e820: reserved from here to 1 MiB */
#define LINUX_HIGH_START    0x100000
#define LINUX_BOOT_CS	    0x10 /* __BOOT_CS */
#define LINUX_BOOT_DS	    0x18 /* __BOOT_DS */
#define LINUX_BOOT_TR	    0x20
#define LINUX_E820_MAX	    128 /* boot_params.e820_table */
#define LINUX_E820_RAM	    1
#define LINUX_E820_RESERVED 2
#define LINUX_PVH_MAGIC	    0x336ec578u

enum linux_boot_mode {
	LINUX_BOOT_64 = 1, /* bzImage, 64-bit boot protocol */
	LINUX_BOOT_PVH32,  /* vmlinux, PVH entry */
};

struct linux_e820 {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

struct linux_load_args {
	const char *kernel;  /* bzImage or ELF vmlinux */
	const char *initrd;  /* initramfs, or NULL */
	const char *cmdline; /* NULL: empty */
	uint64_t rsdp_gpa;   /* ACPI RSDP, 0 if none (Linux then scans the BIOS area) */
};

struct linux_boot {
	enum linux_boot_mode mode;
	uint64_t rip;
	uint64_t rsi;			   /* LINUX_BOOT_64: boot_params gpa */
	uint64_t rbx;			   /* LINUX_BOOT_PVH32: hvm_start_info gpa */
	uint64_t kernel_start, kernel_end; /* guest memory the kernel may use at entry */
	uint64_t initrd_gpa, initrd_size;
	uint16_t protocol; /* bzImage boot protocol version, e.g. 0x020f */
	unsigned int nr_e820;
	struct linux_e820 e820[LINUX_E820_MAX];
	char error[256]; /* why the load failed */
};

/*
 * Load the kernel (and initrd) named in @a into @gm and describe the entry
 * in @out. 0 on success; -ENOEXEC for a corrupt or unsupported image or one
 * that does not fit in RAM, -EINVAL for a bad argument (cmdline too long),
 * -errno for a file that cannot be read. @out->error says what and why.
 */
int linux_load(struct guest_mem *gm, const struct linux_load_args *a,
	       struct linux_boot *out) __attribute__((warn_unused_result));

/* The same from images in memory (@initrd may be NULL). */
int linux_load_image(struct guest_mem *gm, const void *kernel, size_t kernel_len,
		     const void *initrd, size_t initrd_len,
		     const struct linux_load_args *a, struct linux_boot *out)
    __attribute__((warn_unused_result));

/* The BSP's registers for @lb. @s should come from KVM_GET_SREGS: segments,
 * descriptor tables, control registers and EFER are set; the rest is kept. */
void linux_boot_regs(const struct linux_boot *lb, struct kvm_regs *r,
		     struct kvm_sregs *s);

/* The e820 map of @gm: usable [0, 0x9FC00), reserved up to 1 MiB, usable
 * [1 MiB, low_size) and above 4 GiB. Returns the entry count, or 0 if @gm is
 * too small to boot Linux (under 2 MiB). */
unsigned int linux_e820_build(const struct guest_mem *gm, struct linux_e820 *e);

/* ---- shared by core/linux*.c only ---- */
int linux_fail(struct linux_boot *out, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int linux_load_bzimage(struct guest_mem *gm, const uint8_t *img, size_t len,
		       const uint8_t *initrd, size_t initrd_len,
		       const struct linux_load_args *a, struct linux_boot *out);
int linux_load_pvh(struct guest_mem *gm, const uint8_t *img, size_t len,
		   const uint8_t *initrd, size_t initrd_len,
		   const struct linux_load_args *a, struct linux_boot *out);
/* Put @initrd as high as possible in [lo, top), 4 KiB aligned. */
int linux_place_initrd(struct guest_mem *gm, const uint8_t *initrd, size_t initrd_len,
		       uint64_t lo, uint64_t top, struct linux_boot *out);
/* The GDT at LINUX_BOOT_GDT for @lb->mode, and for LINUX_BOOT_64 the page tables. */
int linux_write_boot_tables(struct guest_mem *gm, const struct linux_boot *lb);
int linux_write_cmdline(struct guest_mem *gm, const char *cmdline, size_t max_len,
			struct linux_boot *out);

#endif
