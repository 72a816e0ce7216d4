// SPDX-License-Identifier: MIT
/*
 * rackvm-coherence [ITERS]: memory coherence across every CPU, exact counts.
 *
 * One thread pinned to each online CPU.
 * - Atomic increments: every thread adds 1 to one shared counter ITERS
 *   times; the total must be exactly threads * ITERS.
 * - Message passing: a token goes round the ring of threads ITERS/10 times.
 *   Each hop writes a plain (non-atomic) payload into the next thread's
 *   mailbox and then releases its flag; the receiver acquires the flag and
 *   must see the payload of exactly that hop. A lost or reordered write
 *   through the DSM shows as a wrong payload or a hang (caught by a timeout).
 * Prints "cpus=... increments=... expected=... messages=... errors=..." on
 * stdout; exits 0 only if every count is exact.
 */
#define _GNU_SOURCE /* sched_getaffinity, pthread_attr_setaffinity_np */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_THREADS   1024
#define PAYLOAD_WORDS 8
#define TIMEOUT_S     300

struct mailbox {
	uint64_t flag; /* hop number + 1 of the last message delivered here */
	uint64_t payload[PAYLOAD_WORDS];
} __attribute__((aligned(128)));

static struct mailbox box[MAX_THREADS];
static uint64_t counter __attribute__((aligned(128)));
static uint64_t start_line __attribute__((aligned(128)));
static uint64_t errors __attribute__((aligned(128)));
static int timed_out;
static unsigned int nthreads;
static uint64_t iters, rounds;

struct worker {
	pthread_t tid;
	unsigned int index;
	int cpu;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Spin until *p >= want; yield now and then so oversubscribed vCPUs progress. */
static int wait_for(const uint64_t *p, uint64_t want, double deadline)
{
	for (unsigned long spins = 0;; spins++) {
		if (__atomic_load_n(p, __ATOMIC_ACQUIRE) >= want)
			return 0;
		if (__atomic_load_n(&timed_out, __ATOMIC_RELAXED))
			return -1;
		if ((spins & 1023) == 1023) {
			sched_yield();
			if (now_s() > deadline) {
				__atomic_store_n(&timed_out, 1, __ATOMIC_RELAXED);
				return -1;
			}
		}
	}
}

/* Hop h is handled by thread h % n, which receives it in its own mailbox. */
static void ring(unsigned int me, double deadline)
{
	struct mailbox *in = &box[me], *next = &box[(me + 1) % nthreads];

	for (uint64_t r = 0; r < rounds; r++) {
		uint64_t hop = r * nthreads + me;

		if (wait_for(&in->flag, hop + 1, deadline))
			return;
		for (int k = 0; k < PAYLOAD_WORDS; k++)
			if (in->payload[k] != hop * PAYLOAD_WORDS + (uint64_t)k)
				__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
		for (int k = 0; k < PAYLOAD_WORDS; k++)
			next->payload[k] = (hop + 1) * PAYLOAD_WORDS + (uint64_t)k;
		__atomic_store_n(&next->flag, hop + 2, __ATOMIC_RELEASE);
	}
}

static void *work(void *arg)
{
	struct worker *w = arg;
	double deadline = now_s() + TIMEOUT_S;

	/* everyone starts the increments together, for real contention */
	__atomic_fetch_add(&start_line, 1, __ATOMIC_ACQ_REL);
	if (wait_for(&start_line, nthreads, deadline))
		return NULL;
	for (uint64_t i = 0; i < iters; i++)
		__atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
	ring(w->index, deadline);
	return NULL;
}

static int start(struct worker *w)
{
	pthread_attr_t attr;
	cpu_set_t set;
	int err;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	pthread_attr_init(&attr);
	pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	err = pthread_create(&w->tid, &attr, work, w);
	pthread_attr_destroy(&attr);
	return err;
}

static int report(int create_err)
{
	uint64_t delivered = box[0].flag - 1; /* hops whose message arrived */
	bool ok = !create_err && !timed_out && !errors && counter == iters * nthreads &&
		  delivered == rounds * nthreads;

	printf("cpus=%u increments=%" PRIu64 " expected=%" PRIu64 " messages=%" PRIu64
	       " delivered=%" PRIu64 " errors=%" PRIu64,
	       nthreads, counter, iters * nthreads, rounds * nthreads, delivered, errors);
	if (create_err)
		printf(" reason=pthread_create-errno-%d", create_err);
	else if (timed_out)
		printf(" reason=timeout");
	printf("\n");
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	static struct worker workers[MAX_THREADS];
	cpu_set_t online;
	unsigned int started = 0;
	int err = 0;

	iters = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000;
	rounds = iters / 10 ? iters / 10 : 1;
	if (sched_getaffinity(0, sizeof(online), &online)) {
		printf("reason=sched_getaffinity-failed\n");
		return 1;
	}
	for (int cpu = 0; cpu < CPU_SETSIZE && nthreads < MAX_THREADS; cpu++)
		if (CPU_ISSET(cpu, &online)) {
			workers[nthreads] =
			    (struct worker){.index = nthreads, .cpu = cpu};
			nthreads++;
		}
	/* the token's first message: hop 0, to thread 0 */
	for (int k = 0; k < PAYLOAD_WORDS; k++)
		box[0].payload[k] = (uint64_t)k;
	__atomic_store_n(&box[0].flag, 1, __ATOMIC_RELEASE);
	for (; started < nthreads && !err; started++)
		err = start(&workers[started]);
	if (err) {
		__atomic_store_n(&timed_out, 1, __ATOMIC_RELAXED);
		started--;
	}
	for (unsigned int i = 0; i < started; i++)
		pthread_join(workers[i].tid, NULL);
	return report(err);
}
