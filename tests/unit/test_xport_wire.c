// SPDX-License-Identifier: MIT
/* The transport's wire header: exact byte layout, and every malformed
 * header a peer could send is refused with a reason. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "interconnect/transport.h"
#include "interconnect/wire.h"

#define SELF  2
#define NODES 4

/* one byte more than the largest message: room for an over-long one */
static uint8_t msg[XPORT_WIRE_HDR_SIZE + XPORT_MSG_MAX + 1];

static size_t build(uint32_t src, uint32_t dst, uint32_t len)
{
	struct xport_wire_hdr h = {.type = 0x1234,
				   .src = src,
				   .dst = dst,
				   .len = len,
				   .seq = 0x0102030405060708ull};

	xport_wire_encode(&h, msg);
	if (len <= XPORT_MSG_MAX + 1)
		memset(msg + XPORT_WIRE_HDR_SIZE, 0x5a, len);
	return XPORT_WIRE_HDR_SIZE + len;
}

static int decode(size_t n, const char **why)
{
	struct xport_wire_hdr h;

	return xport_wire_decode(msg, n, SELF, NODES, &h, why);
}

static void test_layout_is_little_endian(void **state)
{
	static const uint8_t want[XPORT_WIRE_HDR_SIZE] = {
	    'R', 'K', 'V', 'X', 1, 0, 0x34, 0x12, 1, 0, 0, 0, SELF, 0, 0, 0,
	    16,	 0,   0,   0,	0, 0, 0,    0,	  8, 7, 6, 5, 4,    3, 2, 1};

	(void)state;
	build(1, SELF, 16);
	assert_memory_equal(msg, want, sizeof(want));
}

static void test_round_trip(void **state)
{
	struct xport_wire_hdr h;
	const char *why = "unset";

	(void)state;
	for (uint32_t len = 0; len <= XPORT_MSG_MAX; len += 1024) {
		size_t n = build(3, SELF, len);

		assert_int_equal(xport_wire_decode(msg, n, SELF, NODES, &h, &why), 0);
		assert_null(why);
		assert_int_equal(h.type, 0x1234);
		assert_int_equal(h.src, 3);
		assert_int_equal(h.dst, SELF);
		assert_int_equal(h.len, len);
		assert_int_equal(h.version, XPORT_WIRE_VERSION);
		assert_true(h.seq == 0x0102030405060708ull);
	}
}

static void expect_reject(size_t n, int err, const char *reason_part)
{
	const char *why = NULL;

	assert_int_equal(decode(n, &why), err);
	assert_non_null(why);
	assert_non_null(strstr(why, reason_part));
}

static void test_rejects_short(void **state)
{
	(void)state;
	build(1, SELF, 0);
	for (size_t n = 0; n < XPORT_WIRE_HDR_SIZE; n++)
		expect_reject(n, -EBADMSG, "shorter");
}

static void test_rejects_magic_and_version(void **state)
{
	size_t n;

	(void)state;
	for (int byte = 0; byte < 4; byte++) {
		n = build(1, SELF, 8);
		msg[byte] ^= 0x20;
		expect_reject(n, -EBADMSG, "magic");
	}
	n = build(1, SELF, 8);
	msg[4] = XPORT_WIRE_VERSION + 1;
	expect_reject(n, -EPROTO, "version");
	n = build(1, SELF, 8);
	msg[5] = 1; /* version 257: the high byte counts too */
	expect_reject(n, -EPROTO, "version");
}

static void test_rejects_bad_nodes(void **state)
{
	(void)state;
	expect_reject(build(NODES, SELF, 8), -EBADMSG, "source node id out of range");
	expect_reject(build(UINT32_MAX, SELF, 8), -EBADMSG, "out of range");
	expect_reject(build(SELF, SELF, 8), -EBADMSG, "our own");
	expect_reject(build(1, 3, 8), -EBADMSG, "another node");
	expect_reject(build(1, UINT32_MAX, 8), -EBADMSG, "another node");
}

static void test_rejects_bad_length_and_flags(void **state)
{
	size_t n;

	(void)state;
	n = build(1, SELF, 100);
	expect_reject(n - 1, -EBADMSG, "differs");
	expect_reject(n + 1, -EBADMSG, "differs");
	n = build(1, SELF, XPORT_MSG_MAX + 1); /* too long, even if all arrived */
	expect_reject(n, -EBADMSG, "XPORT_MSG_MAX");
	build(1, SELF, UINT32_MAX);
	expect_reject(XPORT_WIRE_HDR_SIZE + 8, -EBADMSG, "XPORT_MSG_MAX");
	n = build(1, SELF, 8);
	msg[20] = 1;
	expect_reject(n, -EBADMSG, "flags");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_layout_is_little_endian),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_rejects_short),
	    cmocka_unit_test(test_rejects_magic_and_version),
	    cmocka_unit_test(test_rejects_bad_nodes),
	    cmocka_unit_test(test_rejects_bad_length_and_flags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
