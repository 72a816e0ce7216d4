// SPDX-License-Identifier: MIT
/*
 * The host mapping of a DSM region: one memfd mapped twice. The guest view
 * is registered with userfaultfd (MISSING + MINOR, and WP where the kernel
 * has it for shmem); the alias view is never registered, so the DSM (and the
 * transport, reading pages for peers) can always reach the data. A page is
 * filled through the alias and then mapped into the guest view with
 * UFFDIO_CONTINUE, which works whether the fault was MISSING or MINOR because
 * the alias write has put the page in the page cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dsm/dsm_priv.h"

/* Debian 12's headers are older than the kernels we run on. */
#ifndef UFFD_FEATURE_THREAD_ID
#define UFFD_FEATURE_THREAD_ID (1 << 8)
#endif
#ifndef UFFD_FEATURE_MINOR_SHMEM
#define UFFD_FEATURE_MINOR_SHMEM (1 << 10)
#endif
#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1 << 12)
#endif
#ifndef UFFDIO_REGISTER_MODE_MINOR
#define UFFDIO_REGISTER_MODE_MINOR ((__u64)1 << 2)
#endif
#ifndef UFFDIO_CONTINUE_MODE_WP
#define UFFDIO_CONTINUE_MODE_WP ((__u64)1 << 1)
#endif

static int uffd_open(uint64_t features, uint64_t *supported)
{
	struct uffdio_api api = {.api = UFFD_API, .features = features};
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api)) {
		int err = -errno;

		close(fd);
		return err;
	}
	*supported = api.features;
	return fd;
}

/* Whether UFFDIO_CONTINUE takes MODE_WP (map a page read-only in one step;
 * Linux 6.1 refuses it with EINVAL), tried on a throw-away one-page memfd. */
static bool continue_wp_works(uint64_t features)
{
	struct uffdio_continue c = {.range.len = DSM_PAGE_SIZE,
				    .mode = UFFDIO_CONTINUE_MODE_WP};
	struct uffdio_register reg = {.range.len = DSM_PAGE_SIZE,
				      .mode = UFFDIO_REGISTER_MODE_MINOR |
					      UFFDIO_REGISTER_MODE_WP};
	int mfd = memfd_create("rackvm-dsm-probe", MFD_CLOEXEC), ufd = -1;
	uint8_t *view = MAP_FAILED;
	bool ok = false;
	uint64_t have = 0;

	if (mfd < 0 || ftruncate(mfd, DSM_PAGE_SIZE))
		goto out;
	view = mmap(NULL, DSM_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (view == MAP_FAILED || pwrite(mfd, "x", 1, 0) != 1) /* in the page cache */
		goto out;
	ufd = uffd_open(features, &have);
	reg.range.start = c.range.start = (uintptr_t)view;
	if (ufd >= 0 && !ioctl(ufd, UFFDIO_REGISTER, &reg))
		ok = !ioctl(ufd, UFFDIO_CONTINUE, &c);
out:
	if (ufd >= 0)
		close(ufd);
	if (view != MAP_FAILED)
		munmap(view, DSM_PAGE_SIZE);
	if (mfd >= 0)
		close(mfd);
	return ok;
}

/* UFFDIO_API takes features once per fd: probe on a throw-away fd first. */
static int uffd_setup(struct dsm *d)
{
	uint64_t have = 0, want = UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_MINOR_SHMEM |
			      UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
	int fd = uffd_open(0, &have);

	if (fd < 0) {
		dsm_log(d, "userfaultfd: %s (root, or vm.unprivileged_userfaultfd=1)",
			strerror(-fd));
		return fd;
	}
	close(fd);
	if (!(have & UFFD_FEATURE_MINOR_SHMEM)) {
		dsm_log(
		    d, "userfaultfd lacks MINOR faults on shmem (kernel >= 5.14 needed)");
		return -EOPNOTSUPP;
	}
	fd = uffd_open(want & have, &have);
	if (fd < 0)
		return fd;
	d->uffd = fd;
	d->uffd_features = have;
	/* Read-only copies (S) need write-protected mappings; without them every
	 * fault takes the page exclusively (M): coherent, only slower. */
	d->have_wp = (have & UFFD_FEATURE_WP_HUGETLBFS_SHMEM) && continue_wp_works(want & have) &&
		     !getenv("RACKVM_DSM_NO_WP"); /* tests: the path of older kernels */
	if (!d->have_wp)
		dsm_log(d, "userfaultfd cannot map shared memory read-only here: "
			   "every fault takes its page exclusively");
	struct uffdio_register reg = {
	    .range = {.start = (uintptr_t)d->guest, .len = d->cfg.region_size},
	    .mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_MINOR |
		    (d->have_wp ? UFFDIO_REGISTER_MODE_WP : 0),
	};
	if (ioctl(fd, UFFDIO_REGISTER, &reg)) {
		int err = -errno;

		dsm_log(d, "UFFDIO_REGISTER of the guest view: %s", strerror(errno));
		return err;
	}
	return 0;
}

int dsm_map_create(struct dsm *d)
{
	size_t len = d->cfg.region_size;
	int err;

	d->memfd = memfd_create("rackvm-dsm", MFD_CLOEXEC);
	if (d->memfd < 0)
		return -errno;
	if (ftruncate(d->memfd, (off_t)len))
		goto err_errno;
	d->guest = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, d->memfd, 0);
	if (d->guest == MAP_FAILED)
		goto err_errno;
	d->alias = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, d->memfd, 0);
	if (d->alias == MAP_FAILED)
		goto err_unmap_guest;
	err = uffd_setup(d);
	if (err)
		goto err_unmap_alias;
	return 0;

err_errno:
	err = -errno;
	goto err_close_memfd;
err_unmap_guest:
	err = -errno;
	munmap(d->guest, len);
	goto err_close_memfd;
err_unmap_alias:
	munmap(d->alias, len);
	munmap(d->guest, len);
err_close_memfd:
	close(d->memfd);
	d->memfd = -1;
	d->guest = d->alias = NULL;
	return err;
}

void dsm_map_destroy(struct dsm *d)
{
	if (d->uffd >= 0)
		close(d->uffd);
	if (d->alias)
		munmap(d->alias, d->cfg.region_size);
	if (d->guest)
		munmap(d->guest, d->cfg.region_size);
	if (d->memfd >= 0)
		close(d->memfd);
}

/* The kernel says EAGAIN while the mm is changing under it: try again. */
static int uffd_ioctl(struct dsm *d, unsigned long req, void *arg)
{
	for (;;) {
		if (!ioctl(d->uffd, req, arg))
			return 0;
		if (errno != EAGAIN)
			return -errno;
	}
}

static struct uffdio_range page_range(struct dsm *d, uint64_t page)
{
	return (struct uffdio_range){
	    .start = (uintptr_t)d->guest + (page << DSM_PAGE_SHIFT),
	    .len = DSM_PAGE_SIZE,
	};
}

static int set_wp(struct dsm *d, uint64_t page, bool wp)
{
	struct uffdio_writeprotect w = {.range = page_range(d, page),
					.mode = wp ? UFFDIO_WRITEPROTECT_MODE_WP : 0};

	if (!d->have_wp)
		return 0;
	return uffd_ioctl(d, UFFDIO_WRITEPROTECT, &w);
}

/* The alias holds the page: map it into the guest view (read-only for S)
 * and wake every thread waiting on it. */
int dsm_map_install(struct dsm *d, uint64_t page, uint8_t mode)
{
	struct uffdio_continue c = {
	    .range = page_range(d, page),
	    .mode = mode == DSM_S && d->have_wp ? UFFDIO_CONTINUE_MODE_WP : 0,
	};
	int err = uffd_ioctl(d, UFFDIO_CONTINUE, &c);

	if (err != -EEXIST)
		return err;
	/* Already mapped (a thread raced us in through another fault): make
	 * its protection right, then wake. */
	err = set_wp(d, page, mode == DSM_S);
	return err ? err : dsm_map_wake(d, page);
}

int dsm_map_zero(struct dsm *d, uint64_t page, uint8_t mode)
{
	memset(d->alias + (page << DSM_PAGE_SHIFT), 0, DSM_PAGE_SIZE);
	return dsm_map_install(d, page, mode);
}

int dsm_map_upgrade(struct dsm *d, uint64_t page)
{
	return set_wp(d, page, false); /* wakes the writers */
}

/* Returns once no guest write can still land: the kernel has flushed the
 * TLBs (and KVM's MMU notifier the shadow/EPT entries). */
int dsm_map_downgrade(struct dsm *d, uint64_t page)
{
	return set_wp(d, page, true);
}

/* The guest view loses the page; the alias keeps it for whoever reads it
 * next (the home names us as the data source). */
int dsm_map_invalidate(struct dsm *d, uint64_t page)
{
	if (madvise(d->guest + (page << DSM_PAGE_SHIFT), DSM_PAGE_SIZE, MADV_DONTNEED))
		return -errno;
	return 0;
}

int dsm_map_wake(struct dsm *d, uint64_t page)
{
	struct uffdio_range r = page_range(d, page);

	return uffd_ioctl(d, UFFDIO_WAKE, &r);
}
