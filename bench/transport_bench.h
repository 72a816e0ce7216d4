/* SPDX-License-Identifier: MIT */
/* bench/transport_bench.h - `rackvm bench transport`, private to bench/transport*.c. */
#ifndef RACKVM_BENCH_TRANSPORT_BENCH_H
#define RACKVM_BENCH_TRANSPORT_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TB_SMALL  8
#define TB_PAGE	  4096
#define TB_REGION (8u << 20)

struct tb_opts {
	const char *provider;
	unsigned int iters;
	const char *csv;
	bool pin; /* two CPUs or more: node 0 on CPU 0, node 1 on CPU 1 */
};

/* What node 0 measured (microseconds, MiB/s). */
struct tb_result {
	double rtt_p50[2], rtt_p99[2], rtt_mean[2]; /* [0] 8 B, [1] 4 KiB */
	double read_p50, read_p99;
	double bw_64k, bw_1m;
};

/* Forks node 1, runs the mesh, fills @r. 0 or a process exit status. */
int tb_run_mesh(const struct tb_opts *o, struct tb_result *r);
/* fi_pingpong round trip (2 x its usec/xfer) for @size; <0 if unavailable. */
double tb_fi_pingpong(const struct tb_opts *o, size_t size, char *why, size_t why_len);
int tb_pin(int cpu);
double tb_now_us(void);

#endif
