// SPDX-License-Identifier: MIT
/* Placeholder until the interconnect lands (issue 3). */
#include <stdio.h>

#include "bench/bench.h"
#include "coordinator/cli.h"

int bench_transport(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "rackvm bench transport: not built yet\n");
	return RACKVM_EXIT_HOST;
}
