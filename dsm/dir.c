// SPDX-License-Identifier: MIT
/*
 * The home's side of the protocol: one directory entry per page, requests
 * serialised by the busy bit (later ones wait in a FIFO), acks counted, and
 * the transaction closed by the requester's DONE. Mirrors dir_* in
 * tests/model/dsm.pml step for step.
 */
#include <stdlib.h>

#include "dsm/dsm_priv.h"

static uint32_t lowest_sharer(const struct dsm *d, const struct dsm_dir *e)
{
	for (uint32_t n = 0; n < d->cfg.nr_nodes; n++)
		if (dsm_bit(e->sharers, n))
			return n;
	return DSM_NO_NODE;
}

static void grant(struct dsm *d, uint64_t page, struct dsm_dir *e)
{
	uint8_t mode = e->type == DSM_READ_REQ ? DSM_S : DSM_M;

	dsm_send(d, e->req, DSM_GRANT, page, mode, e->src);
}

static void start_read(struct dsm *d, uint64_t page, struct dsm_dir *e)
{
	switch (e->state) {
	case DIR_ZERO:
		e->state = DIR_S;
		dsm_bit_set(e->sharers, e->req);
		e->src = DSM_SRC_ZERO;
		grant(d, page, e);
		break;
	case DIR_S:
		e->src = lowest_sharer(d, e);
		dsm_bit_set(e->sharers, e->req);
		grant(d, page, e);
		break;
	default: /* DIR_M: the owner keeps a read-only copy and is the source */
		e->src = e->owner;
		e->acks = 1;
		dsm_bit_set(e->acking, e->owner);
		dsm_send(d, e->owner, DSM_DOWNGRADE, page, 0, 0);
		break;
	}
}

static void start_write(struct dsm *d, uint64_t page, struct dsm_dir *e)
{
	uint32_t from = e->req;

	if (e->state == DIR_ZERO) {
		e->src = DSM_SRC_ZERO;
	} else if (e->state == DIR_M) {
		e->src = e->owner;
		e->acks = 1;
		dsm_bit_set(e->acking, e->owner);
		dsm_send(d, e->owner, DSM_INV, page, 0, 0);
	} else {
		e->src = dsm_bit(e->sharers, from) ? DSM_SRC_KEEP : lowest_sharer(d, e);
		for (uint32_t n = 0; n < d->cfg.nr_nodes; n++) {
			if (n == from || !dsm_bit(e->sharers, n))
				continue;
			dsm_bit_set(e->acking, n);
			dsm_send(d, n, DSM_INV, page, 0, 0);
			e->acks++;
		}
	}
	e->state = DIR_M;
	e->owner = from;
	for (int i = 0; i < DSM_BITMAP_WORDS; i++)
		e->sharers[i] = 0;
	if (!e->acks)
		grant(d, page, e);
}

/* Requests the model proves cannot happen from a correct peer. */
static const char *request_invalid(const struct dsm_dir *e, uint32_t from, uint8_t type)
{
	if (type == DSM_READ_REQ && e->state == DIR_S && dsm_bit(e->sharers, from))
		return "READ_REQ from a node that is already a sharer";
	if (e->state == DIR_M && e->owner == from)
		return "request from the page's owner";
	return NULL;
}

static void start(struct dsm *d, uint64_t page, uint32_t from, uint8_t type)
{
	struct dsm_dir *e = &d->dir[page];
	const char *why = request_invalid(e, from, type);

	dsm_bit_clear(e->queued, from);
	if (why) {
		struct dsm_msg m = {.type = type, .page = page};

		dsm_drop(d, from, &m, why);
		return;
	}
	e->busy = true;
	e->req = from;
	e->type = type;
	e->acks = 0;
	STAT_ADD(d->st.dir_requests, 1);
	if (type == DSM_READ_REQ)
		start_read(d, page, e);
	else
		start_write(d, page, e);
}

void dsm_dir_request(struct dsm *d, uint32_t from, const struct dsm_msg *m)
{
	struct dsm_dir *e = &d->dir[m->page];
	struct dsm_req *r;

	if (dsm_bit(e->queued, from) || (e->busy && e->req == from)) {
		dsm_drop(d, from, m, "second request for one page from one node");
		return;
	}
	dsm_bit_set(e->queued, from);
	if (!e->busy) {
		start(d, m->page, from, m->type);
		return;
	}
	r = malloc(sizeof(*r));
	if (!r) {
		dsm_bit_clear(e->queued, from);
		dsm_drop(d, from, m, "out of memory queueing it");
		return;
	}
	*r = (struct dsm_req){.node = from, .type = m->type};
	if (e->tail)
		e->tail->next = r;
	else
		e->head = r;
	e->tail = r;
	STAT_ADD(d->st.dir_queued, 1);
}

void dsm_dir_ack(struct dsm *d, uint32_t from, const struct dsm_msg *m)
{
	struct dsm_dir *e = &d->dir[m->page];
	bool down = m->type == DSM_DOWNGRADE_ACK;

	if (!e->busy || !dsm_bit(e->acking, from) || down != (e->type == DSM_READ_REQ)) {
		dsm_drop(d, from, m, "ack the transaction in progress does not expect");
		return;
	}
	dsm_bit_clear(e->acking, from);
	if (--e->acks)
		return;
	if (down) {
		e->state = DIR_S;
		dsm_bit_set(e->sharers, e->src);
		dsm_bit_set(e->sharers, e->req);
	}
	grant(d, m->page, e);
}

void dsm_dir_done(struct dsm *d, uint32_t from, const struct dsm_msg *m)
{
	struct dsm_dir *e = &d->dir[m->page];
	struct dsm_req *r;

	if (!e->busy || e->req != from || e->acks) {
		dsm_drop(d, from, m, "DONE for no transaction of that node");
		return;
	}
	e->busy = false;
	while ((r = e->head) && !e->busy) {
		e->head = r->next;
		if (!e->head)
			e->tail = NULL;
		start(d, m->page, r->node, r->type);
		free(r);
	}
}

void dsm_dir_free(struct dsm *d)
{
	for (uint64_t p = 0; d->dir && p < d->nr_pages; p++) {
		struct dsm_req *r = d->dir[p].head, *next;

		for (; r; r = next) {
			next = r->next;
			free(r);
		}
	}
}
