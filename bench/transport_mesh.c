// SPDX-License-Identifier: MIT
/*
 * `rackvm bench transport`: the two-node mesh. Node 0 (this process, CPU 0)
 * measures; node 1 (a child, CPU 1) echoes and keeps its side progressing.
 * Addresses travel over a socketpair. Both sides busy-poll, as fi_pingpong
 * does: latency, not the wait fd, is what is measured here.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/transport_bench.h"
#include "coordinator/cli.h"
#include "interconnect/transport.h"

enum { TB_PING = 1, TB_PONG, TB_STOP };

double tb_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

int tb_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

static int tb_io(int fd, void *buf, size_t len, bool wr)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t r = wr ? write(fd, p, len) : read(fd, p, len);

		if (r <= 0)
			return r < 0 ? -errno : -EPIPE;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/* Busy-polls for the next event; a receive's payload stays valid until the
 * next poll. */
static int tb_next(struct transport *t, struct xport_event *ev)
{
	int n;

	do
		n = xport_poll(t, ev, 1);
	while (n == 0);
	if (n < 0)
		return n;
	if (ev->kind == XPORT_EV_ERROR || ev->status) {
		fprintf(stderr, "rackvm bench transport: peer %u failed: %s\n", ev->src,
			strerror(-ev->status));
		return -EIO;
	}
	return 0;
}

static int tb_echo(struct transport *t)
{
	struct xport_event ev;
	int ret;

	for (;;) {
		ret = tb_next(t, &ev);
		if (ret)
			return ret;
		if (ev.kind != XPORT_EV_RECV || ev.type == TB_STOP)
			return ev.kind == XPORT_EV_RECV ? 0 : -EPROTO;
		ret = xport_send(t, 0, TB_PONG, ev.data, ev.len);
		if (ret)
			return ret;
	}
}

static double tb_mean(const double *s, unsigned int n)
{
	double sum = 0;

	for (unsigned int i = 0; i < n; i++)
		sum += s[i];
	return n ? sum / n : 0;
}

static int tb_pingpong(struct transport *t, size_t size, unsigned int iters, double *p50,
		       double *p99, double *mean)
{
	static uint8_t buf[TB_PAGE];
	double *s = calloc(iters, sizeof(*s));
	struct xport_event ev;
	int ret = 0;

	if (!s)
		return -ENOMEM;
	for (unsigned int i = 0; !ret && i < iters + iters / 10; i++) {
		double t0 = tb_now_us();

		ret = xport_send(t, 1, TB_PING, buf, size);
		if (!ret)
			ret = tb_next(t, &ev);
		if (!ret && (ev.kind != XPORT_EV_RECV || ev.len != size))
			ret = -EPROTO;
		if (i >= iters / 10) /* the first tenth warms up */
			s[i - iters / 10] = tb_now_us() - t0;
	}
	*mean = tb_mean(s, iters);
	*p50 = bench_percentile(s, iters, 50);
	*p99 = bench_percentile(s, iters, 99);
	free(s);
	return ret;
}

static int tb_reads(struct transport *t, unsigned int iters, double *p50, double *p99)
{
	double *s = calloc(iters, sizeof(*s));
	struct xport_event ev;
	int ret = 0;

	if (!s)
		return -ENOMEM;
	for (unsigned int i = 0; !ret && i < iters + iters / 10; i++) {
		double t0 = tb_now_us();

		ret = xport_read(t, 1, 0, (i % 64) * TB_PAGE, 0, TB_PAGE, i);
		if (!ret)
			ret = tb_next(t, &ev);
		if (!ret && (ev.kind != XPORT_EV_READ || ev.cookie != i))
			ret = -EPROTO;
		if (i >= iters / 10)
			s[i - iters / 10] = tb_now_us() - t0;
	}
	*p50 = bench_percentile(s, iters, 50);
	*p99 = bench_percentile(s, iters, 99);
	free(s);
	return ret;
}

/* @ops writes of @size bytes, @window of them in flight; MiB/s. */
static int tb_bandwidth(struct transport *t, size_t size, unsigned int window,
			unsigned int ops, double *mib_s)
{
	unsigned int posted = 0, done = 0;
	struct xport_event ev;
	double t0 = tb_now_us();
	int ret = 0;

	while (!ret && done < ops) {
		while (!ret && posted < ops && posted - done < window) {
			ret = xport_write(t, 1, 0, (posted % window) * size, 0, size,
					  posted);
			posted++;
		}
		if (!ret)
			ret = tb_next(t, &ev);
		if (!ret && ev.kind != XPORT_EV_WRITE)
			ret = -EPROTO;
		done++;
	}
	*mib_s = (double)ops * (double)size / ((tb_now_us() - t0) * 1e-6) / (1 << 20);
	return ret;
}

static int tb_measure(struct transport *t, const struct tb_opts *o, struct tb_result *r)
{
	unsigned int n = o->iters;
	int ret;

	ret =
	    tb_pingpong(t, TB_SMALL, n, &r->rtt_p50[0], &r->rtt_p99[0], &r->rtt_mean[0]);
	if (!ret)
		ret = tb_pingpong(t, TB_PAGE, n, &r->rtt_p50[1], &r->rtt_p99[1],
				  &r->rtt_mean[1]);
	if (!ret)
		ret = tb_reads(t, n, &r->read_p50, &r->read_p99);
	if (!ret)
		ret = tb_bandwidth(t, 64 << 10, 16, n < 2000 ? 2000 : n, &r->bw_64k);
	if (!ret)
		ret = tb_bandwidth(t, 1 << 20, 8, 256, &r->bw_1m);
	if (!ret)
		ret = xport_send(t, 1, TB_STOP, NULL, 0);
	return ret;
}

/* Opens, registers, swaps addresses with the other node, connects. */
static int tb_join(const struct tb_opts *o, uint32_t self, int sock, void *region,
		   struct transport **out)
{
	bool verbs = !strcmp(o->provider, "verbs");
	struct xport_config cfg = {.backend = verbs ? "verbs" : NULL,
				   .provider = verbs ? NULL : o->provider,
				   .node_id = self,
				   .nr_nodes = 2,
				   .iface = "127.0.0.1",
				   .busy_poll = true};
	struct xport_addr addrs[2];
	struct transport *t;
	int ret;

	ret = xport_open(&cfg, &t);
	if (ret)
		return ret;
	ret = xport_mr_reg(t, 0, region, TB_REGION);
	if (!ret)
		ret = xport_local_addr(t, &addrs[self]);
	if (!ret)
		ret = tb_io(sock, &addrs[self], sizeof(addrs[0]), true);
	if (!ret)
		ret = tb_io(sock, &addrs[!self], sizeof(addrs[0]), false);
	if (!ret)
		ret = xport_connect(t, addrs);
	if (ret) {
		xport_close(t);
		return ret;
	}
	*out = t;
	return 0;
}

static int tb_node(const struct tb_opts *o, uint32_t self, int sock, struct tb_result *r)
{
	void *region = aligned_alloc(TB_PAGE, TB_REGION);
	struct transport *t;
	int ret;

	if (!region)
		return -ENOMEM;
	memset(region, (int)self, TB_REGION);
	if (o->pin && tb_pin((int)self))
		fprintf(stderr, "rackvm bench transport: cannot pin node %u to CPU %u\n",
			self, self);
	ret = tb_join(o, self, sock, region, &t);
	if (ret)
		goto out_free;
	ret = self ? tb_echo(t) : tb_measure(t, o, r);
	xport_close(t);
out_free:
	free(region);
	return ret;
}

int tb_run_mesh(const struct tb_opts *o, struct tb_result *r)
{
	int sv[2], st, ret;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return RACKVM_EXIT_HOST;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return RACKVM_EXIT_HOST;
	if (pid == 0) {
		close(sv[0]);
		_exit(tb_node(o, 1, sv[1], NULL) ? RACKVM_EXIT_PEER : 0);
	}
	close(sv[1]);
	ret = tb_node(o, 0, sv[0], r);
	close(sv[0]);
	if (ret)
		kill(pid, SIGTERM); /* our own child, stuck waiting for us */
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		ret = ret ? ret : -EIO;
	if (ret)
		fprintf(stderr, "rackvm bench transport: mesh run failed: %s\n",
			strerror(-ret));
	return ret == -ENODEV ? RACKVM_EXIT_HOST : ret ? RACKVM_EXIT_PEER : 0;
}
