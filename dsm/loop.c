// SPDX-License-Identifier: MIT
/*
 * The fault service: one thread, one epoll over the userfaultfd, the
 * transport's wait fd and a stop eventfd. Every handler runs to completion
 * without waiting on the network (a page's data is a one-sided read whose
 * completion is just another event), so any number of faults can be in
 * flight. The thread is the only caller of xport_poll; it hands what is not
 * the DSM's to cfg->on_msg.
 */
#include <errno.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "dsm/dsm_priv.h"

#define EV_BATCH      32
#define IDLE_POLL_MS  100 /* only a safety net: the fds say when to work */
#define LOG_DROPS_MAX 32

void dsm_drop(struct dsm *d, uint32_t from, const struct dsm_msg *m, const char *why)
{
	STAT_ADD(d->st.bad_msgs, 1);
	if (d->logged++ < LOG_DROPS_MAX || d->cfg.verbose)
		dsm_log(d, "dropped %s for page %llu from node %u: %s",
			dsm_msg_name(m->type), (unsigned long long)m->page, from, why);
}

static int localq_push(struct dsm_localq *q, const struct dsm_msg *m)
{
	if (q->len == q->cap) {
		uint32_t cap = q->cap ? q->cap * 2 : 64;
		struct dsm_msg *n = malloc(cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		for (uint32_t i = 0; i < q->len; i++)
			n[i] = q->msgs[(q->head + i) % q->cap];
		free(q->msgs);
		q->msgs = n;
		q->cap = cap;
		q->head = 0;
	}
	q->msgs[(q->head + q->len++) % q->cap] = *m;
	return 0;
}

int dsm_send(struct dsm *d, uint32_t dst, uint8_t type, uint64_t page, uint8_t mode,
	     uint32_t src)
{
	struct dsm_msg m;
	int err;

	dsm_msg_encode(&m, type, page, mode, src);
	if (dst == d->cfg.node_id)
		err = localq_push(&d->localq, &m);
	else
		err = xport_send(d->cfg.xport, dst, DSM_XPORT_TYPE, &m, sizeof(m));
	if (err)
		dsm_log(d, "sending %s for page %llu to node %u: %s", dsm_msg_name(type),
			(unsigned long long)page, dst, strerror(-err));
	else
		STAT_ADD(d->st.msgs_sent, 1);
	return err;
}

static void dispatch(struct dsm *d, uint32_t from, const void *buf, size_t len)
{
	struct dsm_msg m;
	const char *why = dsm_msg_check(buf, len, from, &d->wire, &m);

	STAT_ADD(d->st.msgs_recv, 1);
	if (why) {
		struct dsm_msg raw = {0};

		memcpy(&raw, buf, len < sizeof(raw) ? len : sizeof(raw));
		raw.page = len == sizeof(raw) ? raw.page : 0;
		dsm_drop(d, from, &raw, why);
		return;
	}
	switch (m.type) {
	case DSM_READ_REQ:
	case DSM_WRITE_REQ:
	case DSM_UPGRADE_REQ:
		dsm_dir_request(d, from, &m);
		return;
	case DSM_INV_ACK:
	case DSM_DOWNGRADE_ACK:
		dsm_dir_ack(d, from, &m);
		return;
	case DSM_DONE:
		dsm_dir_done(d, from, &m);
		return;
	default:
		dsm_cache_msg(d, from, &m);
		return;
	}
}

static void drain_localq(struct dsm *d)
{
	struct dsm_localq *q = &d->localq;

	while (q->len) {
		struct dsm_msg m = q->msgs[q->head];

		q->head = (q->head + 1) % q->cap;
		q->len--;
		dispatch(d, d->cfg.node_id, &m, sizeof(m));
	}
}

static void xport_event(struct dsm *d, const struct xport_event *ev)
{
	bool ours_read = ev->kind == XPORT_EV_READ &&
			 (ev->cookie & ~((1ULL << 56) - 1)) == DSM_COOKIE_TAG;

	if (ev->kind == XPORT_EV_RECV && ev->type == DSM_XPORT_TYPE)
		dispatch(d, ev->src, ev->data, ev->len);
	else if (ours_read)
		dsm_cache_read_done(d, ev->cookie & ((1ULL << 56) - 1), ev->status);
	else if (d->cfg.on_msg)
		d->cfg.on_msg(d->cfg.on_msg_arg, ev);
}

/* Returns how many events were handled, or -errno. */
static int poll_xport(struct dsm *d)
{
	struct xport_event ev[EV_BATCH];
	int n, total = 0;

	if (!d->cfg.xport)
		return 0;
	do {
		n = xport_poll(d->cfg.xport, ev, EV_BATCH);
		if (n < 0)
			return n;
		for (int i = 0; i < n; i++)
			xport_event(d, &ev[i]);
		total += n;
	} while (n == EV_BATCH);
	return total;
}

static int read_faults(struct dsm *d)
{
	struct uffd_msg msg[EV_BATCH];
	ssize_t r;
	int total = 0;

	for (;;) {
		r = read(d->uffd, msg, sizeof(msg));
		if (r < 0)
			return errno == EAGAIN ? total : -errno;
		for (size_t i = 0; i < (size_t)r / sizeof(msg[0]); i++) {
			if (msg[i].event != UFFD_EVENT_PAGEFAULT)
				continue;
			dsm_cache_fault(d, msg[i].arg.pagefault.address,
					msg[i].arg.pagefault.flags,
					(int32_t)msg[i].arg.pagefault.feat.ptid);
		}
		total += (int)((size_t)r / sizeof(msg[0]));
	}
}

static int loop_setup(struct dsm *d, int *epfd)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		return -errno;
	ev.data.fd = d->uffd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, d->uffd, &ev))
		goto err_close_ep;
	ev.data.fd = d->stop_fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, d->stop_fd, &ev))
		goto err_close_ep;
	if (d->cfg.xport) {
		int fd = xport_wait_fd(d->cfg.xport);

		ev.data.fd = fd;
		if (fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
			goto err_close_ep;
	}
	*epfd = ep;
	return 0;

err_close_ep:
	close(ep);
	return -EIO;
}

static bool stop_requested(struct dsm *d)
{
	struct pollfd p = {.fd = d->stop_fd, .events = POLLIN};

	return poll(&p, 1, 0) > 0;
}

/*
 * After any work, keep polling for DSM_SPIN_NS before sleeping: a fault's
 * next message is usually a round trip away, and waking from epoll costs
 * tens of µs (hundreds on providers with no wait object, like shm).
 */
#define DSM_SPIN_NS 50000ULL

static uint64_t loop_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void *dsm_loop(void *arg)
{
	struct dsm *d = arg;
	struct epoll_event ev[4];
	int ep = -1, err = loop_setup(d, &ep);
	uint64_t spin_until = 0;

	if (err) {
		dsm_log(d, "fault service cannot start: %s", strerror(-err));
		return NULL;
	}
	while (!stop_requested(d)) {
		int busy = 0, timeout_ms = IDLE_POLL_MS;

		/* Work until a pass finds nothing: only then is the transport's
		 * wait fd armed (its poll returned 0), so sleeping is safe. */
		drain_localq(d);
		busy += dsm_hold_run(d, loop_now_ns(), &timeout_ms) > 0;
		err = read_faults(d);
		busy += err > 0;
		if (err >= 0)
			err = poll_xport(d);
		busy += err > 0;
		if (err < 0) {
			dsm_log(d, "fault service stops: %s", strerror(-err));
			break;
		}
		if (busy || d->localq.len) {
			spin_until = loop_now_ns() + DSM_SPIN_NS;
			continue;
		}
		if (loop_now_ns() < spin_until) {
			__builtin_ia32_pause();
			continue;
		}
		if (epoll_wait(ep, ev, 4, timeout_ms) < 0 && errno != EINTR) {
			dsm_log(d, "epoll_wait: %s", strerror(errno));
			break;
		}
	}
	close(ep);
	return NULL;
}
