// SPDX-License-Identifier: MIT
/* The transport's message header: explicit little-endian, checked on receipt. */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "interconnect/transport.h"
#include "interconnect/wire.h"

static void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof(v));
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

void xport_wire_encode(const struct xport_wire_hdr *h, uint8_t out[XPORT_WIRE_HDR_SIZE])
{
	put32(out + 0, XPORT_WIRE_MAGIC);
	put16(out + 4, XPORT_WIRE_VERSION);
	put16(out + 6, h->type);
	put32(out + 8, h->src);
	put32(out + 12, h->dst);
	put32(out + 16, h->len);
	put32(out + 20, h->flags);
	put64(out + 24, h->seq);
}

static void wire_unpack(const uint8_t *p, struct xport_wire_hdr *h)
{
	h->magic = get32(p + 0);
	h->version = get16(p + 4);
	h->type = get16(p + 6);
	h->src = get32(p + 8);
	h->dst = get32(p + 12);
	h->len = get32(p + 16);
	h->flags = get32(p + 20);
	h->seq = get64(p + 24);
}

static int fail(const char **why, const char *reason, int err)
{
	*why = reason;
	return err;
}

int xport_wire_decode(const void *buf, size_t n, uint32_t self, uint32_t nr_nodes,
		      struct xport_wire_hdr *h, const char **why)
{
	if (n < XPORT_WIRE_HDR_SIZE)
		return fail(why, "shorter than the 32-byte header", -EBADMSG);
	wire_unpack(buf, h);
	if (h->magic != XPORT_WIRE_MAGIC)
		return fail(why, "bad magic (not a rackvm transport message)", -EBADMSG);
	if (h->version != XPORT_WIRE_VERSION)
		return fail(why, "unsupported wire version (peer runs another rackvm)",
			    -EPROTO);
	if (h->src >= nr_nodes)
		return fail(why, "source node id out of range", -EBADMSG);
	if (h->src == self)
		return fail(why, "source node id is our own", -EBADMSG);
	if (h->dst != self)
		return fail(why, "addressed to another node", -EBADMSG);
	if (h->flags)
		return fail(why, "reserved flags set", -EBADMSG);
	if (h->len > XPORT_MSG_MAX)
		return fail(why, "payload length above XPORT_MSG_MAX", -EBADMSG);
	if (h->len != n - XPORT_WIRE_HDR_SIZE)
		return fail(why, "payload length differs from the bytes received",
			    -EBADMSG);
	*why = NULL;
	return 0;
}
