// SPDX-License-Identifier: MIT
/*
 * Linux loader: reading the images, telling a bzImage from a vmlinux, the
 * e820 map, and the pieces both boot paths share (cmdline, initrd).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/linux.h"

int linux_fail(struct linux_boot *out, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->error, sizeof(out->error), fmt, ap);
	va_end(ap);
	return err;
}

unsigned int linux_e820_build(const struct guest_mem *gm, struct linux_e820 *e)
{
	unsigned int n = 0;

	if (gm->low_size < 2 * LINUX_HIGH_START)
		return 0;
	e[n++] = (struct linux_e820){0, LINUX_EBDA_START, LINUX_E820_RAM};
	/* EBDA, VGA hole and BIOS area: the ACPI tables live up here */
	e[n++] = (struct linux_e820){
	    LINUX_EBDA_START, LINUX_HIGH_START - LINUX_EBDA_START, LINUX_E820_RESERVED};
	e[n++] = (struct linux_e820){LINUX_HIGH_START, gm->low_size - LINUX_HIGH_START,
				     LINUX_E820_RAM};
	if (gm->size > gm->low_size)
		e[n++] = (struct linux_e820){GMEM_HIGH_START, gm->size - gm->low_size,
					     LINUX_E820_RAM};
	return n;
}

int linux_write_cmdline(struct guest_mem *gm, const char *cmdline, size_t max_len,
			struct linux_boot *out)
{
	size_t len = cmdline ? strlen(cmdline) : 0;
	char *dst;

	if (max_len > LINUX_CMDLINE_MAX - 1)
		max_len = LINUX_CMDLINE_MAX - 1;
	if (len > max_len)
		return linux_fail(
		    out, -EINVAL,
		    "kernel command line is %zu bytes, the kernel takes at most %zu", len,
		    max_len);
	dst = gmem_ptr(gm, LINUX_CMDLINE, len + 1);
	if (!dst)
		return linux_fail(out, -EINVAL, "no guest RAM for the command line");
	memcpy(dst, cmdline ? cmdline : "", len + 1);
	return 0;
}

int linux_place_initrd(struct guest_mem *gm, const uint8_t *initrd, size_t initrd_len,
		       uint64_t lo, uint64_t top, struct linux_boot *out)
{
	uint64_t gpa;
	void *dst;

	out->initrd_gpa = 0;
	out->initrd_size = 0;
	if (!initrd)
		return 0;
	if (initrd_len == 0)
		return linux_fail(out, -ENOEXEC, "initrd is empty");
	if (top < lo || initrd_len > top - lo || ((top - initrd_len) & ~0xfffULL) < lo)
		return linux_fail(
		    out, -ENOEXEC,
		    "initrd (%zu bytes) does not fit in guest RAM between the "
		    "kernel's end 0x%llx and 0x%llx: give the guest more memory",
		    initrd_len, (unsigned long long)lo, (unsigned long long)top);
	gpa = (top - initrd_len) & ~0xfffULL;
	dst = gmem_ptr(gm, gpa, initrd_len);
	if (!dst)
		return linux_fail(out, -ENOEXEC, "initrd range 0x%llx is not guest RAM",
				  (unsigned long long)gpa);
	memcpy(dst, initrd, initrd_len);
	out->initrd_gpa = gpa;
	out->initrd_size = initrd_len;
	return 0;
}

int linux_load_image(struct guest_mem *gm, const void *kernel, size_t kernel_len,
		     const void *initrd, size_t initrd_len,
		     const struct linux_load_args *a, struct linux_boot *out)
{
	memset(out, 0, sizeof(*out));
	out->nr_e820 = linux_e820_build(gm, out->e820);
	if (!out->nr_e820)
		return linux_fail(out, -ENOEXEC,
				  "guest RAM (%llu bytes) is too small for Linux",
				  (unsigned long long)gm->size);
	if (kernel_len >= 4 && !memcmp(kernel, "\177ELF", 4))
		return linux_load_pvh(gm, kernel, kernel_len, initrd, initrd_len, a, out);
	return linux_load_bzimage(gm, kernel, kernel_len, initrd, initrd_len, a, out);
}

/* Map @path read-only; an empty file maps nothing and is left to the caller. */
static int map_file(const char *path, void **p, size_t *len, struct linux_boot *out)
{
	struct stat st;
	int fd, err = 0;

	*p = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		err = -errno;
		goto err_fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto err_fail;
	}
	*len = (size_t)st.st_size;
	if (*len) {
		*p = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (*p == MAP_FAILED) {
			err = -errno;
			*p = NULL;
			goto err_fail;
		}
	}
	close(fd);
	return 0;

err_fail:
	if (fd >= 0)
		close(fd);
	return linux_fail(out, err, "%s: %s", path,
			  err == -EINVAL ? "not a regular file" : strerror(-err));
}

int linux_load(struct guest_mem *gm, const struct linux_load_args *a,
	       struct linux_boot *out)
{
	void *kernel, *initrd = NULL;
	size_t kernel_len, initrd_len = 0;
	char why[sizeof(out->error)];
	int err;

	memset(out, 0, sizeof(*out));
	err = map_file(a->kernel, &kernel, &kernel_len, out);
	if (err)
		return err;
	if (a->initrd) {
		err = map_file(a->initrd, &initrd, &initrd_len, out);
		if (err)
			goto err_unmap_kernel;
		if (!initrd_len) /* not NULL: "given but empty" is an error */
			initrd = (void *)"";
	}
	err = linux_load_image(gm, kernel ? kernel : "", kernel_len, initrd, initrd_len,
			       a, out);
	if (err) {
		memcpy(why, out->error, sizeof(why));
		snprintf(out->error, sizeof(out->error), "%s: %.200s", a->kernel, why);
	}
	if (initrd_len)
		munmap(initrd, initrd_len);
err_unmap_kernel:
	if (kernel_len)
		munmap(kernel, kernel_len);
	return err;
}
