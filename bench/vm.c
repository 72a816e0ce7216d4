// SPDX-License-Identifier: MIT
/*
 * `rackvm bench vm`: what spreading one VM over nodes costs, side by side in
 * one run: an IPI round trip between vCPUs on one node and on two, the
 * transport's own small-message round trip, a private-memory compute
 * workload and a shared-counter workload on one node and on N. Each figure
 * comes from a real `rackvm run` (a child process) of a testos test.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "coordinator/cli.h"

struct vm_bench_opts {
	unsigned int nodes;
	const char *provider, *memory;
	char self[4096]; /* this binary: popen's /proc/self/exe is the shell */
};

/* The value of " key=" in the first output line containing @marker, or -1. */
static double run_value(const char *cmd, const char *marker, const char *key)
{
	char line[1024], pat[64];
	double v = -1;
	FILE *p;

	snprintf(pat, sizeof(pat), " %s=", key);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		const char *m = strstr(line, marker), *k = m ? strstr(m, pat) : NULL;

		if (k && v < 0)
			v = strtod(k + strlen(pat), NULL);
	}
	if (pclose(p) != 0)
		return -1;
	return v;
}

static double guest_value(const struct vm_bench_opts *o, unsigned int nodes,
			  const char *test, const char *extra, const char *key)
{
	char cmd[4600], marker[64];

	snprintf(cmd, sizeof(cmd),
		 "'%s' run --vcpus 2 --mem 256M --test %s --timeout 300 %s "
		 "--nodes %u --provider %s --memory %s 2>&1",
		 o->self, test, extra, nodes, o->provider, o->memory);
	snprintf(marker, sizeof(marker), "RACKVM-RESULT test=%s status=pass", test);
	return run_value(cmd, marker, key);
}

static void row(const char *what, double one, double many, const char *unit)
{
	printf("%-44s %12.1f %12.1f %s\n", what, one, many, unit);
}

static int vm_bench_parse(struct vm_bench_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{"nodes", required_argument, NULL, 'n'},
		{"provider", required_argument, NULL, 'p'},
		{"memory", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n')
			o->nodes = (unsigned int)strtoul(optarg, NULL, 10);
		else if (c == 'p')
			o->provider = optarg;
		else if (c == 'm')
			o->memory = optarg;
		else
			return c == 'h' ? RACKVM_EXIT_OK : RACKVM_EXIT_USAGE;
	}
	if (o->nodes < 2 || o->nodes > 2 || optind < argc) {
		fprintf(stderr, "rackvm bench vm: --nodes must be 2 (two vCPUs, one per node)\n");
		return RACKVM_EXIT_USAGE;
	}
	return -1;
}

int bench_vm(int argc, char **argv)
{
	struct vm_bench_opts o = {.nodes = 2, .provider = "tcp", .memory = "shared"};
	double ipi1, ipin, rtt, comp1, compn, ops1, opsn;
	int st = vm_bench_parse(&o, argc, argv);

	if (st == RACKVM_EXIT_OK)
		printf("usage: rackvm bench vm [--nodes 2] [--provider tcp|shm] "
		       "[--memory shared|dsm]\n\nRuns testos on 2 vCPUs on one node and "
		       "on two nodes (one vCPU each) and\nprints IPI round trip, compute "
		       "time and shared-counter throughput side\nby side, with the "
		       "transport's 8-byte round trip.\n");
	if (st >= 0)
		return st;
	st = bench_self_path(o.self, sizeof(o.self), "vm");
	if (st)
		return st;
	ipi1 = guest_value(&o, 1, "ipi", "", "rtt_us");
	ipin = guest_value(&o, o.nodes, "ipi", "", "rtt_us");
	rtt = bench_transport_rtt_us(o.self, o.provider);
	comp1 = guest_value(&o, 1, "compute", "", "slowest_us");
	compn = guest_value(&o, o.nodes, "compute", "", "slowest_us");
	ops1 = guest_value(&o, 1, "coherence", "--seconds 2", "ops");
	opsn = guest_value(&o, o.nodes, "coherence", "--seconds 2", "ops");
	if (ipi1 < 0 || ipin < 0 || rtt < 0 || comp1 < 0 || compn < 0 || ops1 < 0 || opsn < 0) {
		fprintf(stderr, "rackvm bench vm: a guest run failed (run the tests)\n");
		return RACKVM_EXIT_GUEST_FAIL;
	}
	printf("%-44s %12s %12s\n", "2 vCPUs", "1 node", "2 nodes");
	row("IPI round trip (testos ipi)", ipi1, ipin, "us");
	row("compute, private memory (slowest vCPU)", comp1 / 1000, compn / 1000, "ms");
	row("shared counter, lock xadd (2 s)", ops1 / 1e6, opsn / 1e6, "Mops");
	printf("transport round trip, 8 B (%s): %.1f us\n", o.provider, rtt);
	printf("cross-node IPI / transport RTT: %.2f; cross-node IPI / (same-node IPI "
	       "+ transport RTT): %.2f\n", ipin / rtt, ipin / (ipi1 + rtt));
	printf("compute 1 node / 2 nodes: %.3f; shared-counter slowdown: %.2fx\n",
	       comp1 / compn, ops1 / opsn);
	printf("RESULT bench=vm ipi_rtt_us=%.1f ipi_ratio=%.2f ipi_added_ratio=%.2f "
	       "compute_ratio=%.3f counter_slowdown=%.2f\n",
	       ipin, ipin / rtt, ipin / (ipi1 + rtt), comp1 / compn, ops1 / opsn);
	return RACKVM_EXIT_OK;
}
