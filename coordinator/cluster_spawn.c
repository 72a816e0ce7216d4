// SPDX-License-Identifier: MIT
/*
 * Child processes of `rackvm run --nodes N`: each is /proc/self/exe with a
 * subcommand (so `ps` shows `rackvm node --coordinator ...`), in one process
 * group, killed by the kernel if the supervisor dies (PR_SET_PDEATHSIG).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "coordinator/cluster.h"

int cluster_free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd, ret;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* the kernel picks a free port; the coordinator binds it right after */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		ret = -errno;
	else
		ret = ntohs(sa.sin_port);
	close(fd);
	return ret;
}

static void cluster_child_exec(char *const args[], int out_fd, pid_t pgid, pid_t parent,
			       int netns_fd)
{
	char exe[PATH_MAX];
	ssize_t n;

	setpgid(0, pgid);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent) /* the supervisor died before prctl */
		_exit(127);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	dup2(out_fd, STDOUT_FILENO);
	dup2(out_fd, STDERR_FILENO);
	if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET)) {
		dprintf(out_fd,
			"rackvm run: cannot enter the node's network namespace: %s\n",
			strerror(errno));
		_exit(127);
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		/* argv[0] is the binary's real path: tests find the tree by it */
		((char **)args)[0] = exe;
		execv("/proc/self/exe", args);
	}
	dprintf(out_fd, "rackvm run: cannot exec /proc/self/exe: %s\n", strerror(errno));
	_exit(127);
}

int cluster_spawn(struct cluster_child *ch, char *const args[], pid_t pgid)
{
	pid_t parent = getpid();
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	ch->pid = fork();
	if (ch->pid < 0) {
		int err = -errno;

		close(fds[0]);
		close(fds[1]);
		return err;
	}
	if (!ch->pid)
		cluster_child_exec(args, fds[1], pgid, parent, ch->netns_fd);
	/* both sides set the group: whoever runs first wins the race */
	setpgid(ch->pid, pgid ? pgid : ch->pid);
	close(fds[1]);
	ch->out_fd = fds[0];
	ch->line_len = 0;
	ch->exited = false;
	return 0;
}

static void cluster_emit(struct cluster_child *ch)
{
	printf("[%s] %.*s\n", ch->label, (int)ch->line_len, ch->line);
	ch->line_len = 0;
}

void cluster_pump(struct cluster_child *ch)
{
	char buf[4096];
	ssize_t n;

	if (ch->out_fd < 0)
		return;
	n = read(ch->out_fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (ch->line_len)
			cluster_emit(ch);
		close(ch->out_fd);
		ch->out_fd = -1;
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n' || ch->line_len == sizeof(ch->line)) {
			cluster_emit(ch);
			if (buf[i] == '\n')
				continue;
		}
		ch->line[ch->line_len++] = buf[i];
	}
	fflush(stdout);
}
