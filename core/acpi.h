/* SPDX-License-Identifier: MIT */
/*
 * core/acpi.h - the ACPI tables rackvm gives a Linux guest (private to core/).
 *
 * acpi_build() writes RSDP, XSDT, FADT (rev 6), FACS, DSDT, MADT and, in NUMA
 * mode, SRAT and SLIT into one buffer that the VMM places in guest memory
 * (normally in the 0xE0000-0xFFFFF BIOS area, so Linux also finds the RSDP by
 * scanning). Layout and AML: docs/guest-linux.md.
 *
 * The fixed-hardware registers the tables point at are I/O ports the VMM
 * must emulate:
 *   ACPI_PM1A_EVT_PORT  4 bytes: PM1_STS (word, write 1 to clear), PM1_EN (word)
 *   ACPI_PM1A_CNT_PORT  2 bytes: PM1_CNT; SCI_EN reads as 1 (no SMI_CMD, so the
 *                       guest is in ACPI mode from the start); a write with
 *                       SLP_EN and SLP_TYP == ACPI_S5_SLP_TYP powers off
 *   ACPI_PM_TMR_PORT    4 bytes: 24-bit counter at ACPI_PM_TMR_HZ
 *   ACPI_RESET_PORT     write ACPI_RESET_VALUE (byte): reset
 * The SCI is ISA IRQ 9, level-triggered active-high, IOAPIC pin 9.
 */
#ifndef RACKVM_CORE_ACPI_H
#define RACKVM_CORE_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPI_PM1A_EVT_PORT 0x600
#define ACPI_PM1A_CNT_PORT 0x604
#define ACPI_PM_TMR_PORT   0x608
#define ACPI_RESET_PORT	   0xcf9
#define ACPI_RESET_VALUE   0x06
#define ACPI_PM_TMR_HZ	   3579545
#define ACPI_SCI_IRQ	   9

#define ACPI_PM1_EVT_LEN	   4
#define ACPI_PM1_CNT_LEN	   2
#define ACPI_PM_TMR_LEN		   4
#define ACPI_PM1_CNT_SCI_EN	   (1u << 0)
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_TYP_MASK  (7u << ACPI_PM1_CNT_SLP_TYP_SHIFT)
#define ACPI_PM1_CNT_SLP_EN	   (1u << 13)
#define ACPI_S5_SLP_TYP		   5 /* the value in the DSDT's \_S5 package */

#define ACPI_LAPIC_ADDR	  0xFEE00000u
#define ACPI_IOAPIC_ADDR  0xFEC00000u
#define ACPI_IOAPIC_ID	  0
#define ACPI_COM1_PORT	  0x3f8
#define ACPI_COM1_IRQ	  4
#define ACPI_MAX_CPUS	  256 /* xAPIC ids, one byte in the MADT */
#define ACPI_MAX_NODES	  64
#define ACPI_MAX_RANGES	  128
#define ACPI_DIST_LOCAL	  10
#define ACPI_DIST_REMOTE  20
#define ACPI_OEM_ID	  "RACKVM"
#define ACPI_OEM_TABLE_ID "RACKVMTB"
#define ACPI_CREATOR_ID	  "RKVM"

/* One guest-physical RAM range homed on @node. */
struct acpi_mem_range {
	uint64_t base;
	uint64_t size;
	uint32_t node;
};

struct acpi_config {
	unsigned int nr_cpus;		 /* APIC ids and ACPI UIDs 0..nr_cpus-1 */
	unsigned int nr_nodes;		 /* proximity domains 0..nr_nodes-1 */
	uint8_t cpu_node[ACPI_MAX_CPUS]; /* node of each CPU */
	unsigned int nr_ranges;
	struct acpi_mem_range range[ACPI_MAX_RANGES];
	/* SLIT row-major; an all-zero matrix means 10 local, 20 remote */
	uint8_t distance[ACPI_MAX_NODES][ACPI_MAX_NODES];
	bool numa; /* false: no SRAT/SLIT, the guest sees one flat node */
};

struct acpi_tables {
	uint64_t rsdp_gpa; /* pass in boot_params.acpi_rsdp_addr / start_info */
	size_t len;	   /* bytes of the buffer used, from its start */
};

/*
 * Write the tables into @buf (@len bytes, to be placed at guest-physical
 * @buf_gpa, 16-byte aligned, wholly below 4 GiB). Returns 0, -EINVAL for a
 * bad config (each CPU's and range's node must be < nr_nodes, ranges must not
 * overlap) or -ENOSPC if @len is too small.
 */
int acpi_build(void *buf, size_t len, uint64_t buf_gpa, const struct acpi_config *cfg,
	       struct acpi_tables *out) __attribute__((warn_unused_result));

/* ---- shared by core/acpi*.c only ---- */

struct acpi_out {
	uint8_t *buf;
	size_t len;
	size_t pos;
	uint64_t gpa;
};

/* Reserve @size bytes at the next @align boundary; NULL if they do not fit. */
void *acpi_alloc(struct acpi_out *o, size_t size, size_t align);
uint64_t acpi_gpa_of(const struct acpi_out *o, const void *p);
void acpi_header(void *table, const char sig[4], uint32_t len, uint8_t rev);
uint8_t acpi_checksum(const void *p, size_t len);
/* Each returns the table's gpa, or 0 if it did not fit. */
uint64_t acpi_build_dsdt(struct acpi_out *o);
uint64_t acpi_build_madt(struct acpi_out *o, const struct acpi_config *cfg);
uint64_t acpi_build_srat(struct acpi_out *o, const struct acpi_config *cfg);
uint64_t acpi_build_slit(struct acpi_out *o, const struct acpi_config *cfg);

#endif
