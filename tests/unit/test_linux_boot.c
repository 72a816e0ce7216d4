// SPDX-License-Identifier: MIT
/*
 * Linux boot protocol: bzImage headers and PVH ELF images crafted here, read
 * back from real guest memory (a memfd, as the VMM uses) at the offsets the
 * boot protocol documents. The real Debian kernel too, if `make guest` built it.
 */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/linux.h"

#define MIB	    (1ULL << 20)
#define PM_LEN	    0x3000
#define SETUP_SECTS 2
#define PM_OFF	    ((SETUP_SECTS + 1) * 512)
#define IMG_LEN	    (PM_OFF + PM_LEN)
#define PREF	    0x1000000u
#define INIT_SIZE   0x400000u
#define INITRD_LEN  0x12345
#define RSDP	    0xE0000u
#define CMDLINE	    "console=ttyS0 rackvm.test=smp"

static uint8_t img[IMG_LEN];
static uint8_t initrd[INITRD_LEN];

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* A minimal 64-bit bzImage: setup header of protocol 2.15, a patterned kernel. */
static void make_bzimage(void)
{
	memset(img, 0, sizeof(img));
	img[0x1f1] = SETUP_SECTS;
	wr32(img + 0x1f4, PM_LEN / 16); /* syssize */
	img[0x1fe] = 0x55;
	img[0x1ff] = 0xaa;
	img[0x200] = 0xeb;
	img[0x201] = 0x6a; /* header ends at 0x26c */
	memcpy(img + 0x202, "HdrS", 4);
	img[0x206] = 0x0f;
	img[0x207] = 0x02;
	img[0x211] = 0x01;	       /* LOADED_HIGH */
	wr32(img + 0x22c, 0x7fffffff); /* initrd_addr_max */
	wr32(img + 0x230, 0x200000);   /* kernel_alignment */
	img[0x234] = 1;		       /* relocatable */
	img[0x236] = 0x03;	       /* XLF_KERNEL_64 | CAN_BE_LOADED_ABOVE_4G */
	wr32(img + 0x238, 2047);       /* cmdline_size */
	wr32(img + 0x258, PREF);       /* pref_address */
	wr32(img + 0x260, INIT_SIZE);  /* init_size */
	for (size_t i = 0; i < PM_LEN; i++)
		img[PM_OFF + i] = (uint8_t)(i * 7 + 1);
}

static struct guest_mem *mem(uint64_t size)
{
	static struct guest_mem gm = {.fd = -1};

	gmem_destroy(&gm);
	assert_int_equal(gmem_init(&gm, size), 0);
	return &gm;
}

static int load(struct guest_mem *gm, const void *kernel, size_t len, const void *rd,
		size_t rd_len, const char *cmdline, struct linux_boot *lb)
{
	struct linux_load_args a = {.cmdline = cmdline, .rsdp_gpa = RSDP};

	return linux_load_image(gm, kernel, len, rd, rd_len, &a, lb);
}

static uint8_t *at(struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	uint8_t *p = gmem_ptr(gm, gpa, len);

	assert_non_null(p);
	return p;
}

static void test_bzimage_boot_params(void **state)
{
	static struct linux_boot lb;
	struct guest_mem *gm = mem(64 * MIB);
	uint8_t *bp;

	(void)state;
	make_bzimage();
	assert_int_equal(load(gm, img, IMG_LEN, initrd, INITRD_LEN, CMDLINE, &lb), 0);
	assert_int_equal(lb.mode, LINUX_BOOT_64);
	assert_int_equal(lb.protocol, 0x020f);
	assert_int_equal(lb.rip, PREF + 0x200);
	assert_int_equal(lb.rsi, LINUX_ZERO_PAGE);
	assert_memory_equal(at(gm, PREF, PM_LEN), img + PM_OFF, PM_LEN);
	bp = at(gm, lb.rsi, 4096);
	/* the setup header is the file's, but for the fields a loader fills */
	assert_memory_equal(bp + 0x1f1, img + 0x1f1, 0x210 - 0x1f1);
	assert_memory_equal(bp + 0x22c, img + 0x22c, 0x26c - 0x22c);
	assert_int_equal(bp[0x210], 0xff);
	assert_int_equal(rd32(bp + 0x228), LINUX_CMDLINE);
	assert_string_equal((char *)at(gm, LINUX_CMDLINE, sizeof(CMDLINE)), CMDLINE);
	assert_int_equal(rd32(bp + 0x218), lb.initrd_gpa);
	assert_int_equal(rd32(bp + 0x21c), INITRD_LEN);
	assert_int_equal(rd64(bp + 0x070), RSDP);
	assert_memory_equal(at(gm, lb.initrd_gpa, INITRD_LEN), initrd, INITRD_LEN);
	/* initrd: page aligned, as high as RAM allows, clear of the kernel */
	assert_int_equal(lb.initrd_gpa % 4096, 0);
	assert_true(lb.initrd_gpa >= PREF + INIT_SIZE);
	assert_true(lb.initrd_gpa + INITRD_LEN <= gm->low_size);
	assert_true(lb.initrd_gpa + INITRD_LEN > gm->low_size - 4096);
	/* e820 in boot_params is the map linux_e820_build() gives */
	assert_int_equal(bp[0x1e8], lb.nr_e820);
	for (unsigned int i = 0; i < lb.nr_e820; i++) {
		const uint8_t *e = bp + 0x2d0 + 20 * i;

		assert_int_equal(rd64(e), lb.e820[i].addr);
		assert_int_equal(rd64(e + 8), lb.e820[i].size);
		assert_int_equal(rd32(e + 16), lb.e820[i].type);
	}
	assert_int_equal(bp[0x2d0 + 20 * lb.nr_e820 + 16], 0);
}

static void test_bzimage_placement(void **state)
{
	static struct linux_boot lb;
	struct guest_mem *gm = mem(64 * MIB);

	(void)state;
	make_bzimage();
	wr32(img + 0x22c, 0x2000000 - 1); /* initrd below 32 MiB */
	assert_int_equal(load(gm, img, IMG_LEN, initrd, INITRD_LEN, NULL, &lb), 0);
	assert_true(lb.initrd_gpa + INITRD_LEN <= 0x2000000);
	assert_true(lb.initrd_gpa + INITRD_LEN > 0x2000000 - 4096);
	assert_int_equal(*at(gm, LINUX_CMDLINE, 1), 0); /* NULL cmdline: empty */
	/* pref_address past RAM: a relocatable kernel goes to the first 2 MiB slot */
	make_bzimage();
	wr32(img + 0x258, 0x8000000);
	assert_int_equal(load(gm, img, IMG_LEN, NULL, 0, "", &lb), 0);
	assert_int_equal(lb.rip, 0x200000 + 0x200);
	assert_int_equal(lb.initrd_gpa, 0);
	assert_int_equal(rd32(at(gm, LINUX_ZERO_PAGE + 0x218, 4)), 0);
	/* the command line may be exactly cmdline_size long, not longer */
	make_bzimage();
	wr32(img + 0x238, 10);
	assert_int_equal(load(gm, img, IMG_LEN, NULL, 0, "0123456789", &lb), 0);
	assert_int_equal(load(gm, img, IMG_LEN, NULL, 0, "0123456789a", &lb), -EINVAL);
	assert_non_null(strstr(lb.error, "command line"));
}

/* Each corruption must give -ENOEXEC and a reason containing @why. */
static void expect_reject(struct guest_mem *gm, size_t len, size_t rd_len,
			  const char *why)
{
	static struct linux_boot lb;

	assert_int_equal(load(gm, img, len, rd_len ? initrd : NULL, rd_len, "", &lb),
			 -ENOEXEC);
	if (!strstr(lb.error, why))
		fail_msg("error \"%s\" does not say \"%s\"", lb.error, why);
}

static void test_bzimage_corrupt(void **state)
{
	struct guest_mem *gm = mem(64 * MIB);

	(void)state;
	make_bzimage();
	expect_reject(gm, 512, 0, "truncated");
	expect_reject(gm, IMG_LEN - 16, 0, "truncated");
	expect_reject(gm, PM_OFF, 0, "truncated");
	img[0x203] = 'X';
	expect_reject(gm, IMG_LEN, 0, "HdrS");
	make_bzimage();
	img[0x206] = 0x0b; /* 2.11 */
	expect_reject(gm, IMG_LEN, 0, "too old");
	make_bzimage();
	img[0x236] = 0;
	expect_reject(gm, IMG_LEN, 0, "64-bit");
	make_bzimage();
	img[0x234] = 0;
	wr32(img + 0x258, 0x8000000); /* beyond RAM, and it cannot move */
	expect_reject(gm, IMG_LEN, 0, "not relocatable");
	make_bzimage();
	img[0x234] = 0;
	wr32(img + 0x258, PREF + 0x1000); /* misaligned, and it cannot move */
	expect_reject(gm, IMG_LEN, 0, "not relocatable");
	make_bzimage();
	wr32(img + 0x230, 0x300000);
	expect_reject(gm, IMG_LEN, 0, "power of two");
	make_bzimage();
	wr32(img + 0x260, 128 * MIB);
	expect_reject(gm, IMG_LEN, 0, "more than the guest");
	make_bzimage();
	wr32(img + 0x22c, PREF + INIT_SIZE + 0x10000 - 1); /* room for 64 KiB only */
	expect_reject(gm, IMG_LEN, INITRD_LEN, "initrd");
	make_bzimage();
	{
		static struct linux_boot lb;

		assert_int_equal(load(gm, img, IMG_LEN, initrd, 0, "", &lb), -ENOEXEC);
		assert_non_null(strstr(lb.error, "initrd is empty"));
	}
}

static void check_e820(uint64_t size)
{
	struct guest_mem *gm = mem(size);
	struct linux_e820 e[LINUX_E820_MAX];
	unsigned int n;
	uint64_t ram = 0;

	n = linux_e820_build(gm, e);
	assert_true(n >= 3);
	for (unsigned int i = 0; i < n; i++) {
		assert_true(e[i].size > 0);
		if (i)
			assert_true(e[i - 1].addr + e[i - 1].size <= e[i].addr);
		/* nothing in the 3-4 GiB hole, RAM only where guest memory is */
		assert_true(e[i].addr + e[i].size <= GMEM_HOLE_START ||
			    e[i].addr >= GMEM_HIGH_START);
		if (e[i].type == LINUX_E820_RAM) {
			assert_non_null(gmem_ptr(gm, e[i].addr, e[i].size));
			ram += e[i].size;
		} else {
			assert_int_equal(e[i].type, LINUX_E820_RESERVED);
		}
	}
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].size, 0x9FC00);
	assert_int_equal(e[1].addr, 0x9FC00);
	assert_int_equal(e[1].addr + e[1].size, 0x100000);
	assert_int_equal(ram, size - (0x100000 - 0x9FC00));
}

static void test_e820(void **state)
{
	struct linux_e820 e[LINUX_E820_MAX];

	(void)state;
	check_e820(64 * MIB);
	check_e820(3072 * MIB);
	check_e820(5120 * MIB);
	assert_int_equal(linux_e820_build(mem(1 * MIB), e), 0);
}

static void test_regs_64(void **state)
{
	static struct linux_boot lb;
	struct guest_mem *gm = mem(64 * MIB);
	struct kvm_regs r;
	struct kvm_sregs s;
	const uint8_t *gdt;
	const uint64_t *pt;

	(void)state;
	make_bzimage();
	assert_int_equal(load(gm, img, IMG_LEN, NULL, 0, "", &lb), 0);
	memset(&s, 0, sizeof(s));
	s.apic_base = 0xfee00900;
	linux_boot_regs(&lb, &r, &s);
	assert_int_equal(r.rip, PREF + 0x200);
	assert_int_equal(r.rsi, LINUX_ZERO_PAGE);
	assert_int_equal(r.rflags, 2);
	assert_int_equal(s.apic_base, 0xfee00900); /* kept */
	assert_int_equal(s.cs.selector, 0x10);
	assert_true(s.cs.l && !s.cs.db && s.cs.present && s.cs.type == 0xb);
	assert_int_equal(s.ds.selector, 0x18);
	assert_int_equal(s.ss.selector, 0x18);
	assert_true(s.cr0 & 0x80000001u);
	assert_int_equal(s.cr4 & 0x20, 0x20);
	assert_int_equal(s.efer & 0x500, 0x500);
	assert_int_equal(s.cr3, LINUX_BOOT_PT);
	assert_int_equal(s.gdt.base, LINUX_BOOT_GDT);
	gdt = at(gm, LINUX_BOOT_GDT, s.gdt.limit + 1);
	assert_int_equal(rd64(gdt + 0x10), 0x00af9b000000ffffULL); /* 64-bit code */
	assert_int_equal(rd64(gdt + 0x18), 0x00cf93000000ffffULL);
	/* walk the page tables: identity with 2 MiB pages up to 4 GiB */
	pt = (const uint64_t *)at(gm, LINUX_BOOT_PT, 6 * 4096);
	for (uint64_t va = 0; va < (4ULL << 30); va += 0x1ff00000) {
		uint64_t pdpt = pt[0] & ~0xfffULL, pd, pde;

		assert_true(pt[0] & 1);
		pd = ((const uint64_t *)at(gm, pdpt, 4096))[va >> 30] & ~0xfffULL;
		pde = ((const uint64_t *)at(gm, pd, 4096))[(va >> 21) & 511];
		assert_int_equal(pde & 0x83, 0x83); /* present, writable, 2 MiB */
		assert_int_equal(pde & ~0x1fffffULL, va & ~0x1fffffULL);
	}
}

/* ELF64 vmlinux stand-in: one PT_LOAD at 2 MiB and a Xen PVH entry note. */
static size_t make_elf(uint8_t *f, size_t cap, bool note)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)f;
	Elf64_Phdr *ph = (Elf64_Phdr *)(f + sizeof(*eh));
	Elf64_Nhdr nh = {.n_namesz = 4, .n_descsz = 4, .n_type = 18};
	uint32_t entry = 0x200100;

	assert_true(cap >= 0x2000);
	memset(f, 0, 0x2000);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = 0xffffffff81000000ULL;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = note ? 2 : 1;
	ph[0] = (Elf64_Phdr){.p_type = PT_LOAD,
			     .p_offset = 0x1000,
			     .p_paddr = 0x200000,
			     .p_vaddr = 0xffffffff81000000ULL,
			     .p_filesz = 0x1000,
			     .p_memsz = 0x3000,
			     .p_align = 0x1000};
	/* Elf64_Nhdr, "Xen\0", the 4-byte entry */
	ph[1] = (Elf64_Phdr){
	    .p_type = PT_NOTE, .p_offset = 0x400, .p_filesz = 20, .p_align = 4};
	memcpy(f + 0x400, &nh, sizeof(nh));
	memcpy(f + 0x40c, "Xen", 4);
	memcpy(f + 0x410, &entry, 4);
	memset(f + 0x1000, 0xcc, 0x1000);
	return 0x2000;
}

static void test_pvh(void **state)
{
	static struct linux_boot lb;
	static uint8_t elf[0x2000];
	struct guest_mem *gm = mem(64 * MIB);
	const uint8_t *si, *mm;
	size_t len = make_elf(elf, sizeof(elf), true);
	struct kvm_regs r;
	struct kvm_sregs s;

	(void)state;
	assert_int_equal(load(gm, elf, len, initrd, INITRD_LEN, CMDLINE, &lb), 0);
	assert_int_equal(lb.mode, LINUX_BOOT_PVH32);
	assert_int_equal(lb.rip, 0x200100);
	assert_int_equal(lb.rbx, LINUX_START_INFO);
	assert_int_equal(*at(gm, 0x200000, 1), 0xcc);
	assert_int_equal(*at(gm, 0x202fff, 1), 0); /* bss zeroed */
	si = at(gm, lb.rbx, 56);
	assert_int_equal(rd32(si), 0x336ec578);
	assert_int_equal(rd32(si + 4), 1);  /* version */
	assert_int_equal(rd32(si + 12), 1); /* nr_modules */
	assert_string_equal((char *)at(gm, rd64(si + 24), sizeof(CMDLINE)), CMDLINE);
	assert_int_equal(rd64(si + 32), RSDP);
	assert_int_equal(rd64(at(gm, rd64(si + 16), 32)), lb.initrd_gpa); /* module */
	assert_int_equal(rd64(at(gm, rd64(si + 16), 32) + 8), INITRD_LEN);
	assert_memory_equal(at(gm, lb.initrd_gpa, INITRD_LEN), initrd, INITRD_LEN);
	assert_true(lb.initrd_gpa >= 0x203000);
	assert_int_equal(rd32(si + 48), lb.nr_e820);
	mm = at(gm, rd64(si + 40), 24 * lb.nr_e820);
	for (unsigned int i = 0; i < lb.nr_e820; i++) {
		assert_int_equal(rd64(mm + 24 * i), lb.e820[i].addr);
		assert_int_equal(rd64(mm + 24 * i + 8), lb.e820[i].size);
		assert_int_equal(rd32(mm + 24 * i + 16), lb.e820[i].type);
	}
	memset(&s, 0, sizeof(s));
	linux_boot_regs(&lb, &r, &s);
	assert_int_equal(r.rip, 0x200100);
	assert_int_equal(r.rbx, LINUX_START_INFO);
	assert_true(!s.cs.l && s.cs.db && s.cs.g && s.cs.limit == 0xffffffff);
	assert_int_equal(s.cs.selector, 0x10);
	assert_int_equal(s.cr0 & 0x80000001u, 1); /* PE, no paging */
	assert_int_equal(s.efer, 0);
	assert_int_equal(s.cr4, 0);
	assert_int_equal(rd64(at(gm, LINUX_BOOT_GDT + 0x10, 8)), 0x00cf9b000000ffffULL);
	/* without the note there is no way in */
	len = make_elf(elf, sizeof(elf), false);
	assert_int_equal(load(gm, elf, len, NULL, 0, "", &lb), -ENOEXEC);
	assert_non_null(strstr(lb.error, "PVH"));
}

static void test_real_kernel(void **state)
{
	static struct linux_boot lb;
	const char *dir = getenv("RACKVM_GUEST_DIR");
	char kernel[512], vmlinux[512], rd[512];
	struct linux_load_args a = {
	    .kernel = kernel, .initrd = rd, .cmdline = "console=ttyS0"};
	struct guest_mem *gm = mem(256 * MIB);
	uint8_t *bp;

	(void)state;
	snprintf(kernel, sizeof(kernel), "%s/linux/vmlinuz", dir ? dir : ".");
	snprintf(vmlinux, sizeof(vmlinux), "%s/linux/vmlinux", dir ? dir : ".");
	snprintf(rd, sizeof(rd), "%s/linux/initramfs.cpio.gz", dir ? dir : ".");
	if (!dir || access(kernel, R_OK) || access(vmlinux, R_OK) || access(rd, R_OK))
		skip(); /* `make guest` builds them */
	assert_int_equal(linux_load(gm, &a, &lb), 0);
	assert_int_equal(lb.mode, LINUX_BOOT_64);
	bp = at(gm, lb.rsi, 4096);
	assert_memory_equal(bp + 0x202, "HdrS", 4);
	assert_true(lb.protocol >= 0x020c);
	assert_int_equal((lb.rip - 0x200) % rd32(bp + 0x230), 0);
	assert_true(lb.initrd_size > 0 && lb.initrd_gpa >= lb.kernel_end);
	a.kernel = vmlinux;
	assert_int_equal(linux_load(mem(256 * MIB), &a, &lb), 0);
	assert_int_equal(lb.mode, LINUX_BOOT_PVH32);
	assert_true(lb.rip >= lb.kernel_start && lb.rip < lb.kernel_end);
	/* a missing file names itself */
	a.kernel = "/nonexistent/vmlinuz";
	assert_int_equal(linux_load(gm, &a, &lb), -ENOENT);
	assert_non_null(strstr(lb.error, "/nonexistent/vmlinuz"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bzimage_boot_params),
	    cmocka_unit_test(test_bzimage_placement),
	    cmocka_unit_test(test_bzimage_corrupt),
	    cmocka_unit_test(test_e820),
	    cmocka_unit_test(test_regs_64),
	    cmocka_unit_test(test_pvh),
	    cmocka_unit_test(test_real_kernel),
	};

	for (size_t i = 0; i < INITRD_LEN; i++)
		initrd[i] = (uint8_t)(i * 13 + 5);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
