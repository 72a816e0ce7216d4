/* SPDX-License-Identifier: MIT */
/*
 * dsm/wire.h - the DSM's messages on the wire (version 1).
 *
 * Every DSM message is one transport message of type DSM_XPORT_TYPE whose
 * payload is exactly one struct dsm_msg, little-endian. Names and meanings
 * are those of tests/model/dsm.pml; docs/dsm.md has the table.
 */
#ifndef RACKVM_DSM_WIRE_H
#define RACKVM_DSM_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define DSM_WIRE_VERSION 1

enum dsm_msg_type {
	DSM_READ_REQ = 1,  /* node -> home: read fault on I */
	DSM_WRITE_REQ,	   /* node -> home: write fault on I */
	DSM_UPGRADE_REQ,   /* node -> home: write fault on S */
	DSM_INV,	   /* home -> sharer/owner: drop to I, keep the alias */
	DSM_INV_ACK,	   /* -> home: dropped */
	DSM_DOWNGRADE,	   /* home -> owner: M -> S */
	DSM_DOWNGRADE_ACK, /* -> home: write-protected */
	DSM_GRANT,	   /* home -> requester: mode, data source */
	DSM_DONE,	   /* requester -> home: mapped, transaction over */
	DSM_MSG_END,
};

/* Page state on a node; also the mode of a GRANT. */
enum dsm_state {
	DSM_I = 0,
	DSM_S = 1,
	DSM_M = 2,
};

/* GRANT src values that are not node ids. */
#define DSM_SRC_ZERO 0xfffffffeu /* page never written: fill with zeros */
#define DSM_SRC_KEEP 0xfffffffdu /* upgrade: your copy is current */

struct dsm_msg {
	uint8_t version; /* DSM_WIRE_VERSION */
	uint8_t type;	 /* enum dsm_msg_type */
	uint8_t mode;	 /* GRANT: DSM_S or DSM_M; else 0 */
	uint8_t rsvd;	 /* 0 */
	uint32_t src;	 /* GRANT: data source node or DSM_SRC_*; else 0 */
	uint64_t page;	 /* page index in the region */
};
_Static_assert(sizeof(struct dsm_msg) == 16, "dsm_msg is 16 bytes on the wire");

/* What a received message is checked against. */
struct dsm_wire_ctx {
	uint32_t me, nr_nodes;
	uint64_t nr_pages;
	const uint16_t *home; /* home node of each page */
};

/* Fill @wire (little-endian) for sending. */
void dsm_msg_encode(struct dsm_msg *wire, uint8_t type, uint64_t page, uint8_t mode,
		    uint32_t src);
/* Decode and validate @len bytes from node @from: NULL and *out filled when
 * the message is well formed and addressed to the right role (requests,
 * acks and DONE to the page's home; GRANT, INV, DOWNGRADE from it), else
 * the reason it must be dropped. State checks are the handlers'. */
const char *dsm_msg_check(const void *buf, size_t len, uint32_t from,
			  const struct dsm_wire_ctx *ctx, struct dsm_msg *out);
const char *dsm_msg_name(unsigned int type);

#endif
