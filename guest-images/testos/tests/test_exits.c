// SPDX-License-Identifier: MIT
/*
 * tests/test_exits.c - what `rackvm bench exits` reads: the p50 cost of a
 * PIO exit from ring 0 (timed in the kernel) and from ring 3, of an MMIO exit
 * (LAPIC version register from ring 3), of a null system call and, with 2+
 * CPUs, of an IPI round trip between CPU 0 and a CPU on its node.
 */
#include "tests.h"

#define EXIT_SAMPLES	  1000
#define IPI_SAMPLES	  200
#define IPI_VEC		  (TESTOS_VEC_USER_FIRST + 1)
#define LAPIC_VERSION_REG 0xfee00030ul

static uint64_t samples[EXIT_SAMPLES];

static uint64_t p50_ns(uint64_t *v, size_t n)
{
	return t_cycles_to_ns(t_median(v, n));
}

static uint64_t pio_r3(void)
{
	for (int i = 0; i < EXIT_SAMPLES; i++) {
		uint64_t t0 = t_rdtsc();
		__asm__ volatile("outb %%al, %0" : : "i"(RACKVM_PORT_NOP), "a"(0));
		samples[i] = t_rdtsc() - t0;
	}
	return p50_ns(samples, EXIT_SAMPLES);
}

static uint64_t mmio_r3(void)
{
	for (int i = 0; i < EXIT_SAMPLES; i++) {
		uint64_t t0 = t_rdtsc();
		(void)*(volatile uint32_t *)LAPIC_VERSION_REG;
		samples[i] = t_rdtsc() - t0;
	}
	return p50_ns(samples, EXIT_SAMPLES);
}

/* A null system call: the kernel entry and IRETQ, no exit to the VMM. */
static uint64_t null_syscall(void)
{
	for (int i = 0; i < EXIT_SAMPLES; i++) {
		uint64_t t0 = t_rdtsc();
		(void)t_cpu_id();
		samples[i] = t_rdtsc() - t0;
	}
	return p50_ns(samples, EXIT_SAMPLES);
}

static int same_node_partner(unsigned int n)
{
	long node0 = t_node_of_cpu(0);

	for (unsigned int c = 1; c < n; c++)
		if (t_node_of_cpu(c) == node0)
			return (int)c;
	return -1;
}

static uint64_t ipi_rtt(unsigned int peer, uint64_t base)
{
	for (int r = 1; r <= IPI_SAMPLES; r++) {
		uint64_t t0 = t_rdtsc();
		t_ipi(peer, IPI_VEC);
		t_wait_irq(IPI_VEC, base + (uint64_t)r);
		samples[r - 1] = t_rdtsc() - t0;
	}
	return p50_ns(samples, IPI_SAMPLES);
}

static void ipi_echo(uint64_t base)
{
	for (int r = 1; r <= IPI_SAMPLES; r++) {
		t_wait_irq(IPI_VEC, base + (uint64_t)r);
		t_ipi(0, IPI_VEC);
	}
}

int test_exits(const struct test_ctx *t)
{
	int partner = same_node_partner(t->nr_cpus);
	uint64_t r0, r3, mmio, sys, ipi = 0;
	char ipi_field[48] = "";
	/* before the barrier: after it, CPU 0's first IPI may already be here */
	uint64_t base = t_irq_count(IPI_VEC);

	t_barrier();
	if (t->cpu) {
		if ((int)t->cpu == partner)
			ipi_echo(base);
		return 0;
	}
	if (t_pio_bench(samples, EXIT_SAMPLES))
		return 1;
	r0 = p50_ns(samples, EXIT_SAMPLES);
	r3 = pio_r3();
	mmio = mmio_r3();
	sys = null_syscall();
	if (partner > 0) {
		ipi = ipi_rtt((unsigned int)partner, base);
		t_snprintf(ipi_field, sizeof(ipi_field), " ipi_rtt_ns=%lu",
			   (unsigned long)ipi);
	}
	t_printf(
	    "RACKVM-RESULT test=exits status=pass cpus=%u pio_r0_ns=%lu pio_r3_ns=%lu "
	    "mmio_ns=%lu syscall_ns=%lu%s\n",
	    t->nr_cpus, (unsigned long)r0, (unsigned long)r3, (unsigned long)mmio,
	    (unsigned long)sys, ipi_field);
	return 0;
}
