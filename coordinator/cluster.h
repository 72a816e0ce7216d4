/* SPDX-License-Identifier: MIT */
/* coordinator/cluster.h - private to cluster*.c: `rackvm run --nodes N`'s
 * supervisor of one coordinator and N node processes. */
#ifndef RACKVM_COORDINATOR_CLUSTER_H
#define RACKVM_COORDINATOR_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct run_opts;

#define CLUSTER_LINE_MAX 4096
#define CLUSTER_ARGS_MAX 64

struct cluster_child {
	char label[24]; /* "coord", "node 3": the prefix of its output lines */
	pid_t pid;
	int out_fd; /* read end of its stdout+stderr, -1 once at EOF */
	char line[CLUSTER_LINE_MAX];
	size_t line_len;
	bool exited;
	int status;   /* waitpid status */
	int netns_fd; /* a network namespace to join before exec, or -1 */
};

/* Forks and execs /proc/self/exe with @args (args[0] is ignored) into
 * process group @pgid (0: a new group led by the child). */
int cluster_spawn(struct cluster_child *ch, char *const args[], pid_t pgid)
    __attribute__((warn_unused_result));
/* Reads what @ch wrote and prints each complete line with its label. */
void cluster_pump(struct cluster_child *ch);
/* A free TCP port on 127.0.0.1, or -errno. */
int cluster_free_port(void);

/*
 * cluster_netns.c: namespace mode (--netns). Namespace 0 (the "switch")
 * holds the coordinator and a bridge at 10.78.0.1; namespace 1 + K holds
 * node K at 10.78.0.(10 + K), joined to the bridge by a veth pair. The
 * namespaces are named only while they are set up: the supervisor's fds
 * and its children then keep them, and the kernel removes them (and their
 * veths) when the last of those is gone, even if the supervisor is killed.
 */
#define CLUSTER_NET_MAX_NODES  240
#define CLUSTER_NET_COORD_PORT 7800

struct cluster_ns {
	int fd;	    /* open /run/netns file, or -1 */
	bool named; /* its name is still mounted in /run/netns */
};

struct cluster_net {
	char name[32];		   /* "rackvm-run-PID": namespaces NAME-sw and NAME-nK */
	unsigned int nr;	   /* entries in ns: 1 + nodes, 0 when off */
	struct cluster_ns *ns;	   /* [0] the switch, [1 + K] node K */
	char iface[20], delay[16]; /* argument buffers for one node */
};

/* Makes the namespaces and links of @o (o->netns) and points ch[i] (the
 * coordinator, then the nodes) at them; an exit status on failure, after
 * undoing what was done. */
int cluster_net_up(struct cluster_net *net, const struct run_opts *o,
		   struct cluster_child *ch) __attribute__((warn_unused_result));
/* The coordinator's endpoint in namespace mode. */
void cluster_net_endpoint(char *buf, size_t len);
/* Adds node K's --iface (namespace mode) and --delay-us to its arguments. */
void cluster_net_node_args(struct cluster_net *net, const struct run_opts *o,
			   unsigned int k, char **args, int *n);
/* Closes and unnames whatever cluster_net_up made; safe to call twice. */
void cluster_net_down(struct cluster_net *net);

#endif
