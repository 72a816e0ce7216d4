// SPDX-License-Identifier: MIT
/*
 * The native ibverbs RC backend. Where there is no RDMA device (this box:
 * no RDMA NIC, no rdma_rxe) every case skips, naming what is missing; on a
 * host with one (soft-RoCE between QEMU hosts) it forms real 2- and 3-node
 * meshes on that device: all-to-all messages, the health check (which reads
 * every peer one-sidedly), reads and writes with content checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/test_xport_harness.h"

#define PAGE	  4096
#define TYPE_DATA 5

static void skip_without_device(void)
{
	struct xport_config cfg = {.backend = "verbs", .node_id = 0, .nr_nodes = 2};
	struct transport *t;
	int ret = xport_open(&cfg, &t);

	if (ret == -ENODEV) {
		fprintf(stderr,
			"skipped: no RDMA device (ibv_get_device_list found none, "
			"or rackvm was built without libibverbs)\n");
		skip();
	}
	assert_int_equal(ret, 0);
	xport_close(t);
}

static void test_open_without_device_says_enodev(void **state)
{
	struct xport_config cfg = {.backend = "verbs", .node_id = 0, .nr_nodes = 2};
	struct transport *t = NULL;

	(void)state;
	skip_without_device();
	/* a device exists: opening works and gives an address with QP numbers */
	assert_int_equal(xport_open(&cfg, &t), 0);
	xport_close(t);
}

static int verbs_node(struct transport *t, uint32_t self, uint32_t n, uint8_t *region,
		      void *arg)
{
	struct xport_event ev[8];
	uint32_t recvs = 0, peer = (self + 1) % n;
	bool read_done = false;

	(void)arg;
	for (uint32_t p = 0; p < n; p++)
		if (p != self && xport_send(t, p, TYPE_DATA, &self, sizeof(self)))
			return 70;
	if (xport_read(t, peer, 0, 0, 2 * PAGE, PAGE, 1))
		return 71;
	while (recvs < n - 1 || !read_done) {
		int r = xport_poll(t, ev, 8);

		if (r < 0)
			return 72;
		for (int i = 0; i < r; i++) {
			if (ev[i].status)
				return 73;
			if (ev[i].kind == XPORT_EV_RECV) {
				recvs++;
				continue;
			}
			for (size_t k = 0; k < PAGE; k++)
				if (region[2 * PAGE + k] != mesh_byte(peer, k))
					return 74;
			read_done = true;
		}
	}
	return xport_mesh_selftest(t, 3) ? 75 : 0;
}

static void run(unsigned int n)
{
	struct mesh_opts o = {.backend = "verbs", .n = n, .region_len = 4 * PAGE};

	skip_without_device();
	assert_int_equal(mesh_run(&o, verbs_node, NULL), 0);
}

static void test_mesh_2(void **state)
{
	(void)state;
	run(2);
}

static void test_mesh_3(void **state)
{
	(void)state;
	run(3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_without_device_says_enodev),
	    cmocka_unit_test(test_mesh_2),
	    cmocka_unit_test(test_mesh_3),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
