// SPDX-License-Identifier: MIT
/*
 * The child runs of `rackvm bench migrate`: `rackvm run --nodes 2` whose
 * output lines are scanned for the guest's RACKVM-RESULT and the
 * coordinator's summary lines, and `rackvm bench transport` for the round
 * trip. A failed run is reported with its last output lines.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "bench/bench.h"
#include "bench/migrate.h"
#include "coordinator/cli.h"

#define TAIL 4 /* lines of a failed run shown */

struct run_out {
	char tail[TAIL][512];
	unsigned int lines;
	double walk_us;	       /* remote-walk's walk_us, -1 if none passed */
	double p50_ms, p99_ms; /* the coordinator's migration summary */
	double parts_ms[4];    /* ... and the p50s of the pause's parts */
	unsigned int storm_migrations, policy_migrations;
	long long avoided; /* "about N remote faults avoided" */
	bool passed;
};

static void scan(struct run_out *r, const char *line)
{
	const char *p;

	snprintf(r->tail[r->lines++ % TAIL], sizeof(r->tail[0]), "%.*s",
		 (int)sizeof(r->tail[0]) - 1, line);
	if ((p = strstr(line, "RACKVM-RESULT test=remote-walk status=pass")) &&
	    (p = strstr(p, " walk_us=")))
		sscanf(p, " walk_us=%lf", &r->walk_us);
	if ((p = strstr(line, "rackvm coordinator: ")) &&
	    sscanf(p,
		   "rackvm coordinator: %u migrations (%*u refused), pause p50 %lf "
		   "ms, p99 %lf ms",
		   &r->storm_migrations, &r->p50_ms, &r->p99_ms) == 3)
		return;
	if ((p = strstr(line, "rackvm coordinator: pause parts p50: ")) &&
	    sscanf(p,
		   "rackvm coordinator: pause parts p50: settle+save %lf ms, send+wire "
		   "%lf ms, load %lf ms, to the first entry %lf ms",
		   &r->parts_ms[0], &r->parts_ms[1], &r->parts_ms[2],
		   &r->parts_ms[3]) == 4)
		return;
	if ((p = strstr(line, "rackvm coordinator: policy auto: ")))
		sscanf(p, "rackvm coordinator: policy auto: %u migrations",
		       &r->policy_migrations);
	if ((p = strstr(line, ", about ")))
		sscanf(p, ", about %lld remote faults avoided", &r->avoided);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Runs @cmd; 0 if it exited 0, else its exit status (or 4). */
static int run(const char *what, const char *cmd, struct run_out *r, double *wall_ms)
{
	char line[1024];
	double t0 = now_ms();
	FILE *p;
	int st;

	memset(r, 0, sizeof(*r));
	r->walk_us = r->p50_ms = r->p99_ms = -1;
	for (int i = 0; i < 4; i++)
		r->parts_ms[i] = -1;
	p = popen(cmd, "r");
	if (!p)
		return RACKVM_EXIT_HOST;
	while (fgets(line, sizeof(line), p))
		scan(r, line);
	st = pclose(p);
	if (wall_ms)
		*wall_ms = now_ms() - t0;
	if (st == 0)
		return 0;
	fprintf(stderr, "rackvm bench migrate: %s failed (exit %d): %s\n", what,
		WIFEXITED(st) ? WEXITSTATUS(st) : -1, cmd);
	for (unsigned int i = r->lines > TAIL ? r->lines - TAIL : 0; i < r->lines; i++)
		fprintf(stderr, "  %s", r->tail[i % TAIL]);
	st = WIFEXITED(st) ? WEXITSTATUS(st) : RACKVM_EXIT_PEER;
	return st == RACKVM_EXIT_HOST ? st : RACKVM_EXIT_GUEST_FAIL;
}

static void hb_arg(const struct migrate_bench *b, char *buf, size_t len)
{
	if (b->hb_ms)
		snprintf(buf, len, "--heartbeat-ms %u", b->hb_ms);
	else
		buf[0] = 0;
}

int migrate_bench_pause(const struct migrate_bench *b, struct migrate_pause *out)
{
	char cmd[4600], hb[32];
	struct run_out r;
	int st;

	hb_arg(b, hb, sizeof(hb));
	snprintf(cmd, sizeof(cmd),
		 "'%s' run --nodes 2 --provider %s --vcpus 2 --mem 128M --test coherence "
		 "--seconds %u --migrate-storm %u --timeout 300 %s 2>&1",
		 b->self, b->provider, b->storm_s, b->storm_ms, hb);
	st = run("the migrate storm run", cmd, &r, NULL);
	if (st)
		return st;
	if (r.p50_ms < 0 || !r.storm_migrations) {
		fprintf(stderr, "rackvm bench migrate: the storm run printed no "
				"migration pauses\n");
		return RACKVM_EXIT_GUEST_FAIL;
	}
	out->p50_us = r.p50_ms * 1e3;
	out->p99_us = r.p99_ms * 1e3;
	for (int i = 0; i < 4; i++)
		out->parts_us[i] = r.parts_ms[i] * 1e3; /* -1 ms: not printed */
	out->migrations = r.storm_migrations;
	out->rtt_us = bench_transport_rtt_us(b->self, b->provider);
	if (out->rtt_us < 0) {
		fprintf(stderr,
			"rackvm bench migrate: `rackvm bench transport --provider "
			"%s` failed\n",
			b->provider);
		return RACKVM_EXIT_HOST;
	}
	return 0;
}

int migrate_bench_walk(const struct migrate_bench *b, bool policy,
		       struct migrate_walk *out)
{
	char cmd[4600], hb[32];
	struct run_out r;
	int st;

	hb_arg(b, hb, sizeof(hb));
	snprintf(
	    cmd, sizeof(cmd),
	    "'%s' run --nodes 2 --provider %s --vcpus 2 --mem 128M --test remote-walk "
	    "--append 'passes=%u' --policy %s --timeout 600 %s 2>&1",
	    b->self, b->provider, b->passes, policy ? "auto" : "off", hb);
	st = run(policy ? "remote-walk --policy auto" : "remote-walk --policy off", cmd,
		 &r, &out->wall_ms);
	if (st)
		return st;
	if (r.walk_us <= 0) {
		fprintf(stderr, "rackvm bench migrate: remote-walk printed no walk_us\n");
		return RACKVM_EXIT_GUEST_FAIL;
	}
	out->walk_us = r.walk_us;
	out->migrations = r.policy_migrations;
	out->avoided = r.avoided;
	return 0;
}
