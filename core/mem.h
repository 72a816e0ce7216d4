/* SPDX-License-Identifier: MIT */
/*
 * core/mem.h - guest RAM (private to core/).
 *
 * RAM is one memfd. Guest-physical layout: [0, low_size) below the PCI/APIC
 * hole at 3 GiB, and [4 GiB, 4 GiB + size - low_size) above it. The DSM will
 * map the same memfd a second time (the alias view); everything the VMM
 * itself reads or writes in the guest goes through gmem_ptr(), the one checked
 * accessor.
 */
#ifndef RACKVM_CORE_MEM_H
#define RACKVM_CORE_MEM_H

#include <stdbool.h>
#include <stdint.h>

#define GMEM_HOLE_START 0xC0000000ULL
#define GMEM_HIGH_START 0x100000000ULL

struct guest_mem {
	int fd;
	uint8_t *host;	   /* the whole memfd, mapped shared */
	uint64_t size;	   /* bytes of RAM */
	uint64_t low_size; /* RAM below GMEM_HOLE_START */
	bool external;	   /* mapped by someone else (the DSM): not ours to unmap */
};

int gmem_init(struct guest_mem *gm, uint64_t size) __attribute__((warn_unused_result));
/* RAM that another layer mapped (the DSM's guest view of its memfd). */
void gmem_init_external(struct guest_mem *gm, void *host, int fd, uint64_t size);
/* Guest-physical address of byte @off of the memfd. */
uint64_t gmem_gpa_of(const struct guest_mem *gm, uint64_t off);
void gmem_destroy(struct guest_mem *gm);
/* Host pointer for [gpa, gpa + len) if it lies wholly in one RAM range,
 * else NULL. Overflow-safe; len 0 is allowed. */
void *gmem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

#endif
