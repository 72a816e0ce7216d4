// SPDX-License-Identifier: MIT
/*
 * `rackvm bench dsm`: the two node processes. Every page of the region is
 * homed on node 1, so node 0 (CPU 0) measures faults on remote-homed pages
 * that node 1 (CPU 1) wrote first: data really moves. The region is cut into
 * areas of fresh pages, one per measurement, so no fault ever finds a page
 * an earlier measurement left mapped. The two nodes step through the phases
 * in lock step over a socketpair; node 0 hands its result to the parent
 * through a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/dsm_bench.h"
#include "bench/transport_bench.h"
#include "coordinator/cli.h"
#include "dsm/dsm.h"

#define DB_PING	   0x0b01u /* transport type of the reference ping-pong */
#define DB_ALARM_S 600

enum db_area {
	A_READ,
	A_WRITE,
	A_UPG,
	A_INV_S,
	A_INV_M,
	A_THR0,
	DB_NR_AREAS = A_THR0 + 3
};

const unsigned int db_threads[3] = {1, 4, 16};

struct db_node {
	const struct db_opts *o;
	uint32_t self;
	int sock;	       /* to the other node */
	unsigned int per;      /* pages per area: iters + a tenth of warm-up */
	volatile uint8_t *mem; /* the guest view */
	struct transport *t;
	struct dsm *d;
	struct db_result *r; /* node 0 */
};

static int db_io(int fd, void *buf, size_t len, bool wr)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = wr ? write(fd, p, len) : read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Both sides call it with the same tag: a handshake, not just a message. */
static int db_sync(struct db_node *n, char tag)
{
	char got;
	int err = db_io(n->sock, &tag, 1, true);

	if (!err)
		err = db_io(n->sock, &got, 1, false);
	return err ? err : got == tag ? 0 : -EPROTO;
}

static volatile uint64_t *db_page(struct db_node *n, unsigned int area, unsigned int i)
{
	size_t page = (size_t)area * n->per + i;

	return (volatile uint64_t *)(n->mem + page * DSM_PAGE_SIZE);
}

/* The value node 1 stores in the first word of each page it writes. */
static uint64_t db_tag(unsigned int area, unsigned int i)
{
	return ((uint64_t)area << 32 | i) + 1;
}

/* Faults on every page of @area, timing each; the first tenth warms up.
 * @write: store, else load and check node 1's tag (@bad counts misses). */
static void db_fault_area(struct db_node *n, unsigned int area, bool write, double *s,
			  uint64_t *bad)
{
	unsigned int warm = n->per - n->o->iters;

	for (unsigned int i = 0; i < n->per; i++) {
		volatile uint64_t *p = db_page(n, area, i);
		double t0 = db_now_us();

		if (write)
			*p = db_tag(area, i) ^ 0xffff;
		else if (*p != db_tag(area, i))
			++*bad;
		if (s && i >= warm)
			s[i - warm] = db_now_us() - t0;
	}
}

/* Node 0's phase: read, write, upgrade; then leaves node 1 pages to
 * invalidate (held S in A_INV_S, M in A_INV_M). */
static int db_node0_faults(struct db_node *n, double *s)
{
	unsigned int k = n->o->iters;
	uint64_t *bad = &n->r->bad_data;

	db_fault_area(n, A_READ, false, s, bad);
	db_stat_fill(&n->r->lat[DB_READ], s, k);
	db_fault_area(n, A_WRITE, true, s, bad);
	db_stat_fill(&n->r->lat[DB_WRITE], s, k);
	db_fault_area(n, A_UPG, false, NULL, bad);
	db_fault_area(n, A_UPG, true, s, bad);
	db_stat_fill(&n->r->lat[DB_UPGRADE], s, k);
	db_fault_area(n, A_INV_S, false, NULL, bad);
	db_fault_area(n, A_INV_M, true, NULL, bad);
	return 0;
}

struct db_worker {
	struct db_node *n;
	pthread_barrier_t *go;
	unsigned int area, first, count;
	uint64_t bad;
};

static void *db_worker(void *arg)
{
	struct db_worker *w = arg;

	pthread_barrier_wait(w->go);
	for (unsigned int i = w->first; i < w->first + w->count; i++)
		if (*db_page(w->n, w->area, i) != db_tag(w->area, i))
			w->bad++;
	return NULL;
}

/* @nt threads read-fault distinct pages of @area at once: faults/s. */
static int db_throughput(struct db_node *n, unsigned int area, unsigned int nt,
			 double *fps)
{
	struct db_worker w[DB_MAX_THREADS];
	pthread_t th[DB_MAX_THREADS];
	pthread_barrier_t go;
	unsigned int each = n->per / nt, started = 0;
	int err = 0;

	if (pthread_barrier_init(&go, NULL, nt + 1))
		return -ENOMEM;
	for (; started < nt; started++) {
		w[started] = (struct db_worker){.n = n,
						.go = &go,
						.area = area,
						.first = started * each,
						.count = each};
		err = -pthread_create(&th[started], NULL, db_worker, &w[started]);
		if (err)
			break;
	}
	if (err) /* the started ones wait at the barrier for ever: give up */
		return err;
	pthread_barrier_wait(&go);
	double t0 = db_now_us();
	for (unsigned int i = 0; i < nt; i++) {
		pthread_join(th[i], NULL);
		n->r->bad_data += w[i].bad;
	}
	*fps = (double)(each * nt) / ((db_now_us() - t0) * 1e-6);
	pthread_barrier_destroy(&go);
	return 0;
}

static int db_recv_stat(struct db_node *n, struct db_stat *st, double *s)
{
	int err = db_io(n->sock, s, n->o->iters * sizeof(*s), false);

	if (!err)
		db_stat_fill(st, s, n->o->iters);
	return err;
}

static int db_node0(struct db_node *n)
{
	double *s = calloc(n->o->iters, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	err = db_sync(n, 'w'); /* node 1 has written its pages */
	if (!err)
		err = db_node0_faults(n, s);
	if (!err)
		err = db_sync(n, 'i'); /* node 1 may invalidate ours now */
	if (!err)
		err = db_recv_stat(n, &n->r->lat[DB_INV_S], s);
	if (!err)
		err = db_recv_stat(n, &n->r->lat[DB_INV_M], s);
	for (unsigned int i = 0; !err && i < 3; i++)
		err = db_throughput(n, A_THR0 + i, db_threads[i], &n->r->fps[i]);
	free(s);
	return err;
}

static int db_node1(struct db_node *n)
{
	static const unsigned int written[] = {A_READ, A_WRITE,	   A_UPG,     A_INV_S,
					       A_THR0, A_THR0 + 1, A_THR0 + 2};
	double *s = calloc(n->o->iters, sizeof(*s));
	uint64_t bad = 0;
	int err;

	if (!s)
		return -ENOMEM;
	for (unsigned int i = 0; i < sizeof(written) / sizeof(written[0]); i++)
		for (unsigned int p = 0; p < n->per; p++)
			*db_page(n, written[i], p) = db_tag(written[i], p);
	err = db_sync(n, 'w');
	if (!err)
		err = db_sync(n, 'i');
	for (unsigned int a = A_INV_S; !err && a <= A_INV_M; a++) {
		db_fault_area(n, a, true, s, &bad);
		err = db_io(n->sock, s, n->o->iters * sizeof(*s), true);
	}
	free(s);
	return err;
}

/* Raw 4 KiB ping-pong on the connected transport, before the DSM owns it. */
static int db_pingpong(struct db_node *n)
{
	static uint8_t buf[DSM_PAGE_SIZE];
	unsigned int total = n->per;
	double *s = n->self ? NULL : calloc(total, sizeof(*s));
	struct xport_event ev;
	int err = 0, got = 0;

	if (!n->self && !s)
		return -ENOMEM;
	for (unsigned int i = 0; !err && i < total; i++) {
		double t0 = db_now_us();

		if (!n->self)
			err = xport_send(n->t, 1, DB_PING, buf, sizeof(buf));
		while (!err && !(got = xport_poll(n->t, &ev, 1)))
			;
		if (!err && (got < 0 || ev.kind != XPORT_EV_RECV || ev.type != DB_PING))
			err = got < 0 ? got : -EPROTO;
		if (!err && n->self)
			err = xport_send(n->t, 0, DB_PING, buf, sizeof(buf));
		if (s && i >= total - n->o->iters)
			s[i - (total - n->o->iters)] = db_now_us() - t0;
	}
	if (s && !err)
		db_stat_fill(&n->r->lat[DB_RTT], s, n->o->iters);
	free(s);
	return err;
}

/* Opens the transport and the DSM, swaps addresses, connects. */
static int db_join(struct db_node *n)
{
	bool verbs = !strcmp(n->o->provider, "verbs");
	struct xport_config xc = {.backend = verbs ? "verbs" : NULL,
				  .provider = verbs ? NULL : n->o->provider,
				  .iface = "127.0.0.1",
				  .node_id = n->self,
				  .nr_nodes = 2};
	struct dsm_home_range all = {
	    .off = 0, .len = (uint64_t)DB_NR_AREAS * n->per * DSM_PAGE_SIZE, .node = 1};
	struct dsm_config dc = {.node_id = n->self,
				.nr_nodes = 2,
				.region_size = all.len,
				.homes = &all,
				.nr_homes = 1};
	struct xport_addr addrs[2];
	int err = xport_open(&xc, &n->t);

	if (err)
		return err;
	dc.xport = n->t;
	err = dsm_create(&dc, &n->d);
	if (err)
		goto err_close_xport;
	err = xport_local_addr(n->t, &addrs[n->self]);
	if (!err)
		err = db_io(n->sock, &addrs[n->self], sizeof(addrs[0]), true);
	if (!err)
		err = db_io(n->sock, &addrs[!n->self], sizeof(addrs[0]), false);
	if (!err)
		err = xport_connect(n->t, addrs);
	if (err)
		goto err_destroy_dsm;
	n->mem = dsm_guest_view(n->d, NULL);
	return 0;

err_destroy_dsm:
	dsm_destroy(n->d);
err_close_xport:
	xport_close(n->t);
	return err;
}

static int db_node_main(struct db_node *n)
{
	int err;

	alarm(DB_ALARM_S);
	if (n->o->pin && tb_pin((int)n->self))
		fprintf(stderr, "rackvm bench dsm: cannot pin node %u to CPU %u\n",
			n->self, n->self);
	/* the reference first, on the same CPU, before anything else runs here */
	if (!n->self) {
		err = db_uffd_ref(n->o->iters, &n->r->lat[DB_UFFD]);
		if (err) {
			fprintf(stderr, "rackvm bench dsm: userfaultfd reference: %s\n",
				strerror(-err));
			return err;
		}
	}
	err = db_join(n);
	if (err)
		return err;
	err = db_pingpong(n);
	if (!err)
		err = dsm_start(n->d);
	if (!err)
		err = db_sync(n, 's');
	if (!err)
		err = n->self ? db_node1(n) : db_node0(n);
	/* the peer may still read pages from us until it is done too */
	if (!err)
		err = db_sync(n, 'x');
	dsm_destroy(n->d);
	xport_close(n->t);
	return err;
}

static pid_t db_fork_node(const struct db_opts *o, uint32_t self, int sock, int out)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	struct db_result r = {0};
	struct db_node n = {
	    .o = o, .self = self, .sock = sock, .r = &r, .per = o->iters + o->iters / 10};
	int err = db_node_main(&n);

	if (err)
		fprintf(stderr, "rackvm bench dsm: node %u failed: %s\n", self,
			strerror(-err));
	if (!err && out >= 0)
		err = db_io(out, &r, sizeof(r), true);
	_exit(err ? RACKVM_EXIT_PEER : 0);
}

int db_run(const struct db_opts *o, struct db_result *r)
{
	int sv[2], res[2], st, bad = 0;
	pid_t pid[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return RACKVM_EXIT_HOST;
	if (pipe2(res, O_CLOEXEC)) {
		close(sv[0]);
		close(sv[1]);
		return RACKVM_EXIT_HOST;
	}
	fflush(NULL);
	pid[1] = db_fork_node(o, 1, sv[1], -1);
	pid[0] = pid[1] < 0 ? -1 : db_fork_node(o, 0, sv[0], res[1]);
	close(sv[0]);
	close(sv[1]);
	close(res[1]);
	if (pid[0] < 0 || db_io(res[0], r, sizeof(*r), false))
		bad = 1;
	close(res[0]);
	for (int i = 0; i < 2; i++) {
		if (pid[i] < 0)
			continue;
		if (bad)
			kill(pid[i], SIGTERM); /* our own children: a peer failed */
		if (waitpid(pid[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			bad = 1;
	}
	return bad ? RACKVM_EXIT_PEER : 0;
}
