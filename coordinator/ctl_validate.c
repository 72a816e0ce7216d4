// SPDX-License-Identifier: MIT
/*
 * Field checks for every control message. Everything from a peer is
 * untrusted: protobuf-c guarantees only that required fields are present,
 * not that lengths, ids and ranges make sense.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "coordinator/ctl.h"

#define PAGE_SIZE_4K	 4096ULL
#define PROVIDER_MAX	 64
#define COUNTER_NAME_MAX 64

static int bad(char *why, size_t why_len, const char *fmt, const char *what,
	       unsigned long long v)
{
	snprintf(why, why_len, fmt, what, v);
	return -EPROTO;
}

static int check_text(const char *s, size_t max, bool empty_ok, const char *what,
		      char *why, size_t why_len)
{
	size_t n = s ? strnlen(s, max + 1) : 0;

	if (!s || n > max || (!n && !empty_ok))
		return bad(why, why_len, "%s: empty or longer than %llu bytes", what,
			   max);
	return 0;
}

static int check_stats(const Rackvm__Stats *st, char *why, size_t why_len)
{
	if (!st)
		return 0;
	if (st->n_counters > CTL_COUNTERS_MAX)
		return bad(why, why_len, "%s: more than %llu counters", "Stats",
			   CTL_COUNTERS_MAX);
	for (size_t i = 0; i < st->n_counters; i++)
		if (check_text(st->counters[i]->key, COUNTER_NAME_MAX, false,
			       "Stats counter name", why, why_len))
			return -EPROTO;
	return 0;
}

static int check_hello(const Rackvm__Hello *h, char *why, size_t why_len)
{
	if (check_text(h->hostname, CTL_HOST_MAX, false, "Hello.hostname", why, why_len))
		return -EPROTO;
	if (!h->pid)
		return bad(why, why_len, "%s: pid %llu", "Hello", 0);
	if (h->has_want_id && h->want_id >= CTL_MAX_NODES)
		return bad(why, why_len, "%s: want_id %llu out of range", "Hello",
			   h->want_id);
	return 0;
}

static int check_welcome(const Rackvm__Welcome *w, char *why, size_t why_len)
{
	if (!w->node_count || w->node_count > CTL_MAX_NODES)
		return bad(why, why_len, "%s: node_count %llu", "Welcome", w->node_count);
	if (w->node_id >= w->node_count)
		return bad(why, why_len, "%s: node_id %llu >= node_count", "Welcome",
			   w->node_id);
	if (w->heartbeat_ms < CTL_HB_MS_MIN || w->heartbeat_ms > CTL_HB_MS_MAX)
		return bad(why, why_len, "%s: heartbeat_ms %llu", "Welcome",
			   w->heartbeat_ms);
	return check_text(w->provider, PROVIDER_MAX, false, "Welcome.provider", why,
			  why_len);
}

static int check_join(const Rackvm__Join *j, char *why, size_t why_len)
{
	if (check_text(j->hostname, CTL_HOST_MAX, false, "Join.hostname", why, why_len))
		return -EPROTO;
	if (!j->fabric_addr.len || j->fabric_addr.len > XPORT_ADDR_MAX)
		return bad(why, why_len, "%s: fabric address of %llu bytes", "Join",
			   j->fabric_addr.len);
	if (!j->pid || !j->cpus)
		return bad(why, why_len, "%s: pid or cpus is %llu", "Join", 0);
	return 0;
}

static int check_homes(const Rackvm__Config *c, char *why, size_t why_len)
{
	uint64_t next = 0;

	if (c->n_homes != c->node_count)
		return bad(why, why_len, "%s: %llu home ranges, want one per node",
			   "Config", c->n_homes);
	for (size_t i = 0; i < c->n_homes; i++) {
		const Rackvm__MemRange *r = c->homes[i];

		if (r->node >= c->node_count)
			return bad(why, why_len, "%s: home of node %llu", "Config",
				   r->node);
		/* contiguous from 0, page-aligned: coverage and no overlap */
		if (r->start != next || !r->size || r->size % PAGE_SIZE_4K ||
		    r->start + r->size < r->start)
			return bad(why, why_len,
				   "%s: home range %llu is not contiguous, "
				   "page-aligned and non-empty",
				   "Config", i);
		next = r->start + r->size;
	}
	return 0;
}

static int check_vm(const Rackvm__Config *c, char *why, size_t why_len)
{
	const Rackvm__VmSpec *vm = c->vm;
	const char *const texts[] = {vm->test, vm->kernel, vm->initrd, vm->append, vm->memory};
	uint64_t total = 0;

	if (check_text(vm->guest, 16, false, "VmSpec.guest", why, why_len))
		return -EPROTO;
	if (vm->vcpus != c->n_vcpus)
		return bad(why, why_len, "%s: %llu vCPUs, not the placement's", "VmSpec",
			   vm->vcpus);
	for (size_t i = 0; i < c->n_homes; i++)
		total += c->homes[i]->size;
	if (vm->mem != total)
		return bad(why, why_len, "%s: mem %llu is not the sum of the homes", "VmSpec",
			   vm->mem);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (texts[i] && check_text(texts[i], 4096, true, "VmSpec text", why, why_len))
			return -EPROTO;
	return 0;
}

int ctl_validate_config(const Rackvm__Config *c, char *why, size_t why_len)
{
	if (!c->node_count || c->node_count > CTL_MAX_NODES)
		return bad(why, why_len, "%s: node_count %llu", "Config", c->node_count);
	if (c->node_id >= c->node_count)
		return bad(why, why_len, "%s: node_id %llu >= node_count", "Config",
			   c->node_id);
	if (c->n_peer_addrs != c->node_count)
		return bad(why, why_len, "%s: %llu peer addresses, want node_count",
			   "Config", c->n_peer_addrs);
	for (size_t i = 0; i < c->n_peer_addrs; i++)
		if (!c->peer_addrs[i].len || c->peer_addrs[i].len > XPORT_ADDR_MAX)
			return bad(why, why_len,
				   "%s: address of node %llu has a bad length", "Config",
				   i);
	if (!c->n_vcpus || c->n_vcpus > CTL_VCPUS_MAX)
		return bad(why, why_len, "%s: %llu vCPUs", "Config", c->n_vcpus);
	for (size_t i = 0; i < c->n_vcpus; i++)
		if (c->vcpus[i]->vcpu != i || c->vcpus[i]->node >= c->node_count)
			return bad(why, why_len,
				   "%s: vCPU placement entry %llu is invalid", "Config",
				   i);
	if (check_homes(c, why, why_len))
		return -EPROTO;
	if (c->heartbeat_ms < CTL_HB_MS_MIN || c->heartbeat_ms > CTL_HB_MS_MAX)
		return bad(why, why_len, "%s: heartbeat_ms %llu", "Config",
			   c->heartbeat_ms);
	if (c->check_rounds > CTL_ROUNDS_MAX)
		return bad(why, why_len, "%s: check_rounds %llu", "Config",
			   c->check_rounds);
	if (c->vm && check_vm(c, why, why_len))
		return -EPROTO;
	return check_text(c->provider, PROVIDER_MAX, false, "Config.provider", why,
			  why_len);
}

static int check_error(const Rackvm__Error *e, char *why, size_t why_len)
{
	if (e->code < RACKVM__ERROR__CODE__BAD_VERSION ||
	    e->code > RACKVM__ERROR__CODE__BAD_ID)
		return bad(why, why_len, "%s: code %llu", "Error", (unsigned)e->code);
	return check_text(e->message, CTL_TEXT_MAX, false, "Error.message", why, why_len);
}

static int check_migrate_done(const Rackvm__MigrateDone *m, char *why, size_t why_len)
{
	if (m->vcpu >= CTL_VCPUS_MAX)
		return bad(why, why_len, "%s: vcpu %llu out of range", "MigrateDone", m->vcpu);
	if (m->from >= CTL_MAX_NODES || m->to >= CTL_MAX_NODES)
		return bad(why, why_len, "%s: node %llu out of range", "MigrateDone",
			   m->from >= CTL_MAX_NODES ? m->from : m->to);
	if (m->detail &&
	    check_text(m->detail, CTL_TEXT_MAX, true, "MigrateDone.detail", why, why_len))
		return -EPROTO;
	return 0;
}

static int check_cluster_stats(const Rackvm__ClusterStats *cs, char *why, size_t why_len)
{
	if (cs->n_vcpus > CTL_VCPUS_MAX)
		return bad(why, why_len, "%s: %llu vCPUs", "ClusterStats", cs->n_vcpus);
	for (size_t i = 0; i < cs->n_vcpus; i++)
		if (cs->vcpus[i]->vcpu != i || cs->vcpus[i]->node >= CTL_MAX_NODES)
			return bad(why, why_len, "%s: placement entry %llu is invalid",
				   "ClusterStats", i);
	return check_stats(cs->stats, why, why_len);
}

int ctl_validate(const Rackvm__Envelope *env, char *why, size_t why_len)
{
	switch (env->body_case) {
	case RACKVM__ENVELOPE__BODY_HELLO:
		return check_hello(env->hello, why, why_len);
	case RACKVM__ENVELOPE__BODY_WELCOME:
		return check_welcome(env->welcome, why, why_len);
	case RACKVM__ENVELOPE__BODY_JOIN:
		return check_join(env->join, why, why_len);
	case RACKVM__ENVELOPE__BODY_CONFIG:
		return ctl_validate_config(env->config, why, why_len);
	case RACKVM__ENVELOPE__BODY_READY:
		return env->ready->detail ? check_text(env->ready->detail, CTL_TEXT_MAX,
						       true, "Ready.detail", why, why_len)
					  : 0;
	case RACKVM__ENVELOPE__BODY_START:
		return 0;
	case RACKVM__ENVELOPE__BODY_HEARTBEAT:
		return check_stats(env->heartbeat->stats, why, why_len);
	case RACKVM__ENVELOPE__BODY_REPORT:
		if (env->report->detail &&
		    check_text(env->report->detail, CTL_TEXT_MAX, true, "Report.detail",
			       why, why_len))
			return -EPROTO;
		return check_stats(env->report->stats, why, why_len);
	case RACKVM__ENVELOPE__BODY_STOP:
		return check_text(env->stop->reason, CTL_TEXT_MAX, true, "Stop.reason",
				  why, why_len);
	case RACKVM__ENVELOPE__BODY_ERROR:
		return check_error(env->error, why, why_len);
	case RACKVM__ENVELOPE__BODY_MIGRATE:
		if (env->migrate->vcpu >= CTL_VCPUS_MAX || env->migrate->to >= CTL_MAX_NODES)
			return bad(why, why_len, "%s: vcpu or node %llu out of range",
				   "Migrate",
				   env->migrate->vcpu >= CTL_VCPUS_MAX ? env->migrate->vcpu
								       : env->migrate->to);
		return 0;
	case RACKVM__ENVELOPE__BODY_MIGRATE_DONE:
		return check_migrate_done(env->migrate_done, why, why_len);
	case RACKVM__ENVELOPE__BODY_QUERY:
		return 0;
	case RACKVM__ENVELOPE__BODY_CLUSTER_STATS:
		return check_cluster_stats(env->cluster_stats, why, why_len);
	default:
		snprintf(why, why_len, "message has no body (or an unknown one)");
		return -EPROTO;
	}
}
