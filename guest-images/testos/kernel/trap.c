// SPDX-License-Identifier: MIT
/* kernel/trap.c - every vector lands here: exceptions end the run, interrupts
 * are counted (tests read the counts) and acknowledged. */
#include "kernel.h"

static void __attribute__((noreturn)) trap_exception(const struct trap_frame *f)
{
	struct cpu *c = this_cpu();
	uint64_t cr2;

	if (c->in_panic++)
		power_off(1); /* faulted while reporting a fault */
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	kprintf("testos: cpu %u exception %lu error %#lx rip %#lx cr2 %#lx rsp %#lx cs "
		"%#lx\n",
		c->index, (unsigned long)f->vector, (unsigned long)f->error,
		(unsigned long)f->rip, (unsigned long)cr2, (unsigned long)f->rsp,
		(unsigned long)f->cs);
	fail_and_power_off(
	    "reason=exception vector=%lu error=%#lx rip=%#lx cr2=%#lx cpu=%u",
	    (unsigned long)f->vector, (unsigned long)f->error, (unsigned long)f->rip,
	    (unsigned long)cr2, c->index);
}

/* PVM delivers `int $0x80` from ring 3 as #UD at the instruction. */
static bool is_pvm_int80(const struct trap_frame *f)
{
	return f->vector == 6 && (f->cs & 3) == 3 && ram_contains(f->rip, 2) &&
	       *(const uint8_t *)(uintptr_t)f->rip == 0xcd &&
	       *(const uint8_t *)(uintptr_t)(f->rip + 1) == SYSCALL_VECTOR;
}

uint64_t g_early_wakeups;

/*
 * `sti; hlt` (halt_for_irq) relies on STI's one-instruction interrupt
 * shadow: the wake-up interrupt arrives after the HLT has begun, and returns
 * past it. A host that loses the shadow on an exit between the two (seen:
 * kvm-amd nested in QEMU's TCG, ~1 run in 10 of `timer` on a loaded box)
 * delivers it AT the HLT: the handler returns to the HLT and the CPU sleeps
 * through its own wake-up. Resuming past the HLT makes the waiter re-check.
 */
static void skip_halt(struct trap_frame *f)
{
	if ((f->cs & 3) == 0 && *(const uint8_t *)(uintptr_t)f->rip == 0xf4) {
		f->rip++;
		__atomic_add_fetch(&g_early_wakeups, 1, __ATOMIC_RELAXED);
	}
}

void trap_dispatch(struct trap_frame *f)
{
	uint64_t v = f->vector & 0xff;

	if (v == SYSCALL_VECTOR) {
		syscall_dispatch(f);
		return;
	}
	if (is_pvm_int80(f)) {
		f->rip += 2;
		syscall_dispatch(f);
		return;
	}
	if (v < 32)
		trap_exception(f);
	skip_halt(f);
	this_cpu()->irq_count[v]++;
	if (v != TESTOS_VEC_SPURIOUS)
		lapic_eoi();
}
