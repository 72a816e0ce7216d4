// SPDX-License-Identifier: MIT
/*
 * The receiving side of a vCPU move (docs/migration.md): chunks of the state
 * blob from the old owner, and VMW_OWNER announcements from new owners. Runs
 * in the node's one receiving thread.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/state.h"
#include "core/vmm.h"

static int drop(struct vm *vm, uint32_t src, const char *why)
{
	fprintf(stderr, "rackvm: node %u: dropped a migration message from node %u: %s\n",
		vm->node_id, src, why);
	return -EPROTO;
}

/* Every other node learns who runs @v from now on. */
static void migrate_announce(struct vm *vm, struct vcpu *v)
{
	struct vmw_owner m = {.version = VMW_VERSION,
			      .vcpu = v->id,
			      .epoch = v->epoch,
			      .node = vm->node_id,
			      .ldr = v->lapic.s.ldr,
			      .dfr = v->lapic.s.dfr};

	for (uint32_t n = 0; n < vm->nr_nodes; n++)
		if (n != vm->node_id)
			remote_send(vm, n, VMW_OWNER, &m, sizeof(m));
}

/* The blob into the mirror vCPU; its run state beside KVM's. */
static int migrate_load(struct vm *vm, struct vcpu *v)
{
	struct vcpu_extra x = {0};
	struct kvm_regs regs;
	int err;

	/* a mirror's own state is nothing to go back to: a failed load loses the
	 * vCPU anyway (migrate_in) */
	err = vcpu_state_load_noundo(vm->kvm_fd, v->fd, &v->lapic, &x, v->rx.buf,
				     v->rx.total);
	if (!err) /* the blob's TSC is the old owner's at park: back to the host's */
		err = vcpu_sync_tsc(v);
	if (!err && ioctl(v->fd, KVM_GET_REGS, &regs) < 0)
		err = -errno;
	if (err)
		return err;
	v->mode = x.halted		     ? VCPU_HALTED
		  : v->lapic.s.wait_for_sipi ? VCPU_WAIT_SIPI
					     : VCPU_RUNNING;
	/* a halted vCPU waits for what its IF allows (vcpu_halt) */
	v->run->if_flag = (regs.rflags >> 9) & 1;
	/* Left from an earlier stint here, it would let irq_inject_pending put an
	 * interrupt into a guest with IF=0: ask KVM for a window instead. */
	v->run->ready_for_interrupt_injection = 0;
	return 0;
}

/* The old thread of a vCPU that ran here before has ended: join it, unless
 * the VM is stopping (vm_run joins it then). False: do not start it again. */
static bool migrate_reap_thread(struct vm *vm, struct vcpu *v)
{
	bool stopping;

	pthread_mutex_lock(&vm->lock);
	stopping = atomic_load(&vm->stopping);
	if (!stopping && v->thread_started) {
		pthread_join(v->thread, NULL);
		v->thread_started = false;
	}
	pthread_mutex_unlock(&vm->lock);
	return !stopping;
}

static int migrate_in(struct vm *vm, struct vcpu *v)
{
	uint32_t src = v->rx.src;
	uint64_t arrive = vm_now_ns();
	int err = migrate_load(vm, v);

	if (err) {
		vm_stop(vm, "vCPU %u lost: its state from node %u does not load here: %s",
			v->id, src, strerror(-err));
		mig_rx_reset(&v->rx);
		return err;
	}
	v->park_ns = v->rx.park_ns;
	v->saved_ns = v->rx.saved_ns;
	v->arrive_ns = arrive;
	v->arrived_from = src;
	v->arrived = true;
	v->async_stop = true; /* parked wherever the old owner stopped it */
	pthread_rwlock_wrlock(&v->own_lock);
	v->epoch = v->rx.epoch;
	pthread_rwlock_unlock(&v->own_lock);
	mig_rx_reset(&v->rx);
	if (!migrate_reap_thread(vm, v))
		return 0;
	/* before the thread can send anything (I/O, LDR) in our name */
	migrate_announce(vm, v);
	pthread_mutex_lock(&vm->lock); /* no thread starts once the VM stops */
	pthread_rwlock_wrlock(&v->own_lock);
	v->local = true;
	vm->vcpu_node[v->id] = (uint8_t)vm->node_id;
	v->started_ns = vm_now_ns(); /* before the thread can report */
	if (!atomic_load(&vm->stopping))
		err = vcpu_start(v);
	pthread_rwlock_unlock(&v->own_lock);
	pthread_mutex_unlock(&vm->lock);
	if (err)
		vm_stop(vm, "vCPU %u: cannot start its thread: %s", v->id,
			strerror(-err));
	return err;
}

int migrate_recv_chunk(struct vm *vm, uint32_t src, const struct vmw_migrate_chunk *m,
		       size_t len)
{
	const char *why;
	struct vcpu *v;
	uint32_t epoch;
	bool local;
	int ret;

	if (mig_chunk_check(m, len, vm->nr_vcpus, &why))
		return drop(vm, src, why);
	v = &vm->vcpus[m->vcpu];
	pthread_rwlock_rdlock(&v->own_lock);
	local = v->local;
	epoch = v->epoch;
	pthread_rwlock_unlock(&v->own_lock);
	if (local)
		return drop(vm, src, "chunk for a vCPU that runs here");
	ret = mig_rx_add(&v->rx, src, m, (const uint8_t *)m + sizeof(*m), epoch, &why);
	if (ret < 0 && m->epoch > epoch) { /* a real move went wrong: the vCPU is lost */
		vm_stop(vm, "vCPU %u lost in its move from node %u: %s", m->vcpu, src,
			ret == -ENOMEM ? "out of memory" : why);
		return ret;
	}
	if (ret < 0)
		return drop(vm, src, why);
	return ret ? migrate_in(vm, v) : 0;
}

int migrate_recv_owner(struct vm *vm, uint32_t src, const struct vmw_owner *m)
{
	const char *why;
	struct vcpu *v;
	int ret;

	if (m->vcpu >= vm->nr_vcpus)
		return drop(vm, src, "owner: vCPU out of range");
	v = &vm->vcpus[m->vcpu];
	pthread_rwlock_wrlock(&v->own_lock);
	ret = mig_owner_check(m, src, vm->nr_vcpus, v->epoch, &why);
	if (ret == 1 && v->local) {
		why = "owner: claims a vCPU that runs here";
		ret = -EPROTO;
	}
	if (ret == 1) {
		vm->vcpu_node[m->vcpu] = (uint8_t)src;
		v->epoch = m->epoch;
		lapic_set_logical(&v->lapic, m->ldr, m->dfr);
	}
	pthread_rwlock_unlock(&v->own_lock);
	return ret < 0 ? drop(vm, src, why) : 0;
}
