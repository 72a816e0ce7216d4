// SPDX-License-Identifier: MIT
/*
 * tests/test_ipi.c - IPI ping-pong between CPU pairs (0<->1, 2<->3, ...; a
 * CPU without a partner sends itself IPIs). The waiting side halts in the
 * kernel until the IPI arrives; every CPU must take exactly IPI_ROUNDS.
 */
#include "tests.h"

#define IPI_ROUNDS 200
#define IPI_VEC	   TESTOS_VEC_USER_FIRST

static uint64_t failures, rtt_cycles, rtt_rounds;

static void ping(unsigned int peer, uint64_t base)
{
	uint64_t total = 0;

	for (uint64_t r = 1; r <= IPI_ROUNDS; r++) {
		uint64_t t0 = t_rdtsc();
		t_ipi(peer, IPI_VEC);
		t_wait_irq(IPI_VEC, base + r);
		total += t_rdtsc() - t0;
	}
	__atomic_add_fetch(&rtt_cycles, total, __ATOMIC_RELAXED);
	__atomic_add_fetch(&rtt_rounds, IPI_ROUNDS, __ATOMIC_RELAXED);
}

static void pong(unsigned int peer, uint64_t base)
{
	for (uint64_t r = 1; r <= IPI_ROUNDS; r++) {
		t_wait_irq(IPI_VEC, base + r);
		t_ipi(peer, IPI_VEC);
	}
}

int test_ipi(const struct test_ctx *t)
{
	uint64_t base = t_irq_count(IPI_VEC), got;
	char rtt[32];

	t_barrier();
	if (t->cpu % 2)
		pong(t->cpu - 1, base);
	else
		ping(t->cpu + 1 < t->nr_cpus ? t->cpu + 1 : t->cpu, base);
	t_barrier();
	got = t_irq_count(IPI_VEC) - base;
	if (got != IPI_ROUNDS) {
		t_printf("ipi: cpu %u took %lu IPIs, expected %u\n", t->cpu,
			 (unsigned long)got, IPI_ROUNDS);
		__atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
	}
	t_barrier();
	if (t->cpu)
		return 0;
	fmt_us(rtt, sizeof(rtt), t_cycles_to_ns(rtt_cycles / rtt_rounds));
	t_printf(
	    "RACKVM-RESULT test=ipi status=%s cpus=%u rounds=%u rtt_us=%s bad_cpus=%lu\n",
	    failures ? "fail" : "pass", t->nr_cpus, IPI_ROUNDS, rtt,
	    (unsigned long)failures);
	return failures ? 1 : 0;
}
