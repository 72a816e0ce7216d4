// SPDX-License-Identifier: MIT
/*
 * core/lapic_timer.c - the LAPIC timer (one-shot, periodic, TSC-deadline;
 * SDM vol. 3 "APIC Timer") and the LAPIC part of the vCPU state blob.
 *
 * The timer is kept as one host deadline (CLOCK_MONOTONIC ns): the current
 * count is derived from it, and the platform arms a host timer on it (told
 * through ops->timer_changed) and calls lapic_timer_poll when it fires.
 */
#include "core/lapic_priv.h"

enum timer_mode {
	TIMER_ONESHOT = 0,
	TIMER_PERIODIC = 1,
	TIMER_TSC_DEADLINE = 2,
	/* 3 is reserved: behaves as one-shot */
};

static enum timer_mode timer_mode_of(uint32_t lvt)
{
	return (enum timer_mode)((lvt >> 17) & 3);
}

static enum timer_mode timer_mode(const struct lapic *l)
{
	return timer_mode_of(l->s.lvt[LVT_TIMER]);
}

/* Divide configuration bits 3,1,0 (SDM fig. "Divide Configuration Register"). */
static uint64_t timer_divisor(uint32_t dcr)
{
	uint32_t code = (dcr & 3) | ((dcr >> 1) & 4);

	return code == 7 ? 1 : 2ULL << code;
}

_Static_assert(1000000000ULL % LAPIC_TIMER_HZ == 0, "a timer tick must be whole ns");

/* Host ns for @ticks: the bus clock runs @l->dilation times slower than the
 * host's under time dilation (core.h). */
static uint64_t ticks_to_ns(const struct lapic *l, uint64_t ticks, uint32_t dcr)
{
	/* icr < 2^32, divisor <= 128, 1 ns per tick, dilation <= 1000: no overflow. */
	return ticks * timer_divisor(dcr) * (1000000000ULL / LAPIC_TIMER_HZ) *
	       l->dilation;
}

/* The host spacing of a periodic timer's expiries (never below the floor). */
static uint64_t timer_period_ns(const struct lapic *l)
{
	uint64_t period = ticks_to_ns(l, l->s.timer_icr, l->s.timer_dcr);

	return period < LAPIC_TIMER_MIN_PERIOD_NS ? LAPIC_TIMER_MIN_PERIOD_NS : period;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

static void timer_set_deadline(struct lapic *l, uint64_t deadline, struct lapic_notes *n)
{
	if (l->timer_deadline_ns == deadline)
		return;
	__lapic_trace(l, 'T', 0, deadline != 0);
	l->timer_deadline_ns = deadline;
	n->timer = true;
	n->deadline_ns = deadline;
}

void __lapic_timer_stop(struct lapic *l, struct lapic_notes *n)
{
	timer_set_deadline(l, 0, n);
}

static void timer_raise(struct lapic *l)
{
	uint32_t lvt = l->s.lvt[LVT_TIMER];

	if (!(lvt & LVT_MASKED))
		__lapic_set_irr(l, LVT_VECTOR(lvt), false);
}

static void __lapic_timer_poll(struct lapic *l, uint64_t now, struct lapic_notes *n)
{
	uint64_t deadline = l->timer_deadline_ns, period, missed;

	if (!deadline || now < deadline)
		return;
	/* One interrupt however late we are: IRR holds one bit per vector. */
	timer_raise(l);
	if (timer_mode(l) == TIMER_PERIODIC) {
		/* Keep the phase, skip the periods that were missed. */
		period = timer_period_ns(l);
		missed = (now - deadline) / period;
		l->timer_start_ns = deadline + missed * period;
		timer_set_deadline(l, add_sat(l->timer_start_ns, period), n);
		return;
	}
	if (timer_mode(l) == TIMER_TSC_DEADLINE)
		l->s.tsc_deadline = 0;
	timer_set_deadline(l, 0, n);
}

uint32_t __lapic_timer_current(struct lapic *l, uint64_t now)
{
	uint64_t deadline = l->timer_deadline_ns, div, left, count;

	if (timer_mode(l) == TIMER_TSC_DEADLINE || !deadline || !l->s.timer_icr)
		return 0;
	if (now < deadline)
		left = deadline - now;
	else if (timer_mode(l) == TIMER_PERIODIC) /* not polled yet */
		left = timer_period_ns(l) - (now - deadline) % timer_period_ns(l);
	else
		return 0;
	div = ticks_to_ns(l, 1, l->s.timer_dcr);
	count = (left + div - 1) / div; /* a count is whole until its tick ends */
	return count > l->s.timer_icr ? l->s.timer_icr : (uint32_t)count;
}

void __lapic_timer_write_lvt(struct lapic *l, uint32_t val, struct lapic_notes *n)
{
	uint32_t old = l->s.lvt[LVT_TIMER];

	l->s.lvt[LVT_TIMER] = val;
	/* SDM: "A write to the LVT Timer Register that changes the timer mode
	 * disarms the local APIC timer." */
	if (timer_mode_of(old) != timer_mode_of(val)) {
		l->s.timer_icr = 0;
		l->s.tsc_deadline = 0;
		timer_set_deadline(l, 0, n);
	}
}

void __lapic_timer_write_icr(struct lapic *l, uint32_t val, uint64_t now,
			     struct lapic_notes *n)
{
	if (timer_mode(l) == TIMER_TSC_DEADLINE) /* ignored in that mode */
		return;
	l->s.timer_icr = val;
	if (!val) {
		timer_set_deadline(l, 0, n);
		return;
	}
	l->timer_start_ns = now;
	if (timer_mode(l) == TIMER_PERIODIC)
		timer_set_deadline(l, now + timer_period_ns(l), n);
	else
		timer_set_deadline(l, now + ticks_to_ns(l, val, l->s.timer_dcr), n);
}

void __lapic_timer_write_dcr(struct lapic *l, uint32_t val, uint64_t now,
			     struct lapic_notes *n)
{
	uint32_t count = __lapic_timer_current(l, now);

	l->s.timer_dcr = val & 0xB;
	/* The count keeps its value and goes on at the new rate. */
	if (count && l->timer_deadline_ns)
		timer_set_deadline(l, now + ticks_to_ns(l, count, l->s.timer_dcr), n);
}

void lapic_timer_poll(struct lapic *l, uint64_t now_ns)
{
	struct lapic_notes n = {0};

	pthread_mutex_lock(&l->lock);
	__lapic_timer_poll(l, now_ns, &n);
	pthread_mutex_unlock(&l->lock);
	lapic_notes_flush(l, &n);
}

uint64_t lapic_timer_deadline(struct lapic *l)
{
	uint64_t deadline;

	pthread_mutex_lock(&l->lock);
	deadline = l->timer_deadline_ns;
	pthread_mutex_unlock(&l->lock);
	return deadline;
}

/* ---- IA32_TSC_DEADLINE ---- */

static uint64_t tsc_to_ns(const struct lapic *l, uint64_t tsc_delta)
{
	unsigned __int128 ns = (unsigned __int128)tsc_delta * 1000000 / l->tsc_khz;

	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

void lapic_tsc_deadline_write(struct lapic *l, uint64_t value, uint64_t guest_tsc)
{
	uint64_t now = lapic_now(l);
	struct lapic_notes n = {0};

	pthread_mutex_lock(&l->lock);
	/* Outside TSC-deadline mode the MSR ignores writes (as KVM does). */
	if (timer_mode(l) != TIMER_TSC_DEADLINE)
		goto out_unlock;
	l->s.tsc_deadline = value;
	if (!value) {
		timer_set_deadline(l, 0, &n);
	} else if (value <= guest_tsc) {
		/* Already due: fire now rather than through a host timer. */
		timer_raise(l);
		l->s.tsc_deadline = 0;
		timer_set_deadline(l, 0, &n);
	} else {
		timer_set_deadline(l, add_sat(now, tsc_to_ns(l, value - guest_tsc)), &n);
	}
out_unlock:
	pthread_mutex_unlock(&l->lock);
	lapic_notes_flush(l, &n);
}

uint64_t lapic_tsc_deadline_read(struct lapic *l)
{
	uint64_t value;

	pthread_mutex_lock(&l->lock);
	value = timer_mode(l) == TIMER_TSC_DEADLINE ? l->s.tsc_deadline : 0;
	pthread_mutex_unlock(&l->lock);
	return value;
}

/* ---- state blob ---- */

void lapic_state_save(struct lapic *l, struct lapic_state *out)
{
	uint64_t now = lapic_now(l);
	struct lapic_notes n = {0};

	pthread_mutex_lock(&l->lock);
	/* An expiry already due goes into IRR now, so the blob cannot lose it. */
	__lapic_timer_poll(l, now, &n);
	*out = l->s;
	out->timer_remaining_ns = l->timer_deadline_ns ? l->timer_deadline_ns - now : 0;
	pthread_mutex_unlock(&l->lock);
	lapic_notes_flush(l, &n);
}

/* The host deadline a loaded blob asks for, 0 if its timer is not running. */
static uint64_t loaded_deadline(const struct lapic *l, uint64_t remaining, uint64_t now)
{
	uint64_t full;

	switch (timer_mode(l)) {
	case TIMER_TSC_DEADLINE:
		return l->s.tsc_deadline ? add_sat(now, remaining) : 0;
	case TIMER_PERIODIC:
		if (!l->s.timer_icr)
			return 0;
		full = timer_period_ns(l);
		return now + (!remaining || remaining > full ? full : remaining);
	default: /* one-shot: remaining 0 means it already fired */
		if (!l->s.timer_icr || !remaining)
			return 0;
		full = ticks_to_ns(l, l->s.timer_icr, l->s.timer_dcr);
		return now + (remaining > full ? full : remaining);
	}
}

void lapic_state_load(struct lapic *l, const struct lapic_state *in)
{
	uint64_t now = lapic_now(l);
	struct lapic_notes n = {0};
	struct lapic_state s = *in;

	pthread_mutex_lock(&l->lock);
	__lapic_state_sanitize(l, &s);
	s.timer_remaining_ns = 0; /* only meaningful inside a blob */
	l->s = s;
	l->timer_deadline_ns = loaded_deadline(l, in->timer_remaining_ns, now);
	l->timer_start_ns = now;
	/* Always told: the host timer of this node knows nothing of the blob. */
	n.timer = true;
	n.deadline_ns = l->timer_deadline_ns;
	pthread_mutex_unlock(&l->lock);
	lapic_notes_flush(l, &n);
}
