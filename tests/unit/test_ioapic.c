// SPDX-License-Identifier: MIT
/* The user-space IOAPIC model: registers, edge/level pins, Remote IRR, EOI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/apic.h"

#define MAX_SEEN 16

struct env {
	struct ioapic io;
	struct apic_irq seen[MAX_SEEN];
	unsigned int nr;
};

static void fake_deliver(void *ctx, const struct apic_irq *irq)
{
	struct env *e = ctx;

	/* The contract: deliver() runs with the IOAPIC unlocked. */
	assert_int_equal(pthread_mutex_trylock(&e->io.lock), 0);
	pthread_mutex_unlock(&e->io.lock);
	assert_true(e->nr < MAX_SEEN);
	e->seen[e->nr++] = *irq;
}

static const struct ioapic_ops fake_ops = {.deliver = fake_deliver};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	ioapic_init(&e->io, &fake_ops, e);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	ioapic_destroy(&e->io);
	free(e);
	return 0;
}

static uint32_t reg_read(struct env *e, uint32_t reg)
{
	ioapic_mmio_write(&e->io, 0x00, reg);
	return ioapic_mmio_read(&e->io, 0x10);
}

static void reg_write(struct env *e, uint32_t reg, uint32_t val)
{
	ioapic_mmio_write(&e->io, 0x00, reg);
	ioapic_mmio_write(&e->io, 0x10, val);
}

/* Program @pin: high half first, as Linux does, so unmasking comes last. */
static void route(struct env *e, unsigned int pin, uint32_t lo, uint8_t dest)
{
	reg_write(e, 0x11 + 2 * pin, (uint32_t)dest << 24);
	reg_write(e, 0x10 + 2 * pin, lo);
}

#define LEVEL	   (1u << 15)
#define ACTIVE_LOW (1u << 13)
#define REMOTE_IRR (1u << 14)
#define MASKED	   (1u << 16)
#define LOGICAL	   (1u << 11)
#define DM(mode)   ((uint32_t)(mode) << 8)

static void test_registers(void **state)
{
	struct env *e = *state;

	ioapic_mmio_write(&e->io, 0x00, 0x101);
	assert_int_equal(ioapic_mmio_read(&e->io, 0x00), 0x01);
	assert_int_equal(reg_read(e, 1), 0x00170020); /* version 0x20, 24 entries */
	reg_write(e, 1, 0);
	assert_int_equal(reg_read(e, 1), 0x00170020);
	reg_write(e, 0, 0xFFFFFFFF);
	assert_int_equal(reg_read(e, 0), 0x0F000000);
	assert_int_equal(reg_read(e, 2), 0x0F000000);
	for (unsigned int pin = 0; pin < IOAPIC_PINS; pin++) {
		assert_int_equal(reg_read(e, 0x10 + 2 * pin), MASKED);
		assert_int_equal(reg_read(e, 0x11 + 2 * pin), 0);
	}
	/* delivery status and Remote IRR are not the guest's to set */
	reg_write(e, 0x10, 0xFFFFFFFF);
	assert_int_equal(reg_read(e, 0x10), 0x0001AFFF);
	reg_write(e, 0x11, 0xFFFFFFFF);
	assert_int_equal(reg_read(e, 0x11), 0xFF000000);
	reg_write(e, 0x10 + 2 * IOAPIC_PINS, 0xFFFFFFFF); /* past the table */
	assert_int_equal(reg_read(e, 0x10 + 2 * IOAPIC_PINS), 0);
	assert_int_equal(reg_read(e, 3), 0);
	assert_int_equal(ioapic_mmio_read(&e->io, 0x20), 0);
	assert_int_equal(ioapic_mmio_read(&e->io, 0x40), 0); /* EOI: write-only */
	assert_int_equal(e->nr, 0);
}

static void test_edge(void **state)
{
	struct env *e = *state;

	route(e, 3, 0x31, 2);
	ioapic_set_irq(&e->io, 3, true);
	assert_int_equal(e->nr, 1);
	ioapic_set_irq(&e->io, 3, true); /* no new edge */
	assert_int_equal(e->nr, 1);
	ioapic_set_irq(&e->io, 3, false);
	assert_int_equal(e->nr, 1);
	ioapic_set_irq(&e->io, 3, true);
	assert_int_equal(e->nr, 2);
	assert_int_equal(e->seen[1].vector, 0x31);
	assert_int_equal(e->seen[1].trigger, 0);
	assert_int_equal(e->seen[1].dest, 2);
	assert_int_equal(reg_read(e, 0x16) & REMOTE_IRR, 0);
	ioapic_eoi(&e->io, 0x31); /* nothing to end for an edge pin */
	assert_int_equal(e->nr, 2);
}

static void test_level_remote_irr(void **state)
{
	struct env *e = *state;

	route(e, 9, LEVEL | 0x41, 1);
	ioapic_set_irq(&e->io, 9, true);
	assert_int_equal(e->nr, 1);
	assert_int_equal(e->seen[0].trigger, 1);
	assert_int_equal(reg_read(e, 0x22), LEVEL | REMOTE_IRR | 0x41);
	ioapic_set_irq(&e->io, 9, true); /* in service: held */
	assert_int_equal(e->nr, 1);
	reg_write(e, 0x22, LEVEL | 0x41); /* the guest cannot clear it */
	assert_true(reg_read(e, 0x22) & REMOTE_IRR);
	assert_int_equal(e->nr, 1);
	ioapic_eoi(&e->io, 0x42); /* another vector */
	assert_int_equal(e->nr, 1);
	ioapic_eoi(&e->io, 0x41); /* still high: again */
	assert_int_equal(e->nr, 2);
	ioapic_set_irq(&e->io, 9, false);
	ioapic_eoi(&e->io, 0x41);
	assert_int_equal(e->nr, 2);
	assert_int_equal(reg_read(e, 0x22), LEVEL | 0x41);
	ioapic_set_irq(&e->io, 9, true);
	assert_int_equal(e->nr, 3);
	ioapic_set_irq(&e->io, 9, false);
	ioapic_mmio_write(&e->io, 0x40, 0x41); /* EOI through the register */
	assert_int_equal(reg_read(e, 0x22), LEVEL | 0x41);
	assert_int_equal(e->nr, 3);
	/* turning a pin in service to edge drops Remote IRR */
	ioapic_set_irq(&e->io, 9, true);
	assert_true(reg_read(e, 0x22) & REMOTE_IRR);
	reg_write(e, 0x22, 0x41);
	assert_int_equal(reg_read(e, 0x22), 0x41);
}

static void test_masking(void **state)
{
	struct env *e = *state;

	route(e, 1, MASKED | 0x21, 0);
	ioapic_set_irq(&e->io, 1, true);
	route(e, 1, 0x21, 0); /* an edge seen while masked is lost */
	assert_int_equal(e->nr, 0);
	route(e, 2, MASKED | LEVEL | 0x22, 0);
	ioapic_set_irq(&e->io, 2, true);
	assert_int_equal(e->nr, 0);
	route(e, 2, LEVEL | 0x22, 0); /* unmasked while high: delivers now */
	assert_int_equal(e->nr, 1);
	assert_int_equal(e->seen[0].vector, 0x22);
	route(e, 2, LEVEL | 0x22, 0); /* rewriting does not deliver twice */
	assert_int_equal(e->nr, 1);
	route(e, 2, MASKED | LEVEL | 0x22, 0);
	ioapic_eoi(&e->io, 0x22);
	assert_int_equal(e->nr, 1); /* high but masked */
	route(e, 2, LEVEL | 0x22, 0);
	assert_int_equal(e->nr, 2);
}

static void test_polarity(void **state)
{
	struct env *e = *state;

	/* active-low level: asserted while the line is low */
	ioapic_set_irq(&e->io, 5, true); /* idle */
	route(e, 5, ACTIVE_LOW | LEVEL | 0x50, 0);
	assert_int_equal(e->nr, 0);
	ioapic_set_irq(&e->io, 5, false);
	assert_int_equal(e->nr, 1);
	ioapic_eoi(&e->io, 0x50); /* still low: again */
	assert_int_equal(e->nr, 2);
	ioapic_set_irq(&e->io, 5, true);
	ioapic_eoi(&e->io, 0x50);
	assert_int_equal(e->nr, 2);

	/* active-low edge: the falling edge is the assertion */
	ioapic_set_irq(&e->io, 6, true);
	route(e, 6, ACTIVE_LOW | 0x60, 0);
	ioapic_set_irq(&e->io, 6, false);
	assert_int_equal(e->nr, 3);
	assert_int_equal(e->seen[2].vector, 0x60);
	ioapic_set_irq(&e->io, 6, true);
	assert_int_equal(e->nr, 3);
	ioapic_set_irq(&e->io, 6, false);
	assert_int_equal(e->nr, 4);
}

static void test_destination_fields(void **state)
{
	struct env *e = *state;

	route(e, 7, LOGICAL | DM(APIC_DM_LOWEST) | LEVEL | 0x77, 0xAB);
	ioapic_set_irq(&e->io, 7, true);
	assert_int_equal(e->nr, 1);
	const struct apic_irq want = {.vector = 0x77,
				      .delivery = APIC_DM_LOWEST,
				      .dest_mode = 1,
				      .shorthand = APIC_SH_NONE,
				      .level = 1,
				      .trigger = 1,
				      .dest = 0xAB};
	assert_memory_equal(&e->seen[0], &want, sizeof(want));

	/* an NMI is never EOI'd: a level NMI pin must not stick in Remote IRR */
	route(e, 8, DM(APIC_DM_NMI) | LEVEL | 0x02, 0x01);
	ioapic_set_irq(&e->io, 8, true);
	assert_int_equal(e->nr, 2);
	assert_int_equal(e->seen[1].delivery, APIC_DM_NMI);
	assert_int_equal(e->seen[1].dest, 0x01);
	assert_int_equal(reg_read(e, 0x20) & REMOTE_IRR, 0);

	ioapic_set_irq(&e->io, IOAPIC_PINS, true); /* no such pin */
	ioapic_set_irq(&e->io, 1000, true);
	assert_int_equal(e->nr, 2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_registers), T(test_edge),	 T(test_level_remote_irr),
	    T(test_masking),   T(test_polarity), T(test_destination_fields),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
