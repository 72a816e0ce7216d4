/* SPDX-License-Identifier: MIT */
/*
 * core/state.h - a vCPU's whole state as one self-describing blob (private
 * to core/). INIT/SIPI start-up and migration carry it; docs/vcpu-state.md
 * describes the format.
 *
 * Layout: a 32-byte header (magic "RKVMVCPU", format version, header size,
 * total length, section count, CRC32 of everything after the header), then
 * sections, each a 16-byte header (type, version, payload length, flags) and
 * its payload, padded with zeros to 8 bytes. Every field is in the host's
 * byte order: rackvm runs on x86-64 only, and the payloads are KVM's own
 * structs, which are little-endian x86 layouts.
 *
 * Loading checks the whole blob (header, CRC, every section's type, version
 * and length) before it changes anything: a rejected blob leaves the vCPU,
 * the LAPIC model and @x as they were. Unknown sections are skipped unless
 * flagged required.
 */
#ifndef RACKVM_CORE_STATE_H
#define RACKVM_CORE_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/apic.h"

#define VCPU_STATE_MAGIC   "RKVMVCPU"
#define VCPU_STATE_VERSION 1
#define VCPU_STATE_MAX_LEN (1U << 20) /* sanity bound for a blob from a peer */

struct vcpu_state_hdr {
	char magic[8];	    /* VCPU_STATE_MAGIC, no NUL */
	uint32_t version;   /* VCPU_STATE_VERSION */
	uint32_t hdr_len;   /* sizeof(struct vcpu_state_hdr) */
	uint64_t total_len; /* header + all sections */
	uint32_t nr_sections;
	uint32_t body_crc32; /* CRC-32 (IEEE 802.3) of bytes [hdr_len, total_len) */
};
_Static_assert(sizeof(struct vcpu_state_hdr) == 32, "vcpu_state_hdr is part of the wire");

struct vcpu_state_sec {
	uint32_t type;	  /* enum vcpu_state_type */
	uint32_t version; /* of the payload layout */
	uint32_t len;	  /* payload bytes, excluding padding */
	uint32_t flags;	  /* VCPU_STATE_SEC_* */
};
_Static_assert(sizeof(struct vcpu_state_sec) == 16, "vcpu_state_sec is part of the wire");

/* A loader that does not know this section's type must refuse the blob. */
#define VCPU_STATE_SEC_REQUIRED (1U << 0)

enum vcpu_state_type {
	VCPU_SEC_REGS = 1,   /* struct kvm_regs */
	VCPU_SEC_SREGS = 2,  /* struct kvm_sregs */
	VCPU_SEC_SREGS2 = 3, /* struct kvm_sregs2 (KVM_CAP_SREGS2 hosts) */
	VCPU_SEC_FPU = 4,    /* struct kvm_fpu */
	VCPU_SEC_XSAVE = 5,  /* struct kvm_xsave, >= 4096 bytes (KVM_CAP_XSAVE2 size) */
	VCPU_SEC_XCRS = 6,   /* struct kvm_xcrs */
	VCPU_SEC_MSRS = 7,   /* u32 count, u32 pad, struct kvm_msr_entry[count] */
	VCPU_SEC_DEBUGREGS = 8, /* struct kvm_debugregs */
	VCPU_SEC_EVENTS = 9,	/* struct kvm_vcpu_events */
	VCPU_SEC_MP_STATE = 10, /* struct kvm_mp_state */
	VCPU_SEC_TSC = 11,	/* struct vcpu_state_tsc */
	VCPU_SEC_LAPIC = 12,	/* struct lapic_state (LAPIC_STATE_VERSION) */
	VCPU_SEC_RACKVM = 13,	/* struct vcpu_extra */
	VCPU_SEC_MAX_KNOWN = 13,
};

struct vcpu_state_tsc {
	uint64_t tsc; /* IA32_TSC at save */
	uint32_t tsc_khz;
	uint32_t pad;
};
_Static_assert(sizeof(struct vcpu_state_tsc) == 16, "vcpu_state_tsc is part of the wire");

/* rackvm's own run state of a vCPU, beside what KVM holds. */
#define VCPU_EXTRA_VERSION 1
struct vcpu_extra {
	uint32_t apic_id;
	uint8_t halted; /* parked in HLT until an interrupt: 0 or 1 */
	uint8_t pad[3]; /* zero */
};
_Static_assert(sizeof(struct vcpu_extra) == 8, "vcpu_extra is part of the wire");

/*
 * Capture the vCPU's state (the vCPU must not be running) into a malloc'd
 * blob. @l may be NULL (no LAPIC section). 0 or -errno.
 */
int vcpu_state_save(int kvm_fd, int vcpu_fd, struct lapic *l, const struct vcpu_extra *x,
		    void **blob, size_t *len) __attribute__((warn_unused_result));

/*
 * Validate @blob, then apply it to the vCPU (not running), @l and @x (either
 * may be NULL: their sections are then ignored). -EBADMSG for a corrupt or
 * truncated blob, -EPROTONOSUPPORT for a version or required section this
 * build does not know, -EOPNOTSUPP for state this host's KVM cannot take;
 * nothing is changed then. An ioctl failing while the state is applied
 * gives its -errno after the previous state is put back.
 */
int vcpu_state_load(int kvm_fd, int vcpu_fd, struct lapic *l, struct vcpu_extra *x,
		    const void *blob, size_t len) __attribute__((warn_unused_result));
/*
 * The same for a vCPU whose state before does not matter (the mirror that
 * takes a moving vCPU): no copy of it is kept, which saves a whole
 * vcpu_state_save, and an ioctl failing half-way leaves it part-set.
 */
int vcpu_state_load_noundo(int kvm_fd, int vcpu_fd, struct lapic *l, struct vcpu_extra *x,
			   const void *blob, size_t len)
    __attribute__((warn_unused_result));

/* Check @blob without applying it (what vcpu_state_load does first). */
int vcpu_state_check(const void *blob, size_t len) __attribute__((warn_unused_result));

/* CRC-32 (IEEE 802.3, as zlib's crc32) of @len bytes, continuing from @crc. */
uint32_t vcpu_state_crc32(uint32_t crc, const void *buf, size_t len);

#endif
