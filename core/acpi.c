// SPDX-License-Identifier: MIT
/*
 * ACPI tables: the buffer allocator, RSDP, XSDT, FADT and FACS. The DSDT is
 * in acpi_dsdt.c, MADT/SRAT/SLIT in acpi_madt.c.
 */
#include <errno.h>
#include <string.h>

#include "core/acpi.h"

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_header) == 36, "ACPI header");

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum; /* of the first 20 bytes (ACPI 1.0 part) */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t ext_checksum; /* of all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");

struct acpi_gas {
	uint8_t space_id; /* 1: system I/O */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size; /* 1 byte, 2 word, 3 dword */
	uint64_t address;
} __attribute__((packed));

struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control, sleep_status;
	uint64_t hypervisor_id;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT rev 6");

struct acpi_facs {
	char signature[4];
	uint32_t length;
	uint32_t hw_signature;
	uint32_t waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_waking_vector;
	uint8_t version;
	uint8_t reserved[31];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS");

#define FADT_WBINVD	      (1u << 0)
#define FADT_PROC_C1	      (1u << 2)
#define FADT_PWR_BUTTON	      (1u << 4) /* set: no fixed power button */
#define FADT_SLP_BUTTON	      (1u << 5) /* set: no fixed sleep button */
#define FADT_RTC_S4	      (1u << 7)
#define FADT_TMR_VAL_EXT      (1u << 8) /* clear: the PM timer is 24 bits */
#define FADT_RESET_REG_SUP    (1u << 10)
#define BOOT_ARCH_LEGACY_DEVS (1u << 0) /* ISA devices: the UART */
#define BOOT_ARCH_NO_VGA      (1u << 2)
#define BOOT_ARCH_NO_CMOS_RTC (1u << 5)
#define GAS_SYSTEM_IO	      1

void *acpi_alloc(struct acpi_out *o, size_t size, size_t align)
{
	size_t start = (o->pos + align - 1) & ~(align - 1);
	void *p;

	if (start < o->pos || start > o->len || size > o->len - start)
		return NULL;
	p = o->buf + start;
	memset(p, 0, size);
	o->pos = start + size;
	return p;
}

uint64_t acpi_gpa_of(const struct acpi_out *o, const void *p)
{
	return o->gpa + (uint64_t)((const uint8_t *)p - o->buf);
}

uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += b[i];
	return (uint8_t)(0 - sum);
}

/* Fills the header; the caller sets the checksum once the body is written. */
void acpi_header(void *table, const char sig[4], uint32_t len, uint8_t rev)
{
	struct acpi_header *h = table;

	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = 1;
}

static struct acpi_gas gas_io(uint16_t port, uint8_t len)
{
	struct acpi_gas g = {
	    .space_id = GAS_SYSTEM_IO,
	    .bit_width = (uint8_t)(len * 8),
	    .access_size = len == 4   ? 3
			   : len == 2 ? 2
				      : 1,
	    .address = port,
	};
	return g;
}

static uint64_t build_facs(struct acpi_out *o)
{
	struct acpi_facs *f = acpi_alloc(o, sizeof(*f), 64); /* 64-byte aligned */

	if (!f)
		return 0;
	memcpy(f->signature, "FACS", 4);
	f->length = sizeof(*f);
	f->version = 2;
	return acpi_gpa_of(o, f);
}

static void fadt_pm_blocks(struct acpi_fadt *f)
{
	f->sci_int = ACPI_SCI_IRQ;
	f->pm1a_evt_blk = ACPI_PM1A_EVT_PORT;
	f->pm1a_cnt_blk = ACPI_PM1A_CNT_PORT;
	f->pm_tmr_blk = ACPI_PM_TMR_PORT;
	f->pm1_evt_len = ACPI_PM1_EVT_LEN;
	f->pm1_cnt_len = ACPI_PM1_CNT_LEN;
	f->pm_tmr_len = ACPI_PM_TMR_LEN;
	f->x_pm1a_evt_blk = gas_io(ACPI_PM1A_EVT_PORT, ACPI_PM1_EVT_LEN);
	f->x_pm1a_cnt_blk = gas_io(ACPI_PM1A_CNT_PORT, ACPI_PM1_CNT_LEN);
	f->x_pm_tmr_blk = gas_io(ACPI_PM_TMR_PORT, ACPI_PM_TMR_LEN);
	f->reset_reg = gas_io(ACPI_RESET_PORT, 1);
	f->reset_value = ACPI_RESET_VALUE;
}

static uint64_t build_fadt(struct acpi_out *o, uint64_t facs, uint64_t dsdt)
{
	struct acpi_fadt *f = acpi_alloc(o, sizeof(*f), 8);

	if (!f)
		return 0;
	acpi_header(f, "FACP", sizeof(*f), 6);
	f->firmware_ctrl = (uint32_t)facs;
	f->x_firmware_ctrl = facs;
	f->dsdt = (uint32_t)dsdt;
	f->x_dsdt = dsdt;
	fadt_pm_blocks(f);
	/* No SMI_CMD: the platform is in ACPI mode from reset. No C2/C3. */
	f->p_lvl2_lat = 101;
	f->p_lvl3_lat = 1001;
	/*
	 * No 8042 flag: Linux then skips probing a keyboard controller. No CMOS
	 * RTC (rackvm has none; its ports read 0xff, "update in progress"):
	 * otherwise Linux's rtc_cmos polls it for 20-60 s of a nested boot.
	 */
	f->iapc_boot_arch =
	    BOOT_ARCH_LEGACY_DEVS | BOOT_ARCH_NO_VGA | BOOT_ARCH_NO_CMOS_RTC;
	f->flags = FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON | FADT_SLP_BUTTON |
		   FADT_RTC_S4 | FADT_RESET_REG_SUP;
	f->minor_version = 0;
	memcpy(&f->hypervisor_id, "RACKVM\0\0", 8);
	f->h.checksum = acpi_checksum(f, sizeof(*f));
	return acpi_gpa_of(o, f);
}

/* Linux ignores a SLIT whose diagonal is not 10 or whose remote entries are
 * not above 10; 255 means unreachable. All zero: the defaults are used. */
static bool distances_valid(const struct acpi_config *cfg)
{
	bool any = false, ok = true;

	for (unsigned int i = 0; i < cfg->nr_nodes; i++)
		for (unsigned int j = 0; j < cfg->nr_nodes; j++) {
			uint8_t d = cfg->distance[i][j];

			any |= d != 0;
			ok &= i == j ? d == ACPI_DIST_LOCAL : d > ACPI_DIST_LOCAL;
		}
	return !any || ok;
}

static bool config_valid(const struct acpi_config *cfg)
{
	if (cfg->nr_cpus == 0 || cfg->nr_cpus > ACPI_MAX_CPUS)
		return false;
	if (cfg->nr_nodes == 0 || cfg->nr_nodes > ACPI_MAX_NODES ||
	    cfg->nr_ranges > ACPI_MAX_RANGES)
		return false;
	if (!distances_valid(cfg))
		return false;
	for (unsigned int i = 0; i < cfg->nr_cpus; i++)
		if (cfg->cpu_node[i] >= cfg->nr_nodes)
			return false;
	for (unsigned int i = 0; i < cfg->nr_ranges; i++) {
		const struct acpi_mem_range *a = &cfg->range[i];

		if (a->node >= cfg->nr_nodes || a->size == 0 ||
		    a->base + a->size < a->base)
			return false;
		for (unsigned int j = 0; j < i; j++) {
			const struct acpi_mem_range *b = &cfg->range[j];

			if (a->base < b->base + b->size && b->base < a->base + a->size)
				return false;
		}
	}
	return true;
}

static void fill_rsdp(struct acpi_rsdp *r, uint64_t xsdt)
{
	memcpy(r->signature, "RSD PTR ", 8);
	memcpy(r->oem_id, ACPI_OEM_ID, 6);
	r->revision = 2;
	r->length = sizeof(*r);
	r->xsdt_address = xsdt;
	r->checksum = acpi_checksum(r, 20);
	r->ext_checksum = acpi_checksum(r, sizeof(*r));
}

static int build_tables(struct acpi_out *o, const struct acpi_config *cfg,
			uint64_t entry[4], unsigned int nr_entries)
{
	uint64_t facs = build_facs(o);
	uint64_t dsdt = facs ? acpi_build_dsdt(o) : 0;

	if (!dsdt)
		return -ENOSPC;
	entry[0] = build_fadt(o, facs, dsdt);
	entry[1] = entry[0] ? acpi_build_madt(o, cfg) : 0;
	if (nr_entries > 2) {
		entry[2] = entry[1] ? acpi_build_srat(o, cfg) : 0;
		entry[3] = entry[2] ? acpi_build_slit(o, cfg) : 0;
	}
	for (unsigned int i = 0; i < nr_entries; i++)
		if (!entry[i])
			return -ENOSPC;
	return 0;
}

int acpi_build(void *buf, size_t len, uint64_t buf_gpa, const struct acpi_config *cfg,
	       struct acpi_tables *out)
{
	struct acpi_out o = {.buf = buf, .len = len, .gpa = buf_gpa};
	unsigned int nr_entries = cfg->numa ? 4 : 2;
	uint64_t entry[4] = {0};
	struct acpi_header *xsdt;
	struct acpi_rsdp *rsdp;
	int err;

	/* Every table must be reachable through the 32-bit fields too. */
	if ((buf_gpa & 15) || buf_gpa > UINT32_MAX || len > UINT32_MAX - buf_gpa ||
	    !config_valid(cfg))
		return -EINVAL;
	rsdp = acpi_alloc(&o, sizeof(*rsdp), 16);
	xsdt = acpi_alloc(&o, sizeof(*xsdt) + 8 * nr_entries, 8);
	if (!rsdp || !xsdt)
		return -ENOSPC;
	err = build_tables(&o, cfg, entry, nr_entries);
	if (err)
		return err;
	acpi_header(xsdt, "XSDT", sizeof(*xsdt) + 8 * nr_entries, 1);
	memcpy(xsdt + 1, entry, 8 * nr_entries);
	xsdt->checksum = acpi_checksum(xsdt, xsdt->length);
	fill_rsdp(rsdp, acpi_gpa_of(&o, xsdt));
	out->rsdp_gpa = acpi_gpa_of(&o, rsdp);
	out->len = o.pos;
	return 0;
}
