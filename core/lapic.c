// SPDX-License-Identifier: MIT
/*
 * core/lapic.c - xAPIC registers, message acceptance and priorities
 * (SDM vol. 3 ch. 10). Message delivery and priorities are in lapic_irq.c,
 * the timer and the state blob in lapic_timer.c.
 */
#include <string.h>
#include <time.h>

#include "core/lapic_priv.h"

enum lapic_reg {
	REG_ID = 0x20,
	REG_VERSION = 0x30,
	REG_TPR = 0x80,
	REG_APR = 0x90,
	REG_PPR = 0xA0,
	REG_EOI = 0xB0,
	REG_RRD = 0xC0,
	REG_LDR = 0xD0,
	REG_DFR = 0xE0,
	REG_SVR = 0xF0,
	REG_ISR = 0x100,
	REG_TMR = 0x180,
	REG_IRR = 0x200,
	REG_ESR = 0x280,
	REG_ICR_LO = 0x300,
	REG_ICR_HI = 0x310,
	REG_LVT = 0x320,
	REG_TIMER_ICR = 0x380,
	REG_TIMER_CCR = 0x390,
	REG_TIMER_DCR = 0x3E0,
};

/* Writable bits, SDM fig. "Local Vector Table": delivery status and remote
 * IRR are set by the hardware, never by the guest. */
static const uint32_t lvt_writable[LAPIC_MAX_LVT] = {
    [LVT_TIMER] = 0x000700FF,	/* vector, mask, mode 18:17 */
    [LVT_THERMAL] = 0x000107FF, /* vector, delivery mode, mask */
    [LVT_PERF] = 0x000107FF,	[LVT_LINT0] = 0x0001A7FF, /* + polarity, trigger */
    [LVT_LINT1] = 0x0001A7FF,	[LVT_ERROR] = 0x000100FF, /* vector, mask */
};
#define ICR_LO_WRITABLE 0x000CCFFFu /* delivery status (12) reads 0: sent at once */
#define SVR_WRITABLE	0x000003FFu /* no EOI-broadcast suppression (version bit 24) */
#define DFR_RESERVED	0x0FFFFFFFu /* reads as ones */

uint64_t lapic_now(struct lapic *l)
{
	struct timespec ts;

	if (l->ops && l->ops->now_ns)
		return l->ops->now_ns(l->ctx);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void lapic_notes_flush(struct lapic *l, const struct lapic_notes *n)
{
	const struct lapic_ops *ops = l->ops;

	if (!ops)
		return;
	if (n->send_ipi && ops->send_ipi) {
		l->n_sent++; /* only this vCPU's thread writes its ICR */
		ops->send_ipi(l->ctx, &n->ipi);
	}
	if (n->eoi && ops->eoi_level)
		ops->eoi_level(l->ctx, n->eoi_vector);
	if (n->timer && ops->timer_changed)
		ops->timer_changed(l->ctx, n->deadline_ns);
	if (n->logical && ops->logical_changed)
		ops->logical_changed(l->ctx, n->ldr, n->dfr);
}

static void __lapic_note_logical(struct lapic *l, struct lapic_notes *n)
{
	n->logical = true;
	n->ldr = l->s.ldr;
	n->dfr = l->s.dfr;
}

/* ---- life cycle ---- */

void __lapic_reset_regs(struct lapic *l, struct lapic_notes *n)
{
	struct lapic_state *s = &l->s;
	uint32_t id = s->id;
	uint8_t init_pending = s->init_pending, wait_for_sipi = s->wait_for_sipi;

	__lapic_timer_stop(l, n);
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->dfr = 0xFFFFFFFF;
	__lapic_note_logical(l, n);
	s->svr = 0xFF;
	for (int i = 0; i < LAPIC_MAX_LVT; i++)
		s->lvt[i] = LVT_MASKED;
	/* Run state belongs to the CPU, not to the register file. */
	s->init_pending = init_pending;
	s->wait_for_sipi = wait_for_sipi;
}

void lapic_init(struct lapic *l, uint8_t apic_id, bool bsp, uint64_t tsc_khz,
		unsigned int dilation, const struct lapic_ops *ops, void *ctx)
{
	struct lapic_notes n = {0};

	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
	l->ops = ops;
	l->ctx = ctx;
	l->tsc_khz = tsc_khz ? tsc_khz : 1000000; /* unknown rate: assume 1 GHz */
	l->dilation = dilation ? dilation : 1;
	l->s.id = (uint32_t)apic_id << 24;
	__lapic_reset_regs(l, &n); /* timer was never armed: nothing to tell */
	/* At power-up the APs sit in wait-for-SIPI; the BSP runs. */
	l->s.wait_for_sipi = !bsp;
}

void lapic_destroy(struct lapic *l)
{
	pthread_mutex_destroy(&l->lock);
}

void lapic_reset(struct lapic *l)
{
	struct lapic_notes n = {0};

	pthread_mutex_lock(&l->lock);
	__lapic_reset_regs(l, &n);
	pthread_mutex_unlock(&l->lock);
	lapic_notes_flush(l, &n);
}

void __lapic_state_sanitize(struct lapic *l, struct lapic_state *s)
{
	/* The ID is the vCPU slot this LAPIC was created for, not the peer's. */
	s->id = l->s.id;
	s->tpr &= 0xFF;
	s->ldr &= 0xFF000000;
	s->dfr = (s->dfr & 0xF0000000) | DFR_RESERVED;
	s->svr &= SVR_WRITABLE;
	s->icr_lo &= ICR_LO_WRITABLE;
	s->icr_hi &= 0xFF000000;
	for (int i = 0; i < LAPIC_MAX_LVT; i++) {
		s->lvt[i] &= lvt_writable[i];
		if (!(s->svr & LAPIC_SW_ENABLE))
			s->lvt[i] |= LVT_MASKED;
	}
	s->timer_dcr &= 0xB;
	s->irr[0] &= ~0xFFFFu; /* vectors 0..15 can never be pending */
	s->isr[0] &= ~0xFFFFu;
	s->nmi_pending = !!s->nmi_pending;
	s->init_pending = !!s->init_pending;
	s->sipi_pending = !!s->sipi_pending;
	s->wait_for_sipi = !!s->wait_for_sipi;
	memset(s->pad, 0, sizeof(s->pad));
}

/* ---- MMIO ---- */

static void __lapic_eoi(struct lapic *l, struct lapic_notes *n)
{
	int v = lapic_vec_highest(l->s.isr);

	l->n_eoi++;
	__lapic_trace(l, 'E', v < 0 ? 0 : (uint8_t)v, 0);
	if (v < 0)
		return;
	lapic_vec_set(l->s.isr, (uint8_t)v, false);
	if (lapic_vec_test(l->s.tmr, (uint8_t)v)) {
		n->eoi = true;
		n->eoi_vector = (uint8_t)v;
	}
}

static void __lapic_write_icr(struct lapic *l, uint32_t val, struct lapic_notes *n)
{
	l->s.icr_lo = val & ICR_LO_WRITABLE;
	apic_icr_decode(l->s.icr_lo, l->s.icr_hi, (uint8_t)(l->s.id >> 24), &n->ipi);
	n->send_ipi = true;
	if ((n->ipi.delivery == APIC_DM_FIXED || n->ipi.delivery == APIC_DM_LOWEST) &&
	    n->ipi.vector < 16)
		__lapic_error(l, ESR_SEND_ILLEGAL_VECTOR);
}

static void __lapic_write_svr(struct lapic *l, uint32_t val)
{
	l->s.svr = val & SVR_WRITABLE;
	/* SDM "Local APIC State After It Has Been Software Disabled". */
	if (!lapic_sw_enabled(l))
		for (int i = 0; i < LAPIC_MAX_LVT; i++)
			l->s.lvt[i] |= LVT_MASKED;
}

static void __lapic_write_lvt(struct lapic *l, unsigned int idx, uint32_t val,
			      struct lapic_notes *n)
{
	val &= lvt_writable[idx];
	if (!lapic_sw_enabled(l))
		val |= LVT_MASKED;
	if (idx == LVT_TIMER)
		__lapic_timer_write_lvt(l, val, n);
	else
		l->s.lvt[idx] = val;
}

static bool is_vec_reg(uint32_t off, uint32_t base)
{
	return off >= base && off < base + 0x80;
}

/* False for an offset the xAPIC does not implement. */
static bool __lapic_read(struct lapic *l, uint32_t off, uint64_t now, uint32_t *val)
{
	struct lapic_state *s = &l->s;

	if (is_vec_reg(off, REG_ISR) || is_vec_reg(off, REG_TMR) ||
	    is_vec_reg(off, REG_IRR)) {
		uint32_t *r = off < REG_TMR ? s->isr : off < REG_IRR ? s->tmr : s->irr;
		*val = r[(off & 0x7F) >> 4];
		return true;
	}
	if (off >= REG_LVT && off < REG_LVT + LAPIC_MAX_LVT * 0x10) {
		*val = s->lvt[(off - REG_LVT) >> 4];
		return true;
	}
	switch (off) {
	case REG_ID:
		*val = s->id;
		break;
	case REG_VERSION:
		*val = LAPIC_VERSION | (LAPIC_MAX_LVT - 1) << 16;
		break;
	case REG_TPR:
		*val = s->tpr;
		break;
	case REG_APR:
		*val = __lapic_apr(l);
		break;
	case REG_PPR:
		*val = __lapic_ppr(l);
		break;
	case REG_EOI: /* write-only */
	case REG_RRD: /* remote read is not supported */
		*val = 0;
		break;
	case REG_LDR:
		*val = s->ldr;
		break;
	case REG_DFR:
		*val = s->dfr;
		break;
	case REG_SVR:
		*val = s->svr;
		break;
	case REG_ESR:
		*val = s->esr;
		break;
	case REG_ICR_LO:
		*val = s->icr_lo;
		break;
	case REG_ICR_HI:
		*val = s->icr_hi;
		break;
	case REG_TIMER_ICR:
		*val = s->timer_icr;
		break;
	case REG_TIMER_CCR:
		*val = __lapic_timer_current(l, now);
		break;
	case REG_TIMER_DCR:
		*val = s->timer_dcr;
		break;
	default:
		return false;
	}
	return true;
}

static bool is_read_only(uint32_t off)
{
	/* ID too: the platform routes messages by the ID it gave each vCPU. */
	return off == REG_ID || off == REG_VERSION || off == REG_APR || off == REG_PPR ||
	       off == REG_RRD || off == REG_TIMER_CCR || is_vec_reg(off, REG_ISR) ||
	       is_vec_reg(off, REG_TMR) || is_vec_reg(off, REG_IRR);
}

static bool __lapic_write(struct lapic *l, uint32_t off, uint32_t val, uint64_t now,
			  struct lapic_notes *n)
{
	struct lapic_state *s = &l->s;

	if (is_read_only(off))
		return true;
	if (off >= REG_LVT && off < REG_LVT + LAPIC_MAX_LVT * 0x10) {
		__lapic_write_lvt(l, (off - REG_LVT) >> 4, val, n);
		return true;
	}
	switch (off) {
	case REG_TPR:
		s->tpr = val & 0xFF;
		break;
	case REG_EOI:
		__lapic_eoi(l, n);
		break;
	case REG_LDR:
		s->ldr = val & 0xFF000000;
		__lapic_note_logical(l, n);
		break;
	case REG_DFR:
		s->dfr = (val & 0xF0000000) | DFR_RESERVED;
		__lapic_note_logical(l, n);
		break;
	case REG_SVR:
		__lapic_write_svr(l, val);
		break;
	case REG_ESR: /* latch what happened since the last write */
		s->esr = s->esr_pending;
		s->esr_pending = 0;
		break;
	case REG_ICR_LO:
		__lapic_write_icr(l, val, n);
		break;
	case REG_ICR_HI:
		s->icr_hi = val & 0xFF000000;
		break;
	case REG_TIMER_ICR:
		__lapic_timer_write_icr(l, val, now, n);
		break;
	case REG_TIMER_DCR:
		__lapic_timer_write_dcr(l, val, now, n);
		break;
	default:
		return false;
	}
	return true;
}

static bool needs_time(uint32_t off)
{
	return off == REG_TIMER_CCR || off == REG_TIMER_ICR || off == REG_TIMER_DCR;
}

uint32_t lapic_mmio_read(struct lapic *l, uint32_t offset)
{
	uint64_t now = needs_time(offset) ? lapic_now(l) : 0;
	uint32_t val = 0;

	/* The 12 bytes after each register are part of its 16-byte slot. */
	if (offset >= LAPIC_SIZE || (offset & 0xF))
		return 0;
	pthread_mutex_lock(&l->lock);
	if (!__lapic_read(l, offset, now, &val)) {
		val = 0;
		__lapic_error(l, ESR_ILLEGAL_REGISTER);
	}
	pthread_mutex_unlock(&l->lock);
	return val;
}

void lapic_mmio_write(struct lapic *l, uint32_t offset, uint32_t value)
{
	uint64_t now = needs_time(offset) ? lapic_now(l) : 0;
	struct lapic_notes n = {0};

	if (offset >= LAPIC_SIZE || (offset & 0xF))
		return;
	pthread_mutex_lock(&l->lock);
	if (!__lapic_write(l, offset, value, now, &n))
		__lapic_error(l, ESR_ILLEGAL_REGISTER);
	pthread_mutex_unlock(&l->lock);
	lapic_notes_flush(l, &n);
}

void lapic_set_logical(struct lapic *l, uint32_t ldr, uint32_t dfr)
{
	pthread_mutex_lock(&l->lock);
	l->s.ldr = ldr & 0xFF000000;
	l->s.dfr = (dfr & 0xF0000000) | DFR_RESERVED;
	pthread_mutex_unlock(&l->lock);
}
