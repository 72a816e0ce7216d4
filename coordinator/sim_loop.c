// SPDX-License-Identifier: MIT
/*
 * rackvm sim: pump every host's console until each has powered off, and
 * stop early, naming the host, when one dies before it came up, powers off
 * without an exit status, or misses the deadline; or when we get a signal.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coordinator/cli.h"
#include "coordinator/sim.h"

/* The console reached EOF: QEMU has exited (or is about to); reap it. */
static int host_ended(struct sim_host *h)
{
	char ip[32];
	int st = 0;

	close(h->out_fd);
	h->out_fd = -1;
	while (waitpid(h->pid, &st, 0) < 0 && errno == EINTR)
		;
	h->pid = 0;
	h->wait_status = st;
	if (h->status >= 0)
		return 0;
	sim_host_ip(h->index, ip, sizeof(ip));
	if (!h->up)
		fprintf(stderr,
			"rackvm sim: host %u (%s): QEMU exited (%s %d) before the host "
			"came up\n",
			h->index, ip, WIFEXITED(st) ? "status" : "signal",
			WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	else
		fprintf(stderr,
			"rackvm sim: host %u (%s) stopped without reporting its "
			"command's exit status (kernel panic or QEMU failure)\n",
			h->index, ip);
	sim_host_log_tail(h, 15);
	return RACKVM_EXIT_PEER;
}

static int host_read(struct sim *s, unsigned int k)
{
	struct sim_host *h = &s->host[k];
	char buf[4096];
	ssize_t n;

	n = read(h->out_fd, buf, sizeof(buf));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : host_ended(h);
	if (n == 0)
		return host_ended(h);
	sim_host_input(s, k, buf, (size_t)n);
	return 0;
}

static int timed_out(struct sim *s)
{
	for (unsigned int k = 0; k < s->o.hosts; k++) {
		struct sim_host *h = &s->host[k];
		char ip[32];

		if (h->status >= 0 || h->out_fd < 0)
			continue;
		sim_host_ip(k, ip, sizeof(ip));
		if (!h->up)
			fprintf(stderr,
				"rackvm sim: host %u (%s) did not come up within %u s\n",
				k, ip, s->o.timeout_s);
		else
			fprintf(stderr,
				"rackvm sim: host %u (%s): its command did not finish "
				"within %u s\n",
				k, ip, s->o.timeout_s);
		sim_host_log_tail(h, 10);
	}
	return RACKVM_EXIT_PEER;
}

static int got_signal(struct sim *s)
{
	struct signalfd_siginfo si;

	if (read(s->sigfd, &si, sizeof(si)) != sizeof(si))
		return 0;
	fprintf(stderr, "rackvm sim: %s: stopping the hosts\n",
		strsignal((int)si.ssi_signo));
	return 128 + (int)si.ssi_signo;
}

int sim_loop(struct sim *s)
{
	double deadline = sim_now() + s->o.timeout_s;
	struct pollfd pfd[SIM_MAX_HOSTS + 1];
	unsigned int map[SIM_MAX_HOSTS];

	for (;;) {
		unsigned int n = 0;
		double left = deadline - sim_now();
		int st = 0;

		for (unsigned int k = 0; k < s->o.hosts; k++) {
			if (s->host[k].out_fd < 0)
				continue;
			map[n] = k;
			pfd[n++] =
			    (struct pollfd){.fd = s->host[k].out_fd, .events = POLLIN};
		}
		if (!n)
			return 0;
		if (left <= 0)
			return timed_out(s);
		pfd[n] = (struct pollfd){.fd = s->sigfd, .events = POLLIN};
		if (poll(pfd, n + 1, (int)(left * 1000) + 1) < 0 && errno != EINTR)
			return RACKVM_EXIT_HOST;
		if (pfd[n].revents & POLLIN)
			st = got_signal(s);
		for (unsigned int i = 0; i < n && !st; i++)
			if (pfd[i].revents)
				st = host_read(s, map[i]);
		if (st)
			return st;
	}
}
