/* SPDX-License-Identifier: MIT */
/*
 * kernel/vectors.S - one 16-byte stub per IDT vector, the common trap path
 * and the drop to ring 3. Only caller-saved registers are saved: the C
 * handler preserves the rest, and every saved register is an emulated
 * instruction on PVM.
 */
#include "kernel.h"

	.section .text
	.balign 16
	.globl isr_stubs
isr_stubs:
	.set vec, 0
	.rept 256
	.balign 16
	/* the CPU pushes an error code for these; the others get a 0 */
	.if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq $0
	.endif
	pushq $vec
	jmp trap_common
	.set vec, vec + 1
	.endr

trap_common:
	push %rax
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %r8
	push %r9
	push %r10
	push %r11
	cld
	mov %rsp, %rdi
	call trap_dispatch
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rax
	add $16, %rsp
	iretq

/* enter_user(rip, rsp, arg0, arg1): IF=1 and IOPL=3 so ring 3 may use `out`. */
	.globl enter_user
enter_user:
	pushq $(SEL_UDATA | 3)
	pushq %rsi
	pushq $0x3202
	pushq $(SEL_UCODE | 3)
	pushq %rdi
	mov %rdx, %rdi
	mov %rcx, %rsi
	mov $(SEL_UDATA | 3), %eax
	mov %eax, %ds
	mov %eax, %es
	xor %eax, %eax
	xor %ebx, %ebx
	xor %ecx, %ecx
	xor %edx, %edx
	xor %ebp, %ebp
	iretq

	.section .note.GNU-stack, "", @progbits
