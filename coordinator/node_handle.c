// SPDX-License-Identifier: MIT
/* The node's message handlers and what it does when the worker finishes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coordinator/cli.h"
#include "coordinator/node.h"

static uint64_t node_mem_bytes(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);

	return pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;
}

static void node_welcome(struct node *n, const Rackvm__Welcome *w)
{
	struct xport_config *cfg = &n->work.cfg;

	n->id = w->node_id;
	n->count = w->node_count;
	n->hb_ms = w->heartbeat_ms;
	snprintf(n->provider, sizeof(n->provider), "%s",
		 n->o->provider ? n->o->provider : w->provider);
	snprintf(n->who, sizeof(n->who), "node %u", n->id);
	n->next_hb = ctl_now_ms();
	cfg->provider = n->provider;
	/* "verbs" names the native ibverbs backend; "verbs;ofi_rxm" is libfabric's */
	cfg->backend = strcmp(n->provider, "verbs") ? "ofi" : "verbs";
	cfg->iface = n->o->iface;
	cfg->node_id = n->id;
	cfg->nr_nodes = n->count;
	if (node_work_start(&n->work, NODE_TASK_OPEN))
		return node_finish(n, RACKVM_EXIT_HOST);
	n->phase = NODE_OPEN;
}

/* The endpoint is open: publish its address. */
static void node_join(struct node *n, int result)
{
	Rackvm__Envelope env = RACKVM__ENVELOPE__INIT;
	Rackvm__Join j = RACKVM__JOIN__INIT;
	char host[CTL_HOST_MAX + 1] = "localhost";

	if (result) {
		ctl_log(n->who,
			"cannot open the %s data plane: %s (check --provider and "
			"--iface)",
			n->provider, strerror(-result));
		return node_finish(n, RACKVM_EXIT_HOST);
	}
	gethostname(host, sizeof(host) - 1);
	j.hostname = host;
	j.pid = (uint32_t)getpid();
	j.fabric_addr.data = n->work.addr.bytes;
	j.fabric_addr.len = n->work.addr.len;
	j.cpus = (uint32_t)sysconf(_SC_NPROCESSORS_ONLN);
	j.mem = node_mem_bytes();
	env.body_case = RACKVM__ENVELOPE__BODY_JOIN;
	env.join = &j;
	printf("rackvm %s: joined as node %u of %u (%s data plane)\n", n->who, n->id,
	       n->count, n->provider);
	n->phase = NODE_JOINED;
	if (node_send(n, &env))
		node_finish(n, RACKVM_EXIT_PEER);
}

static void node_config(struct node *n, const Rackvm__Config *c)
{
	if (c->node_id != n->id || c->node_count != n->count) {
		ctl_log(n->who,
			"Config for node %u of %u, but Welcome said %u of %u: giving "
			"up",
			c->node_id, c->node_count, n->id, n->count);
		node_finish(n, RACKVM_EXIT_PEER);
		return;
	}
	n->work.peers = calloc(n->count, sizeof(*n->work.peers));
	if (!n->work.peers) {
		node_finish(n, RACKVM_EXIT_HOST);
		return;
	}
	for (uint32_t i = 0; i < n->count; i++) {
		n->work.peers[i].len = (uint32_t)c->peer_addrs[i].len;
		memcpy(n->work.peers[i].bytes, c->peer_addrs[i].data,
		       c->peer_addrs[i].len);
	}
	n->check_rounds = c->check_rounds;
	n->work.rounds = c->check_rounds;
	if (c->vm) {
		char why[256];

		if (node_vm_prepare(&n->vm, c, n->o->shared_mem_fd, why, sizeof(why))) {
			ctl_log(n->who, "cannot run this VM: %s", why);
			node_finish(n, RACKVM_EXIT_USAGE);
			return;
		}
		n->has_vm = true;
		n->work.vm = &n->vm;
	}
	if (node_work_start(&n->work, NODE_TASK_CHECK)) {
		node_finish(n, RACKVM_EXIT_HOST);
		return;
	}
	n->phase = NODE_CHECK;
}

static void node_stop(struct node *n, const Rackvm__Stop *s)
{
	if (s->ok) {
		printf("rackvm %s: stopped: %s\n", n->who, s->reason);
		node_finish(n, RACKVM_EXIT_OK);
		return;
	}
	ctl_log(n->who, "stopped by the coordinator: %s", s->reason);
	node_finish(n, RACKVM_EXIT_PEER);
}

static void node_dispatch(struct node *n, Rackvm__Envelope *env)
{
	switch (env->body_case) {
	case RACKVM__ENVELOPE__BODY_WELCOME:
		if (n->phase == NODE_HELLO)
			return node_welcome(n, env->welcome);
		break;
	case RACKVM__ENVELOPE__BODY_CONFIG:
		if (n->phase == NODE_JOINED)
			return node_config(n, env->config);
		break;
	case RACKVM__ENVELOPE__BODY_START:
		if (n->phase != NODE_READY)
			break;
		if (node_work_start(&n->work, n->has_vm ? NODE_TASK_VM : NODE_TASK_RUN))
			return node_finish(n, RACKVM_EXIT_HOST);
		n->phase = NODE_RUN;
		return;
	case RACKVM__ENVELOPE__BODY_HEARTBEAT:
		return;
	case RACKVM__ENVELOPE__BODY_MIGRATE:
		if (n->phase == NODE_RUN || n->phase == NODE_FINISHED)
			return node_migrate(n, env->migrate);
		break;
	case RACKVM__ENVELOPE__BODY_STOP:
		return node_stop(n, env->stop);
	case RACKVM__ENVELOPE__BODY_ERROR:
		ctl_log(n->who, "the coordinator refused this node: %s",
			env->error->message);
		return node_finish(n, RACKVM_EXIT_PEER);
	default:
		break;
	}
	ctl_log(n->who, "ignored an unexpected %s from the coordinator",
		ctl_body_name(env));
}

void node_handle(struct node *n, const struct ctl_frame *f)
{
	Rackvm__Envelope *env;
	char why[256];
	int ret;

	ret = ctl_decode(f->data, f->len, &env, why, sizeof(why));
	if (ret == -EPROTONOSUPPORT) {
		ctl_log(n->who,
			"coordinator %s speaks another protocol (%s): run the same "
			"rackvm version on every host",
			n->o->coordinator, why);
		node_finish(n, RACKVM_EXIT_PEER);
	} else if (ret) {
		ctl_log(n->who, "dropped a malformed message from the coordinator: %s",
			why);
	} else {
		n->last_coord_ms = ctl_now_ms();
		node_dispatch(n, env);
	}
	if (env)
		rackvm__envelope__free_unpacked(env, NULL);
}

static void node_send_ready(struct node *n, int result, uint64_t us)
{
	Rackvm__Envelope env = RACKVM__ENVELOPE__INIT;
	Rackvm__Ready r = RACKVM__READY__INIT;
	char detail[640];

	if (result && n->has_vm && n->vm.error[0])
		snprintf(detail, sizeof(detail), "VM set-up failed: %s", n->vm.error);
	else
		snprintf(detail, sizeof(detail), "%s (%s)",
			 result ? "mesh check failed" : "mesh ok",
			 result ? strerror(-result) : "connected");
	r.node_id = n->id;
	r.ok = !result;
	r.detail = detail;
	r.has_check_us = true;
	r.check_us = us;
	env.body_case = RACKVM__ENVELOPE__BODY_READY;
	env.ready = &r;
	if (node_send(n, &env) || result)
		return node_finish(n, RACKVM_EXIT_PEER);
	n->phase = NODE_READY;
	printf(
	    "rackvm %s: mesh of %u connected, health check passed (%u rounds, %.1f ms)\n",
	    n->who, n->count, n->check_rounds, (double)us / 1000.0);
}

static void node_send_report(struct node *n, int result)
{
	Rackvm__Envelope env = RACKVM__ENVELOPE__INIT;
	Rackvm__Report r = RACKVM__REPORT__INIT;
	Rackvm__Stats st = RACKVM__STATS__INIT;
	Rackvm__Stats__CountersEntry e[3], *ep[3];
	const char *keys[3] = {"check_rounds", "check_us", "heartbeats"};
	uint64_t vals[3] = {n->rounds_done, n->check_us, n->hb_seq};
	char detail[640];

	for (int i = 0; i < 3; i++) {
		rackvm__stats__counters_entry__init(&e[i]);
		e[i].key = (char *)keys[i];
		e[i].has_value = true;
		e[i].value = vals[i];
		ep[i] = &e[i];
	}
	st.n_counters = 3;
	st.counters = ep;
	if (n->has_vm) {
		r.has_exit_code = true;
		r.exit_code = node_vm_verdict(&n->vm);
		snprintf(detail, sizeof(detail), "VM: %s",
			 n->vm.error[0] ? n->vm.error
			 : r.exit_code ? "the guest failed" : "the guest passed");
	} else {
		snprintf(detail, sizeof(detail), "health check: %s",
			 result ? strerror(-result) : "ok");
	}
	r.node_id = n->id;
	r.ok = !result;
	r.detail = detail;
	r.stats = &st;
	env.body_case = RACKVM__ENVELOPE__BODY_REPORT;
	env.report = &r;
	if (node_send(n, &env) || result)
		return node_finish(n, RACKVM_EXIT_PEER);
	n->phase = NODE_FINISHED;
}

void node_work_done(struct node *n)
{
	int result = n->work.result;

	if (n->work.task == NODE_TASK_OPEN)
		return node_join(n, result);
	if (result)
		ctl_log(n->who, "%s failed: %s",
			n->work.task == NODE_TASK_CHECK ? "mesh connect/health check/VM set-up"
			: n->work.task == NODE_TASK_VM	? "the VM"
							: "health-check rounds",
			n->has_vm && n->vm.error[0] ? n->vm.error : strerror(-result));
	n->rounds_done += n->work.rounds;
	n->check_us += n->work.took_us;
	if (n->work.task == NODE_TASK_CHECK)
		node_send_ready(n, result, n->work.took_us);
	else
		node_send_report(n, result);
}
