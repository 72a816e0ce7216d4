// SPDX-License-Identifier: MIT
/* `rackvm bench NAME`: dispatch to the benchmark drivers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "coordinator/cli.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} benches[] = {
	{"dsm", bench_dsm, "DSM read/write/upgrade/invalidate faults vs uffd + RTT"},
	{"migrate", bench_migrate, "vCPU migration pause vs RTT; remote-walk policy off vs auto"},
	{"exits", bench_exits, "PIO, MMIO (LAPIC) exit and same-node IPI round trip"},
	{"transport", bench_transport, "data-plane latency and bandwidth vs fi_pingpong"},
	{"vm", bench_vm, "one VM on 1 node vs 2: IPI, compute, shared counter"},
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double bench_percentile(double *v, size_t n, double p)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

int cmd_bench(int argc, char **argv)
{
	size_t n = sizeof(benches) / sizeof(benches[0]);

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		FILE *f = argc < 2 ? stderr : stdout;
		fprintf(f, "usage: rackvm bench NAME [OPTIONS]   (rackvm bench NAME --help)\n\n");
		for (size_t i = 0; i < n; i++)
			fprintf(f, "  %-10s %s\n", benches[i].name, benches[i].summary);
		return argc < 2 ? RACKVM_EXIT_USAGE : RACKVM_EXIT_OK;
	}
	for (size_t i = 0; i < n; i++)
		if (!strcmp(argv[1], benches[i].name))
			return benches[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "rackvm bench: unknown benchmark '%s' (try rackvm bench --help)\n",
		argv[1]);
	return RACKVM_EXIT_USAGE;
}

double bench_transport_rtt_us(const char *self, const char *provider)
{
	char cmd[4400], line[512];
	double v = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "'%s' bench transport --provider %s --iters 2000 2>/dev/null", self,
		 provider);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		unsigned int bytes;
		double p50;

		if (sscanf(line, "pingpong-rtt %u %lf", &bytes, &p50) == 2 && bytes == 8)
			v = p50;
	}
	pclose(p);
	return v;
}

int bench_self_path(char *buf, size_t len, const char *who)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);

	buf[n > 0 ? n : 0] = 0;
	if (n <= 0 || strchr(buf, '\'')) { /* it goes between '' in commands */
		fprintf(stderr, "rackvm bench %s: cannot find this binary's path\n", who);
		return RACKVM_EXIT_HOST;
	}
	return 0;
}
