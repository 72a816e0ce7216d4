// SPDX-License-Identifier: MIT
/*
 * Real libfabric meshes (tcp and shm over loopback) of 2, 3 and 4 forked
 * processes: all-to-all messages with every payload checked and arrival
 * order per sender checked, every node flooding every peer before it polls
 * once (many in flight, both directions at once: must not deadlock), then
 * the mesh health check. Each node runs under alarm(); exit codes checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/test_xport_harness.h"

#define FLOOD	  400 /* messages to each peer: far more than the send slots */
#define TYPE_DATA 7

static size_t msg_len(uint32_t i)
{
	static const size_t sizes[] = {0, 1, 8, 4096, XPORT_MSG_MAX, 100, 4064};

	return sizes[i % 7];
}

static void msg_fill(uint8_t *buf, uint32_t src, uint32_t dst, uint32_t i, size_t len)
{
	for (size_t k = 0; k < len; k++)
		buf[k] = (uint8_t)(src * 71u + dst * 13u + i * 3u + k);
}

static int check_recv(const struct xport_event *e, uint32_t self, uint32_t *next)
{
	uint8_t want[XPORT_MSG_MAX];
	uint32_t i = next[e->src];

	if (e->kind != XPORT_EV_RECV || e->type != TYPE_DATA) {
		fprintf(stderr, "node %u: unexpected event kind %u type %u status %d\n",
			self, e->kind, e->type, e->status);
		return -1;
	}
	if (e->len != msg_len(i)) {
		fprintf(stderr, "node %u: from %u msg %u: len %u want %zu (order?)\n",
			self, e->src, i, e->len, msg_len(i));
		return -1;
	}
	msg_fill(want, e->src, self, i, e->len);
	if (e->len && memcmp(want, e->data, e->len)) {
		fprintf(stderr, "node %u: from %u msg %u: payload differs\n", self,
			e->src, i);
		return -1;
	}
	next[e->src]++;
	return 0;
}

static int all_to_all(struct transport *t, uint32_t self, uint32_t n, uint8_t *region,
		      void *arg)
{
	uint32_t next[MESH_MAX] = {0}, got = 0, want = FLOOD * (n - 1);
	uint8_t buf[XPORT_MSG_MAX];
	struct xport_event ev[8];

	(void)region;
	(void)arg;
	for (uint32_t i = 0; i < FLOOD; i++) {
		for (uint32_t p = 0; p < n; p++) {
			if (p == self)
				continue;
			msg_fill(buf, self, p, i, msg_len(i));
			if (xport_send(t, p, TYPE_DATA, buf, msg_len(i)))
				return 20;
		}
	}
	while (got < want) {
		int r = xport_poll(t, ev, 8);

		if (r < 0)
			return 21;
		for (int k = 0; k < r; k++, got++)
			if (check_recv(&ev[k], self, next))
				return 22;
	}
	return xport_mesh_selftest(t, 5) ? 23 : 0;
}

static void run(const char *prov, unsigned int n, bool late)
{
	struct mesh_opts o = {.prov = prov, .n = n, .late_identity = late};

	assert_int_equal(mesh_run(&o, all_to_all, NULL), 0);
}

static void test_tcp_2(void **state)
{
	(void)state;
	run("tcp", 2, false);
}

static void test_tcp_3_late_identity(void **state)
{
	(void)state;
	run("tcp", 3, true);
}

static void test_tcp_4(void **state)
{
	(void)state;
	run("tcp", 4, false);
}

static void test_shm_2(void **state)
{
	(void)state;
	run("shm", 2, false);
}

static void test_shm_3(void **state)
{
	(void)state;
	run("shm", 3, false);
}

static void test_shm_4_late_identity(void **state)
{
	(void)state;
	run("shm", 4, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tcp_2), cmocka_unit_test(test_tcp_3_late_identity),
	    cmocka_unit_test(test_tcp_4), cmocka_unit_test(test_shm_2),
	    cmocka_unit_test(test_shm_3), cmocka_unit_test(test_shm_4_late_identity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
