/* SPDX-License-Identifier: MIT */
/*
 * core/lapic_priv.h - shared between lapic.c (registers, delivery) and
 * lapic_timer.c (timer, state blob). Not for the rest of core/.
 *
 * Every "__" function here runs with l->lock held and never calls an ops
 * callback: it records what must be told to the platform in a struct
 * lapic_notes, which the entry point flushes after dropping the lock.
 */
#ifndef RACKVM_CORE_LAPIC_PRIV_H
#define RACKVM_CORE_LAPIC_PRIV_H

#include "core/apic.h"

#define LAPIC_SW_ENABLE (1u << 8) /* SVR */
#define LVT_MASKED	(1u << 16)
#define LVT_VECTOR(v)	((uint8_t)((v)&0xFF))

/* ESR bits (SDM table "Local APIC Error Status Register") */
#define ESR_SEND_ILLEGAL_VECTOR (1u << 5)
#define ESR_RECV_ILLEGAL_VECTOR (1u << 6)
#define ESR_ILLEGAL_REGISTER	(1u << 7)

/* IRR, ISR and TMR: 256 bits as eight 32-bit registers. */
static inline int lapic_vec_highest(const uint32_t r[8])
{
	for (int i = 7; i >= 0; i--)
		if (r[i])
			return i * 32 + 31 - __builtin_clz(r[i]);
	return -1;
}

static inline bool lapic_vec_test(const uint32_t r[8], uint8_t v)
{
	return r[v >> 5] & (1u << (v & 31));
}

static inline void lapic_vec_set(uint32_t r[8], uint8_t v, bool on)
{
	if (on)
		r[v >> 5] |= 1u << (v & 31);
	else
		r[v >> 5] &= ~(1u << (v & 31));
}

static inline bool lapic_sw_enabled(const struct lapic *l)
{
	return l->s.svr & LAPIC_SW_ENABLE;
}

/* What an entry point owes the platform once the lock is dropped. */
struct lapic_notes {
	bool send_ipi;
	struct apic_irq ipi;
	bool eoi;
	uint8_t eoi_vector;
	bool timer;
	uint64_t deadline_ns;
	bool logical; /* LDR or DFR changed */
	uint32_t ldr, dfr;
};

/* Host time from ops->now_ns (CLOCK_MONOTONIC without one); call unlocked. */
uint64_t lapic_now(struct lapic *l);
void lapic_notes_flush(struct lapic *l, const struct lapic_notes *n);

uint32_t __lapic_ppr(struct lapic *l);
uint32_t __lapic_apr(struct lapic *l);
/* Log an error in the ESR and raise the LVT error interrupt. */
void __lapic_error(struct lapic *l, uint32_t esr_bit);
/* Post @vector to IRR (TMR per @level_trig); vectors < 16 log an ESR error. */
void __lapic_set_irr(struct lapic *l, uint8_t vector, bool level_trig);
int __lapic_pending_vector(struct lapic *l);
/* Registers to power-up values except ID; forgets a latched NMI/SIPI. */
void __lapic_reset_regs(struct lapic *l, struct lapic_notes *n);
/* Clamp every field of a loaded blob to what the guest could have written. */
void __lapic_state_sanitize(struct lapic *l, struct lapic_state *s);

void __lapic_trace(struct lapic *l, char kind, uint8_t vector, uint8_t arg);
void __lapic_timer_stop(struct lapic *l, struct lapic_notes *n);
void __lapic_timer_write_lvt(struct lapic *l, uint32_t val, struct lapic_notes *n);
void __lapic_timer_write_icr(struct lapic *l, uint32_t val, uint64_t now,
			     struct lapic_notes *n);
void __lapic_timer_write_dcr(struct lapic *l, uint32_t val, uint64_t now,
			     struct lapic_notes *n);
uint32_t __lapic_timer_current(struct lapic *l, uint64_t now);

#endif
