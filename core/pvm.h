/* SPDX-License-Identifier: MIT */
/*
 * core/pvm.h - PVM-only binary translation of the guest's system-call entry
 * (private to core/; docs/pvm.md).
 *
 * On PVM a guest's SYSCALL from ring 3 sets RCX, R11 and RFLAGS and jumps to
 * LSTAR but leaves CS and SS at ring 3, so the first fetch of a supervisor
 * entry page faults (#PF, error code P|U|I, CR2 = LSTAR) and the kernel sees
 * a user crash. SWAPGS and SYSRETQ are fine once the entry really runs in
 * ring 0 (KVM's emulator does both).
 *
 * rackvm completes the SYSCALL itself:
 *  - guest writes to LSTAR exit to the VMM (MSR filter, core/vm.c); the VMM
 *    stores the value and rewrites the first instruction of the guest's #PF
 *    handler (found through the IDT), a no-op such as `endbr64` or Linux's
 *    ASM_CLAC nops, into `out %al, $PVM_HOOK_PORT` padded with a nop to the
 *    same length: an exit the VMM sees, then the handler as written;
 *  - at that exit, when the exception frame is the one a ring-3 SYSCALL
 *    leaves (fetch fault at LSTAR from CPL 3, RFLAGS masked by FMASK as R11
 *    says), the vCPU is put where a correct SYSCALL would have put it: RIP =
 *    LSTAR, RSP = the user's, CS/SS from STAR in ring 0. Any other fault
 *    resumes into the handler, which then runs as if nothing happened.
 */
#ifndef RACKVM_CORE_PVM_H
#define RACKVM_CORE_PVM_H

#include <stdint.h>

struct vcpu;

#define PVM_MSR_STAR  0xc0000081
#define PVM_MSR_LSTAR 0xc0000082
#define PVM_MSR_FMASK 0xc0000084

/* An 8-bit port no PC device decodes: `out %al, imm8` is 2 bytes. */
#define PVM_HOOK_PORT 0xe4

/*
 * The guest wrote @lstar to MSR_LSTAR (a filtered write): set it in KVM and
 * hook the #PF handler of the vCPU's current IDT. 0 or -errno (KVM refused
 * the MSR). A handler rackvm cannot hook is reported with --verbose and left
 * alone: the guest then runs with the PVM behaviour.
 */
int pvm_lstar_write(struct vcpu *v, uint64_t lstar) __attribute__((warn_unused_result));

/*
 * An OUT to PVM_HOOK_PORT. -ENOENT: not from the hook (handle it as port
 * I/O); 0: done — the vCPU either enters the system call or continues into
 * its #PF handler; other -errno: the vCPU state could not be read or set.
 */
int pvm_hook_exit(struct vcpu *v) __attribute__((warn_unused_result));

#endif
