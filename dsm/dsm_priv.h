/* SPDX-License-Identifier: MIT */
/*
 * dsm/dsm_priv.h - what the files of dsm/ share.
 *
 * One thread (the fault service, loop.c) owns every field below except the
 * counters, which it updates with relaxed atomics so that dsm_stats() may
 * read them from any thread.
 */
#ifndef RACKVM_DSM_PRIV_H
#define RACKVM_DSM_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dsm/dsm.h"
#include "dsm/wire.h"

#define DSM_BITMAP_WORDS (DSM_MAX_NODES / 64)
#define DSM_NO_NODE	 UINT32_MAX
#define DSM_COOKIE_TAG	 (0xd5ULL << 56) /* our xport_read cookies */

#define dsm_log(d, fmt, ...)                                                             \
	fprintf(stderr, "dsm[node %u]: " fmt "\n", (d)->cfg.node_id, ##__VA_ARGS__)

#define STAT_ADD(field, v) __atomic_fetch_add(&(field), (v), __ATOMIC_RELAXED)

/* A request waiting for a page's busy bit at its home. */
struct dsm_req {
	struct dsm_req *next;
	uint32_t node;
	uint8_t type;
};

/* Directory entry, kept by the page's home. */
enum dsm_dir_state {
	DIR_ZERO = 0, /* no copy anywhere: the page is zero */
	DIR_S,	      /* sharers hold read-only copies */
	DIR_M,	      /* owner holds the only, writable copy */
};

struct dsm_dir {
	uint64_t sharers[DSM_BITMAP_WORDS];
	uint64_t queued[DSM_BITMAP_WORDS]; /* nodes with a request here */
	uint64_t acking[DSM_BITMAP_WORDS]; /* nodes whose ack is awaited */
	struct dsm_req *head, *tail;	   /* waiting for busy to clear */
	uint32_t owner;
	uint32_t req;  /* requester of the transaction in progress */
	uint32_t src;  /* data source to grant once the acks are in */
	uint16_t acks; /* acks still awaited */
	uint8_t state; /* enum dsm_dir_state */
	uint8_t type;  /* request type in progress */
	bool busy;
};

/* This node's view of a page. */
struct dsm_page {
	uint8_t state;	  /* enum dsm_state: what the guest view allows */
	bool pending;	  /* our request is at the home */
	bool reading;	  /* the one-sided read of the data is in flight */
	uint8_t kind;	  /* request type sent */
	uint8_t mode;	  /* mode granted, while reading */
	uint8_t hold_shift; /* hold window = cfg.hold_us << hold_shift (hold.c) */
	int32_t tid;	  /* thread whose fault started the request */
	uint32_t served;  /* node that served it: the data's source, else the home */
	uint64_t t_fault; /* ns, CLOCK_MONOTONIC */
	uint64_t t_grant; /* ns: when the page was last granted here */
	uint64_t t_hold;  /* ns: INV/DOWNGRADE wait until then (cfg.hold_us) */
};

/* An INV or DOWNGRADE waiting for its page's hold window to end. */
struct dsm_held {
	uint32_t from;
	struct dsm_msg msg;
};

struct dsm_heldq {
	struct dsm_held *items;
	uint32_t cap, len;
};

/* Self-addressed messages: the home's directory and our cache are on the
 * same thread, so they never go through the transport. */
struct dsm_localq {
	struct dsm_msg *msgs;
	uint32_t cap, head, len;
};

struct dsm_tstat {
	int32_t tid;
	struct dsm_fault_stats f;
};

struct dsm {
	struct dsm_config cfg;
	uint64_t nr_pages;
	uint16_t *home;
	struct dsm_wire_ctx wire;

	int memfd, uffd, stop_fd;
	uint8_t *guest, *alias;
	uint64_t uffd_features;
	bool have_wp;

	struct dsm_page *pages;
	struct dsm_dir *dir;
	struct dsm_localq localq;
	struct dsm_heldq held;

	pthread_t thread;
	bool running;
	unsigned int logged; /* dropped messages logged so far */

	struct dsm_stats st;
	struct dsm_fault_stats *range; /* per DSM_STATS_CHUNK */
	struct dsm_tstat threads[DSM_MAX_THREADS];
	uint64_t *thread_from; /* [slot * nr_nodes + node]: faults served by node */
	uint32_t *page_faults; /* per page: faults resolved here */
	uint32_t *page_lost;   /* per page: INV or DOWNGRADE served here */
};

/* map.c: memfd, views, userfaultfd */
int dsm_map_create(struct dsm *d);
void dsm_map_destroy(struct dsm *d);
int dsm_map_install(struct dsm *d, uint64_t page, uint8_t mode);
int dsm_map_zero(struct dsm *d, uint64_t page, uint8_t mode);
int dsm_map_upgrade(struct dsm *d, uint64_t page);
int dsm_map_downgrade(struct dsm *d, uint64_t page);
int dsm_map_invalidate(struct dsm *d, uint64_t page);
int dsm_map_wake(struct dsm *d, uint64_t page);

/* loop.c: the fault service thread and message transmission */
int dsm_send(struct dsm *d, uint32_t dst, uint8_t type, uint64_t page, uint8_t mode,
	     uint32_t src);
void *dsm_loop(void *arg);
void dsm_drop(struct dsm *d, uint32_t from, const struct dsm_msg *m, const char *why);

/* dir.c: the home's side of the protocol */
void dsm_dir_request(struct dsm *d, uint32_t from, const struct dsm_msg *m);
void dsm_dir_ack(struct dsm *d, uint32_t from, const struct dsm_msg *m);
void dsm_dir_done(struct dsm *d, uint32_t from, const struct dsm_msg *m);
void dsm_dir_free(struct dsm *d);

/* cache.c: the node's side */
void dsm_cache_fault(struct dsm *d, uint64_t addr, uint64_t flags, int32_t tid);
void dsm_cache_msg(struct dsm *d, uint32_t from, const struct dsm_msg *m);
void dsm_cache_read_done(struct dsm *d, uint64_t page, int status);
void dsm_cache_serve(struct dsm *d, uint32_t from, const struct dsm_msg *m);

/* hold.c: the hold window (cfg.hold_us) */
void dsm_hold_start(struct dsm *d, struct dsm_page *pg);
void dsm_hold_learn(struct dsm *d, struct dsm_page *pg);
bool dsm_hold_msg(struct dsm *d, uint32_t from, const struct dsm_msg *m);
void dsm_hold_flush_page(struct dsm *d, uint64_t page);
int dsm_hold_run(struct dsm *d, uint64_t now, int *timeout_ms);
void dsm_hold_free(struct dsm *d);

/* dsm.c */
void dsm_count_fault(struct dsm *d, const struct dsm_page *pg, uint64_t page, bool zero);
void dsm_count_lost(struct dsm *d, uint64_t page);
uint64_t dsm_now_ns(void);

static inline bool dsm_bit(const uint64_t *map, uint32_t n)
{
	return map[n / 64] >> (n % 64) & 1;
}
static inline void dsm_bit_set(uint64_t *map, uint32_t n)
{
	map[n / 64] |= 1ULL << (n % 64);
}
static inline void dsm_bit_clear(uint64_t *map, uint32_t n)
{
	map[n / 64] &= ~(1ULL << (n % 64));
}

#endif
