// SPDX-License-Identifier: MIT
/*
 * bzImage, 64-bit boot protocol (Documentation/arch/x86/boot.rst): the
 * protected-mode kernel at its preferred address, boot_params at
 * LINUX_ZERO_PAGE, entry at load address + 0x200 in long mode.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "core/linux.h"

/* Offsets in the file and in boot_params (the setup header is at 0x1f1 in both). */
#define BP_ACPI_RSDP_ADDR  0x070
#define BP_E820_ENTRIES	   0x1e8
#define BP_HDR		   0x1f1
#define HDR_SETUP_SECTS	   0x1f1
#define HDR_SYSSIZE	   0x1f4
#define HDR_JUMP	   0x200
#define HDR_MAGIC	   0x202
#define HDR_VERSION	   0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS	   0x211
#define HDR_RAMDISK_IMAGE  0x218
#define HDR_RAMDISK_SIZE   0x21c
#define HDR_CMD_LINE_PTR   0x228
#define HDR_INITRD_MAX	   0x22c
#define HDR_KERNEL_ALIGN   0x230
#define HDR_RELOCATABLE	   0x234
#define HDR_XLOADFLAGS	   0x236
#define HDR_CMDLINE_SIZE   0x238
#define HDR_PREF_ADDRESS   0x258
#define HDR_INIT_SIZE	   0x260
#define HDR_END_MAX	   0x290 /* boot_params.edd_mbr_sig_buffer starts here */
#define BP_E820_TABLE	   0x2d0
#define BP_SIZE		   4096

#define LOADED_HIGH	    (1u << 0)
#define XLF_KERNEL_64	    (1u << 0)
#define MIN_PROTOCOL	    0x020c
#define DEFAULT_INITRD_MAX  0x37ffffffu
#define DEFAULT_CMDLINE_MAX 255

struct bzimage {
	const uint8_t *img;
	size_t len;
	uint16_t protocol;
	size_t pm_off, pm_len; /* the protected-mode kernel in the file */
	size_t hdr_end;	       /* the setup header is [0x1f1, hdr_end) */
	uint64_t load, need;   /* where it goes, how much RAM it needs there */
};

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4); /* x86 guest and host: both little-endian */
}

static int parse_header(struct bzimage *bz, struct linux_boot *out)
{
	const uint8_t *img = bz->img;
	size_t setup_sects;

	if (bz->len < 1024)
		return linux_fail(out, -ENOEXEC, "truncated: %zu bytes is no kernel",
				  bz->len);
	if (memcmp(img + HDR_MAGIC, "HdrS", 4))
		return linux_fail(
		    out, -ENOEXEC,
		    "not a bzImage (no \"HdrS\" at 0x202) nor an ELF vmlinux");
	bz->protocol = (uint16_t)(img[HDR_VERSION] | img[HDR_VERSION + 1] << 8);
	if (bz->protocol < MIN_PROTOCOL)
		return linux_fail(
		    out, -ENOEXEC,
		    "boot protocol %u.%02u is too old: 2.12 or newer needed",
		    bz->protocol >> 8, bz->protocol & 0xff);
	if (!(img[HDR_XLOADFLAGS] & XLF_KERNEL_64))
		return linux_fail(out, -ENOEXEC,
				  "not a 64-bit kernel (no XLF_KERNEL_64)");
	if (!(img[HDR_LOADFLAGS] & LOADED_HIGH))
		return linux_fail(out, -ENOEXEC,
				  "kernel cannot be loaded at 1 MiB (zImage)");
	setup_sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	bz->pm_off = (setup_sects + 1) * 512;
	bz->hdr_end = HDR_JUMP + 2 + img[HDR_JUMP + 1];
	if (bz->hdr_end > HDR_END_MAX || bz->hdr_end < HDR_INIT_SIZE + 4)
		return linux_fail(out, -ENOEXEC, "setup header length 0x%zx is bad",
				  bz->hdr_end - BP_HDR);
	if (bz->pm_off >= bz->len ||
	    (uint64_t)rd32(img + HDR_SYSSIZE) * 16 > bz->len - bz->pm_off)
		return linux_fail(out, -ENOEXEC,
				  "truncated: %zu bytes, the header says %zu + %llu",
				  bz->len, bz->pm_off,
				  (unsigned long long)rd32(img + HDR_SYSSIZE) * 16);
	bz->pm_len = bz->len - bz->pm_off;
	return 0;
}

/* pref_address if it is aligned and fits, else (relocatable only) the lowest
 * aligned address above 1 MiB. */
static int choose_load(struct bzimage *bz, const struct guest_mem *gm,
		       struct linux_boot *out)
{
	uint64_t align = rd32(bz->img + HDR_KERNEL_ALIGN);
	uint64_t pref = rd64(bz->img + HDR_PREF_ADDRESS);
	bool reloc = bz->img[HDR_RELOCATABLE];
	uint64_t init_size = rd32(bz->img + HDR_INIT_SIZE);

	bz->need = init_size > bz->pm_len ? init_size : bz->pm_len;
	if (align == 0 || (align & (align - 1)) || align > (1u << 30))
		return linux_fail(out, -ENOEXEC,
				  "kernel_alignment 0x%llx is not a power of two",
				  (unsigned long long)align);
	if (bz->need > gm->low_size)
		return linux_fail(
		    out, -ENOEXEC,
		    "kernel needs %llu MiB, more than the guest's %llu MiB of RAM",
		    (unsigned long long)bz->need >> 20,
		    (unsigned long long)gm->low_size >> 20);
	bz->load = pref;
	if (pref >= LINUX_HIGH_START && !(pref & (align - 1)) && pref <= gm->low_size &&
	    bz->need <= gm->low_size - pref)
		return 0;
	if (!reloc)
		return linux_fail(
		    out, -ENOEXEC,
		    "kernel is not relocatable and cannot run at 0x%llx (needs "
		    "%llu MiB there, aligned to 0x%llx)",
		    (unsigned long long)pref, (unsigned long long)bz->need >> 20,
		    (unsigned long long)align);
	bz->load = (LINUX_HIGH_START + align - 1) & ~(align - 1);
	if (bz->load > gm->low_size || bz->need > gm->low_size - bz->load)
		return linux_fail(
		    out, -ENOEXEC, "kernel (%llu MiB) does not fit in RAM at 0x%llx",
		    (unsigned long long)bz->need >> 20, (unsigned long long)bz->load);
	return 0;
}

static void fill_zero_page(uint8_t *bp, const struct bzimage *bz,
			   const struct linux_load_args *a, const struct linux_boot *out)
{
	memset(bp, 0, BP_SIZE);
	memcpy(bp + BP_HDR, bz->img + BP_HDR, bz->hdr_end - BP_HDR);
	bp[HDR_TYPE_OF_LOADER] = 0xff; /* undefined loader: no ID assigned */
	wr32(bp + HDR_CMD_LINE_PTR, LINUX_CMDLINE);
	wr32(bp + HDR_RAMDISK_IMAGE, (uint32_t)out->initrd_gpa);
	wr32(bp + HDR_RAMDISK_SIZE, (uint32_t)out->initrd_size);
	memcpy(bp + BP_ACPI_RSDP_ADDR, &a->rsdp_gpa, 8);
	bp[BP_E820_ENTRIES] = (uint8_t)out->nr_e820;
	for (unsigned int i = 0; i < out->nr_e820; i++) {
		uint8_t *e = bp + BP_E820_TABLE + 20 * i;

		memcpy(e, &out->e820[i].addr, 8);
		memcpy(e + 8, &out->e820[i].size, 8);
		memcpy(e + 16, &out->e820[i].type, 4);
	}
}

static int load_kernel(struct guest_mem *gm, const struct bzimage *bz,
		       struct linux_boot *out)
{
	uint8_t *dst = gmem_ptr(gm, bz->load, bz->need);

	if (!dst)
		return linux_fail(
		    out, -ENOEXEC, "kernel range 0x%llx+%llu is not guest RAM",
		    (unsigned long long)bz->load, (unsigned long long)bz->need);
	memcpy(dst, bz->img + bz->pm_off, bz->pm_len);
	out->kernel_start = bz->load;
	out->kernel_end = bz->load + bz->need;
	return 0;
}

int linux_load_bzimage(struct guest_mem *gm, const uint8_t *img, size_t len,
		       const uint8_t *initrd, size_t initrd_len,
		       const struct linux_load_args *a, struct linux_boot *out)
{
	struct bzimage bz = {.img = img, .len = len};
	uint64_t top;
	uint8_t *bp;
	int err;

	err = parse_header(&bz, out);
	if (!err)
		err = choose_load(&bz, gm, out);
	if (err)
		return err;
	top =
	    rd32(img + HDR_INITRD_MAX) ? rd32(img + HDR_INITRD_MAX) : DEFAULT_INITRD_MAX;
	top = top + 1 < gm->low_size ? top + 1 : gm->low_size;
	err = linux_place_initrd(gm, initrd, initrd_len, bz.load + bz.need, top, out);
	if (!err)
		err = linux_write_cmdline(gm, a->cmdline,
					  rd32(img + HDR_CMDLINE_SIZE)
					      ? rd32(img + HDR_CMDLINE_SIZE)
					      : DEFAULT_CMDLINE_MAX,
					  out);
	if (!err)
		err = load_kernel(gm, &bz, out);
	if (err)
		return err;
	bp = gmem_ptr(gm, LINUX_ZERO_PAGE, BP_SIZE);
	if (!bp)
		return linux_fail(out, -ENOEXEC, "no guest RAM for boot_params");
	fill_zero_page(bp, &bz, a, out);
	out->mode = LINUX_BOOT_64;
	out->protocol = bz.protocol;
	out->rip = bz.load + 0x200;
	out->rsi = LINUX_ZERO_PAGE;
	return linux_write_boot_tables(gm, out);
}
