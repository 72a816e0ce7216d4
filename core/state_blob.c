// SPDX-License-Identifier: MIT
/* The vCPU state blob format: building, checking, CRC (see state.h). */
#include <errno.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/state_priv.h"

#define WRITER_START 8192 /* one XSAVE area and the rest fit */

/* KVM's structs are payloads as they are: a header that changed them would
 * change the wire format (docs/vcpu-state.md lists these sizes). */
_Static_assert(sizeof(struct kvm_regs) == 144, "kvm_regs is part of the wire");
_Static_assert(sizeof(struct kvm_sregs) == 312, "kvm_sregs is part of the wire");
_Static_assert(sizeof(struct kvm_sregs2) == 320, "kvm_sregs2 is part of the wire");
_Static_assert(sizeof(struct kvm_fpu) == 416, "kvm_fpu is part of the wire");
_Static_assert(sizeof(struct kvm_xcrs) == 392, "kvm_xcrs is part of the wire");
_Static_assert(sizeof(struct kvm_debugregs) == 128, "kvm_debugregs is part of the wire");
_Static_assert(sizeof(struct kvm_vcpu_events) == 64,
	       "kvm_vcpu_events is part of the wire");
_Static_assert(sizeof(struct kvm_mp_state) == 4, "kvm_mp_state is part of the wire");
_Static_assert(sizeof(struct kvm_msr_entry) == 16, "kvm_msr_entry is part of the wire");

static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

uint32_t vcpu_state_crc32(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	/* Bitwise: blobs are a few KiB, rare, and a table would need init. */
	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320U & -(crc & 1));
	}
	return ~crc;
}

int state_writer_init(struct state_writer *w)
{
	w->buf = calloc(1, WRITER_START);
	if (!w->buf)
		return -ENOMEM;
	w->cap = WRITER_START;
	w->len = sizeof(struct vcpu_state_hdr);
	w->nr = 0;
	return 0;
}

static int writer_reserve(struct state_writer *w, size_t more)
{
	size_t cap = w->cap;
	uint8_t *buf;

	if (more > VCPU_STATE_MAX_LEN || w->len + more > VCPU_STATE_MAX_LEN)
		return -E2BIG;
	while (cap < w->len + more)
		cap *= 2;
	if (cap == w->cap)
		return 0;
	buf = realloc(w->buf, cap);
	if (!buf)
		return -ENOMEM;
	memset(buf + w->cap, 0, cap - w->cap); /* padding is zero */
	w->buf = buf;
	w->cap = cap;
	return 0;
}

int state_writer_add(struct state_writer *w, uint32_t type, uint32_t version,
		     const void *payload, size_t len)
{
	struct vcpu_state_sec sec = {
	    .type = type,
	    .version = version,
	    .len = (uint32_t)len,
	    .flags =
		VCPU_STATE_SEC_REQUIRED, /* a loader must know every current section */
	};
	int err;

	err = writer_reserve(w, sizeof(sec) + pad8(len));
	if (err)
		return err;
	memcpy(w->buf + w->len, &sec, sizeof(sec));
	memcpy(w->buf + w->len + sizeof(sec), payload, len);
	w->len += sizeof(sec) + pad8(len);
	w->nr++;
	return 0;
}

void state_writer_finish(struct state_writer *w, void **blob, size_t *len)
{
	struct vcpu_state_hdr h = {
	    .version = VCPU_STATE_VERSION,
	    .hdr_len = sizeof(h),
	    .total_len = w->len,
	    .nr_sections = w->nr,
	};

	memcpy(h.magic, VCPU_STATE_MAGIC, sizeof(h.magic));
	h.body_crc32 = vcpu_state_crc32(0, w->buf + sizeof(h), w->len - sizeof(h));
	memcpy(w->buf, &h, sizeof(h));
	*blob = w->buf;
	*len = w->len;
	w->buf = NULL;
}

void state_writer_discard(struct state_writer *w)
{
	free(w->buf);
	w->buf = NULL;
}

/* Payload version and size bounds of each known section. */
static const struct {
	uint32_t version, min, max;
} rules[VCPU_SEC_MAX_KNOWN + 1] = {
    [VCPU_SEC_REGS] = {1, sizeof(struct kvm_regs), sizeof(struct kvm_regs)},
    [VCPU_SEC_SREGS] = {1, sizeof(struct kvm_sregs), sizeof(struct kvm_sregs)},
    [VCPU_SEC_SREGS2] = {1, sizeof(struct kvm_sregs2), sizeof(struct kvm_sregs2)},
    [VCPU_SEC_FPU] = {1, sizeof(struct kvm_fpu), sizeof(struct kvm_fpu)},
    [VCPU_SEC_XSAVE] = {1, VCPU_STATE_XSAVE_MIN, VCPU_STATE_MAX_LEN},
    [VCPU_SEC_XCRS] = {1, sizeof(struct kvm_xcrs), sizeof(struct kvm_xcrs)},
    [VCPU_SEC_MSRS] = {1, sizeof(struct kvm_msrs),
		       sizeof(struct kvm_msrs) +
			   VCPU_STATE_MAX_MSRS * sizeof(struct kvm_msr_entry)},
    [VCPU_SEC_DEBUGREGS] = {1, sizeof(struct kvm_debugregs),
			    sizeof(struct kvm_debugregs)},
    [VCPU_SEC_EVENTS] = {1, sizeof(struct kvm_vcpu_events),
			 sizeof(struct kvm_vcpu_events)},
    [VCPU_SEC_MP_STATE] = {1, sizeof(struct kvm_mp_state), sizeof(struct kvm_mp_state)},
    [VCPU_SEC_TSC] = {1, sizeof(struct vcpu_state_tsc), sizeof(struct vcpu_state_tsc)},
    [VCPU_SEC_LAPIC] = {LAPIC_STATE_VERSION, sizeof(struct lapic_state),
			sizeof(struct lapic_state)},
    [VCPU_SEC_RACKVM] = {VCPU_EXTRA_VERSION, sizeof(struct vcpu_extra),
			 sizeof(struct vcpu_extra)},
};

/* Checks a section's payload beyond its size. */
static bool payload_ok(uint32_t type, const uint8_t *p, uint32_t len)
{
	struct kvm_msrs m;
	struct vcpu_extra x;

	switch (type) {
	case VCPU_SEC_MSRS:
		memcpy(&m, p, sizeof(m));
		return m.pad == 0 && m.nmsrs <= VCPU_STATE_MAX_MSRS &&
		       len == sizeof(m) + m.nmsrs * sizeof(struct kvm_msr_entry);
	case VCPU_SEC_XSAVE:
		return len % sizeof(uint32_t) == 0;
	case VCPU_SEC_RACKVM:
		memcpy(&x, p, sizeof(x));
		return x.halted <= 1 && !x.pad[0] && !x.pad[1] && !x.pad[2];
	default:
		return true;
	}
}

static bool zeros(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

static int check_header(const uint8_t *b, size_t len, struct vcpu_state_hdr *h)
{
	if (len < sizeof(*h))
		return -EBADMSG;
	memcpy(h, b, sizeof(*h));
	if (memcmp(h->magic, VCPU_STATE_MAGIC, sizeof(h->magic)) != 0)
		return -EBADMSG;
	if (h->version != VCPU_STATE_VERSION)
		return -EPROTONOSUPPORT;
	if (h->hdr_len != sizeof(*h) || h->total_len != len || len > VCPU_STATE_MAX_LEN)
		return -EBADMSG;
	if (vcpu_state_crc32(0, b + sizeof(*h), len - sizeof(*h)) != h->body_crc32)
		return -EBADMSG;
	return 0;
}

/* One section at @off: bounds, padding, and the rules of its type. */
static int parse_section(const uint8_t *b, size_t len, size_t *off, struct state_view *v)
{
	struct vcpu_state_sec s;
	const uint8_t *payload;

	if (len - *off < sizeof(s))
		return -EBADMSG;
	memcpy(&s, b + *off, sizeof(s));
	if (s.len > len - *off - sizeof(s) || pad8(s.len) > len - *off - sizeof(s))
		return -EBADMSG;
	payload = b + *off + sizeof(s);
	if (!zeros(payload + s.len, pad8(s.len) - s.len))
		return -EBADMSG;
	*off += sizeof(s) + pad8(s.len);
	if (s.type == 0 || s.type > VCPU_SEC_MAX_KNOWN)
		return s.flags & VCPU_STATE_SEC_REQUIRED ? -EPROTONOSUPPORT : 0;
	if (s.version != rules[s.type].version)
		return -EPROTONOSUPPORT;
	if (s.len < rules[s.type].min || s.len > rules[s.type].max ||
	    !payload_ok(s.type, payload, s.len) || v->sec[s.type].data)
		return -EBADMSG;
	v->sec[s.type].data = payload;
	v->sec[s.type].len = s.len;
	return 0;
}

int state_parse(const void *blob, size_t len, struct state_view *v)
{
	const uint8_t *b = blob;
	struct vcpu_state_hdr h;
	size_t off;
	int err;

	memset(v, 0, sizeof(*v));
	err = check_header(b, len, &h);
	if (err)
		return err;
	off = sizeof(h);
	for (uint32_t i = 0; i < h.nr_sections; i++) {
		err = parse_section(b, len, &off, v);
		if (err)
			return err;
	}
	if (off != len) /* bytes after the last section */
		return -EBADMSG;
	/* Without registers and exactly one flavour of sregs there is no CPU. */
	if (!v->sec[VCPU_SEC_REGS].data ||
	    !v->sec[VCPU_SEC_SREGS].data == !v->sec[VCPU_SEC_SREGS2].data)
		return -EBADMSG;
	return 0;
}

int vcpu_state_check(const void *blob, size_t len)
{
	struct state_view v;

	return state_parse(blob, len, &v);
}
