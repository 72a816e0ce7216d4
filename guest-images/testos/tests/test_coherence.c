// SPDX-License-Identifier: MIT
/*
 * tests/test_coherence.c - shared memory stays coherent across CPUs (and,
 * under rackvm's DSM, across hosts). Every CPU does `lock xadd` on one shared
 * counter, and a token goes round the ring of CPUs carrying a payload each
 * holder checks and rewrites (on another page than the token).
 * Fixed mode (seconds 0): exact totals. Timed mode: runs for bootinfo.seconds
 * and the shared counts must equal the sum of each CPU's own tallies.
 */
#include "tests.h"

#define COH_ITERS   200000
#define COH_PASSES  50
#define COH_BATCH   1000
#define PAYLOAD_MUL 0x9e3779b1ull

static struct {
	uint64_t counter __attribute__((aligned(64)));
	uint64_t token __attribute__((aligned(64)));
	uint64_t passes __attribute__((aligned(64)));
	uint64_t stop __attribute__((aligned(64)));
	uint64_t tally_sum, pass_sum, errors;
} sh;
static uint64_t payload __attribute__((aligned(4096)));

struct mine {
	uint64_t adds, passes, last, errors;
};

static void add_batch(struct mine *m, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		uint64_t old = __atomic_fetch_add(&sh.counter, 1, __ATOMIC_SEQ_CST);
		/* one CPU's xadds see the counter strictly grow */
		if (m->adds && old <= m->last)
			m->errors++;
		m->last = old;
		m->adds++;
	}
}

/* Called holding the token: check what the previous holder wrote, pass it on. */
static void take_token(struct mine *m, unsigned int me, unsigned int n)
{
	uint64_t p = __atomic_load_n(&sh.passes, __ATOMIC_RELAXED);
	unsigned int prev = (me + n - 1) % n;

	if (p && payload != p * PAYLOAD_MUL + prev)
		m->errors++;
	payload = (p + 1) * PAYLOAD_MUL + me;
	__atomic_store_n(&sh.passes, p + 1, __ATOMIC_RELAXED);
	m->passes++;
	__atomic_store_n(&sh.token, (me + 1) % n, __ATOMIC_RELEASE);
}

static void run_fixed(struct mine *m, unsigned int me, unsigned int n)
{
	for (unsigned int k = 0; k < COH_PASSES; k++) {
		add_batch(m, COH_ITERS / COH_PASSES);
		t_wait_eq(&sh.token, me);
		take_token(m, me, n);
	}
}

static void run_timed(struct mine *m, unsigned int me, unsigned int n, uint64_t secs)
{
	uint64_t end = t_rdtsc() + t_ns_to_cycles(secs * 1000000000ull);

	while (!__atomic_load_n(&sh.stop, __ATOMIC_RELAXED)) {
		add_batch(m, COH_BATCH);
		if (__atomic_load_n(&sh.token, __ATOMIC_ACQUIRE) == me)
			take_token(m, me, n);
		if (me == 0 && t_rdtsc() >= end)
			__atomic_store_n(&sh.stop, 1, __ATOMIC_RELAXED);
	}
}

static int report(const struct test_ctx *t)
{
	bool timed = t->seconds != 0;
	uint64_t n = t->nr_cpus;
	bool ok = !sh.errors && sh.counter == sh.tally_sum && sh.passes == sh.pass_sum;

	if (!timed)
		ok = ok && sh.counter == n * COH_ITERS && sh.passes == n * COH_PASSES &&
		     sh.token == 0;
	t_printf(
	    "RACKVM-RESULT test=coherence status=%s cpus=%u mode=%s ops=%lu adds=%lu "
	    "passes=%lu errors=%lu\n",
	    ok ? "pass" : "fail", t->nr_cpus, timed ? "timed" : "fixed",
	    (unsigned long)(sh.counter + sh.passes), (unsigned long)sh.counter,
	    (unsigned long)sh.passes, (unsigned long)sh.errors);
	return ok ? 0 : 1;
}

int test_coherence(const struct test_ctx *t)
{
	struct mine m = {0};

	t_barrier();
	if (t->seconds)
		run_timed(&m, t->cpu, t->nr_cpus, t->seconds);
	else
		run_fixed(&m, t->cpu, t->nr_cpus);
	__atomic_add_fetch(&sh.tally_sum, m.adds, __ATOMIC_RELAXED);
	__atomic_add_fetch(&sh.pass_sum, m.passes, __ATOMIC_RELAXED);
	__atomic_add_fetch(&sh.errors, m.errors, __ATOMIC_RELAXED);
	t_barrier();
	return t->cpu ? 0 : report(t);
}
