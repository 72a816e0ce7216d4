// SPDX-License-Identifier: MIT
/*
 * Loading testos: its ELF at the physical addresses it names, the bootinfo
 * page, an identity map and a flat GDT, and the BSP in 64-bit mode — so the
 * guest's emulated ring-0 start-up on PVM hosts is as short as possible.
 * The contract is guest-images/testos/abi.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/elf.h"
#include "core/vmm.h"
#include "guest-images/testos/abi.h"

#define PTE_P 0x1ULL
#define PTE_RW 0x2ULL
#define PTE_US 0x4ULL
#define PTE_PS 0x80ULL
#define CR0_BOOT 0x80050033ULL /* PE MP ET NE WP PG */
#define CR4_BOOT 0x620ULL      /* PAE OSFXSR OSXMMEXCPT */
#define EFER_BOOT 0xd01ULL     /* SCE LME LMA NXE */

static int testos_page_tables(struct guest_mem *gm)
{
	uint64_t *pml4 = gmem_ptr(gm, TESTOS_BOOT_PT, 6 * 4096);
	uint64_t *pdpt, *pd;

	if (!pml4)
		return -ERANGE;
	memset(pml4, 0, 6 * 4096);
	pdpt = pml4 + 512;
	pd = pdpt + 512;
	pml4[0] = (TESTOS_BOOT_PT + 0x1000) | PTE_P | PTE_RW | PTE_US;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (TESTOS_BOOT_PT + 0x2000 + i * 0x1000) | PTE_P | PTE_RW | PTE_US;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_US | PTE_PS;
	return 0;
}

static int testos_gdt(struct guest_mem *gm)
{
	uint64_t *gdt = gmem_ptr(gm, TESTOS_BOOT_GDT, 3 * 8);

	if (!gdt)
		return -ERANGE;
	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffULL; /* 0x08: 64-bit code */
	gdt[2] = 0x00cf92000000ffffULL; /* 0x10: flat data */
	return 0;
}

static void testos_sregs(struct kvm_sregs *s)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 0x08, .type = 11,
		.present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = code;

	data.selector = 0x10;
	data.type = 3;
	data.l = 0;
	data.db = 1;
	s->cs = code;
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	s->gdt.base = TESTOS_BOOT_GDT;
	s->gdt.limit = 3 * 8 - 1;
	s->cr0 = CR0_BOOT;
	s->cr3 = TESTOS_BOOT_PT;
	s->cr4 = CR4_BOOT;
	s->efer = EFER_BOOT;
}

/* The user program (--initrd) goes page-aligned at the top of low RAM. */
static int testos_load_initrd(struct vm *vm, struct testos_bootinfo *bi)
{
	void *buf, *dst;
	size_t len;
	uint64_t gpa;
	int err;

	err = file_read_all(vm->cfg.initrd, &buf, &len);
	if (err) {
		fprintf(stderr, "rackvm: cannot read --initrd %s: %s\n", vm->cfg.initrd,
			strerror(-err));
		return err;
	}
	gpa = (vm->mem.low_size - len) & ~0xfffULL;
	dst = len < vm->mem.low_size / 2 ? gmem_ptr(&vm->mem, gpa, len) : NULL;
	if (!dst) {
		fprintf(stderr, "rackvm: --initrd %s (%zu bytes) does not fit in guest memory\n",
			vm->cfg.initrd, len);
		free(buf);
		return -E2BIG;
	}
	memcpy(dst, buf, len);
	free(buf);
	bi->initrd_gpa = gpa;
	bi->initrd_size = len;
	return 0;
}

/* One NUMA node per rackvm node (a range that spans the hole is given as
 * one span of guest-physical addresses), unless --numa off. */
static void testos_numa(struct vm *vm, struct testos_bootinfo *bi)
{
	bool numa = !vm->cfg.numa_off && vm->nr_nodes > 1;

	bi->nr_nodes = numa ? vm->nr_nodes : 1;
	for (uint32_t n = 0; n < bi->nr_nodes; n++) {
		uint64_t base = numa ? vm->node_base[n] : 0;
		uint64_t size = numa ? vm->node_size[n] : vm->mem.size;
		uint64_t gpa = gmem_gpa_of(&vm->mem, base);

		bi->node_base[n] = gpa;
		bi->node_size[n] = gmem_gpa_of(&vm->mem, base + size - 1) + 1 - gpa;
	}
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		bi->cpu_node[i] = numa ? vm->vcpu_node[i] : 0;
}

static int testos_bootinfo(struct vm *vm)
{
	struct testos_bootinfo *bi = gmem_ptr(&vm->mem, TESTOS_BOOTINFO, sizeof(*bi));

	if (!bi)
		return -ERANGE;
	memset(bi, 0, sizeof(*bi));
	bi->magic = TESTOS_BOOTINFO_MAGIC;
	bi->version = TESTOS_ABI_VERSION;
	bi->nr_cpus = vm->nr_vcpus;
	bi->seconds = vm->cfg.seconds;
	bi->mem_size = vm->mem.size;
	bi->tsc_khz = vm_guest_tsc_khz(vm);
	/* no --test: smp, unless a user program (--initrd) is the test */
	snprintf(bi->test, sizeof(bi->test), "%s",
		 vm->cfg.test ? vm->cfg.test : vm->cfg.initrd ? "" : "smp");
	snprintf(bi->args, sizeof(bi->args), "%s", vm->cfg.append ? vm->cfg.append : "");
	testos_numa(vm, bi);
	if (vm->cfg.initrd)
		return testos_load_initrd(vm, bi);
	return 0;
}

int testos_load(struct vm *vm)
{
	char path[PATH_MAX];
	const char *kernel = vm->cfg.kernel;
	struct elf_info info;
	struct kvm_regs regs = {0};
	struct kvm_sregs sregs;
	int err;

	if (!kernel) {
		err = guest_default_path("testos.elf", path, sizeof(path));
		if (err)
			return err;
		kernel = path;
	}
	err = elf_load_file(kernel, &vm->mem, &info);
	if (err) {
		if (info.error[0]) /* it names the file */
			fprintf(stderr, "rackvm: cannot load testos image: %s\n", info.error);
		else
			fprintf(stderr, "rackvm: cannot load testos image %s: %s\n", kernel,
				strerror(-err));
		if (err == -ENOENT)
			fprintf(stderr, "rackvm: build the guest images with `make guest`\n");
		return err;
	}
	err = testos_page_tables(&vm->mem);
	if (!err)
		err = testos_gdt(&vm->mem);
	if (!err)
		err = testos_bootinfo(vm);
	if (err)
		return err;
	sregs = vm->vcpus[0].reset_sregs;
	testos_sregs(&sregs);
	regs.rip = info.entry;
	regs.rsp = TESTOS_BOOT_STACK;
	regs.rdi = TESTOS_BOOTINFO;
	regs.rflags = 2;
	return vcpu_set_boot_state(&vm->vcpus[0], &regs, &sregs);
}
