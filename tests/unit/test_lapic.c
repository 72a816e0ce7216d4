// SPDX-License-Identifier: MIT
/* The user-space xAPIC model against the SDM, with a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/apic.h"

#define T0 1000000000ULL

struct fake {
	struct lapic *l;
	uint64_t now;
	struct apic_irq ipi;
	unsigned int nr_ipi;
	uint64_t deadline;
	unsigned int nr_timer;
	uint8_t eoi_vector;
	unsigned int nr_eoi;
	bool route; /* send_ipi delivers back into l, as a one-CPU platform */
};

struct env {
	struct lapic l;
	struct fake f;
};

/* The contract: no callback runs with the model's lock held. */
static void assert_unlocked(struct fake *f)
{
	assert_int_equal(pthread_mutex_trylock(&f->l->lock), 0);
	pthread_mutex_unlock(&f->l->lock);
}

static void fake_send_ipi(void *ctx, const struct apic_irq *irq)
{
	struct fake *f = ctx;

	assert_unlocked(f);
	f->ipi = *irq;
	f->nr_ipi++;
	if (f->route && lapic_match_dest(f->l, irq))
		lapic_accept(f->l, irq);
}

static void fake_timer_changed(void *ctx, uint64_t deadline_ns)
{
	struct fake *f = ctx;

	assert_unlocked(f);
	f->deadline = deadline_ns;
	f->nr_timer++;
}

static void fake_eoi_level(void *ctx, uint8_t vector)
{
	struct fake *f = ctx;

	assert_unlocked(f);
	f->eoi_vector = vector;
	f->nr_eoi++;
}

static uint64_t fake_now(void *ctx)
{
	struct fake *f = ctx;

	assert_unlocked(f);
	return f->now;
}

static const struct lapic_ops fake_ops = {
    .send_ipi = fake_send_ipi,
    .timer_changed = fake_timer_changed,
    .eoi_level = fake_eoi_level,
    .now_ns = fake_now,
};

static void env_init(struct env *e, uint8_t id, bool bsp)
{
	memset(e, 0, sizeof(*e));
	e->f.l = &e->l;
	e->f.now = T0;
	lapic_init(&e->l, id, bsp, 2000000 /* 2 GHz */, &fake_ops, &e->f);
}

static int setup(void **state)
{
	struct env *e = malloc(sizeof(*e));

	assert_non_null(e);
	env_init(e, 3, true);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	lapic_destroy(&e->l);
	free(e);
	return 0;
}

static uint32_t rd(struct env *e, uint32_t off)
{
	return lapic_mmio_read(&e->l, off);
}

static void wr(struct env *e, uint32_t off, uint32_t val)
{
	lapic_mmio_write(&e->l, off, val);
}

/* ESR must be written before it is read (SDM). */
static uint32_t esr(struct env *e)
{
	wr(e, 0x280, 0);
	return rd(e, 0x280);
}

static bool irr_has(struct env *e, uint8_t v)
{
	return rd(e, 0x200 + (v >> 5) * 0x10) & (1u << (v & 31));
}

static bool isr_has(struct env *e, uint8_t v)
{
	return rd(e, 0x100 + (v >> 5) * 0x10) & (1u << (v & 31));
}

static bool fixed(struct env *e, uint8_t vector, bool level)
{
	struct apic_irq irq = {
	    .vector = vector, .delivery = APIC_DM_FIXED, .level = 1, .trigger = level};

	return lapic_accept(&e->l, &irq);
}

static bool send(struct env *e, uint8_t delivery, uint8_t vector, uint8_t level,
		 uint8_t trigger)
{
	struct apic_irq irq = {
	    .vector = vector, .delivery = delivery, .level = level, .trigger = trigger};

	return lapic_accept(&e->l, &irq);
}

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
	    T(test_reset_keeps_id_stops_timer),
	    T(test_timer_oneshot),
	    T(test_timer_periodic),
	    T(test_timer_masked),
	    T(test_timer_divide),
	    T(test_timer_tsc_deadline),
	    T(test_state_roundtrip),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
