/* SPDX-License-Identifier: MIT */
/*
 * core/wire.h - what one node's VMM tells another's: interrupt messages,
 * logical-destination mirrors, level EOIs, forwarded device I/O and stop.
 * Carried as typed transport messages (types VMW_*); every message starts
 * with a version byte that the receiver checks. Fixed width, little endian
 * (x86 only: host order), sizes asserted.
 */
#ifndef RACKVM_CORE_WIRE_H
#define RACKVM_CORE_WIRE_H

#include <stdint.h>

#define VMW_VERSION 1
#define VMW_TYPE_FIRST 0x0200
#define VMW_TYPE_LAST 0x02ff

enum vmw_type {
	VMW_IRQ = 0x0200,     /* an interrupt message for vCPUs on the receiver */
	VMW_LOGICAL = 0x0201, /* a vCPU's LDR/DFR changed */
	VMW_EOI = 0x0202,     /* a level-triggered vector was EOI'd (to the IOAPIC's node) */
	VMW_IO_REQ = 0x0203,  /* PIO/MMIO for a device on the receiver */
	VMW_IO_RESP = 0x0204, /* its answer */
	VMW_STOP = 0x0205,    /* the VM stopped (power-off or failure) */
};

struct vmw_irq {
	uint8_t version;
	uint8_t vector, delivery, dest_mode, shorthand, level, trigger, dest;
	uint8_t src_id;
	uint8_t pad[7];
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

#endif
