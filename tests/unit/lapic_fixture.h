/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/lapic_fixture.h - a LAPIC model on a fake platform: a fake
 * clock, recorded callbacks (checked to run without the model's lock) and
 * register helpers. Shared by test_lapic.c and test_lapic_timer.c.
 */
#ifndef RACKVM_TESTS_LAPIC_FIXTURE_H
#define RACKVM_TESTS_LAPIC_FIXTURE_H

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
static inline void assert_unlocked(struct fake *f)
{
	assert_int_equal(pthread_mutex_trylock(&f->l->lock), 0);
	pthread_mutex_unlock(&f->l->lock);
}

static inline void fake_send_ipi(void *ctx, const struct apic_irq *irq)
{
	struct fake *f = ctx;

	assert_unlocked(f);
	f->ipi = *irq;
	f->nr_ipi++;
	if (f->route && lapic_match_dest(f->l, irq))
		lapic_accept(f->l, irq);
}

static inline void fake_timer_changed(void *ctx, uint64_t deadline_ns)
{
	struct fake *f = ctx;

	assert_unlocked(f);
	f->deadline = deadline_ns;
	f->nr_timer++;
}

static inline void fake_eoi_level(void *ctx, uint8_t vector)
{
	struct fake *f = ctx;

	assert_unlocked(f);
	f->eoi_vector = vector;
	f->nr_eoi++;
}

static inline uint64_t fake_now(void *ctx)
{
	struct fake *f = ctx;

	assert_unlocked(f);
	return f->now;
}

static const struct lapic_ops fake_ops __attribute__((unused)) = {
    .send_ipi = fake_send_ipi,
    .timer_changed = fake_timer_changed,
    .eoi_level = fake_eoi_level,
    .now_ns = fake_now,
};

static inline void env_init(struct env *e, uint8_t id, bool bsp)
{
	memset(e, 0, sizeof(*e));
	e->f.l = &e->l;
	e->f.now = T0;
	lapic_init(&e->l, id, bsp, 2000000 /* 2 GHz */, 1, &fake_ops, &e->f);
}

static inline int setup(void **state)
{
	struct env *e = malloc(sizeof(*e));

	assert_non_null(e);
	env_init(e, 3, true);
	*state = e;
	return 0;
}

static inline int teardown(void **state)
{
	struct env *e = *state;

	lapic_destroy(&e->l);
	free(e);
	return 0;
}

static inline uint32_t rd(struct env *e, uint32_t off)
{
	return lapic_mmio_read(&e->l, off);
}

static inline void wr(struct env *e, uint32_t off, uint32_t val)
{
	lapic_mmio_write(&e->l, off, val);
}

/* ESR must be written before it is read (SDM). */
static inline uint32_t esr(struct env *e)
{
	wr(e, 0x280, 0);
	return rd(e, 0x280);
}

static inline bool irr_has(struct env *e, uint8_t v)
{
	return rd(e, 0x200 + (v >> 5) * 0x10) & (1u << (v & 31));
}

static inline bool isr_has(struct env *e, uint8_t v)
{
	return rd(e, 0x100 + (v >> 5) * 0x10) & (1u << (v & 31));
}

static inline bool fixed(struct env *e, uint8_t vector, bool level)
{
	struct apic_irq irq = {
	    .vector = vector, .delivery = APIC_DM_FIXED, .level = 1, .trigger = level};

	return lapic_accept(&e->l, &irq);
}

static inline bool send(struct env *e, uint8_t delivery, uint8_t vector, uint8_t level,
			uint8_t trigger)
{
	struct apic_irq irq = {
	    .vector = vector, .delivery = delivery, .level = level, .trigger = trigger};

	return lapic_accept(&e->l, &irq);
}

#endif
