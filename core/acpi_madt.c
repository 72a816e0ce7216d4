// SPDX-License-Identifier: MIT
/* ACPI MADT (the interrupt controllers) and the NUMA tables, SRAT and SLIT. */
#include <string.h>

#include "core/acpi.h"

#define HDR_LEN 36 /* struct acpi_header, see acpi.c */

#define MADT_PCAT_COMPAT 1u /* dual 8259s present (and masked by Linux) */
#define MADT_LAPIC	 0
#define MADT_IOAPIC	 1
#define MADT_ISO	 2
#define MADT_LAPIC_NMI	 4
#define MPS_ACTIVE_HIGH	 0x1
#define MPS_LEVEL	 0xc
#define SRAT_ENABLED	 1u

struct madt_lapic {
	uint8_t type, length, uid, apic_id;
	uint32_t flags;
} __attribute__((packed));

struct madt_ioapic {
	uint8_t type, length, id, reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));

struct madt_iso {
	uint8_t type, length, bus, source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));

struct madt_lapic_nmi {
	uint8_t type, length, uid;
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

struct srat_cpu {
	uint8_t type, length, domain_lo, apic_id;
	uint32_t flags;
	uint8_t sapic_eid;
	uint8_t domain_hi[3];
	uint32_t clock_domain;
} __attribute__((packed));
_Static_assert(sizeof(struct srat_cpu) == 16, "SRAT processor affinity");

struct srat_mem {
	uint8_t type, length;
	uint32_t domain;
	uint16_t reserved0;
	uint64_t base; /* the spec's two 32-bit halves, little-endian */
	uint64_t size;
	uint32_t reserved1;
	uint32_t flags;
	uint64_t reserved2;
} __attribute__((packed));
_Static_assert(sizeof(struct srat_mem) == 40, "SRAT memory affinity");

static void finish(void *table, const char sig[4], uint32_t len, uint8_t rev)
{
	uint8_t *t = table;

	acpi_header(t, sig, len, rev);
	t[9] = acpi_checksum(t, len);
}

static void madt_iso(struct madt_iso *e, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	*e = (struct madt_iso){.type = MADT_ISO,
			       .length = sizeof(*e),
			       .source = irq,
			       .gsi = gsi,
			       .flags = flags};
}

uint64_t acpi_build_madt(struct acpi_out *o, const struct acpi_config *cfg)
{
	uint32_t len = HDR_LEN + 8 + cfg->nr_cpus * sizeof(struct madt_lapic) +
		       sizeof(struct madt_ioapic) + 2 * sizeof(struct madt_iso) +
		       sizeof(struct madt_lapic_nmi);
	uint8_t *t = acpi_alloc(o, len, 8);
	uint32_t head[2] = {ACPI_LAPIC_ADDR, MADT_PCAT_COMPAT};
	struct madt_lapic *cpu;
	struct madt_ioapic *io;
	struct madt_iso *iso;
	struct madt_lapic_nmi *nmi;

	if (!t)
		return 0;
	memcpy(t + HDR_LEN, head, sizeof(head));
	cpu = (struct madt_lapic *)(t + HDR_LEN + 8);
	for (unsigned int i = 0; i < cfg->nr_cpus; i++)
		cpu[i] = (struct madt_lapic){.type = MADT_LAPIC,
					     .length = sizeof(*cpu),
					     .uid = (uint8_t)i,
					     .apic_id = (uint8_t)i,
					     .flags = 1};
	io = (struct madt_ioapic *)(cpu + cfg->nr_cpus);
	*io = (struct madt_ioapic){.type = MADT_IOAPIC,
				   .length = sizeof(*io),
				   .id = ACPI_IOAPIC_ID,
				   .address = ACPI_IOAPIC_ADDR};
	iso = (struct madt_iso *)(io + 1);
	/* The PIT's IRQ0 is wired to IOAPIC pin 2, as on every PC. */
	madt_iso(&iso[0], 0, 2, 0);
	madt_iso(&iso[1], ACPI_SCI_IRQ, ACPI_SCI_IRQ, MPS_ACTIVE_HIGH | MPS_LEVEL);
	nmi = (struct madt_lapic_nmi *)(iso + 2);
	*nmi = (struct madt_lapic_nmi){
	    .type = MADT_LAPIC_NMI, .length = sizeof(*nmi), .uid = 0xff, .lint = 1};
	finish(t, "APIC", len, 5);
	return acpi_gpa_of(o, t);
}

uint64_t acpi_build_srat(struct acpi_out *o, const struct acpi_config *cfg)
{
	uint32_t len = HDR_LEN + 12 + cfg->nr_cpus * sizeof(struct srat_cpu) +
		       cfg->nr_ranges * sizeof(struct srat_mem);
	uint8_t *t = acpi_alloc(o, len, 8);
	uint32_t reserved1 = 1; /* "must be 1" for backward compatibility */
	struct srat_cpu *cpu;
	struct srat_mem *mem;

	if (!t)
		return 0;
	memcpy(t + HDR_LEN, &reserved1, 4);
	cpu = (struct srat_cpu *)(t + HDR_LEN + 12);
	for (unsigned int i = 0; i < cfg->nr_cpus; i++)
		cpu[i] = (struct srat_cpu){.type = 0,
					   .length = sizeof(*cpu),
					   .domain_lo = cfg->cpu_node[i],
					   .apic_id = (uint8_t)i,
					   .flags = SRAT_ENABLED};
	mem = (struct srat_mem *)(cpu + cfg->nr_cpus);
	for (unsigned int i = 0; i < cfg->nr_ranges; i++)
		mem[i] = (struct srat_mem){.type = 1,
					   .length = sizeof(*mem),
					   .domain = cfg->range[i].node,
					   .base = cfg->range[i].base,
					   .size = cfg->range[i].size,
					   .flags = SRAT_ENABLED};
	finish(t, "SRAT", len, 3);
	return acpi_gpa_of(o, t);
}

static bool distances_given(const struct acpi_config *cfg)
{
	for (unsigned int i = 0; i < cfg->nr_nodes; i++)
		for (unsigned int j = 0; j < cfg->nr_nodes; j++)
			if (cfg->distance[i][j])
				return true;
	return false;
}

uint64_t acpi_build_slit(struct acpi_out *o, const struct acpi_config *cfg)
{
	unsigned int n = cfg->nr_nodes;
	uint32_t len = HDR_LEN + 8 + n * n;
	uint8_t *t = acpi_alloc(o, len, 8);
	bool given = distances_given(cfg);
	uint64_t count = n;
	uint8_t *m;

	if (!t)
		return 0;
	memcpy(t + HDR_LEN, &count, 8);
	m = t + HDR_LEN + 8;
	for (unsigned int i = 0; i < n; i++)
		for (unsigned int j = 0; j < n; j++)
			m[i * n + j] = given	? cfg->distance[i][j]
				       : i == j ? ACPI_DIST_LOCAL
						: ACPI_DIST_REMOTE;
	finish(t, "SLIT", len, 1);
	return acpi_gpa_of(o, t);
}
