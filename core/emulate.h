/* SPDX-License-Identifier: MIT */
/*
 * core/emulate.h - finishing instructions KVM's emulator gave up on (private
 * to core/).
 *
 * On PVM hosts guest ring 0 runs under KVM's instruction emulator, which
 * fails on a few instructions a Linux kernel executes at boot (PROBES.md):
 * KVM_EXIT_INTERNAL_ERROR, suberror KVM_INTERNAL_ERROR_EMULATION, with the
 * instruction bytes in run->emulation_failure when the VM enabled
 * KVM_CAP_EXIT_ON_EMULATION_FAILURE. emu_complete() executes the ones rackvm
 * knows and moves RIP past them:
 *   int3 (cc)                         RIP += 1, #BP injected (a trap: the
 *                                     handler returns after the int3)
 *   popcnt r, r/m (f3 [REX] 0f b8 /r) 16/32/64-bit, register or memory
 *   fwait (9b)                        skipped: no x87 exception is pending
 *                                     in the guests rackvm runs
 *   fnclex (db e2), fclex (9b db e2)  x87 exception flags cleared
 *   clac / stac (0f 01 ca / cb)       RFLAGS.AC cleared / set (CPL 0 only)
 * On hardware-assisted KVM these never reach user space in practice; the
 * code is still written for any mode (real, 16/32-bit protected, long).
 *
 * Guest-virtual addresses (the instruction when the exit has no bytes, a
 * memory operand) are translated with KVM_TRANSLATE and read through
 * gmem_ptr(), the checked accessor.
 */
#ifndef RACKVM_CORE_EMULATE_H
#define RACKVM_CORE_EMULATE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mem.h"

#define EMU_MAX_INSN 15 /* architectural limit of an x86 instruction */

enum emu_op {
	EMU_OP_INT3 = 1,
	EMU_OP_POPCNT,
	EMU_OP_FWAIT,
	EMU_OP_FNCLEX, /* also fclex: fwait + fnclex as one */
	EMU_OP_CLAC,
	EMU_OP_STAC,
};

/* Code segment size: the default operand and address size in bytes. */
enum emu_mode {
	EMU_MODE_16 = 2,
	EMU_MODE_32 = 4,
	EMU_MODE_64 = 8,
};

/* Segment registers in their x86 encoding order. */
enum emu_seg { EMU_SEG_ES, EMU_SEG_CS, EMU_SEG_SS, EMU_SEG_DS, EMU_SEG_FS, EMU_SEG_GS };

/* Register numbers: x86 encoding (0 rax, 1 rcx, ... 15 r15), plus these. */
#define EMU_REG_RIP  16	  /* base of a RIP-relative operand */
#define EMU_REG_NONE 0xff /* no base / no index */

struct emu_insn {
	uint8_t op;	  /* enum emu_op */
	uint8_t len;	  /* bytes, prefixes included */
	uint8_t opsize;	  /* operand bytes: 2, 4 or 8 */
	uint8_t addrsize; /* address bytes: 2, 4 or 8 */
	uint8_t reg;	  /* ModRM.reg with REX.R: popcnt's destination */
	bool mem;	  /* the r/m operand is memory (else register @rm) */
	uint8_t rm;	  /* ModRM.rm with REX.B, when !mem */
	uint8_t seg;	  /* enum emu_seg of the memory operand */
	uint8_t base;	  /* memory operand: register, EMU_REG_RIP or EMU_REG_NONE */
	uint8_t index;	  /* register or EMU_REG_NONE */
	uint8_t scale;	  /* 1, 2, 4 or 8 */
	int64_t disp;
};

/*
 * Decode one instruction from @n bytes at @b in 64-bit mode (the mode of
 * the kernels rackvm runs). Pure. 0; -ENODATA if the bytes end inside the
 * instruction; -ENOSYS if it is not one rackvm emulates (or is invalid).
 */
int emu_decode(const uint8_t *b, size_t n, struct emu_insn *out)
    __attribute__((warn_unused_result));
/* The same for any code segment size. */
int emu_decode_mode(const uint8_t *b, size_t n, enum emu_mode mode, struct emu_insn *out)
    __attribute__((warn_unused_result));

/*
 * Complete the instruction of an emulation-failure exit in @run. 0: done,
 * the vCPU can resume. -ENOSYS: not an instruction rackvm emulates; other
 * -errno: it could not be done (unreadable operand, ioctl failure). On
 * error @why says what and where ("unhandled instruction 0f 01 ca at RIP
 * 0x...").
 */
int emu_complete(int vcpu_fd, struct kvm_run *run, const struct guest_mem *mem, char *why,
		 size_t whylen) __attribute__((warn_unused_result));

/* Read @len bytes at guest-virtual @gva of the vCPU's current address space. */
int emu_read_gva(int vcpu_fd, const struct guest_mem *mem, uint64_t gva, void *buf,
		 size_t len) __attribute__((warn_unused_result));

/* Linear address of the instruction pointer, in any mode. */
uint64_t emu_rip_linear(const struct kvm_sregs *s, const struct kvm_regs *r);

#define X86_OP_HLT 0xf4

#endif
