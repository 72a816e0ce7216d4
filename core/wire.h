/* SPDX-License-Identifier: MIT */
/*
 * core/wire.h - what one node's VMM tells another's: interrupt messages,
 * logical-destination mirrors, level EOIs, forwarded device I/O, stop, and
 * vCPU migration (state blob in chunks, then the new owner's announcement:
 * docs/migration.md).
 * Carried as typed transport messages (types VMW_*); every message starts
 * with a version byte that the receiver checks. Fixed width, little endian
 * (x86 only: host order), sizes asserted.
 */
#ifndef RACKVM_CORE_WIRE_H
#define RACKVM_CORE_WIRE_H

#include <stdint.h>

#define VMW_VERSION    3
#define VMW_MSG_MAX    8192 /* the transport's XPORT_MSG_MAX (asserted in coordinator/) */
#define VMW_TYPE_FIRST 0x0200
#define VMW_TYPE_LAST 0x02ff

enum vmw_type {
	VMW_IRQ = 0x0200,     /* an interrupt message for vCPUs on the receiver */
	VMW_LOGICAL = 0x0201, /* a vCPU's LDR/DFR changed */
	VMW_EOI = 0x0202, /* a level-triggered vector was EOI'd (to the IOAPIC's node) */
	VMW_IO_REQ = 0x0203,	    /* PIO/MMIO for a device on the receiver */
	VMW_IO_RESP = 0x0204,	    /* its answer */
	VMW_STOP = 0x0205,	    /* the VM stopped (power-off or failure) */
	VMW_MIGRATE_CHUNK = 0x0206, /* a piece of a vCPU's state blob, to its new owner */
	VMW_OWNER = 0x0207,	    /* a vCPU now runs on the sender */
};

struct vmw_irq {
	uint8_t version;
	uint8_t vector, delivery, dest_mode, shorthand, level, trigger, dest;
	uint8_t src_id;
	uint8_t hops; /* times a node passed it on to a vCPU's newer owner */
	uint8_t pad[6];
	uint8_t targets[32]; /* bitmap of the receiver's vCPUs to accept it */
};
_Static_assert(sizeof(struct vmw_irq) == 48, "wire");

struct vmw_logical {
	uint8_t version;
	uint8_t pad[3];
	uint32_t vcpu;
	uint32_t ldr, dfr;
};
_Static_assert(sizeof(struct vmw_logical) == 16, "wire");

struct vmw_eoi {
	uint8_t version;
	uint8_t vector;
	uint8_t pad[6];
};
_Static_assert(sizeof(struct vmw_eoi) == 8, "wire");

enum { VMW_IO_PIO = 1, VMW_IO_MMIO = 2 };

struct vmw_io {
	uint8_t version;
	uint8_t kind;  /* VMW_IO_PIO or VMW_IO_MMIO */
	uint8_t write; /* 0 or 1 */
	uint8_t size;  /* 1, 2, 4 or 8 */
	uint32_t vcpu; /* the requester, which waits for the answer */
	uint64_t addr;
	uint64_t data; /* write: the value; answer to a read: the value */
	uint64_t seq;  /* echoed in the answer */
};
_Static_assert(sizeof(struct vmw_io) == 32, "wire");

struct vmw_stop {
	uint8_t version;
	uint8_t powered_off; /* 1: the guest powered off; 0: a failure */
	uint8_t pad[2];
	int32_t guest_status;
	uint32_t passed, failed; /* RACKVM-RESULT tallies (the console's node) */
	char why[240];		 /* NUL-terminated */
};
_Static_assert(sizeof(struct vmw_stop) == 256, "wire");

/* Followed by @len bytes of the blob: [offset, offset + len) of @total. The
 * chunks of one move are sent in order, back to back, by the old owner. */
struct vmw_migrate_chunk {
	uint8_t version;
	uint8_t pad[3];
	uint32_t vcpu;
	uint32_t epoch;	  /* the vCPU's migration count once this move is done */
	uint32_t offset;  /* of this piece in the blob */
	uint32_t total;	  /* bytes of the whole blob (<= VCPU_STATE_MAX_LEN) */
	uint32_t len;	  /* bytes after this header */
	uint64_t park_ns; /* CLOCK_MONOTONIC when the old owner parked the vCPU */
	uint64_t saved_ns; /* ... and when its state blob was saved */
};
_Static_assert(sizeof(struct vmw_migrate_chunk) == 40, "wire");
#define VMW_CHUNK_DATA_MAX (VMW_MSG_MAX - sizeof(struct vmw_migrate_chunk))

/* The sender loaded @vcpu and runs it from now on (its @epoch-th move). The
 * logical destination travels with it: an older VMW_LOGICAL from the
 * previous owner may arrive after this and is then ignored. */
struct vmw_owner {
	uint8_t version;
	uint8_t pad[3];
	uint32_t vcpu;
	uint32_t epoch;
	uint32_t node; /* the sender */
	uint32_t ldr, dfr;
};
_Static_assert(sizeof(struct vmw_owner) == 24, "wire");

#endif
