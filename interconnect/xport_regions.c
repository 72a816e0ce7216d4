// SPDX-License-Identifier: MIT
/*
 * Region tables: connect sends every peer our registered regions (id, base
 * address, length, remote key) in one XPORT_WIRE_REGIONS message, and waits
 * for every peer's. Layout, little-endian: u32 count, u32 zero, then count
 * entries of { u32 id, u32 zero, u64 addr, u64 len, u64 key }.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "interconnect/xport_priv.h"

#define XB_REGION_HDR	8
#define XB_REGION_ENTRY 32

struct xb_region_entry {
	uint32_t id, zero;
	uint64_t addr, len, key;
};
_Static_assert(sizeof(struct xb_region_entry) == XB_REGION_ENTRY, "entry is 32 bytes");
_Static_assert(XB_REGION_HDR + XB_NR_REGIONS * XB_REGION_ENTRY <= XPORT_MSG_MAX,
	       "a region table fits one message");

int xb_regions_send(struct xport_base *b)
{
	uint8_t msg[XB_REGION_HDR + XB_NR_REGIONS * XB_REGION_ENTRY];
	uint32_t count = 0, tmp;
	int ret;

	for (uint32_t i = 0; i < XB_NR_REGIONS; i++) {
		struct xb_region *r = &b->local[i];
		struct xb_region_entry e;

		if (!r->valid)
			continue;
		e.id = htole32(i);
		e.zero = 0;
		e.addr = htole64((uint64_t)(uintptr_t)r->base);
		e.len = htole64(r->len);
		e.key = htole64(r->key);
		memcpy(msg + XB_REGION_HDR + count++ * XB_REGION_ENTRY, &e, sizeof(e));
	}
	tmp = htole32(count);
	memcpy(msg, &tmp, 4);
	memset(msg + 4, 0, 4);
	for (uint32_t node = 0; node < b->nr_nodes; node++) {
		if (node == b->self)
			continue;
		ret = xb_send_locked(b, node, XPORT_WIRE_REGIONS, msg,
				     XB_REGION_HDR + count * XB_REGION_ENTRY);
		if (ret)
			return ret;
	}
	return 0;
}

static const char *xb_region_check(const struct xb_region_entry *e)
{
	if (e->id >= XB_NR_REGIONS)
		return "region id out of range";
	if (e->zero)
		return "reserved field set";
	if (!e->len || e->addr + e->len < e->addr)
		return "region length empty or wraps";
	return NULL;
}

void xb_regions_recv(struct xport_base *b, uint32_t src, const void *buf, size_t len)
{
	struct xb_remote table[XB_NR_REGIONS];
	const uint8_t *p = buf;
	uint32_t count;
	const char *why = NULL;

	if (len < XB_REGION_HDR)
		goto bad;
	memcpy(&count, p, 4);
	count = le32toh(count);
	why = "entry count does not match the length";
	if (count > XB_NR_REGIONS || len != XB_REGION_HDR + count * XB_REGION_ENTRY)
		goto bad;
	memset(table, 0, sizeof(table));
	for (uint32_t i = 0; i < count; i++) {
		struct xb_region_entry e;

		memcpy(&e, p + XB_REGION_HDR + i * XB_REGION_ENTRY, sizeof(e));
		e.id = le32toh(e.id);
		e.addr = le64toh(e.addr);
		e.len = le64toh(e.len);
		e.key = le64toh(e.key);
		why = xb_region_check(&e);
		if (why)
			goto bad;
		table[e.id] = (struct xb_remote){e.addr, e.len, e.key, true};
	}
	memcpy(&b->remote[src * XB_NR_REGIONS], table, sizeof(table));
	b->regions_from[src] = true;
	return;
bad:
	xb_log(b, "node %u: region table rejected: %s", src, why ? why : "too short");
}
