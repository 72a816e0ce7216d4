// SPDX-License-Identifier: MIT
/*
 * `rackvm bench migrate`: vCPU migration in one run, each figure from a real
 * `rackvm run --nodes 2` (a child process):
 *  (a) the migration pause p50/p99 of a migrate storm over testos coherence,
 *      beside the transport's round trip measured in the same run (the goal
 *      is pause <= 200 us + one round trip);
 *  (b) testos remote-walk (vCPU 1 on node 1 walking a buffer node 0 keeps
 *      rewriting) with --policy off and --policy auto: the walk's time and
 *      the run's wall time of each, the policy's migrations, the speed-up.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/migrate.h"
#include "coordinator/cli.h"

static void usage(void)
{
	printf("usage: rackvm bench migrate [--provider tcp|shm] [--passes N] "
	       "[--storm-ms MS] [--storm-seconds S] [--heartbeat-ms MS]\n\n"
	       "Two-node runs of testos: a migrate storm (every MS ms, S s of "
	       "coherence;\ndefaults 20 ms, 3 s) for the pause p50/p99 beside the "
	       "transport round trip,\nthen remote-walk (N passes, default 2000) "
	       "with --policy off and auto:\nwall times and the speed-up. Last line: "
	       "RESULT bench=migrate pause_p50_us=X speedup=Y\n");
}

static int parse(struct migrate_bench *b, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"provider", required_argument, NULL, 'p'},
	    {"passes", required_argument, NULL, 'n'},
	    {"storm-ms", required_argument, NULL, 'm'},
	    {"storm-seconds", required_argument, NULL, 's'},
	    {"heartbeat-ms", required_argument, NULL, 'b'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	unsigned long v;
	char *end;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'h') {
			usage();
			return RACKVM_EXIT_OK;
		}
		if (c == 'p') {
			b->provider = optarg;
			continue;
		}
		if (c == '?')
			return RACKVM_EXIT_USAGE;
		v = strtoul(optarg, &end, 10);
		if (*end || !*optarg || !v || v > 1000000) {
			fprintf(stderr,
				"rackvm bench migrate: bad --%s '%s': give 1..1000000\n",
				opts[c == 'n'	? 1
				     : c == 'm' ? 2
				     : c == 's' ? 3
						: 4]
				    .name,
				optarg);
			return RACKVM_EXIT_USAGE;
		}
		*(c == 'n'   ? &b->passes
		  : c == 'm' ? &b->storm_ms
		  : c == 's' ? &b->storm_s
			     : &b->hb_ms) = (unsigned int)v;
	}
	if (optind < argc) {
		fprintf(stderr,
			"rackvm bench migrate: unexpected argument '%s' (try --help)\n",
			argv[optind]);
		return RACKVM_EXIT_USAGE;
	}
	return -1;
}

static void print_table(const struct migrate_bench *b, const struct migrate_pause *p,
			const struct migrate_walk w[2])
{
	printf("%-40s %12s %12s\n", "migration pause (storm)", "p50", "p99");
	printf("%-40s %12.1f %12.1f us  (%u migrations)\n", "pause", p->p50_us, p->p99_us,
	       p->migrations);
	if (p->parts_us[0] >= 0) {
		printf("%-40s %12.1f %12s us\n", "  old owner: settle + save",
		       p->parts_us[0], "");
		printf("%-40s %12.1f %12s us\n", "  send + wire (the blob)",
		       p->parts_us[1], "");
		printf("%-40s %12.1f %12s us  (load, TSC, announce)\n",
		       "  new owner: load", p->parts_us[2], "");
		printf("%-40s %12.1f %12s us\n", "  new thread to first entry",
		       p->parts_us[3], "");
	}
	printf("%-40s %12.1f %12s us  (%s, 8 B, same run)\n", "transport round trip",
	       p->rtt_us, "", b->provider);
	printf("%-40s %12.1f %12s us\n", "goal: 200 us + one round trip",
	       200.0 + p->rtt_us, "");
	printf("\n%-40s %12s %12s\n", "remote-walk, 2 nodes", "policy off",
	       "policy auto");
	printf("%-40s %12.1f %12.1f ms\n", "walk (guest's own clock)", w[0].walk_us / 1e3,
	       w[1].walk_us / 1e3);
	printf("%-40s %12.1f %12.1f ms\n", "run wall time (boot included)", w[0].wall_ms,
	       w[1].wall_ms);
	printf("%-40s %12u %12u\n", "policy migrations", w[0].migrations,
	       w[1].migrations);
	printf("%-40s %12s %12lld  (the policy's estimate)\n", "remote faults avoided",
	       "-", w[1].avoided);
	printf("speed-up of the walk, off / auto: %.2fx; of the wall time: %.2fx\n",
	       w[0].walk_us / w[1].walk_us, w[0].wall_ms / w[1].wall_ms);
}

int bench_migrate(int argc, char **argv)
{
	struct migrate_bench b = {
	    .provider = "tcp", .passes = 2000, .storm_ms = 20, .storm_s = 3};
	struct migrate_pause pause;
	struct migrate_walk walk[2];
	int st = parse(&b, argc, argv), kvm;

	if (st >= 0)
		return st;
	st = bench_self_path(b.self, sizeof(b.self), "migrate");
	if (st)
		return st;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		fprintf(stderr,
			"rackvm bench migrate: cannot open /dev/kvm: %s (the runs "
			"need KVM: load it, run as root or in the kvm group)\n",
			strerror(errno));
		return RACKVM_EXIT_HOST;
	}
	close(kvm);
	st = migrate_bench_pause(&b, &pause);
	if (!st)
		st = migrate_bench_walk(&b, false, &walk[0]);
	if (!st)
		st = migrate_bench_walk(&b, true, &walk[1]);
	if (st)
		return st;
	print_table(&b, &pause, walk);
	printf("RESULT bench=migrate pause_p50_us=%.1f pause_p99_us=%.1f rtt_us=%.1f "
	       "speedup=%.2f wall_speedup=%.2f policy_migrations=%u\n",
	       pause.p50_us, pause.p99_us, pause.rtt_us,
	       walk[0].walk_us / walk[1].walk_us, walk[0].wall_ms / walk[1].wall_ms,
	       walk[1].migrations);
	return RACKVM_EXIT_OK;
}
