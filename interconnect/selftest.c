// SPDX-License-Identifier: MIT
/*
 * xport_mesh_selftest: the mesh health check. Every node sends each peer
 * PINGs of varied sizes; the transport answers PINGs by itself (whenever it
 * is polled, so a node that is not in its own check yet still answers), and
 * the sender checks each PONG byte for byte. Then it reads each peer's
 * self-test page one-sidedly and checks the pattern derived from its id.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interconnect/xport_priv.h"

#define ST_HDR 16 /* u32 round, src, dst, len */

static uint8_t st_byte(uint32_t src, uint32_t dst, uint32_t round, size_t i)
{
	return (uint8_t)(src * 29u + dst * 7u + round * 13u + i + (i >> 8));
}

void xb_scratch_fill(uint8_t *page, uint32_t node)
{
	for (size_t i = 0; i < XB_PAGE; i++)
		page[i] = (uint8_t)(node * 131u + i * 7u + (i >> 8));
}

static size_t st_len(uint32_t dst, uint32_t round)
{
	/* small, full-size and in between: exercises eager and large paths */
	if (round % 3 == 0)
		return ST_HDR;
	if (round % 3 == 1)
		return XPORT_MSG_MAX;
	return ST_HDR + (round * 977u + dst * 131u) % (XPORT_MSG_MAX - ST_HDR);
}

static void st_build(uint8_t *buf, uint32_t src, uint32_t dst, uint32_t round, size_t len)
{
	uint32_t f[4] = {htole32(round), htole32(src), htole32(dst),
			 htole32((uint32_t)len)};

	memcpy(buf, f, ST_HDR);
	for (size_t i = ST_HDR; i < len; i++)
		buf[i] = st_byte(src, dst, round, i);
}

void xb_selftest_ping(struct xport_base *b, uint32_t src, const void *buf, size_t len)
{
	struct xb_pend *p = malloc(sizeof(*p) + len);

	b->st.ping_seen[src]++;
	if (!p) {
		xb_log(b, "out of memory: health-check echo to node %u dropped", src);
		return;
	}
	memset(&p->ev, 0, sizeof(p->ev));
	p->next = NULL;
	p->ev.src = src;
	p->ev.len = (uint32_t)len;
	memcpy(p->data, buf, len);
	/* answered from the poll loop: sending here could recurse into progress */
	if (b->st.owed_tail)
		b->st.owed_tail->next = p;
	else
		b->st.owed = p;
	b->st.owed_tail = p;
}

void xb_flush_owed(struct xport_base *b)
{
	while (b->st.owed) {
		struct xb_pend *p = b->st.owed;
		int ret;

		b->st.owed = p->next;
		if (!b->st.owed)
			b->st.owed_tail = NULL;
		ret = xb_send_locked(b, p->ev.src, XPORT_WIRE_PONG, p->data, p->ev.len);
		if (ret)
			xb_log(b, "health-check echo to node %u failed: %s", p->ev.src,
			       strerror(-ret));
		free(p);
	}
}

void xb_selftest_pong(struct xport_base *b, uint32_t src, const void *buf, size_t len)
{
	uint8_t want[XPORT_MSG_MAX];
	uint32_t f[4];

	if (!b->st.active)
		return; /* a late echo of a check that already gave up */
	if (len < ST_HDR)
		goto bad;
	memcpy(f, buf, ST_HDR);
	if (le32toh(f[0]) >= b->st.rounds || le32toh(f[1]) != b->self ||
	    le32toh(f[2]) != src || le32toh(f[3]) != len)
		goto bad;
	st_build(want, b->self, src, le32toh(f[0]), len);
	if (memcmp(want, buf, len))
		goto bad;
	b->st.pong_ok[src]++;
	return;
bad:
	b->st.bad++;
	xb_log(b, "health check: bad echo from node %u (%zu bytes)", src, len);
}

static int st_send_pings(struct xport_base *b, unsigned int rounds)
{
	uint8_t buf[XPORT_MSG_MAX];
	int ret;

	for (uint32_t r = 0; r < rounds; r++) {
		for (uint32_t p = 0; p < b->nr_nodes; p++) {
			size_t len = st_len(p, r);

			if (p == b->self)
				continue;
			st_build(buf, b->self, p, r, len);
			ret = xb_send_locked(b, p, XPORT_WIRE_PING, buf, len);
			if (ret)
				return ret;
		}
	}
	return 0;
}

struct st_reader {
	uint32_t cur; /* the peer being read, or the next one */
	bool posted;
};

static void st_check_read(struct xport_base *b, uint32_t p)
{
	uint8_t want[XB_PAGE], *land = (uint8_t *)b->scratch + XB_PAGE;
	int s = b->st.read_status[p];

	xb_scratch_fill(want, p);
	if (!s && !memcmp(land, want, XB_PAGE))
		return;
	b->st.bad++;
	xb_log(b, "health check: one-sided read of node %u %s", p,
	       s ? strerror(-s) : "returned wrong bytes");
}

/* Reads go one peer at a time: they all land on our scratch page 1. */
static int st_reads(struct xport_base *b, struct st_reader *r)
{
	if (r->posted) {
		if (b->st.read_status[r->cur] == 1)
			return 0;
		st_check_read(b, r->cur);
		r->posted = false;
		r->cur++;
	}
	while (r->cur < b->nr_nodes && r->cur == b->self)
		r->cur++;
	if (r->cur >= b->nr_nodes)
		return 0;
	memset((uint8_t *)b->scratch + XB_PAGE, 0, XB_PAGE);
	b->st.read_status[r->cur] = 1;
	r->posted = true;
	return xb_rma_locked(b, false, true, r->cur, XB_SCRATCH, 0, XB_PAGE, XB_PAGE, 0);
}

static bool st_done(struct xport_base *b, const struct st_reader *r)
{
	if (r->cur < b->nr_nodes || b->bops->busy(b) || b->st.owed)
		return false;
	for (uint32_t p = 0; p < b->nr_nodes; p++)
		if (p != b->self && (b->st.pong_ok[p] < b->st.rounds ||
				     b->st.ping_seen[p] < b->st.ping_expect))
			return false;
	return true;
}

static void st_report(struct xport_base *b, const struct st_reader *r)
{
	fprintf(stderr, "rackvm xport: node %u: health check timed out:", b->self);
	for (uint32_t p = 0; p < b->nr_nodes; p++) {
		if (p == b->self)
			continue;
		if (b->st.pong_ok[p] < b->st.rounds)
			fprintf(stderr, " node %u echoed %u/%u;", p, b->st.pong_ok[p],
				b->st.rounds);
		if (b->st.ping_seen[p] < b->st.ping_expect)
			fprintf(stderr, " node %u sent %llu/%llu checks;", p,
				(unsigned long long)b->st.ping_seen[p],
				(unsigned long long)b->st.ping_expect);
	}
	if (r->cur < b->nr_nodes)
		fprintf(stderr, " read of node %u unanswered;", r->cur);
	fprintf(stderr, " (is every node running the check?)\n");
}

static int st_run(struct xport_base *b)
{
	uint64_t deadline = xb_now_ns() + XB_SELFTEST_TIMEOUT_MS * 1000000ull;
	struct st_reader r = {0};
	bool done;
	int ret;

	for (;;) {
		pthread_mutex_lock(&b->lock);
		ret = st_reads(b, &r);
		done = !ret && st_done(b, &r);
		pthread_mutex_unlock(&b->lock);
		if (ret || done)
			return ret;
		if (xb_now_ns() > deadline) {
			st_report(b, &r);
			return -ETIMEDOUT;
		}
		ret = xb_pump(b, 2);
		if (ret)
			return ret;
	}
}

int xport_mesh_selftest(struct transport *t, unsigned int rounds)
{
	struct xport_base *b = xb_of(t);
	int ret;

	if (!b->connected)
		return -ENOTCONN;
	if (!rounds || rounds > 10000)
		return -EINVAL;
	pthread_mutex_lock(&b->lock);
	b->st.active = true;
	b->st.rounds = rounds;
	b->st.ping_expect += rounds;
	b->st.bad = 0;
	memset(b->st.pong_ok, 0, b->max_nodes * sizeof(*b->st.pong_ok));
	ret = st_send_pings(b, rounds);
	pthread_mutex_unlock(&b->lock);
	if (!ret)
		ret = st_run(b);
	pthread_mutex_lock(&b->lock);
	b->st.active = false;
	if (!ret && b->st.bad) {
		fprintf(stderr,
			"rackvm xport: node %u: health check found %u bad answers\n",
			b->self, b->st.bad);
		ret = -EIO;
	}
	pthread_mutex_unlock(&b->lock);
	return ret;
}
