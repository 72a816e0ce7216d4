// SPDX-License-Identifier: MIT
/*
 * Events beyond plain traffic, over real libfabric (tcp, shm):
 * - a sender of raw garbage through the same provider (wrong magic, wrong
 *   version, lying length, a runt) yields XPORT_EV_ERROR events, no crash,
 *   and the mesh keeps working;
 * - xport_wait_fd in epoll wakes a sleeping node for a late message;
 * - delay_us delays every message by that much without serialising them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

#include <cmocka.h>
#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>

#include "interconnect/wire.h"
#include "tests/unit/test_xport_harness.h"

#define TYPE_HELLO 3

static const char *g_prov;

struct rogue {
	struct fi_info *info;
	struct fid_fabric *fabric;
	struct fid_domain *domain;
	struct fid_cq *cq;
	struct fid_av *av;
	struct fid_ep *ep;
	fi_addr_t victim;
};

/* A bare libfabric endpoint of the same provider: no rackvm framing. */
static int rogue_open(struct rogue *r, const struct xport_addr *victim)
{
	struct fi_info *hints = fi_allocinfo();
	struct fi_cq_attr cq_attr = {.format = FI_CQ_FORMAT_CONTEXT};
	struct fi_av_attr av_attr = {.type = FI_AV_TABLE};
	int ret;

	hints->ep_attr->type = FI_EP_RDM;
	hints->caps = FI_MSG;
	hints->fabric_attr->prov_name = strdup(g_prov);
	ret = fi_getinfo(FI_VERSION(1, 9), strcmp(g_prov, "shm") ? "127.0.0.1" : NULL,
			 strcmp(g_prov, "shm") ? "0" : NULL,
			 strcmp(g_prov, "shm") ? FI_SOURCE : 0, hints, &r->info);
	fi_freeinfo(hints);
	if (ret || fi_fabric(r->info->fabric_attr, &r->fabric, NULL) ||
	    fi_domain(r->fabric, r->info, &r->domain, NULL) ||
	    fi_cq_open(r->domain, &cq_attr, &r->cq, NULL) ||
	    fi_av_open(r->domain, &av_attr, &r->av, NULL) ||
	    fi_endpoint(r->domain, r->info, &r->ep, NULL) ||
	    fi_ep_bind(r->ep, &r->cq->fid, FI_TRANSMIT | FI_RECV) ||
	    fi_ep_bind(r->ep, &r->av->fid, 0) || fi_enable(r->ep))
		return -1;
	return fi_av_insert(r->av, victim->bytes, 1, &r->victim, 0, NULL) == 1 ? 0 : -1;
}

static int rogue_send(struct rogue *r, const void *buf, size_t len)
{
	struct fi_cq_entry ce;
	ssize_t ret;

	do
		ret = fi_send(r->ep, buf, len, NULL, r->victim, NULL);
	while (ret == -FI_EAGAIN);
	if (ret)
		return -1;
	do
		ret = fi_cq_read(r->cq, &ce, 1);
	while (ret == -FI_EAGAIN);
	return ret == 1 ? 0 : -1;
}

static void rogue_close(struct rogue *r)
{
	fi_close(&r->ep->fid);
	fi_close(&r->av->fid);
	fi_close(&r->cq->fid);
	fi_close(&r->domain->fid);
	fi_close(&r->fabric->fid);
	fi_freeinfo(r->info);
}

/* Node 1 sprays node 0 with four bad messages, then says hello properly. */
static int spray(struct transport *t)
{
	struct xport_wire_hdr h = {.type = TYPE_HELLO, .src = 1, .dst = 0, .len = 500};
	uint8_t buf[256];
	struct rogue r = {0};
	int ret = -1;

	if (rogue_open(&r, &mesh_peers[0]))
		return 40;
	memset(buf, 0xab, sizeof(buf));
	if (rogue_send(&r, buf, 100)) /* wrong magic */
		goto out;
	xport_wire_encode(&h, buf); /* lying length: 500 announced, 10 sent */
	if (rogue_send(&r, buf, XPORT_WIRE_HDR_SIZE + 10))
		goto out;
	buf[4] = 9; /* unknown version */
	if (rogue_send(&r, buf, XPORT_WIRE_HDR_SIZE + 10) || rogue_send(&r, buf, 7))
		goto out;
	ret = xport_send(t, 0, TYPE_HELLO, "hi", 2);
out:
	rogue_close(&r);
	return ret ? 41 : 0;
}

static int victim(struct transport *t)
{
	unsigned int unknown = 0, named = 0, hello = 0;
	struct xport_event ev[8];

	while (unknown < 2 || named < 2 || !hello) {
		int n = xport_poll(t, ev, 8);

		if (n < 0)
			return 42;
		for (int i = 0; i < n; i++) {
			if (ev[i].kind == XPORT_EV_ERROR && ev[i].status < 0)
				ev[i].src == XPORT_NODE_UNKNOWN ? unknown++ : named++;
			else if (ev[i].kind == XPORT_EV_RECV && ev[i].len == 2 &&
				 !memcmp(ev[i].data, "hi", 2))
				hello++;
			else
				return 43;
		}
	}
	return unknown == 2 && named == 2 ? 0 : 44;
}

static int garbage_node(struct transport *t, uint32_t self, uint32_t n, uint8_t *region,
			void *arg)
{
	(void)n;
	(void)region;
	(void)arg;
	return self ? spray(t) : victim(t);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Node 0 sleeps in epoll on the wait fd; node 1 sends 200 ms later. */
static int sleeper(struct transport *t)
{
	int ep = epoll_create1(0), sleeps = 0, n;
	struct epoll_event ee = {.events = EPOLLIN};
	struct xport_event ev[4];
	double t0 = now_s();

	if (epoll_ctl(ep, EPOLL_CTL_ADD, xport_wait_fd(t), &ee))
		return 50;
	for (;;) {
		n = xport_poll(t, ev, 4);
		if (n < 0)
			return 51;
		if (n > 0)
			break;
		if (epoll_wait(ep, &ee, 1, 5000) != 1)
			return 52; /* the message came and the fd never fired */
		sleeps++;
	}
	close(ep);
	if (ev[0].kind != XPORT_EV_RECV || ev[0].type != TYPE_HELLO)
		return 53;
	fprintf(stderr, "wait fd: woke %d times, message after %.3f s\n", sleeps,
		now_s() - t0);
	return now_s() - t0 < 3 ? 0 : 54;
}

static int wait_node(struct transport *t, uint32_t self, uint32_t n, uint8_t *region,
		     void *arg)
{
	(void)n;
	(void)region;
	(void)arg;
	if (!self)
		return sleeper(t);
	usleep(200000);
	return xport_send(t, 0, TYPE_HELLO, "hi", 2) ? 55 : 0;
}

#define DELAY_US 20000
#define ECHOES	 50

static int delay_node(struct transport *t, uint32_t self, uint32_t n, uint8_t *region,
		      void *arg)
{
	struct xport_event ev[8];
	double t0 = now_s(), first = 0;
	int got = 0;

	(void)n;
	(void)region;
	(void)arg;
	for (int i = 0; !self && i < ECHOES; i++)
		if (xport_send(t, 1, TYPE_HELLO, &i, sizeof(i)))
			return 60;
	while (got < ECHOES) {
		int r = xport_poll(t, ev, 8);

		if (r < 0)
			return 61;
		for (int i = 0; i < r; i++, got++)
			if (self && xport_send(t, 0, TYPE_HELLO, ev[i].data, ev[i].len))
				return 62;
		if (r && !first)
			first = now_s() - t0;
	}
	if (self)
		return 0;
	fprintf(stderr, "delay %d us: first echo %.3f s, all %d after %.3f s\n", DELAY_US,
		first, ECHOES, now_s() - t0);
	/* two one-way delays for the first; the rest travel alongside it */
	return first >= 2 * DELAY_US * 1e-6 && now_s() - t0 < 0.5 ? 0 : 63;
}

static void run(const char *prov, mesh_fn fn, uint32_t delay_us)
{
	struct mesh_opts o = {.prov = prov, .n = 2, .delay_us = delay_us};

	g_prov = prov;
	assert_int_equal(mesh_run(&o, fn, NULL), 0);
}

static void test_garbage_tcp(void **state)
{
	(void)state;
	run("tcp", garbage_node, 0);
}

static void test_garbage_shm(void **state)
{
	(void)state;
	run("shm", garbage_node, 0);
}

static void test_wait_fd_tcp(void **state)
{
	(void)state;
	run("tcp", wait_node, 0);
}

static void test_wait_fd_shm(void **state)
{
	(void)state;
	run("shm", wait_node, 0);
}

static void test_delay_tcp(void **state)
{
	(void)state;
	run("tcp", delay_node, DELAY_US);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_garbage_tcp), cmocka_unit_test(test_garbage_shm),
	    cmocka_unit_test(test_wait_fd_tcp), cmocka_unit_test(test_wait_fd_shm),
	    cmocka_unit_test(test_delay_tcp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
