// SPDX-License-Identifier: MIT
/* tests/test_smp.c - every CPU checks in with its LAPIC ID (read from ring 3
 * through the user-mapped LAPIC page) into a shared bitmap. */
#include "tests.h"

#define LAPIC_ID_REG 0xfee00020ul

static uint64_t seen[TESTOS_MAX_CPUS / 64];
static uint64_t mismatches;

int test_smp(const struct test_ctx *t)
{
	uint32_t apic = *(volatile uint32_t *)LAPIC_ID_REG >> 24;
	unsigned int id = t_cpu_id(), count = 0;

	if (apic != id || id != t->cpu || id >= t->nr_cpus || t_cpu_count() != t->nr_cpus)
		__atomic_add_fetch(&mismatches, 1, __ATOMIC_RELAXED);
	else
		__atomic_fetch_or(&seen[id / 64], 1ull << (id % 64), __ATOMIC_RELAXED);
	t_printf("smp: cpu %u lapic %u node %ld\n", id, apic, t_node_of_cpu(id));
	t_barrier();
	if (t->cpu)
		return 0;
	for (unsigned int i = 0; i < TESTOS_MAX_CPUS; i++)
		count += (seen[i / 64] >> (i % 64)) & 1;
	if (count != t->nr_cpus || mismatches) {
		t_printf("RACKVM-RESULT test=smp status=fail cpus=%u checked_in=%u "
			 "mismatches=%lu\n",
			 t->nr_cpus, count, (unsigned long)mismatches);
		return 1;
	}
	t_printf("RACKVM-RESULT test=smp status=pass cpus=%u\n", count);
	return 0;
}
