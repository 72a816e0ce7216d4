// SPDX-License-Identifier: MIT
/*
 * kernel/smp.c - AP start-up (INIT/SIPI), release into ring 3, the kernel
 * barrier and per-CPU exit. Every wait here halts with `sti; hlt` and is
 * ended by an IPI: ring 0 never spins (PVM emulates each instruction).
 */
#include "kernel.h"
#include "../lib/testos.h"

#define ICR_INIT	    (5u << 8)
#define ICR_SIPI	    (6u << 8)
#define ICR_ALL_BUT_SELF    (3u << 18)
#define AP_START_TIMEOUT_NS 4000000000ull

static uint8_t ustacks[MAX_CPUS * USTACK_SIZE] __attribute__((aligned(4096)));
static uint32_t nr_online;
static uint64_t online_map[MAX_CPUS / 64];
static uint32_t bsp_index;
static uint32_t released;
static uint32_t barrier_arrived, barrier_gen;
static uint32_t nr_exited, exit_failed;

static void check_in(uint32_t index)
{
	__atomic_fetch_or(&online_map[index / 64], 1ull << (index % 64),
			  __ATOMIC_RELAXED);
	__atomic_add_fetch(&nr_online, 1, __ATOMIC_RELEASE);
}

static void wake_others(void)
{
	lapic_send(0, ICR_ALL_BUT_SELF | TESTOS_VEC_WAKE);
}

/* One INIT and one SIPI per AP by physical APIC ID: the VMM and QEMU neither
 * lose a SIPI nor need the delays real hardware does. */
void smp_start_aps(void)
{
	uint32_t n = g_bi->nr_cpus, me = this_cpu()->index;
	struct cpu *c = this_cpu();
	uint64_t timer_base;

	bsp_index = me;
	check_in(me);
	if (n == 1)
		return;
	memcpy((void *)TESTOS_TRAMPOLINE, trampoline_start,
	       (size_t)(trampoline_end - trampoline_start));
	for (uint32_t id = 0; id < n; id++)
		if (id != me)
			lapic_send(id, ICR_INIT);
	for (uint32_t id = 0; id < n; id++)
		if (id != me)
			lapic_send(id, ICR_SIPI | TRAMPOLINE_SIPI_VECTOR);
	timer_base = c->irq_count[TESTOS_VEC_TIMER];
	lapic_timer_set(TESTOS_TIMER_ONESHOT, AP_START_TIMEOUT_NS);
	while (__atomic_load_n(&nr_online, __ATOMIC_ACQUIRE) < n &&
	       c->irq_count[TESTOS_VEC_TIMER] == timer_base)
		halt_for_irq();
	lapic_timer_set(TESTOS_TIMER_OFF, 0);
	if (nr_online < n) {
		for (uint32_t id = 0; id < n; id++)
			if (!(online_map[id / 64] & 1ull << (id % 64)))
				kprintf("testos: cpu %u did not start\n", id);
		fail_and_power_off("reason=ap-start online=%u cpus=%u", nr_online, n);
	}
}

static void __attribute__((noreturn)) enter_program(void)
{
	uint32_t i = this_cpu()->index;
	/* as if called: rsp + 8 is 16-byte aligned at the C entry */
	uint64_t rsp = (uint64_t)(uintptr_t)&ustacks[(size_t)(i + 1) * USTACK_SIZE] - 8;

	enter_user((uint64_t)(uintptr_t)user_start, rsp, i, g_bi->nr_cpus);
}

void smp_release(void)
{
	__atomic_store_n(&released, 1, __ATOMIC_RELEASE);
	if (g_bi->nr_cpus > 1)
		wake_others();
	enter_program();
}

void smp_ap_main(uint32_t index)
{
	cpu_init(index);
	lapic_enable();
	check_in(index);
	lapic_send(bsp_index, TESTOS_VEC_WAKE);
	while (!__atomic_load_n(&released, __ATOMIC_ACQUIRE))
		halt_for_irq();
	enter_program();
}

/* Arrive with one atomic add; the last one releases the rest with one
 * broadcast IPI. The generation is read before arriving, so a waiter cannot
 * miss the release it belongs to. */
long smp_barrier(void)
{
	uint32_t gen = __atomic_load_n(&barrier_gen, __ATOMIC_ACQUIRE);
	uint32_t n = g_bi->nr_cpus;

	if (__atomic_add_fetch(&barrier_arrived, 1, __ATOMIC_ACQ_REL) == n) {
		__atomic_store_n(&barrier_arrived, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&barrier_gen, gen + 1, __ATOMIC_RELEASE);
		if (n > 1)
			wake_others();
		return 0;
	}
	while (__atomic_load_n(&barrier_gen, __ATOMIC_ACQUIRE) == gen)
		halt_for_irq();
	return 0;
}

void smp_exit(int64_t status)
{
	if (status) {
		kprintf("testos: cpu %u exited with status %ld\n", this_cpu()->index,
			(long)status);
		__atomic_store_n(&exit_failed, 1, __ATOMIC_RELAXED);
	}
	if (__atomic_add_fetch(&nr_exited, 1, __ATOMIC_ACQ_REL) == g_bi->nr_cpus)
		power_off(__atomic_load_n(&exit_failed, __ATOMIC_RELAXED) ? 1 : 0);
	for (;;)
		halt_for_irq();
}
