// SPDX-License-Identifier: MIT
/* vCPU migration messages: chunk checks, blob reassembly (in order, no gap
 * or overlap, one sender and epoch per blob) and owner announcements. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/migrate.h"
#include "core/state.h"

#define NR_VCPUS 4
#define BLOB	 10000 /* two chunks: VMW_CHUNK_DATA_MAX + the rest */

static uint8_t blob[BLOB];

struct chunk_msg {
	struct vmw_migrate_chunk h;
	uint8_t data[VMW_CHUNK_DATA_MAX];
};

static size_t chunk(struct chunk_msg *m, uint32_t vcpu, uint32_t epoch, uint32_t off,
		    uint32_t len)
{
	memset(m, 0, sizeof(*m));
	m->h = (struct vmw_migrate_chunk){.version = VMW_VERSION,
					  .vcpu = vcpu,
					  .epoch = epoch,
					  .offset = off,
					  .total = BLOB,
					  .len = len,
					  .park_ns = 42,
					  .saved_ns = 43};
	if (off < BLOB && len <= BLOB - off) /* past the end: a message to refuse */
		memcpy(m->data, blob + off, len);
	return sizeof(m->h) + len;
}

static int setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < BLOB; i++)
		blob[i] = (uint8_t)(i * 7 + 3);
	return 0;
}

static void test_chunk_check(void **state)
{
	struct chunk_msg m;
	const char *why = NULL;
	size_t len;

	(void)state;
	len = chunk(&m, 1, 1, 0, VMW_CHUNK_DATA_MAX);
	assert_int_equal(mig_chunk_check(&m.h, len, NR_VCPUS, &why), 0);
	/* truncated: the message is shorter than its len says */
	assert_int_equal(mig_chunk_check(&m.h, len - 1, NR_VCPUS, &why), -EPROTO);
	assert_non_null(strstr(why, "length"));
	assert_int_equal(mig_chunk_check(&m.h, sizeof(m.h) - 1, NR_VCPUS, &why), -EPROTO);
	/* vCPU out of range */
	len = chunk(&m, NR_VCPUS, 1, 0, 100);
	assert_int_equal(mig_chunk_check(&m.h, len, NR_VCPUS, &why), -EPROTO);
	assert_non_null(strstr(why, "vCPU"));
	/* data past the end of the blob, and an offset that wraps */
	len = chunk(&m, 0, 1, BLOB - 10, 20);
	assert_int_equal(mig_chunk_check(&m.h, len, NR_VCPUS, &why), -EPROTO);
	m.h.offset = UINT32_MAX - 5;
	assert_int_equal(mig_chunk_check(&m.h, len, NR_VCPUS, &why), -EPROTO);
	/* blob size out of bounds, empty chunk, wrong version */
	len = chunk(&m, 0, 1, 0, 100);
	m.h.total = VCPU_STATE_MAX_LEN + 1;
	assert_int_equal(mig_chunk_check(&m.h, len, NR_VCPUS, &why), -EPROTO);
	m.h.total = 8;
	assert_int_equal(mig_chunk_check(&m.h, len, NR_VCPUS, &why), -EPROTO);
	len = chunk(&m, 0, 1, 0, 0);
	assert_int_equal(mig_chunk_check(&m.h, len, NR_VCPUS, &why), -EPROTO);
	len = chunk(&m, 0, 1, 0, 100);
	m.h.version = VMW_VERSION + 1;
	assert_int_equal(mig_chunk_check(&m.h, len, NR_VCPUS, &why), -EPROTO);
}

static void test_reassembly(void **state)
{
	struct mig_rx rx = {0};
	struct chunk_msg m;
	const char *why = NULL;

	(void)state;
	chunk(&m, 2, 3, 0, VMW_CHUNK_DATA_MAX);
	assert_int_equal(mig_rx_add(&rx, 1, &m.h, m.data, 2, &why), 0);
	chunk(&m, 2, 3, VMW_CHUNK_DATA_MAX, BLOB - VMW_CHUNK_DATA_MAX);
	assert_int_equal(mig_rx_add(&rx, 1, &m.h, m.data, 2, &why), 1);
	assert_int_equal(rx.total, BLOB);
	assert_int_equal(rx.epoch, 3);
	assert_int_equal(rx.src, 1);
	assert_int_equal(rx.park_ns, 42);
	assert_int_equal(rx.saved_ns, 43);
	assert_memory_equal(rx.buf, blob, BLOB);
	mig_rx_reset(&rx);
}

static void start(struct mig_rx *rx, struct chunk_msg *m)
{
	const char *why = NULL;

	chunk(m, 0, 1, 0, 1000);
	assert_int_equal(mig_rx_add(rx, 1, &m->h, m->data, 0, &why), 0);
}

static void test_reassembly_refusals(void **state)
{
	struct mig_rx rx = {0};
	struct chunk_msg m;
	const char *why = NULL;

	(void)state;
	/* overlap: the next chunk starts before the end of the previous */
	start(&rx, &m);
	chunk(&m, 0, 1, 500, 1000);
	assert_int_equal(mig_rx_add(&rx, 1, &m.h, m.data, 0, &why), -EPROTO);
	assert_non_null(strstr(why, "overlap"));
	assert_false(rx.active); /* the partial blob is gone */
	/* gap */
	start(&rx, &m);
	chunk(&m, 0, 1, 2000, 1000);
	assert_int_equal(mig_rx_add(&rx, 1, &m.h, m.data, 0, &why), -EPROTO);
	/* a middle chunk with nothing started */
	chunk(&m, 0, 1, 1000, 1000);
	assert_int_equal(mig_rx_add(&rx, 1, &m.h, m.data, 0, &why), -EPROTO);
	/* another sender or epoch half-way */
	start(&rx, &m);
	chunk(&m, 0, 1, 1000, 1000);
	assert_int_equal(mig_rx_add(&rx, 2, &m.h, m.data, 0, &why), -EPROTO);
	start(&rx, &m);
	chunk(&m, 0, 2, 1000, 1000);
	assert_int_equal(mig_rx_add(&rx, 1, &m.h, m.data, 0, &why), -EPROTO);
	/* bad epoch: not newer than what this node knows */
	chunk(&m, 0, 5, 0, 1000);
	assert_int_equal(mig_rx_add(&rx, 1, &m.h, m.data, 5, &why), -EPROTO);
	assert_non_null(strstr(why, "epoch"));
	assert_int_equal(mig_rx_add(&rx, 1, &m.h, m.data, 7, &why), -EPROTO);
	mig_rx_reset(&rx);
}

static void test_owner(void **state)
{
	struct vmw_owner m = {.version = VMW_VERSION, .vcpu = 1, .epoch = 4, .node = 2};
	const char *why = NULL;

	(void)state;
	assert_int_equal(mig_owner_check(&m, 2, NR_VCPUS, 3, &why), 1);
	assert_int_equal(mig_owner_check(&m, 2, NR_VCPUS, 4, &why), 0); /* stale */
	assert_int_equal(mig_owner_check(&m, 2, NR_VCPUS, 9, &why), 0);
	assert_int_equal(mig_owner_check(&m, 1, NR_VCPUS, 3, &why), -EPROTO);
	m.vcpu = NR_VCPUS;
	assert_int_equal(mig_owner_check(&m, 2, NR_VCPUS, 3, &why), -EPROTO);
	assert_non_null(strstr(why, "vCPU"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chunk_check),
	    cmocka_unit_test(test_reassembly),
	    cmocka_unit_test(test_reassembly_refusals),
	    cmocka_unit_test(test_owner),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
