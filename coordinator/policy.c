// SPDX-License-Identifier: MIT
/*
 * The placement policy's decision, per vCPU and interval, from the deltas of
 * its fault counters: move it to node T when T served most of its remote
 * faults (share), often enough (rate), when the faults it would keep taking
 * over one cool-down cost more than a migration pause (cost model), and when
 * it has not moved within its cool-down (hysteresis). A move back to the
 * node it last left doubles its cool-down, so two nodes cannot trade a vCPU
 * back and forth at the interval's pace.
 */
#include <string.h>

#include "coordinator/policy.h"

static const char *stay(struct policy_verdict *out, const char *why)
{
	out->to = -1;
	out->why = why;
	return why;
}

/* Is @s a continuation of @prev (same thread on the same node, no counter
 * going back)? Else it only becomes the new baseline. */
static bool continues(const struct policy_sample *prev, const struct policy_sample *s,
		      uint32_t nr_nodes)
{
	if (prev->node != s->node || prev->tid != s->tid || s->t_ms <= prev->t_ms ||
	    s->faults < prev->faults || s->wait_us < prev->wait_us)
		return false;
	for (uint32_t n = 0; n < nr_nodes; n++)
		if (s->from[n] < prev->from[n])
			return false;
	return true;
}

/* Top serving node other than s->node, and the remote faults in the delta. */
static uint64_t remote_delta(const struct policy_sample *prev,
			     const struct policy_sample *s, uint32_t nr_nodes,
			     uint32_t *top, uint64_t *top_faults)
{
	uint64_t total = 0;

	*top_faults = 0;
	*top = s->node;
	for (uint32_t n = 0; n < nr_nodes; n++) {
		uint64_t d = s->from[n] - prev->from[n];

		if (n == s->node)
			continue;
		total += d;
		if (d > *top_faults) {
			*top_faults = d;
			*top = n;
		}
	}
	return total;
}

static uint64_t cooldown_ms(const struct policy_cfg *cfg, const struct policy_vcpu *st,
			    uint32_t to)
{
	uint64_t ms = (uint64_t)cfg->cooldown_ms * (st->backoff ? st->backoff : 1);

	return to == st->left_node ? 2 * ms : ms;
}

static void judge(const struct policy_cfg *cfg, const struct policy_vcpu *st,
		  const struct policy_sample *s, uint32_t nr_nodes,
		  struct policy_verdict *out)
{
	const struct policy_sample *p = &st->prev;
	uint64_t dt = s->t_ms - p->t_ms, top_faults, faults = s->faults - p->faults;
	uint64_t remote = remote_delta(p, s, nr_nodes, &out->top, &top_faults);

	if (!remote) {
		stay(out, "no remote faults");
		return;
	}
	out->rate = top_faults * 1000 / dt;
	out->remote_rate = remote * 1000 / dt;
	out->share_pct = (uint32_t)(top_faults * 100 / remote);
	out->wait_us = faults ? (s->wait_us - p->wait_us) / faults : 0;
	out->stay_us = out->rate * out->wait_us * cfg->cooldown_ms / 1000;
	out->move_us = (uint64_t)cfg->gain * cfg->pause_us;
	if (out->rate < cfg->min_rate)
		stay(out, "rate below threshold");
	else if (out->share_pct < cfg->min_share_pct)
		stay(out, "faults spread over nodes");
	else if (out->stay_us <= out->move_us)
		stay(out, "staying is cheaper");
	else if (st->moved && s->t_ms - st->last_move_ms < cooldown_ms(cfg, st, out->top))
		stay(out, "cool-down");
	else {
		out->to = (int32_t)out->top;
		out->why = "move";
	}
}

void policy_decide(const struct policy_cfg *cfg, struct policy_vcpu *st,
		   const struct policy_sample *s, uint32_t nr_nodes,
		   struct policy_verdict *out)
{
	memset(out, 0, sizeof(*out));
	stay(out, "first sample");
	if (nr_nodes > POLICY_MAX_NODES)
		nr_nodes = POLICY_MAX_NODES;
	if (s->node >= nr_nodes)
		stay(out, "bad node");
	else if (st->have_prev && !continues(&st->prev, s, nr_nodes))
		stay(out, "counters restarted");
	else if (st->have_prev)
		judge(cfg, st, s, nr_nodes, out);
	if (out->to >= 0 && (uint32_t)out->to == s->node)
		stay(out, "already there"); /* cannot happen: top excludes s->node */
	st->prev = *s;
	st->have_prev = true;
}

void policy_moved(struct policy_vcpu *st, uint32_t from, uint32_t to, uint64_t now_ms)
{
	if (st->moved && to == st->left_node)
		st->backoff = st->backoff * 2 > POLICY_BACKOFF_MAX ? POLICY_BACKOFF_MAX
								   : st->backoff * 2;
	else
		st->backoff = 1;
	st->moved = true;
	st->last_move_ms = now_ms;
	st->left_node = from;
	st->have_prev = false; /* its counters restart on the new node */
}

int policy_pick(const struct policy_verdict *v, unsigned int n)
{
	int best = -1;

	for (unsigned int i = 0; i < n; i++)
		if (v[i].to >= 0 && (best < 0 || v[i].stay_us > v[best].stay_us))
			best = (int)i;
	return best;
}

void policy_gain_start(struct policy_gain *g, uint32_t to, uint64_t tid_before,
		       uint64_t rate_before, uint64_t now_ms)
{
	*g = (struct policy_gain){.on = true,
				  .node = to,
				  .tid_before = tid_before,
				  .rate_before = rate_before,
				  .since_ms = now_ms};
}

void policy_gain_sample(struct policy_gain *g, const struct policy_sample *s,
			uint32_t nr_nodes)
{
	uint64_t remote = 0;

	if (!g->on || s->node != g->node || s->tid == g->tid_before ||
	    s->t_ms < g->since_ms)
		return;
	if (nr_nodes > POLICY_MAX_NODES)
		nr_nodes = POLICY_MAX_NODES;
	for (uint32_t n = 0; n < nr_nodes; n++)
		if (n != s->node) /* peer counters: saturate, do not wrap */
			remote = remote + s->from[n] < remote ? UINT64_MAX
							      : remote + s->from[n];
	g->remote_after = remote;
}

int64_t policy_gain_avoided(const struct policy_gain *g, uint64_t now_ms)
{
	/* the counters come from peers: clamp so that nothing wraps */
	const uint64_t cap = 1000000000ULL;
	uint64_t rate = g->rate_before < cap ? g->rate_before : cap;
	uint64_t ms = now_ms > g->since_ms ? now_ms - g->since_ms : 0;
	uint64_t after = g->remote_after < cap * cap ? g->remote_after : cap * cap;

	if (!g->on)
		return 0;
	if (ms > cap)
		ms = cap;
	return (int64_t)(rate * ms / 1000) - (int64_t)after;
}
