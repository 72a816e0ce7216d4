// SPDX-License-Identifier: MIT
/*
 * The coordinator's event loop: one ROUTER socket, one thread. Timers
 * (heartbeats out, silence and phase deadlines) are checked after every
 * zmq_poll, whose timeout is the next heartbeat, so a node that stops
 * answering is noticed within two heartbeat intervals whatever the phase.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "coordinator/cli.h"
#include "coordinator/coord.h"

#define STOP_LINGER_MS 1000 /* time the Stop messages get to leave at exit */

const char *coord_node_name(const struct coord *c, uint32_t id, char *buf, size_t len)
{
	const struct coord_node *n = &c->nodes[id];

	snprintf(buf, len, "node %u (%s/%u)", id, n->host, n->pid);
	return buf;
}

/* Stops every node except @fault (it is gone or broken) and ends the run. */
void coord_fail(struct coord *c, int64_t fault, const char *fmt, ...)
{
	char reason[CTL_TEXT_MAX];
	va_list ap;

	if (c->phase == COORD_DONE)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	for (unsigned int i = 0; i < c->o->nodes; i++)
		if (c->nodes[i].used && (int64_t)i != fault)
			(void)ctl_send_stop(c->sock, c->nodes[i].rid, c->nodes[i].rid_len,
					    false, reason, fault);
	ctl_log("coordinator", "%s", reason);
	c->phase = COORD_DONE;
	c->exit_code = RACKVM_EXIT_PEER;
}

static void coord_finish(struct coord *c)
{
	uint64_t max_check = 0, rounds = 0;

	for (unsigned int i = 0; i < c->o->nodes; i++) {
		(void)ctl_send_stop(c->sock, c->nodes[i].rid, c->nodes[i].rid_len, true,
				    "run finished", -1);
		if (c->nodes[i].check_us > max_check)
			max_check = c->nodes[i].check_us;
		rounds += c->nodes[i].rounds;
	}
	printf("rackvm coordinator: %u nodes, mesh healthy (%llu health-check rounds, "
	       "slowest check %.1f ms), %.2f s%s\n",
	       c->o->nodes, (unsigned long long)rounds, (double)max_check / 1000.0,
	       (double)(ctl_now_ms() - c->t_begin) / 1000.0,
	       !c->o->guest ? "" : c->guest_exit ? ", the guest FAILED" : ", the guest passed");
	coord_policy_summary(c);
	coord_migrate_summary(c);
	fflush(stdout);
	c->phase = COORD_DONE;
	c->exit_code = c->guest_exit ? RACKVM_EXIT_GUEST_FAIL : RACKVM_EXIT_OK;
}

static void coord_heartbeats(struct coord *c, uint64_t now)
{
	if (now < c->next_hb)
		return;
	c->hb_seq++;
	for (unsigned int i = 0; i < c->o->nodes; i++)
		if (c->nodes[i].used)
			(void)ctl_send_heartbeat(c->sock, c->nodes[i].rid,
						 c->nodes[i].rid_len, CTL_NODE_ID_COORD,
						 c->hb_seq, NULL);
	c->next_hb = now + c->o->heartbeat_ms;
}

static void coord_check_silence(struct coord *c, uint64_t now)
{
	char name[CTL_HOST_MAX + 64];

	for (unsigned int i = 0; i < c->o->nodes && c->phase != COORD_DONE; i++) {
		struct coord_node *n = &c->nodes[i];

		if (n->used && now - n->last_seen_ms > 2ULL * c->o->heartbeat_ms)
			coord_fail(c, i,
				   "%s stopped answering (silent for %llu ms, "
				   "heartbeat %u ms)",
				   coord_node_name(c, i, name, sizeof(name)),
				   (unsigned long long)(now - n->last_seen_ms),
				   c->o->heartbeat_ms);
	}
}

/* Names the nodes a phase still waits for, e.g. "1 (host/pid), 3 (...)". */
static void coord_missing(struct coord *c, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (unsigned int i = 0; i < c->o->nodes && off < len; i++) {
		const struct coord_node *n = &c->nodes[i];

		if (n->used && !n->ready)
			off += (size_t)snprintf(buf + off, len - off, "%s%u (%s/%u)",
						off ? ", " : "", i, n->host, n->pid);
	}
}

static void coord_check_phase(struct coord *c, uint64_t now)
{
	char missing[CTL_TEXT_MAX / 2];

	switch (c->phase) {
	case COORD_JOIN:
		if (now - c->t_phase > c->o->join_timeout_ms)
			coord_fail(c, -1,
				   "only %u of %u nodes joined within %.1f s (start "
				   "the others with `rackvm node --coordinator %s`, "
				   "or lower --nodes)",
				   c->nr_joined, c->o->nodes,
				   c->o->join_timeout_ms / 1000.0, c->endpoint);
		break;
	case COORD_READY:
		if (now - c->t_phase > c->o->join_timeout_ms) {
			coord_missing(c, missing, sizeof(missing));
			coord_fail(c, -1,
				   "mesh not ready within %.1f s: no Ready from node %s",
				   c->o->join_timeout_ms / 1000.0, missing);
		}
		break;
	case COORD_RUN:
		if (c->nr_reported == c->o->nodes &&
		    now - c->t_start >= 1000ULL * c->o->seconds)
			coord_finish(c);
		break;
	case COORD_DONE:
		break;
	}
}

static void coord_drain(struct coord *c)
{
	struct ctl_frame f;
	int ret;

	while (c->phase != COORD_DONE && (ret = ctl_recv(c->sock, true, &f)) != -EAGAIN) {
		if (ret == -EPROTO)
			ctl_log("coordinator",
				"dropped a message with a bad frame layout "
				"(want one body part)");
		else if (ret)
			ctl_log("coordinator", "receive failed: %s", strerror(-ret));
		else
			coord_handle(c, &f);
		ctl_frame_free(&f);
		if (ret && ret != -EPROTO)
			break;
	}
}

/* The next heartbeat to send or the first moment a node counts as silent. */
static uint64_t coord_next_deadline(const struct coord *c)
{
	uint64_t wake = c->next_hb;

	for (unsigned int i = 0; i < c->o->nodes; i++)
		if (c->nodes[i].used &&
		    c->nodes[i].last_seen_ms + 2ULL * c->o->heartbeat_ms + 1 < wake)
			wake = c->nodes[i].last_seen_ms + 2ULL * c->o->heartbeat_ms + 1;
	if (c->next_storm && c->next_storm < wake)
		wake = c->next_storm;
	return wake;
}

static void coord_loop(struct coord *c)
{
	zmq_pollitem_t item = {.socket = c->sock, .events = ZMQ_POLLIN};

	while (c->phase != COORD_DONE) {
		uint64_t now = ctl_now_ms();
		uint64_t wake = coord_next_deadline(c);
		long timeout = wake > now ? (long)(wake - now) : 0;

		uint64_t stall;

		if (zmq_poll(&item, 1, timeout) < 0 && errno != EINTR) {
			coord_fail(c, -1, "zmq_poll failed: %s", zmq_strerror(errno));
			break;
		}
		stall = ctl_stall_ms(now, timeout, ctl_now_ms());
		for (unsigned int i = 0; stall && i < c->o->nodes; i++)
			c->nodes[i].last_seen_ms += stall;
		if (ctl_stop_requested()) {
			coord_fail(c, -1, "interrupted by signal %d: stopping all nodes",
				   ctl_stop_signal());
			break;
		}
		coord_drain(c);
		now = ctl_now_ms();
		coord_heartbeats(c, now);
		coord_check_silence(c, now);
		coord_check_phase(c, now);
		coord_policy_tick(c, now);
		coord_storm(c, now);
	}
}

static int coord_listen(struct coord *c)
{
	int maxsz = CTL_MSG_MAX, one = 1, linger = STOP_LINGER_MS;
	size_t len = sizeof(c->endpoint);

	c->ctx = zmq_ctx_new();
	if (!c->ctx)
		return -errno;
	c->sock = zmq_socket(c->ctx, ZMQ_ROUTER);
	if (!c->sock)
		return -errno;
	/* unknown routing ids fail loudly instead of vanishing */
	zmq_setsockopt(c->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
	zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &maxsz, sizeof(maxsz));
	zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof(linger));
	if (zmq_bind(c->sock, c->o->listen) < 0)
		return -errno;
	if (zmq_getsockopt(c->sock, ZMQ_LAST_ENDPOINT, c->endpoint, &len) < 0)
		snprintf(c->endpoint, sizeof(c->endpoint), "%s", c->o->listen);
	return 0;
}

int coord_run(const struct coord_opts *o)
{
	struct coord c = {.o = o, .exit_code = RACKVM_EXIT_PEER};
	int ret;

	c.nodes = calloc(o->nodes, sizeof(*c.nodes));
	if (!c.nodes || coord_migrate_init(&c) || coord_policy_init(&c)) {
		coord_policy_free(&c);
		coord_migrate_fini(&c);
		free(c.nodes);
		return RACKVM_EXIT_HOST;
	}
	ret = coord_listen(&c);
	if (ret) {
		ctl_log("coordinator",
			"cannot listen on %s: %s (give --listen "
			"tcp://ADDRESS:PORT with a free port on a local address)",
			o->listen, zmq_strerror(-ret));
		c.exit_code = ret == -EINVAL || ret == -EPROTONOSUPPORT
				  ? RACKVM_EXIT_USAGE
				  : RACKVM_EXIT_HOST;
		goto out_close;
	}
	printf("rackvm coordinator: listening on %s, waiting for %u nodes\n", c.endpoint,
	       o->nodes);
	fflush(stdout);
	c.t_begin = c.t_phase = ctl_now_ms();
	c.next_hb = c.t_begin + o->heartbeat_ms;
	coord_loop(&c);
out_close:
	if (c.sock)
		zmq_close(c.sock);
	if (c.ctx)
		zmq_ctx_term(c.ctx);
	coord_policy_free(&c);
	coord_migrate_fini(&c);
	free(c.nodes);
	return c.exit_code;
}
