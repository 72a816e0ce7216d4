// SPDX-License-Identifier: MIT
/* rackvm: one command, subcommands run / node / coordinator / bench. */
#include <stdio.h>
#include <string.h>

#include "coordinator/cli.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"run", cmd_run, "run a guest (one process, or --nodes N on this box)"},
	{"node", cmd_node, "the VMM of one host; joins a coordinator"},
	{"coordinator", cmd_coordinator, "control plane of a cluster"},
	{"bench", cmd_bench, "benchmarks: exits, transport, dsm"},
	{"sim", cmd_sim, "boot N QEMU hosts with hardware KVM and run rackvm in them"},
	{"migrate", cmd_migrate, "move a vCPU of a running cluster to another node"},
	{"stats", cmd_stats, "counters of a running cluster (moves, pauses, nodes)"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: rackvm COMMAND [OPTIONS]   (rackvm COMMAND --help)\n\n"
		   "rackvm runs one x86-64 VM across many hosts.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return RACKVM_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return RACKVM_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "rackvm: unknown command '%s' (try rackvm --help)\n", argv[1]);
	return RACKVM_EXIT_USAGE;
}
