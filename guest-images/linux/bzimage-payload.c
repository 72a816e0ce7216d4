// SPDX-License-Identifier: MIT
/*
 * bzimage-payload BZIMAGE OUT: copy the compressed vmlinux out of a bzImage.
 *
 * The setup header's payload_offset/payload_length (boot protocol 2.08+)
 * locate the stream inside the protected-mode part, which starts after the
 * (setup_sects + 1) real-mode sectors. Every compressor but gzip is followed
 * there by the kernel build's 4-byte uncompressed size, which the stream
 * tools reject as trailing garbage: it is cut off. Prints "FORMAT SIZE" (the
 * format's name, the vmlinux size the kernel recorded) for the build script.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HDR_SETUP_SECTS	   0x1f1
#define HDR_MAGIC	   0x202
#define HDR_VERSION	   0x206
#define HDR_PAYLOAD_OFFSET 0x248
#define HDR_PAYLOAD_LENGTH 0x24c
#define HDR_END		   0x250

struct format {
	const char *name;
	const uint8_t *magic;
	size_t magic_len;
	int size_appended;
};

static const struct format formats[] = {
    {"gzip", (const uint8_t *)"\x1f\x8b", 2, 0},
    {"xz", (const uint8_t *)"\xfd\x37\x7a\x58\x5a\x00", 6, 1},
    {"zstd", (const uint8_t *)"\x28\xb5\x2f\xfd", 4, 1},
    {"lzma", (const uint8_t *)"\x5d\x00\x00", 3, 1},
    {"bzip2", (const uint8_t *)"BZh", 3, 1},
    {"lz4", (const uint8_t *)"\x02\x21\x4c\x18", 4, 1},
    {"lzo", (const uint8_t *)"\x89LZO", 4, 1},
};

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static int read_file(const char *path, uint8_t **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long size;
	int err = 0;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		err = -EIO;
		goto err_close;
	}
	*len = (size_t)size;
	*data = malloc(*len ? *len : 1);
	if (!*data) {
		err = -ENOMEM;
		goto err_close;
	}
	if (fread(*data, 1, *len, f) != *len) {
		free(*data);
		err = -EIO;
	}
err_close:
	fclose(f);
	return err;
}

/* The payload's bounds in @img, or a message saying why there is none. */
static const char *find_payload(const uint8_t *img, size_t len, size_t *off, size_t *plen)
{
	size_t setup_sects, pm_off;

	if (len < HDR_END || memcmp(img + HDR_MAGIC, "HdrS", 4))
		return "not a bzImage (no HdrS at 0x202)";
	if ((img[HDR_VERSION] | img[HDR_VERSION + 1] << 8) < 0x208)
		return "boot protocol older than 2.08: no payload fields";
	setup_sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	pm_off = (setup_sects + 1) * 512;
	*off = pm_off + rd32(img + HDR_PAYLOAD_OFFSET);
	*plen = rd32(img + HDR_PAYLOAD_LENGTH);
	if (pm_off > len || *off > len || *plen > len - *off || *plen < 8)
		return "payload_offset/payload_length point outside the file";
	return NULL;
}

static const struct format *detect(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (len >= formats[i].magic_len &&
		    !memcmp(p, formats[i].magic, formats[i].magic_len))
			return &formats[i];
	return NULL;
}

static int write_file(const char *path, const uint8_t *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	int err = 0;

	if (!f)
		return -errno;
	if (fwrite(p, 1, len, f) != len)
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

int main(int argc, char **argv)
{
	const struct format *fmt;
	const char *why;
	uint8_t *img = NULL;
	size_t len = 0, off, plen;
	int err;

	if (argc != 3) {
		fprintf(stderr, "usage: %s BZIMAGE OUT\n", argv[0]);
		return 2;
	}
	err = read_file(argv[1], &img, &len);
	if (err) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	why = find_payload(img, len, &off, &plen);
	fmt = why ? NULL : detect(img + off, plen);
	if (!why && !fmt)
		why = "unknown compression format";
	if (why) {
		fprintf(stderr, "%s: %s\n", argv[1], why);
		free(img);
		return 1;
	}
	err = write_file(argv[2], img + off, plen - (fmt->size_appended ? 4 : 0));
	if (err)
		fprintf(stderr, "%s: %s\n", argv[2], strerror(-err));
	else
		printf("%s %u\n", fmt->name, rd32(img + off + plen - 4));
	free(img);
	return err ? 1 : 0;
}
