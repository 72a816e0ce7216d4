// SPDX-License-Identifier: MIT
/* `rackvm run`'s namespace-mode options: --netns, --link-rate, --link-delay-us. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "coordinator/cli.h"
#include "coordinator/cluster.h"
#include "coordinator/ctl.h"

#define RATE_MIN 1000000ULL	 /* 1 Mbit/s: heartbeats share the link */
#define RATE_MAX 100000000000ULL /* 100 Gbit/s */

int parse_rate(const char *s, uint64_t *bps)
{
	static const struct {
		const char *unit;
		uint64_t mult;
	} units[] = {
	    {"", 1}, {"bit", 1}, {"kbit", 1000}, {"mbit", 1000000}, {"gbit", 1000000000}};
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].unit))
			continue;
		if (v > UINT64_MAX / units[i].mult)
			return -EINVAL;
		*bps = v * units[i].mult;
		return 0;
	}
	return -EINVAL;
}

int run_net_option(struct run_opts *o, int opt, const char *arg)
{
	unsigned long long v;

	switch (opt) {
	case RUN_OPT_NETNS:
		o->netns = true;
		return -1;
	case RUN_OPT_LINK_RATE:
		if (parse_rate(arg, &o->link_rate) || o->link_rate < RATE_MIN ||
		    o->link_rate > RATE_MAX) {
			fprintf(
			    stderr,
			    "rackvm run: bad --link-rate '%s': give bit/s like 100mbit "
			    "or 1gbit, 1mbit..100gbit\n",
			    arg);
			return RACKVM_EXIT_USAGE;
		}
		return -1;
	case RUN_OPT_LINK_DELAY:
		if (ctl_parse_uint(arg, CTL_DELAY_US_MAX, &v)) {
			fprintf(
			    stderr,
			    "rackvm run: bad --link-delay-us '%s': give microseconds, "
			    "0..%u\n",
			    arg, CTL_DELAY_US_MAX);
			return RACKVM_EXIT_USAGE;
		}
		o->link_delay_us = (unsigned int)v;
		return -1;
	default:
		return RACKVM_EXIT_USAGE;
	}
}

static int refuse(const char *what)
{
	fprintf(stderr, "rackvm run: %s\n", what);
	return RACKVM_EXIT_USAGE;
}

int run_net_check(const struct run_opts *o)
{
	if (!o->nodes && o->netns)
		return refuse("--netns needs --nodes N: it puts each node process in "
			      "a network namespace");
	if (!o->nodes && o->link_delay_us)
		return refuse("--link-delay-us needs --nodes N: it delays the messages "
			      "between node processes");
	if (!o->netns && o->link_rate)
		return refuse("--link-rate needs --netns: it limits the veth link of "
			      "each node's namespace");
	if (!o->netns)
		return -1;
	if (o->provider && strcmp(o->provider, "tcp"))
		return refuse("--netns needs --provider tcp: the nodes reach each "
			      "other only over the veth links (drop --provider, or "
			      "drop --netns)");
	if (o->memory && !strcmp(o->memory, "shared"))
		return refuse("--netns cannot use --memory shared: nodes in namespaces "
			      "stand for separate hosts (use --memory dsm)");
	if (o->nodes > CLUSTER_NET_MAX_NODES) {
		fprintf(stderr,
			"rackvm run: --netns takes at most %d nodes (one /24 network): "
			"give --nodes 1..%d\n",
			CLUSTER_NET_MAX_NODES, CLUSTER_NET_MAX_NODES);
		return RACKVM_EXIT_USAGE;
	}
	return -1;
}
