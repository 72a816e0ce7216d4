// SPDX-License-Identifier: MIT
/* DSM wire messages: encoding and the checks every received one passes. */
#include <endian.h>
#include <stdbool.h>
#include <string.h>

#include "dsm/wire.h"

static const char *const names[DSM_MSG_END] = {
    [DSM_READ_REQ] = "READ_REQ",
    [DSM_WRITE_REQ] = "WRITE_REQ",
    [DSM_UPGRADE_REQ] = "UPGRADE_REQ",
    [DSM_INV] = "INV",
    [DSM_INV_ACK] = "INV_ACK",
    [DSM_DOWNGRADE] = "DOWNGRADE",
    [DSM_DOWNGRADE_ACK] = "DOWNGRADE_ACK",
    [DSM_GRANT] = "GRANT",
    [DSM_DONE] = "DONE",
};

const char *dsm_msg_name(unsigned int type)
{
	return type > 0 && type < DSM_MSG_END ? names[type] : "?";
}

void dsm_msg_encode(struct dsm_msg *wire, uint8_t type, uint64_t page, uint8_t mode,
		    uint32_t src)
{
	memset(wire, 0, sizeof(*wire));
	wire->version = DSM_WIRE_VERSION;
	wire->type = type;
	wire->mode = mode;
	wire->src = htole32(src);
	wire->page = htole64(page);
}

static bool to_home(uint8_t type)
{
	return type == DSM_READ_REQ || type == DSM_WRITE_REQ || type == DSM_UPGRADE_REQ ||
	       type == DSM_INV_ACK || type == DSM_DOWNGRADE_ACK || type == DSM_DONE;
}

/* The fields a type does not use must be zero: garbage there means a peer
 * that speaks another protocol. */
static const char *check_args(const struct dsm_msg *m, const struct dsm_wire_ctx *ctx)
{
	if (m->type != DSM_GRANT)
		return m->mode || m->src ? "non-zero mode/src outside GRANT" : NULL;
	if (m->mode != DSM_S && m->mode != DSM_M)
		return "GRANT mode is neither S nor M";
	if (m->src == DSM_SRC_ZERO)
		return NULL;
	if (m->src == DSM_SRC_KEEP)
		return m->mode == DSM_M ? NULL : "GRANT keep with mode S";
	if (m->src >= ctx->nr_nodes)
		return "GRANT data source node out of range";
	if (m->src == ctx->me)
		return "GRANT data source is the requester itself";
	return NULL;
}

const char *dsm_msg_check(const void *buf, size_t len, uint32_t from,
			  const struct dsm_wire_ctx *ctx, struct dsm_msg *out)
{
	struct dsm_msg m;

	if (len != sizeof(m))
		return "wrong length";
	memcpy(&m, buf, sizeof(m));
	m.src = le32toh(m.src);
	m.page = le64toh(m.page);
	if (m.version != DSM_WIRE_VERSION)
		return "wrong version";
	if (m.type == 0 || m.type >= DSM_MSG_END)
		return "unknown type";
	if (m.rsvd)
		return "reserved byte set";
	if (from >= ctx->nr_nodes)
		return "sender node out of range";
	if (m.page >= ctx->nr_pages)
		return "page out of range";
	if (to_home(m.type) && ctx->home[m.page] != ctx->me)
		return "request/ack for a page we are not home of";
	if (!to_home(m.type) && ctx->home[m.page] != from)
		return "GRANT/INV/DOWNGRADE not from the page's home";
	const char *why = check_args(&m, ctx);
	if (why)
		return why;
	*out = m;
	return NULL;
}
