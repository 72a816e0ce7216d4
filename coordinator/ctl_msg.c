// SPDX-License-Identifier: MIT
/*
 * Control-plane framing: one Envelope per ZeroMQ message; a ROUTER prefixes
 * the peer's routing id frame. Sends never block: a peer that stopped reading
 * must not stall the coordinator's heartbeat loop.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "coordinator/ctl.h"

int ctl_send(void *sock, const uint8_t *id, size_t id_len, Rackvm__Envelope *env)
{
	size_t len = rackvm__envelope__get_packed_size(env);
	uint8_t *buf;
	int ret = 0;

	if (len > CTL_MSG_MAX)
		return -EMSGSIZE;
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	rackvm__envelope__pack(env, buf);
	if (id && zmq_send(sock, id, id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
		ret = -errno;
		goto out_free;
	}
	if (zmq_send(sock, buf, len, ZMQ_DONTWAIT) < 0)
		ret = -errno;
out_free:
	free(buf);
	return ret;
}

/* Drops the rest of a multi-part message we do not understand. */
static void ctl_drain(void *sock)
{
	int more = 1;
	size_t sz = sizeof(more);

	while (!zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) && more) {
		zmq_msg_t m;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			return;
		}
		zmq_msg_close(&m);
	}
}

static bool ctl_more(void *sock)
{
	int more = 0;
	size_t sz = sizeof(more);

	return !zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) && more;
}

/* Receives one part into @f->data; -EAGAIN when nothing is waiting. */
static int ctl_recv_part(void *sock, void **data, size_t *len)
{
	zmq_msg_t m;
	int n;

	zmq_msg_init(&m);
	n = zmq_msg_recv(&m, sock, ZMQ_DONTWAIT);
	if (n < 0) {
		n = -errno;
		zmq_msg_close(&m);
		return n;
	}
	*data = malloc(n ? (size_t)n : 1);
	if (!*data) {
		zmq_msg_close(&m);
		return -ENOMEM;
	}
	memcpy(*data, zmq_msg_data(&m), (size_t)n);
	*len = (size_t)n;
	zmq_msg_close(&m);
	return 0;
}

int ctl_recv(void *sock, bool router, struct ctl_frame *f)
{
	int ret;

	memset(f, 0, sizeof(*f));
	if (router) {
		void *id;
		size_t id_len;

		ret = ctl_recv_part(sock, &id, &id_len);
		if (ret)
			return ret;
		f->id_len = id_len < CTL_ID_MAX ? id_len : CTL_ID_MAX;
		memcpy(f->id, id, f->id_len);
		free(id);
		if (!ctl_more(sock))
			return -EPROTO; /* a routing id with no body */
	}
	ret = ctl_recv_part(sock, &f->data, &f->len);
	if (ret)
		return ret;
	if (ctl_more(sock)) {
		/* one Envelope per message: extra parts are not ours */
		ctl_drain(sock);
		return -EPROTO;
	}
	return 0;
}

void ctl_frame_free(struct ctl_frame *f)
{
	free(f->data);
	f->data = NULL;
}

int ctl_decode(const void *buf, size_t len, Rackvm__Envelope **out, char *why,
	       size_t why_len)
{
	Rackvm__Envelope *env;

	*out = NULL;
	env = rackvm__envelope__unpack(NULL, len, buf);
	if (!env) {
		snprintf(why, why_len,
			 "not a rackvm control message (%zu bytes, protobuf "
			 "decoding failed)",
			 len);
		return -EPROTO;
	}
	if (env->version != CTL_PROTO_VERSION) {
		snprintf(why, why_len, "protocol version %u, this rackvm speaks %u",
			 env->version, CTL_PROTO_VERSION);
		*out = env;
		return -EPROTONOSUPPORT;
	}
	if (ctl_validate(env, why, why_len)) {
		rackvm__envelope__free_unpacked(env, NULL);
		return -EPROTO;
	}
	*out = env;
	return 0;
}

const char *ctl_body_name(const Rackvm__Envelope *env)
{
	switch (env->body_case) {
	case RACKVM__ENVELOPE__BODY_HELLO:
		return "Hello";
	case RACKVM__ENVELOPE__BODY_WELCOME:
		return "Welcome";
	case RACKVM__ENVELOPE__BODY_JOIN:
		return "Join";
	case RACKVM__ENVELOPE__BODY_CONFIG:
		return "Config";
	case RACKVM__ENVELOPE__BODY_READY:
		return "Ready";
	case RACKVM__ENVELOPE__BODY_START:
		return "Start";
	case RACKVM__ENVELOPE__BODY_HEARTBEAT:
		return "Heartbeat";
	case RACKVM__ENVELOPE__BODY_REPORT:
		return "Report";
	case RACKVM__ENVELOPE__BODY_STOP:
		return "Stop";
	case RACKVM__ENVELOPE__BODY_ERROR:
		return "Error";
	case RACKVM__ENVELOPE__BODY_MIGRATE:
		return "Migrate";
	case RACKVM__ENVELOPE__BODY_MIGRATE_DONE:
		return "MigrateDone";
	case RACKVM__ENVELOPE__BODY_QUERY:
		return "Query";
	case RACKVM__ENVELOPE__BODY_CLUSTER_STATS:
		return "ClusterStats";
	default:
		return "(none)";
	}
}

int ctl_send_error(void *sock, const uint8_t *id, size_t id_len, Rackvm__Error__Code code,
		   const char *fmt, ...)
{
	Rackvm__Envelope env = RACKVM__ENVELOPE__INIT;
	Rackvm__Error err = RACKVM__ERROR__INIT;
	char text[CTL_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	err.code = code;
	err.message = text;
	env.version = CTL_PROTO_VERSION;
	env.body_case = RACKVM__ENVELOPE__BODY_ERROR;
	env.error = &err;
	return ctl_send(sock, id, id_len, &env);
}

int ctl_send_stop(void *sock, const uint8_t *id, size_t id_len, bool ok,
		  const char *reason, int64_t fault_node)
{
	Rackvm__Envelope env = RACKVM__ENVELOPE__INIT;
	Rackvm__Stop stop = RACKVM__STOP__INIT;

	stop.ok = ok;
	stop.reason = (char *)reason;
	if (fault_node >= 0) {
		stop.has_fault_node = true;
		stop.fault_node = (uint32_t)fault_node;
	}
	env.version = CTL_PROTO_VERSION;
	env.body_case = RACKVM__ENVELOPE__BODY_STOP;
	env.stop = &stop;
	return ctl_send(sock, id, id_len, &env);
}

int ctl_send_heartbeat(void *sock, const uint8_t *id, size_t id_len, uint32_t node_id,
		       uint64_t seq, const Rackvm__Stats *stats)
{
	Rackvm__Envelope env = RACKVM__ENVELOPE__INIT;
	Rackvm__Heartbeat hb = RACKVM__HEARTBEAT__INIT;

	hb.node_id = node_id;
	hb.seq = seq;
	hb.stats = (Rackvm__Stats *)stats;
	env.version = CTL_PROTO_VERSION;
	env.body_case = RACKVM__ENVELOPE__BODY_HEARTBEAT;
	env.heartbeat = &hb;
	return ctl_send(sock, id, id_len, &env);
}
