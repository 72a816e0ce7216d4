/*
 * tests/model/dsm.pml - the rackvm DSM coherence protocol (home-based
 * directory MSI), exactly as dsm/ runs it. Checked by tests/model/run.sh.
 *
 * Nodes 0..N-1 each run two processes: cpu(n), the guest's vCPUs (reads,
 * writes, faults; one cpu process may have faults in flight on several
 * pages, as several vCPU threads can), and ctl(n), the DSM event loop (cache
 * side and, for the pages it is home of, directory side).
 *
 * Transport: one FIFO channel per ordered pair of nodes (libfabric RDM keeps
 * per-pair message order), so messages on different pairs reorder freely.
 * Page data moves by a one-sided read of the source node's alias view: it is
 * issued when the GRANT arrives and completes in a later, independent step.
 *
 * Macros: -DBUG_NO_INV_ACK  home grants before the INV_ACKs are in (must fail)
 *         -DBUG_EARLY_DONE  requester sends DONE before its read completed
 *         -DLIVE            unbounded run for the LTL property nolost
 *         -DHOLD            the hold window (dsm_config.hold_us): a node may
 *                           keep an INV/DOWNGRADE it received and serve it
 *                           any time later, before any later message for
 *                           that page (dsm/hold.c)
 */

#ifndef N
#define N 3		/* nodes */
#endif
#ifndef P
#define P 2		/* pages; home(p) = p % N */
#endif
#ifndef OPS
#define OPS 2		/* faults + writes per node (safety run); reads are free */
#endif
#define V 4		/* values a write stores: (latest + 1) % V */
#define CAP 4		/* per-pair channel depth: > messages one pair can have in flight */
#define NONE 255
#define GARBAGE 7	/* never a value a write stores */

#define HOME(p) ((p) % N)
#define BIT(n) (1 << (n))

mtype = { READ_REQ, WRITE_REQ, UPGRADE_REQ, INV, INV_ACK, DOWNGRADE,
	  DOWNGRADE_ACK, GRANT, DONE };
mtype = { I, S, M };			/* node page states */
mtype = { D_ZERO, D_S, D_M };		/* directory states */
#define SRC_ZERO 254			/* GRANT src: page is zero, fill locally */
#define SRC_KEEP 253			/* GRANT src: keep your copy (upgrade) */

/* ch[from*N + to]: type, page, arg (GRANT: data source), mode (GRANT: S/M) */
chan ch[N * N] = [CAP] of { mtype, byte, byte, mtype };

/* node side */
mtype cst[N * P];		/* guest-visible state of page p on node n */
byte mem[N * P];		/* alias-view content */
bit pend[N * P];		/* a fault is in flight */
byte rsrc[N * P];		/* one-sided read in flight from this node */
mtype rmode[N * P];

/* directory side (only the home touches these) */
mtype dstate[P];
byte downer[P];
byte dshare[P];			/* sharer bitmap */
bit dbusy[P];
byte dreq[P];			/* requester of the transaction in progress */
mtype dtype[P];
byte dacks[P];			/* acks still awaited */
byte dsrc[P];			/* data source to grant once the acks are in */
chan dq[P] = [N] of { mtype, byte };	/* requests waiting for the busy bit */

byte latest[P];			/* ghost: value of the last completed write */

#ifdef HOLD
mtype hmt[N * P];		/* INV/DOWNGRADE held by node n for page p, or 0 */
byte hfrom[N * P];
#endif

/* scratch of the atomic steps: not part of the state */
hidden mtype mt, md, qt;
hidden byte pg, a, qf, j, k, nm, ns;

#define IDX(n, p) ((n) * P + (p))

/* Single writer / many readers on page p. */
inline check_swmr(p)
{
	k = 0; nm = 0; ns = 0;
	do
	:: k < N ->
		if
		:: cst[IDX(k, p)] == M -> nm++
		:: cst[IDX(k, p)] == S -> ns++
		:: else
		fi;
		k++
	:: else -> break
	od;
	assert(nm <= 1 && (nm == 0 || ns == 0))
}

inline send(from, to, mt, pg, a, md)
{
	assert(nfull(ch[(from) * N + (to)]));
	ch[(from) * N + (to)]!mt, pg, a, md
}

/* ---- directory (home) ---- */

inline lowest(mask, out)
{
	out = 0;
	do
	:: out < N && (mask & BIT(out)) == 0 -> out++
	:: else -> break
	od
}

inline dir_grant(p)
{
	if
	:: dtype[p] == READ_REQ -> send(me, dreq[p], GRANT, p, dsrc[p], S)
	:: else -> send(me, dreq[p], GRANT, p, dsrc[p], M)
	fi
}

inline dir_start(p, mt, from)
{
	dbusy[p] = 1; dreq[p] = from; dtype[p] = mt; dacks[p] = 0;
	if
	:: mt == READ_REQ && dstate[p] == D_ZERO ->
		dstate[p] = D_S; dshare[p] = BIT(from); dsrc[p] = SRC_ZERO;
		dir_grant(p)
	:: mt == READ_REQ && dstate[p] == D_S ->
		assert((dshare[p] & BIT(from)) == 0);
		lowest(dshare[p], j); dsrc[p] = j;
		dshare[p] = dshare[p] | BIT(from);
		dir_grant(p)
	:: mt == READ_REQ && dstate[p] == D_M ->
		assert(downer[p] != from);
		dsrc[p] = downer[p]; dacks[p] = 1;
		send(me, downer[p], DOWNGRADE, p, 0, I)
	:: mt != READ_REQ && dstate[p] == D_ZERO ->
		dstate[p] = D_M; downer[p] = from; dsrc[p] = SRC_ZERO;
		dir_grant(p)
	:: mt != READ_REQ && dstate[p] == D_S ->
		if
		:: dshare[p] & BIT(from) -> dsrc[p] = SRC_KEEP
		:: else -> lowest(dshare[p], j); dsrc[p] = j
		fi;
		j = 0;
		do
		:: j < N ->
			if
			:: j != from && (dshare[p] & BIT(j)) ->
				send(me, j, INV, p, 0, I); dacks[p]++
			:: else
			fi;
			j++
		:: else -> break
		od;
		dstate[p] = D_M; downer[p] = from; dshare[p] = 0;
#ifdef BUG_NO_INV_ACK
		dacks[p] = 0;
#endif
		if
		:: dacks[p] == 0 -> dir_grant(p)
		:: else
		fi
	:: mt != READ_REQ && dstate[p] == D_M ->
		assert(downer[p] != from);
		dsrc[p] = downer[p]; downer[p] = from; dacks[p] = 1;
		send(me, dsrc[p], INV, p, 0, I)
	fi
}

inline dir_request(p, mt, from)
{
	assert(HOME(p) == me);
	if
	:: dbusy[p] -> dq[p]!mt, from
	:: else -> dir_start(p, mt, from)
	fi
}

inline dir_ack(p, mt)
{
#ifdef BUG_NO_INV_ACK
	/* the broken home already granted: it ignores late acks */
	if
	:: dacks[p] == 0 -> goto acked
	:: else
	fi;
#endif
	assert(HOME(p) == me && dbusy[p] && dacks[p] > 0);
	dacks[p]--;
	if
	:: dacks[p] == 0 && mt == DOWNGRADE_ACK ->
		dstate[p] = D_S; dshare[p] = BIT(dsrc[p]) | BIT(dreq[p]);
		dir_grant(p)
	:: dacks[p] == 0 && mt == INV_ACK -> dir_grant(p)
	:: else
	fi;
#ifdef BUG_NO_INV_ACK
acked:	skip
#endif
}

inline dir_done(p, from)
{
	assert(HOME(p) == me && dbusy[p] && dreq[p] == from && dacks[p] == 0);
	dbusy[p] = 0; dreq[p] = 0; dtype[p] = READ_REQ; dsrc[p] = 0;
	/* ghost: an invalid copy's alias is dead from now on (it may be
	 * punched); poison it so that a read of a stale alias is caught */
	k = 0;
	do
	:: k < N ->
		if
		:: cst[IDX(k, p)] == I && rsrc[IDX(k, p)] == NONE -> mem[IDX(k, p)] = GARBAGE
		:: else
		fi;
		k++
	:: else -> break
	od;
	k = 0;
	if
	:: nempty(dq[p]) -> dq[p]?qt, qf; dir_start(p, qt, qf)
	:: empty(dq[p]) -> skip
	fi
}

/* ---- cache (node) side ---- */

inline node_grant(p, src, md)
{
	assert(pend[IDX(me, p)]);
	if
	:: src == SRC_KEEP ->
		assert(cst[IDX(me, p)] == S && md == M);
		cst[IDX(me, p)] = M;	/* UFFDIO_WRITEPROTECT clear */
		pend[IDX(me, p)] = 0;
		send(me, HOME(p), DONE, p, 0, I)
	:: src == SRC_ZERO ->
		assert(cst[IDX(me, p)] == I);
		mem[IDX(me, p)] = 0;	/* zero fill, UFFDIO_CONTINUE */
		cst[IDX(me, p)] = md;
		pend[IDX(me, p)] = 0;
		send(me, HOME(p), DONE, p, 0, I)
	:: else ->
		assert(cst[IDX(me, p)] == I && src < N && src != me);
		rsrc[IDX(me, p)] = src;	/* xport_read posted */
		rmode[IDX(me, p)] = md;
#ifdef BUG_EARLY_DONE
		send(me, HOME(p), DONE, p, 0, I)
#endif
	fi
}

/* The one-sided read completes: copy the source's alias, map, tell home. */
inline node_read_done(p)
{
	mem[IDX(me, p)] = mem[IDX(rsrc[IDX(me, p)], p)];
	cst[IDX(me, p)] = rmode[IDX(me, p)];
	rsrc[IDX(me, p)] = NONE;
	rmode[IDX(me, p)] = I;
	pend[IDX(me, p)] = 0;
#ifndef BUG_EARLY_DONE
	send(me, HOME(p), DONE, p, 0, I)
#endif
}

inline node_inv(p, from)
{
	assert(from == HOME(p));
#ifndef BUG_EARLY_DONE
	/* the broken requester cannot tell an INV that overtook its read */
	assert(cst[IDX(me, p)] != I && rsrc[IDX(me, p)] == NONE);
#endif
	cst[IDX(me, p)] = I;		/* MADV_DONTNEED on the guest view; alias kept */
	send(me, from, INV_ACK, p, 0, I)
}

inline node_downgrade(p, from)
{
	assert(from == HOME(p) && cst[IDX(me, p)] == M);
	cst[IDX(me, p)] = S;		/* UFFDIO_WRITEPROTECT set */
	send(me, from, DOWNGRADE_ACK, p, 0, I)
}

#ifdef HOLD
/* Serve the message held for page p (dsm_hold_flush_page / dsm_hold_run). */
inline serve_held(p)
{
	if
	:: hmt[IDX(me, p)] == INV -> node_inv(p, hfrom[IDX(me, p)])
	:: hmt[IDX(me, p)] == DOWNGRADE -> node_downgrade(p, hfrom[IDX(me, p)])
	fi;
	hmt[IDX(me, p)] = 0;
	hfrom[IDX(me, p)] = 0
}
#endif

inline handle(from)
{
	ch[from * N + me]?mt, pg, a, md;
#ifdef HOLD
	if
	:: hmt[IDX(me, pg)] != 0 -> serve_held(pg); check_swmr(pg)
	:: else
	fi;
	if
	:: mt == INV || mt == DOWNGRADE -> /* held: served later */
		hmt[IDX(me, pg)] = mt; hfrom[IDX(me, pg)] = from
	:: true ->
#endif
	if
	:: mt == READ_REQ || mt == WRITE_REQ || mt == UPGRADE_REQ -> dir_request(pg, mt, from)
	:: mt == INV_ACK || mt == DOWNGRADE_ACK -> assert(from == dsrc[pg] || mt == INV_ACK); dir_ack(pg, mt)
	:: mt == DONE -> dir_done(pg, from)
	:: mt == GRANT -> assert(from == HOME(pg)); node_grant(pg, a, md)
	:: mt == INV -> node_inv(pg, from)
	:: mt == DOWNGRADE -> node_downgrade(pg, from)
	fi
#ifdef HOLD
	fi
#endif
	;
	check_swmr(pg)
}

proctype ctl(byte me)
{
#ifdef LIVE
	byte rr = 0;
#endif
end:
	do
#ifdef LIVE
	/* One deterministic step (next peer round-robin, then the reads in
	 * flight), so that weak fairness between processes is enough. */
	:: atomic {
		(nempty(ch[0 * N + me]) || nempty(ch[1 * N + me]) ||
		 nempty(ch[2 * N + me]) || rsrc[IDX(me, 0)] != NONE
#if P > 1
		 || rsrc[IDX(me, 1)] != NONE
#endif
		) ->
		if
		:: nempty(ch[rr * N + me]) -> handle(rr)
		:: empty(ch[rr * N + me]) -> skip
		fi;
		rr = (rr + 1) % N;
		if
		:: rsrc[IDX(me, 0)] != NONE -> node_read_done(0); check_swmr(0)
		:: else
		fi;
#if P > 1
		if
		:: rsrc[IDX(me, 1)] != NONE -> node_read_done(1); check_swmr(1)
		:: else
		fi
#endif
	   }
#else
	:: atomic { nempty(ch[0 * N + me]) -> handle(0) }
	:: atomic { nempty(ch[1 * N + me]) -> handle(1) }
	:: atomic { nempty(ch[2 * N + me]) -> handle(2) }
#if N > 3
	:: atomic { nempty(ch[3 * N + me]) -> handle(3) }
#endif
#endif
#ifdef HOLD
	:: atomic { hmt[IDX(me, 0)] != 0 -> serve_held(0); check_swmr(0) }
#if P > 1
	:: atomic { hmt[IDX(me, 1)] != 0 -> serve_held(1); check_swmr(1) }
#endif
#endif
#ifndef LIVE
	:: atomic { rsrc[IDX(me, 0)] != NONE -> node_read_done(0); check_swmr(0) }
#if P > 1
	:: atomic { rsrc[IDX(me, 1)] != NONE -> node_read_done(1); check_swmr(1) }
#endif
#if P > 2
	:: atomic { rsrc[IDX(me, 2)] != NONE -> node_read_done(2); check_swmr(2) }
#endif
#endif
	od
}

/* ---- the guest ---- */

#ifdef LIVE
#define MORE true
#else
#define MORE (ops < OPS)
#endif

/* The accesses a vCPU can make to page p: a hit, or a fault that sends a
 * request (the uffd event reaching the event loop is folded into it). */
#define CPU_PAGE(p) \
	:: atomic { MORE && cst[IDX(me, p)] != I -> /* read hit */ \
		assert(mem[IDX(me, p)] == latest[p]) } \
	:: atomic { MORE && cst[IDX(me, p)] == M -> /* write hit */ \
		assert(mem[IDX(me, p)] == latest[p]); \
		mem[IDX(me, p)] = (latest[p] + 1) % V; \
		latest[p] = mem[IDX(me, p)]; ops++ } \
	:: atomic { MORE && cst[IDX(me, p)] == I && !pend[IDX(me, p)] -> \
		pend[IDX(me, p)] = 1; ops++; send(me, HOME(p), READ_REQ, p, 0, I) } \
	:: atomic { MORE && cst[IDX(me, p)] == I && !pend[IDX(me, p)] -> \
		pend[IDX(me, p)] = 1; ops++; send(me, HOME(p), WRITE_REQ, p, 0, I) } \
	:: atomic { MORE && cst[IDX(me, p)] == S && !pend[IDX(me, p)] -> \
		pend[IDX(me, p)] = 1; ops++; send(me, HOME(p), UPGRADE_REQ, p, 0, I) }

proctype cpu(byte me)
{
	byte ops = 0;
end:
	do
	CPU_PAGE(0)
#if P > 1
	CPU_PAGE(1)
#endif
#if P > 2
	CPU_PAGE(2)
#endif
	od
}

/* When nothing can move, no fault may still be waiting. */
active proctype watchdog()
{
	byte i;
end:
	timeout ->
	atomic {
		i = 0;
		do
		:: i < N * P -> assert(!pend[i]); i++
		:: else -> break
		od;
		i = 0;
		do
		:: i < P -> assert(!dbusy[i]); i++
		:: else -> break
		od
	}
}

init
{
	byte i;
	atomic {
		i = 0;
		do
		:: i < N * P -> cst[i] = I; rsrc[i] = NONE; i++
		:: else -> break
		od;
		i = 0;
		do
		:: i < P -> dstate[i] = D_ZERO; i++
		:: else -> break
		od;
		i = 0;
		do
		:: i < N -> run ctl(i); run cpu(i); i++
		:: else -> break
		od
	}
}

#ifdef LIVE
/* No lost request: every fault in flight is eventually resolved. */
ltl nolost {
	[] (pend[0] -> <> !pend[0]) && [] (pend[1] -> <> !pend[1]) &&
	[] (pend[2] -> <> !pend[2])
#if N * P > 3
	&& [] (pend[3] -> <> !pend[3]) && [] (pend[4] -> <> !pend[4]) &&
	[] (pend[5] -> <> !pend[5])
#endif
}
#endif
