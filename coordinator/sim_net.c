// SPDX-License-Identifier: MIT
/*
 * rackvm sim: the hosts' network. A VDE switch (a user-space Ethernet
 * switch on a Unix socket) joins the QEMUs; it and they run inside a
 * network namespace made for this run, so that nothing a host sends can
 * reach a real network even if a QEMU option went wrong.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coordinator/cli.h"
#include "coordinator/sim.h"

static void trim(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = 0;
}

static int ns_create(struct sim *s)
{
	char *add[] = {"ip", "netns", "add", s->ns, NULL};
	char *lo[] = {"ip", "-n", s->ns, "link", "set", "lo", "up", NULL};
	char out[512];
	int st;

	st = sim_run(add, out, sizeof(out));
	if (st) {
		trim(out);
		fprintf(stderr, "rackvm sim: cannot create network namespace %s: %s\n",
			s->ns, out);
		return RACKVM_EXIT_HOST;
	}
	s->ns_made = true;
	st = sim_run(lo, out, sizeof(out));
	if (st) {
		trim(out);
		fprintf(stderr, "rackvm sim: %s: cannot bring lo up: %s\n", s->ns, out);
		return RACKVM_EXIT_HOST;
	}
	return 0;
}

/* The pid in path, if that process is a vde_switch (pids get reused). */
static pid_t read_pid(const char *path)
{
	char comm_path[64], comm[32] = "";
	FILE *f = fopen(path, "r");
	long pid = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1 || pid <= 1 || pid > 4194304)
		pid = 0;
	fclose(f);
	if (!pid)
		return 0;
	snprintf(comm_path, sizeof(comm_path), "/proc/%ld/comm", pid);
	f = fopen(comm_path, "r");
	if (!f)
		return 0;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = 0;
	fclose(f);
	return strncmp(comm, "vde_switch", 10) ? 0 : (pid_t)pid;
}

/* `vde_switch -d` forks into the background: its pid comes from -p. */
static int switch_start(struct sim *s)
{
	char sock[64], pidf[64], ctl[80], out[512];
	char *argv[] = {"ip", "netns", "exec", s->ns, "vde_switch", "-s",
			sock, "-p",    pidf,   "-d",  NULL};
	double end;
	int st;

	snprintf(sock, sizeof(sock), "%s/switch", s->dir);
	snprintf(pidf, sizeof(pidf), "%s/switch.pid", s->dir);
	snprintf(ctl, sizeof(ctl), "%s/ctl", sock);
	st = sim_run(argv, out, sizeof(out));
	if (st) {
		trim(out);
		fprintf(stderr, "rackvm sim: vde_switch failed in %s (status %d): %s\n",
			s->ns, st, out);
		return RACKVM_EXIT_HOST;
	}
	for (end = sim_now() + 5; sim_now() < end; usleep(20000)) {
		if (!s->vde_pid)
			s->vde_pid = read_pid(pidf);
		if (s->vde_pid && !access(ctl, F_OK))
			return 0;
	}
	fprintf(stderr, "rackvm sim: vde_switch did not create %s within 5 s\n", ctl);
	return RACKVM_EXIT_HOST;
}

int sim_net_up(struct sim *s)
{
	int st;

	snprintf(s->ns, sizeof(s->ns), "rackvm-sim-%ld", (long)getpid());
	st = ns_create(s);
	if (st)
		return st;
	return switch_start(s);
}

void sim_net_down(struct sim *s)
{
	char *del[] = {"ip", "netns", "delete", s->ns, NULL};

	/* it daemonised, but cmd_sim made us its subreaper: ours to reap */
	sim_kill_wait(s->vde_pid, 1.0);
	s->vde_pid = 0;
	if (s->ns_made && sim_run(del, NULL, 0))
		fprintf(stderr, "rackvm sim: could not delete network namespace %s\n",
			s->ns);
	s->ns_made = false;
}
