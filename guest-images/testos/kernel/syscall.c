// SPDX-License-Identifier: MIT
/*
 * kernel/syscall.c - the system calls (abi.h). Short paths only:
 * each instruction here is emulated on PVM. Every pointer and number from
 * ring 3 is checked before use.
 */
#include "kernel.h"
#include "../lib/testos.h"

#define EINVAL	      22
#define EFAULT	      14
#define ENOENT	      2
#define ENOSYS	      38
#define WRITE_MAX     4096
#define PIO_BENCH_MAX 100000

typedef int64_t (*sys_fn)(uint64_t a, uint64_t b, uint64_t c);

static int64_t sys_write(uint64_t buf, uint64_t len, uint64_t c)
{
	(void)c;
	if (len > WRITE_MAX)
		len = WRITE_MAX;
	if (!ram_contains(buf, len))
		return -EFAULT;
	con_write((const char *)(uintptr_t)buf, len);
	return (int64_t)len;
}

static int64_t sys_exit(uint64_t status, uint64_t b, uint64_t c)
{
	(void)b, (void)c;
	smp_exit((int64_t)status);
}

static int64_t sys_cpu_id(uint64_t a, uint64_t b, uint64_t c)
{
	(void)a, (void)b, (void)c;
	return this_cpu()->index;
}

static int64_t sys_cpu_count(uint64_t a, uint64_t b, uint64_t c)
{
	(void)a, (void)b, (void)c;
	return g_bi->nr_cpus;
}

static int64_t sys_barrier(uint64_t a, uint64_t b, uint64_t c)
{
	(void)a, (void)b, (void)c;
	return smp_barrier();
}

static int64_t sys_time_ns(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t d = rdtsc() - g_boot_tsc, khz = g_bi->tsc_khz;

	(void)a, (void)b, (void)c;
	return (int64_t)(d / khz * 1000000 + d % khz * 1000000 / khz);
}

static int64_t sys_yield(uint64_t a, uint64_t b, uint64_t c)
{
	(void)a, (void)b, (void)c;
	outb(RACKVM_PORT_YIELD, 0);
	return 0;
}

static int64_t sys_node_of_cpu(uint64_t cpu, uint64_t b, uint64_t c)
{
	(void)b, (void)c;
	return cpu < g_bi->nr_cpus ? g_bi->cpu_node[cpu] : -EINVAL;
}

static int64_t sys_node_of_addr(uint64_t addr, uint64_t b, uint64_t c)
{
	(void)b, (void)c;
	return node_of_addr(addr);
}

static int64_t sys_mem_info(uint64_t base, uint64_t size, uint64_t i)
{
	if (!ram_contains(base, 8) || !ram_contains(size, 8))
		return -EFAULT;
	if (i >= g_nr_free)
		return -ENOENT;
	*(uint64_t *)(uintptr_t)base = g_free[i].base;
	*(uint64_t *)(uintptr_t)size = g_free[i].size;
	return 0;
}

static int64_t sys_ipi(uint64_t cpu, uint64_t vector, uint64_t c)
{
	(void)c;
	if (cpu >= g_bi->nr_cpus || vector < TESTOS_VEC_USER_FIRST ||
	    vector > TESTOS_VEC_USER_LAST)
		return -EINVAL;
	lapic_send((uint32_t)cpu, (uint32_t)vector);
	return 0;
}

static int64_t sys_irq_count(uint64_t vector, uint64_t b, uint64_t c)
{
	(void)b, (void)c;
	return vector < 256 ? (int64_t)this_cpu()->irq_count[vector] : -EINVAL;
}

static int64_t sys_wait_irq(uint64_t vector, uint64_t count, uint64_t c)
{
	struct cpu *cpu = this_cpu();

	(void)c;
	if (vector >= 256)
		return -EINVAL;
	while (cpu->irq_count[vector] < count)
		halt_for_irq();
	return (int64_t)cpu->irq_count[vector];
}

static int64_t sys_timer(uint64_t mode, uint64_t value, uint64_t c)
{
	(void)c;
	return lapic_timer_set(mode, value);
}

static int64_t sys_tsc_khz(uint64_t a, uint64_t b, uint64_t c)
{
	(void)a, (void)b, (void)c;
	return (int64_t)g_bi->tsc_khz;
}

/* The ring-0 PIO exit cost for `rackvm bench exits`: a loop in ring 0 by
 * design, bounded by PIO_BENCH_MAX. */
static int64_t sys_pio_bench(uint64_t buf, uint64_t n, uint64_t c)
{
	uint64_t *out = (uint64_t *)(uintptr_t)buf;

	(void)c;
	if (n > PIO_BENCH_MAX || !ram_contains(buf, n * 8))
		return -EINVAL;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t t0 = rdtsc();
		outb(RACKVM_PORT_NOP, 0);
		out[i] = rdtsc() - t0;
	}
	return 0;
}

static const sys_fn sys_table[SYS_NR] = {
    [SYS_WRITE] = sys_write,
    [SYS_EXIT] = sys_exit,
    [SYS_CPU_ID] = sys_cpu_id,
    [SYS_CPU_COUNT] = sys_cpu_count,
    [SYS_BARRIER] = sys_barrier,
    [SYS_TIME_NS] = sys_time_ns,
    [SYS_YIELD] = sys_yield,
    [SYS_NODE_OF_CPU] = sys_node_of_cpu,
    [SYS_NODE_OF_ADDR] = sys_node_of_addr,
    [SYS_MEM_INFO] = sys_mem_info,
    [SYS_IPI] = sys_ipi,
    [SYS_IRQ_COUNT] = sys_irq_count,
    [SYS_WAIT_IRQ] = sys_wait_irq,
    [SYS_TIMER] = sys_timer,
    [SYS_TSC_KHZ] = sys_tsc_khz,
    [SYS_PIO_BENCH] = sys_pio_bench,
};

void syscall_dispatch(struct trap_frame *f)
{
	uint64_t nr = f->rax;

	if (nr >= SYS_NR || !sys_table[nr]) {
		f->rax = (uint64_t)-ENOSYS;
		return;
	}
	f->rax = (uint64_t)sys_table[nr](f->rdi, f->rsi, f->rdx);
}
