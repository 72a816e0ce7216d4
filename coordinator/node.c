// SPDX-License-Identifier: MIT
/*
 * The node's control loop: one DEALER socket to the coordinator and the
 * worker's eventfd under one zmq_poll. Heartbeats go out every interval from
 * here whatever the worker is doing; a coordinator silent for two intervals
 * ends the node (exit 4).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "coordinator/cli.h"
#include "coordinator/node.h"

#define NODE_LINGER_MS 1000 /* time the last Report / Error gets to leave */

int node_send(struct node *n, Rackvm__Envelope *env)
{
	int ret;

	env->version = n->o->protocol_version;
	ret = ctl_send(n->sock, NULL, 0, env);
	if (ret)
		ctl_log(n->who, "cannot send %s to the coordinator: %s",
			ctl_body_name(env), zmq_strerror(-ret));
	return ret;
}

void node_finish(struct node *n, int exit_code)
{
	n->phase = NODE_DONE;
	n->exit_code = exit_code;
}

static int node_hello(struct node *n)
{
	Rackvm__Envelope env = RACKVM__ENVELOPE__INIT;
	Rackvm__Hello h = RACKVM__HELLO__INIT;
	char host[CTL_HOST_MAX + 1] = "localhost";

	gethostname(host, sizeof(host) - 1);
	h.hostname = host;
	h.pid = (uint32_t)getpid();
	if (n->o->want_id >= 0) {
		h.has_want_id = true;
		h.want_id = (uint32_t)n->o->want_id;
	}
	env.body_case = RACKVM__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	return node_send(n, &env);
}

static void node_heartbeat(struct node *n, uint64_t now)
{
	/* no id before Welcome: the coordinator's Hello timer covers that phase */
	if (n->phase == NODE_HELLO || now < n->next_hb)
		return;
	if (ctl_send_heartbeat(n->sock, NULL, 0, n->id, ++n->hb_seq,
			       node_stats_collect(n->stats, n)))
		ctl_log(n->who, "heartbeat %llu not sent", (unsigned long long)n->hb_seq);
	n->next_hb = now + n->hb_ms;
}

static void node_check_timers(struct node *n, uint64_t now)
{
	if (n->phase == NODE_HELLO && now - n->t_hello > n->o->connect_timeout_ms) {
		ctl_log(n->who,
			"coordinator %s did not answer within %.1f s (is `rackvm "
			"coordinator --listen %s` running there and reachable?)",
			n->o->coordinator, n->o->connect_timeout_ms / 1000.0,
			n->o->coordinator);
		node_finish(n, RACKVM_EXIT_PEER);
	} else if (n->phase != NODE_HELLO && now - n->last_coord_ms > 2ULL * n->hb_ms) {
		ctl_log(n->who,
			"coordinator %s stopped answering (silent for %llu ms, "
			"heartbeat %u ms): giving up",
			n->o->coordinator, (unsigned long long)(now - n->last_coord_ms),
			n->hb_ms);
		node_finish(n, RACKVM_EXIT_PEER);
	}
}

static void node_drain(struct node *n)
{
	struct ctl_frame f;
	int ret;

	while (n->phase != NODE_DONE && (ret = ctl_recv(n->sock, false, &f)) != -EAGAIN) {
		if (!ret)
			node_handle(n, &f);
		else if (ret == -EPROTO)
			ctl_log(n->who,
				"dropped a multi-part message from the coordinator");
		ctl_frame_free(&f);
		if (ret && ret != -EPROTO) {
			ctl_log(n->who, "receive failed: %s", zmq_strerror(-ret));
			node_finish(n, RACKVM_EXIT_PEER);
		}
	}
}

/*
 * Keeps the data plane progressing while the worker is idle: libfabric's tcp
 * provider serves a peer's one-sided read only when this side polls, and a
 * peer may still be checking us after our own check is done. Returns the
 * wait fd to sleep on (armed: xport_poll returned 0), or -1.
 */
static int node_progress(struct node *n)
{
	struct xport_event ev[16];
	int k;

	if (n->work.busy || !n->work.t || n->has_vm || /* the VM's pump polls */
	    (n->phase != NODE_READY && n->phase != NODE_FINISHED))
		return -1;
	while ((k = xport_poll(n->work.t, ev, 16)) > 0)
		for (int i = 0; i < k; i++)
			if (ev[i].kind == XPORT_EV_ERROR || ev[i].kind == XPORT_EV_RECV)
				/* no data-plane traffic is expected yet: say so, go on */
				ctl_log(
				    n->who, "data plane: unexpected %s from node %u (%d)",
				    ev[i].kind == XPORT_EV_ERROR ? "error" : "message",
				    ev[i].src, ev[i].status);
	if (k < 0) {
		ctl_log(n->who, "data plane poll failed: %s", strerror(-k));
		return -1;
	}
	return xport_wait_fd(n->work.t);
}

static void node_loop(struct node *n)
{
	zmq_pollitem_t items[4] = {
	    {.socket = n->sock, .events = ZMQ_POLLIN},
	    {.fd = n->work.efd, .events = ZMQ_POLLIN},
	    {.events = ZMQ_POLLIN}, /* the data plane while idle, or the VM's moves */
	    {.events = ZMQ_POLLIN}, /* the VM's moves */
	};

	while (n->phase != NODE_DONE) {
		uint64_t now = ctl_now_ms();
		long timeout = n->phase == NODE_HELLO ? 50 : 0;

		if (n->phase != NODE_HELLO) {
			/* wake for the next heartbeat or when the coordinator turns
			 * silent */
			uint64_t wake = n->next_hb;

			if (n->last_coord_ms + 2ULL * n->hb_ms + 1 < wake)
				wake = n->last_coord_ms + 2ULL * n->hb_ms + 1;
			timeout = wake > now ? (long)(wake - now) : 0;
		}
		int nr = 2;

		items[2].fd = node_progress(n);
		nr += items[2].fd >= 0;
		if (n->has_vm && n->vm.ev_fd >= 0)
			items[nr++].fd = n->vm.ev_fd;
		if (zmq_poll(items, nr, timeout) < 0 && errno != EINTR) {
			ctl_log(n->who, "zmq_poll failed: %s", zmq_strerror(errno));
			node_finish(n, RACKVM_EXIT_HOST);
			break;
		}
		n->last_coord_ms += ctl_stall_ms(now, timeout, ctl_now_ms());
		if (ctl_stop_requested()) {
			ctl_log(n->who, "interrupted by signal %d", ctl_stop_signal());
			node_finish(n, RACKVM_EXIT_PEER);
			break;
		}
		node_drain(n);
		if (n->has_vm && n->phase != NODE_DONE)
			node_report_moves(n);
		if (n->phase != NODE_DONE && n->work.busy && node_work_reap(&n->work))
			node_work_done(n);
		now = ctl_now_ms();
		node_heartbeat(n, now);
		node_check_timers(n, now);
	}
}

static int node_connect(struct node *n)
{
	int linger = NODE_LINGER_MS, maxsz = CTL_MSG_MAX;

	n->ctx = zmq_ctx_new();
	if (!n->ctx)
		return -errno;
	n->sock = zmq_socket(n->ctx, ZMQ_DEALER);
	if (!n->sock)
		return -errno;
	zmq_setsockopt(n->sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(n->sock, ZMQ_MAXMSGSIZE, &maxsz, sizeof(maxsz));
	if (zmq_connect(n->sock, n->o->coordinator) < 0)
		return -errno;
	return 0;
}

/* A worker stuck in a transport call to a dead peer cannot be joined: leave
 * it and the transport to process exit rather than close under its feet. */
static void node_cleanup(struct node *n)
{
	if (n->work.busy && n->has_vm && n->vm.vm)
		vm_request_stop(n->vm.vm, "the node is stopping"); /* ends TASK_VM */
	if (n->work.busy && !node_work_reap_wait(&n->work, NODE_LINGER_MS)) {
		pthread_detach(n->work.thread);
	} else {
		if (n->has_vm)
			node_vm_destroy(&n->vm);
		if (n->work.t)
			xport_close(n->work.t);
		node_work_fini(&n->work);
	}
	free(n->work.peers);
	node_stats_free(n->stats);
	if (n->sock)
		zmq_close(n->sock);
	if (n->ctx)
		zmq_ctx_term(n->ctx);
}

int node_run(const struct node_opts *o)
{
	struct node n = {.o = o, .exit_code = RACKVM_EXIT_PEER, .work.efd = -1};
	int ret;

	snprintf(n.who, sizeof(n.who), "node");
	n.stats = node_stats_new();
	ret = n.stats ? node_work_init(&n.work) : -ENOMEM;
	if (!ret)
		ret = node_connect(&n);
	if (ret) {
		ctl_log(n.who,
			"cannot connect to coordinator %s: %s (give --coordinator "
			"tcp://HOST:PORT)",
			o->coordinator, zmq_strerror(-ret));
		n.exit_code = ret == -EINVAL || ret == -EPROTONOSUPPORT
				  ? RACKVM_EXIT_USAGE
				  : RACKVM_EXIT_HOST;
		goto out_cleanup;
	}
	n.t_hello = ctl_now_ms();
	if (node_hello(&n)) {
		n.exit_code = RACKVM_EXIT_PEER;
		goto out_cleanup;
	}
	node_loop(&n);
out_cleanup:
	node_cleanup(&n);
	return n.exit_code;
}
