// SPDX-License-Identifier: MIT
/*
 * The floor under every DSM fault: an empty userfaultfd round trip measured
 * the way the DSM takes its faults. A memfd mapped twice; the pages are put
 * in the page cache through the alias, the other view is registered for
 * MINOR faults; a handler thread (same CPU, as the DSM thread is) sleeps in
 * poll() on the uffd, as the DSM's epoll loop does, and answers each fault
 * with UFFDIO_CONTINUE.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/dsm_bench.h"

#ifndef UFFD_FEATURE_MINOR_SHMEM
#define UFFD_FEATURE_MINOR_SHMEM (1 << 10)
#endif
#ifndef UFFDIO_REGISTER_MODE_MINOR
#define UFFDIO_REGISTER_MODE_MINOR ((__u64)1 << 2)
#endif

#define DB_PAGE 4096u

double db_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

void db_stat_fill(struct db_stat *s, double *v, unsigned int n)
{
	double sum = 0;

	for (unsigned int i = 0; i < n; i++)
		sum += v[i];
	s->n = n;
	s->mean = n ? sum / n : 0;
	s->p50 = bench_percentile(v, n, 50);
	s->p99 = bench_percentile(v, n, 99);
}

struct db_uffd {
	int uffd, stop; /* stop: an eventfd that ends the handler */
	uint8_t *view;
	size_t len;
};

/* Answers MINOR faults until @stop becomes readable. */
static void *db_uffd_handler(void *arg)
{
	struct db_uffd *u = arg;
	struct pollfd pf[2] = {{.fd = u->uffd, .events = POLLIN},
			       {.fd = u->stop, .events = POLLIN}};
	struct uffd_msg m;

	while (poll(pf, 2, -1) >= 0 && !pf[1].revents) {
		if (read(u->uffd, &m, sizeof(m)) != sizeof(m) ||
		    m.event != UFFD_EVENT_PAGEFAULT)
			continue; /* EAGAIN: woken for nothing */
		uint64_t addr = m.arg.pagefault.address & ~(uint64_t)(DB_PAGE - 1);
		struct uffdio_continue c = {.range = {.start = addr, .len = DB_PAGE}};

		if (ioctl(u->uffd, UFFDIO_CONTINUE, &c) && errno != EEXIST)
			break;
	}
	return NULL;
}

static int db_uffd_open(struct db_uffd *u)
{
	struct uffdio_api api = {.api = UFFD_API, .features = UFFD_FEATURE_MINOR_SHMEM};
	struct uffdio_register reg = {
	    .range = {.start = (uint64_t)(uintptr_t)u->view, .len = u->len},
	    .mode = UFFDIO_REGISTER_MODE_MINOR};

	u->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (u->uffd < 0)
		return -errno;
	if (ioctl(u->uffd, UFFDIO_API, &api) || ioctl(u->uffd, UFFDIO_REGISTER, &reg)) {
		int err = -errno;

		close(u->uffd);
		return err;
	}
	return 0;
}

/* Touches each page of the view once, timing the fault. */
static int db_uffd_touch(struct db_uffd *u, unsigned int n, struct db_stat *out)
{
	unsigned int warm = n / 10, total = n + warm;
	double *s = calloc(n, sizeof(*s));
	pthread_t th;
	int err;

	if (!s)
		return -ENOMEM;
	err = -pthread_create(&th, NULL, db_uffd_handler, u);
	if (err)
		goto out_free;
	for (unsigned int i = 0; i < total; i++) {
		double t0 = db_now_us();

		(void)*(volatile uint8_t *)(u->view + (size_t)i * DB_PAGE);
		if (i >= warm)
			s[i - warm] = db_now_us() - t0;
	}
	uint64_t one = 1;
	if (write(u->stop, &one, sizeof(one)) != sizeof(one))
		err = -errno; /* cannot happen on a fresh eventfd; join would hang */
	else
		pthread_join(th, NULL);
	db_stat_fill(out, s, n);
out_free:
	free(s);
	return err;
}

int db_uffd_ref(unsigned int n, struct db_stat *out)
{
	struct db_uffd u = {.len = (size_t)(n + n / 10) * DB_PAGE};
	int memfd = memfd_create("rackvm-bench-uffd", MFD_CLOEXEC), err;
	uint8_t *alias;

	if (memfd < 0)
		return -errno;
	err = ftruncate(memfd, (off_t)u.len) ? -errno : 0;
	if (err)
		goto out_close_memfd;
	alias = mmap(NULL, u.len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	u.view = mmap(NULL, u.len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (alias == MAP_FAILED || u.view == MAP_FAILED) {
		err = -errno;
		goto out_unmap;
	}
	memset(alias, 0x5a, u.len); /* in the page cache: MINOR faults only */
	u.stop = eventfd(0, EFD_CLOEXEC);
	if (u.stop < 0) {
		err = -errno;
		goto out_unmap;
	}
	err = db_uffd_open(&u);
	if (err)
		goto out_close_stop;
	err = db_uffd_touch(&u, n, out);
	close(u.uffd);
out_close_stop:
	close(u.stop);
out_unmap:
	if (alias != MAP_FAILED)
		munmap(alias, u.len);
	if (u.view != MAP_FAILED)
		munmap(u.view, u.len);
out_close_memfd:
	close(memfd);
	return err;
}
