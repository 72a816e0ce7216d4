// SPDX-License-Identifier: MIT
/* Control-plane messages: encode/decode, validation, placement plan, framing
 * over a real ZeroMQ ROUTER/DEALER pair. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include <cmocka.h>

#include "coordinator/ctl.h"

#define NODES 3

struct cfg_fixture {
	Rackvm__Config cfg;
	Rackvm__VcpuPlacement vp[4], *vpp[4];
	Rackvm__MemRange mr[NODES], *mrp[NODES];
	ProtobufCBinaryData addrs[NODES];
	uint8_t addr_bytes[NODES][8];
};

static void cfg_fixture_init(struct cfg_fixture *f)
{
	uint32_t node_of[4];
	uint64_t base[NODES], size[NODES];

	assert_int_equal(ctl_plan_vcpus(4, NODES, node_of), 0);
	assert_int_equal(ctl_plan_homes(96ULL << 20, NODES, base, size), 0);
	rackvm__config__init(&f->cfg);
	for (int i = 0; i < 4; i++) {
		rackvm__vcpu_placement__init(&f->vp[i]);
		f->vp[i].vcpu = (uint32_t)i;
		f->vp[i].node = node_of[i];
		f->vpp[i] = &f->vp[i];
	}
	for (int i = 0; i < NODES; i++) {
		rackvm__mem_range__init(&f->mr[i]);
		f->mr[i].node = (uint32_t)i;
		f->mr[i].start = base[i];
		f->mr[i].size = size[i];
		f->mrp[i] = &f->mr[i];
		memset(f->addr_bytes[i], 0x10 + i, sizeof(f->addr_bytes[i]));
		f->addrs[i].data = f->addr_bytes[i];
		f->addrs[i].len = sizeof(f->addr_bytes[i]);
	}
	f->cfg.node_id = 1;
	f->cfg.node_count = NODES;
	f->cfg.n_vcpus = 4;
	f->cfg.vcpus = f->vpp;
	f->cfg.n_homes = NODES;
	f->cfg.homes = f->mrp;
	f->cfg.n_peer_addrs = NODES;
	f->cfg.peer_addrs = f->addrs;
	f->cfg.provider = "tcp";
	f->cfg.heartbeat_ms = 200;
	f->cfg.check_rounds = 10;
}

/* Packs @env and decodes it again; returns ctl_decode's result. */
static int roundtrip(Rackvm__Envelope *env, Rackvm__Envelope **out)
{
	size_t len = rackvm__envelope__get_packed_size(env);
	uint8_t *buf = malloc(len + 1);
	char why[256];
	int ret;

	assert_non_null(buf);
	rackvm__envelope__pack(env, buf);
	ret = ctl_decode(buf, len, out, why, sizeof(why));
	free(buf);
	return ret;
}

static void test_config_roundtrip(void **state)
{
	Rackvm__Envelope env = RACKVM__ENVELOPE__INIT, *out;
	struct cfg_fixture f;

	(void)state;
	cfg_fixture_init(&f);
	env.version = CTL_PROTO_VERSION;
	env.body_case = RACKVM__ENVELOPE__BODY_CONFIG;
	env.config = &f.cfg;
	assert_int_equal(roundtrip(&env, &out), 0);
	assert_int_equal(out->body_case, RACKVM__ENVELOPE__BODY_CONFIG);
	assert_int_equal(out->config->node_id, 1);
	assert_int_equal(out->config->n_peer_addrs, NODES);
	assert_memory_equal(out->config->peer_addrs[2].data, f.addr_bytes[2], 8);
	assert_int_equal(out->config->vcpus[3]->node, 2);
	assert_int_equal(out->config->homes[2]->start + out->config->homes[2]->size,
			 96ULL << 20);
	assert_string_equal(ctl_body_name(out), "Config");
	rackvm__envelope__free_unpacked(out, NULL);
}

static void test_config_invalid(void **state)
{
	struct cfg_fixture f;
	char why[256];

	(void)state;
	cfg_fixture_init(&f);
	assert_int_equal(ctl_validate_config(&f.cfg, why, sizeof(why)), 0);
	f.cfg.node_id = NODES;
	assert_int_equal(ctl_validate_config(&f.cfg, why, sizeof(why)), -EPROTO);
	cfg_fixture_init(&f);
	f.cfg.n_peer_addrs = NODES - 1;
	assert_int_equal(ctl_validate_config(&f.cfg, why, sizeof(why)), -EPROTO);
	cfg_fixture_init(&f);
	f.addrs[1].len = 0;
	assert_int_equal(ctl_validate_config(&f.cfg, why, sizeof(why)), -EPROTO);
	cfg_fixture_init(&f);
	f.mr[1].start += 4096; /* a hole between homes 0 and 1 */
	assert_int_equal(ctl_validate_config(&f.cfg, why, sizeof(why)), -EPROTO);
	cfg_fixture_init(&f);
	f.mr[2].size = UINT64_MAX - 4095; /* wraps around */
	assert_int_equal(ctl_validate_config(&f.cfg, why, sizeof(why)), -EPROTO);
	cfg_fixture_init(&f);
	f.vp[2].node = NODES;
	assert_int_equal(ctl_validate_config(&f.cfg, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "vCPU placement entry 2"));
	cfg_fixture_init(&f);
	f.cfg.heartbeat_ms = 1;
	assert_int_equal(ctl_validate_config(&f.cfg, why, sizeof(why)), -EPROTO);
}

static void test_hello_join(void **state)
{
	Rackvm__Envelope env = RACKVM__ENVELOPE__INIT, *out;
	Rackvm__Join j = RACKVM__JOIN__INIT;
	Rackvm__Hello h = RACKVM__HELLO__INIT;
	uint8_t addr[XPORT_ADDR_MAX + 1] = {1, 2, 3};

	(void)state;
	env.version = CTL_PROTO_VERSION;
	env.body_case = RACKVM__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	h.hostname = "host-a";
	h.pid = 42;
	h.has_want_id = true;
	h.want_id = 3;
	assert_int_equal(roundtrip(&env, &out), 0);
	assert_string_equal(out->hello->hostname, "host-a");
	assert_true(out->hello->has_want_id);
	rackvm__envelope__free_unpacked(out, NULL);
	h.want_id = CTL_MAX_NODES;
	assert_int_equal(roundtrip(&env, &out), -EPROTO);
	assert_null(out);

	env.body_case = RACKVM__ENVELOPE__BODY_JOIN;
	env.join = &j;
	j.hostname = "host-a";
	j.pid = 42;
	j.cpus = 2;
	j.mem = 1 << 30;
	j.fabric_addr.data = addr;
	j.fabric_addr.len = 3;
	assert_int_equal(roundtrip(&env, &out), 0);
	assert_int_equal(out->join->fabric_addr.len, 3);
	rackvm__envelope__free_unpacked(out, NULL);
	j.fabric_addr.len = 0;
	assert_int_equal(roundtrip(&env, &out), -EPROTO);
	j.fabric_addr.len = XPORT_ADDR_MAX + 1;
	assert_int_equal(roundtrip(&env, &out), -EPROTO);
	j.fabric_addr.len = 3;
	j.hostname = "";
	assert_int_equal(roundtrip(&env, &out), -EPROTO);
}

static void test_version_and_garbage(void **state)
{
	Rackvm__Envelope env = RACKVM__ENVELOPE__INIT, *out;
	Rackvm__Start start = RACKVM__START__INIT;
	const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x34};
	char why[256];
	uint8_t buf[64];
	size_t len;

	(void)state;
	env.version = CTL_PROTO_VERSION + 1;
	env.body_case = RACKVM__ENVELOPE__BODY_START;
	env.start = &start;
	assert_int_equal(roundtrip(&env, &out), -EPROTONOSUPPORT);
	assert_non_null(out); /* so that an Error from a newer peer is still readable */
	rackvm__envelope__free_unpacked(out, NULL);

	assert_int_equal(ctl_decode(garbage, sizeof(garbage), &out, why, sizeof(why)),
			 -EPROTO);
	assert_null(out);
	assert_non_null(strstr(why, "7 bytes"));

	env.version = CTL_PROTO_VERSION;
	env.body_case = RACKVM__ENVELOPE__BODY__NOT_SET;
	assert_int_equal(roundtrip(&env, &out), -EPROTO);

	/* a truncated Stop misses its required reason */
	Rackvm__Stop stop = RACKVM__STOP__INIT;
	stop.reason = "node 1 (h/1) stopped answering";
	env.body_case = RACKVM__ENVELOPE__BODY_STOP;
	env.stop = &stop;
	len = rackvm__envelope__get_packed_size(&env);
	assert_true(len < sizeof(buf));
	rackvm__envelope__pack(&env, buf);
	assert_int_equal(ctl_decode(buf, len, &out, why, sizeof(why)), 0);
	rackvm__envelope__free_unpacked(out, NULL);
	assert_int_equal(ctl_decode(buf, len - 5, &out, why, sizeof(why)), -EPROTO);
}

static void test_error_code_range(void **state)
{
	Rackvm__Envelope env = RACKVM__ENVELOPE__INIT, *out;
	Rackvm__Error err = RACKVM__ERROR__INIT;

	(void)state;
	env.version = CTL_PROTO_VERSION;
	env.body_case = RACKVM__ENVELOPE__BODY_ERROR;
	env.error = &err;
	err.code = RACKVM__ERROR__CODE__CLUSTER_FULL;
	err.message = "cluster is full";
	assert_int_equal(roundtrip(&env, &out), 0);
	rackvm__envelope__free_unpacked(out, NULL);
	err.code = (Rackvm__Error__Code)77;
	assert_int_equal(roundtrip(&env, &out), -EPROTO);
}

static void test_migrate_msgs(void **state)
{
	Rackvm__Envelope env = RACKVM__ENVELOPE__INIT, *out;
	Rackvm__Migrate m = RACKVM__MIGRATE__INIT;
	Rackvm__MigrateDone d = RACKVM__MIGRATE_DONE__INIT;
	char big[CTL_TEXT_MAX + 2];

	(void)state;
	env.version = CTL_PROTO_VERSION;
	env.body_case = RACKVM__ENVELOPE__BODY_MIGRATE;
	env.migrate = &m;
	m.vcpu = 3;
	m.to = 1;
	assert_int_equal(roundtrip(&env, &out), 0);
	assert_int_equal(out->migrate->vcpu, 3);
	rackvm__envelope__free_unpacked(out, NULL);
	m.vcpu = CTL_VCPUS_MAX; /* out of any VM's range */
	assert_int_equal(roundtrip(&env, &out), -EPROTO);
	m.vcpu = 0;
	m.to = CTL_MAX_NODES;
	assert_int_equal(roundtrip(&env, &out), -EPROTO);

	env.body_case = RACKVM__ENVELOPE__BODY_MIGRATE_DONE;
	env.migrate_done = &d;
	d.vcpu = 1;
	d.from = 0;
	d.to = 2;
	d.ok = true;
	d.has_pause_ns = true;
	d.pause_ns = 123456;
	d.has_save_ns = d.has_arrive_ns = d.has_load_ns = true;
	d.save_ns = 3000;
	d.arrive_ns = 100000;
	d.load_ns = 20000;
	assert_int_equal(roundtrip(&env, &out), 0);
	assert_int_equal(out->migrate_done->pause_ns, 123456);
	assert_true(out->migrate_done->has_arrive_ns && out->migrate_done->has_load_ns);
	assert_int_equal(out->migrate_done->arrive_ns, 100000);
	assert_int_equal(out->migrate_done->load_ns, 20000);
	assert_int_equal(out->migrate_done->save_ns, 3000);
	rackvm__envelope__free_unpacked(out, NULL);
	d.from = CTL_MAX_NODES;
	assert_int_equal(roundtrip(&env, &out), -EPROTO);
	d.from = 0;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	d.detail = big;
	assert_int_equal(roundtrip(&env, &out), -EPROTO);
	d.detail = NULL;
	d.vcpu = CTL_VCPUS_MAX;
	assert_int_equal(roundtrip(&env, &out), -EPROTO);
}

static void test_plan(void **state)
{
	uint32_t node_of[8];
	uint64_t base[4], size[4];

	(void)state;
	assert_int_equal(ctl_plan_vcpus(8, 3, node_of), 0);
	for (int i = 1; i < 8; i++)
		assert_true(node_of[i] >= node_of[i - 1] && node_of[i] < 3);
	assert_int_equal(node_of[0], 0);
	assert_int_equal(node_of[7], 2);
	assert_int_equal(ctl_plan_vcpus(0, 3, node_of), -EINVAL);
	assert_int_equal(ctl_plan_homes((256ULL << 20) + 4096, 3, base, size), 0);
	assert_int_equal(base[0], 0);
	assert_int_equal(size[0] % (2 << 20), 0);
	assert_int_equal(base[1], size[0]);
	assert_int_equal(base[3 - 1] + size[3 - 1], (256ULL << 20) + 4096);
	assert_int_equal(ctl_plan_homes(4 << 20, 3, base, size), -EINVAL);
	assert_int_equal(ctl_plan_homes((64 << 20) + 1, 2, base, size), -EINVAL);
}

static void test_zmq_framing(void **state)
{
	void *ctx = zmq_ctx_new(), *router, *dealer;
	Rackvm__Envelope env = RACKVM__ENVELOPE__INIT, *out;
	Rackvm__Start start = RACKVM__START__INIT;
	zmq_pollitem_t it;
	struct ctl_frame f;
	char why[256];

	(void)state;
	router = zmq_socket(ctx, ZMQ_ROUTER);
	dealer = zmq_socket(ctx, ZMQ_DEALER);
	assert_int_equal(zmq_bind(router, "inproc://ctl-test"), 0);
	assert_int_equal(zmq_connect(dealer, "inproc://ctl-test"), 0);
	env.version = CTL_PROTO_VERSION;
	env.body_case = RACKVM__ENVELOPE__BODY_START;
	env.start = &start;
	assert_int_equal(ctl_send(dealer, NULL, 0, &env), 0);
	it = (zmq_pollitem_t){.socket = router, .events = ZMQ_POLLIN};
	assert_int_equal(zmq_poll(&it, 1, 2000), 1);
	assert_int_equal(ctl_recv(router, true, &f), 0);
	assert_true(f.id_len > 0);
	assert_int_equal(ctl_decode(f.data, f.len, &out, why, sizeof(why)), 0);
	assert_int_equal(out->body_case, RACKVM__ENVELOPE__BODY_START);
	rackvm__envelope__free_unpacked(out, NULL);

	/* answer through the routing id, then a stray second part is refused */
	assert_int_equal(ctl_send_stop(router, f.id, f.id_len, true, "done", -1), 0);
	ctl_frame_free(&f);
	it = (zmq_pollitem_t){.socket = dealer, .events = ZMQ_POLLIN};
	assert_int_equal(zmq_poll(&it, 1, 2000), 1);
	assert_int_equal(ctl_recv(dealer, false, &f), 0);
	assert_int_equal(ctl_decode(f.data, f.len, &out, why, sizeof(why)), 0);
	assert_string_equal(out->stop->reason, "done");
	rackvm__envelope__free_unpacked(out, NULL);
	ctl_frame_free(&f);
	zmq_send(dealer, "a", 1, ZMQ_SNDMORE);
	zmq_send(dealer, "b", 1, 0);
	it = (zmq_pollitem_t){.socket = router, .events = ZMQ_POLLIN};
	assert_int_equal(zmq_poll(&it, 1, 2000), 1);
	assert_int_equal(ctl_recv(router, true, &f), -EPROTO);
	ctl_frame_free(&f);
	assert_int_equal(ctl_recv(router, true, &f), -EAGAIN);

	zmq_close(dealer);
	zmq_close(router);
	zmq_ctx_term(ctx);
}

/* A heartbeat may carry every vCPU's fault counters: CTL_COUNTERS_MAX keys
 * pass, one more is refused. */
static void test_heartbeat_counters(void **state)
{
	Rackvm__Envelope env = RACKVM__ENVELOPE__INIT, *out;
	Rackvm__Heartbeat hb = RACKVM__HEARTBEAT__INIT;
	Rackvm__Stats st = RACKVM__STATS__INIT;
	size_t n = CTL_COUNTERS_MAX + 1;
	Rackvm__Stats__CountersEntry *e = calloc(n, sizeof(*e)),
				     **ep = calloc(n, sizeof(*ep));
	char(*keys)[32] = calloc(n, sizeof(*keys));

	(void)state;
	assert_non_null(e);
	assert_non_null(ep);
	assert_non_null(keys);
	for (size_t i = 0; i < n; i++) {
		rackvm__stats__counters_entry__init(&e[i]);
		snprintf(keys[i], sizeof(keys[i]), "vcpu.%zu.faults.from.%zu", i / 8,
			 i % 8);
		e[i].key = keys[i];
		e[i].has_value = true;
		e[i].value = i;
		ep[i] = &e[i];
	}
	st.counters = ep;
	hb.node_id = 1;
	hb.seq = 7;
	hb.stats = &st;
	env.version = CTL_PROTO_VERSION;
	env.body_case = RACKVM__ENVELOPE__BODY_HEARTBEAT;
	env.heartbeat = &hb;
	st.n_counters = CTL_COUNTERS_MAX;
	assert_int_equal(roundtrip(&env, &out), 0);
	assert_int_equal(out->heartbeat->stats->n_counters, CTL_COUNTERS_MAX);
	rackvm__envelope__free_unpacked(out, NULL);
	st.n_counters = n;
	assert_int_equal(roundtrip(&env, &out), -EPROTO);
	free(keys);
	free(ep);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_roundtrip),
	    cmocka_unit_test(test_config_invalid),
	    cmocka_unit_test(test_hello_join),
	    cmocka_unit_test(test_version_and_garbage),
	    cmocka_unit_test(test_error_code_range),
	    cmocka_unit_test(test_migrate_msgs),
	    cmocka_unit_test(test_plan),
	    cmocka_unit_test(test_zmq_framing),
	    cmocka_unit_test(test_heartbeat_counters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
