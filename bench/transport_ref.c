// SPDX-License-Identifier: MIT
/*
 * The reference: libfabric's own fi_pingpong (libfabric-bin) for the same
 * provider and size, server on CPU 1 and client on CPU 0 like our nodes,
 * over 127.0.0.1 on a free port. Its usec/xfer is half a round trip.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/transport_bench.h"

#define TB_REF_TIMEOUT_MS 60000

static int tb_free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	if (!bind(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !getsockname(fd, (struct sockaddr *)&sa, &len))
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* Starts fi_pingpong on @cpu; its stdout goes to @out_fd (or /dev/null). */
static pid_t tb_spawn(const struct tb_opts *o, int cpu, const char *port_flag, int port,
		      size_t size, bool client, int out_fd)
{
	char iters[16], sz[16], portstr[16];
	pid_t pid;

	snprintf(iters, sizeof(iters), "%u", o->iters);
	snprintf(sz, sizeof(sz), "%zu", size);
	snprintf(portstr, sizeof(portstr), "%d", port);
	pid = fork();
	if (pid)
		return pid;
	if (o->pin)
		tb_pin(cpu);
	if (out_fd >= 0)
		dup2(out_fd, STDOUT_FILENO);
	else if (!freopen("/dev/null", "w", stdout))
		_exit(127);
	execlp("fi_pingpong", "fi_pingpong", "-p", o->provider, "-e", "rdm", "-I", iters,
	       "-S", sz, port_flag, portstr, client ? "127.0.0.1" : (char *)NULL,
	       (char *)NULL);
	_exit(127);
}

/* Reads the client's table: the column headed usec/xfer, next line. */
static double tb_parse(const char *out)
{
	const char *hdr = strstr(out, "usec/xfer"), *line, *p;
	int col = 0, i;
	double v;

	if (!hdr)
		return -1;
	for (line = hdr; line > out && line[-1] != '\n'; line--)
		;
	for (p = line; p < hdr; p++)
		if (p[0] != ' ' && (p == line || p[-1] == ' '))
			col++;
	p = strchr(hdr, '\n');
	if (!p)
		return -1;
	for (i = 0, p++; i < col; i++) {
		p += strspn(p, " \t");
		p += strcspn(p, " \t\n");
	}
	return sscanf(p, "%lf", &v) == 1 ? v : -1;
}

static int tb_collect(int fd, char *buf, size_t len)
{
	size_t used = 0;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	while (used + 1 < len) {
		ssize_t r;

		if (poll(&pfd, 1, TB_REF_TIMEOUT_MS) != 1)
			return -ETIMEDOUT;
		r = read(fd, buf + used, len - 1 - used);
		if (r <= 0)
			break;
		used += (size_t)r;
	}
	buf[used] = 0;
	return 0;
}

static bool tb_have_fi_pingpong(void)
{
	const char *path = getenv("PATH");
	char dir[4096], file[4200];

	for (const char *p = path ? path : "/usr/bin"; *p;) {
		size_t n = strcspn(p, ":");

		snprintf(dir, sizeof(dir), "%.*s", (int)n, p);
		snprintf(file, sizeof(file), "%s/fi_pingpong", dir);
		if (!access(file, X_OK))
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

/* Until something listens on 127.0.0.1:@port (from /proc/net/tcp, without
 * connecting: fi_pingpong's server takes the first connection as its peer). */
static bool tb_wait_listen(int port, int timeout_ms)
{
	char line[256], want[32];

	snprintf(want, sizeof(want), ":%04X 00000000:0000 0A", port);
	for (int waited = 0; waited < timeout_ms; waited += 10) {
		FILE *f = fopen("/proc/net/tcp", "r");
		bool found = false;

		while (f && !found && fgets(line, sizeof(line), f))
			found = strstr(line, want) != NULL;
		if (f)
			fclose(f);
		if (found)
			return true;
		usleep(10000);
	}
	return false;
}

double tb_fi_pingpong(const struct tb_opts *o, size_t size, char *why, size_t why_len)
{
	int port = tb_free_port(), pfd[2], st, ret;
	char out[8192];
	pid_t server, client;
	double half;

	if (!strcmp(o->provider, "verbs")) {
		snprintf(why, why_len, "fi_pingpong has no native verbs backend");
		return -1;
	}
	if (!tb_have_fi_pingpong()) {
		snprintf(why, why_len, "fi_pingpong not found (install libfabric-bin)");
		return -1;
	}
	if (port < 0 || pipe(pfd))
		return -1;
	fflush(NULL);
	server = tb_spawn(o, 1, "-B", port, size, false, -1);
	if (!tb_wait_listen(port, TB_REF_TIMEOUT_MS)) {
		kill(server, SIGKILL);
		waitpid(server, NULL, 0);
		close(pfd[0]);
		close(pfd[1]);
		snprintf(why, why_len, "fi_pingpong's server never listened on port %d", port);
		return -1;
	}
	client = tb_spawn(o, 0, "-P", port, size, true, pfd[1]);
	close(pfd[1]);
	ret = tb_collect(pfd[0], out, sizeof(out));
	close(pfd[0]);
	if (ret) {
		kill(client, SIGKILL);
		kill(server, SIGKILL);
	}
	waitpid(client, &st, 0);
	waitpid(server, NULL, 0);
	half = ret ? -1 : tb_parse(out);
	if (half < 0)
		snprintf(why, why_len, "fi_pingpong %s",
			 ret ? "timed out" : "gave no usec/xfer");
	return half < 0 ? -1 : 2 * half;
}
