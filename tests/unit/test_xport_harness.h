/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_xport_harness.h - forks N processes that form a real
 * transport mesh over loopback (addresses exchanged through pipes with the
 * parent), runs a function on every node, holds a barrier that keeps
 * progressing the transport (peers may still be reading from us), and
 * reports each node's exit status. Header-only: shared by test_xport_*.c.
 */
#ifndef RACKVM_TEST_XPORT_HARNESS_H
#define RACKVM_TEST_XPORT_HARNESS_H

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "interconnect/transport.h"

#define MESH_MAX     4
#define MESH_ALARM_S 30

struct mesh_opts {
	const char *backend; /* NULL: ofi */
	const char *prov;
	unsigned int n;
	bool late_identity; /* open with a provisional id, then xport_set_node */
	uint32_t delay_us;
	size_t region_len; /* region 0, filled by mesh_fill(node) */
};

/* Every node's address, for a node function that needs it (garbage test). */
static const struct xport_addr *mesh_peers;

typedef int (*mesh_fn)(struct transport *t, uint32_t self, uint32_t n, uint8_t *region,
		       void *arg);

static inline uint8_t mesh_byte(uint32_t node, uint64_t off)
{
	return (uint8_t)(node * 37u + off * 11u + (off >> 12));
}

static inline int mesh_io(int fd, void *buf, size_t len, bool wr)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t r = wr ? write(fd, p, len) : read(fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/* Until the parent says go, keep serving peers (tcp progress is manual). */
static inline int mesh_barrier(struct transport *t, int up, int down)
{
	struct xport_event ev[16];
	char c = 'd';

	if (mesh_io(up, &c, 1, true))
		return -1;
	for (;;) {
		struct pollfd pfd = {.fd = down, .events = POLLIN};

		if (xport_poll(t, ev, 16) < 0)
			return -1;
		if (poll(&pfd, 1, 1) > 0)
			return mesh_io(down, &c, 1, false);
	}
}

static inline int mesh_child(const struct mesh_opts *o, uint32_t self, int up, int down,
			     mesh_fn fn, void *arg)
{
	struct xport_config cfg = {.backend = o->backend,
				   .provider = o->prov,
				   .iface = "127.0.0.1",
				   .node_id = o->late_identity ? 0 : self,
				   .nr_nodes = o->late_identity ? 0 : o->n,
				   .delay_us = o->delay_us};
	struct xport_addr addr, *peers = calloc(o->n, sizeof(*peers));
	size_t len = o->region_len ? o->region_len : 4096;
	uint8_t *region = aligned_alloc(4096, len);
	struct transport *t;
	int rc = 10;

	alarm(MESH_ALARM_S);
	if (!peers || !region || xport_open(&cfg, &t))
		return 11;
	for (size_t i = 0; i < len; i++)
		region[i] = mesh_byte(self, i);
	if (xport_mr_reg(t, 0, region, len) || xport_local_addr(t, &addr))
		goto out;
	rc = 12;
	if (mesh_io(up, &addr, sizeof(addr), true) ||
	    mesh_io(down, peers, o->n * sizeof(*peers), false))
		goto out;
	rc = 13;
	if (o->late_identity && xport_set_node(t, self, o->n))
		goto out;
	rc = 14;
	if (xport_connect(t, peers))
		goto out;
	mesh_peers = peers;
	rc = fn(t, self, o->n, region, arg);
	if (mesh_barrier(t, up, down) && !rc)
		rc = 15;
out:
	xport_close(t);
	free(peers);
	free(region);
	return rc;
}

static inline int mesh_parent(const struct mesh_opts *o, int up[], int down[])
{
	struct xport_addr addrs[MESH_MAX];
	char c;

	for (unsigned int i = 0; i < o->n; i++)
		if (mesh_io(up[i], &addrs[i], sizeof(addrs[i]), false))
			return -1;
	for (unsigned int i = 0; i < o->n; i++)
		if (mesh_io(down[i], addrs, o->n * sizeof(addrs[0]), true))
			return -1;
	for (unsigned int i = 0; i < o->n; i++)
		if (mesh_io(up[i], &c, 1, false))
			return -1;
	for (unsigned int i = 0; i < o->n; i++)
		if (mesh_io(down[i], &c, 1, true))
			return -1;
	return 0;
}

/* 0 when every node exited 0; prints what went wrong otherwise. */
static inline int mesh_run(const struct mesh_opts *o, mesh_fn fn, void *arg)
{
	int up[MESH_MAX][2], down[MESH_MAX][2], upr[MESH_MAX], downw[MESH_MAX];
	pid_t pid[MESH_MAX];
	int bad = 0, st;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	fflush(NULL);
	for (unsigned int i = 0; i < o->n; i++) {
		if (pipe(up[i]) || pipe(down[i]))
			return -1;
		pid[i] = fork();
		if (pid[i] == 0) {
			close(up[i][0]);
			close(down[i][1]);
			_exit(mesh_child(o, i, up[i][1], down[i][0], fn, arg));
		}
		close(up[i][1]);
		close(down[i][0]);
		upr[i] = up[i][0];
		downw[i] = down[i][1];
	}
	if (mesh_parent(o, upr, downw))
		bad++;
	for (unsigned int i = 0; i < o->n; i++) {
		close(upr[i]);
		close(downw[i]);
		waitpid(pid[i], &st, 0);
		if (WIFEXITED(st) && !WEXITSTATUS(st))
			continue;
		fprintf(stderr, "mesh %s n=%u: node %u %s %d\n",
			o->prov ? o->prov : "(default)", o->n, i,
			WIFEXITED(st) ? "exited with" : "killed by signal",
			WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		bad++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (getenv("RACKVM_TEST_VERBOSE"))
		fprintf(stderr, "mesh %s n=%u: %.3f s\n", o->prov ? o->prov : "(default)",
			o->n,
			(double)(t1.tv_sec - t0.tv_sec) +
			    (t1.tv_nsec - t0.tv_nsec) * 1e-9);
	return bad;
}

#endif
