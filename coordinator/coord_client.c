// SPDX-License-Identifier: MIT
/*
 * Command clients of a running coordinator (`rackvm migrate`, `rackvm
 * stats`): DEALERs that never send Hello. A Migrate is checked like the
 * coordinator's own moves and answered with an Error at once, or later with
 * the node's MigrateDone; a Query gets ClusterStats.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/coord.h"

#define STATS_MAX 256 /* counters in one ClusterStats (ctl_validate's bound) */

static void client_migrate(struct coord *c, const struct ctl_frame *f,
			   const Rackvm__Migrate *m)
{
	char why[160];
	int ret = coord_migrate_why(c, m->vcpu, m->to, why, sizeof(why));

	if (ret) {
		(void)ctl_send_error(c->sock, f->id, f->id_len,
				     ret == -EINVAL ? RACKVM__ERROR__CODE__BAD_ID
						    : RACKVM__ERROR__CODE__BAD_STATE,
				     "%s", why);
		return;
	}
	memcpy(c->vcpus[m->vcpu].client, f->id, f->id_len);
	c->vcpus[m->vcpu].client_len = f->id_len;
	printf("rackvm coordinator: moving vCPU %u from node %u to node %u (asked by a "
	       "client)\n",
	       m->vcpu, c->vcpus[m->vcpu].node, m->to);
}

struct stats_buf {
	Rackvm__Stats__CountersEntry e[STATS_MAX], *ep[STATS_MAX];
	char keys[STATS_MAX][80];
	size_t n;
};

static void stats_add(struct stats_buf *b, const char *key, uint64_t value)
{
	if (b->n == STATS_MAX)
		return;
	rackvm__stats__counters_entry__init(&b->e[b->n]);
	snprintf(b->keys[b->n], sizeof(b->keys[b->n]), "%.64s", key);
	b->e[b->n].key = b->keys[b->n];
	b->e[b->n].has_value = true;
	b->e[b->n].value = value;
	b->ep[b->n] = &b->e[b->n];
	b->n++;
}

static void stats_fill(const struct coord *c, struct stats_buf *b)
{
	unsigned int moving = 0;
	int64_t avoided = coord_policy_avoided(c, ctl_now_ms());
	uint64_t p[3];
	char key[80];

	for (unsigned int i = 0; c->vcpus && i < c->o->vcpus; i++)
		moving += c->vcpus[i].moving;
	coord_pause_pcts(c, p);
	stats_add(b, "nodes", c->o->nodes);
	stats_add(b, "vcpus", c->vcpus ? c->o->vcpus : 0);
	stats_add(b, "running", c->phase == COORD_RUN);
	stats_add(b, "migrations", c->migrations);
	stats_add(b, "migrations_refused", c->migrate_refused);
	stats_add(b, "moving", moving);
	/* a counter cannot go below 0: moves that cost faults show as none */
	stats_add(b, "policy_faults_avoided", avoided > 0 ? (uint64_t)avoided : 0);
	stats_add(b, "pause_p50_ns", p[0]);
	stats_add(b, "pause_p99_ns", p[1]);
	stats_add(b, "pause_max_ns", p[2]);
	for (unsigned int i = 0; i < c->o->nodes; i++)
		for (unsigned int k = 0; k < c->nodes[i].nr_stats; k++) {
			snprintf(key, sizeof(key), "node%u.%s", i,
				 c->nodes[i].stats[k].key);
			stats_add(b, key, c->nodes[i].stats[k].value);
		}
}

static void client_query(struct coord *c, const struct ctl_frame *f)
{
	Rackvm__Envelope env = RACKVM__ENVELOPE__INIT;
	Rackvm__ClusterStats cs = RACKVM__CLUSTER_STATS__INIT;
	Rackvm__Stats st = RACKVM__STATS__INIT;
	Rackvm__VcpuPlacement pl[CTL_VCPUS_MAX], *pp[CTL_VCPUS_MAX];
	struct stats_buf *b = calloc(1, sizeof(*b));

	if (!b)
		return;
	stats_fill(c, b);
	st.n_counters = b->n;
	st.counters = b->ep;
	for (unsigned int i = 0; c->vcpus && i < c->o->vcpus; i++) {
		rackvm__vcpu_placement__init(&pl[i]);
		pl[i].vcpu = i;
		pl[i].node = c->vcpus[i].node;
		pp[i] = &pl[i];
	}
	cs.stats = &st;
	cs.n_vcpus = c->vcpus ? c->o->vcpus : 0;
	cs.vcpus = pp;
	env.version = CTL_PROTO_VERSION;
	env.body_case = RACKVM__ENVELOPE__BODY_CLUSTER_STATS;
	env.cluster_stats = &cs;
	if (ctl_send(c->sock, f->id, f->id_len, &env))
		ctl_log("coordinator", "a stats client left before its answer");
	free(b);
}

void coord_client(struct coord *c, const struct ctl_frame *f, const Rackvm__Envelope *env)
{
	if (env->body_case == RACKVM__ENVELOPE__BODY_MIGRATE)
		client_migrate(c, f, env->migrate);
	else
		client_query(c, f);
}
