// SPDX-License-Identifier: MIT
/*
 * The backend-independent half of a transport: identity, the queue of
 * events waiting for xport_poll, validation of received messages, and the
 * wait fd (an epoll set of the backend's completion fd, an eventfd for
 * events queued by other threads, and a timerfd for delayed ones).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "interconnect/xport_priv.h"

#define XB_LOG_LIMIT 20

uint64_t xb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void xb_log(struct xport_base *b, const char *fmt, ...)
{
	va_list ap;

	/* a peer spraying garbage must not flood the log */
	if (b->logged > XB_LOG_LIMIT)
		return;
	if (b->logged++ == XB_LOG_LIMIT) {
		fprintf(stderr, "rackvm xport: node %u: further reports suppressed\n",
			b->self);
		return;
	}
	fprintf(stderr, "rackvm xport: node %u: ", b->self);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int xb_add_wait_fd(struct xport_base *b, int fd)
{
	struct epoll_event ee = {.events = EPOLLIN};

	ee.data.fd = fd;
	return epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ee) ? -errno : 0;
}

static int xb_alloc_tables(struct xport_base *b)
{
	size_t n = b->max_nodes;

	b->tx_seq = calloc(n, sizeof(*b->tx_seq));
	b->rx_seq = calloc(n, sizeof(*b->rx_seq));
	b->remote = calloc(n * XB_NR_REGIONS, sizeof(*b->remote));
	b->regions_from = calloc(n, sizeof(*b->regions_from));
	b->st.ping_seen = calloc(n, sizeof(*b->st.ping_seen));
	b->st.pong_ok = calloc(n, sizeof(*b->st.pong_ok));
	b->st.read_status = calloc(n, sizeof(*b->st.read_status));
	b->scratch = aligned_alloc(XB_PAGE, XB_SCRATCH_SIZE);
	if (!b->tx_seq || !b->rx_seq || !b->remote || !b->regions_from ||
	    !b->st.ping_seen || !b->st.pong_ok || !b->st.read_status || !b->scratch)
		return -ENOMEM;
	memset(b->scratch, 0, XB_SCRATCH_SIZE);
	xb_scratch_fill(b->scratch, b->self);
	return 0;
}

static void xb_free_tables(struct xport_base *b)
{
	free(b->tx_seq);
	free(b->rx_seq);
	free(b->remote);
	free(b->regions_from);
	free(b->st.ping_seen);
	free(b->st.pong_ok);
	free(b->st.read_status);
	free(b->scratch);
}

static int xb_open_fds(struct xport_base *b)
{
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	b->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	b->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (b->epfd < 0 || b->evfd < 0 || b->tfd < 0)
		return -errno;
	if (xb_add_wait_fd(b, b->evfd) || xb_add_wait_fd(b, b->tfd))
		return -errno;
	return 0;
}

int xb_init(struct xport_base *b, const struct xport_config *cfg,
	    const struct xb_ops *bops, uint32_t max_nodes)
{
	int ret;

	b->pub.cfg = *cfg;
	b->bops = bops;
	b->epfd = b->evfd = b->tfd = -1;
	b->max_nodes = cfg->nr_nodes ? cfg->nr_nodes : max_nodes;
	b->nr_nodes = b->max_nodes;
	b->self = cfg->node_id;
	b->identity_set = cfg->nr_nodes != 0;
	b->delay_ns = (uint64_t)cfg->delay_us * 1000;
	b->stall_ns = (uint64_t)(cfg->stall_ms ? cfg->stall_ms : 1000) * 1000000;
	if (b->max_nodes > XPORT_MAX_NODES || b->self >= b->max_nodes) {
		fprintf(stderr,
			"rackvm xport: node id %u / %u nodes out of range (max %u)\n",
			cfg->node_id, cfg->nr_nodes, XPORT_MAX_NODES);
		return -EINVAL;
	}
	pthread_mutex_init(&b->lock, NULL);
	ret = xb_alloc_tables(b);
	if (ret)
		goto err_free_tables;
	ret = xb_open_fds(b);
	if (ret)
		goto err_close_fds;
	return 0;

err_close_fds:
	if (b->epfd >= 0)
		close(b->epfd);
	if (b->evfd >= 0)
		close(b->evfd);
	if (b->tfd >= 0)
		close(b->tfd);
err_free_tables:
	xb_free_tables(b);
	pthread_mutex_destroy(&b->lock);
	return ret;
}

static void xb_free_list(struct xb_pend *p)
{
	while (p) {
		struct xb_pend *next = p->next;
		free(p);
		p = next;
	}
}

void xb_fini(struct xport_base *b)
{
	xb_free_list(b->head);
	xb_free_list(b->delivered);
	xb_free_list(b->st.owed);
	close(b->epfd);
	close(b->evfd);
	close(b->tfd);
	xb_free_tables(b);
	pthread_mutex_destroy(&b->lock);
}

static void xb_set_timer(struct xport_base *b, uint64_t due_ns)
{
	struct itimerspec its = {0};

	its.it_value.tv_sec = (time_t)(due_ns / 1000000000ull);
	its.it_value.tv_nsec = (long)(due_ns % 1000000000ull);
	if (!due_ns)
		its.it_value.tv_nsec = 1; /* 0 would disarm; the past fires at once */
	timerfd_settime(b->tfd, TFD_TIMER_ABSTIME, &its, NULL);
	b->timer_set = true;
}

/* Wakes a poller that may be asleep on the wait fd for the new head. */
static void xb_wake(struct xport_base *b, uint64_t due_ns, uint64_t now)
{
	uint64_t one = 1;

	if (due_ns > now) {
		xb_set_timer(b, due_ns);
		return;
	}
	if (b->evfd_raised)
		return;
	if (write(b->evfd, &one, sizeof(one)) == sizeof(one))
		b->evfd_raised = true;
}

/* Keeps the queue sorted by due time, stable: equal delays keep arrival
 * order, so messages from one peer stay in order. */
static void xb_insert(struct xport_base *b, struct xb_pend *p)
{
	struct xb_pend **pp = &b->head;

	if (b->tail && b->tail->due_ns <= p->due_ns) {
		b->tail->next = p;
		b->tail = p;
		return;
	}
	while (*pp && (*pp)->due_ns <= p->due_ns)
		pp = &(*pp)->next;
	p->next = *pp;
	*pp = p;
	if (!p->next)
		b->tail = p;
}

static void xb_queue(struct xport_base *b, const struct xport_event *e, uint64_t delay_ns)
{
	size_t len = e->kind == XPORT_EV_RECV ? e->len : 0;
	struct xb_pend *p = malloc(sizeof(*p) + len);
	uint64_t now = xb_now_ns();

	if (!p) {
		xb_log(b, "out of memory: event from node %u dropped", e->src);
		return;
	}
	p->next = NULL;
	p->ev = *e;
	p->due_ns = now + delay_ns;
	if (len)
		memcpy(p->data, e->data, len);
	p->ev.data = len ? p->data : NULL;
	xb_insert(b, p);
	if (b->head == p)
		xb_wake(b, p->due_ns, now);
}

bool xb_emit(struct xport_base *b, struct xport_event *ev, int max, int *n,
	     const struct xport_event *e, uint64_t delay_ns)
{
	if (ev && *n < max && !b->head && !delay_ns) {
		ev[(*n)++] = *e;
		return true;
	}
	xb_queue(b, e, delay_ns);
	return false;
}

/* Hands out queued events that are due; frees what the last poll lent. */
static int xb_take(struct xport_base *b, struct xport_event *ev, int max)
{
	uint64_t now;
	int n = 0;

	xb_free_list(b->delivered);
	b->delivered = NULL;
	if (!b->head)
		return 0;
	now = xb_now_ns();
	while (b->head && n < max && b->head->due_ns <= now) {
		struct xb_pend *p = b->head;

		b->head = p->next;
		if (!b->head)
			b->tail = NULL;
		p->next = b->delivered;
		b->delivered = p;
		ev[n++] = p->ev;
	}
	return n;
}

/* Nothing to hand out: make sure the wait fd fires for whatever comes next. */
static int xb_arm(struct xport_base *b, struct xport_event *ev, int max)
{
	bool armed = false;
	uint64_t buf;
	int n, tries;

	for (tries = 0; tries < 4 && !armed; tries++) {
		n = b->bops->arm(b);
		if (n && n != -EAGAIN)
			return n;
		armed = !n;
		if (!armed) {
			n = b->bops->progress(b, ev, max);
			if (n)
				return n;
		}
	}
	if (b->evfd_raised && read(b->evfd, &buf, sizeof(buf)) == sizeof(buf))
		b->evfd_raised = false;
	if (b->timer_set) {
		if (read(b->tfd, &buf, sizeof(buf)) < 0 && errno != EAGAIN)
			return -errno;
		b->timer_set = false;
	}
	if (b->head)
		xb_wake(b, b->head->due_ns, xb_now_ns());
	if (!armed)
		xb_wake(b, 0, 1); /* the provider keeps saying "busy": stay readable */
	return 0;
}

int xb_poll(struct transport *t, struct xport_event *ev, int max)
{
	struct xport_base *b = xb_of(t);
	int n, ret;

	if (max <= 0 || !ev)
		return -EINVAL;
	pthread_mutex_lock(&b->lock);
	n = xb_take(b, ev, max);
	if (n < max) {
		ret = b->bops->progress(b, ev + n, max - n);
		if (ret < 0)
			goto out_unlock;
		n += ret;
	}
	if (b->st.owed)
		xb_flush_owed(b);
	ret = n || b->pub.cfg.busy_poll ? n : xb_arm(b, ev, max);
out_unlock:
	pthread_mutex_unlock(&b->lock);
	return ret;
}

int xb_wait_fd(struct transport *t)
{
	return xb_of(t)->epfd;
}
