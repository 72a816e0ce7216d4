// SPDX-License-Identifier: MIT
/* Placeholder until the control plane lands (issue 3). */
#include <stdio.h>

#include "coordinator/cli.h"

int cluster_run(const struct run_opts *o, int argc, char **argv)
{
	(void)o;
	(void)argc;
	(void)argv;
	fprintf(stderr, "rackvm run: --nodes is not built yet\n");
	return RACKVM_EXIT_USAGE;
}

int cmd_node(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "rackvm node: not built yet\n");
	return RACKVM_EXIT_USAGE;
}

int cmd_coordinator(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "rackvm coordinator: not built yet\n");
	return RACKVM_EXIT_USAGE;
}
