// SPDX-License-Identifier: MIT
/* Small helpers shared by the coordinator, the node and the supervisor. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coordinator/ctl.h"
#include "core/core.h"

static volatile sig_atomic_t stop_signal;

uint64_t ctl_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t ctl_now_ms(void)
{
	return ctl_now_us() / 1000;
}

uint64_t ctl_stall_ms(uint64_t t0, long timeout_ms, uint64_t now)
{
	uint64_t expected = t0 + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) + 20;

	return now > expected ? now - expected : 0;
}

int ctl_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int ctl_parse_dilation(const char *s, unsigned int *out)
{
	unsigned long long v;

	if (s && !strcmp(s, "auto")) {
		*out = vm_host_slowdown();
		return 0;
	}
	if (ctl_parse_uint(s, VM_MAX_DILATION, &v) || !v)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

void ctl_log(const char *who, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one write per line so that lines of several processes do not mix */
	fprintf(stderr, "rackvm %s: %s\n", who, line);
}

static void on_signal(int sig)
{
	stop_signal = sig;
}

void ctl_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: zmq_poll must return EINTR so the loop sees the flag */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

bool ctl_stop_requested(void)
{
	return stop_signal != 0;
}

int ctl_stop_signal(void)
{
	return stop_signal;
}
