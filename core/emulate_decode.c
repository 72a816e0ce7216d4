// SPDX-License-Identifier: MIT
/* Decoder for the few instructions emu_complete() finishes (see emulate.h). */
#include <errno.h>
#include <string.h>

#include "core/emulate.h"

#define REX_W 0x8
#define REX_R 0x4
#define REX_X 0x2
#define REX_B 0x1

struct cursor {
	const uint8_t *b;
	size_t n, pos;
	enum emu_mode mode;
	uint8_t rex;
	uint8_t rep;	      /* last f2/f3 prefix, 0 if none */
	bool opsize_prefix;   /* 66 */
	bool addrsize_prefix; /* 67 */
	int seg_override;     /* enum emu_seg, -1 if none */
};

/* The next byte, or -1 at the end of the bytes or past the 15-byte limit. */
static int next(struct cursor *c)
{
	if (c->pos >= c->n || c->pos >= EMU_MAX_INSN)
		return -1;
	return c->b[c->pos++];
}

/* -ENODATA when the bytes ran out, -ENOSYS when the instruction is too long. */
static int ran_out(const struct cursor *c)
{
	return c->pos >= EMU_MAX_INSN ? -ENOSYS : -ENODATA;
}

static int seg_prefix(uint8_t byte)
{
	switch (byte) {
	case 0x26:
		return EMU_SEG_ES;
	case 0x2e:
		return EMU_SEG_CS;
	case 0x36:
		return EMU_SEG_SS;
	case 0x3e:
		return EMU_SEG_DS;
	case 0x64:
		return EMU_SEG_FS;
	case 0x65:
		return EMU_SEG_GS;
	default:
		return -1;
	}
}

/* Legacy prefixes and REX; returns the opcode byte or a -errno. */
static int prefixes(struct cursor *c)
{
	int byte;

	while ((byte = next(c)) >= 0) {
		if (c->mode == EMU_MODE_64 && (byte & 0xf0) == 0x40) {
			c->rex = (uint8_t)byte; /* counts only right before the opcode */
			continue;
		}
		if (byte == 0x66)
			c->opsize_prefix = true;
		else if (byte == 0x67)
			c->addrsize_prefix = true;
		else if (byte == 0xf2 || byte == 0xf3)
			c->rep = (uint8_t)byte;
		else if (seg_prefix((uint8_t)byte) >= 0)
			c->seg_override = seg_prefix((uint8_t)byte);
		else if (byte != 0xf0) /* lock */
			return byte;
		c->rex = 0;
	}
	return ran_out(c);
}

static int disp(struct cursor *c, unsigned int bytes, int64_t *out)
{
	uint8_t raw[4] = {0};

	for (unsigned int i = 0; i < bytes; i++) {
		int byte = next(c);

		if (byte < 0)
			return ran_out(c);
		raw[i] = (uint8_t)byte;
	}
	if (bytes == 1)
		*out = (int8_t)raw[0];
	else if (bytes == 2)
		*out = (int16_t)(raw[0] | raw[1] << 8);
	else
		*out = (int32_t)((uint32_t)raw[0] | (uint32_t)raw[1] << 8 |
				 (uint32_t)raw[2] << 16 | (uint32_t)raw[3] << 24);
	return 0;
}

/* 16-bit addressing: fixed base/index pairs, BP-based ones default to SS. */
static int modrm16(struct cursor *c, unsigned int mod, unsigned int rm,
		   struct emu_insn *in)
{
	static const uint8_t base[8] = {3, 3, 5, 5,
					6, 7, 5, 3}; /* bx bx bp bp si di bp bx */
	static const uint8_t index[8] = {
	    6, 7, 6, 7, EMU_REG_NONE, EMU_REG_NONE, EMU_REG_NONE, EMU_REG_NONE};

	in->scale = 1;
	in->index = index[rm];
	in->base = base[rm];
	if (mod == 0 && rm == 6) {
		in->base = EMU_REG_NONE;
		return disp(c, 2, &in->disp);
	}
	in->seg = in->base == 5 ? EMU_SEG_SS : EMU_SEG_DS;
	return mod == 0 ? 0 : disp(c, mod == 1 ? 1 : 2, &in->disp);
}

static int sib(struct cursor *c, unsigned int mod, struct emu_insn *in)
{
	int byte = next(c);
	unsigned int idx;

	if (byte < 0)
		return ran_out(c);
	in->scale = (uint8_t)(1U << (byte >> 6));
	idx = ((byte >> 3) & 7) | (c->rex & REX_X ? 8 : 0);
	in->index = idx == 4 ? EMU_REG_NONE : (uint8_t)idx; /* rsp cannot be an index */
	if ((byte & 7) == 5 && mod == 0) {
		in->base = EMU_REG_NONE;
		return disp(c, 4, &in->disp);
	}
	in->base = (uint8_t)((byte & 7) | (c->rex & REX_B ? 8 : 0));
	return 0;
}

static int modrm32(struct cursor *c, unsigned int mod, unsigned int rm,
		   struct emu_insn *in)
{
	int err = 0;

	in->scale = 1;
	in->index = EMU_REG_NONE;
	if (rm == 4) {
		err = sib(c, mod, in);
	} else if (rm == 5 && mod == 0) {
		/* disp32 alone: RIP-relative in 64-bit mode, absolute otherwise. */
		in->base = c->mode == EMU_MODE_64 ? EMU_REG_RIP : EMU_REG_NONE;
		return disp(c, 4, &in->disp);
	} else {
		in->base = (uint8_t)(rm | (c->rex & REX_B ? 8 : 0));
	}
	if (err)
		return err;
	in->seg = in->base == 4 || in->base == 5 ? EMU_SEG_SS : EMU_SEG_DS;
	return mod == 0 ? 0 : disp(c, mod == 1 ? 1 : 4, &in->disp);
}

static int modrm(struct cursor *c, struct emu_insn *in)
{
	int byte = next(c), err;
	unsigned int mod, rm;

	if (byte < 0)
		return ran_out(c);
	mod = (unsigned int)byte >> 6;
	rm = byte & 7;
	in->reg = (uint8_t)(((byte >> 3) & 7) | (c->rex & REX_R ? 8 : 0));
	in->base = in->index = EMU_REG_NONE;
	if (mod == 3) {
		in->rm = (uint8_t)(rm | (c->rex & REX_B ? 8 : 0));
		return 0;
	}
	in->mem = true;
	in->seg = EMU_SEG_DS;
	err = in->addrsize == 2 ? modrm16(c, mod, rm, in) : modrm32(c, mod, rm, in);
	if (!err && c->seg_override >= 0)
		in->seg = (uint8_t)c->seg_override;
	return err;
}

static void sizes(const struct cursor *c, struct emu_insn *in)
{
	if (c->rex & REX_W)
		in->opsize = 8;
	else if (c->mode == EMU_MODE_16)
		in->opsize = c->opsize_prefix ? 4 : 2;
	else
		in->opsize = c->opsize_prefix ? 2 : 4;
	if (c->mode == EMU_MODE_64)
		in->addrsize = c->addrsize_prefix ? 4 : 8;
	else if (c->mode == EMU_MODE_32)
		in->addrsize = c->addrsize_prefix ? 2 : 4;
	else
		in->addrsize = c->addrsize_prefix ? 4 : 2;
}

/* After 0f: popcnt (f3 0f b8), clac/stac (0f 01 ca/cb). */
static int two_byte(struct cursor *c, struct emu_insn *in)
{
	int op = next(c), sub;

	if (op < 0)
		return ran_out(c);
	if (op == 0xb8 && c->rep == 0xf3) {
		in->op = EMU_OP_POPCNT;
		return modrm(c, in);
	}
	if (op != 0x01)
		return -ENOSYS;
	sub = next(c);
	if (sub < 0)
		return ran_out(c);
	if (sub != 0xca && sub != 0xcb)
		return -ENOSYS;
	in->op = sub == 0xca ? EMU_OP_CLAC : EMU_OP_STAC;
	return 0;
}

/* 9b alone is fwait; 9b db e2 is fclex, done as one. */
static int x87(struct cursor *c, int op, struct emu_insn *in)
{
	size_t at = c->pos;

	if (op == 0x9b) {
		if (next(c) == 0xdb && next(c) == 0xe2) {
			in->op = EMU_OP_FNCLEX;
			return 0;
		}
		c->pos = at;
		in->op = EMU_OP_FWAIT;
		return 0;
	}
	op = next(c);
	if (op < 0)
		return ran_out(c);
	if (op != 0xe2)
		return -ENOSYS;
	in->op = EMU_OP_FNCLEX;
	return 0;
}

int emu_decode_mode(const uint8_t *b, size_t n, enum emu_mode mode, struct emu_insn *out)
{
	struct cursor c = {.b = b, .n = n, .mode = mode, .seg_override = -1};
	int op, err;

	memset(out, 0, sizeof(*out));
	if (mode != EMU_MODE_16 && mode != EMU_MODE_32 && mode != EMU_MODE_64)
		return -EINVAL;
	op = prefixes(&c);
	if (op < 0)
		return op;
	sizes(&c, out);
	if (op == 0xcc) {
		out->op = EMU_OP_INT3;
		err = 0;
	} else if (op == 0x0f) {
		err = two_byte(&c, out);
	} else if (op == 0x9b || op == 0xdb) {
		err = x87(&c, op, out);
	} else {
		err = -ENOSYS;
	}
	if (err)
		return err;
	out->len = (uint8_t)c.pos;
	return 0;
}

int emu_decode(const uint8_t *b, size_t n, struct emu_insn *out)
{
	return emu_decode_mode(b, n, EMU_MODE_64, out);
}
