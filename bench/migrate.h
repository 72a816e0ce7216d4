/* SPDX-License-Identifier: MIT */
/* bench/migrate.h - private to bench/migrate*.c: `rackvm bench migrate`. */
#ifndef RACKVM_BENCH_MIGRATE_H
#define RACKVM_BENCH_MIGRATE_H

#include <stdbool.h>

struct migrate_bench {
	const char *provider;
	unsigned int passes;   /* remote-walk passes */
	unsigned int storm_ms; /* --migrate-storm interval */
	unsigned int storm_s;  /* coherence --seconds under the storm */
	unsigned int hb_ms;    /* --heartbeat-ms for the runs, 0: default */
	char self[4096];       /* this binary (popen's /proc/self/exe is the shell) */
};

struct migrate_pause {
	double p50_us, p99_us, rtt_us;
	/* p50 of: settle+save, send+wire, load, to the first entry; -1: none */
	double parts_us[4];
	unsigned int migrations;
};

struct migrate_walk {
	double walk_us, wall_ms;
	unsigned int migrations; /* by the policy */
	long long avoided;	 /* remote faults, the policy's estimate */
};

/* migrate_run.c: each returns 0 or an exit status, having said what failed */
int migrate_bench_pause(const struct migrate_bench *b, struct migrate_pause *out);
int migrate_bench_walk(const struct migrate_bench *b, bool policy,
		       struct migrate_walk *out);

#endif
