/* SPDX-License-Identifier: MIT */
/*
 * tests/tests.h - the built-in tests. Each runs in ring 3 on every CPU with
 * only libtestos (lib/testos.h), and CPU 0 prints the one RACKVM-RESULT
 * line. A test returns this CPU's exit status (0 pass).
 */
#ifndef TESTOS_TESTS_H
#define TESTOS_TESTS_H

#include "../lib/testos.h"

struct test_ctx {
	unsigned int cpu, nr_cpus;
	unsigned int seconds; /* bootinfo.seconds: 0 = the test's default */
	const char *args;     /* bootinfo.args */
};

struct builtin_test {
	const char *name;
	int (*run)(const struct test_ctx *t);
};

int test_smp(const struct test_ctx *t);
int test_ipi(const struct test_ctx *t);
int test_timer(const struct test_ctx *t);
int test_mem(const struct test_ctx *t);
int test_coherence(const struct test_ctx *t);
int test_exits(const struct test_ctx *t);
int test_compute(const struct test_ctx *t);
int test_remote_walk(const struct test_ctx *t);

/* "12.345" from a count of ns, as µs (no floating point here). */
void fmt_us(char *buf, size_t n, uint64_t ns);
/* Is @word one of the space-separated words of @args? */
bool args_has(const char *args, const char *word);
/* Let time pass without spinning hard: yields until @ns have elapsed. */
void sleep_ns(uint64_t ns);

#endif
