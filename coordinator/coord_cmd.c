// SPDX-License-Identifier: MIT
/* `rackvm coordinator`: options, then the coordinator's event loop. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "coordinator/cli.h"
#include "coordinator/ctl.h"

static void coord_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: rackvm coordinator --listen tcp://ADDRESS:PORT --nodes N "
	    "[OPTIONS]\n\n"
	    "The control plane of one VM: waits for N `rackvm node` processes to join,\n"
	    "gives them ids (join order), the vCPU placement, the memory homes and each\n"
	    "other's data-plane addresses, waits until every node has connected and\n"
	    "checked the mesh, starts them and watches their heartbeats. A node silent\n"
	    "for two heartbeat intervals stops the whole cluster (exit 4).\n\n"
	    "  --listen EP          ZeroMQ endpoint to bind, e.g. tcp://127.0.0.1:7000\n"
	    "                       (tcp://127.0.0.1:* picks a free port and prints it)\n"
	    "  --nodes N            number of nodes (1..%d)\n"
	    "  --provider P         data-plane provider for the nodes: tcp (default), "
	    "shm\n"
	    "  --heartbeat-ms MS    heartbeat interval (default 200; 2000 in a QEMU TCG\n"
	    "                       host; %d..%d)\n"
	    "  --join-timeout-ms MS how long to wait for all joins, and then for all\n"
	    "                       Ready messages (default 15000; x10 in a QEMU TCG host)\n"
	    "  --seconds S          keep the cluster running S s after Start (default "
	    "0)\n"
	    "  --vcpus N            guest vCPUs to place (default: one per node)\n"
	    "  --mem SIZE           guest memory to split into home ranges (default "
	    "256M)\n"
	    "  --check-rounds N     mesh health-check rounds per check (default 10)\n"
	    "  --migrate-storm MS   every MS ms move a random vCPU that is not moving\n"
	    "                       to a random other node (the summary prints the\n"
	    "                       migrations and their pause p50/p99/max)\n"
	    "\nThe VM (without --guest the nodes only check the mesh and stop):\n"
	    "  --guest testos|linux the guest the nodes run together\n"
	    "  --test NAME, --kernel FILE, --initrd FILE, --append TEXT\n"
	    "                       as for rackvm run (paths are read on node 0)\n"
	    "  --guest-seconds S    the guest test's --seconds\n"
	    "  --timeout S          stop a guest that has not powered off after S s\n"
	    "  --numa on|off        one NUMA node per rackvm node (default on)\n"
	    "  --memory shared|dsm  guest RAM: dsm (coherent over the data plane) or\n"
	    "                       shared (one memfd: every node on one host)\n"
	    "  --time-dilation D|auto  the guest's clocks run D times slower (1..1000,\n"
	    "                       default 1; auto: 10 in a QEMU TCG host); the\n"
	    "                       --migrate-storm interval is guest time\n"
	    "\nPlacement policy:\n%s"
	    "  -h, --help           this text\n\n"
	    "exit status: 0 the run finished and every node was healthy, 2 bad usage,\n"
	    "3 cannot listen, 4 a node failed, went silent or never joined.\n",
	    CTL_MAX_NODES, CTL_HB_MS_MIN, CTL_HB_MS_MAX, policy_opts_help);
}

enum {
	OPT_LISTEN = 256,
	OPT_NODES,
	OPT_PROVIDER,
	OPT_HB,
	OPT_JOIN_TIMEOUT,
	OPT_SECONDS,
	OPT_VCPUS,
	OPT_MEM,
	OPT_ROUNDS,
	OPT_GUEST,
	OPT_TEST,
	OPT_KERNEL,
	OPT_INITRD,
	OPT_APPEND,
	OPT_GUEST_SECONDS,
	OPT_TIMEOUT,
	OPT_NUMA,
	OPT_MEMORY,
	OPT_STORM,
	OPT_DILATION,
	OPT_POLICY,
};

static const struct option coord_longopts[] = {
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"nodes", required_argument, NULL, OPT_NODES},
    {"provider", required_argument, NULL, OPT_PROVIDER},
    {"heartbeat-ms", required_argument, NULL, OPT_HB},
    {"join-timeout-ms", required_argument, NULL, OPT_JOIN_TIMEOUT},
    {"seconds", required_argument, NULL, OPT_SECONDS},
    {"vcpus", required_argument, NULL, OPT_VCPUS},
    {"mem", required_argument, NULL, OPT_MEM},
    {"check-rounds", required_argument, NULL, OPT_ROUNDS},
    {"guest", required_argument, NULL, OPT_GUEST},
    {"test", required_argument, NULL, OPT_TEST},
    {"kernel", required_argument, NULL, OPT_KERNEL},
    {"initrd", required_argument, NULL, OPT_INITRD},
    {"append", required_argument, NULL, OPT_APPEND},
    {"guest-seconds", required_argument, NULL, OPT_GUEST_SECONDS},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"numa", required_argument, NULL, OPT_NUMA},
    {"memory", required_argument, NULL, OPT_MEMORY},
    {"migrate-storm", required_argument, NULL, OPT_STORM},
    {"time-dilation", required_argument, NULL, OPT_DILATION},
    POLICY_LONGOPTS(OPT_POLICY),
    {"help", no_argument, NULL, 'h'},
    {0},
};

/* Parses one numeric option into @out; prints the error naming the option. */
static int coord_num(const char *name, const char *arg, unsigned long long lo,
		     unsigned long long hi, unsigned int *out)
{
	unsigned long long v;

	if (ctl_parse_uint(arg, hi, &v) || v < lo) {
		fprintf(stderr,
			"rackvm coordinator: --%s '%s' is not a number in %llu..%llu\n",
			name, arg, lo, hi);
		return -1;
	}
	*out = (unsigned int)v;
	return 0;
}

static int coord_choice(const char *name, const char *arg, const char *a, const char *b)
{
	if (!strcmp(arg, a) || !strcmp(arg, b))
		return 0;
	fprintf(stderr, "rackvm coordinator: --%s '%s': give %s or %s\n", name, arg, a, b);
	return -1;
}

/* The VM's options; 1 if @c is not one of them. */
static int coord_vm_opt(struct coord_opts *o, int c, const char *arg)
{
	switch (c) {
	case OPT_GUEST:
		o->guest = arg;
		return coord_choice("guest", arg, "testos", "linux");
	case OPT_TEST: o->test = arg; return 0;
	case OPT_KERNEL: o->kernel = arg; return 0;
	case OPT_INITRD: o->initrd = arg; return 0;
	case OPT_APPEND: o->append = arg; return 0;
	case OPT_GUEST_SECONDS:
		return coord_num("guest-seconds", arg, 0, 86400, &o->guest_seconds);
	case OPT_TIMEOUT:
		return coord_num("timeout", arg, 0, 864000, &o->timeout);
	case OPT_NUMA:
		o->numa_off = !strcmp(arg, "off");
		return coord_choice("numa", arg, "on", "off");
	case OPT_MEMORY:
		o->memory = arg;
		return coord_choice("memory", arg, "shared", "dsm");
	case OPT_DILATION:
		if (!ctl_parse_dilation(arg, &o->time_dilation))
			return 0;
		fprintf(stderr,
			"rackvm coordinator: --time-dilation '%s': give 1..%u or auto\n",
			arg, VM_MAX_DILATION);
		return -1;
	default:
		return 1;
	}
}

static int coord_opt(struct coord_opts *o, int c, const char *arg)
{
	int ret = coord_vm_opt(o, c, arg);

	if (ret <= 0)
		return ret;
	switch (c) {
	case OPT_LISTEN:
		o->listen = arg;
		return 0;
	case OPT_NODES:
		return coord_num("nodes", arg, 1, CTL_MAX_NODES, &o->nodes);
	case OPT_PROVIDER:
		o->provider = arg;
		return 0;
	case OPT_HB:
		return coord_num("heartbeat-ms", arg, CTL_HB_MS_MIN, CTL_HB_MS_MAX,
				 &o->heartbeat_ms);
	case OPT_JOIN_TIMEOUT:
		return coord_num("join-timeout-ms", arg, 1, 3600000, &o->join_timeout_ms);
	case OPT_SECONDS:
		return coord_num("seconds", arg, 0, 86400 * 365, &o->seconds);
	case OPT_VCPUS:
		return coord_num("vcpus", arg, 1, CTL_VCPUS_MAX, &o->vcpus);
	case OPT_ROUNDS:
		return coord_num("check-rounds", arg, 0, CTL_ROUNDS_MAX,
				 &o->check_rounds);
	case OPT_STORM:
		return coord_num("migrate-storm", arg, 1, 3600000, &o->migrate_storm_ms);
	case OPT_MEM:
		if (parse_size(arg, &o->mem) || !o->mem) {
			fprintf(stderr,
				"rackvm coordinator: --mem '%s' is not a size (e.g. "
				"256M, 2G)\n",
				arg);
			return -1;
		}
		return 0;
	default:
		return -1;
	}
}

static int coord_check(const struct coord_opts *o)
{
	uint64_t base[CTL_MAX_NODES], size[CTL_MAX_NODES];

	if (!o->listen || !o->nodes) {
		fprintf(stderr, "rackvm coordinator: --listen and --nodes are required "
				"(rackvm coordinator --help)\n");
		return -1;
	}
	if (ctl_plan_homes(o->mem, o->nodes, base, size)) {
		fprintf(stderr,
			"rackvm coordinator: --mem %llu MiB cannot be split over %u "
			"nodes (need a 4 KiB multiple, >= 2 MiB per node)\n",
			(unsigned long long)(o->mem >> 20), o->nodes);
		return -1;
	}
	return 0;
}

int cmd_coordinator(int argc, char **argv)
{
	struct coord_opts o = {
	    .provider = "tcp",
	    .heartbeat_ms = 200 * vm_host_slowdown(),
	    .join_timeout_ms = 15000 * vm_host_slowdown(),
	    .mem = 256ULL << 20,
	    .check_rounds = 10,
	    .policy = policy_cfg_default(),
	};
	int c, idx = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", coord_longopts, &idx)) != -1) {
		if (c == 'h') {
			coord_usage(stdout);
			return RACKVM_EXIT_OK;
		}
		if (c == OPT_POLICY) {
			if (policy_opt("coordinator", coord_longopts[idx].name, optarg,
				       &o.policy_auto, &o.policy))
				return RACKVM_EXIT_USAGE;
			continue;
		}
		if (c == '?' || coord_opt(&o, c, optarg))
			return RACKVM_EXIT_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr,
			"rackvm coordinator: unexpected argument '%s' (rackvm "
			"coordinator --help)\n",
			argv[optind]);
		return RACKVM_EXIT_USAGE;
	}
	if (!o.vcpus)
		o.vcpus = o.nodes;
	if (coord_check(&o))
		return RACKVM_EXIT_USAGE;
	ctl_catch_signals();
	setvbuf(stdout, NULL, _IOLBF, 0);
	return coord_run(&o);
}
