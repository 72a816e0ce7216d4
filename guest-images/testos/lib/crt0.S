/* SPDX-License-Identifier: MIT */
/* lib/crt0.S - program entry: rdi = cpu index, rsi = cpu count, on every CPU. */
	.section .text.start, "ax"
	.globl _start
_start:
	and $-16, %rsp
	call main
	mov %rax, %rdi
	mov $1, %eax		/* SYS_EXIT */
	int $0x80
1:	jmp 1b

	.section .note.GNU-stack, "", @progbits
