// SPDX-License-Identifier: MIT
/*
 * The Stats map a node sends in every Heartbeat: its own counters (health
 * checks, vCPU moves), and while its share of the VM runs, the DSM fault
 * counters of each vCPU running here (the DSM counts per faulting thread;
 * the VMM names each vCPU's thread). The coordinator's placement policy
 * turns their deltas into decisions. docs/control-plane.md lists the keys.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "coordinator/node.h"

#define KEY_MAX 40

struct node_stats {
	Rackvm__Stats st;
	Rackvm__Stats__CountersEntry e[CTL_COUNTERS_MAX];
	Rackvm__Stats__CountersEntry *ep[CTL_COUNTERS_MAX];
	char keys[CTL_COUNTERS_MAX][KEY_MAX];
	bool full_logged;
};

struct node_stats *node_stats_new(void)
{
	struct node_stats *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	rackvm__stats__init(&s->st);
	for (size_t i = 0; i < CTL_COUNTERS_MAX; i++) {
		rackvm__stats__counters_entry__init(&s->e[i]);
		s->e[i].key = s->keys[i];
		s->e[i].has_value = true;
		s->ep[i] = &s->e[i];
	}
	s->st.counters = s->ep;
	return s;
}

void node_stats_free(struct node_stats *s)
{
	free(s);
}

static bool put(struct node_stats *s, uint64_t value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool put(struct node_stats *s, uint64_t value, const char *fmt, ...)
{
	size_t i = s->st.n_counters;
	va_list ap;

	if (i == CTL_COUNTERS_MAX)
		return false;
	va_start(ap, fmt);
	vsnprintf(s->keys[i], KEY_MAX, fmt, ap);
	va_end(ap);
	s->e[i].value = value;
	s->st.n_counters++;
	return true;
}

/* One vCPU's keys; false once the map is full. */
static bool put_vcpu(struct node_stats *s, struct node_vm *nv, unsigned int v,
		     uint32_t self)
{
	struct dsm_thread_stats ts[DSM_MAX_THREADS];
	uint64_t from[VM_MAX_NODES];
	int32_t tid = vm_vcpu_tid(nv->vm, v);
	int nr, k;

	if (!tid)
		return true;
	nr = dsm_thread_from(nv->dsm, tid, from, VM_MAX_NODES);
	if (nr < 0)
		return true; /* no fault counted yet */
	k = dsm_thread_stats(nv->dsm, ts, DSM_MAX_THREADS);
	for (int i = 0; i < k; i++) {
		const struct dsm_fault_stats *f = &ts[i].faults;

		if (ts[i].tid != tid)
			continue;
		if (!put(s, (uint64_t)tid, "vcpu.%u.tid", v) ||
		    !put(s, f->read + f->write + f->upgrade, "vcpu.%u.faults", v) ||
		    !put(s, f->wait_ns / 1000, "vcpu.%u.wait_us", v))
			return false;
	}
	for (int n = 0; n < nr; n++)
		if (from[n] && (uint32_t)n != self &&
		    !put(s, from[n], "vcpu.%u.faults.from.%d", v, n))
			return false;
	return true;
}

const Rackvm__Stats *node_stats_collect(struct node_stats *s, struct node *n)
{
	struct vm_migrate_stats ms;

	s->st.n_counters = 0;
	put(s, n->rounds_done, "check_rounds");
	if (n->has_vm && n->vm.vm && n->phase >= NODE_READY && n->phase < NODE_DONE) {
		/* vCPU moves, for `rackvm stats` (docs/migration.md) */
		vm_migrate_stats(n->vm.vm, &ms);
		put(s, ms.out, "migrations_out");
		put(s, ms.in, "migrations_in");
		put(s, ms.pause_ns_sum, "pause_ns_sum");
		put(s, ms.pause_ns_max, "pause_ns_max");
		put(s, ms.irq_forwarded, "irq_forwarded");
	}
	/* the VM exists and stays put while the worker runs it */
	if (n->phase != NODE_RUN || !n->has_vm || !n->vm.vm || !n->vm.dsm)
		return &s->st;
	for (unsigned int v = 0; v < n->vm.cfg.nr_vcpus; v++)
		if (!put_vcpu(s, &n->vm, v, n->id)) {
			if (!s->full_logged)
				ctl_log(n->who,
					"more than %d counters: vCPU %u and up "
					"left out of the heartbeat",
					CTL_COUNTERS_MAX, v);
			s->full_logged = true;
			break;
		}
	return &s->st;
}
