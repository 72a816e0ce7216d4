// SPDX-License-Identifier: MIT
/*
 * vCPU moves, seen from the coordinator: the live placement table (what the
 * Config said, then every successful MigrateDone), at most one move in
 * flight per vCPU, and the outcome passed on to the command client that
 * asked. A Migrate goes to the node the table names; only the node that now
 * runs the vCPU (ok) or its owner (refused) may answer for it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/coord.h"

int coord_migrate_init(struct coord *c)
{
	uint32_t node_of_vcpu[CTL_VCPUS_MAX];

	if (!c->o->guest)
		return 0;
	if (ctl_plan_vcpus(c->o->vcpus, c->o->nodes, node_of_vcpu))
		return -EINVAL;
	c->vcpus = calloc(c->o->vcpus, sizeof(*c->vcpus));
	if (!c->vcpus)
		return -ENOMEM;
	for (unsigned int i = 0; i < c->o->vcpus; i++)
		c->vcpus[i].node = node_of_vcpu[i];
	c->rng = ctl_now_us() ^ ((uint64_t)c->o->nodes << 32) ^ 0x9e3779b97f4a7c15ULL;
	return 0;
}

void coord_migrate_fini(struct coord *c)
{
	free(c->vcpus);
	c->vcpus = NULL;
	for (int i = 0; i < COORD_PAUSE_PARTS; i++) {
		free(c->pauses[i]);
		c->pauses[i] = NULL;
	}
}

/* No VM, not started yet, or already ending (a node reported). */
static bool coord_vm_running(const struct coord *c)
{
	return c->vcpus && c->phase == COORD_RUN && !c->nr_reported;
}

int coord_migrate_why(struct coord *c, uint32_t vcpu, uint32_t to, char *why, size_t len)
{
	Rackvm__Envelope env = RACKVM__ENVELOPE__INIT;
	Rackvm__Migrate m = RACKVM__MIGRATE__INIT;
	struct coord_vcpu *v;
	int ret;

	if (!coord_vm_running(c)) {
		snprintf(why, len, "no VM is running (not started yet, or it ended)");
		return -ENOENT;
	}
	if (vcpu >= c->o->vcpus || to >= c->o->nodes) {
		snprintf(why, len, "%s %u out of range: the VM has %u vCPUs on %u nodes",
			 vcpu >= c->o->vcpus ? "vCPU" : "node",
			 vcpu >= c->o->vcpus ? vcpu : to, c->o->vcpus, c->o->nodes);
		return -EINVAL;
	}
	v = &c->vcpus[vcpu];
	if (v->moving) {
		snprintf(why, len, "vCPU %u is already moving", vcpu);
		return -EBUSY;
	}
	if (v->node == to) {
		snprintf(why, len, "vCPU %u already runs on node %u", vcpu, to);
		return -EINVAL;
	}
	m.vcpu = vcpu;
	m.to = to;
	env.version = CTL_PROTO_VERSION;
	env.body_case = RACKVM__ENVELOPE__BODY_MIGRATE;
	env.migrate = &m;
	ret = ctl_send(c->sock, c->nodes[v->node].rid, c->nodes[v->node].rid_len, &env);
	if (ret) {
		snprintf(why, len, "cannot reach node %u: %s", v->node, strerror(-ret));
		return ret;
	}
	v->moving = true;
	v->client_len = 0;
	return 0;
}

int coord_migrate(struct coord *c, uint32_t vcpu, uint32_t to)
{
	char why[160];

	return coord_migrate_why(c, vcpu, to, why, sizeof(why));
}

static void coord_record_pause(struct coord *c, const Rackvm__MigrateDone *m)
{
	uint64_t total = m->has_pause_ns ? m->pause_ns : 0;
	uint64_t save = m->has_save_ns ? m->save_ns : 0;
	uint64_t arrive = m->has_arrive_ns ? m->arrive_ns : 0;
	uint64_t load = m->has_load_ns ? m->load_ns : 0;
	uint64_t rest = total;
	size_t i = c->nr_pauses;

	if (i == c->cap_pauses) {
		size_t cap = c->cap_pauses ? 2 * c->cap_pauses : 256;

		for (int k = 0; k < COORD_PAUSE_PARTS; k++) {
			uint64_t *p = realloc(c->pauses[k], cap * sizeof(*p));

			if (!p)
				return; /* the ones grown so far stay valid */
			c->pauses[k] = p;
		}
		c->cap_pauses = cap;
	}
	/* peer values: no sum that could wrap; across hosts the parts and the
	 * total come from different clocks and may not add up */
	rest -= save <= rest ? save : rest;
	rest -= arrive <= rest ? arrive : rest;
	rest -= load <= rest ? load : rest;
	c->pauses[COORD_PAUSE_TOTAL][i] = total;
	c->pauses[COORD_PAUSE_SAVE][i] = save;
	c->pauses[COORD_PAUSE_ARRIVE][i] = arrive;
	c->pauses[COORD_PAUSE_LOAD][i] = load;
	c->pauses[COORD_PAUSE_START][i] = rest;
	c->nr_pauses++;
}

static void coord_forward_done(struct coord *c, struct coord_vcpu *v,
			       const Rackvm__MigrateDone *m)
{
	Rackvm__Envelope env = RACKVM__ENVELOPE__INIT;

	if (!v->client_len)
		return;
	env.version = CTL_PROTO_VERSION;
	env.body_case = RACKVM__ENVELOPE__BODY_MIGRATE_DONE;
	env.migrate_done = (Rackvm__MigrateDone *)m;
	if (ctl_send(c->sock, v->client, v->client_len, &env))
		ctl_log("coordinator",
			"the client that moved vCPU %u left before the outcome", m->vcpu);
	v->client_len = 0;
}

void coord_migrate_done(struct coord *c, uint32_t id, const Rackvm__MigrateDone *m)
{
	struct coord_vcpu *v =
	    c->vcpus && m->vcpu < c->o->vcpus ? &c->vcpus[m->vcpu] : NULL;

	if (!v || !v->moving || m->from != v->node || m->to >= c->o->nodes ||
	    id != (m->ok ? m->to : m->from)) {
		ctl_log(
		    "coordinator",
		    "node %u sent a MigrateDone for vCPU %u (%u -> %u) that matches no "
		    "move in flight: ignored",
		    id, m->vcpu, m->from, m->to);
		return;
	}
	v->moving = false;
	if (m->ok) {
		v->node = m->to;
		v->epoch = m->has_epoch ? m->epoch : v->epoch + 1;
		c->migrations++;
		coord_record_pause(c, m);
	} else {
		c->migrate_refused++;
		/* a client hears it itself; a storm's refusals (the VM ending) are
		 * counted */
		if (!v->client_len && !c->o->migrate_storm_ms)
			ctl_log("coordinator",
				"node %u refused to move vCPU %u to node %u: %s", id,
				m->vcpu, m->to,
				m->detail ? m->detail : "no reason given");
	}
	coord_forward_done(c, v, m);
}

static uint64_t coord_rand(struct coord *c)
{
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	return c->rng;
}

void coord_storm(struct coord *c, uint64_t now)
{
	/* the interval is guest time: the host's under time dilation D is D x */
	uint64_t every = (uint64_t)c->o->migrate_storm_ms *
			 (c->o->time_dilation ? c->o->time_dilation : 1);
	unsigned int idle = 0, pick, to;

	if (!every || c->o->nodes < 2 || !coord_vm_running(c))
		return;
	if (!c->next_storm)
		c->next_storm = now + every;
	if (now < c->next_storm)
		return;
	c->next_storm = now + every;
	for (unsigned int i = 0; i < c->o->vcpus; i++)
		idle += !c->vcpus[i].moving;
	if (!idle)
		return;
	pick = (unsigned int)(coord_rand(c) % idle);
	for (unsigned int i = 0; i < c->o->vcpus; i++) {
		if (c->vcpus[i].moving || pick--)
			continue;
		to = (c->vcpus[i].node + 1 +
		      (unsigned int)(coord_rand(c) % (c->o->nodes - 1))) %
		     c->o->nodes;
		(void)coord_migrate(c, i, to);
		return;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void coord_pause_part_pcts(const struct coord *c, enum coord_pause_part part,
			   uint64_t out[3])
{
	size_t n = c->nr_pauses;
	uint64_t *a = c->pauses[part];

	out[0] = out[1] = out[2] = 0;
	if (!n)
		return;
	qsort(a, n, sizeof(*a), cmp_u64);
	out[0] = a[(n - 1) / 2];
	out[1] = a[(n * 99 + 99) / 100 - 1];
	out[2] = a[n - 1];
}

void coord_pause_pcts(const struct coord *c, uint64_t out[3])
{
	coord_pause_part_pcts(c, COORD_PAUSE_TOTAL, out);
}

void coord_migrate_summary(const struct coord *c)
{
	uint64_t p[3], sv[3], a[3], l[3], s[3];

	if (!c->vcpus ||
	    (!c->o->migrate_storm_ms && !c->migrations && !c->migrate_refused))
		return;
	coord_pause_pcts(c, p);
	printf("rackvm coordinator: %llu migrations (%llu refused), pause p50 %.3f ms, "
	       "p99 %.3f ms, max %.3f ms\n",
	       (unsigned long long)c->migrations, (unsigned long long)c->migrate_refused,
	       (double)p[0] / 1e6, (double)p[1] / 1e6, (double)p[2] / 1e6);
	if (!c->nr_pauses)
		return;
	coord_pause_part_pcts(c, COORD_PAUSE_SAVE, sv);
	coord_pause_part_pcts(c, COORD_PAUSE_ARRIVE, a);
	coord_pause_part_pcts(c, COORD_PAUSE_LOAD, l);
	coord_pause_part_pcts(c, COORD_PAUSE_START, s);
	printf("rackvm coordinator: pause parts p50: settle+save %.3f ms, send+wire "
	       "%.3f ms, load %.3f ms, to the first entry %.3f ms\n",
	       (double)sv[0] / 1e6, (double)a[0] / 1e6, (double)l[0] / 1e6,
	       (double)s[0] / 1e6);
}

void coord_node_stats(struct coord *c, uint32_t id, const Rackvm__Stats *st)
{
	struct coord_node *n = &c->nodes[id];

	if (!st)
		return;
	n->nr_stats = 0;
	for (size_t i = 0; i < st->n_counters && n->nr_stats < COORD_NODE_COUNTERS; i++) {
		struct coord_counter *k = &n->stats[n->nr_stats++];

		snprintf(k->key, sizeof(k->key), "%s", st->counters[i]->key);
		k->value = st->counters[i]->has_value ? st->counters[i]->value : 0;
	}
}
