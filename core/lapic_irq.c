// SPDX-License-Identifier: MIT
/*
 * core/lapic_irq.c - what the xAPIC does with interrupt messages: matching a
 * destination, accepting into IRR (or as NMI/INIT/SIPI), priorities (SDM
 * vol. 3 "Task and Processor Priorities") and handing vectors to the vCPU.
 */
#include <stdio.h>
#include <time.h>

#include "core/lapic_priv.h"

static uint32_t class_of(int vector)
{
	return vector < 0 ? 0 : (uint32_t)vector & 0xF0;
}

uint32_t __lapic_ppr(struct lapic *l)
{
	uint32_t tpr = l->s.tpr & 0xFF;
	uint32_t isr_class = class_of(lapic_vec_highest(l->s.isr));

	return (tpr & 0xF0) >= isr_class ? tpr : isr_class;
}

uint32_t __lapic_apr(struct lapic *l)
{
	uint32_t tpr = l->s.tpr & 0xFF;
	uint32_t isr_class = class_of(lapic_vec_highest(l->s.isr));
	uint32_t irr_class = class_of(lapic_vec_highest(l->s.irr));
	uint32_t apr = tpr & 0xF0;

	if ((tpr & 0xF0) >= irr_class && (tpr & 0xF0) > isr_class)
		return tpr;
	if (isr_class > apr)
		apr = isr_class;
	return irr_class > apr ? irr_class : apr;
}

int __lapic_pending_vector(struct lapic *l)
{
	int v = lapic_vec_highest(l->s.irr);

	if (!lapic_sw_enabled(l) || v < 0)
		return -1;
	return class_of(v) > (__lapic_ppr(l) & 0xF0) ? v : -1;
}

/* ---- errors and IRR ---- */

void __lapic_error(struct lapic *l, uint32_t esr_bit)
{
	uint32_t lvt = l->s.lvt[LVT_ERROR];

	l->s.esr_pending |= esr_bit;
	/* An illegal error vector would log another error: post nothing. */
	if (!(lvt & LVT_MASKED) && LVT_VECTOR(lvt) >= 16) {
		lapic_vec_set(l->s.irr, LVT_VECTOR(lvt), true);
		lapic_vec_set(l->s.tmr, LVT_VECTOR(lvt), false);
	}
}

void __lapic_set_irr(struct lapic *l, uint8_t vector, bool level_trig)
{
	if (vector < 16) {
		__lapic_error(l, ESR_RECV_ILLEGAL_VECTOR);
		return;
	}
	__lapic_trace(l, 'R', vector, lapic_vec_test(l->s.irr, vector));
	lapic_vec_set(l->s.irr, vector, true);
	lapic_vec_set(l->s.tmr, vector, level_trig);
	l->n_irr++;
}

/* ---- delivery ---- */

static bool __lapic_match_logical(struct lapic *l, uint8_t dest)
{
	uint8_t ldr = (uint8_t)(l->s.ldr >> 24);

	switch (l->s.dfr >> 28) {
	case 0xF: /* flat: one bit per CPU */
		return ldr & dest;
	case 0x0: /* cluster: cluster in 7:4 (0xF = all), member bits in 3:0 */
		return ((dest >> 4) == 0xF || (dest >> 4) == (ldr >> 4)) &&
		       (dest & ldr & 0xF);
	default: /* reserved model */
		return false;
	}
}

bool lapic_match_dest(struct lapic *l, const struct apic_irq *irq)
{
	bool match;

	pthread_mutex_lock(&l->lock);
	uint8_t id = (uint8_t)(l->s.id >> 24);
	switch (irq->shorthand) {
	case APIC_SH_SELF:
		match = irq->src_id == id;
		break;
	case APIC_SH_ALL:
		match = true;
		break;
	case APIC_SH_OTHERS:
		match = irq->src_id != id;
		break;
	default:
		if (irq->dest_mode)
			match = __lapic_match_logical(l, irq->dest);
		else
			match = irq->dest == 0xFF || irq->dest == id;
	}
	pthread_mutex_unlock(&l->lock);
	return match;
}

static bool __lapic_accept(struct lapic *l, const struct apic_irq *irq,
			   struct lapic_notes *n)
{
	struct lapic_state *s = &l->s;

	switch (irq->delivery) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		if (!lapic_sw_enabled(l)) /* a disabled APIC drops fixed messages */
			return false;
		__lapic_set_irr(l, irq->vector, irq->trigger);
		return __lapic_pending_vector(l) >= 0;
	case APIC_DM_NMI:
		if (s->wait_for_sipi) /* held in reset: nothing to take it */
			return false;
		s->nmi_pending = 1;
		return true;
	case APIC_DM_INIT:
		if (irq->trigger && !irq->level) /* level de-assert: arbitration only */
			return false;
		__lapic_reset_regs(l, n); /* also forgets a latched NMI/SIPI */
		s->init_pending = 1;
		s->wait_for_sipi = 1;
		return true;
	case APIC_DM_SIPI:
		if (!s->wait_for_sipi || s->sipi_pending)
			return false;
		s->sipi_vector = irq->vector;
		s->sipi_pending = 1;
		return true;
	default: /* SMI (no SMM), ExtINT (no 8259 behind this model) */
		return false;
	}
}

bool lapic_accept(struct lapic *l, const struct apic_irq *irq)
{
	struct lapic_notes n = {0};
	bool kick;

	pthread_mutex_lock(&l->lock);
	kick = __lapic_accept(l, irq, &n);
	pthread_mutex_unlock(&l->lock);
	lapic_notes_flush(l, &n);
	return kick;
}

uint8_t lapic_arb_priority(struct lapic *l)
{
	uint32_t apr;

	pthread_mutex_lock(&l->lock);
	apr = __lapic_apr(l);
	pthread_mutex_unlock(&l->lock);
	return (uint8_t)apr;
}

int lapic_pending_vector(struct lapic *l)
{
	int v;

	pthread_mutex_lock(&l->lock);
	v = __lapic_pending_vector(l);
	pthread_mutex_unlock(&l->lock);
	return v;
}

void lapic_ack(struct lapic *l, uint8_t vector)
{
	pthread_mutex_lock(&l->lock);
	/* Only what is still requested: an INIT may have cleared it meanwhile. */
	if (lapic_vec_test(l->s.irr, vector)) {
		lapic_vec_set(l->s.irr, vector, false);
		lapic_vec_set(l->s.isr, vector, true);
		l->n_isr++;
		__lapic_trace(l, 'A', vector, 0);
	}
	pthread_mutex_unlock(&l->lock);
}

bool lapic_take_nmi(struct lapic *l)
{
	bool nmi;

	pthread_mutex_lock(&l->lock);
	nmi = l->s.nmi_pending;
	l->s.nmi_pending = 0;
	pthread_mutex_unlock(&l->lock);
	return nmi;
}

bool lapic_take_init(struct lapic *l)
{
	bool init;

	pthread_mutex_lock(&l->lock);
	init = l->s.init_pending;
	l->s.init_pending = 0;
	pthread_mutex_unlock(&l->lock);
	return init;
}

int lapic_take_sipi(struct lapic *l)
{
	int vector = -1;

	pthread_mutex_lock(&l->lock);
	/* The INIT must be taken first, or the SIPI would start a CPU that
	 * is then reset under it. */
	if (l->s.wait_for_sipi && l->s.sipi_pending && !l->s.init_pending) {
		vector = l->s.sipi_vector;
		l->s.sipi_pending = 0;
		l->s.wait_for_sipi = 0;
	}
	pthread_mutex_unlock(&l->lock);
	return vector;
}

static int highest_bit(const uint32_t *bits)
{
	for (int i = 7; i >= 0; i--)
		if (bits[i])
			return i * 32 + 31 - __builtin_clz(bits[i]);
	return -1;
}

void lapic_describe(struct lapic *l, uint64_t now, char *buf, size_t len)
{
	long long due_us;

	pthread_mutex_lock(&l->lock);
	due_us = l->timer_deadline_ns
		     ? ((long long)l->timer_deadline_ns - (long long)now) / 1000
		     : 0;
	snprintf(
	    buf, len,
	    "lapic TPR 0x%x timer LVT 0x%x ICR %u TSC-deadline 0x%llx %s%lld us, "
	    "IRR top %d ISR top %d; %llu set in IRR, %llu to ISR, %llu EOIs, %llu sent",
	    l->s.tpr, l->s.lvt[LVT_TIMER], l->s.timer_icr,
	    (unsigned long long)l->s.tsc_deadline,
	    l->timer_deadline_ns ? "due in " : "not armed ", due_us,
	    highest_bit(l->s.irr), highest_bit(l->s.isr), (unsigned long long)l->n_irr,
	    (unsigned long long)l->n_isr, (unsigned long long)l->n_eoi,
	    (unsigned long long)l->n_sent);
	pthread_mutex_unlock(&l->lock);
}

void __lapic_trace(struct lapic *l, char kind, uint8_t vector, uint8_t arg)
{
	struct lapic_event *e = &l->trace[l->trace_next++ % LAPIC_TRACE];
	struct timespec ts; /* not lapic_now(): its hook may not run under the lock */

	clock_gettime(CLOCK_MONOTONIC, &ts);
	*e = (struct lapic_event){.ns = (uint64_t)ts.tv_sec * 1000000000ULL +
					(uint64_t)ts.tv_nsec,
				  .kind = kind,
				  .vector = vector,
				  .arg = arg};
}

void lapic_print_trace(struct lapic *l, uint64_t now, FILE *f, unsigned int vcpu)
{
	pthread_mutex_lock(&l->lock);
	fprintf(f, "rackvm: vCPU %u lapic events (us before the end):", vcpu);
	for (unsigned int i = 0; i < LAPIC_TRACE; i++) {
		const struct lapic_event *e =
		    &l->trace[(l->trace_next + i) % LAPIC_TRACE];

		if (e->kind)
			fprintf(f, " %c%02x%s@%lld", e->kind, e->vector,
				e->arg ? "+" : "",
				((long long)now - (long long)e->ns) / 1000);
	}
	fputc('\n', f);
	pthread_mutex_unlock(&l->lock);
}

bool lapic_has_wakeup(struct lapic *l)
{
	bool wake;

	pthread_mutex_lock(&l->lock);
	if (l->s.init_pending)
		wake = true;
	else if (l->s.wait_for_sipi)
		wake = l->s.sipi_pending;
	else
		wake = l->s.nmi_pending || __lapic_pending_vector(l) >= 0;
	pthread_mutex_unlock(&l->lock);
	return wake;
}
