// SPDX-License-Identifier: MIT
/*
 * tests/test_compute.c - a private-memory compute workload: every CPU takes a
 * 1 MiB buffer homed on its own NUMA node, fills it, then runs a fixed number
 * of passes of integer mixing over it, timed with the TSC. Nothing is shared
 * but the result table, so on a multi-node VM this measures what spreading
 * the vCPUs costs a workload with good locality (`rackvm bench vm`).
 */
#include "tests.h"

#define BUF_BYTES (1ull << 20)
#define PASSES	  64

static uint64_t took_ns[TESTOS_MAX_CPUS], sums[TESTOS_MAX_CPUS];
static uint64_t claimed[64]; /* one bit per MiB of the first 4 GiB */

/* A free MiB of this CPU's own node that no other CPU has claimed. */
static uint64_t *claim_local_buffer(unsigned int cpu)
{
	long node = t_node_of_cpu(cpu);
	uint64_t base, size;

	for (unsigned int i = 0; !t_mem_info(&base, &size, i); i++) {
		uint64_t a = (base + BUF_BYTES - 1) & ~(BUF_BYTES - 1);

		for (; a + BUF_BYTES <= base + size; a += BUF_BYTES) {
			uint64_t mib = a / BUF_BYTES, bit = 1ull << (mib % 64);

			if (mib >= 64 * 64 || t_node_of_addr((void *)(uintptr_t)a) != node)
				continue;
			if (!(__atomic_fetch_or(&claimed[mib / 64], bit, __ATOMIC_RELAXED) & bit))
				return (uint64_t *)(uintptr_t)a;
		}
	}
	return NULL;
}

static uint64_t mix(uint64_t *buf)
{
	uint64_t x = 0x243f6a8885a308d3ull;

	for (uint64_t i = 0; i < BUF_BYTES / 8; i++)
		buf[i] = i * 0x9e3779b97f4a7c15ull;
	for (int p = 0; p < PASSES; p++)
		for (uint64_t i = 0; i < BUF_BYTES / 8; i++) {
			x ^= buf[i] + (x << 7) + (x >> 3);
			buf[i] = x;
		}
	return x;
}

int test_compute(const struct test_ctx *t)
{
	uint64_t *buf = claim_local_buffer(t->cpu), t0, worst = 0, total = 0;
	char us[32], avg[32];

	t_barrier();
	if (!buf) {
		t_printf("RACKVM-RESULT test=compute status=fail reason=no-local-memory cpu=%u\n",
			 t->cpu);
		return 1;
	}
	t0 = t_rdtsc();
	sums[t->cpu] = mix(buf);
	took_ns[t->cpu] = t_cycles_to_ns(t_rdtsc() - t0);
	t_barrier();
	if (t->cpu)
		return 0;
	for (unsigned int i = 0; i < t->nr_cpus; i++) {
		worst = took_ns[i] > worst ? took_ns[i] : worst;
		total += took_ns[i];
		if (sums[i] != sums[0]) /* same input, same arithmetic, same answer */
			worst = 0;
	}
	if (!worst) {
		t_printf("RACKVM-RESULT test=compute status=fail reason=wrong-result\n");
		return 1;
	}
	fmt_us(us, sizeof(us), worst);
	fmt_us(avg, sizeof(avg), total / t->nr_cpus);
	t_printf("RACKVM-RESULT test=compute status=pass cpus=%u slowest_us=%s avg_us=%s\n",
		 t->nr_cpus, us, avg);
	return 0;
}
