// SPDX-License-Identifier: MIT
/*
 * `rackvm bench transport`: our two-node data plane against libfabric's
 * fi_pingpong in the same run, as a table (and CSV), with a last
 * machine-readable RESULT line.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/transport_bench.h"
#include "coordinator/cli.h"

static void tb_usage(FILE *f)
{
	fprintf(
	    f, "usage: rackvm bench transport [--provider tcp|shm|verbs] [--iters N] [--csv "
	       "FILE]\n"
	       "\n"
	       "Forks two processes pinned to CPUs 0 and 1 that form a 2-node rackvm\n"
	       "transport mesh over loopback (libfabric RDM endpoint; addresses swapped\n"
	       "through a socketpair) and measures, busy-polling like fi_pingpong:\n"
	       "  ping-pong round trip p50/p99 for 8 B and 4 KiB messages,\n"
	       "  one-sided 4 KiB read latency p50/p99,\n"
	       "  write bandwidth in MiB/s: 64 KiB writes (16 in flight) and 1 MiB (8).\n"
	       "Then runs fi_pingpong (libfabric-bin; -e rdm, same provider, sizes and\n"
	       "pinning, 127.0.0.1 on a free port) and prints its round trip (2 x its\n"
	       "usec/xfer, which is a mean) and the ratio of our mean round trip to it\n"
	       "(like for like; p50 and p99 are ours only). Goal: <= 1.1 at 4 KiB.\n"
	       "\n"
	       "  --provider P  libfabric provider: tcp (default) or shm; verbs: the\n"
	       "                native ibverbs backend (device RACKVM_IB_DEV, GID index\n"
	       "                RACKVM_IB_GID; no fi_pingpong reference)\n"
	       "  --iters N     round trips per measurement (default 10000; a tenth\n"
	       "                more are run first as warm-up)\n"
	       "  --csv FILE    also write the table as CSV\n"
	       "\n"
	       "Last line: RESULT bench=transport provider=P size=4096 p50_us=X ratio=R\n"
	       "(p50_us: our 4 KiB round trip; ratio: our mean / fi_pingpong's;\n"
	       "ratio=nan when fi_pingpong could not run). Exit 0, 2 bad usage,\n"
	       "3 provider unavailable, 4 a node failed.\n");
}

static int tb_parse_args(int argc, char **argv, struct tb_opts *o)
{
	static const struct option longopts[] = {
	    {"provider", required_argument, NULL, 'p'},
	    {"iters", required_argument, NULL, 'i'},
	    {"csv", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	char *end;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:i:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->provider = optarg;
			break;
		case 'i':
			o->iters = (unsigned int)strtoul(optarg, &end, 10);
			if (*end || o->iters < 10 || o->iters > 10000000) {
				fprintf(stderr,
					"rackvm bench transport: --iters wants "
					"10..10000000, not '%s'\n",
					optarg);
				return RACKVM_EXIT_USAGE;
			}
			break;
		case 'c':
			o->csv = optarg;
			break;
		case 'h':
			tb_usage(stdout);
			return -1;
		default:
			tb_usage(stderr);
			return RACKVM_EXIT_USAGE;
		}
	}
	if (strcmp(o->provider, "tcp") && strcmp(o->provider, "shm") &&
	    strcmp(o->provider, "verbs")) {
		fprintf(stderr,
			"rackvm bench transport: --provider must be tcp, shm or verbs\n");
		return RACKVM_EXIT_USAGE;
	}
	return 0;
}

struct tb_row {
	const char *test;
	size_t size;
	double p50, p99, mean, mib_s, ref_rtt;
};

static void tb_print(FILE *f, const struct tb_row *r, bool csv)
{
	double ratio = r->ref_rtt > 0 ? r->mean / r->ref_rtt : -1;

	if (csv) {
		fprintf(f, "%s,%zu,%.2f,%.2f,%.2f,%.1f,%.2f,%.3f\n", r->test, r->size,
			r->p50, r->p99, r->mean, r->mib_s, r->ref_rtt, ratio);
		return;
	}
	fprintf(f, "%-16s %8zu ", r->test, r->size);
	if (r->mib_s > 0)
		fprintf(f, "%9s %9s %9s %9.1f", "-", "-", "-", r->mib_s);
	else if (r->mean > 0)
		fprintf(f, "%9.2f %9.2f %9.2f %9s", r->p50, r->p99, r->mean, "-");
	else
		fprintf(f, "%9.2f %9.2f %9s %9s", r->p50, r->p99, "-", "-");
	if (r->ref_rtt > 0)
		fprintf(f, " %14.2f %7.3f\n", r->ref_rtt, ratio);
	else
		fprintf(f, " %14s %7s\n", "-", "-");
}

static int tb_report(const struct tb_opts *o, const struct tb_result *r,
		     const double ref[2])
{
	const struct tb_row rows[] = {
	    {"pingpong-rtt", TB_SMALL, r->rtt_p50[0], r->rtt_p99[0], r->rtt_mean[0], 0,
	     ref[0]},
	    {"pingpong-rtt", TB_PAGE, r->rtt_p50[1], r->rtt_p99[1], r->rtt_mean[1], 0,
	     ref[1]},
	    {"read-latency", TB_PAGE, r->read_p50, r->read_p99, 0, 0, 0},
	    {"write-bw", 64 << 10, 0, 0, 0, r->bw_64k, 0},
	    {"write-bw", 1 << 20, 0, 0, 0, r->bw_1m, 0},
	};
	size_t n = sizeof(rows) / sizeof(rows[0]);
	FILE *csv = NULL;

	printf("%-16s %8s %9s %9s %9s %9s %14s %7s\n", "test", "bytes", "p50_us",
	       "p99_us", "mean_us", "MiB/s", "fi_pingpong_us", "ratio");
	for (size_t i = 0; i < n; i++)
		tb_print(stdout, &rows[i], false);
	if (o->csv) {
		csv = fopen(o->csv, "w");
		if (!csv) {
			perror(o->csv);
			return RACKVM_EXIT_USAGE;
		}
		fprintf(
		    csv,
		    "test,bytes,p50_us,p99_us,mean_us,mib_s,fi_pingpong_rtt_us,ratio\n");
		for (size_t i = 0; i < n; i++)
			tb_print(csv, &rows[i], true);
		fclose(csv);
	}
	printf("RESULT bench=transport provider=%s size=4096 p50_us=%.2f ratio=",
	       o->provider, r->rtt_p50[1]);
	if (ref[1] > 0)
		printf("%.3f\n", r->rtt_mean[1] / ref[1]);
	else
		printf("nan\n");
	return 0;
}

int bench_transport(int argc, char **argv)
{
	struct tb_opts o = {.provider = "tcp", .iters = 10000};
	struct tb_result r = {0};
	double ref[2] = {-1, -1};
	char why[128] = "";
	int ret;

	ret = tb_parse_args(argc, argv, &o);
	if (ret)
		return ret < 0 ? RACKVM_EXIT_OK : ret;
	o.pin = sysconf(_SC_NPROCESSORS_ONLN) >= 2;
	printf("rackvm bench transport: provider %s, %u iterations, %s\n", o.provider,
	       o.iters, o.pin ? "nodes pinned to CPUs 0 and 1" : "one CPU: not pinned");
	ret = tb_run_mesh(&o, &r);
	if (ret)
		return ret;
	ref[0] = tb_fi_pingpong(&o, TB_SMALL, why, sizeof(why));
	if (ref[0] > 0)
		ref[1] = tb_fi_pingpong(&o, TB_PAGE, why, sizeof(why));
	if (ref[1] < 0)
		printf("reference: %s; our numbers only\n", why);
	return tb_report(&o, &r, ref);
}
