// SPDX-License-Identifier: MIT
/* rackvm sim: starting, running and ending child processes. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "coordinator/sim.h"

double sim_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* In the child: the parent blocks INT/TERM/HUP for its signalfd; a QEMU
 * must not inherit that, and must die with the parent even on SIGKILL. Its
 * own process group keeps a terminal's Ctrl-C for the parent, which then
 * tears everything down in order. */
static void child_setup(int out_fd)
{
	sigset_t none;
	int null_fd;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	setpgid(0, 0);
	null_fd = open("/dev/null", O_RDWR);
	if (null_fd >= 0)
		dup2(null_fd, STDIN_FILENO);
	if (out_fd >= 0) {
		dup2(out_fd, STDOUT_FILENO);
		dup2(out_fd, STDERR_FILENO);
	} else if (null_fd >= 0) {
		dup2(null_fd, STDOUT_FILENO);
	}
}

int sim_spawn(char *const argv[], int out_fd, pid_t *pid)
{
	pid_t p = fork();

	if (p < 0)
		return -errno;
	if (p == 0) {
		child_setup(out_fd);
		execvp(argv[0], argv);
		dprintf(STDERR_FILENO, "rackvm sim: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	*pid = p;
	return 0;
}

/* Run argv to the end with its output (stdout + stderr, NUL-terminated,
 * cut to len) in out; returns its exit status, or -errno. */
int sim_run(char *const argv[], char *out, size_t len)
{
	int fds[2], st, err;
	size_t got = 0;
	ssize_t n;
	char sink[512];
	pid_t pid = 0;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	err = sim_spawn(argv, fds[1], &pid);
	close(fds[1]);
	if (err) {
		close(fds[0]);
		return err;
	}
	for (;;) {
		bool room = out && got + 1 < len;

		n = read(fds[0], room ? out + got : sink,
			 room ? len - 1 - got : sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (room)
			got += (size_t)n;
	}
	if (out && len)
		out[got] = 0;
	close(fds[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

bool sim_in_path(const char *tool)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (strchr(tool, '/'))
		return access(tool, X_OK) == 0;
	while (path && *path) {
		size_t n = strcspn(path, ":");

		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, tool) <
			(int)sizeof(buf) &&
		    !access(buf, X_OK))
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

/* SIGTERM, then SIGKILL after grace_s; reaps it. */
void sim_kill_wait(pid_t pid, double grace_s)
{
	double end = sim_now() + grace_s;
	int st;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (sim_now() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return;
		}
		usleep(20000);
	}
}
