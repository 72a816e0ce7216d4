// SPDX-License-Identifier: MIT
/*
 * `rackvm run --nodes N`: one coordinator and N nodes on this box, over
 * loopback. The supervisor only spawns, streams output and reaps: failure
 * detection is the coordinator's heartbeat logic, exactly as on a real
 * cluster. It never leaves a process behind: children share one process
 * group that is SIGKILLed at the end, and die with the supervisor.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/core.h"
#include "coordinator/cli.h"
#include "coordinator/cluster.h"
#include "coordinator/ctl.h"

#define CLUSTER_GRACE_MS(c) (4 * cluster_hb_ms(c) + 2000) /* after the first exit */
#define CLUSTER_STOP_MS	 3000			    /* after Ctrl-C */

struct cluster {
	const struct run_opts *o;
	unsigned int nr; /* children: [0] the coordinator, [1..] the nodes */
	struct cluster_child *ch;
	pid_t pgid;
	char endpoint[256];
	uint64_t t0, deadline; /* deadline: SIGKILL the group (0: none) */
	bool interrupted;
	const char *memory;    /* guest RAM: "shared" or "dsm" */
	int shared_fd;	       /* "shared": the memfd every node inherits */
	char shared_fd_str[16], secs[16], timeout[16], dilation[16];
	struct cluster_net net; /* --netns, --link-delay-us */
	char policy_opt[RUN_POLICY_ARGS_MAX][32]; /* "--policy-..." */
	char connect_ms[16];
};

static unsigned int cluster_hb_ms(const struct cluster *c)
{
	return c->o->heartbeat_ms ? c->o->heartbeat_ms : 200 * vm_host_slowdown();
}

/* The guest the nodes run, for the coordinator's Config. */
static void cluster_vm_args(struct cluster *c, char **args, int *n)
{
	const struct run_opts *o = c->o;
	const char *pairs[][2] = {
		{"--guest", o->guest}, {"--test", o->test}, {"--kernel", o->kernel},
		{"--initrd", o->initrd}, {"--append", o->append},
		{"--memory", c->memory}, {"--numa", o->numa_off ? "off" : "on"},
		{"--guest-seconds", c->secs}, {"--timeout", c->timeout},
		{"--time-dilation", o->time_dilation ? c->dilation : NULL},
	};

	snprintf(c->dilation, sizeof(c->dilation), "%u", o->time_dilation);
	snprintf(c->secs, sizeof(c->secs), "%u", o->seconds);
	snprintf(c->timeout, sizeof(c->timeout), "%u", o->timeout);
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		if (!pairs[i][1])
			continue;
		args[(*n)++] = (char *)pairs[i][0];
		args[(*n)++] = (char *)pairs[i][1];
	}
}

static int cluster_spawn_coord(struct cluster *c)
{
	char nodes[16], vcpus[16], mem[32], secs[16], hb[16], join[16], storm[16];
	char *args[CLUSTER_ARGS_MAX] = {
	    "rackvm",	      "coordinator",
	    "--listen",	      c->endpoint,
	    "--nodes",	      nodes,
	    "--provider",     (char *)(c->o->provider ? c->o->provider : "tcp"),
	    "--seconds",      secs,
	    "--heartbeat-ms", hb};
	int n = 12;

	snprintf(nodes, sizeof(nodes), "%u", c->o->nodes);
	/* with a guest, --seconds is the guest test's, not the cluster's */
	snprintf(secs, sizeof(secs), "%u", c->o->mesh_only ? c->o->seconds : 0);
	snprintf(hb, sizeof(hb), "%u", cluster_hb_ms(c));
	if (c->o->heartbeat_ms) { /* slow hosts: joins take longer too */
		snprintf(join, sizeof(join), "%u", 75 * c->o->heartbeat_ms);
		args[n++] = "--join-timeout-ms";
		args[n++] = join;
	}
	if (c->o->vcpus) {
		snprintf(vcpus, sizeof(vcpus), "%u", c->o->vcpus);
		args[n++] = "--vcpus";
		args[n++] = vcpus;
	}
	if (c->o->mem) {
		snprintf(mem, sizeof(mem), "%llu", (unsigned long long)c->o->mem);
		args[n++] = "--mem";
		args[n++] = mem;
	}
	if (!c->o->mesh_only)
		cluster_vm_args(c, args, &n);
	if (c->o->migrate_storm_ms && !c->o->mesh_only) {
		snprintf(storm, sizeof(storm), "%u", c->o->migrate_storm_ms);
		args[n++] = "--migrate-storm";
		args[n++] = storm;
	}
	for (unsigned int i = 0; i + 1 < c->o->nr_policy_args; i += 2) {
		snprintf(c->policy_opt[i / 2], sizeof(c->policy_opt[0]), "--%s",
			 c->o->policy_args[i]);
		args[n++] = c->policy_opt[i / 2];
		args[n++] = (char *)c->o->policy_args[i + 1];
	}
	snprintf(c->ch[0].label, sizeof(c->ch[0].label), "coord");
	return cluster_spawn(&c->ch[0], args, 0);
}

static int cluster_spawn_nodes(struct cluster *c)
{
	for (unsigned int i = 1; i < c->nr; i++) {
		char id[16];
		char *args[CLUSTER_ARGS_MAX] = {"rackvm",    "node", "--coordinator",
						c->endpoint, "--id", id};
		int n = 6, ret;

		snprintf(id, sizeof(id), "%u", i - 1);
		if (c->o->heartbeat_ms) { /* slow hosts: the coordinator starts late */
			snprintf(c->connect_ms, sizeof(c->connect_ms), "%u",
				 75 * c->o->heartbeat_ms);
			args[n++] = "--connect-timeout-ms";
			args[n++] = c->connect_ms;
		}
		if (c->o->provider) {
			args[n++] = "--provider";
			args[n++] = (char *)c->o->provider;
		}
		if (c->shared_fd >= 0) {
			args[n++] = "--shared-mem-fd";
			args[n++] = c->shared_fd_str;
		}
		cluster_net_node_args(&c->net, c->o, i - 1, args, &n);
		snprintf(c->ch[i].label, sizeof(c->ch[i].label), "node %u", i - 1);
		ret = cluster_spawn(&c->ch[i], args, c->pgid);
		if (ret)
			return ret;
	}
	return 0;
}

static void cluster_reap(struct cluster *c)
{
	for (unsigned int i = 0; i < c->nr; i++) {
		struct cluster_child *ch = &c->ch[i];

		if (ch->exited || waitpid(ch->pid, &ch->status, WNOHANG) != ch->pid)
			continue;
		ch->exited = true;
		/* the others get the heartbeat logic's time to stop, then SIGKILL */
		if (!c->deadline)
			c->deadline = ctl_now_ms() + CLUSTER_GRACE_MS(c);
	}
}

static bool cluster_all_done(const struct cluster *c)
{
	for (unsigned int i = 0; i < c->nr; i++)
		if (!c->ch[i].exited || c->ch[i].out_fd >= 0)
			return false;
	return true;
}

static void cluster_wait(struct cluster *c)
{
	struct pollfd pfd[CTL_MAX_NODES + 1];

	while (!cluster_all_done(c)) {
		for (unsigned int i = 0; i < c->nr; i++) {
			pfd[i].fd = c->ch[i].out_fd;
			pfd[i].events = POLLIN;
		}
		poll(pfd, c->nr, 100);
		for (unsigned int i = 0; i < c->nr; i++)
			if (pfd[i].revents)
				cluster_pump(&c->ch[i]);
		if (ctl_stop_requested() && !c->interrupted) {
			/* the coordinator stops the nodes with a Stop message */
			c->interrupted = true;
			kill(c->ch[0].pid, SIGTERM);
			c->deadline = ctl_now_ms() + CLUSTER_STOP_MS;
		}
		cluster_reap(c);
		if (c->deadline && ctl_now_ms() > c->deadline) {
			kill(-c->pgid, SIGKILL);
			c->deadline = 0;
		}
	}
}

static void cluster_describe(const struct cluster_child *ch, char *buf, size_t len)
{
	if (WIFEXITED(ch->status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(ch->status));
	else if (WIFSIGNALED(ch->status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(ch->status),
			 strsignal(WTERMSIG(ch->status)));
	else
		snprintf(buf, len, "status 0x%x", ch->status);
}

static int cluster_summary(const struct cluster *c)
{
	double secs = (double)(ctl_now_ms() - c->t0) / 1000.0;
	bool ok = !c->interrupted;
	char how[96];

	for (unsigned int i = 0; i < c->nr; i++)
		ok = ok && WIFEXITED(c->ch[i].status) &&
		     (!WEXITSTATUS(c->ch[i].status) ||
		      (i == 0 && WEXITSTATUS(c->ch[i].status) == RACKVM_EXIT_GUEST_FAIL));
	if (ok && c->o->mesh_only) {
		printf("rackvm run: %u nodes, mesh healthy, %.2f s\n", c->o->nodes, secs);
		return RACKVM_EXIT_OK;
	}
	if (ok) { /* the coordinator's status is the guest's verdict */
		bool passed = !WEXITSTATUS(c->ch[0].status);

		printf("rackvm run: %u nodes, the guest %s, %.2f s\n", c->o->nodes,
		       passed ? "passed" : "FAILED", secs);
		return passed ? RACKVM_EXIT_OK : RACKVM_EXIT_GUEST_FAIL;
	}
	printf("rackvm run: %u nodes, FAILED%s after %.2f s:", c->o->nodes,
	       c->interrupted ? " (interrupted)" : "", secs);
	for (unsigned int i = 0; i < c->nr; i++) {
		cluster_describe(&c->ch[i], how, sizeof(how));
		printf(" %s: %s;", c->ch[i].label, how);
	}
	printf("\n");
	return RACKVM_EXIT_PEER;
}

/* --memory shared: one memfd of guest RAM that every node inherits. */
static int cluster_shared_memory(struct cluster *c)
{
	c->memory = c->o->memory ? c->o->memory : "dsm";
	if (strcmp(c->memory, "shared"))
		return 0;
	c->shared_fd = memfd_create("rackvm-shared-ram", 0); /* inherited: no CLOEXEC */
	if (c->shared_fd < 0 || ftruncate(c->shared_fd, (off_t)c->o->mem) < 0) {
		fprintf(stderr, "rackvm run: cannot make %llu MiB of shared guest RAM: %s\n",
			(unsigned long long)(c->o->mem >> 20), strerror(errno));
		return -1;
	}
	snprintf(c->shared_fd_str, sizeof(c->shared_fd_str), "%d", c->shared_fd);
	return 0;
}

int cluster_run(const struct run_opts *o, int argc, char **argv)
{
	struct cluster c = {.o = o, .nr = o->nodes + 1};
	int ret, port;

	(void)argc; /* everything the nodes need travels in the Config */
	(void)argv;
	c.shared_fd = -1;
	if (!o->nodes || o->nodes > CTL_MAX_NODES) {
		fprintf(stderr, "rackvm run: --nodes %u is not in 1..%d\n", o->nodes,
			CTL_MAX_NODES);
		return RACKVM_EXIT_USAGE;
	}
	port = o->netns || o->control ? 0 : cluster_free_port();
	if (port < 0) {
		fprintf(stderr, "rackvm run: no free port on 127.0.0.1: %s\n",
			strerror(-port));
		return RACKVM_EXIT_HOST;
	}
	if (o->control)
		snprintf(c.endpoint, sizeof(c.endpoint), "%s", o->control);
	else
		snprintf(c.endpoint, sizeof(c.endpoint), "tcp://127.0.0.1:%d", port);
	if (o->netns && !o->control) /* the switch namespace is new: its port is free */
		cluster_net_endpoint(c.endpoint, sizeof(c.endpoint));
	c.ch = calloc(c.nr, sizeof(*c.ch));
	if (!c.ch)
		return RACKVM_EXIT_HOST;
	for (unsigned int i = 0; i < c.nr; i++) {
		c.ch[i].out_fd = -1; /* not spawned: nothing to read or reap */
		c.ch[i].exited = true;
		c.ch[i].netns_fd = -1;
	}
	if (!o->mesh_only && cluster_shared_memory(&c)) {
		free(c.ch);
		return RACKVM_EXIT_HOST;
	}
	ctl_catch_signals();
	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = o->netns ? cluster_net_up(&c.net, o, c.ch) : 0;
	if (ret) {
		free(c.ch);
		return ret;
	}
	printf("rackvm run: coordinator at %s (rackvm migrate|stats --coordinator %s)\n",
	       c.endpoint, c.endpoint);
	c.t0 = ctl_now_ms();
	ret = cluster_spawn_coord(&c);
	if (ret)
		goto err_free;
	c.pgid = c.ch[0].pid;
	ret = cluster_spawn_nodes(&c);
	if (ret) {
		kill(-c.pgid, SIGKILL);
		c.deadline = 0;
	}
	cluster_wait(&c);
	kill(-c.pgid, SIGKILL); /* nothing should be left; make sure */
	cluster_net_down(&c.net);
	ret = ret ? ret : cluster_summary(&c);
	if (ret < 0)
		goto err_free;
	free(c.ch);
	return ret;
err_free:
	fprintf(stderr, "rackvm run: cannot start the cluster processes: %s\n",
		strerror(-ret));
	cluster_net_down(&c.net);
	free(c.ch);
	return RACKVM_EXIT_HOST;
}
