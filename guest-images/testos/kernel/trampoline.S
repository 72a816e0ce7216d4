/* SPDX-License-Identifier: MIT */
/*
 * kernel/trampoline.S - AP start-up code. The BSP copies these bytes to
 * TESTOS_TRAMPOLINE (0x8000) before the SIPI (vector 0x08); they are
 * assembled here, inside the kernel image, so that no loader has to place a
 * segment below 1 MiB. Every address inside is computed for 0x8000 (T()).
 * Real mode -> protected mode -> long mode with the kernel's GDT and page
 * tables, then the AP picks its kernel stack by its LAPIC ID.
 */
#include "kernel.h"

#define T(x) (TESTOS_TRAMPOLINE_ADDR + (x) - trampoline_start)
#define TESTOS_TRAMPOLINE_ADDR 0x8000

	.section .text
	.code16
	.globl trampoline_start
trampoline_start:
	cli
	cld
	xor %ax, %ax
	mov %ax, %ds
	lgdtl T(tramp_gdtr)
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $SEL_KCODE32, $T(tramp32)

	.code32
tramp32:
	mov $SEL_KDATA, %eax
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
	ljmp $SEL_KCODE, $T(tramp64)

	.code64
tramp64:
	mov $(LAPIC_PHYS + 0x20), %edx
	mov (%rdx), %eax
	shr $24, %eax
	cmp $MAX_CPUS, %eax
	jae 1f
	mov %eax, %edi
	inc %eax
	shl $14, %rax		/* KSTACK_SIZE */
	lea kstacks(%rax), %rsp
	mov $smp_ap_main, %eax
	call *%rax
1:	cli
	hlt
	jmp 1b

	.balign 8
tramp_gdtr:
	.word 6 * 8 + 2 * MAX_CPUS * 8 - 1
	.long gdt
	.globl trampoline_end
trampoline_end:

	.section .note.GNU-stack, "", @progbits
