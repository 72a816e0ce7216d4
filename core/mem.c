// SPDX-License-Identifier: MIT
/* Guest RAM: one memfd, split around the 3 GiB hole. */
#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/mem.h"

static void gmem_layout(struct guest_mem *gm, uint64_t size)
{
	gm->size = size;
	gm->low_size = size < GMEM_HOLE_START ? size : GMEM_HOLE_START;
}

void gmem_init_external(struct guest_mem *gm, void *host, int fd, uint64_t size)
{
	gmem_layout(gm, size);
	gm->host = host;
	gm->fd = fd;
	gm->external = true;
}

uint64_t gmem_gpa_of(const struct guest_mem *gm, uint64_t off)
{
	return off < gm->low_size ? off : GMEM_HIGH_START + (off - gm->low_size);
}

int gmem_init(struct guest_mem *gm, uint64_t size)
{
	int err;

	gmem_layout(gm, size);
	gm->external = false;
	gm->fd = memfd_create("rackvm-ram", MFD_CLOEXEC);
	if (gm->fd < 0)
		return -errno;
	if (ftruncate(gm->fd, (off_t)size) < 0) {
		err = -errno;
		goto err_close_fd;
	}
	gm->host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
			gm->fd, 0);
	if (gm->host == MAP_FAILED) {
		err = -errno;
		goto err_close_fd;
	}
	return 0;

err_close_fd:
	close(gm->fd);
	gm->fd = -1;
	return err;
}

void gmem_destroy(struct guest_mem *gm)
{
	if (gm->external) {
		gm->host = NULL;
		return;
	}
	if (gm->host && gm->host != MAP_FAILED)
		munmap(gm->host, gm->size);
	if (gm->fd >= 0)
		close(gm->fd);
	gm->host = NULL;
	gm->fd = -1;
}

void *gmem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	uint64_t high_size = gm->size - gm->low_size;

	if (gpa <= gm->low_size && len <= gm->low_size - gpa)
		return gm->host + gpa;
	if (gpa >= GMEM_HIGH_START && gpa - GMEM_HIGH_START <= high_size &&
	    len <= high_size - (gpa - GMEM_HIGH_START))
		return gm->host + gm->low_size + (gpa - GMEM_HIGH_START);
	return NULL;
}
