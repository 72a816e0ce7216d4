// SPDX-License-Identifier: MIT
/*
 * The DSM on one node, no transport: real memfd, real userfaultfd, the real
 * fault service. Threads fault pages in through the guest view (reads,
 * writes, lock xadd) and the counters and contents must come out exact.
 * A second case feeds the directory malformed and out-of-place messages.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dsm/dsm.h"

#define PAGES	64
#define THREADS 4
#define ITERS	20000

struct worker {
	uint64_t *region;
	unsigned int id;
};

static int setup(void **state)
{
	struct dsm_config cfg = {
	    .node_id = 0, .nr_nodes = 1, .region_size = PAGES * DSM_PAGE_SIZE};
	struct dsm *d;
	int err;

	if (geteuid()) {
		print_message("skip: userfaultfd needs root here\n");
		return -1;
	}
	err = dsm_create(&cfg, &d);
	if (err)
		return err;
	if (dsm_start(d)) {
		dsm_destroy(d);
		return -1;
	}
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	dsm_destroy(*state);
	return 0;
}

/* Counter k lives on page k % 8, slot k / 8; page 8 + id is private. */
static void *work(void *arg)
{
	struct worker *w = arg;
	uint64_t *priv = w->region + (8 + w->id) * (DSM_PAGE_SIZE / 8);

	for (unsigned int i = 0; i < ITERS; i++) {
		unsigned int k = (i * 7 + w->id) % 32;

		__atomic_fetch_add(&w->region[(k % 8) * 512 + k / 8], 1,
				   __ATOMIC_SEQ_CST);
		priv[i % 512] = i;
	}
	return NULL;
}

static void test_threads_fault_through_the_protocol(void **state)
{
	struct dsm *d = *state;
	uint64_t size, *region = dsm_guest_view(d, &size);
	pthread_t th[THREADS];
	struct worker w[THREADS];
	uint64_t total = 0, buf[512];
	struct dsm_stats st;

	assert_int_equal(size, PAGES * DSM_PAGE_SIZE);
	for (unsigned int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){.region = region, .id = i};
		assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (unsigned int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (unsigned int k = 0; k < 32; k++)
		total += region[(k % 8) * 512 + k / 8];
	assert_int_equal(total, (uint64_t)THREADS * ITERS);
	for (unsigned int i = 0; i < THREADS; i++)
		assert_int_equal(region[(8 + i) * 512 + (ITERS - 1) % 512], ITERS - 1);
	/* never-written pages read as zero, through dsm_access */
	assert_int_equal(dsm_access(d, 40 * DSM_PAGE_SIZE, buf, sizeof(buf), false), 0);
	for (unsigned int i = 0; i < 512; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(
	    dsm_access(d, (PAGES - 1) * DSM_PAGE_SIZE, buf, 2 * DSM_PAGE_SIZE, false),
	    -ERANGE);
	assert_int_equal(dsm_access(d, UINT64_MAX - 1, buf, 8, true), -ERANGE);
	dsm_stats(d, &st);
	/* one fault per page first touched: 8 shared + THREADS private + 1 read */
	assert_int_equal(st.faults.write + st.faults.read + st.faults.upgrade,
			 8 + THREADS + 1);
	assert_int_equal(st.faults.read, 1);
	assert_int_equal(st.faults.zero, 8 + THREADS + 1);
	assert_int_equal(st.faults.remote, 0);
	assert_int_equal(st.bad_msgs, 0);
}

static void test_read_then_upgrade(void **state)
{
	struct dsm *d = *state;
	uint64_t *region = dsm_guest_view(d, NULL);
	volatile uint64_t *p = region + 50 * 512;
	struct dsm_stats a, b;
	struct dsm_fault_stats r;

	dsm_stats(d, &a);
	assert_int_equal(*p, 0); /* read fault: S, zero fill */
	*p = 42;		 /* write-protect fault: UPGRADE_REQ */
	assert_int_equal(*p, 42);
	dsm_stats(d, &b);
	assert_int_equal(b.faults.read - a.faults.read, 1);
	assert_int_equal(b.faults.upgrade - a.faults.upgrade, 1);
	assert_int_equal(b.faults.write - a.faults.write, 0);
	assert_int_equal(dsm_range_stats(d, 50 * DSM_PAGE_SIZE, DSM_PAGE_SIZE, &r), 0);
	assert_true(r.read >= 1 && r.upgrade >= 1);
	/* the hottest page here: the only one with two faults, never lost */
	struct dsm_hot_page hot[4];
	assert_int_equal(dsm_hot_pages(d, hot, 4), 4);
	assert_int_equal(hot[0].off, 50 * DSM_PAGE_SIZE);
	assert_int_equal(hot[0].faults, 2);
	assert_int_equal(hot[0].lost, 0);
	assert_int_equal(hot[1].faults, 1);
	assert_int_equal(dsm_hot_pages(d, hot, 0), 0);
	assert_int_equal(dsm_home_of(d, 50 * DSM_PAGE_SIZE), 0);
	assert_int_equal(dsm_home_of(d, PAGES * DSM_PAGE_SIZE), -ERANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_threads_fault_through_the_protocol),
	    cmocka_unit_test(test_read_then_upgrade),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
