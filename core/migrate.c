// SPDX-License-Identifier: MIT
/*
 * Live migration of one vCPU between nodes (docs/migration.md).
 *
 * Old owner, in the vCPU's thread at a safe point (outside KVM_RUN, no
 * forwarded I/O in flight): take the ownership lock for writing, save the
 * state blob, mark the vCPU as running on the new owner, send the blob in
 * chunks, release, end the thread. Anything routed to the vCPU meanwhile
 * waits for the lock and then goes to the new owner: after the blob, in the
 * transport's per-pair order.
 *
 * New owner, in the thread that receives: reassemble, load, announce
 * (VMW_OWNER to every other node), start a thread; the thread reports the
 * move at its first entry.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/state.h"
#include "core/vmm.h"

int vm_migrate_vcpu(struct vm *vm, uint32_t vcpu, uint32_t to)
{
	uint32_t none = VCPU_NO_MOVE;
	struct vcpu *v;
	bool local;

	if (vcpu >= vm->nr_vcpus || to >= vm->nr_nodes || to == vm->node_id)
		return -EINVAL;
	if (atomic_load(&vm->stopping))
		return -ESHUTDOWN;
	v = &vm->vcpus[vcpu];
	pthread_rwlock_rdlock(&v->own_lock);
	local = v->local;
	pthread_rwlock_unlock(&v->own_lock);
	if (!local)
		return -ENOENT;
	if (!atomic_compare_exchange_strong(&v->migrate_to, &none, to))
		return -EBUSY;
	vcpu_kick(v);
	return 0;
}

void vm_migrate_stats(struct vm *vm, struct vm_migrate_stats *out)
{
	out->out = atomic_load(&vm->mig_out);
	out->in = atomic_load(&vm->mig_in);
	out->pause_ns_sum = atomic_load(&vm->mig_pause_sum);
	out->pause_ns_max = atomic_load(&vm->mig_pause_max);
	out->irq_forwarded = atomic_load(&vm->irq_forwarded);
}

static void migrate_report(struct vm *vm, const struct vm_migration *m)
{
	if (vm->cfg.remote && vm->cfg.remote->migrated)
		vm->cfg.remote->migrated(vm->cfg.remote_ctx, m);
}

/* A move that could not start: the vCPU stays and runs on here. */
static int migrate_refuse(struct vcpu *v, uint32_t to, int err, const char *what)
{
	struct vm_migration m = {
	    .vcpu = v->id, .from = v->vm->node_id, .to = to, .epoch = v->epoch};

	snprintf(m.detail, sizeof(m.detail), "%s: %s", what, strerror(-err));
	atomic_store(&v->migrate_to, VCPU_NO_MOVE);
	migrate_report(v->vm, &m);
	return 1;
}

/* KVM finishes an exit it is still in (an IN's or an MMIO read's value goes
 * to its register) when entered with immediate_exit set; then the registers
 * are whole. */
static int migrate_settle(struct vcpu *v)
{
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (ioctl(v->fd, KVM_RUN, 0) == 0)
		return -EIO; /* it ran: not what immediate_exit promises */
	return errno == EINTR || errno == EAGAIN ? 0 : -errno;
}

static int migrate_send(struct vcpu *v, uint32_t to, uint32_t epoch, uint64_t park,
			const uint8_t *blob, size_t len)
{
	uint64_t saved = vm_now_ns();
	uint8_t msg[VMW_MSG_MAX];
	struct vmw_migrate_chunk h = {.version = VMW_VERSION,
				      .vcpu = v->id,
				      .epoch = epoch,
				      .total = (uint32_t)len,
				      .park_ns = park,
				      .saved_ns = saved};
	int err = 0;

	for (size_t off = 0; off < len && !err; off += h.len) {
		h.offset = (uint32_t)off;
		h.len = (uint32_t)(len - off < VMW_CHUNK_DATA_MAX ? len - off
								  : VMW_CHUNK_DATA_MAX);
		memcpy(msg, &h, sizeof(h));
		memcpy(msg + sizeof(h), blob + off, h.len);
		err = remote_send(v->vm, to, VMW_MIGRATE_CHUNK, msg, sizeof(h) + h.len);
	}
	return err;
}

static void migrate_drop_timer(struct vcpu *v)
{
	if (!v->timer_created)
		return;
	v->timer_created = false;
	timer_delete(v->timer);
}

int migrate_out(struct vcpu *v)
{
	struct vm *vm = v->vm;
	uint32_t to = atomic_load(&v->migrate_to);
	struct vcpu_extra x = {.apic_id = v->id, .halted = v->mode == VCPU_HALTED};
	uint64_t park = vm_now_ns();
	size_t len;
	void *blob;
	int err;

	err = migrate_settle(v);
	if (err)
		return migrate_refuse(v, to, err, "cannot complete the last exit");
	pthread_rwlock_wrlock(&v->own_lock);
	err = vcpu_state_save(vm->kvm_fd, v->fd, &v->lapic, &x, &blob, &len);
	if (err) {
		pthread_rwlock_unlock(&v->own_lock);
		return migrate_refuse(v, to, err, "cannot save the vCPU state");
	}
	v->local = false;
	vm->vcpu_node[v->id] = (uint8_t)to;
	v->epoch++;
	/* under the lock: whatever waits for it goes to @to after the blob */
	err = migrate_send(v, to, v->epoch, park, blob, len);
	pthread_rwlock_unlock(&v->own_lock);
	free(blob);
	migrate_drop_timer(v);
	atomic_store(&v->migrate_to, VCPU_NO_MOVE);
	if (!err)
		atomic_fetch_add(&vm->mig_out, 1);
	return 0; /* a failed send stopped the VM: the vCPU is gone either way */
}

static void stat_max(_Atomic uint64_t *max, uint64_t v)
{
	uint64_t cur = atomic_load(max);

	while (cur < v && !atomic_compare_exchange_weak(max, &cur, v))
		;
}

void migrate_arrived(struct vcpu *v)
{
	struct vm *vm = v->vm;
	uint64_t now = vm_now_ns();
	struct vm_migration m = {.vcpu = v->id,
				 .from = v->arrived_from,
				 .to = vm->node_id,
				 .epoch = v->epoch,
				 .ok = true};

	v->arrived = false;
	m.pause_ns = now > v->park_ns ? now - v->park_ns : 0;
	m.save_ns = v->saved_ns > v->park_ns ? v->saved_ns - v->park_ns : 0;
	m.arrive_ns = v->arrive_ns > v->saved_ns ? v->arrive_ns - v->saved_ns : 0;
	m.load_ns = v->started_ns > v->arrive_ns ? v->started_ns - v->arrive_ns : 0;
	atomic_fetch_add(&vm->mig_in, 1);
	atomic_fetch_add(&vm->mig_pause_sum, m.pause_ns);
	stat_max(&vm->mig_pause_max, m.pause_ns);
	migrate_report(vm, &m);
}
