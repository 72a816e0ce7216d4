/* SPDX-License-Identifier: MIT */
/* bench/bench.h - `rackvm bench NAME`: benchmark drivers that print tables. */
#ifndef RACKVM_BENCH_H
#define RACKVM_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* Each returns a process exit status (see coordinator/cli.h). */
int bench_dsm(int argc, char **argv);
int bench_exits(int argc, char **argv);
int bench_migrate(int argc, char **argv);
int bench_transport(int argc, char **argv);
int bench_vm(int argc, char **argv);

/* Percentile @p (0..100) of @n samples; sorts @v in place. */
double bench_percentile(double *v, size_t n, double p);
/* This binary's path into @buf, for commands run through popen's shell
 * (whose /proc/self/exe is the shell); one line naming @who on failure.
 * 0 or a process exit status. */
int bench_self_path(char *buf, size_t len, const char *who);
/* The 8-byte round trip p50 (us) of `@self bench transport --provider @p`,
 * run as a child; -1 if it printed none. */
double bench_transport_rtt_us(const char *self, const char *provider);

#endif
