// SPDX-License-Identifier: MIT
/* The user-space xAPIC model against the SDM: registers, priorities, ICR,
 * destinations, INIT/SIPI (the timer and state: test_lapic_timer.c). */
#include "tests/unit/lapic_fixture.h"

static void test_reset_values(void **state)
{
	struct env *e = *state;

	assert_int_equal(rd(e, 0x20), 0x03000000);
	assert_int_equal(rd(e, 0x30), 0x00050014);
	assert_int_equal(rd(e, 0xE0), 0xFFFFFFFF);
	assert_int_equal(rd(e, 0xF0), 0xFF);
	for (uint32_t off = 0x320; off <= 0x370; off += 0x10)
		assert_int_equal(rd(e, off), 0x10000);
	for (uint32_t off = 0x100; off < 0x280; off += 0x10)
		assert_int_equal(rd(e, off), 0);
	const uint32_t zero[] = {0x80,	0x90,  0xA0,  0xD0,  0x280,
				 0x300, 0x310, 0x380, 0x390, 0x3E0};
	for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
		assert_int_equal(rd(e, zero[i]), 0);
	assert_int_equal(lapic_pending_vector(&e->l), -1);
	assert_false(lapic_has_wakeup(&e->l));
	assert_int_equal(lapic_timer_deadline(&e->l), 0);
}

static void test_read_only_and_reserved(void **state)
{
	struct env *e = *state;
	const uint32_t ro[] = {0x20, 0x30, 0x90, 0xA0, 0x100, 0x180, 0x200, 0x270, 0x390};
	const uint32_t reserved[] = {0x00, 0x10, 0x40, 0x70, 0x2F0, 0x3A0, 0x3F0, 0xFF0};

	wr(e, 0xF0, 0x1FF);
	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
		uint32_t before = rd(e, ro[i]);

		wr(e, ro[i], 0xFFFFFFFF);
		assert_int_equal(rd(e, ro[i]), before);
	}
	assert_int_equal(esr(e), 0); /* read-only is not illegal */
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		wr(e, reserved[i], 0xFFFFFFFF);
		assert_int_equal(rd(e, reserved[i]), 0);
		assert_int_equal(esr(e), 0x80); /* illegal register address */
	}
	assert_int_equal(esr(e), 0); /* the write cleared it */
	wr(e, 0x84, 0xFF);	     /* inside TPR's 16-byte slot: ignored */
	assert_int_equal(rd(e, 0x80), 0);
	assert_int_equal(rd(e, 0x84), 0);
	/* writable bits only */
	wr(e, 0x80, 0x1FF);
	assert_int_equal(rd(e, 0x80), 0xFF);
	wr(e, 0xD0, 0xFFFFFFFF);
	assert_int_equal(rd(e, 0xD0), 0xFF000000);
	wr(e, 0xE0, 0);
	assert_int_equal(rd(e, 0xE0), 0x0FFFFFFF);
	wr(e, 0x350, 0xFFFFFFFF);
	assert_int_equal(rd(e, 0x350), 0x1A7FF); /* LINT0: no remote IRR, no status */
	wr(e, 0x370, 0xFFFFFFFF);
	assert_int_equal(rd(e, 0x370), 0x100FF);
	wr(e, 0x310, 0xFFFFFFFF);
	assert_int_equal(rd(e, 0x310), 0xFF000000);
	wr(e, 0x3E0, 0xFFFFFFFF);
	assert_int_equal(rd(e, 0x3E0), 0xB);
}

static void test_software_disable(void **state)
{
	struct env *e = *state;

	wr(e, 0x320, 0x40); /* disabled: the mask is forced */
	assert_int_equal(rd(e, 0x320), 0x10040);
	assert_false(fixed(e, 0x40, false));
	assert_false(irr_has(e, 0x40));
	wr(e, 0xF0, 0x1FF);
	wr(e, 0x320, 0x40);
	wr(e, 0x350, 0x700);
	assert_int_equal(rd(e, 0x320), 0x40);
	wr(e, 0xF0, 0xFF);
	assert_int_equal(rd(e, 0x320), 0x10040);
	assert_int_equal(rd(e, 0x350), 0x10700);
	/* NMI is still accepted while disabled */
	assert_true(send(e, APIC_DM_NMI, 0, 1, 0));
	assert_true(lapic_has_wakeup(&e->l));
	assert_true(lapic_take_nmi(&e->l));
	assert_false(lapic_take_nmi(&e->l));
	/* IRR state is held but nothing is deliverable while disabled */
	wr(e, 0xF0, 0x1FF);
	fixed(e, 0x55, false);
	wr(e, 0xF0, 0xFF);
	assert_true(irr_has(e, 0x55));
	assert_int_equal(lapic_pending_vector(&e->l), -1);
}

static void test_priority_and_eoi_order(void **state)
{
	struct env *e = *state;

	wr(e, 0xF0, 0x1FF);
	assert_true(fixed(e, 0x31, false));
	assert_true(fixed(e, 0x51, false));
	assert_int_equal(lapic_pending_vector(&e->l), 0x51);
	wr(e, 0x80, 0x50); /* same class as the vector: held */
	assert_int_equal(rd(e, 0xA0), 0x50);
	assert_int_equal(lapic_pending_vector(&e->l), -1);
	wr(e, 0x80, 0x4F);
	assert_int_equal(rd(e, 0xA0), 0x4F);
	assert_int_equal(lapic_pending_vector(&e->l), 0x51);
	wr(e, 0x80, 0);

	lapic_ack(&e->l, 0x51);
	assert_true(isr_has(e, 0x51));
	assert_false(irr_has(e, 0x51));
	assert_int_equal(rd(e, 0xA0), 0x50); /* PPR from the ISR */
	assert_int_equal(lapic_pending_vector(&e->l), -1);
	assert_false(fixed(e, 0x52, false)); /* same class as in service */
	assert_true(fixed(e, 0x61, false));  /* nests */
	assert_int_equal(lapic_pending_vector(&e->l), 0x61);
	lapic_ack(&e->l, 0x61);
	assert_int_equal(rd(e, 0xA0), 0x60);

	wr(e, 0xB0, 0); /* EOI ends the highest in service: 0x61 */
	assert_false(isr_has(e, 0x61));
	assert_true(isr_has(e, 0x51));
	assert_int_equal(lapic_pending_vector(&e->l), -1);
	wr(e, 0xB0, 0);
	assert_int_equal(rd(e, 0xA0), 0);
	assert_int_equal(lapic_pending_vector(&e->l), 0x52);
	lapic_ack(&e->l, 0x52);
	wr(e, 0xB0, 0);
	assert_int_equal(lapic_pending_vector(&e->l), 0x31);
	assert_int_equal(e->f.nr_eoi, 0); /* all edge */
	lapic_ack(&e->l, 0x99);		  /* not requested: no ISR bit appears */
	assert_false(isr_has(e, 0x99));
}

static void test_level_eoi_and_arbitration(void **state)
{
	struct env *e = *state;

	wr(e, 0xF0, 0x1FF);
	fixed(e, 0x70, true);
	assert_true(rd(e, 0x180 + 0x30) & (1u << 16)); /* TMR bit of 0x70 */
	lapic_ack(&e->l, 0x70);
	wr(e, 0xB0, 0);
	assert_int_equal(e->f.nr_eoi, 1);
	assert_int_equal(e->f.eoi_vector, 0x70);
	wr(e, 0xB0, 0); /* nothing in service: nothing to tell */
	assert_int_equal(e->f.nr_eoi, 1);

	wr(e, 0x80, 0x25);
	assert_int_equal(lapic_arb_priority(&e->l), 0x25);
	fixed(e, 0x31, false); /* IRR class above TPR */
	assert_int_equal(lapic_arb_priority(&e->l), 0x30);
	assert_int_equal(rd(e, 0x90), 0x30);
}

struct icr_case {
	uint32_t lo, hi;
	struct apic_irq want; /* src_id is always 3 */
};

static void test_icr_decode(void **state)
{
	(void)state;
	static const struct icr_case cases[] = {
	    {0x000040F0, 0x05000000, {0xF0, APIC_DM_FIXED, 0, APIC_SH_NONE, 1, 0, 5, 3}},
	    {0x00004931,
	     0x0F000000,
	     {0x31, APIC_DM_LOWEST, 1, APIC_SH_NONE, 1, 0, 0x0F, 3}},
	    {0x00004200, 0x01000000, {0x00, APIC_DM_SMI, 0, APIC_SH_NONE, 1, 0, 1, 3}},
	    {0x000C4400, 0x00000000, {0x00, APIC_DM_NMI, 0, APIC_SH_OTHERS, 1, 0, 0, 3}},
	    {0x0000C500, 0x02000000, {0x00, APIC_DM_INIT, 0, APIC_SH_NONE, 1, 1, 2, 3}},
	    {0x00088D00, 0x00000000, {0x00, APIC_DM_INIT, 1, APIC_SH_ALL, 0, 1, 0, 3}},
	    {0x00004608, 0x02FFFFFF, {0x08, APIC_DM_SIPI, 0, APIC_SH_NONE, 1, 0, 2, 3}},
	    {0x00000700,
	     0xFF000000,
	     {0x00, APIC_DM_EXTINT, 0, APIC_SH_NONE, 0, 0, 0xFF, 3}},
	    {0x00044030, 0x00000000, {0x30, APIC_DM_FIXED, 0, APIC_SH_SELF, 1, 0, 0, 3}},
	    {0x00089040, 0x00000000, {0x40, APIC_DM_FIXED, 0, APIC_SH_ALL, 0, 1, 0, 3}},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct apic_irq got;

		memset(&got, 0xAA, sizeof(got));
		apic_icr_decode(cases[i].lo, cases[i].hi, 3, &got);
		assert_memory_equal(&got, &cases[i].want, sizeof(got));
	}
}

static void test_icr_write_sends(void **state)
{
	struct env *e = *state;

	wr(e, 0x310, 0x07ABCDEF);
	assert_int_equal(e->f.nr_ipi, 0); /* the high half does not send */
	wr(e, 0x300, 0x000050F0);	  /* bit 12 (delivery status) set */
	assert_int_equal(e->f.nr_ipi, 1);
	assert_int_equal(rd(e, 0x300), 0x000040F0); /* sent at once: status 0 */
	assert_int_equal(e->f.ipi.vector, 0xF0);
	assert_int_equal(e->f.ipi.dest, 7);
	assert_int_equal(e->f.ipi.src_id, 3);
	assert_int_equal(e->f.ipi.delivery, APIC_DM_FIXED);
	/* INIT level de-assert still goes out: the platform decides */
	wr(e, 0x300, 0x000C8500);
	assert_int_equal(e->f.nr_ipi, 2);
	assert_int_equal(e->f.ipi.delivery, APIC_DM_INIT);
	assert_int_equal(e->f.ipi.level, 0);
	assert_int_equal(e->f.ipi.trigger, 1);
	assert_int_equal(esr(e), 0);
	wr(e, 0x300, 0x00004005); /* fixed vector 5: send illegal vector */
	assert_int_equal(e->f.nr_ipi, 3);
	assert_int_equal(esr(e), 0x20);
	/* a self IPI comes back in through the callback: no lock is held */
	e->f.route = true;
	wr(e, 0xF0, 0x1FF);
	wr(e, 0x300, 0x00044050);
	assert_int_equal(lapic_pending_vector(&e->l), 0x50);
}

struct match_case {
	uint32_t dfr, ldr;
	uint8_t dest_mode, shorthand, dest, src_id;
	bool want;
};

static void test_match_dest(void **state)
{
	struct env *e = *state;
	static const struct match_case cases[] = {
	    /* physical (this LAPIC is id 3) */
	    {0xFFFFFFFF, 0, 0, APIC_SH_NONE, 3, 0, true},
	    {0xFFFFFFFF, 0, 0, APIC_SH_NONE, 4, 0, false},
	    {0xFFFFFFFF, 0, 0, APIC_SH_NONE, 0xFF, 0, true},
	    /* shorthands ignore the destination */
	    {0xFFFFFFFF, 0, 0, APIC_SH_SELF, 9, 3, true},
	    {0xFFFFFFFF, 0, 0, APIC_SH_SELF, 3, 4, false},
	    {0xFFFFFFFF, 0, 0, APIC_SH_ALL, 9, 3, true},
	    {0xFFFFFFFF, 0, 0, APIC_SH_OTHERS, 3, 3, false},
	    {0xFFFFFFFF, 0, 0, APIC_SH_OTHERS, 9, 4, true},
	    /* logical flat: one bit each */
	    {0xFFFFFFFF, 0x04000000, 1, APIC_SH_NONE, 0x04, 0, true},
	    {0xFFFFFFFF, 0x04000000, 1, APIC_SH_NONE, 0x0C, 0, true},
	    {0xFFFFFFFF, 0x04000000, 1, APIC_SH_NONE, 0x03, 0, false},
	    {0xFFFFFFFF, 0x04000000, 1, APIC_SH_NONE, 0xFF, 0, true},
	    /* logical cluster 2, member bit 0 */
	    {0x0FFFFFFF, 0x21000000, 1, APIC_SH_NONE, 0x21, 0, true},
	    {0x0FFFFFFF, 0x21000000, 1, APIC_SH_NONE, 0x23, 0, true},
	    {0x0FFFFFFF, 0x21000000, 1, APIC_SH_NONE, 0x22, 0, false},
	    {0x0FFFFFFF, 0x21000000, 1, APIC_SH_NONE, 0x31, 0, false},
	    {0x0FFFFFFF, 0x21000000, 1, APIC_SH_NONE, 0xF1, 0, true},
	    {0x0FFFFFFF, 0x21000000, 1, APIC_SH_NONE, 0xFF, 0, true},
	    {0x0FFFFFFF, 0x21000000, 1, APIC_SH_NONE, 0x20, 0, false},
	    /* a logical destination never matches a physical id */
	    {0xFFFFFFFF, 0, 1, APIC_SH_NONE, 3, 0, false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct match_case *c = &cases[i];
		struct apic_irq irq = {.dest_mode = c->dest_mode,
				       .shorthand = c->shorthand,
				       .dest = c->dest,
				       .src_id = c->src_id};

		wr(e, 0xE0, c->dfr);
		wr(e, 0xD0, c->ldr);
		if (lapic_match_dest(&e->l, &irq) != c->want)
			fail_msg("match case %zu: want %d", i, c->want);
	}
}

static void test_illegal_vector(void **state)
{
	struct env *e = *state;

	wr(e, 0xF0, 0x1FF);
	assert_false(fixed(e, 5, false));
	for (uint32_t off = 0x200; off < 0x280; off += 0x10)
		assert_int_equal(rd(e, off), 0);
	assert_int_equal(esr(e), 0x40); /* received illegal vector */
	wr(e, 0x370, 0xFE);		/* unmasked LVT error */
	assert_true(fixed(e, 0x0A, false));
	assert_int_equal(lapic_pending_vector(&e->l), 0xFE);
	assert_int_equal(esr(e), 0x40);
}

static void test_init_sipi(void **state)
{
	struct env *e = *state;
	struct env ap;

	assert_false(send(e, APIC_DM_SIPI, 0x9A, 1, 0)); /* BSP runs: ignored */
	assert_int_equal(lapic_take_sipi(&e->l), -1);
	wr(e, 0xF0, 0x1FF);
	wr(e, 0x80, 0x20);
	wr(e, 0x320, 0x40);
	wr(e, 0x380, 1000);
	fixed(e, 0x50, false);
	assert_false(send(e, APIC_DM_INIT, 0, 0, 1)); /* level de-assert */
	assert_int_equal(rd(e, 0x80), 0x20);

	assert_true(send(e, APIC_DM_INIT, 0, 1, 1));
	assert_int_equal(rd(e, 0x20), 0x03000000); /* ID survives */
	assert_int_equal(rd(e, 0x80), 0);
	assert_int_equal(rd(e, 0xF0), 0xFF);
	assert_int_equal(rd(e, 0x320), 0x10000);
	assert_int_equal(e->f.deadline, 0); /* the timer stopped */
	assert_false(irr_has(e, 0x50));
	assert_true(lapic_has_wakeup(&e->l));
	assert_true(send(e, APIC_DM_SIPI, 0x9A, 1, 0));
	assert_int_equal(lapic_take_sipi(&e->l), -1); /* INIT first */
	assert_true(lapic_take_init(&e->l));
	assert_false(lapic_take_init(&e->l));
	assert_false(send(e, APIC_DM_NMI, 0, 1, 0));	 /* held in reset */
	assert_false(send(e, APIC_DM_SIPI, 0x11, 1, 0)); /* first SIPI wins */
	assert_true(lapic_has_wakeup(&e->l));
	assert_int_equal(lapic_take_sipi(&e->l), 0x9A);
	assert_int_equal(lapic_take_sipi(&e->l), -1);
	assert_false(lapic_has_wakeup(&e->l));
	assert_false(send(e, APIC_DM_SIPI, 0x22, 1, 0)); /* running now */

	env_init(&ap, 4, false); /* an AP waits for SIPI from power-up */
	assert_false(lapic_has_wakeup(&ap.l));
	assert_true(send(&ap, APIC_DM_SIPI, 0x10, 1, 0));
	assert_int_equal(lapic_take_sipi(&ap.l), 0x10);
	lapic_destroy(&ap.l);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_reset_values),
	    T(test_read_only_and_reserved),
	    T(test_software_disable),
	    T(test_priority_and_eoi_order),
	    T(test_level_eoi_and_arbitration),
	    T(test_icr_decode),
	    T(test_icr_write_sends),
	    T(test_match_dest),
	    T(test_illegal_vector),
	    T(test_init_sipi),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
