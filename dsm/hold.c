// SPDX-License-Identifier: MIT
/*
 * The hold window (cfg.hold_us, Mirage's "delta"): a node keeps a page it was
 * just granted for at least that long before it serves an INV or DOWNGRADE
 * for it, so that the vCPU whose fault brought the page in runs on it before
 * it moves on. Without it, two slow nodes writing one page can steal it from
 * each other faster than either vCPU gets to retry its access.
 *
 * The window adapts per page: a writable page taken from us (INV) within two
 * windows of its grant (writers on two nodes) gets twice the window next time, up
 * to DSM_HOLD_MAX_SHIFT doublings, and halves back when it stayed more than
 * DSM_HOLD_CALM windows; so a page two vCPUs fight over (a lock, a page
 * table both walk: with EPT A/D or under QEMU TCG every guest page walk is
 * a write) moves in longer turns. Read sharing (DOWNGRADE, INV of a read
 * copy: one CPU writes the clock, the others read it each tick) keeps the
 * base window: there a longer one would only delay every reader.
 *
 * A window does not end early when the holder's vCPU waits for another page:
 * a vCPU may need two pages at once (the levels of a page walk, which are
 * writes under EPT A/D or TCG), and giving one back while it fetches the
 * other livelocked testos's start-up page tables between 2 nodes.
 *
 * A held message is served later exactly as if the network had delayed it.
 * Per page, order is kept: a message for a page with a held one serves the
 * held one first. (While an INV or DOWNGRADE waits for our ack the home is
 * busy with that page, so nothing else for it comes from there anyway.)
 */
#include <errno.h>
#include <stdlib.h>

#include "dsm/dsm_priv.h"

static int heldq_push(struct dsm_heldq *q, uint32_t from, const struct dsm_msg *m)
{
	if (q->len == q->cap) {
		uint32_t cap = q->cap ? q->cap * 2 : 16;
		struct dsm_held *n = realloc(q->items, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		q->items = n;
		q->cap = cap;
	}
	q->items[q->len++] = (struct dsm_held){.from = from, .msg = *m};
	return 0;
}

/* Removes item @i, keeping the order of the others. */
static struct dsm_held heldq_take(struct dsm_heldq *q, uint32_t i)
{
	struct dsm_held h = q->items[i];

	for (uint32_t j = i + 1; j < q->len; j++)
		q->items[j - 1] = q->items[j];
	q->len--;
	return h;
}

#define DSM_HOLD_MAX_SHIFT 3
#define DSM_HOLD_CALM	   16

static uint64_t hold_ns(const struct dsm *d, const struct dsm_page *pg)
{
	return (uint64_t)d->cfg.hold_us * 1000ULL << pg->hold_shift;
}

void dsm_hold_start(struct dsm *d, struct dsm_page *pg)
{
	pg->t_grant = dsm_now_ns();
	pg->t_hold = d->cfg.hold_us ? pg->t_grant + hold_ns(d, pg) : 0;
}

void dsm_hold_learn(struct dsm *d, struct dsm_page *pg)
{
	uint64_t kept = dsm_now_ns() - pg->t_grant, win = hold_ns(d, pg);

	if (!d->cfg.hold_us)
		return;
	if (kept < 2 * win && pg->hold_shift < DSM_HOLD_MAX_SHIFT)
		pg->hold_shift++;
	else if (kept > DSM_HOLD_CALM * win && pg->hold_shift)
		pg->hold_shift--;
}

bool dsm_hold_msg(struct dsm *d, uint32_t from, const struct dsm_msg *m)
{
	if (m->type != DSM_INV && m->type != DSM_DOWNGRADE)
		return false;
	if (!d->cfg.hold_us || dsm_now_ns() >= d->pages[m->page].t_hold)
		return false;
	/* out of memory: serve it now, which is only slower */
	if (heldq_push(&d->held, from, m))
		return false;
	STAT_ADD(d->st.held, 1);
	return true;
}

void dsm_hold_flush_page(struct dsm *d, uint64_t page)
{
	struct dsm_heldq *q = &d->held;

	for (uint32_t i = 0; i < q->len; i++) {
		if (q->items[i].msg.page != page)
			continue;
		struct dsm_held h = heldq_take(q, i);

		dsm_cache_serve(d, h.from, &h.msg);
		return; /* at most one per page */
	}
}

int dsm_hold_run(struct dsm *d, uint64_t now, int *timeout_ms)
{
	struct dsm_heldq *q = &d->held;
	uint64_t next = UINT64_MAX;
	int served = 0;

	for (uint32_t i = 0; i < q->len;) {
		uint64_t due = d->pages[q->items[i].msg.page].t_hold;

		if (due > now) {
			next = due < next ? due : next;
			i++;
			continue;
		}
		struct dsm_held h = heldq_take(q, i);

		dsm_cache_serve(d, h.from, &h.msg);
		served++;
	}
	if (next != UINT64_MAX) {
		uint64_t ms = (next - now + 999999) / 1000000;

		if ((int)ms < *timeout_ms)
			*timeout_ms = (int)ms;
	}
	return served;
}

void dsm_hold_free(struct dsm *d)
{
	free(d->held.items);
	d->held = (struct dsm_heldq){0};
}
