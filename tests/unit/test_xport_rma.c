// SPDX-License-Identifier: MIT
/*
 * One-sided reads and writes of 4 KiB pages over real libfabric (tcp, shm):
 * every node reads a page of every peer's region and checks it byte for
 * byte, writes a page into every peer, and each peer checks what arrived
 * once the writer's "done" message (sent after its write completions) is in.
 * Out-of-bounds and unregistered requests are refused before the wire.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/test_xport_harness.h"

#define PAGE	  4096
#define PAGES	  16 /* region 0: pages 0-3 readable, 4+: landing / written */
#define TYPE_DONE 9

/* Waits for @count completions of @kind; counts early DONE messages. */
static int wait_rma(struct transport *t, uint32_t kind, uint32_t count, uint32_t self,
		    uint32_t *done)
{
	struct xport_event ev[8];

	while (count) {
		int r = xport_poll(t, ev, 8);

		if (r < 0)
			return -1;
		for (int i = 0; i < r; i++) {
			if (done && ev[i].kind == XPORT_EV_RECV &&
			    ev[i].type == TYPE_DONE) {
				(*done)++;
				continue;
			}
			if (ev[i].kind != kind || ev[i].status) {
				fprintf(stderr,
					"node %u: event kind %u status %d cookie %llu\n",
					self, ev[i].kind, ev[i].status,
					(unsigned long long)ev[i].cookie);
				return -1;
			}
			count--;
		}
	}
	return 0;
}

static int check_page(const uint8_t *page, uint32_t node, uint64_t off, const char *what)
{
	for (size_t i = 0; i < PAGE; i++) {
		if (page[i] != mesh_byte(node, off + i)) {
			fprintf(stderr, "%s: byte %zu is 0x%02x, want 0x%02x\n", what, i,
				page[i], mesh_byte(node, off + i));
			return -1;
		}
	}
	return 0;
}

static int refused(struct transport *t, uint32_t peer)
{
	size_t len = PAGES * PAGE;

	return xport_read(t, peer, 0, len - 8, 0, 16, 1) == -ERANGE &&
	       xport_read(t, peer, 0, 0, len, 1, 1) == -ERANGE &&
	       xport_read(t, peer, 0, UINT64_MAX, 0, 2, 1) == -ERANGE &&
	       xport_write(t, peer, 1, 0, 0, PAGE, 1) == -ENOENT &&
	       xport_read(t, peer, XPORT_MAX_REGIONS, 0, 0, PAGE, 1) == -EINVAL &&
	       xport_read(t, 99, 0, 0, 0, PAGE, 1) == -EINVAL;
}

/* Page (1 + peer % 3) of every peer lands at our page 4 + peer. */
static int read_peers(struct transport *t, uint32_t self, uint32_t n, uint8_t *region,
		      uint32_t *done)
{
	char what[64];

	for (uint32_t p = 0; p < n; p++)
		if (p != self &&
		    xport_read(t, p, 0, (1 + p % 3) * PAGE, (4 + p) * PAGE, PAGE, p))
			return -1;
	if (wait_rma(t, XPORT_EV_READ, n - 1, self, done))
		return -1;
	for (uint32_t p = 0; p < n; p++) {
		snprintf(what, sizeof(what), "node %u: read of node %u", self, p);
		if (p != self &&
		    check_page(region + (4 + p) * PAGE, p, (1 + p % 3) * PAGE, what))
			return -1;
	}
	return 0;
}

/* Our page 2 goes to every peer's page 8 + self. */
static int write_peers(struct transport *t, uint32_t self, uint32_t n, uint8_t *region,
		       uint32_t done)
{
	struct xport_event ev[8];
	char what[64];

	for (uint32_t p = 0; p < n; p++)
		if (p != self &&
		    xport_write(t, p, 0, (8 + self) * PAGE, 2 * PAGE, PAGE, p))
			return -1;
	if (wait_rma(t, XPORT_EV_WRITE, n - 1, self, &done))
		return -1;
	for (uint32_t p = 0; p < n; p++)
		if (p != self && xport_send(t, p, TYPE_DONE, NULL, 0))
			return -1;
	while (done < n - 1) {
		int r = xport_poll(t, ev, 8);

		if (r < 0)
			return -1;
		for (int i = 0; i < r; i++)
			done += ev[i].kind == XPORT_EV_RECV && ev[i].type == TYPE_DONE;
	}
	for (uint32_t p = 0; p < n; p++) {
		snprintf(what, sizeof(what), "node %u: write by node %u", self, p);
		if (p != self && check_page(region + (8 + p) * PAGE, p, 2 * PAGE, what))
			return -1;
	}
	return 0;
}

static int rma_node(struct transport *t, uint32_t self, uint32_t n, uint8_t *region,
		    void *arg)
{
	uint32_t done = 0; /* a fast peer's DONE may come before our reads end */

	(void)arg;
	if (!refused(t, (self + 1) % n))
		return 30;
	if (read_peers(t, self, n, region, &done))
		return 31;
	return write_peers(t, self, n, region, done) ? 32 : 0;
}

static void run(const char *prov, unsigned int n)
{
	struct mesh_opts o = {.prov = prov, .n = n, .region_len = PAGES * PAGE};

	assert_int_equal(mesh_run(&o, rma_node, NULL), 0);
}

static void test_tcp_2(void **state)
{
	(void)state;
	run("tcp", 2);
}

static void test_tcp_4(void **state)
{
	(void)state;
	run("tcp", 4);
}

static void test_shm_2(void **state)
{
	(void)state;
	run("shm", 2);
}

static void test_shm_3(void **state)
{
	(void)state;
	run("shm", 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tcp_2),
	    cmocka_unit_test(test_tcp_4),
	    cmocka_unit_test(test_shm_2),
	    cmocka_unit_test(test_shm_3),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
