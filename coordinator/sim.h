/* SPDX-License-Identifier: MIT */
/*
 * coordinator/sim.h - `rackvm sim`: N QEMU TCG hosts (AMD-V with nested
 * paging, soft-RoCE) on a private switch inside a network namespace of this
 * box. Private to the sim_*.c files and cmd_sim.c.
 */
#ifndef RACKVM_COORDINATOR_SIM_H
#define RACKVM_COORDINATOR_SIM_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define SIM_MAX_HOSTS 16
/* x86 COMMAND_LINE_SIZE: the kernel truncates anything longer. */
#define SIM_CMDLINE_MAX 2048
#define SIM_LINE_MAX	1024
/* Host K is 10.77.0.(10+K) on the switch; host 0 serves the others. */
#define SIM_COORD_PORT 7700
#define SIM_NET_PREFIX "10.77.0."
#define SIM_NET_BASE   10
/* --share: directories of this box mounted at the same path in every host */
#define SIM_MAX_SHARES 4
#define SIM_SHARE_CHARS                                                                  \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._+-"
#define SIM_SHARE_OPT_MAX 320
#define SIM_STR_(x)	  #x
#define SIM_STR(x)	  SIM_STR_(x)

struct sim_opts {
	unsigned int hosts, host_cpus, timeout_s;
	uint64_t host_mem;
	const char *keep_logs;
	const char *shell;    /* a shell command instead of `rackvm run` */
	const char *provider; /* N > 1: the VM's data plane: tcp or verbs */
	bool check_only;      /* N > 1: rackvm run on host 0 + health checks */
	bool shadow_paging;   /* the hosts load kvm-amd with npt=0 */
	const char *qemu;
	const char *share[SIM_MAX_SHARES]; /* absolute paths (9p, read-write) */
	unsigned int nr_shares;
	/* hidden, for tests and debugging: another image, extra kernel words */
	const char *kernel, *initrd, *append;
	int run_argc;
	char **run_argv; /* RUN-ARGS after `--` */
};

struct sim_host {
	unsigned int index;
	pid_t pid;  /* QEMU (through `ip netns exec`); 0 once reaped */
	int out_fd; /* its console (stdout + stderr); -1 after EOF */
	int wait_status;
	FILE *log;
	char log_path[PATH_MAX];
	char line[SIM_LINE_MAX];
	size_t line_len;
	int esc; /* position inside a terminal escape sequence */
	double t_start, t_up, t_exit;
	int status; /* from RACKVM-HOST-EXIT, -1 until then */
	bool up;
};

struct sim {
	struct sim_opts o;
	char kernel[PATH_MAX], initrd[PATH_MAX];
	char ns[64];
	char dir[32];	       /* private /tmp/rackvm-sim-XXXXXX: switch, logs */
	char logdir[PATH_MAX]; /* dir or --keep-logs */
	pid_t vde_pid;
	bool ns_made;
	int sigfd;
	struct sim_host host[SIM_MAX_HOSTS];
};

/* sim_proc.c: child processes (cluster_netns.c runs ip and tc with these too). */
double sim_now(void);
int sim_spawn(char *const argv[], int out_fd, pid_t *pid);
int sim_run(char *const argv[], char *out, size_t len);
bool sim_in_path(const char *tool);
void sim_kill_wait(pid_t pid, double grace_s);

/* sim_prereq.c: QEMU with TCG SVM, vde_switch, ip, the host image. */
int sim_check_prereqs(struct sim *s);

/* sim_net.c: the namespace and the switch; sim_net_down undoes what was done. */
int sim_net_up(struct sim *s);
void sim_net_down(struct sim *s);

/* sim_host.c: one QEMU host. */
int sim_host_start(struct sim *s, unsigned int k);
void sim_host_input(struct sim *s, unsigned int k, const char *buf, size_t len);
void sim_host_stop(struct sim_host *h);
void sim_host_ip(unsigned int k, char *out, size_t len);
void sim_host_log_tail(const struct sim_host *h, unsigned int lines);

/* sim_cmd.c: what each host runs, encoded for its kernel command line. */
int sim_host_command(const struct sim *s, unsigned int k, char *out, size_t len);
int sim_base64(const char *in, char *out, size_t len);

/* sim_cluster.c: N > 1 hosts run one VM; RUN-ARGS -> coordinator options. */
bool sim_is_cluster(const struct sim_opts *o);
int sim_cluster_args(const struct sim_opts *o, const char **out, int max);

/* sim_loop.c: console pumping, time-outs, signals until every host is done. */
int sim_loop(struct sim *s);

#endif
