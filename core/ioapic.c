// SPDX-License-Identifier: MIT
/*
 * core/ioapic.c - an 82093AA-style IOAPIC, version 0x20 (with the EOI
 * register), 24 pins. Deliveries leave as struct apic_irq messages through
 * ops->deliver, called with the lock dropped.
 */
#include <string.h>

#include "core/apic.h"

#define IOAPIC_VERSION	   0x20
#define IOAPIC_REG_ID	   0x00
#define IOAPIC_REG_VERSION 0x01
#define IOAPIC_REG_ARB	   0x02
#define IOAPIC_REG_REDIR   0x10

#define MMIO_IOREGSEL 0x00
#define MMIO_IOWIN    0x10
#define MMIO_EOI      0x40

#define REDIR_DELIVERY(e)  (((e) >> 8) & 7)
#define REDIR_POLARITY_LOW (1ULL << 13)
#define REDIR_REMOTE_IRR   (1ULL << 14)
#define REDIR_LEVEL	   (1ULL << 15)
#define REDIR_MASKED	   (1ULL << 16)
/* Delivery status (12) and Remote IRR (14) are the IOAPIC's own. */
#define REDIR_LO_WRITABLE 0x0001AFFFULL
#define REDIR_HI_WRITABLE 0xFF000000u /* xAPIC: 8-bit destination in 63:56 */

/* Messages an entry point sends once the lock is dropped. */
struct ioapic_notes {
	unsigned int nr;
	struct apic_irq irq[IOAPIC_PINS];
};

static void ioapic_notes_flush(struct ioapic *io, const struct ioapic_notes *n)
{
	if (!io->ops || !io->ops->deliver)
		return;
	for (unsigned int i = 0; i < n->nr; i++)
		io->ops->deliver(io->ctx, &n->irq[i]);
}

static bool pin_asserted(const struct ioapic *io, unsigned int pin)
{
	bool high = io->pin_level & (1u << pin);

	return high != !!(io->redir[pin] & REDIR_POLARITY_LOW);
}

/* Remote IRR only means something for messages a LAPIC will EOI. */
static bool uses_remote_irr(uint64_t e)
{
	return (e & REDIR_LEVEL) && (REDIR_DELIVERY(e) == APIC_DM_FIXED ||
				     REDIR_DELIVERY(e) == APIC_DM_LOWEST);
}

static void __ioapic_send(struct ioapic *io, unsigned int pin, struct ioapic_notes *n)
{
	uint64_t e = io->redir[pin];

	if (uses_remote_irr(e))
		io->redir[pin] |= REDIR_REMOTE_IRR;
	n->irq[n->nr++] = (struct apic_irq){
	    .vector = (uint8_t)(e & 0xFF),
	    .delivery = (uint8_t)REDIR_DELIVERY(e),
	    .dest_mode = (uint8_t)((e >> 11) & 1),
	    .shorthand = APIC_SH_NONE,
	    .level = 1,
	    .trigger = !!(e & REDIR_LEVEL),
	    .dest = (uint8_t)(e >> 56),
	};
}

/* A level entry whose line is asserted: deliver unless masked or in service. */
static void __ioapic_service_level(struct ioapic *io, unsigned int pin,
				   struct ioapic_notes *n)
{
	uint64_t e = io->redir[pin];

	if (!(e & REDIR_LEVEL) || (e & (REDIR_MASKED | REDIR_REMOTE_IRR)) ||
	    !pin_asserted(io, pin))
		return;
	__ioapic_send(io, pin, n);
}

void ioapic_init(struct ioapic *io, const struct ioapic_ops *ops, void *ctx)
{
	memset(io, 0, sizeof(*io));
	pthread_mutex_init(&io->lock, NULL);
	io->ops = ops;
	io->ctx = ctx;
	for (unsigned int pin = 0; pin < IOAPIC_PINS; pin++)
		io->redir[pin] = REDIR_MASKED;
}

void ioapic_destroy(struct ioapic *io)
{
	pthread_mutex_destroy(&io->lock);
}

static bool redir_index(uint32_t reg, unsigned int *pin)
{
	if (reg < IOAPIC_REG_REDIR || reg >= IOAPIC_REG_REDIR + 2 * IOAPIC_PINS)
		return false;
	*pin = (reg - IOAPIC_REG_REDIR) / 2;
	return true;
}

static uint32_t __ioapic_read_reg(struct ioapic *io, uint32_t reg)
{
	unsigned int pin;

	switch (reg) {
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB: /* arbitration ID = APIC ID after reset */
		return io->id;
	case IOAPIC_REG_VERSION:
		return IOAPIC_VERSION | (IOAPIC_PINS - 1) << 16;
	}
	if (!redir_index(reg, &pin))
		return 0;
	return (uint32_t)(reg & 1 ? io->redir[pin] >> 32 : io->redir[pin]);
}

static void __ioapic_write_redir(struct ioapic *io, unsigned int pin, bool high,
				 uint32_t value, struct ioapic_notes *n)
{
	uint64_t old = io->redir[pin], e;
	bool could_fire =
	    !(old & REDIR_MASKED) && (old & REDIR_LEVEL) && pin_asserted(io, pin);

	if (high) {
		e = (old & 0xFFFFFFFFULL) | (uint64_t)(value & REDIR_HI_WRITABLE) << 32;
	} else {
		e = (old & (0xFFFFFFFF00000000ULL | REDIR_REMOTE_IRR)) |
		    (value & REDIR_LO_WRITABLE);
		if (!(e & REDIR_LEVEL)) /* an edge entry has nothing in service */
			e &= ~REDIR_REMOTE_IRR;
	}
	io->redir[pin] = e;
	/* Newly able to fire (unmasked, made level, polarity flipped) while the
	 * line is asserted: a level interrupt is due now. */
	if (!could_fire)
		__ioapic_service_level(io, pin, n);
}

static void __ioapic_write_reg(struct ioapic *io, uint32_t reg, uint32_t value,
			       struct ioapic_notes *n)
{
	unsigned int pin;

	if (reg == IOAPIC_REG_ID)
		io->id = value & 0x0F000000; /* 4-bit ID in 27:24 */
	else if (redir_index(reg, &pin))
		__ioapic_write_redir(io, pin, reg & 1, value, n);
	/* version, arbitration and the rest are read-only or absent */
}

static void __ioapic_eoi(struct ioapic *io, uint8_t vector, struct ioapic_notes *n)
{
	for (unsigned int pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t e = io->redir[pin];

		if (!(e & REDIR_LEVEL) || !(e & REDIR_REMOTE_IRR) || (e & 0xFF) != vector)
			continue;
		io->redir[pin] &= ~REDIR_REMOTE_IRR;
		__ioapic_service_level(io, pin, n);
	}
}

uint32_t ioapic_mmio_read(struct ioapic *io, uint32_t offset)
{
	uint32_t val = 0;

	pthread_mutex_lock(&io->lock);
	if (offset == MMIO_IOREGSEL)
		val = io->ioregsel;
	else if (offset == MMIO_IOWIN)
		val = __ioapic_read_reg(io, io->ioregsel);
	pthread_mutex_unlock(&io->lock);
	return val; /* the EOI register is write-only; the rest is absent */
}

void ioapic_mmio_write(struct ioapic *io, uint32_t offset, uint32_t value)
{
	struct ioapic_notes n = {0};

	pthread_mutex_lock(&io->lock);
	if (offset == MMIO_IOREGSEL)
		io->ioregsel = value & 0xFF;
	else if (offset == MMIO_IOWIN)
		__ioapic_write_reg(io, io->ioregsel, value, &n);
	else if (offset == MMIO_EOI)
		__ioapic_eoi(io, (uint8_t)value, &n);
	pthread_mutex_unlock(&io->lock);
	ioapic_notes_flush(io, &n);
}

void ioapic_set_irq(struct ioapic *io, unsigned int pin, bool level)
{
	struct ioapic_notes n = {0};
	bool was;

	if (pin >= IOAPIC_PINS)
		return;
	pthread_mutex_lock(&io->lock);
	was = pin_asserted(io, pin);
	if (level)
		io->pin_level |= 1u << pin;
	else
		io->pin_level &= ~(1u << pin);
	if (io->redir[pin] & REDIR_LEVEL)
		__ioapic_service_level(io, pin, &n);
	else if (!was && pin_asserted(io, pin) && !(io->redir[pin] & REDIR_MASKED))
		__ioapic_send(io, pin, &n); /* a masked edge is lost */
	pthread_mutex_unlock(&io->lock);
	ioapic_notes_flush(io, &n);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	struct ioapic_notes n = {0};

	pthread_mutex_lock(&io->lock);
	__ioapic_eoi(io, vector, &n);
	pthread_mutex_unlock(&io->lock);
	ioapic_notes_flush(io, &n);
}
