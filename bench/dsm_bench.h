/* SPDX-License-Identifier: MIT */
/* bench/dsm_bench.h - `rackvm bench dsm`, private to bench/dsm*.c. */
#ifndef RACKVM_BENCH_DSM_BENCH_H
#define RACKVM_BENCH_DSM_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DB_MAX_THREADS 16

struct db_opts {
	const char *provider;
	unsigned int nodes;
	unsigned int iters; /* timed faults per kind (a tenth more warm up first) */
	const char *csv;
	bool pin;
};

/* Latency samples of one kind, microseconds. */
enum db_kind {
	DB_READ,    /* node 0: read fault I -> S, page written by node 1 */
	DB_WRITE,   /* node 0: write fault I -> M, page written by node 1 */
	DB_UPGRADE, /* node 0: write fault S -> M (after an untimed read) */
	DB_INV_S,   /* node 1: write fault S -> M while node 0 holds S */
	DB_INV_M,   /* node 1: write fault I -> M while node 0 holds M */
	DB_UFFD,    /* node 0: empty userfaultfd round trip (MINOR + CONTINUE) */
	DB_RTT,	    /* node 0: 4 KiB transport ping-pong with node 1 */
	DB_NR_KINDS,
};

struct db_stat {
	double p50, p99, mean;
	unsigned int n;
};

struct db_result {
	struct db_stat lat[DB_NR_KINDS];
	double fps[3]; /* faults/s with 1, 4, 16 threads */
	uint64_t bad_data;
};

extern const unsigned int db_threads[3];

/* Runs both node processes (this one is node 0) and fills @r.
 * 0 or a process exit status. */
int db_run(const struct db_opts *o, struct db_result *r);
/* Empty userfaultfd round trip on this thread's CPU, @n samples + warm-up. */
int db_uffd_ref(unsigned int n, struct db_stat *out);
/* p50/p99/mean of @n samples (sorts them). */
void db_stat_fill(struct db_stat *s, double *v, unsigned int n);
double db_now_us(void);

#endif
