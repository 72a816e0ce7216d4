// SPDX-License-Identifier: MIT
/* kernel/lapic.c - xAPIC MMIO: enable, EOI, IPIs, the timer. */
#include "kernel.h"

enum {
	LAPIC_ID = 0x20,
	LAPIC_TPR = 0x80,
	LAPIC_EOI = 0xb0,
	LAPIC_SVR = 0xf0,
	LAPIC_ICR_LO = 0x300,
	LAPIC_ICR_HI = 0x310,
	LAPIC_LVT_TIMER = 0x320,
	LAPIC_LVT_THERMAL = 0x330,
	LAPIC_LVT_PERF = 0x340,
	LAPIC_LVT_LINT0 = 0x350,
	LAPIC_LVT_LINT1 = 0x360,
	LAPIC_LVT_ERROR = 0x370,
	LAPIC_TIMER_ICR = 0x380,
	LAPIC_TIMER_CCR = 0x390,
	LAPIC_TIMER_DCR = 0x3e0,
};

#define LVT_MASKED	   (1u << 16)
#define TIMER_PERIODIC	   (1u << 17)
#define TIMER_TSC_DEADLINE (2u << 17)
#define DCR_DIVIDE_1	   0xb

uint32_t lapic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(uintptr_t)(LAPIC_PHYS + reg);
}

void lapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)(LAPIC_PHYS + reg) = v;
}

uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void lapic_enable(void)
{
	/* Nothing but testos's own interrupts: firmware may have left LINT0 as
	 * ExtINT (the 8259) on the BSP. */
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | TESTOS_VEC_TIMER);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, 0x100 | TESTOS_VEC_SPURIOUS);
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

/* @icr_lo: vector, delivery mode, shorthand; asserted, edge, physical. */
void lapic_send(uint32_t dest, uint32_t icr_lo)
{
	lapic_write(LAPIC_ICR_HI, dest << 24);
	lapic_write(LAPIC_ICR_LO, icr_lo | 1u << 14);
}

int lapic_timer_set(uint64_t mode, uint64_t value)
{
	uint32_t lvt = TESTOS_VEC_TIMER;

	switch (mode) {
	case TESTOS_TIMER_OFF:
		lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | lvt);
		lapic_write(LAPIC_TIMER_ICR, 0);
		wrmsr(MSR_TSC_DEADLINE, 0);
		return 0;
	case TESTOS_TIMER_PERIODIC:
		lvt |= TIMER_PERIODIC;
		/* fall through */
	case TESTOS_TIMER_ONESHOT:
		if (value == 0 || value > 0xffffffffu)
			return -22; /* EINVAL */
		lapic_write(LAPIC_TIMER_DCR, DCR_DIVIDE_1);
		lapic_write(LAPIC_LVT_TIMER, lvt);
		lapic_write(LAPIC_TIMER_ICR, (uint32_t)value);
		return 0;
	case TESTOS_TIMER_DEADLINE:
		/* the mode first: a deadline MSR write in another mode is ignored */
		lapic_write(LAPIC_LVT_TIMER, lvt | TIMER_TSC_DEADLINE);
		wrmsr(MSR_TSC_DEADLINE, value);
		return 0;
	}
	return -22;
}

/* Only for boots without a VMM-given TSC rate (PVH under QEMU): count TSC
 * cycles over 10 ms of the 1 GHz LAPIC timer. A ring-0 loop, but QEMU's TCG
 * runs ring 0 at full speed. */
uint64_t lapic_calibrate_tsc_khz(void)
{
	const uint32_t window = 10000000;
	uint32_t c0, c1;
	uint64_t t0, t1;

	lapic_write(LAPIC_TIMER_DCR, DCR_DIVIDE_1);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | TESTOS_VEC_TIMER);
	lapic_write(LAPIC_TIMER_ICR, 0xffffffffu);
	c0 = lapic_read(LAPIC_TIMER_CCR);
	t0 = rdtsc();
	do
		c1 = lapic_read(LAPIC_TIMER_CCR);
	while (c0 - c1 < window && c1 != 0);
	t1 = rdtsc();
	lapic_write(LAPIC_TIMER_ICR, 0);
	if (c0 == c1)
		return 0;
	return (t1 - t0) * 1000000 / (c0 - c1);
}
