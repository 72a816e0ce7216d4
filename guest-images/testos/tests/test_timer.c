// SPDX-License-Identifier: MIT
/*
 * tests/test_timer.c - LAPIC timer interrupts on every CPU in periodic,
 * one-shot and TSC-deadline modes, a third of bootinfo.seconds (default 1)
 * each. The host is shared, so the lower bound on ticks is loose; what must
 * hold exactly: a one-shot or deadline interrupt never comes early (beyond a
 * 1% allowance for the TSC rate) and never twice, periodic ticks never come
 * faster than programmed. args "nodeadline" skips the TSC-deadline mode
 * (for QEMU TCG, which does not implement it).
 */
#include "tests.h"

#define PERIOD_NS 1000000ull
#define VT	  TESTOS_VEC_TIMER

struct tally {
	uint64_t periodic, oneshot, deadline;
};

static struct tally total;
static uint64_t failures;

static int fail(const struct test_ctx *t, const char *mode, const char *what, uint64_t a,
		uint64_t b)
{
	t_printf("timer: cpu %u %s: %s (%lu vs %lu)\n", t->cpu, mode, what,
		 (unsigned long)a, (unsigned long)b);
	return 1;
}

static int run_periodic(const struct test_ctx *t, uint64_t dur_ns, uint64_t *ticks)
{
	uint64_t base = t_irq_count(VT), cnt = base, t0 = t_rdtsc(), expect, elapsed;
	uint64_t end = t0 + t_ns_to_cycles(dur_ns);

	t_timer(TESTOS_TIMER_PERIODIC, PERIOD_NS);
	while (t_rdtsc() < end)
		cnt = t_wait_irq(VT, cnt + 1);
	t_timer(TESTOS_TIMER_OFF, 0);
	elapsed = t_cycles_to_ns(t_rdtsc() - t0);
	*ticks = t_irq_count(VT) - base;
	expect = elapsed / PERIOD_NS;
	if (*ticks < 1 || *ticks < expect / 50)
		return fail(t, "periodic", "too few ticks", *ticks, expect);
	if (*ticks > expect * 11 / 10 + 2)
		return fail(t, "periodic", "ticks faster than the period", *ticks,
			    expect);
	return 0;
}

/* One-shot (@deadline false) or TSC-deadline: arm, halt until it fires, check
 * it was not early; repeat until @dur_ns are over. */
static int run_single(const struct test_ctx *t, bool deadline, uint64_t dur_ns,
		      uint64_t *ticks)
{
	const char *mode = deadline ? "deadline" : "one-shot";
	uint64_t base = t_irq_count(VT), n = 0, cnt;
	uint64_t period = t_ns_to_cycles(PERIOD_NS), slack = period / 100;
	uint64_t end = t_rdtsc() + t_ns_to_cycles(dur_ns);

	while (t_rdtsc() < end) {
		uint64_t t0 = t_rdtsc(), t1;
		if (deadline)
			t_timer(TESTOS_TIMER_DEADLINE, t0 + period);
		else
			t_timer(TESTOS_TIMER_ONESHOT, PERIOD_NS);
		cnt = t_wait_irq(VT, base + n + 1);
		t1 = t_rdtsc();
		n++;
		if (t1 - t0 + slack < period)
			return fail(t, mode, "fired early (cycles)", t1 - t0, period);
		if (cnt != base + n)
			return fail(t, mode, "extra interrupt", cnt - base, n);
	}
	/* it must not fire again on its own */
	sleep_ns(3 * PERIOD_NS);
	*ticks = t_irq_count(VT) - base;
	if (*ticks != n)
		return fail(t, mode, "fired after the last arm", *ticks, n);
	t_timer(TESTOS_TIMER_OFF, 0);
	return 0;
}

int test_timer(const struct test_ctx *t)
{
	uint64_t phase = (t->seconds ? t->seconds : 1) * 1000000000ull / 3;
	struct tally me = {0};
	int bad = 0;

	t_barrier();
	bad |= run_periodic(t, phase, &me.periodic);
	bad |= run_single(t, false, phase, &me.oneshot);
	/* QEMU's TCG APIC stores IA32_TSC_DEADLINE but never fires it */
	if (!args_has(t->args, "nodeadline"))
		bad |= run_single(t, true, phase, &me.deadline);
	t_printf("timer: cpu %u periodic=%lu oneshot=%lu deadline=%lu\n", t->cpu,
		 (unsigned long)me.periodic, (unsigned long)me.oneshot,
		 (unsigned long)me.deadline);
	__atomic_add_fetch(&total.periodic, me.periodic, __ATOMIC_RELAXED);
	__atomic_add_fetch(&total.oneshot, me.oneshot, __ATOMIC_RELAXED);
	__atomic_add_fetch(&total.deadline, me.deadline, __ATOMIC_RELAXED);
	__atomic_add_fetch(&failures, (uint64_t)bad, __ATOMIC_RELAXED);
	t_barrier();
	if (t->cpu)
		return 0;
	t_printf("RACKVM-RESULT test=timer status=%s cpus=%u periodic=%lu oneshot=%lu "
		 "deadline=%lu ticks=%lu bad_cpus=%lu\n",
		 failures ? "fail" : "pass", t->nr_cpus, (unsigned long)total.periodic,
		 (unsigned long)total.oneshot, (unsigned long)total.deadline,
		 (unsigned long)(total.periodic + total.oneshot + total.deadline),
		 (unsigned long)failures);
	return failures ? 1 : 0;
}
