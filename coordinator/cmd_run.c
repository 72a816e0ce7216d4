// SPDX-License-Identifier: MIT
/* `rackvm run`: boot a guest in this process, or across --nodes N processes. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "coordinator/cli.h"
#include "coordinator/ctl.h"
#include "core/core.h"

static const char run_usage[] =
	"usage: rackvm run [OPTIONS]\n"
	"\n"
	"Boot a guest and run it to power-off. Exit status 0 only when the guest\n"
	"powered off cleanly and every RACKVM-RESULT line it printed says status=pass.\n"
	"\n"
	"  --guest testos|linux  guest kind (default testos)\n"
	"  --vcpus N             virtual CPUs, 1..%u (default 1)\n"
	"  --mem SIZE            guest RAM, e.g. 256M, 2G (default 256M)\n"
	"  --test NAME           guest test to run (testos: smp ipi timer mem coherence\n"
	"                        exits compute remote-walk)\n"
	"  --seconds S           run time for timed tests (timer, coherence)\n"
	"  --timeout S           stop a guest that has not powered off after S seconds\n"
	"                        and show where every vCPU was (default: no limit)\n"
	"  --kernel FILE         guest kernel (default: the built testos / Linux image)\n"
	"  --initrd FILE         testos: a static ELF program to run; linux: an initramfs\n"
	"  --append TEXT         testos: test arguments; linux: kernel command line\n"
	"  --nodes N             spread the VM over N node processes on this box\n"
	"  --provider P          data-plane provider with --nodes (tcp, shm)\n"
	"  --memory dsm|shared   with --nodes: guest RAM kept coherent by the DSM over\n"
	"                        the data plane (default), or one memfd every node\n"
	"                        maps (nodes on one host only)\n"
	"  --numa on|off         one NUMA node per rackvm node, or a flat machine\n"
	"  --mesh-only           with --nodes: connect and check the mesh, no guest\n"
	"  --heartbeat-ms MS     with --nodes: heartbeat interval (default 200; 2000 in\n"
	"                        a QEMU TCG host); a node silent for two intervals\n"
	"                        stops the run; given, nodes also get 75 intervals\n"
	"                        to reach the coordinator and to join (slow hosts)\n"
	"  --netns               with --nodes: every node in its own network namespace,\n"
	"                        joined to the coordinator's by veth and a bridge\n"
	"                        (10.78.0.0/24; needs root; tcp provider only)\n"
	"  --link-rate RATE      with --netns: a tbf limit on each node's link, both\n"
	"                        ways, e.g. 100mbit, 1gbit (1mbit..100gbit)\n"
	"  --link-delay-us US    with --nodes: every data-plane message waits US us\n"
	"                        (0..100000) on arrival: rackvm's own delay, in the\n"
	"                        transport, as netem is missing here\n"
	"  --control EP          with --nodes: the coordinator's ZeroMQ endpoint\n"
	"                        (default tcp://127.0.0.1:FREE-PORT; printed at start)\n"
	"                        for rackvm migrate / rackvm stats --coordinator EP\n"
	"  --migrate-storm MS    with --nodes: every MS ms (guest time) move a random\n"
	"                        vCPU to a random other node; the summary prints the\n"
	"                        moves and their pause p50/p99/max\n"
	"  --time-dilation D|auto  the guest's clocks run D times slower than the\n"
	"                        host's (1..1000; default 1: real time): for hosts far\n"
	"                        slower than hardware; auto: 10 in a QEMU TCG host,\n"
	"                        else 1 (docs/architecture.md)\n"
	"  --verbose             log exits rackvm ignores and other details\n"
	"  --help                this text\n"
	"\nWith --nodes, the placement policy:\n";

int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 0;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (*end == 'i' || *end == 'B')
		end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
	if (*end || (shift && v > (~0ULL >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_uint(const char *s, unsigned int *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 0xffffffffUL)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

static int bad(const char *opt, const char *val, const char *want)
{
	fprintf(stderr, "rackvm run: bad %s '%s': %s\n", opt, val ? val : "", want);
	return RACKVM_EXIT_USAGE;
}

enum { OPT_GUEST = 256, OPT_VCPUS, OPT_MEM, OPT_TEST, OPT_SECONDS, OPT_KERNEL,
       OPT_INITRD, OPT_APPEND, OPT_NODES, OPT_TIMEOUT, OPT_MEMORY, OPT_NUMA, OPT_MESH_ONLY, OPT_HEARTBEAT, OPT_PROVIDER, OPT_VERBOSE, OPT_HELP,
       OPT_CONTROL, OPT_STORM, OPT_DILATION, OPT_POLICY };

static const struct option run_options[] = {
	{"guest", required_argument, NULL, OPT_GUEST},
	{"vcpus", required_argument, NULL, OPT_VCPUS},
	{"mem", required_argument, NULL, OPT_MEM},
	{"test", required_argument, NULL, OPT_TEST},
	{"seconds", required_argument, NULL, OPT_SECONDS},
	{"kernel", required_argument, NULL, OPT_KERNEL},
	{"initrd", required_argument, NULL, OPT_INITRD},
	{"append", required_argument, NULL, OPT_APPEND},
	{"nodes", required_argument, NULL, OPT_NODES},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"memory", required_argument, NULL, OPT_MEMORY},
	{"numa", required_argument, NULL, OPT_NUMA},
	{"mesh-only", no_argument, NULL, OPT_MESH_ONLY},
	{"heartbeat-ms", required_argument, NULL, OPT_HEARTBEAT},
	{"provider", required_argument, NULL, OPT_PROVIDER},
	{"netns", no_argument, NULL, RUN_OPT_NETNS},
	{"link-rate", required_argument, NULL, RUN_OPT_LINK_RATE},
	{"link-delay-us", required_argument, NULL, RUN_OPT_LINK_DELAY},
	{"verbose", no_argument, NULL, OPT_VERBOSE},
	{"control", required_argument, NULL, OPT_CONTROL},
	{"migrate-storm", required_argument, NULL, OPT_STORM},
	{"time-dilation", required_argument, NULL, OPT_DILATION},
	{"help", no_argument, NULL, OPT_HELP},
	POLICY_LONGOPTS(OPT_POLICY),
	{NULL, 0, NULL, 0},
};

/* One option; returns -1 to go on, else an exit status. */
static int run_option(struct run_opts *o, int c, const char *arg)
{
	switch (c) {
	case OPT_GUEST:
		if (strcmp(arg, "testos") && strcmp(arg, "linux"))
			return bad("--guest", arg, "use testos or linux");
		o->guest = arg;
		return -1;
	case OPT_VCPUS:
		if (parse_uint(arg, &o->vcpus) || !o->vcpus || o->vcpus > VM_MAX_VCPUS) {
			fprintf(stderr, "rackvm run: bad --vcpus '%s': give 1..%u\n", arg,
				VM_MAX_VCPUS);
			return RACKVM_EXIT_USAGE;
		}
		return -1;
	case OPT_MEM:
		if (parse_size(arg, &o->mem))
			return bad("--mem", arg, "not a size (examples: 256M, 2G, 1048576)");
		if (o->mem < VM_MIN_MEM || o->mem > VM_MAX_MEM || (o->mem & 0xfff))
			return bad("--mem", arg, "give 16M..1T in whole 4 KiB pages");
		return -1;
	case OPT_SECONDS:
		if (parse_uint(arg, &o->seconds) || o->seconds > 86400)
			return bad("--seconds", arg, "give 0..86400");
		return -1;
	case OPT_TIMEOUT:
		if (parse_uint(arg, &o->timeout) || o->timeout > 864000)
			return bad("--timeout", arg, "give seconds, 0..864000");
		return -1;
	case OPT_NODES:
		if (parse_uint(arg, &o->nodes) || !o->nodes || o->nodes > 256)
			return bad("--nodes", arg, "give 1..256");
		return -1;
	case OPT_MEMORY:
		if (strcmp(arg, "shared") && strcmp(arg, "dsm"))
			return bad("--memory", arg, "use shared or dsm");
		o->memory = arg;
		return -1;
	case OPT_NUMA:
		if (strcmp(arg, "on") && strcmp(arg, "off"))
			return bad("--numa", arg, "use on or off");
		o->numa_off = !strcmp(arg, "off");
		return -1;
	case OPT_MESH_ONLY: o->mesh_only = true; return -1;
	case OPT_HEARTBEAT:
		if (parse_uint(arg, &o->heartbeat_ms) || o->heartbeat_ms < 50 ||
		    o->heartbeat_ms > 60000)
			return bad("--heartbeat-ms", arg, "give 50..60000");
		return -1;
	case OPT_STORM:
		if (parse_uint(arg, &o->migrate_storm_ms) || !o->migrate_storm_ms ||
		    o->migrate_storm_ms > 3600000)
			return bad("--migrate-storm", arg, "give milliseconds, 1..3600000");
		return -1;
	case OPT_DILATION:
		if (ctl_parse_dilation(arg, &o->time_dilation))
			return bad("--time-dilation", arg, "give 1..1000 or auto");
		return -1;
	case OPT_CONTROL:
		if (strncmp(arg, "tcp://", 6) && strncmp(arg, "ipc://", 6))
			return bad("--control", arg, "give tcp://ADDRESS:PORT or ipc://PATH");
		o->control = arg;
		return -1;
	case OPT_TEST: o->test = arg; return -1;
	case OPT_KERNEL: o->kernel = arg; return -1;
	case OPT_INITRD: o->initrd = arg; return -1;
	case OPT_APPEND: o->append = arg; return -1;
	case OPT_PROVIDER: o->provider = arg; return -1;
	case OPT_VERBOSE: o->verbose = true; return -1;
	case RUN_OPT_NETNS:
	case RUN_OPT_LINK_RATE:
	case RUN_OPT_LINK_DELAY:
		return run_net_option(o, c, arg);
	case OPT_HELP:
		printf(run_usage, VM_MAX_VCPUS);
		fputs(policy_opts_help, stdout);
		return RACKVM_EXIT_OK;
	default:
		fprintf(stderr, "rackvm run: try rackvm run --help\n");
		return RACKVM_EXIT_USAGE;
	}
}

/* --policy*: checked here, handed to the coordinator as given. */
static int run_policy_option(struct run_opts *o, const char *name, const char *arg)
{
	if (policy_opt("run", name, arg, &o->policy_auto, &o->policy))
		return RACKVM_EXIT_USAGE;
	if (o->nr_policy_args == 2 * RUN_POLICY_ARGS_MAX) {
		fprintf(stderr, "rackvm run: more than %d --policy options\n",
			RUN_POLICY_ARGS_MAX);
		return RACKVM_EXIT_USAGE;
	}
	o->policy_args[o->nr_policy_args++] = name;
	o->policy_args[o->nr_policy_args++] = arg;
	return -1;
}

static int run_parse(struct run_opts *o, int argc, char **argv)
{
	int c, st, idx = 0;

	*o = (struct run_opts){.guest = "testos",
			       .vcpus = 1,
			       .mem = 256ULL << 20,
			       .policy = policy_cfg_default()};
	optind = 1;
	while ((c = getopt_long(argc, argv, "", run_options, &idx)) != -1) {
		st = c == OPT_POLICY ? run_policy_option(o, run_options[idx].name, optarg)
				     : run_option(o, c, optarg);
		if (st >= 0)
			return st;
	}
	if (optind < argc) {
		fprintf(stderr, "rackvm run: unexpected argument '%s' (try --help)\n",
			argv[optind]);
		return RACKVM_EXIT_USAGE;
	}
	if (o->policy_auto && !o->nodes) {
		fprintf(stderr, "rackvm run: --policy auto moves vCPUs between nodes: "
				"add --nodes N (N >= 2)\n");
		return RACKVM_EXIT_USAGE;
	}
	return run_net_check(o);
}

static struct vm *running_vm;

static void on_signal(int sig)
{
	(void)sig;
	if (running_vm)
		vm_request_stop(running_vm, "interrupted by a signal");
}

static int check_file(const char *opt, const char *path)
{
	if (path && access(path, R_OK)) {
		fprintf(stderr, "rackvm run: %s %s: %s\n", opt, path, strerror(errno));
		return RACKVM_EXIT_USAGE;
	}
	return 0;
}

static int run_one(const struct run_opts *o)
{
	struct vm_config cfg = {
		.nr_vcpus = o->vcpus, .mem_size = o->mem,
		.guest = strcmp(o->guest, "linux") ? VM_GUEST_TESTOS : VM_GUEST_LINUX,
		.kernel = o->kernel, .initrd = o->initrd, .append = o->append,
		.test = o->test, .seconds = o->seconds, .timeout_s = o->timeout,
		.verbose = o->verbose, .numa_off = o->numa_off,
		.time_dilation = o->time_dilation,
	};
	struct vm_result res;
	struct vm *vm;
	int err;

	if (check_file("--kernel", o->kernel) || check_file("--initrd", o->initrd))
		return RACKVM_EXIT_USAGE;
	err = vm_create(&cfg, &vm);
	if (err)
		return err == -ENOMEM ? RACKVM_EXIT_USAGE : RACKVM_EXIT_HOST;
	err = vm_load(vm);
	if (err) {
		vm_destroy(vm);
		return RACKVM_EXIT_USAGE;
	}
	running_vm = vm;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	vm_run(vm, &res);
	running_vm = NULL;
	vm_destroy(vm);
	if (res.error[0])
		fprintf(stderr, "rackvm: %s\n", res.error);
	else if (!res.powered_off)
		fprintf(stderr, "rackvm: the guest stopped without powering off\n");
	if (vm_result_passed(&res))
		return RACKVM_EXIT_OK;
	if (res.powered_off && !res.error[0])
		fprintf(stderr, "rackvm: guest status %d, %u result(s) passed, %u failed\n",
			res.guest_status, res.passed, res.failed);
	return RACKVM_EXIT_GUEST_FAIL;
}

int cmd_run(int argc, char **argv)
{
	struct rlimit no_core = {0, 0};
	struct run_opts o;
	int st = run_parse(&o, argc, argv);

	if (st >= 0)
		return st;
	setrlimit(RLIMIT_CORE, &no_core); /* guest RAM in a core file helps no one */
	if (o.nodes)
		return cluster_run(&o, argc, argv);
	if (o.migrate_storm_ms || o.control) {
		fprintf(stderr, "rackvm run: --migrate-storm and --control need --nodes N\n");
		return RACKVM_EXIT_USAGE;
	}
	return run_one(&o);
}
