// SPDX-License-Identifier: MIT
/*
 * tests/test_remote_walk.c - a vCPU whose data lives on another node.
 * CPU 0 keeps rewriting a buffer in its own NUMA node's memory; CPU 1 (on
 * node 1 when the VM spans nodes) walks the buffer after every rewrite and
 * checks each word. Under rackvm's DSM every walk on node 1 faults each page
 * over from node 0; if the placement policy moves vCPU 1 to node 0, the
 * faults stop. A fixed amount of work ("passes=N pages=P" in the args) so
 * that run times compare; exact counts and sums checked. Other CPUs idle.
 */
#include "tests.h"

#define RW_PASSES    2000
#define RW_PAGES     16
#define RW_MAX_PAGES 256
#define RW_MUL	     0x9e3779b97f4a7c15ull

static uint64_t buf[RW_MAX_PAGES][512] __attribute__((aligned(4096)));
static struct {
	uint64_t seq __attribute__((aligned(4096))); /* pass CPU 0 finished */
	uint64_t ack __attribute__((aligned(4096))); /* pass CPU 1 checked */
	uint64_t sum __attribute__((aligned(64)));   /* CPU 1's sum of all reads */
	uint64_t errors, walks;
} rw __attribute__((aligned(4096)));

static inline uint64_t value(uint64_t pass, uint64_t page)
{
	return pass * RW_MUL ^ (page << 12);
}

/* Waits for *@p == @want, yielding the host CPU between looks: each look
 * at a flag the other node writes may pull its page over, and a tight spin
 * would pull it back before the writer's retry (t_wait_eq spins first). */
static void wait_for(const volatile uint64_t *p, uint64_t want)
{
	while (__atomic_load_n(p, __ATOMIC_ACQUIRE) != want)
		t_yield();
}

/* "name=N" among the args, or @def. */
static uint64_t arg_uint(const char *args, const char *name, uint64_t def)
{
	size_t n = strlen(name);

	for (const char *p = args; *p;) {
		if (!strncmp(p, name, n) && p[n] == '=' && p[n + 1] >= '0' &&
		    p[n + 1] <= '9') {
			uint64_t v = 0;

			for (p += n + 1; *p >= '0' && *p <= '9'; p++)
				v = v * 10 + (uint64_t)(*p - '0');
			return v;
		}
		while (*p && *p != ' ')
			p++;
		while (*p == ' ')
			p++;
	}
	return def;
}

static void write_passes(uint64_t passes, uint64_t pages)
{
	for (uint64_t k = 1; k <= passes; k++) {
		for (uint64_t p = 0; p < pages; p++)
			__atomic_store_n(&buf[p][0], value(k, p), __ATOMIC_RELAXED);
		__atomic_store_n(&rw.seq, k, __ATOMIC_RELEASE);
		wait_for(&rw.ack, k);
	}
}

static void walk_passes(uint64_t passes, uint64_t pages)
{
	uint64_t sum = 0, errors = 0;

	for (uint64_t k = 1; k <= passes; k++) {
		wait_for(&rw.seq, k);
		for (uint64_t p = 0; p < pages; p++) {
			uint64_t v = __atomic_load_n(&buf[p][0], __ATOMIC_RELAXED);

			errors += v != value(k, p);
			sum += v;
		}
		rw.walks++;
		__atomic_store_n(&rw.ack, k, __ATOMIC_RELEASE);
	}
	rw.sum = sum;
	rw.errors = errors;
}

static int report(const struct test_ctx *t, uint64_t passes, uint64_t pages, uint64_t ns)
{
	uint64_t want = 0;
	long home = t_node_of_addr(buf), walker = t_node_of_cpu(1);
	char us[32];
	bool ok;

	for (uint64_t k = 1; k <= passes; k++)
		for (uint64_t p = 0; p < pages; p++)
			want += value(k, p);
	ok = !rw.errors && rw.walks == passes && rw.sum == want && rw.seq == passes &&
	     rw.ack == passes && home == t_node_of_cpu(0);
	fmt_us(us, sizeof(us), ns);
	t_printf("RACKVM-RESULT test=remote-walk status=%s passes=%lu pages=%lu "
		 "cpus=%u home=%ld walker_node=%ld errors=%lu walk_us=%s\n",
		 ok ? "pass" : "fail", (unsigned long)rw.walks, (unsigned long)pages,
		 t->nr_cpus, home, walker, (unsigned long)rw.errors, us);
	return ok ? 0 : 1;
}

int test_remote_walk(const struct test_ctx *t)
{
	uint64_t passes = arg_uint(t->args, "passes", RW_PASSES);
	uint64_t pages = arg_uint(t->args, "pages", RW_PAGES), t0;

	if (t->nr_cpus < 2 || !passes || !pages || pages > RW_MAX_PAGES) {
		if (!t->cpu)
			t_printf("RACKVM-RESULT test=remote-walk status=fail "
				 "reason=needs-2-cpus-and-pages-1..%u cpus=%u\n",
				 RW_MAX_PAGES, t->nr_cpus);
		return 1;
	}
	t_barrier();
	t0 = t_now_ns();
	if (t->cpu == 0)
		write_passes(passes, pages);
	else if (t->cpu == 1)
		walk_passes(passes, pages);
	t_barrier();
	return t->cpu ? 0 : report(t, passes, pages, t_now_ns() - t0);
}
