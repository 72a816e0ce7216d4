// SPDX-License-Identifier: MIT
/*
 * The BSP's state at the kernel's entry: the boot GDT and identity page
 * tables in guest memory, and the matching KVM registers. The descriptors in
 * memory and the hidden parts KVM is given agree, so a segment reload before
 * the kernel installs its own GDT changes nothing.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "core/linux.h"

#define GDT_CODE64 0x00af9b000000ffffULL /* L, P, DPL 0, code read/exec accessed */
#define GDT_CODE32 0x00cf9b000000ffffULL /* D, 4 GiB flat */
#define GDT_DATA   0x00cf93000000ffffULL /* B, 4 GiB flat, read/write accessed */
#define GDT_TSS	   0x00008b0000000067ULL /* busy TSS at 0, 104 bytes, as TR says */
#define GDT_SIZE   (6 * 8)		 /* the TSS descriptor takes two slots */

#define PTE_P  (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_PS (1ULL << 7)

#define CR0_PE	 (1ULL << 0)
#define CR0_MP	 (1ULL << 1)
#define CR0_ET	 (1ULL << 4)
#define CR0_NE	 (1ULL << 5)
#define CR0_WP	 (1ULL << 16)
#define CR0_PG	 (1ULL << 31)
#define CR4_PAE	 (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

static void write_page_tables(uint64_t *pt)
{
	uint64_t *pml4 = pt, *pdpt = pt + 512, *pd = pt + 1024;

	memset(pt, 0, 6 * 4096);
	pml4[0] = (LINUX_BOOT_PT + 0x1000) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (LINUX_BOOT_PT + 0x2000 + i * 0x1000) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
}

int linux_write_boot_tables(struct guest_mem *gm, const struct linux_boot *lb)
{
	uint64_t gdt[GDT_SIZE / 8] = {0};
	void *dst = gmem_ptr(gm, LINUX_BOOT_GDT, sizeof(gdt));
	uint64_t *pt;

	gdt[LINUX_BOOT_CS / 8] = lb->mode == LINUX_BOOT_64 ? GDT_CODE64 : GDT_CODE32;
	gdt[LINUX_BOOT_DS / 8] = GDT_DATA;
	gdt[LINUX_BOOT_TR / 8] = GDT_TSS;
	if (!dst)
		return -ENOEXEC;
	memcpy(dst, gdt, sizeof(gdt));
	if (lb->mode != LINUX_BOOT_64)
		return 0;
	pt = gmem_ptr(gm, LINUX_BOOT_PT, 6 * 4096);
	if (!pt)
		return -ENOEXEC;
	write_page_tables(pt);
	return 0;
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type, bool code64)
{
	return (struct kvm_segment){
	    .base = 0,
	    .limit = 0xffffffff,
	    .selector = selector,
	    .type = type,
	    .present = 1,
	    .s = 1,
	    .l = code64,
	    .db = !code64,
	    .g = 1,
	};
}

static void set_segments(struct kvm_sregs *s, bool long_mode)
{
	struct kvm_segment data = flat_segment(LINUX_BOOT_DS, 0x3, false);

	s->cs = flat_segment(LINUX_BOOT_CS, 0xb, long_mode);
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	s->tr = (struct kvm_segment){
	    .selector = LINUX_BOOT_TR, .limit = 0x67, .type = 0xb, .present = 1};
	s->ldt = (struct kvm_segment){.limit = 0xffff, .type = 0x2, .present = 1};
	s->gdt = (struct kvm_dtable){.base = LINUX_BOOT_GDT, .limit = GDT_SIZE - 1};
	s->idt = (struct kvm_dtable){.base = 0, .limit = 0};
}

void linux_boot_regs(const struct linux_boot *lb, struct kvm_regs *r, struct kvm_sregs *s)
{
	bool long_mode = lb->mode == LINUX_BOOT_64;

	memset(r, 0, sizeof(*r));
	r->rflags = 0x2; /* IF clear: the kernel enables interrupts itself */
	r->rip = lb->rip;
	r->rsi = lb->rsi;
	r->rbx = lb->rbx;
	r->rsp = LINUX_BOOT_STACK;
	set_segments(s, long_mode);
	s->cr2 = 0;
	if (long_mode) {
		s->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
		s->cr3 = LINUX_BOOT_PT;
		s->cr4 = CR4_PAE;
		s->efer = EFER_LME | EFER_LMA;
	} else {
		s->cr0 = CR0_PE | CR0_ET;
		s->cr3 = 0;
		s->cr4 = 0;
		s->efer = 0;
	}
}
