/* SPDX-License-Identifier: MIT */
/* coordinator/cluster.h - private to cluster*.c: `rackvm run --nodes N`'s
 * supervisor of one coordinator and N node processes. */
#ifndef RACKVM_COORDINATOR_CLUSTER_H
#define RACKVM_COORDINATOR_CLUSTER_H

#include <stdbool.h>
#include <sys/types.h>

#define CLUSTER_LINE_MAX 4096
#define CLUSTER_ARGS_MAX 64

struct cluster_child {
	char label[24]; /* "coord", "node 3": the prefix of its output lines */
	pid_t pid;
	int out_fd; /* read end of its stdout+stderr, -1 once at EOF */
	char line[CLUSTER_LINE_MAX];
	size_t line_len;
	bool exited;
	int status; /* waitpid status */
};

/* Forks and execs /proc/self/exe with @args (args[0] is ignored) into
 * process group @pgid (0: a new group led by the child). */
int cluster_spawn(struct cluster_child *ch, char *const args[], pid_t pgid)
    __attribute__((warn_unused_result));
/* Reads what @ch wrote and prints each complete line with its label. */
void cluster_pump(struct cluster_child *ch);
/* A free TCP port on 127.0.0.1, or -errno. */
int cluster_free_port(void);

#endif
