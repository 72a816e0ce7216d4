/* SPDX-License-Identifier: MIT */
/*
 * core/state_priv.h - between state.c (KVM side) and state_blob.c (the
 * format: writer, checker, CRC). Not for the rest of core/.
 */
#ifndef RACKVM_CORE_STATE_PRIV_H
#define RACKVM_CORE_STATE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/state.h"

#define STATE_MSR_IA32_TSC   0x10
#define VCPU_STATE_MAX_MSRS  1024
#define VCPU_STATE_XSAVE_MIN 4096 /* struct kvm_xsave without extensions */

bool state_has_cap(int kvm_fd, long cap);
/* Bytes of the XSAVE area KVM_GET_XSAVE2 fills, 0 without XSAVE support. */
size_t state_xsave_size(int kvm_fd);

/* A blob being built: sections are appended after room for the header. */
struct state_writer {
	uint8_t *buf;
	size_t len, cap;
	uint32_t nr;
};

int state_writer_init(struct state_writer *w) __attribute__((warn_unused_result));
int state_writer_add(struct state_writer *w, uint32_t type, uint32_t version,
		     const void *payload, size_t len) __attribute__((warn_unused_result));
/* Fill in the header and hand the buffer over to the caller. */
void state_writer_finish(struct state_writer *w, void **blob, size_t *len);
void state_writer_discard(struct state_writer *w);

/* The known sections of a checked blob; data NULL where a section is absent. */
struct state_view {
	struct {
		const uint8_t *data;
		uint32_t len;
	} sec[VCPU_SEC_MAX_KNOWN + 1];
};

/* Check everything about @blob and index its known sections. */
int state_parse(const void *blob, size_t len, struct state_view *v)
    __attribute__((warn_unused_result));

/* Room for any fixed-size KVM state struct a section carries (aligned). */
union state_fixed {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_sregs2 sregs2;
	struct kvm_fpu fpu;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dregs;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
};

#endif
