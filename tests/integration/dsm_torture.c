// SPDX-License-Identifier: MIT
/*
 * dsm_torture NODES [PROVIDER] [ITERS] - N node processes on loopback share
 * one DSM region over the real transport; threads on every node hammer it
 * through the guest view (so userfaultfd drives every fault): lock xadd on
 * shared counters, stores to their own slots of shared pages, loads of
 * everyone's slots (a value seen must never go backwards: per-location
 * coherence). At the end every node checks every counter, every slot's last
 * value and that never-touched pages are zero, and that each worker thread's
 * faults by serving node add up (every fault served by someone; a fault on
 * a page homed elsewhere never served by this node). alarm() bounds it all.
 * Exit 0 when every node passed.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dsm/dsm.h"
#include "tests/unit/test_xport_harness.h" /* mesh_io */

#define MAX_NODES    4
#define THREADS	     2
#define SLOTS	     (MAX_NODES * THREADS)
#define PAGES	     64
#define NCTR	     16 /* counters on pages 0..3 */
#define DATA0	     8	/* pages DATA0..DATA0+NDATA-1 hold slots */
#define NDATA	     32
#define ZERO0	     40 /* pages ZERO0.. are never touched by workers */
#define U64_PER_PAGE (DSM_PAGE_SIZE / 8)
#define ALARM_S	     120

struct report {
	uint64_t inc[NCTR];
	uint64_t last[THREADS][NDATA]; /* last value stored in our slot */
	uint64_t errors;
};

struct expect {
	uint64_t sum[NCTR];
	uint64_t last[SLOTS][NDATA];
};

struct worker {
	volatile uint64_t *mem;
	unsigned int node, thread, iters;
	pid_t tid;
	uint64_t inc[NCTR], last[NDATA], seen[NDATA][SLOTS], errors;
};

static volatile uint64_t *ctr(volatile uint64_t *mem, unsigned int k)
{
	return &mem[(k % 4) * U64_PER_PAGE + k / 4 * 8];
}

static volatile uint64_t *slot(volatile uint64_t *mem, unsigned int q, unsigned int s)
{
	return &mem[(DATA0 + q) * U64_PER_PAGE + s];
}

static void check_load(struct worker *w, unsigned int q, unsigned int s)
{
	uint64_t v = __atomic_load_n(slot(w->mem, q, s), __ATOMIC_ACQUIRE);
	unsigned int me = w->node * THREADS + w->thread;

	if (v < w->seen[q][s] || (s == me && v != w->last[q])) {
		fprintf(stderr, "node %u thread %u: page %u slot %u went %llu -> %llu\n",
			w->node, w->thread, DATA0 + q, s,
			(unsigned long long)w->seen[q][s], (unsigned long long)v);
		w->errors++;
	}
	w->seen[q][s] = v;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	unsigned int seed = w->node * 7919 + w->thread * 104729 + 1;
	unsigned int me = w->node * THREADS + w->thread;

	w->tid = (pid_t)syscall(SYS_gettid);
	for (unsigned int i = 0; i < w->iters; i++) {
		unsigned int r = (unsigned int)rand_r(&seed);
		unsigned int q = (r >> 8) % NDATA, k = (r >> 16) % NCTR;

		switch (r % 10) {
		case 0:
		case 1:
		case 2:
			__atomic_fetch_add(ctr(w->mem, k), 1, __ATOMIC_SEQ_CST);
			w->inc[k]++;
			break;
		case 3:
		case 4:
		case 5:
			__atomic_store_n(slot(w->mem, q, me), ++w->last[q],
					 __ATOMIC_RELEASE);
			w->seen[q][me] = w->last[q];
			break;
		default:
			check_load(w, q, (r >> 4) % SLOTS);
		}
	}
	return NULL;
}

static struct worker w[THREADS];

/* Per worker: the faults by serving node sum to its faults, and those on
 * pages homed elsewhere (remote) were all served by another node. */
static int check_from(struct dsm *d, unsigned int me, unsigned int n)
{
	struct dsm_thread_stats ts[DSM_MAX_THREADS];
	int k = dsm_thread_stats(d, ts, DSM_MAX_THREADS);

	for (unsigned int t = 0; t < THREADS; t++)
		for (int i = 0; i < k; i++) {
			const struct dsm_fault_stats *f = &ts[i].faults;
			uint64_t from[MAX_NODES], all = 0, others = 0;

			if (ts[i].tid != w[t].tid)
				continue;
			if (dsm_thread_from(d, ts[i].tid, from, MAX_NODES) != (int)n)
				return -1;
			for (unsigned int j = 0; j < n; j++) {
				all += from[j];
				others += j == me ? 0 : from[j];
			}
			if (all != f->read + f->write + f->upgrade ||
			    others < f->remote) {
				fprintf(
				    stderr,
				    "node %u thread %u: %llu faults by server, "
				    "%llu counted; %llu served elsewhere < %llu remote\n",
				    me, t, (unsigned long long)all,
				    (unsigned long long)(f->read + f->write + f->upgrade),
				    (unsigned long long)others,
				    (unsigned long long)f->remote);
				return -1;
			}
		}
	return 0;
}

static int run_workers(volatile uint64_t *mem, unsigned int node, unsigned int iters,
		       struct report *rep)
{
	pthread_t th[THREADS];

	memset(rep, 0, sizeof(*rep));
	for (unsigned int t = 0; t < THREADS; t++) {
		memset(&w[t], 0, sizeof(w[t]));
		w[t] = (struct worker){
		    .mem = mem, .node = node, .thread = t, .iters = iters};
		if (pthread_create(&th[t], NULL, work, &w[t]))
			return -1;
	}
	for (unsigned int t = 0; t < THREADS; t++) {
		pthread_join(th[t], NULL);
		for (unsigned int k = 0; k < NCTR; k++)
			rep->inc[k] += w[t].inc[k];
		memcpy(rep->last[t], w[t].last, sizeof(w[t].last));
		rep->errors += w[t].errors;
	}
	return 0;
}

static int verify(volatile uint64_t *mem, unsigned int node, unsigned int n,
		  const struct expect *e)
{
	int bad = 0;

	for (unsigned int k = 0; k < NCTR; k++)
		bad += *ctr(mem, k) != e->sum[k];
	for (unsigned int q = 0; q < NDATA; q++)
		for (unsigned int s = 0; s < n * THREADS; s++)
			bad += *slot(mem, q, s) != e->last[s][q];
	for (unsigned int p = ZERO0; p < PAGES; p++)
		for (unsigned int i = 0; i < U64_PER_PAGE; i++)
			bad += mem[p * U64_PER_PAGE + i] != 0;
	if (bad)
		fprintf(stderr, "node %u: %d words differ from what was written\n", node,
			bad);
	return bad;
}

struct node_ctx {
	unsigned int id, n, iters;
	const char *prov;
	int up, down;
};

static int node_main(const struct node_ctx *c)
{
	struct xport_config xc = {.provider = c->prov,
				  .iface = "127.0.0.1",
				  .node_id = c->id,
				  .nr_nodes = c->n};
	struct xport_addr addr, peers[MAX_NODES];
	struct transport *t;
	struct dsm *d;
	struct report rep;
	struct expect e;
	char go;
	int rc = 10;

	alarm(ALARM_S);
	if (xport_open(&xc, &t))
		return 11;
	struct dsm_config dc = {.node_id = c->id,
				.nr_nodes = c->n,
				.region_size = PAGES * DSM_PAGE_SIZE,
				.xport = t};
	const char *hold = getenv("RACKVM_DSM_HOLD_US");

	dc.hold_us = hold ? (uint32_t)atoi(hold) : 0;
	if (dsm_create(&dc, &d))
		goto out_close;
	rc = 12;
	if (xport_local_addr(t, &addr) || mesh_io(c->up, &addr, sizeof(addr), true) ||
	    mesh_io(c->down, peers, c->n * sizeof(peers[0]), false) ||
	    xport_connect(t, peers))
		goto out_destroy;
	rc = 13;
	if (dsm_start(d) || mesh_io(c->up, "r", 1, true) ||
	    mesh_io(c->down, &go, 1, false))
		goto out_destroy;
	volatile uint64_t *mem = dsm_guest_view(d, NULL);
	rc = 14;
	if (run_workers(mem, c->id, c->iters, &rep) ||
	    mesh_io(c->up, &rep, sizeof(rep), true) ||
	    mesh_io(c->down, &e, sizeof(e), false))
		goto out_destroy;
	rc = rep.errors			    ? 20
	     : verify(mem, c->id, c->n, &e) ? 21
	     : check_from(d, c->id, c->n)   ? 23
					    : 0;
	/* peers may still read pages from us: stay until all have verified */
	if (mesh_io(c->up, rc ? "f" : "v", 1, true) || mesh_io(c->down, &go, 1, false))
		rc = rc ? rc : 15;
	struct dsm_stats st;
	dsm_stats(d, &st);
	if (getenv("RACKVM_TEST_VERBOSE"))
		fprintf(stderr,
			"node %u: faults r/w/u %llu/%llu/%llu zero %llu remote %llu, "
			"avg wait %.1f us, inv %llu down %llu held %llu, dropped %llu\n",
			c->id, (unsigned long long)st.faults.read,
			(unsigned long long)st.faults.write,
			(unsigned long long)st.faults.upgrade,
			(unsigned long long)st.faults.zero,
			(unsigned long long)st.faults.remote,
			st.faults.wait_ns / 1e3 /
			    (double)(st.faults.read + st.faults.write +
				     st.faults.upgrade + 1),
			(unsigned long long)st.inv_served,
			(unsigned long long)st.down_served, (unsigned long long)st.held,
			(unsigned long long)st.bad_msgs);
	if (!rc && st.bad_msgs)
		rc = 22;
out_destroy:
	dsm_destroy(d);
out_close:
	xport_close(t);
	return rc;
}

/* The parent: address exchange, barriers, and the expected final values. */
static int parent(unsigned int n, int up[], int down[])
{
	struct xport_addr addrs[MAX_NODES];
	struct expect e;
	struct report rep;
	char c;
	int failed = 0;

	memset(&e, 0, sizeof(e));
	for (unsigned int i = 0; i < n; i++)
		if (mesh_io(up[i], &addrs[i], sizeof(addrs[i]), false))
			return -1;
	for (unsigned int i = 0; i < n; i++)
		if (mesh_io(down[i], addrs, n * sizeof(addrs[0]), true))
			return -1;
	for (int phase = 0; phase < 2; phase++) {
		for (unsigned int i = 0; i < n; i++) {
			if (phase == 0 ? mesh_io(up[i], &c, 1, false)
				       : mesh_io(up[i], &rep, sizeof(rep), false))
				return -1;
			for (unsigned int k = 0; phase && k < NCTR; k++)
				e.sum[k] += rep.inc[k];
			for (unsigned int t = 0; phase && t < THREADS; t++)
				memcpy(e.last[i * THREADS + t], rep.last[t],
				       sizeof(rep.last[t]));
		}
		for (unsigned int i = 0; i < n; i++)
			if (phase == 0 ? mesh_io(down[i], "g", 1, true)
				       : mesh_io(down[i], &e, sizeof(e), true))
				return -1;
	}
	for (unsigned int i = 0; i < n; i++)
		if (mesh_io(up[i], &c, 1, false) || c != 'v')
			failed++;
	for (unsigned int i = 0; i < n; i++)
		if (mesh_io(down[i], "x", 1, true))
			return -1;
	return failed;
}

int main(int argc, char **argv)
{
	unsigned int n = argc > 1 ? (unsigned int)atoi(argv[1]) : 2;
	const char *prov = argc > 2 ? argv[2] : "tcp";
	unsigned int iters = argc > 3 ? (unsigned int)atoi(argv[3]) : 2000;
	int up[MAX_NODES][2], down[MAX_NODES][2], upr[MAX_NODES], downw[MAX_NODES];
	pid_t pid[MAX_NODES];
	int bad = 0, st;

	if (n < 1 || n > MAX_NODES) {
		fprintf(stderr, "usage: dsm_torture NODES(1-%d) [tcp|shm] [ITERS]\n",
			MAX_NODES);
		return 2;
	}
	if (geteuid()) {
		printf("skip: userfaultfd needs root on this box\n");
		return 77;
	}
	alarm(ALARM_S + 10);
	for (unsigned int i = 0; i < n; i++) {
		if (pipe(up[i]) || pipe(down[i]))
			return 1;
		pid[i] = fork();
		if (pid[i] == 0) {
			struct node_ctx c = {.id = i,
					     .n = n,
					     .iters = iters,
					     .prov = prov,
					     .up = up[i][1],
					     .down = down[i][0]};
			close(up[i][0]);
			close(down[i][1]);
			_exit(node_main(&c));
		}
		close(up[i][1]);
		close(down[i][0]);
		upr[i] = up[i][0];
		downw[i] = down[i][1];
	}
	if (parent(n, upr, downw))
		bad++;
	for (unsigned int i = 0; i < n; i++) {
		close(upr[i]);
		close(downw[i]);
		waitpid(pid[i], &st, 0);
		if (WIFEXITED(st) && !WEXITSTATUS(st))
			continue;
		fprintf(stderr, "dsm_torture %s n=%u: node %u %s %d\n", prov, n, i,
			WIFEXITED(st) ? "exited with" : "killed by signal",
			WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		bad++;
	}
	printf("dsm_torture %s nodes=%u iters=%u: %s\n", prov, n, iters,
	       bad ? "FAIL" : "ok");
	return bad ? 1 : 0;
}
