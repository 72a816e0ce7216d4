// SPDX-License-Identifier: MIT
/*
 * The DSDT, its AML assembled by hand (no iasl at build time). What it says,
 * in ASL:
 *
 *   Scope (\_SB) {
 *     Device (COM1) {
 *       Name (_HID, EisaId ("PNP0501"))
 *       Name (_UID, Zero)
 *       Name (_CRS, ResourceTemplate () {
 *         IO (Decode16, 0x03F8, 0x03F8, 0x00, 0x08)
 *         IRQNoFlags () {4}
 *       })
 *     }
 *   }
 *   Name (\_S5, Package (0x04) { 5, 5, Zero, Zero })
 */
#include <string.h>

#include "core/acpi.h"

#define AML_ZERO    0x00
#define AML_NAME    0x08
#define AML_BYTE    0x0a
#define AML_DWORD   0x0c
#define AML_SCOPE   0x10
#define AML_BUFFER  0x11
#define AML_PACKAGE 0x12
#define AML_EXT	    0x5b
#define AML_DEVICE  0x82 /* after AML_EXT */
#define AML_ROOT    0x5c /* '\' */

struct aml {
	uint8_t b[256];
	size_t n;
};

static void emit(struct aml *a, const void *p, size_t len)
{
	memcpy(a->b + a->n, p, len);
	a->n += len;
}

static void emit_byte(struct aml *a, uint8_t v)
{
	emit(a, &v, 1);
}

/* PkgLength counts its own bytes plus @body; 1 byte below 63, else 2. */
static void emit_pkglen(struct aml *a, size_t body)
{
	if (body + 1 < 0x40) {
		emit_byte(a, (uint8_t)(body + 1));
		return;
	}
	body += 2;
	emit_byte(a, (uint8_t)(0x40 | (body & 0xf)));
	emit_byte(a, (uint8_t)(body >> 4));
}

/* op [ext], PkgLength, then the already assembled @body. */
static void emit_pkg(struct aml *a, const uint8_t *op, size_t op_len,
		     const struct aml *body)
{
	emit(a, op, op_len);
	emit_pkglen(a, body->n);
	emit(a, body->b, body->n);
}

static uint32_t eisa_id(const char *id)
{
	uint32_t v = (uint32_t)(id[0] - 0x40) << 26 | (uint32_t)(id[1] - 0x40) << 21 |
		     (uint32_t)(id[2] - 0x40) << 16;
	char hex[5] = {id[3], id[4], id[5], id[6], 0};

	for (int i = 0; i < 4; i++)
		v |= (uint32_t)(hex[i] <= '9' ? hex[i] - '0' : hex[i] - 'A' + 10)
		     << (12 - 4 * i);
	return __builtin_bswap32(v); /* stored most significant byte first */
}

static void com1_device(struct aml *dev)
{
	/* clang-format off */
	static const uint8_t crs[] = {
		0x47, 0x01, ACPI_COM1_PORT & 0xff, ACPI_COM1_PORT >> 8, /* IO (Decode16, min, */
		ACPI_COM1_PORT & 0xff, ACPI_COM1_PORT >> 8, 0x00, 0x08, /*  max, align, len) */
		0x22, 1 << ACPI_COM1_IRQ, 0x00,				/* IRQNoFlags () {4} */
		0x79, 0x00,						/* end tag */
	};
	/* clang-format on */
	uint32_t hid = eisa_id("PNP0501");
	struct aml buf = {.n = 0};

	emit_byte(dev, AML_NAME);
	emit(dev, "_HID", 4);
	emit_byte(dev, AML_DWORD);
	emit(dev, &hid, 4);
	emit_byte(dev, AML_NAME);
	emit(dev, "_UID", 4);
	emit_byte(dev, AML_ZERO);
	emit_byte(&buf, AML_BYTE);
	emit_byte(&buf, sizeof(crs));
	emit(&buf, crs, sizeof(crs));
	emit_byte(dev, AML_NAME);
	emit(dev, "_CRS", 4);
	emit_pkg(dev, (const uint8_t[]){AML_BUFFER}, 1, &buf);
}

static void s5_package(struct aml *a)
{
	static const uint8_t elems[] = {
	    4, AML_BYTE, ACPI_S5_SLP_TYP, AML_BYTE, ACPI_S5_SLP_TYP, AML_ZERO, AML_ZERO,
	};
	struct aml pkg = {.n = 0};

	emit(&pkg, elems, sizeof(elems));
	emit_byte(a, AML_NAME);
	emit(a, "\\_S5_", 5);
	emit_pkg(a, (const uint8_t[]){AML_PACKAGE}, 1, &pkg);
}

uint64_t acpi_build_dsdt(struct acpi_out *o)
{
	struct aml dev = {.n = 0}, sb = {.n = 0}, body = {.n = 0};
	uint8_t *t;

	/* Device (COM1) {...}: DeviceOp PkgLength NameSeg TermList */
	emit(&dev, "COM1", 4);
	com1_device(&dev);
	/* Scope (\_SB) {...}: ScopeOp PkgLength NameString TermList */
	emit_byte(&sb, AML_ROOT);
	emit(&sb, "_SB_", 4);
	emit_pkg(&sb, (const uint8_t[]){AML_EXT, AML_DEVICE}, 2, &dev);
	emit_pkg(&body, (const uint8_t[]){AML_SCOPE}, 1, &sb);
	s5_package(&body);
	t = acpi_alloc(o, 36 + body.n, 8);
	if (!t)
		return 0;
	memcpy(t + 36, body.b, body.n);
	/* Revision 2: AML integers are 64 bits wide. */
	acpi_header(t, "DSDT", (uint32_t)(36 + body.n), 2);
	t[9] = acpi_checksum(t, 36 + body.n);
	return acpi_gpa_of(o, t);
}
