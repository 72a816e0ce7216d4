// SPDX-License-Identifier: MIT
/* The user-space xAPIC model's timer (one-shot, periodic, TSC-deadline,
 * divide, masking) and its state save/load, on a fake clock. */
#include "tests/unit/lapic_fixture.h"

static void test_reset_keeps_id_stops_timer(void **state)
{
	struct env *e = *state;

	wr(e, 0xF0, 0x1FF);
	wr(e, 0x320, 0x40);
	wr(e, 0x380, 1000);
	assert_int_not_equal(e->f.deadline, 0);
	fixed(e, 0x80, false);
	lapic_reset(&e->l);
	assert_int_equal(e->f.deadline, 0);
	assert_int_equal(lapic_timer_deadline(&e->l), 0);
	assert_int_equal(rd(e, 0x20), 0x03000000);
	assert_int_equal(rd(e, 0xF0), 0xFF);
	assert_int_equal(rd(e, 0x380), 0);
	assert_false(irr_has(e, 0x80));
}

static void test_timer_oneshot(void **state)
{
	struct env *e = *state;

	wr(e, 0xF0, 0x1FF);
	wr(e, 0x320, 0x40);
	wr(e, 0x3E0, 0x1); /* divide by 4 */
	wr(e, 0x380, 1000);
	assert_int_equal(e->f.deadline, T0 + 4000);
	assert_int_equal(lapic_timer_deadline(&e->l), T0 + 4000);
	assert_int_equal(rd(e, 0x390), 1000);
	e->f.now = T0 + 400;
	assert_int_equal(rd(e, 0x390), 900);
	e->f.now = T0 + 401; /* the tick in progress still counts */
	assert_int_equal(rd(e, 0x390), 900);
	e->f.now = T0 + 3999;
	assert_int_equal(rd(e, 0x390), 1);
	lapic_timer_poll(&e->l, T0 + 3999);
	assert_false(irr_has(e, 0x40));
	unsigned int calls = e->f.nr_timer;
	lapic_timer_poll(&e->l, T0 + 4000);
	assert_int_equal(lapic_pending_vector(&e->l), 0x40);
	assert_int_equal(e->f.nr_timer, calls + 1);
	assert_int_equal(e->f.deadline, 0);
	assert_int_equal(rd(e, 0x390), 0);
	assert_int_equal(rd(e, 0x380), 1000);
	lapic_timer_poll(&e->l, T0 + 9000); /* fires once */
	assert_int_equal(e->f.nr_timer, calls + 1);

	e->f.now = T0 + 10000;
	wr(e, 0x380, 500);
	assert_int_equal(e->f.deadline, T0 + 12000);
	wr(e, 0x380, 0); /* stops it */
	assert_int_equal(e->f.deadline, 0);
	assert_int_equal(rd(e, 0x390), 0);
}

/* Time dilation 10: the bus clock's ticks last 10 host ns; TSC-deadline
 * still converts at the TSC's real rate (the guest was told a 10x rate). */
static void test_timer_dilated(void **state)
{
	struct env *e = *state;

	e->l.dilation = 10;
	wr(e, 0xF0, 0x1FF);
	wr(e, 0x320, 0x40);
	wr(e, 0x3E0, 0x1); /* divide by 4 */
	wr(e, 0x380, 1000);
	assert_int_equal(e->f.deadline, T0 + 40000);
	e->f.now = T0 + 4000;
	assert_int_equal(rd(e, 0x390), 900);
	lapic_timer_poll(&e->l, T0 + 39999);
	assert_false(irr_has(e, 0x40));
	lapic_timer_poll(&e->l, T0 + 40000);
	assert_int_equal(lapic_pending_vector(&e->l), 0x40);
}

static void test_timer_periodic(void **state)
{
	struct env *e = *state;

	wr(e, 0xF0, 0x1FF);
	wr(e, 0x320, 0x20040);
	wr(e, 0x3E0, 0xB); /* divide by 1 */
	wr(e, 0x380, 200000);
	assert_int_equal(e->f.deadline, T0 + 200000);
	e->f.now = T0 + 50000;
	assert_int_equal(rd(e, 0x390), 150000);
	lapic_timer_poll(&e->l, T0 + 200000);
	assert_true(irr_has(e, 0x40));
	assert_int_equal(e->f.deadline, T0 + 400000);
	lapic_ack(&e->l, 0x40);
	wr(e, 0xB0, 0);
	/* 3.5 periods late: one interrupt, the phase kept */
	lapic_timer_poll(&e->l, T0 + 1100000);
	assert_int_equal(lapic_pending_vector(&e->l), 0x40);
	assert_int_equal(e->f.deadline, T0 + 1200000);
	e->f.now = T0 + 1250000; /* past the deadline, not polled yet */
	assert_int_equal(rd(e, 0x390), 150000);

	wr(e, 0x380, 10); /* a 10 ns period is spaced out on the host */
	assert_int_equal(e->f.deadline, e->f.now + LAPIC_TIMER_MIN_PERIOD_NS);
	assert_true(rd(e, 0x390) <= 10);
	wr(e, 0x320, 0x40); /* to one-shot: the mode change disarms */
	assert_int_equal(e->f.deadline, 0);
	assert_int_equal(rd(e, 0x380), 0);
}

static void test_timer_masked(void **state)
{
	struct env *e = *state;

	wr(e, 0xF0, 0x1FF);
	wr(e, 0x320, 0x10040);
	wr(e, 0x3E0, 0xB);
	wr(e, 0x380, 100);
	lapic_timer_poll(&e->l, T0 + 100);
	assert_false(irr_has(e, 0x40));
	assert_int_equal(e->f.deadline, 0); /* it still expired */
	assert_int_equal(rd(e, 0x390), 0);
	wr(e, 0x320, 0x60041); /* reserved mode 11b behaves as one-shot */
	wr(e, 0x380, 100);
	lapic_timer_poll(&e->l, T0 + 100);
	assert_true(irr_has(e, 0x41));
	assert_int_equal(e->f.deadline, 0);
	wr(e, 0x320, 0x20040 | 0x10000); /* periodic, masked */
	wr(e, 0x380, 200000);
	lapic_timer_poll(&e->l, T0 + 200000);
	assert_false(irr_has(e, 0x40));
	assert_int_equal(e->f.deadline, T0 + 400000);
}

static void test_timer_divide(void **state)
{
	struct env *e = *state;
	static const uint32_t div[][2] = {{0x0, 2},  {0x1, 4},	{0x2, 8},   {0x3, 16},
					  {0x8, 32}, {0x9, 64}, {0xA, 128}, {0xB, 1}};

	wr(e, 0xF0, 0x1FF);
	wr(e, 0x320, 0x40);
	for (size_t i = 0; i < sizeof(div) / sizeof(div[0]); i++) {
		wr(e, 0x3E0, div[i][0]);
		wr(e, 0x380, 1000);
		assert_int_equal(e->f.deadline - T0, 1000 * div[i][1]);
		assert_int_equal(rd(e, 0x390), 1000);
	}
	/* a new divisor applies to the counts left */
	wr(e, 0x3E0, 0xB);
	wr(e, 0x380, 1000);
	e->f.now = T0 + 500;
	wr(e, 0x3E0, 0x0);
	assert_int_equal(rd(e, 0x390), 500);
	assert_int_equal(e->f.deadline, T0 + 500 + 1000);
}

static void test_timer_tsc_deadline(void **state)
{
	struct env *e = *state;
	const uint64_t tsc = 5000000000ULL;

	wr(e, 0xF0, 0x1FF);
	wr(e, 0x320, 0x40);
	wr(e, 0x380, 1000);
	lapic_tsc_deadline_write(&e->l, tsc + 2000, tsc); /* not in TSC mode */
	assert_int_equal(lapic_tsc_deadline_read(&e->l), 0);
	wr(e, 0x320, 0x40040);
	assert_int_equal(e->f.deadline, 0);
	assert_int_equal(rd(e, 0x380), 0);
	wr(e, 0x380, 5000); /* ignored in TSC-deadline mode */
	assert_int_equal(rd(e, 0x380), 0);
	assert_int_equal(lapic_timer_deadline(&e->l), 0);

	lapic_tsc_deadline_write(&e->l, tsc + 2000, tsc); /* 2000 cycles at 2 GHz */
	assert_int_equal(e->f.deadline, T0 + 1000);
	assert_int_equal(lapic_tsc_deadline_read(&e->l), tsc + 2000);
	assert_int_equal(rd(e, 0x390), 0);
	lapic_timer_poll(&e->l, T0 + 999);
	assert_false(irr_has(e, 0x40));
	lapic_timer_poll(&e->l, T0 + 1000);
	assert_true(irr_has(e, 0x40));
	assert_int_equal(lapic_tsc_deadline_read(&e->l), 0);
	assert_int_equal(e->f.deadline, 0);
	lapic_ack(&e->l, 0x40);
	wr(e, 0xB0, 0);

	lapic_tsc_deadline_write(&e->l, tsc - 1, tsc); /* in the past: now */
	assert_int_equal(lapic_pending_vector(&e->l), 0x40);
	assert_int_equal(lapic_tsc_deadline_read(&e->l), 0);
	assert_int_equal(lapic_timer_deadline(&e->l), 0);

	lapic_tsc_deadline_write(&e->l, UINT64_MAX, 0); /* far, no overflow */
	assert_true(e->f.deadline > T0);
	lapic_tsc_deadline_write(&e->l, 0, tsc); /* 0 disarms */
	assert_int_equal(e->f.deadline, 0);
	assert_int_equal(lapic_tsc_deadline_read(&e->l), 0);
	lapic_tsc_deadline_write(&e->l, tsc + 100, tsc);
	wr(e, 0x320, 0x40); /* leaving the mode disarms */
	assert_int_equal(e->f.deadline, 0);
	assert_int_equal(lapic_tsc_deadline_read(&e->l), 0);
}

static void test_state_roundtrip(void **state)
{
	struct env *a = *state;
	struct lapic_state blob, again;
	struct env b;

	wr(a, 0xF0, 0x1FF);
	wr(a, 0x80, 0x10);
	wr(a, 0xD0, 0x05000000);
	wr(a, 0xE0, 0x0FFFFFFF);
	wr(a, 0x320, 0x20045);
	wr(a, 0x3E0, 0xB);
	wr(a, 0x380, 300000);
	fixed(a, 0x66, true);
	fixed(a, 0x70, false);
	lapic_ack(&a->l, 0x70);
	fixed(a, 3, false); /* an error not yet latched */
	send(a, APIC_DM_NMI, 0, 1, 0);
	a->f.now = T0 + 100000;
	lapic_state_save(&a->l, &blob);
	assert_int_equal(blob.timer_remaining_ns, 200000);

	env_init(&b, 3, false);
	b.f.now = 7 * T0; /* another host, another clock */
	lapic_state_load(&b.l, &blob);
	assert_int_equal(b.f.nr_timer, 1);
	assert_int_equal(b.f.deadline, 7 * T0 + 200000);
	assert_int_equal(rd(&b, 0x390), 200000);
	assert_int_equal(rd(&b, 0xA0), 0x70);
	assert_true(lapic_take_nmi(&b.l));
	send(&b, APIC_DM_NMI, 0, 1, 0);
	lapic_state_save(&b.l, &again);
	assert_memory_equal(&blob, &again, sizeof(blob));
	assert_int_equal(esr(&b), 0x40);

	/* a one-shot already due at save lands in IRR, not in a lost timer */
	wr(a, 0x320, 0x47);
	wr(a, 0x380, 1000);
	a->f.now += 5000;
	lapic_state_save(&a->l, &blob);
	assert_int_equal(blob.timer_remaining_ns, 0);
	assert_true(blob.irr[0x47 >> 5] & (1u << (0x47 & 31)));
	/* a blob from a peer is clamped: the ID stays, reserved bits go */
	blob.id = 0x09000000;
	blob.lvt[LVT_LINT0] = 0xFFFFFFFF;
	blob.irr[0] = 0xFFFFFFFF;
	lapic_state_load(&b.l, &blob);
	assert_int_equal(rd(&b, 0x20), 0x03000000);
	assert_int_equal(rd(&b, 0x350), 0x1A7FF);
	assert_int_equal(rd(&b, 0x200), 0xFFFF0000);
	assert_int_equal(b.f.deadline, 0);
	assert_int_equal(rd(&b, 0x390), 0);
	lapic_destroy(&b.l);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_reset_keeps_id_stops_timer),
	    T(test_timer_oneshot),
	    T(test_timer_dilated),
	    T(test_timer_periodic),
	    T(test_timer_masked),
	    T(test_timer_divide),
	    T(test_timer_tsc_deadline),
	    T(test_state_roundtrip),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
