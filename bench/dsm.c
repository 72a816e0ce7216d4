// SPDX-License-Identifier: MIT
/*
 * `rackvm bench dsm`: DSM fault latencies between two node processes, next
 * to their floors measured in the same run (an empty userfaultfd round trip
 * and the transport's 4 KiB round trip), as a table (and CSV) with a last
 * machine-readable RESULT line.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/dsm_bench.h"
#include "coordinator/cli.h"

static void db_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: rackvm bench dsm [--nodes 2] [--provider tcp|shm|verbs] [--iters N] [--csv "
	    "FILE]\n"
	    "\n"
	    "Forks two DSM node processes pinned to CPUs 0 and 1, joined by the rackvm\n"
	    "transport over loopback. Every page is homed on node 1; each measurement\n"
	    "uses its own fresh pages. Node 0 measures, per fault, p50/p99/mean of:\n"
	    "  read     read fault I -> S on a page node 1 wrote (data moves)\n"
	    "  write    write fault I -> M on a page node 1 wrote (data moves)\n"
	    "  upgrade  write fault S -> M (the page was read just before, untimed)\n"
	    "and node 1, the home, measures the invalidation cost as its faulting side\n"
	    "sees it, on pages node 0 holds:\n"
	    "  inv-S    node 1's write fault S -> M while node 0 holds S: one INV +\n"
	    "           INV_ACK round to node 0 (which zaps its mapping), no data\n"
	    "  inv-M    node 1's write fault I -> M while node 0 holds M: INV round\n"
	    "           plus the one-sided read of the page from node 0\n"
	    "Then faults/s with 1, 4 and 16 threads of node 0 read-faulting distinct\n"
	    "remote pages at once. References, same run and pinning: uffd = empty\n"
	    "userfaultfd round trip (MINOR fault answered by UFFDIO_CONTINUE from a\n"
	    "handler thread on the same CPU), rtt = 4 KiB ping-pong between the two\n"
	    "nodes over the same transport (polled, before the DSM takes it over).\n"
	    "ratio = read p50 / (uffd p50 + rtt p50); goal <= 1.25 (not a test).\n"
	    "\n"
	    "  --nodes N     node processes; only 2 for now\n"
	    "  --provider P  libfabric provider: tcp (default) or shm; verbs: the\n"
	    "                native ibverbs backend (RACKVM_IB_DEV, RACKVM_IB_GID)\n"
	    "  --iters N     timed faults per kind (default 4000; a tenth more warm up)\n"
	    "  --csv FILE    also write the table as CSV\n"
	    "\n"
	    "Last line: RESULT bench=dsm provider=P read_p50_us=X upgrade_p50_us=Y\n"
	    "write_p50_us=W inv_s_p50_us=I ratio=R fps1=A fps4=B fps16=C.\n"
	    "Needs root (userfaultfd). Exit 0, 2 bad usage, 3 host cannot run it,\n"
	    "4 a node failed or read wrong data.\n");
}

static int db_parse_uint(const char *opt, const char *arg, unsigned int lo,
			 unsigned int hi, unsigned int *out)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (!*arg || *end || v < lo || v > hi) {
		fprintf(stderr, "rackvm bench dsm: %s wants %u..%u, not '%s'\n", opt, lo,
			hi, arg);
		return RACKVM_EXIT_USAGE;
	}
	*out = (unsigned int)v;
	return 0;
}

static int db_parse_args(int argc, char **argv, struct db_opts *o)
{
	static const struct option longopts[] = {
	    {"nodes", required_argument, NULL, 'n'},
	    {"provider", required_argument, NULL, 'p'},
	    {"iters", required_argument, NULL, 'i'},
	    {"csv", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int c, err = 0;

	optind = 1;
	while (!err && (c = getopt_long(argc, argv, "n:p:i:c:h", longopts, NULL)) != -1) {
		if (c ==
		    'n') /* the phases are written for one measuring node and one home */
			err = db_parse_uint("--nodes", optarg, 2, 2, &o->nodes);
		else if (c == 'p')
			o->provider = optarg;
		else if (c == 'i')
			err = db_parse_uint("--iters", optarg, 50, 1000000, &o->iters);
		else if (c == 'c')
			o->csv = optarg;
		else if (c == 'h') {
			db_usage(stdout);
			return -1;
		} else {
			db_usage(stderr);
			return RACKVM_EXIT_USAGE;
		}
	}
	if (!err && optind < argc) {
		fprintf(stderr, "rackvm bench dsm: unexpected argument '%s'\n",
			argv[optind]);
		return RACKVM_EXIT_USAGE;
	}
	if (!err && strcmp(o->provider, "tcp") && strcmp(o->provider, "shm") &&
	    strcmp(o->provider, "verbs")) {
		fprintf(stderr,
			"rackvm bench dsm: --provider must be tcp, shm or verbs, not '%s'\n",
			o->provider);
		return RACKVM_EXIT_USAGE;
	}
	return err;
}

static const char *const db_names[DB_NR_KINDS] = {
    [DB_READ] = "read I->S",	   [DB_WRITE] = "write I->M",
    [DB_UPGRADE] = "upgrade S->M", [DB_INV_S] = "inv-S (node 1)",
    [DB_INV_M] = "inv-M (node 1)", [DB_UFFD] = "ref uffd",
    [DB_RTT] = "ref rtt 4KiB",
};

static void db_print(FILE *f, const struct db_result *r, bool csv)
{
	if (csv)
		fprintf(f, "test,samples,p50_us,p99_us,mean_us,faults_per_s\n");
	else
		printf("%-16s %8s %9s %9s %9s %12s\n", "test", "samples", "p50_us",
		       "p99_us", "mean_us", "faults/s");
	for (int k = 0; k < DB_NR_KINDS; k++) {
		const struct db_stat *s = &r->lat[k];

		fprintf(f,
			csv ? "%s,%u,%.2f,%.2f,%.2f,\n"
			    : "%-16s %8u %9.2f %9.2f %9.2f %12s\n",
			db_names[k], s->n, s->p50, s->p99, s->mean, "-");
	}
	for (int i = 0; i < 3; i++) {
		char name[32];

		snprintf(name, sizeof(name), "read x%u thr", db_threads[i]);
		if (csv)
			fprintf(f, "%s,,,,,%.0f\n", name, r->fps[i]);
		else
			fprintf(f, "%-16s %8s %9s %9s %9s %12.0f\n", name, "-", "-", "-",
				"-", r->fps[i]);
	}
}

static double db_ratio(const struct db_result *r)
{
	double floor = r->lat[DB_UFFD].p50 + r->lat[DB_RTT].p50;

	return floor > 0 ? r->lat[DB_READ].p50 / floor : 0;
}

static int db_report(const struct db_opts *o, const struct db_result *r)
{
	db_print(stdout, r, false);
	if (o->csv) {
		FILE *csv = fopen(o->csv, "w");

		if (!csv) {
			perror(o->csv);
			return RACKVM_EXIT_USAGE;
		}
		db_print(csv, r, true);
		fclose(csv);
	}
	printf("read fault / (uffd + rtt) = %.2f / (%.2f + %.2f) = %.3f (goal <= 1.25)\n",
	       r->lat[DB_READ].p50, r->lat[DB_UFFD].p50, r->lat[DB_RTT].p50, db_ratio(r));
	printf("RESULT bench=dsm provider=%s read_p50_us=%.2f upgrade_p50_us=%.2f "
	       "write_p50_us=%.2f inv_s_p50_us=%.2f ratio=%.3f fps1=%.0f fps4=%.0f "
	       "fps16=%.0f\n",
	       o->provider, r->lat[DB_READ].p50, r->lat[DB_UPGRADE].p50,
	       r->lat[DB_WRITE].p50, r->lat[DB_INV_S].p50, db_ratio(r), r->fps[0],
	       r->fps[1], r->fps[2]);
	return 0;
}

int bench_dsm(int argc, char **argv)
{
	struct db_opts o = {.provider = "tcp", .nodes = 2, .iters = 4000};
	struct db_result r = {0};
	int ret = db_parse_args(argc, argv, &o);

	if (ret)
		return ret < 0 ? RACKVM_EXIT_OK : ret;
	if (geteuid()) {
		fprintf(stderr,
			"rackvm bench dsm: userfaultfd needs root: run it as root\n");
		return RACKVM_EXIT_HOST;
	}
	o.pin = sysconf(_SC_NPROCESSORS_ONLN) >= 2;
	printf("rackvm bench dsm: %u nodes, provider %s, %u faults per kind, %s\n",
	       o.nodes, o.provider, o.iters,
	       o.pin ? "nodes pinned to CPUs 0 and 1" : "one CPU: not pinned");
	ret = db_run(&o, &r);
	if (ret)
		return ret;
	if (r.bad_data) {
		fprintf(stderr,
			"rackvm bench dsm: %llu faulted pages held the wrong data\n",
			(unsigned long long)r.bad_data);
		return RACKVM_EXIT_PEER;
	}
	return db_report(&o, &r);
}
