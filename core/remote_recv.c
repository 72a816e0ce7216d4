// SPDX-License-Identifier: MIT
/* Messages from other nodes' VMMs: validate, then act (core/wire.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/vmm.h"
#include "core/wire.h"

static int reject(struct vm *vm, uint32_t src, uint16_t type, const char *why)
{
	fprintf(stderr, "rackvm: node %u: dropped message 0x%x from node %u: %s\n",
		vm->node_id, type, src, why);
	return -EPROTO;
}

static int recv_irq(struct vm *vm, const struct vmw_irq *m)
{
	struct apic_irq irq = {
		.vector = m->vector, .delivery = m->delivery, .dest_mode = m->dest_mode & 1,
		.shorthand = m->shorthand & 3, .level = m->level & 1, .trigger = m->trigger & 1,
		.dest = m->dest, .src_id = m->src_id,
	};

	irq_deliver_local(vm, &irq, m->targets, m->hops);
	return 0;
}

/* From a node that no longer owns the vCPU it is stale: the new owner's
 * VMW_OWNER carried a newer value (docs/migration.md). */
static int recv_logical(struct vm *vm, uint32_t src, const struct vmw_logical *m)
{
	struct vcpu *v;

	if (m->vcpu >= vm->nr_vcpus)
		return reject(vm, src, VMW_LOGICAL, "vCPU out of range");
	v = &vm->vcpus[m->vcpu];
	pthread_rwlock_rdlock(&v->own_lock);
	if (!v->local && vm->vcpu_node[m->vcpu] == src)
		lapic_set_logical(&v->lapic, m->ldr, m->dfr);
	pthread_rwlock_unlock(&v->own_lock);
	return 0;
}

static int recv_eoi(struct vm *vm, uint32_t src, const struct vmw_eoi *m)
{
	if (vm->node_id != VM_DEVICE_NODE)
		return reject(vm, src, VMW_EOI, "this node has no IOAPIC");
	ioapic_eoi(&vm->ioapic, m->vector);
	return 0;
}

static bool io_valid(const struct vm *vm, uint32_t src, const struct vmw_io *m)
{
	bool size_ok = m->size == 1 || m->size == 2 || m->size == 4 || m->size == 8;

	return size_ok && m->write <= 1 && m->vcpu < vm->nr_vcpus &&
	       vm->vcpu_node[m->vcpu] == src &&
	       ((m->kind == VMW_IO_PIO && m->addr <= 0xffff && m->size <= 4) ||
		m->kind == VMW_IO_MMIO);
}

/* On the device node: do the access for the remote vCPU and answer. */
static int recv_io_req(struct vm *vm, uint32_t src, const struct vmw_io *m)
{
	struct vmw_io r = *m;
	struct vcpu *v;

	if (vm->node_id != VM_DEVICE_NODE)
		return reject(vm, src, VMW_IO_REQ, "devices live on node 0");
	if (!io_valid(vm, src, m))
		return reject(vm, src, VMW_IO_REQ, "bad kind, size, address or vCPU");
	v = &vm->vcpus[m->vcpu];
	if (m->kind == VMW_IO_PIO)
		vm_device_pio(v, (uint16_t)m->addr, m->write, (uint8_t *)&r.data, m->size);
	else
		vm_device_mmio(v, m->addr, m->write, (uint8_t *)&r.data, m->size);
	return vm->cfg.remote->send(vm->cfg.remote_ctx, src, VMW_IO_RESP, &r, sizeof(r));
}

static int recv_io_resp(struct vm *vm, uint32_t src, const struct vmw_io *m)
{
	struct vcpu *v;

	if (src != VM_DEVICE_NODE || m->vcpu >= vm->nr_vcpus ||
	    !vm->vcpus[m->vcpu].local)
		return reject(vm, src, VMW_IO_RESP, "not an answer for a local vCPU");
	v = &vm->vcpus[m->vcpu];
	pthread_mutex_lock(&v->lock);
	if (m->seq == v->io_seq && !v->io_done) {
		v->io_data = m->data;
		v->io_done = true;
		pthread_cond_broadcast(&v->wake);
	}
	pthread_mutex_unlock(&v->lock);
	return 0;
}

static int recv_stop(struct vm *vm, const struct vmw_stop *m)
{
	struct vm_result res = {
		.powered_off = m->powered_off & 1, .guest_status = m->guest_status,
		.passed = m->passed, .failed = m->failed,
	};

	snprintf(res.error, sizeof(res.error), "%.*s", (int)sizeof(m->why) - 1, m->why);
	vm_stop_remote(vm, &res);
	return 0;
}

static const size_t msg_size[] = {
    [VMW_IRQ - VMW_TYPE_FIRST] = sizeof(struct vmw_irq),
    [VMW_LOGICAL - VMW_TYPE_FIRST] = sizeof(struct vmw_logical),
    [VMW_EOI - VMW_TYPE_FIRST] = sizeof(struct vmw_eoi),
    [VMW_IO_REQ - VMW_TYPE_FIRST] = sizeof(struct vmw_io),
    [VMW_IO_RESP - VMW_TYPE_FIRST] = sizeof(struct vmw_io),
    [VMW_STOP - VMW_TYPE_FIRST] = sizeof(struct vmw_stop),
    [VMW_MIGRATE_CHUNK - VMW_TYPE_FIRST] = sizeof(struct vmw_migrate_chunk), /* + data */
    [VMW_OWNER - VMW_TYPE_FIRST] = sizeof(struct vmw_owner),
};

int vm_remote_msg(struct vm *vm, uint32_t src, uint16_t type, const void *data, size_t len)
{
	unsigned int idx = (unsigned int)type - VMW_TYPE_FIRST;
	union {
		struct vmw_irq irq;
		struct vmw_logical logical;
		struct vmw_eoi eoi;
		struct vmw_io io;
		struct vmw_stop stop;
		struct vmw_owner owner;
		uint8_t chunk[VMW_MSG_MAX];
	} u; /* aligned copy: transport buffers promise no alignment */
	const void *msg = &u;
	bool var = type == VMW_MIGRATE_CHUNK; /* a header and data */

	if (src >= vm->nr_nodes || src == vm->node_id)
		return reject(vm, src, type, "unknown sender");
	if (type < VMW_TYPE_FIRST || idx >= sizeof(msg_size) / sizeof(msg_size[0]))
		return reject(vm, src, type, "unknown type");
	if ((var ? len < msg_size[idx] || len > VMW_MSG_MAX : len != msg_size[idx]) ||
	    ((const uint8_t *)data)[0] != VMW_VERSION)
		return reject(vm, src, type, "wrong length or version");
	memcpy(&u, data, len);
	switch (type) {
	case VMW_IRQ:
		return recv_irq(vm, msg);
	case VMW_LOGICAL:
		return recv_logical(vm, src, msg);
	case VMW_EOI:
		return recv_eoi(vm, src, msg);
	case VMW_IO_REQ:
		return recv_io_req(vm, src, msg);
	case VMW_IO_RESP:
		return recv_io_resp(vm, src, msg);
	case VMW_MIGRATE_CHUNK:
		return migrate_recv_chunk(vm, src, msg, len);
	case VMW_OWNER:
		return migrate_recv_owner(vm, src, msg);
	default:
		return recv_stop(vm, msg);
	}
}
