/* SPDX-License-Identifier: MIT */
/*
 * coordinator/cli.h - the `rackvm` command front end.
 *
 * Every subcommand is `int cmd_NAME(int argc, char **argv)` with argv[0] the
 * subcommand's name, returning the process exit status: 0 success, 1 the
 * guest or the test failed, 2 bad usage or input, 3 the host cannot run it
 * (no usable /dev/kvm, missing library or device), 4 a peer or node failed.
 */
#ifndef RACKVM_COORDINATOR_CLI_H
#define RACKVM_COORDINATOR_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "coordinator/policy.h"

enum rackvm_exit {
	RACKVM_EXIT_OK = 0,
	RACKVM_EXIT_GUEST_FAIL = 1,
	RACKVM_EXIT_USAGE = 2,
	RACKVM_EXIT_HOST = 3,
	RACKVM_EXIT_PEER = 4,
};

int cmd_run(int argc, char **argv);
int cmd_node(int argc, char **argv);
int cmd_coordinator(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_stats(int argc, char **argv);

#define RUN_POLICY_ARGS_MAX 8

/* Options of `rackvm run`, shared by the one-process and the cluster paths. */
struct run_opts {
	const char *guest; /* "testos" or "linux" */
	const char *kernel, *initrd, *append, *test;
	unsigned int vcpus;
	uint64_t mem;
	unsigned int seconds;
	unsigned int timeout;	/* seconds; 0 = none */
	unsigned int nodes;	/* 0: one process, no coordinator */
	const char *provider; /* data-plane provider for --nodes */
	const char *memory;   /* --nodes: "shared" or "dsm" */
	unsigned int heartbeat_ms; /* --nodes: 0 = the default */
	bool mesh_only;	      /* --nodes: check the mesh, run no guest */
	unsigned int migrate_storm_ms; /* --nodes: move a random vCPU this often */
	unsigned int time_dilation;    /* 0: real time (core.h) */
	const char *control;	       /* --nodes: the coordinator's endpoint */
	bool numa_off;
	bool verbose;
	/* --nodes: namespace mode (cluster_netns.c) */
	bool netns;		    /* one network namespace per node, over veth */
	uint64_t link_rate;	    /* --netns: bit/s of each node's link (0: no limit) */
	unsigned int link_delay_us; /* added to every data-plane message (0: none) */
	/* --nodes: the placement policy, and its options as given, for the
	 * coordinator */
	bool policy_auto;
	struct policy_cfg policy;
	const char *policy_args[2 * RUN_POLICY_ARGS_MAX];
	unsigned int nr_policy_args;
};

/* `rackvm run --nodes N`: coordinator + N node processes on this box. */
int cluster_run(const struct run_opts *o, int argc, char **argv);

/* --netns, --link-rate, --link-delay-us: one option (-1: go on, else an exit
 * status), and whether they agree with the rest (-1: yes, else exit 2). */
int run_net_option(struct run_opts *o, int opt, const char *arg);
int run_net_check(const struct run_opts *o);
enum { RUN_OPT_NETNS = 512, RUN_OPT_LINK_RATE, RUN_OPT_LINK_DELAY };

/* Parse "100mbit", "1gbit", "64000" (bit/s, decimal prefixes as tc); -EINVAL
 * on anything else. */
int parse_rate(const char *s, uint64_t *bps);

/* Parse "256M", "2G", "4096" (bytes); -EINVAL on anything else. */
int parse_size(const char *s, uint64_t *out);

#endif
