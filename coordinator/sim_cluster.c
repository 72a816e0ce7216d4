// SPDX-License-Identifier: MIT
/*
 * rackvm sim with N > 1 hosts: ONE VM across the hosts. Host 0 runs the
 * coordinator plus a node, every other host a node. The user wrote
 * `rackvm run` options after `--`; this file turns them into coordinator
 * options, refusing what has no meaning across separate machines.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/sim.h"

/* rackvm run option -> rackvm coordinator option (both take a value). */
static const struct {
	const char *run, *coord;
} sim_run_map[] = {
    {"guest", "guest"},	  {"vcpus", "vcpus"},		{"mem", "mem"},
    {"test", "test"},	  {"seconds", "guest-seconds"}, {"timeout", "timeout"},
    {"append", "append"}, {"kernel", "kernel"},		{"initrd", "initrd"},
    {"numa", "numa"},	  {"memory", "memory"},		{"time-dilation", "time-dilation"},
};

bool sim_is_cluster(const struct sim_opts *o)
{
	return o->hosts > 1 && !o->shell && !o->check_only;
}

static const char *sim_run_coord_name(const char *run)
{
	for (size_t i = 0; i < sizeof(sim_run_map) / sizeof(sim_run_map[0]); i++)
		if (!strcmp(sim_run_map[i].run, run))
			return sim_run_map[i].coord;
	return NULL;
}

/* --nodes and --provider of rackvm run: only what agrees with the sim. */
static int sim_run_check(const struct sim_opts *o, const char *name, const char *val)
{
	char *end;
	unsigned long n;

	if (!strcmp(name, "nodes")) {
		errno = 0;
		n = strtoul(val, &end, 10);
		if (errno || *end || n != o->hosts) {
			fprintf(stderr,
				"rackvm sim: RUN-ARGS --nodes %s: the VM has one node "
				"per host (--hosts %u): drop --nodes\n",
				val, o->hosts);
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(name, "memory") && strcmp(val, "dsm")) {
		fprintf(stderr,
			"rackvm sim: RUN-ARGS --memory %s: the hosts share no "
			"memory, only --memory dsm works across them\n",
			val);
		return -EINVAL;
	}
	return 0;
}

/* Splits "--name=value" or "--name value"; *used is how many argv it took. */
static int sim_run_split(const struct sim_opts *o, int i, char *name, size_t len,
			 const char **val, int *used)
{
	const char *a = o->run_argv[i], *eq;
	size_t n;

	if (strncmp(a, "--", 2)) {
		fprintf(stderr, "rackvm sim: RUN-ARGS: unexpected '%s'\n", a);
		return -EINVAL;
	}
	a += 2;
	eq = strchr(a, '=');
	n = eq ? (size_t)(eq - a) : strlen(a);
	if (n >= len)
		n = len - 1; /* too long for any known name: refused below */
	memcpy(name, a, n);
	name[n] = 0;
	if (strcmp(name, "nodes") && !sim_run_coord_name(name)) {
		fprintf(stderr,
			"rackvm sim: RUN-ARGS --%s has no meaning for one VM across "
			"hosts (--check-only runs rackvm run on host 0 alone)\n",
			name);
		return -EINVAL;
	}
	*used = eq ? 1 : 2;
	*val = eq ? eq + 1 : (i + 1 < o->run_argc ? o->run_argv[i + 1] : NULL);
	if (!*val) {
		fprintf(stderr, "rackvm sim: RUN-ARGS: --%s needs a value\n", name);
		return -EINVAL;
	}
	return 0;
}

/*
 * Fills @out with coordinator option/value pairs for RUN-ARGS (pointers to
 * static names and into run_argv); returns how many, or -errno after
 * printing why.
 */
int sim_cluster_args(const struct sim_opts *o, const char **out, int max)
{
	char name[32];
	const char *val, *coord;
	int n = 0, used;

	for (int i = 0; i < o->run_argc; i += used) {
		if (sim_run_split(o, i, name, sizeof(name), &val, &used))
			return -EINVAL;
		if (sim_run_check(o, name, val))
			return -EINVAL;
		if (!strcmp(name, "nodes"))
			continue;
		coord = sim_run_coord_name(name);
		if (n + 2 > max)
			return -E2BIG;
		out[n++] = coord;
		out[n++] = val;
	}
	return n;
}
