// SPDX-License-Identifier: MIT
/* KVM exits: dispatch, and a diagnostic for every exit rackvm cannot handle. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/emulate.h"
#include "core/pvm.h"
#include "core/vmm.h"

#define MSR_IA32_TSC 0x10
#define MSR_IA32_TSC_DEADLINE 0x6e0

static const char *exit_name(uint32_t reason)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "UNKNOWN",
		[KVM_EXIT_EXCEPTION] = "EXCEPTION",
		[KVM_EXIT_IO] = "IO",
		[KVM_EXIT_HYPERCALL] = "HYPERCALL",
		[KVM_EXIT_DEBUG] = "DEBUG",
		[KVM_EXIT_HLT] = "HLT",
		[KVM_EXIT_MMIO] = "MMIO",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
		[KVM_EXIT_SHUTDOWN] = "SHUTDOWN (triple fault)",
		[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
		[KVM_EXIT_INTR] = "INTR",
		[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
		[KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
		[KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
	};

	if (reason < sizeof(names) / sizeof(names[0]) && names[reason])
		return names[reason];
	return "unnamed";
}

/* Up to 15 bytes at the guest's RIP, through its page tables. */
static size_t vcpu_fetch_insn(struct vcpu *v, uint64_t rip, uint8_t *buf)
{
	struct kvm_translation tr = {.linear_address = rip};
	size_t n = 0;

	for (; n < 15; n++) {
		const uint8_t *p;

		tr.linear_address = rip + n;
		if (ioctl(v->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid)
			break;
		p = gmem_ptr(&v->vm->mem, tr.physical_address, 1);
		if (!p)
			break;
		buf[n] = *p;
	}
	return n;
}

void vcpu_describe(struct vcpu *v, char *buf, size_t len)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint8_t insn[15];
	size_t n, off;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
		snprintf(buf, len, "(registers unreadable: %s)", strerror(errno));
		return;
	}
	n = vcpu_fetch_insn(v, regs.rip, insn);
	off = (size_t)snprintf(buf, len, "RIP 0x%llx CPL %u CR0 0x%llx RSP 0x%llx bytes",
			       (unsigned long long)regs.rip, sregs.cs.selector & 3,
			       (unsigned long long)sregs.cr0, (unsigned long long)regs.rsp);
	for (size_t i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, " %02x", insn[i]);
	if (!n && off < len)
		snprintf(buf + off, len - off, " (unmapped)");
}

static int exit_unhandled(struct vcpu *v, const char *what)
{
	char where[256];

	vcpu_describe(v, where, sizeof(where));
	vm_stop(v->vm, "vCPU %u: unhandled exit %s (%u)%s%s: %s", v->id,
		exit_name(v->run->exit_reason), v->run->exit_reason, what ? ": " : "",
		what ? what : "", where);
	return -EIO;
}

static int exit_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool write = run->io.direction == KVM_EXIT_IO_OUT;
	int err;

	v->stats.io++;
	if (v->vm->pvm && run->io.port == PVM_HOOK_PORT) { /* docs/pvm.md: SYSCALL */
		err = pvm_hook_exit(v);
		if (err != -ENOENT)
			return err ? exit_unhandled(v, "PVM system-call hook") : 0;
	}
	if ((uint64_t)run->io.data_offset + (uint64_t)run->io.size * run->io.count >
	    (uint64_t)v->vm->run_size)
		return exit_unhandled(v, "I/O data outside the run page");
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		err = vm_pio(v, run->io.port, write, data, run->io.size);
		if (err)
			return err;
	}
	return 0;
}

static int exit_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	v->stats.mmio++;
	if (run->mmio.len > sizeof(run->mmio.data))
		return exit_unhandled(v, "MMIO wider than 8 bytes");
	return vm_mmio(v, run->mmio.phys_addr, run->mmio.is_write, run->mmio.data,
		       run->mmio.len);
}

static int guest_tsc(struct vcpu *v, uint64_t *tsc)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = {.hdr.nmsrs = 1, .e.index = MSR_IA32_TSC};

	if (ioctl(v->fd, KVM_GET_MSRS, &m) != 1)
		return -EIO;
	*tsc = m.e.data;
	return 0;
}

/* Only MSRs in our filter (TSC-deadline) or unknown to KVM come here. */
static int exit_msr(struct vcpu *v, bool write)
{
	struct kvm_run *run = v->run;
	uint64_t tsc;

	v->stats.msr++;
	run->msr.error = 0;
	if (write && v->vm->pvm && run->msr.index == PVM_MSR_LSTAR) /* docs/pvm.md */
		return pvm_lstar_write(v, run->msr.data) ? exit_unhandled(v, "cannot set LSTAR")
							    : 0;
	if (run->msr.index != MSR_IA32_TSC_DEADLINE) {
		if (v->vm->cfg.verbose)
			fprintf(stderr, "rackvm: vCPU %u: %s of unknown MSR 0x%x -> #GP\n", v->id,
				write ? "write" : "read", run->msr.index);
		run->msr.error = 1;
		return 0;
	}
	if (!write) {
		run->msr.data = lapic_tsc_deadline_read(&v->lapic);
		return 0;
	}
	if (guest_tsc(v, &tsc))
		return exit_unhandled(v, "cannot read the guest TSC");
	lapic_tsc_deadline_write(&v->lapic, run->msr.data, tsc);
	return 0;
}

static int exit_internal(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	char why[200];
	int err;

	if (run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION)
		return exit_unhandled(v, "KVM internal error");
	err = emu_complete(v->fd, run, &v->vm->mem, why, sizeof(why));
	if (!err) {
		v->stats.emulated++;
		return 0;
	}
	return exit_unhandled(v, why);
}

int vcpu_handle_exit(struct vcpu *v)
{
	switch (v->run->exit_reason) {
	case KVM_EXIT_IO:
		return exit_io(v);
	case KVM_EXIT_MMIO:
		return exit_mmio(v);
	case KVM_EXIT_HLT:
		v->stats.hlt++;
		v->mode = VCPU_HALTED;
		return 0;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		v->stats.irq_window++;
		return 0;
	case KVM_EXIT_INTR:
		v->stats.intr++;
		return 0;
	case KVM_EXIT_X86_RDMSR:
		return exit_msr(v, false);
	case KVM_EXIT_X86_WRMSR:
		return exit_msr(v, true);
	case KVM_EXIT_INTERNAL_ERROR:
		return exit_internal(v);
	default:
		return exit_unhandled(v, NULL);
	}
}
