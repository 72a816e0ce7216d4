// SPDX-License-Identifier: MIT
/*
 * The interrupt fabric: routes messages from ICR writes and the IOAPIC to the
 * LAPICs they name, kicks the vCPUs that must notice, and injects pending
 * interrupts with KVM_INTERRUPT / KVM_NMI when the vCPU can take them.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/vmm.h"

static void deliver_to(struct vcpu *v, const struct apic_irq *irq)
{
	if (lapic_accept(&v->lapic, irq))
		vcpu_kick(v);
}

/* Lowest priority: the matching LAPIC with the lowest arbitration priority. */
static void deliver_lowest(struct vm *vm, const struct apic_irq *irq)
{
	struct vcpu *best = NULL;
	uint8_t best_prio = 0xff;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		uint8_t prio;

		if (!lapic_match_dest(&v->lapic, irq))
			continue;
		prio = lapic_arb_priority(&v->lapic);
		if (!best || prio < best_prio) {
			best = v;
			best_prio = prio;
		}
	}
	if (best)
		deliver_to(best, irq);
}

void irq_deliver(struct vm *vm, const struct apic_irq *irq)
{
	/* INIT level de-assert carries no event for an xAPIC. */
	if (irq->delivery == APIC_DM_INIT && !irq->level && irq->trigger)
		return;
	if (irq->delivery == APIC_DM_LOWEST && irq->shorthand == APIC_SH_NONE) {
		deliver_lowest(vm, irq);
		return;
	}
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (lapic_match_dest(&vm->vcpus[i].lapic, irq))
			deliver_to(&vm->vcpus[i], irq);
}

static void lapic_send_ipi(void *ctx, const struct apic_irq *irq)
{
	struct vcpu *v = ctx;

	irq_deliver(v->vm, irq);
}

static void lapic_timer_changed(void *ctx, uint64_t deadline_ns)
{
	struct vcpu *v = ctx;
	struct itimerspec its = {0};

	/* Racing callers may report out of order: the model's value is current. */
	deadline_ns = lapic_timer_deadline(&v->lapic);
	if (!v->timer_created)
		return; /* armed once the thread has its timer; vcpu_halt polls too */
	if (deadline_ns) {
		its.it_value.tv_sec = (time_t)(deadline_ns / 1000000000ULL);
		its.it_value.tv_nsec = (long)(deadline_ns % 1000000000ULL);
	}
	timer_settime(v->timer, TIMER_ABSTIME, &its, NULL);
	vcpu_kick(v); /* a halted vCPU must re-read its deadline */
}

static void lapic_eoi_level(void *ctx, uint8_t vector)
{
	struct vcpu *v = ctx;

	ioapic_eoi(&v->vm->ioapic, vector);
}

static uint64_t lapic_now(void *ctx)
{
	(void)ctx;
	return vm_now_ns();
}

const struct lapic_ops vcpu_lapic_ops = {
	.send_ipi = lapic_send_ipi,
	.timer_changed = lapic_timer_changed,
	.eoi_level = lapic_eoi_level,
	.now_ns = lapic_now,
};

static void ioapic_deliver(void *ctx, const struct apic_irq *irq)
{
	irq_deliver(ctx, irq);
}

const struct ioapic_ops vm_ioapic_ops = {
	.deliver = ioapic_deliver,
};

/*
 * PVM reports ready_for_interrupt_injection=0 whenever the guest is in ring 3
 * and never opens an interrupt window there, yet delivers KVM_INTERRUPT
 * correctly (PROBES.md). So on PVM, at CPL 3 with nothing queued, inject
 * anyway. Elsewhere the window is the only rule.
 */
static bool pvm_user_mode(struct vcpu *v)
{
	struct kvm_vcpu_events ev;
	struct kvm_sregs s;

	if (!v->vm->pvm || ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return false;
	if ((s.cs.selector & 3) != 3)
		return false;
	/* One still queued from an entry a kick cut short: do not overwrite it. */
	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0 || ev.interrupt.injected)
		return false;
	return true;
}

int irq_inject_pending(struct vcpu *v)
{
	struct kvm_interrupt intr;
	int vector;

	if (lapic_take_nmi(&v->lapic) && ioctl(v->fd, KVM_NMI) < 0)
		return -errno;
	vector = lapic_pending_vector(&v->lapic);
	v->run->request_interrupt_window = 0;
	if (vector < 0)
		return 0;
	if (!v->run->ready_for_interrupt_injection && !pvm_user_mode(v)) {
		v->run->request_interrupt_window = 1;
		return 0;
	}
	intr.irq = (uint32_t)vector;
	if (ioctl(v->fd, KVM_INTERRUPT, &intr) < 0)
		return -errno;
	lapic_ack(&v->lapic, (uint8_t)vector);
	v->stats.injected++;
	return 0;
}
