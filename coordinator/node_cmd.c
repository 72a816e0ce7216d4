// SPDX-License-Identifier: MIT
/* `rackvm node`: options, then the node's control loop. */
#include <getopt.h>
#include <stdio.h>

#include "core/core.h"
#include "coordinator/cli.h"
#include "coordinator/ctl.h"

static void node_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: rackvm node --coordinator tcp://HOST:PORT [OPTIONS]\n\n"
	    "The VMM of one host. Joins the coordinator, opens its data-plane endpoint,\n"
	    "connects to every other node, checks the mesh (messages both ways and\n"
	    "one-sided reads), reports Ready and runs when told to. Heartbeats go to\n"
	    "the coordinator every interval; a coordinator silent for two intervals\n"
	    "ends the node with exit status 4.\n\n"
	    "  --coordinator EP       the coordinator's ZeroMQ endpoint (required)\n"
	    "  --provider P           data-plane provider (default: the coordinator's)\n"
	    "  --iface IP             local address the data plane binds to\n"
	    "  --delay-us US          hold every data-plane message this node receives\n"
	    "                         for US microseconds, 0..%u (rackvm's own delay,\n"
	    "                         for a slower link than the real one; default 0)\n"
	    "  --id K                 ask for node id K (default: ids in join order)\n"
	    "  --connect-timeout-ms MS  give up if the coordinator does not answer the\n"
	    "                         first message within MS (default 3000;\n"
	    "                         x10 in a QEMU TCG host)\n"
	    "  --shared-mem-fd FD     guest RAM as an inherited memfd shared by every\n"
	    "                         node of one host (--memory shared; set by\n"
	    "                         `rackvm run --nodes`)\n"
	    "  -h, --help             this text\n\n"
	    "exit status: 0 the run finished, 2 bad usage, 3 the data plane cannot be\n"
	    "opened here, 4 the coordinator refused, stopped or lost this node.\n",
	    CTL_DELAY_US_MAX);
}

enum {
	OPT_COORD = 256,
	OPT_PROVIDER,
	OPT_IFACE,
	OPT_ID,
	OPT_CONNECT_TIMEOUT,
	OPT_PROTO_VERSION,
	OPT_SHARED_MEM_FD,
	OPT_DELAY_US,
};

static const struct option node_longopts[] = {
    {"coordinator", required_argument, NULL, OPT_COORD},
    {"provider", required_argument, NULL, OPT_PROVIDER},
    {"iface", required_argument, NULL, OPT_IFACE},
    {"id", required_argument, NULL, OPT_ID},
    {"connect-timeout-ms", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    /* hidden: lets tests speak a wrong protocol version */
    {"protocol-version", required_argument, NULL, OPT_PROTO_VERSION},
    {"shared-mem-fd", required_argument, NULL, OPT_SHARED_MEM_FD},
    {"delay-us", required_argument, NULL, OPT_DELAY_US},
    {"help", no_argument, NULL, 'h'},
    {0},
};

static int node_num(const char *name, const char *arg, unsigned long long lo,
		    unsigned long long hi, unsigned long long *out)
{
	if (ctl_parse_uint(arg, hi, out) || *out < lo) {
		fprintf(stderr, "rackvm node: --%s '%s' is not a number in %llu..%llu\n",
			name, arg, lo, hi);
		return -1;
	}
	return 0;
}

static int node_opt(struct node_opts *o, int c, const char *arg)
{
	unsigned long long v;

	switch (c) {
	case OPT_COORD:
		o->coordinator = arg;
		return 0;
	case OPT_PROVIDER:
		o->provider = arg;
		return 0;
	case OPT_IFACE:
		o->iface = arg;
		return 0;
	case OPT_ID:
		if (node_num("id", arg, 0, CTL_MAX_NODES - 1, &v))
			return -1;
		o->want_id = (int64_t)v;
		return 0;
	case OPT_CONNECT_TIMEOUT:
		if (node_num("connect-timeout-ms", arg, 1, 3600000, &v))
			return -1;
		o->connect_timeout_ms = (unsigned int)v;
		return 0;
	case OPT_SHARED_MEM_FD:
		if (node_num("shared-mem-fd", arg, 3, 65535, &v))
			return -1;
		o->shared_mem_fd = (int)v;
		return 0;
	case OPT_DELAY_US:
		if (node_num("delay-us", arg, 0, CTL_DELAY_US_MAX, &v))
			return -1;
		o->delay_us = (unsigned int)v;
		return 0;
	case OPT_PROTO_VERSION:
		if (node_num("protocol-version", arg, 0, UINT32_MAX, &v))
			return -1;
		o->protocol_version = (unsigned int)v;
		return 0;
	default:
		return -1;
	}
}

int cmd_node(int argc, char **argv)
{
	struct node_opts o = {
	    .protocol_version = CTL_PROTO_VERSION,
	    .want_id = -1,
	    .connect_timeout_ms = 3000 * vm_host_slowdown(),
	    .shared_mem_fd = -1,
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", node_longopts, NULL)) != -1) {
		if (c == 'h') {
			node_usage(stdout);
			return RACKVM_EXIT_OK;
		}
		if (c == '?' || node_opt(&o, c, optarg))
			return RACKVM_EXIT_USAGE;
	}
	if (optind < argc || !o.coordinator) {
		fprintf(stderr, "rackvm node: %s%s (rackvm node --help)\n",
			optind < argc ? "unexpected argument "
				      : "--coordinator tcp://HOST:PORT "
					"is required",
			optind < argc ? argv[optind] : "");
		return RACKVM_EXIT_USAGE;
	}
	ctl_catch_signals();
	setvbuf(stdout, NULL, _IOLBF, 0);
	return node_run(&o);
}
