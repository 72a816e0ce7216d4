// SPDX-License-Identifier: MIT
/*
 * vCPU moves on the node's control loop: a Migrate from the coordinator goes
 * to the VM (vm_migrate_vcpu); a refusal is answered at once, and every move
 * that ends in the VM (queued by its vCPU threads) becomes a MigrateDone.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "coordinator/node.h"

static void node_send_done(struct node *n, const struct vm_migration *m)
{
	Rackvm__Envelope env = RACKVM__ENVELOPE__INIT;
	Rackvm__MigrateDone d = RACKVM__MIGRATE_DONE__INIT;

	d.vcpu = m->vcpu;
	d.from = m->from;
	d.to = m->to;
	d.ok = m->ok;
	d.has_pause_ns = m->ok;
	d.pause_ns = m->pause_ns;
	d.has_save_ns = m->ok;
	d.save_ns = m->save_ns;
	d.has_arrive_ns = m->ok;
	d.arrive_ns = m->arrive_ns;
	d.has_load_ns = m->ok;
	d.load_ns = m->load_ns;
	d.has_epoch = true;
	d.epoch = m->epoch;
	d.detail = m->ok ? NULL : (char *)m->detail;
	env.body_case = RACKVM__ENVELOPE__BODY_MIGRATE_DONE;
	env.migrate_done = &d;
	(void)node_send(n, &env); /* node_send logs a failure */
}

void node_migrate(struct node *n, const Rackvm__Migrate *m)
{
	struct vm_migration r = {.vcpu = m->vcpu, .from = n->id, .to = m->to};
	int err = -ENOENT;

	if (n->has_vm && n->vm.vm)
		err = vm_migrate_vcpu(n->vm.vm, m->vcpu, m->to);
	if (!err)
		return;
	snprintf(r.detail, sizeof(r.detail), "node %u cannot move vCPU %u to node %u: %s",
		 n->id, m->vcpu, m->to,
		 err == -ENOENT	     ? "it does not run here"
		 : err == -EBUSY     ? "a move of it is pending"
		 : err == -ESHUTDOWN ? "the VM is stopping"
		 : err == -EINVAL    ? "no such vCPU or node"
				     : strerror(-err));
	node_send_done(n, &r);
}

void node_report_moves(struct node *n)
{
	struct vm_migration ev[16];
	unsigned int k;

	while ((k = node_vm_take_events(&n->vm, ev, 16)) > 0)
		for (unsigned int i = 0; i < k; i++)
			node_send_done(n, &ev[i]);
}
