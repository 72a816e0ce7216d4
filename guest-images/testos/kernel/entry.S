/* SPDX-License-Identifier: MIT */
/*
 * kernel/entry.S - the two ways into testos, the static page tables and the
 * GDT.
 *
 * _start is the rackvm entry (64-bit, see abi.h). pvh_start32 is the PVH
 * entry QEMU's -kernel uses (32-bit protected mode, paging off, EBX = PVH
 * start_info): a debugging aid to run testos without rackvm.
 *
 * The page tables are built by the assembler so that ring 0, which PVM
 * emulates one instruction at a time, never loops over them: an identity map
 * of [0, 4 GiB) with 2 MiB pages, all user-accessible (ring-3 tests touch any
 * memory), the IOAPIC and LAPIC pages uncached.
 */
#include "kernel.h"

#define PTE_P 0x1
#define PTE_RW 0x2
#define PTE_US 0x4
#define PTE_PWT 0x8
#define PTE_PCD 0x10
#define PTE_PS 0x80
#define PTE_TABLE (PTE_P | PTE_RW | PTE_US)

	.section .note.pvh, "a", @note
	.balign 4
	.long 4			/* namesz */
	.long 4			/* descsz */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start32

/* rsp = top of the kernel stack of the CPU whose LAPIC ID we read; edi = ID. */
.macro SET_CPU_STACK
	mov $(LAPIC_PHYS + 0x20), %edx
	mov (%rdx), %eax
	shr $24, %eax
	cmp $MAX_CPUS, %eax
	jae early_hang
	mov %eax, %edi
	inc %eax
	shl $14, %rax		/* KSTACK_SIZE */
	lea kstacks(%rax), %rsp
.endm

	.section .text.entry, "ax"
	.code64
	.globl _start
_start:
	cli
	cld
	mov %rdi, %rbx
	mov $kernel_pml4, %eax
	mov %rax, %cr3
	SET_CPU_STACK
	mov %edi, %esi
	mov %rbx, %rdi
	call boot_main
	jmp early_hang

	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	mov %ebx, %esi
	lgdt gdtr
	ljmp $SEL_KCODE32, $1f
1:	mov $SEL_KDATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %cr4, %eax
	or $0x20, %eax		/* PAE */
	mov %eax, %cr4
	mov $kernel_pml4, %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	rdmsr
	or $EFER_LME, %eax
	wrmsr
	mov %cr0, %eax
	or $0x80010001, %eax	/* PG | WP | PE */
	mov %eax, %cr0
	ljmp $SEL_KCODE, $pvh_start64

	.code64
pvh_start64:
	mov %esi, %ebx
	SET_CPU_STACK
	mov %edi, %esi
	mov %ebx, %edi
	call pvh_main
	.globl early_hang
early_hang:
	cli
	hlt
	jmp early_hang

	.section .data.pagetables, "aw"
	.balign 4096
	.globl kernel_pml4
kernel_pml4:
	.quad kernel_pdpt + PTE_TABLE
	.fill 511, 8, 0
	.globl kernel_pdpt
kernel_pdpt:
	.quad kernel_pd + PTE_TABLE
	.quad kernel_pd + 0x1000 + PTE_TABLE
	.quad kernel_pd + 0x2000 + PTE_TABLE
	.quad kernel_pd + 0x3000 + PTE_TABLE
	.fill 508, 8, 0
kernel_pd:
	.set i, 0
	.rept 2048
	/* 2038: the IOAPIC's 2 MiB page, 2039: the LAPIC's (gas: true is -1) */
	.quad (i << 21) | PTE_TABLE | PTE_PS | (((i == 2038) | (i == 2039)) & (PTE_PCD | PTE_PWT))
	.set i, i + 1
	.endr

	.section .data, "aw"
	.balign 16
	.globl gdt
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08 kernel code, 64-bit */
	.quad 0x00cf92000000ffff	/* 0x10 kernel data */
	.quad 0x00cf9a000000ffff	/* 0x18 kernel code, 32-bit (PVH, trampoline) */
	.quad 0x00cff2000000ffff	/* 0x20 user data */
	.quad 0x00affa000000ffff	/* 0x28 user code, 64-bit */
	.fill 2 * MAX_CPUS, 8, 0	/* 0x30: one TSS descriptor per CPU */
gdt_end:
	.balign 8
	.globl gdtr
gdtr:
	.word gdt_end - gdt - 1
	.quad gdt

	.section .note.GNU-stack, "", @progbits
