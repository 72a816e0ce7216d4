/* SPDX-License-Identifier: MIT */
/*
 * interconnect/wire.h - the header in front of every transport message.
 *
 * 32 bytes, little-endian, the same on every backend:
 *
 *   off size field
 *     0    4 magic    XPORT_WIRE_MAGIC ("RKVX" read as bytes 'R','K','V','X')
 *     4    2 version  XPORT_WIRE_VERSION; any other value is refused
 *     6    2 type     message type (>= XPORT_TYPE_RESERVED: the transport's own)
 *     8    4 src      sending node id
 *    12    4 dst      receiving node id (catches a misrouted message)
 *    16    4 len      payload bytes that follow, <= XPORT_MSG_MAX
 *    20    4 flags    must be 0 (room for later versions)
 *    24    8 seq      per (src, dst) counter from 0: loss and reordering show
 *
 * The payload follows immediately. Nothing of a received header is used
 * before xport_wire_decode has accepted it.
 */
#ifndef RACKVM_INTERCONNECT_WIRE_H
#define RACKVM_INTERCONNECT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define XPORT_WIRE_MAGIC    0x58564b52u /* 'R' 'K' 'V' 'X' in memory order */
#define XPORT_WIRE_VERSION  1
#define XPORT_WIRE_HDR_SIZE 32

/* Internal message types (see XPORT_TYPE_RESERVED in transport.h). */
enum xport_wire_type {
	XPORT_WIRE_REGIONS = 0xff00, /* region table, sent once by connect */
	XPORT_WIRE_PING = 0xff01,    /* health check: echo me */
	XPORT_WIRE_PONG = 0xff02,    /* health check: the echo */
};

/* The decoded header, host byte order. */
struct xport_wire_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t src;
	uint32_t dst;
	uint32_t len;
	uint32_t flags;
	uint64_t seq;
};
_Static_assert(sizeof(struct xport_wire_hdr) == XPORT_WIRE_HDR_SIZE,
	       "the wire header is 32 bytes");

/* Writes @h (magic and version filled in here) to @out. */
void xport_wire_encode(const struct xport_wire_hdr *h, uint8_t out[XPORT_WIRE_HDR_SIZE]);

/*
 * Decodes and validates @n received bytes at @buf for node @self of a
 * @nr_nodes mesh: magic, version, src (< nr_nodes, not self), dst (== self),
 * flags, and len against both XPORT_MSG_MAX and the bytes that arrived.
 * 0 with *@h filled, or -EBADMSG / -EPROTO with *@why naming the field.
 */
int xport_wire_decode(const void *buf, size_t n, uint32_t self, uint32_t nr_nodes,
		      struct xport_wire_hdr *h, const char **why)
    __attribute__((warn_unused_result));

#endif
