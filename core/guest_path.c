// SPDX-License-Identifier: MIT
/* Guest image files: where the defaults live, and reading one whole. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/vmm.h"

/* RACKVM_GUEST_DIR from the environment, else guest/ next to the binary. */
int guest_default_path(const char *name, char *out, size_t len)
{
	const char *env = getenv("RACKVM_GUEST_DIR");
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env && *env)
		return snprintf(out, len, "%s/%s", env, name) < (int)len ? 0 : -ENAMETOOLONG;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -errno;
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	return snprintf(out, len, "%s/guest/%s", exe, name) < (int)len ? 0 : -ENAMETOOLONG;
}

int file_read_all(const char *path, void **buf, size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto err_close;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EISDIR;
		goto err_close;
	}
	*len = (size_t)st.st_size;
	*buf = malloc(*len ? *len : 1);
	if (!*buf) {
		err = -ENOMEM;
		goto err_close;
	}
	for (size_t done = 0; done < *len; done += (size_t)n) {
		n = read(fd, (char *)*buf + done, *len - done);
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			free(*buf);
			goto err_close;
		}
	}
	close(fd);
	return 0;

err_close:
	close(fd);
	return err;
}
