// SPDX-License-Identifier: MIT
/*
 * The interrupt fabric: routes messages from ICR writes and the IOAPIC to the
 * LAPICs they name, kicks the vCPUs that must notice, and injects pending
 * interrupts with KVM_INTERRUPT / KVM_NMI when the vCPU can take them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/emulate.h"
#include "core/vmm.h"

#define VM_IRQ_MAX_HOPS 64

/* Per-node bitmaps of the vCPUs a message must reach on other nodes. */
struct remote_targets {
	uint8_t map[VM_MAX_NODES][32];
	uint64_t nodes; /* bit n: map[n] is not empty */
};

/* Under the vCPU's ownership lock: a move either happened before (the
 * message goes to the new owner, after the state blob) or waits for us. */
static void deliver_to(struct vcpu *v, const struct apic_irq *irq,
		       struct remote_targets *rt)
{
	bool kick = false;

	pthread_rwlock_rdlock(&v->own_lock);
	if (!v->local) {
		uint32_t node = v->vm->vcpu_node[v->id];

		rt->map[node][v->id / 8] |= (uint8_t)(1u << (v->id % 8));
		rt->nodes |= 1ULL << node;
	} else {
		kick = lapic_accept(&v->lapic, irq);
	}
	pthread_rwlock_unlock(&v->own_lock);
	if (kick)
		vcpu_kick(v);
}

static void send_remote(struct vm *vm, const struct apic_irq *irq,
			const struct remote_targets *rt, uint8_t hops)
{
	for (uint32_t n = 0; n < vm->nr_nodes && rt->nodes; n++)
		if (rt->nodes & (1ULL << n))
			remote_send_irq(vm, n, irq, rt->map[n], hops);
}

/*
 * A message from another node, for the vCPUs in @targets it thinks run here.
 * One that moved on goes to the owner this node knows: that one learnt of the
 * vCPU later than the sender did (a higher epoch), so the hops end at the
 * owner (docs/migration.md). @hops only guards against a broken peer.
 */
void irq_deliver_local(struct vm *vm, const struct apic_irq *irq,
		       const uint8_t targets[32], uint8_t hops)
{
	struct remote_targets rt;

	rt.nodes = 0;
	memset(rt.map, 0, sizeof(rt.map));
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (targets[i / 8] & (1u << (i % 8)))
			deliver_to(&vm->vcpus[i], irq, &rt);
	if (!rt.nodes)
		return;
	if (hops >= VM_IRQ_MAX_HOPS) {
		fprintf(stderr, "rackvm: node %u: dropped interrupt 0x%x after %u hops\n",
			vm->node_id, irq->vector, hops);
		return;
	}
	atomic_fetch_add(&vm->irq_forwarded, 1);
	send_remote(vm, irq, &rt, (uint8_t)(hops + 1));
}

/* Lowest priority: the matching LAPIC with the lowest arbitration priority. */
static struct vcpu *pick_lowest(struct vm *vm, const struct apic_irq *irq)
{
	struct vcpu *best = NULL;
	uint8_t best_prio = 0xff;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		uint8_t prio;

		if (!lapic_match_dest(&v->lapic, irq))
			continue;
		/* a mirror's priority is unknown here: prefer local CPUs */
		prio = v->local ? lapic_arb_priority(&v->lapic) : 0xfe;
		if (!best || prio < best_prio) {
			best = v;
			best_prio = prio;
		}
	}
	return best;
}

void irq_deliver(struct vm *vm, const struct apic_irq *irq)
{
	struct remote_targets rt;
	struct vcpu *v;

	/* INIT level de-assert carries no event for an xAPIC. */
	if (irq->delivery == APIC_DM_INIT && !irq->level && irq->trigger)
		return;
	rt.nodes = 0;
	if (vm_is_multinode(vm))
		memset(rt.map, 0, sizeof(rt.map));
	if (irq->delivery == APIC_DM_LOWEST && irq->shorthand == APIC_SH_NONE) {
		v = pick_lowest(vm, irq);
		if (v)
			deliver_to(v, irq, &rt);
	} else {
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			if (lapic_match_dest(&vm->vcpus[i].lapic, irq))
				deliver_to(&vm->vcpus[i], irq, &rt);
	}
	send_remote(vm, irq, &rt, 0);
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

	if (v->vm->node_id == VM_DEVICE_NODE)
		ioapic_eoi(&v->vm->ioapic, vector);
	else
		remote_send_eoi(v->vm, vector);
}

static void lapic_logical_changed(void *ctx, uint32_t ldr, uint32_t dfr)
{
	struct vcpu *v = ctx;

	if (v->local && vm_is_multinode(v->vm))
		remote_send_logical(v, ldr, dfr);
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
	.logical_changed = lapic_logical_changed,
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

/*
 * An interrupt whose return address is a HLT at CPL 0 puts the vCPU back to
 * sleep right after waking it. KVM never offers an injection between `sti`
 * and `hlt` (STI's interrupt shadow), but a host that loses the shadow on an
 * exit there does (kvm-amd nested in QEMU's TCG: docs/migration.md, Limits),
 * and the guest sleeps through its own wake-up. So step over the HLT first:
 * the guest sees what it would had the interrupt come just after the HLT
 * began, a valid execution on any host. Anything unreadable: RIP stays.
 * Only where an exit can have cut in between the two (v->async_stop): a
 * synchronous exit (I/O, MMIO, HLT) stops at an instruction of its own, and
 * the three ioctls are not free at TCG speed.
 */
static void step_over_hlt(struct vcpu *v)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	uint8_t op;

	if (!v->async_stop)
		return;
	/* KVM reports the CPL as SS.DPL */
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0 || s.ss.dpl != 0 ||
	    ioctl(v->fd, KVM_GET_REGS, &r) < 0)
		return;
	if (emu_read_gva(v->fd, &v->vm->mem, emu_rip_linear(&s, &r), &op, 1) ||
	    op != X86_OP_HLT)
		return;
	r.rip++;
	if (ioctl(v->fd, KVM_SET_REGS, &r) == 0)
		v->stats.hlt_skipped++;
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
	step_over_hlt(v);
	intr.irq = (uint32_t)vector;
	if (ioctl(v->fd, KVM_INTERRUPT, &intr) < 0)
		return -errno;
	lapic_ack(&v->lapic, (uint8_t)vector);
	v->stats.injected++;
	return 0;
}
