// SPDX-License-Identifier: MIT
/* DSM wire messages: round trip, and every malformed or misaddressed case
 * is refused with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dsm/dsm.h"
#include "dsm/wire.h"

/* 4 pages: node 0 is home of 0-1, node 1 of 2-3; we are node 0 of 3. */
static const uint16_t home[4] = {0, 0, 1, 1};
static const struct dsm_wire_ctx ctx = {
    .me = 0, .nr_nodes = 3, .nr_pages = 4, .home = home};

static const char *check(const struct dsm_msg *w, size_t len, uint32_t from)
{
	struct dsm_msg out;

	return dsm_msg_check(w, len, from, &ctx, &out);
}

static void test_round_trip(void **state)
{
	struct dsm_msg w, out;

	(void)state;
	dsm_msg_encode(&w, DSM_GRANT, 3, DSM_S, 2);
	assert_null(dsm_msg_check(&w, sizeof(w), 1, &ctx, &out));
	assert_int_equal(out.type, DSM_GRANT);
	assert_int_equal(out.page, 3);
	assert_int_equal(out.mode, DSM_S);
	assert_int_equal(out.src, 2);
	dsm_msg_encode(&w, DSM_READ_REQ, 1, 0, 0);
	assert_null(dsm_msg_check(&w, sizeof(w), 2, &ctx, &out));
	dsm_msg_encode(&w, DSM_GRANT, 2, DSM_M, DSM_SRC_KEEP);
	assert_null(check(&w, sizeof(w), 1));
	dsm_msg_encode(&w, DSM_GRANT, 2, DSM_S, DSM_SRC_ZERO);
	assert_null(check(&w, sizeof(w), 1));
}

static void test_malformed(void **state)
{
	struct dsm_msg w;

	(void)state;
	dsm_msg_encode(&w, DSM_READ_REQ, 0, 0, 0);
	assert_non_null(check(&w, sizeof(w) - 1, 1));
	w.version = 2;
	assert_non_null(check(&w, sizeof(w), 1));
	dsm_msg_encode(&w, 0, 0, 0, 0);
	assert_non_null(check(&w, sizeof(w), 1));
	dsm_msg_encode(&w, DSM_MSG_END, 0, 0, 0);
	assert_non_null(check(&w, sizeof(w), 1));
	dsm_msg_encode(&w, DSM_READ_REQ, 0, 0, 0);
	w.rsvd = 1;
	assert_non_null(check(&w, sizeof(w), 1));
	dsm_msg_encode(&w, DSM_READ_REQ, 4, 0, 0); /* page out of range */
	assert_non_null(check(&w, sizeof(w), 1));
	dsm_msg_encode(&w, DSM_READ_REQ, UINT64_MAX, 0, 0);
	assert_non_null(check(&w, sizeof(w), 1));
	dsm_msg_encode(&w, DSM_READ_REQ, 0, 0, 0);
	assert_non_null(check(&w, sizeof(w), 3)); /* sender out of range */
	dsm_msg_encode(&w, DSM_INV, 0, DSM_S, 0); /* mode outside GRANT */
	assert_non_null(check(&w, sizeof(w), 0));
}

static void test_misaddressed(void **state)
{
	struct dsm_msg w;

	(void)state;
	dsm_msg_encode(&w, DSM_WRITE_REQ, 2, 0, 0); /* we are not home of 2 */
	assert_non_null(check(&w, sizeof(w), 1));
	dsm_msg_encode(&w, DSM_DONE, 3, 0, 0);
	assert_non_null(check(&w, sizeof(w), 2));
	dsm_msg_encode(&w, DSM_INV, 2, 0, 0); /* INV not from the home (1) */
	assert_non_null(check(&w, sizeof(w), 2));
	dsm_msg_encode(&w, DSM_GRANT, 2, 3, 1); /* mode neither S nor M */
	assert_non_null(check(&w, sizeof(w), 1));
	dsm_msg_encode(&w, DSM_GRANT, 2, DSM_S, 0); /* source is us */
	assert_non_null(check(&w, sizeof(w), 1));
	dsm_msg_encode(&w, DSM_GRANT, 2, DSM_S, 7); /* source out of range */
	assert_non_null(check(&w, sizeof(w), 1));
	dsm_msg_encode(&w, DSM_GRANT, 2, DSM_S, DSM_SRC_KEEP); /* keep needs M */
	assert_non_null(check(&w, sizeof(w), 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_misaddressed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
