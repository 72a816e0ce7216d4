// SPDX-License-Identifier: MIT
/*
 * ACPI tables: built by acpi_build(), then read back here with a parser of
 * the test's own (byte offsets from the ACPI 6.x spec, not acpi.c's structs).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/acpi.h"

#define GPA	0xE0000u
#define BUF_LEN 0x20000u

static uint8_t *buf;

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

/* The table at @gpa: checks it lies in the buffer, its signature and checksum. */
static const uint8_t *table(uint64_t gpa, const char *sig)
{
	const uint8_t *t;
	uint32_t len;

	assert_true(gpa >= GPA && gpa + 36 <= GPA + BUF_LEN);
	t = buf + (gpa - GPA);
	len = rd32(t + 4);
	assert_true(len >= 36 && gpa + len <= GPA + BUF_LEN);
	assert_memory_equal(t, sig, 4);
	assert_int_equal(sum(t, len), 0);
	assert_memory_equal(t + 10, "RACKVM", 6);
	return t;
}

static void config_init(struct acpi_config *c, unsigned int cpus, unsigned int nodes)
{
	uint64_t per = (1ull << 30) / nodes;

	memset(c, 0, sizeof(*c));
	c->nr_cpus = cpus;
	c->nr_nodes = nodes;
	c->numa = nodes > 1;
	for (unsigned int i = 0; i < cpus; i++)
		c->cpu_node[i] = (uint8_t)(i % nodes);
	c->nr_ranges = nodes;
	for (unsigned int n = 0; n < nodes; n++)
		c->range[n] =
		    (struct acpi_mem_range){.base = n * per, .size = per, .node = n};
}

static const uint8_t *build(const struct acpi_config *c, struct acpi_tables *out)
{
	memset(buf, 0xa5, BUF_LEN);
	assert_int_equal(acpi_build(buf, BUF_LEN, GPA, c, out), 0);
	assert_true(out->len > 0 && out->len <= BUF_LEN);
	assert_int_equal(out->rsdp_gpa % 16, 0);
	return buf + (out->rsdp_gpa - GPA);
}

/* The XSDT's table with signature @sig, NULL if it has none. */
static const uint8_t *xsdt_find(const uint8_t *rsdp, const char *sig)
{
	const uint8_t *x = table(rd64(rsdp + 24), "XSDT");
	uint32_t n = (rd32(x + 4) - 36) / 8;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *t = buf + (rd64(x + 36 + 8 * i) - GPA);

		if (!memcmp(t, sig, 4))
			return table(rd64(x + 36 + 8 * i), sig);
	}
	return NULL;
}

static void test_rsdp_xsdt(void **state)
{
	struct acpi_config c;
	struct acpi_tables out;
	const uint8_t *r, *x;

	(void)state;
	config_init(&c, 1, 1);
	r = build(&c, &out);
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(sum(r, 20), 0);
	assert_int_equal(sum(r, 36), 0);
	assert_int_equal(r[15], 2);
	assert_int_equal(rd32(r + 20), 36);
	x = table(rd64(r + 24), "XSDT");
	assert_int_equal(rd32(x + 4), 36 + 2 * 8);
	assert_non_null(xsdt_find(r, "FACP"));
	assert_non_null(xsdt_find(r, "APIC"));
	assert_null(xsdt_find(r, "SRAT"));
	assert_null(xsdt_find(r, "SLIT"));
}

static void check_gas_io(const uint8_t *g, uint16_t port, uint8_t bytes)
{
	assert_int_equal(g[0], 1); /* system I/O */
	assert_int_equal(g[1], bytes * 8);
	assert_int_equal(rd64(g + 4), port);
}

static void test_fadt(void **state)
{
	struct acpi_config c;
	struct acpi_tables out;
	const uint8_t *f, *facs, *dsdt;

	(void)state;
	config_init(&c, 2, 1);
	f = xsdt_find(build(&c, &out), "FACP");
	assert_int_equal(rd32(f + 4), 276);
	assert_int_equal(f[8], 6);
	assert_int_equal(rd16(f + 46), 9);		    /* SCI_INT */
	assert_int_equal(rd32(f + 48), 0);		    /* no SMI_CMD */
	assert_int_equal(rd32(f + 56), ACPI_PM1A_EVT_PORT); /* PM1a_EVT_BLK */
	assert_int_equal(rd32(f + 64), ACPI_PM1A_CNT_PORT); /* PM1a_CNT_BLK */
	assert_int_equal(rd32(f + 76), ACPI_PM_TMR_PORT);   /* PM_TMR_BLK */
	assert_int_equal(f[88], 4);
	assert_int_equal(f[89], 2);
	assert_int_equal(f[91], 4);
	assert_int_equal(rd32(f + 112) & (1u << 20), 0); /* not HW_REDUCED */
	assert_int_equal(rd16(f + 109) & 2, 0);		 /* no 8042 */
	assert_int_equal(rd16(f + 109) & 0x20, 0x20);	 /* no CMOS RTC */
	check_gas_io(f + 148, ACPI_PM1A_EVT_PORT, 4);
	check_gas_io(f + 172, ACPI_PM1A_CNT_PORT, 2);
	check_gas_io(f + 208, ACPI_PM_TMR_PORT, 4);
	check_gas_io(f + 116, ACPI_RESET_PORT, 1);
	assert_int_equal(f[128], ACPI_RESET_VALUE);
	/* FACS: 32- and 64-bit pointers agree, 64-byte aligned */
	assert_int_equal(rd32(f + 36), rd64(f + 132));
	assert_int_equal(rd64(f + 132) % 64, 0);
	facs = buf + (rd64(f + 132) - GPA);
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal(rd32(facs + 4), 64);
	assert_int_equal(rd32(f + 40), rd64(f + 140));
	dsdt = table(rd64(f + 140), "DSDT");
	assert_int_equal(dsdt[8], 2);
}

static const uint8_t *find_bytes(const uint8_t *hay, size_t n, const void *needle,
				 size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (!memcmp(hay + i, needle, m))
			return hay + i;
	return NULL;
}

static void test_dsdt_aml(void **state)
{
	static const uint8_t s5[] = {0x08,
				     '\\',
				     '_',
				     'S',
				     '5',
				     '_',
				     0x12,
				     0x08,
				     0x04,
				     0x0a,
				     ACPI_S5_SLP_TYP,
				     0x0a,
				     ACPI_S5_SLP_TYP,
				     0x00,
				     0x00};
	static const uint8_t hid[] = {'_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01};
	static const uint8_t io[] = {0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00, 0x08};
	static const uint8_t irq4[] = {0x22, 0x10, 0x00, 0x79};
	struct acpi_config c;
	struct acpi_tables out;
	const uint8_t *f, *d, *aml;
	uint32_t len, scope_len;

	(void)state;
	config_init(&c, 1, 1);
	f = xsdt_find(build(&c, &out), "FACP");
	d = table(rd64(f + 140), "DSDT");
	len = rd32(d + 4);
	aml = d + 36;
	/* Scope (\_SB) with a one-byte PkgLength, then the \_S5 package right after */
	assert_int_equal(aml[0], 0x10);
	assert_true(aml[1] < 0x40);
	scope_len = aml[1];
	assert_memory_equal(aml + 2, "\\_SB_", 5);
	assert_memory_equal(aml + 7, "\x5b\x82", 2);
	assert_memory_equal(aml + 10, "COM1", 4);
	assert_int_equal(aml[9] + 9, scope_len + 1); /* Device fills the scope */
	assert_memory_equal(aml + 1 + scope_len, s5, sizeof(s5));
	assert_int_equal(36 + 1 + scope_len + sizeof(s5), len);
	assert_non_null(find_bytes(aml, len - 36, hid, sizeof(hid)));
	assert_non_null(find_bytes(aml, len - 36, io, sizeof(io)));
	assert_non_null(find_bytes(aml, len - 36, irq4, sizeof(irq4)));
}

/* Walks the MADT's entries; checks lengths chain to the table's end. */
static void check_madt(unsigned int cpus)
{
	struct acpi_config c;
	struct acpi_tables out;
	const uint8_t *m, *e, *end;
	unsigned int lapics = 0, ioapics = 0, isos = 0, nmis = 0;

	config_init(&c, cpus, 1);
	m = xsdt_find(build(&c, &out), "APIC");
	assert_int_equal(rd32(m + 36), 0xFEE00000u);
	assert_int_equal(rd32(m + 40) & 1, 1); /* PCAT_COMPAT */
	end = m + rd32(m + 4);
	for (e = m + 44; e < end; e += e[1]) {
		assert_true(e[1] >= 2 && e + e[1] <= end);
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], lapics); /* UID */
			assert_int_equal(e[3], lapics); /* APIC id */
			assert_int_equal(rd32(e + 4), 1);
			lapics++;
			break;
		case 1:
			assert_int_equal(e[1], 12);
			assert_int_equal(rd32(e + 4), 0xFEC00000u);
			assert_int_equal(rd32(e + 8), 0);
			ioapics++;
			break;
		case 2:
			assert_int_equal(e[1], 10);
			if (e[3] == 0)
				assert_int_equal(rd32(e + 4), 2);
			else if (e[3] == 9)
				assert_true(rd32(e + 4) == 9 && rd16(e + 8) == 0xd);
			else
				fail_msg("override of IRQ %u", e[3]);
			isos++;
			break;
		case 4:
			assert_int_equal(e[1], 6);
			assert_int_equal(e[2], 0xff);
			assert_int_equal(e[5], 1); /* LINT1 */
			nmis++;
			break;
		default:
			fail_msg("MADT entry type %u", e[0]);
		}
	}
	assert_ptr_equal(e, end);
	assert_int_equal(lapics, cpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(isos, 2);
	assert_int_equal(nmis, 1);
}

static void test_madt(void **state)
{
	static const unsigned int counts[] = {1, 2, 3, 8, 64, 200, 255, 256};

	(void)state;
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		check_madt(counts[i]);
}

static void check_srat(const struct acpi_config *c, const uint8_t *s)
{
	const uint8_t *e = s + 48, *end = s + rd32(s + 4);
	unsigned int cpus = 0, ranges = 0;

	assert_int_equal(rd32(s + 36), 1);
	for (; e < end; e += e[1]) {
		assert_true(e[1] >= 2 && e + e[1] <= end);
		if (e[0] == 0) {
			assert_int_equal(e[1], 16);
			assert_int_equal(e[3], cpus);
			assert_int_equal(e[2], c->cpu_node[cpus]);
			assert_int_equal(rd32(e + 4) & 1, 1);
			cpus++;
		} else {
			const struct acpi_mem_range *r = &c->range[ranges++];

			assert_int_equal(e[0], 1);
			assert_int_equal(e[1], 40);
			assert_int_equal(rd32(e + 2), r->node);
			assert_int_equal(rd64(e + 8), r->base);
			assert_int_equal(rd64(e + 16), r->size);
			assert_int_equal(rd32(e + 28) & 1, 1);
		}
	}
	assert_ptr_equal(e, end);
	assert_int_equal(cpus, c->nr_cpus);
	assert_int_equal(ranges, c->nr_ranges);
}

static void check_slit(const struct acpi_config *c, const uint8_t *s, bool dflt)
{
	unsigned int n = c->nr_nodes;

	assert_int_equal(rd64(s + 36), n);
	assert_int_equal(rd32(s + 4), 44 + n * n);
	for (unsigned int i = 0; i < n; i++)
		for (unsigned int j = 0; j < n; j++)
			assert_int_equal(s[44 + i * n + j],
					 dflt ? (i == j ? 10 : 20) : c->distance[i][j]);
}

static void test_numa_one_node(void **state)
{
	struct acpi_config c;
	struct acpi_tables out;
	const uint8_t *r;

	(void)state;
	config_init(&c, 4, 1);
	c.numa = true;
	r = build(&c, &out);
	check_srat(&c, xsdt_find(r, "SRAT"));
	check_slit(&c, xsdt_find(r, "SLIT"), true);
}

static void test_numa_nodes(void **state)
{
	struct acpi_config c;
	struct acpi_tables out;
	const uint8_t *r;

	(void)state;
	config_init(&c, 16, 4);
	/* node 0 owns a second range above 4 GiB */
	c.range[c.nr_ranges++] = (struct acpi_mem_range){1ull << 32, 1ull << 30, 0};
	r = build(&c, &out);
	check_srat(&c, xsdt_find(r, "SRAT"));
	check_slit(&c, xsdt_find(r, "SLIT"), true);
	for (unsigned int i = 0; i < 4; i++)
		for (unsigned int j = 0; j < 4; j++)
			c.distance[i][j] = i == j ? 10 : (uint8_t)(12 + i + j);
	r = build(&c, &out);
	check_slit(&c, xsdt_find(r, "SLIT"), false);
}

static void test_no_space(void **state)
{
	struct acpi_config c;
	struct acpi_tables out;
	size_t need;

	(void)state;
	config_init(&c, 8, 2);
	build(&c, &out);
	need = out.len;
	for (size_t len = 0; len < need; len++)
		assert_int_equal(acpi_build(buf, len, GPA, &c, &out), -ENOSPC);
	assert_int_equal(acpi_build(buf, need, GPA, &c, &out), 0);
}

static void test_bad_config(void **state)
{
	struct acpi_config c;
	struct acpi_tables out;

	(void)state;
	config_init(&c, 4, 2);
	assert_int_equal(acpi_build(buf, BUF_LEN, GPA + 8, &c, &out), -EINVAL);
	assert_int_equal(acpi_build(buf, BUF_LEN, 1ull << 32, &c, &out), -EINVAL);
	c.cpu_node[3] = 2;
	assert_int_equal(acpi_build(buf, BUF_LEN, GPA, &c, &out), -EINVAL);
	config_init(&c, 4, 2);
	c.range[1].base -= 4096; /* overlaps node 0 */
	assert_int_equal(acpi_build(buf, BUF_LEN, GPA, &c, &out), -EINVAL);
	config_init(&c, 4, 2);
	c.distance[0][1] = c.distance[1][0] = 20;
	assert_int_equal(acpi_build(buf, BUF_LEN, GPA, &c, &out), -EINVAL); /* diag 0 */
	config_init(&c, 0, 1);
	assert_int_equal(acpi_build(buf, BUF_LEN, GPA, &c, &out), -EINVAL);
	config_init(&c, 1, 1);
	c.nr_cpus = ACPI_MAX_CPUS + 1;
	assert_int_equal(acpi_build(buf, BUF_LEN, GPA, &c, &out), -EINVAL);
}

static int setup(void **state)
{
	(void)state;
	buf = malloc(BUF_LEN);
	return buf ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(buf);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rsdp_xsdt),	  cmocka_unit_test(test_fadt),
	    cmocka_unit_test(test_dsdt_aml),	  cmocka_unit_test(test_madt),
	    cmocka_unit_test(test_numa_one_node), cmocka_unit_test(test_numa_nodes),
	    cmocka_unit_test(test_no_space),	  cmocka_unit_test(test_bad_config),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
