// SPDX-License-Identifier: MIT
/*
 * The VMM's side of a VM spread over nodes: interrupt messages for vCPUs
 * that run elsewhere, mirrors of their logical destinations, EOIs for the
 * IOAPIC's node, device accesses forwarded to the device node, and stop.
 * Every message from a peer is validated here before anything uses it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/vmm.h"
#include "core/wire.h"

bool vm_is_multinode(const struct vm *vm)
{
	return vm->nr_nodes > 1 && vm->cfg.remote && vm->cfg.remote->send;
}

int remote_send(struct vm *vm, uint32_t node, uint16_t type, const void *msg, size_t len)
{
	int err = vm->cfg.remote->send(vm->cfg.remote_ctx, node, type, msg, len);

	if (err)
		vm_stop(vm, "cannot reach node %u: %s", node, strerror(-err));
	return err;
}

int remote_send_irq(struct vm *vm, uint32_t node, const struct apic_irq *irq,
		    const uint8_t targets[32], uint8_t hops)
{
	struct vmw_irq m = {
	    .version = VMW_VERSION,
	    .vector = irq->vector,
	    .delivery = irq->delivery,
	    .dest_mode = irq->dest_mode,
	    .shorthand = irq->shorthand,
	    .level = irq->level,
	    .trigger = irq->trigger,
	    .dest = irq->dest,
	    .src_id = irq->src_id,
	    .hops = hops,
	};

	memcpy(m.targets, targets, sizeof(m.targets));
	return remote_send(vm, node, VMW_IRQ, &m, sizeof(m));
}

void remote_send_logical(struct vcpu *v, uint32_t ldr, uint32_t dfr)
{
	struct vmw_logical m = {.version = VMW_VERSION, .vcpu = v->id, .ldr = ldr, .dfr = dfr};

	for (uint32_t n = 0; n < v->vm->nr_nodes; n++)
		if (n != v->vm->node_id)
			remote_send(v->vm, n, VMW_LOGICAL, &m, sizeof(m));
}

void remote_send_eoi(struct vm *vm, uint8_t vector)
{
	struct vmw_eoi m = {.version = VMW_VERSION, .vector = vector};

	remote_send(vm, VM_DEVICE_NODE, VMW_EOI, &m, sizeof(m));
}

void remote_send_stop(struct vm *vm)
{
	struct vmw_stop m = {.version = VMW_VERSION};

	pthread_mutex_lock(&vm->lock);
	m.powered_off = vm->result.powered_off;
	m.guest_status = vm->result.guest_status;
	m.passed = vm->result.passed;
	m.failed = vm->result.failed;
	snprintf(m.why, sizeof(m.why), "%.*s", (int)sizeof(m.why) - 1, vm->result.error);
	pthread_mutex_unlock(&vm->lock);
	for (uint32_t n = 0; n < vm->nr_nodes; n++)
		if (n != vm->node_id)
			vm->cfg.remote->send(vm->cfg.remote_ctx, n, VMW_STOP, &m, sizeof(m));
}

/* The vCPU thread sleeps until the device node answers (or the VM stops). */
int remote_io(struct vcpu *v, int kind, uint64_t addr, bool write, uint8_t *data,
	      unsigned int size)
{
	struct vmw_io m = {
		.version = VMW_VERSION, .kind = (uint8_t)kind, .write = write,
		.size = (uint8_t)size, .vcpu = v->id, .addr = addr,
	};
	int err;

	if (write)
		memcpy(&m.data, data, size);
	pthread_mutex_lock(&v->lock);
	m.seq = ++v->io_seq;
	v->io_done = false;
	pthread_mutex_unlock(&v->lock);
	err = remote_send(v->vm, VM_DEVICE_NODE, VMW_IO_REQ, &m, sizeof(m));
	if (err)
		return err;
	pthread_mutex_lock(&v->lock);
	while (!v->io_done && !atomic_load(&v->vm->stopping))
		pthread_cond_wait(&v->wake, &v->lock);
	if (!write && v->io_done)
		memcpy(data, &v->io_data, size);
	pthread_mutex_unlock(&v->lock);
	return 0;
}
