// SPDX-License-Identifier: MIT
/*
 * The coordinator's message handlers. A message is matched to its node by
 * the ZeroMQ routing id, never by the node id it claims: a peer cannot speak
 * for another node.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "coordinator/coord.h"

static int64_t coord_find(const struct coord *c, const struct ctl_frame *f)
{
	for (unsigned int i = 0; i < c->o->nodes; i++) {
		const struct coord_node *n = &c->nodes[i];

		if (n->used && n->rid_len == f->id_len &&
		    !memcmp(n->rid, f->id, f->id_len))
			return i;
	}
	return -1;
}

static const char *rid_hex(const struct ctl_frame *f, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < f->id_len && off + 3 < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%02x", f->id[i]);
	return buf;
}

static int64_t coord_pick_id(struct coord *c, const Rackvm__Hello *h)
{
	if (h->has_want_id)
		return h->want_id < c->o->nodes && !c->nodes[h->want_id].used
			   ? (int64_t)h->want_id
			   : -1;
	for (unsigned int i = 0; i < c->o->nodes; i++)
		if (!c->nodes[i].used)
			return i;
	return -1;
}

static void coord_hello(struct coord *c, const struct ctl_frame *f,
			const Rackvm__Hello *h)
{
	Rackvm__Envelope env = RACKVM__ENVELOPE__INIT;
	Rackvm__Welcome w = RACKVM__WELCOME__INIT;
	struct coord_node *n;
	int64_t id;

	if (c->phase != COORD_JOIN || c->nr_used == c->o->nodes) {
		ctl_log("coordinator",
			"refused %s/%u: the cluster already has its %u nodes",
			h->hostname, h->pid, c->o->nodes);
		(void)ctl_send_error(
		    c->sock, f->id, f->id_len, RACKVM__ERROR__CODE__CLUSTER_FULL,
		    "cluster is full: all %u nodes already joined (start the "
		    "coordinator with a larger --nodes to add nodes)",
		    c->o->nodes);
		return;
	}
	id = coord_pick_id(c, h);
	if (id < 0) {
		ctl_log("coordinator", "refused %s/%u: node id %u is taken or >= %u",
			h->hostname, h->pid, h->want_id, c->o->nodes);
		(void)ctl_send_error(c->sock, f->id, f->id_len,
				     RACKVM__ERROR__CODE__BAD_ID,
				     "node id %u is taken or not below --nodes %u",
				     h->want_id, c->o->nodes);
		return;
	}
	n = &c->nodes[id];
	n->used = true;
	memcpy(n->rid, f->id, f->id_len);
	n->rid_len = f->id_len;
	snprintf(n->host, sizeof(n->host), "%s", h->hostname);
	n->pid = h->pid;
	n->last_seen_ms = ctl_now_ms();
	c->nr_used++;
	w.node_id = (uint32_t)id;
	w.node_count = c->o->nodes;
	w.heartbeat_ms = c->o->heartbeat_ms;
	w.provider = (char *)c->o->provider;
	env.version = CTL_PROTO_VERSION;
	env.body_case = RACKVM__ENVELOPE__BODY_WELCOME;
	env.welcome = &w;
	if (ctl_send(c->sock, f->id, f->id_len, &env))
		ctl_log("coordinator", "could not answer %s/%u", h->hostname, h->pid);
}

static void coord_join(struct coord *c, uint32_t id, const Rackvm__Join *j)
{
	struct coord_node *n = &c->nodes[id];

	if (n->joined)
		return;
	n->joined = true;
	n->addr.len = (uint32_t)j->fabric_addr.len;
	memcpy(n->addr.bytes, j->fabric_addr.data, j->fabric_addr.len);
	n->cpus = j->cpus;
	n->mem = j->mem;
	c->nr_joined++;
	printf("rackvm coordinator: node %u joined: %s pid %u, %u cpus, %llu MiB "
	       "(%u of %u)\n",
	       id, n->host, n->pid, n->cpus, (unsigned long long)(n->mem >> 20),
	       c->nr_joined, c->o->nodes);
	fflush(stdout);
	if (c->nr_joined == c->o->nodes && !coord_send_configs(c)) {
		c->phase = COORD_READY;
		c->t_phase = ctl_now_ms();
	}
}

static void coord_ready(struct coord *c, uint32_t id, const Rackvm__Ready *r)
{
	struct coord_node *n = &c->nodes[id];
	char name[CTL_HOST_MAX + 64];

	if (!r->ok) {
		coord_fail(c, -1, "%s: mesh health check failed: %s",
			   coord_node_name(c, id, name, sizeof(name)),
			   r->detail ? r->detail : "no detail");
		return;
	}
	if (n->ready)
		return;
	n->ready = true;
	n->check_us = r->has_check_us ? r->check_us : 0;
	if (++c->nr_ready == c->o->nodes)
		coord_send_start(c);
}

static void coord_report(struct coord *c, uint32_t id, const Rackvm__Report *r)
{
	struct coord_node *n = &c->nodes[id];
	char name[CTL_HOST_MAX + 64];

	if (!r->ok) {
		coord_fail(c, -1, "%s failed: %s",
			   coord_node_name(c, id, name, sizeof(name)),
			   r->detail ? r->detail : "no detail");
		return;
	}
	if (n->reported)
		return;
	n->reported = true;
	if (r->has_exit_code && r->exit_code > c->guest_exit)
		c->guest_exit = r->exit_code; /* the VM's verdict: 1 = guest failed */
	for (size_t i = 0; r->stats && i < r->stats->n_counters; i++)
		if (!strcmp(r->stats->counters[i]->key, "check_rounds"))
			n->rounds = r->stats->counters[i]->value;
	c->nr_reported++;
}

/* Which bodies a node may send in which phase; the rest is a protocol error. */
static bool coord_expected(const struct coord *c, uint32_t id, Rackvm__Envelope *env)
{
	const struct coord_node *n = &c->nodes[id];

	switch (env->body_case) {
	case RACKVM__ENVELOPE__BODY_HEARTBEAT:
	case RACKVM__ENVELOPE__BODY_ERROR:
		return true;
	case RACKVM__ENVELOPE__BODY_JOIN:
		return c->phase == COORD_JOIN && !n->joined;
	case RACKVM__ENVELOPE__BODY_READY:
		return c->phase == COORD_READY && env->ready->node_id == id;
	case RACKVM__ENVELOPE__BODY_REPORT:
		return c->phase == COORD_RUN && env->report->node_id == id;
	case RACKVM__ENVELOPE__BODY_MIGRATE_DONE:
		return c->phase == COORD_RUN;
	default:
		return false;
	}
}

static void coord_member_msg(struct coord *c, uint32_t id, Rackvm__Envelope *env)
{
	char name[CTL_HOST_MAX + 64];

	c->nodes[id].last_seen_ms = ctl_now_ms();
	if (!coord_expected(c, id, env)) {
		ctl_log("coordinator", "%s sent an unexpected %s: ignored",
			coord_node_name(c, id, name, sizeof(name)), ctl_body_name(env));
		return;
	}
	switch (env->body_case) {
	case RACKVM__ENVELOPE__BODY_JOIN:
		coord_join(c, id, env->join);
		break;
	case RACKVM__ENVELOPE__BODY_READY:
		coord_ready(c, id, env->ready);
		break;
	case RACKVM__ENVELOPE__BODY_REPORT:
		coord_report(c, id, env->report);
		break;
	case RACKVM__ENVELOPE__BODY_ERROR:
		coord_fail(c, id, "%s gave up: %s",
			   coord_node_name(c, id, name, sizeof(name)),
			   env->error->message);
		break;
	case RACKVM__ENVELOPE__BODY_MIGRATE_DONE:
		coord_migrate_done(c, id, env->migrate_done);
		break;
	default: /* a heartbeat: last_seen, the counters for `rackvm stats`
		  * and the vCPU counters the policy works on */
		coord_node_stats(c, id, env->heartbeat->stats);
		coord_policy_stats(c, id, env->heartbeat->stats, ctl_now_ms());
		break;
	}
}

static void coord_bad_msg(struct coord *c, const struct ctl_frame *f, int ret,
			  const char *why)
{
	int64_t id = coord_find(c, f);
	char who[CTL_HOST_MAX + 64], hex[2 * 16 + 1];

	if (id >= 0)
		coord_node_name(c, (uint32_t)id, who, sizeof(who));
	else
		snprintf(who, sizeof(who), "unknown peer %s",
			 rid_hex(f, hex, sizeof(hex)));
	if (ret == -EPROTONOSUPPORT) {
		ctl_log("coordinator", "refused %s: %s", who, why);
		(void)ctl_send_error(
		    c->sock, f->id, f->id_len, RACKVM__ERROR__CODE__BAD_VERSION,
		    "%s (run the same rackvm version on every host)", why);
		return;
	}
	ctl_log("coordinator", "dropped a malformed message from %s: %s", who, why);
	(void)ctl_send_error(c->sock, f->id, f->id_len, RACKVM__ERROR__CODE__MALFORMED,
			     "malformed control message: %s", why);
}

void coord_handle(struct coord *c, const struct ctl_frame *f)
{
	Rackvm__Envelope *env;
	char why[256];
	int64_t id;
	int ret;

	ret = ctl_decode(f->data, f->len, &env, why, sizeof(why));
	if (ret) {
		coord_bad_msg(c, f, ret, why);
		goto out_free;
	}
	id = coord_find(c, f);
	if (env->body_case == RACKVM__ENVELOPE__BODY_HELLO && id < 0)
		coord_hello(c, f, env->hello);
	else if (id >= 0)
		coord_member_msg(c, (uint32_t)id, env);
	else if (env->body_case == RACKVM__ENVELOPE__BODY_MIGRATE ||
		 env->body_case == RACKVM__ENVELOPE__BODY_QUERY)
		coord_client(c, f, env); /* rackvm migrate / stats */
	else
		(void)ctl_send_error(
		    c->sock, f->id, f->id_len, RACKVM__ERROR__CODE__BAD_STATE,
		    "%s before Hello: send Hello first", ctl_body_name(env));
out_free:
	if (env)
		rackvm__envelope__free_unpacked(env, NULL);
}
