// SPDX-License-Identifier: MIT
/* `rackvm sim`: run rackvm inside N QEMU hosts with hardware-assisted KVM. */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coordinator/cli.h"
#include "coordinator/sim.h"

static const char sim_usage[] =
    "usage: rackvm sim --hosts N [OPTIONS] -- RUN-ARGS\n"
    "       rackvm sim --hosts N [OPTIONS] --shell CMD\n"
    "\n"
    "Boot N QEMU TCG hosts (-cpu max: AMD-V with nested paging, so each runs the\n"
    "Debian kernel with kvm-amd) on a private switch in a network namespace made\n"
    "for this run. Host K is 10.77.0.(10+K). With N = 1 host 0 runs\n"
    "`rackvm run RUN-ARGS`. With N > 1 every host gets soft-RoCE (rxe0) and the\n"
    "hosts run ONE VM: host 0 `rackvm coordinator` (RUN-ARGS translated) and a\n"
    "node, every other host `rackvm node`; the exit status is the coordinator's.\n"
    "Host 0's console goes to stdout; every host's console to a log.\n"
    "\n"
    "  --hosts N          QEMU hosts, 1..%u (default 1)\n"
    "  --host-cpus C      vCPUs per host (default 2)\n"
    "  --host-mem SIZE    RAM per host (default 1G)\n"
    "  --timeout S        seconds for the whole run, boot included (default 600)\n"
    "  --keep-logs DIR    keep the console logs (DIR/hostK.log)\n"
    "  --provider P       N > 1: the VM's data plane: tcp (libfabric, default),\n"
    "                     verbs (native ibverbs on rxe0) or 'verbs;ofi_rxm'\n"
    "  --check-only       N > 1: host 0 runs `rackvm run RUN-ARGS` alone; host 1\n"
    "                     runs an ibv_rc_pingpong against it, the others ping it\n"
    "  --shell CMD        run the shell command CMD on host 0 instead of rackvm run\n"
    "                     (with N > 1: plus the checks of --check-only)\n"
    "  --share DIR        mount this box's directory DIR (absolute) at the same\n"
    "                     path in every host (9p, read-write; up to %u times):\n"
    "                     a build tree, so that hosts run its binaries and files\n"
    "  --host-paging nested|shadow  how the hosts' kvm-amd maps guest memory:\n"
    "                     nested (NPT, default) or shadow (npt=0: QEMU's TCG\n"
    "                     makes every nested guest page-table walk a write, so\n"
    "                     over several hosts the kernel's page tables would move\n"
    "                     between nodes on each TLB miss; docs/cluster-sim.md)\n"
    "  --help             this text\n"
    "\n"
    "Needs root, qemu-system-x86_64, vde_switch and the host image (make guest).\n";

enum {
	OPT_HOSTS = 256,
	OPT_CPUS,
	OPT_MEM,
	OPT_TIMEOUT,
	OPT_LOGS,
	OPT_SHELL,
	OPT_PROVIDER,
	OPT_CHECK_ONLY,
	OPT_SHARE,
	OPT_KERNEL,
	OPT_INITRD,
	OPT_APPEND,
	OPT_QEMU,
	OPT_PAGING,
	OPT_HELP
};

static const struct option sim_options[] = {
    {"hosts", required_argument, NULL, OPT_HOSTS},
    {"host-cpus", required_argument, NULL, OPT_CPUS},
    {"host-mem", required_argument, NULL, OPT_MEM},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"keep-logs", required_argument, NULL, OPT_LOGS},
    {"shell", required_argument, NULL, OPT_SHELL},
    {"provider", required_argument, NULL, OPT_PROVIDER},
    {"check-only", no_argument, NULL, OPT_CHECK_ONLY},
    {"share", required_argument, NULL, OPT_SHARE},
    {"host-paging", required_argument, NULL, OPT_PAGING},
    /* not in --help: for tests and debugging */
    {"host-kernel", required_argument, NULL, OPT_KERNEL},
    {"host-initrd", required_argument, NULL, OPT_INITRD},
    {"host-append", required_argument, NULL, OPT_APPEND},
    {"qemu", required_argument, NULL, OPT_QEMU},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static int bad(const char *opt, const char *val, const char *want)
{
	fprintf(stderr, "rackvm sim: bad %s '%s': %s\n", opt, val ? val : "", want);
	return RACKVM_EXIT_USAGE;
}

static bool parse_range(const char *s, unsigned int lo, unsigned int hi,
			unsigned int *out)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = (unsigned int)v;
	return true;
}

/* --share DIR: an existing directory whose path the host's kernel command
 * line and QEMU's -virtfs option can carry as one word. */
static int sim_share_option(struct sim_opts *o, const char *dir)
{
	struct stat st;

	if (o->nr_shares == SIM_MAX_SHARES)
		return bad("--share", dir,
			   "at most " SIM_STR(SIM_MAX_SHARES) " directories");
	if (dir[0] != '/' || strlen(dir) > 200 ||
	    strspn(dir, SIM_SHARE_CHARS) != strlen(dir))
		return bad("--share", dir,
			   "give an absolute path of letters, digits and / . _ + - only");
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return bad("--share", dir, "not a directory");
	o->share[o->nr_shares++] = dir;
	return -1;
}

/* One option; returns -1 to go on, else an exit status. */
static int sim_option(struct sim_opts *o, int c, const char *arg)
{
	switch (c) {
	case OPT_HOSTS:
		if (!parse_range(arg, 1, SIM_MAX_HOSTS, &o->hosts))
			return bad("--hosts", arg, "give 1..16");
		return -1;
	case OPT_CPUS:
		if (!parse_range(arg, 1, 16, &o->host_cpus))
			return bad("--host-cpus", arg, "give 1..16");
		return -1;
	case OPT_MEM:
		if (parse_size(arg, &o->host_mem) || o->host_mem < (256ULL << 20) ||
		    o->host_mem > (64ULL << 30))
			return bad("--host-mem", arg, "give 256M..64G");
		return -1;
	case OPT_TIMEOUT:
		if (!parse_range(arg, 1, 86400, &o->timeout_s))
			return bad("--timeout", arg, "give 1..86400 seconds");
		return -1;
	case OPT_LOGS:
		o->keep_logs = arg;
		return -1;
	case OPT_SHELL:
		o->shell = arg;
		return -1;
	case OPT_PROVIDER:
		if (strcmp(arg, "tcp") && strcmp(arg, "verbs") &&
		    strcmp(arg, "verbs;ofi_rxm"))
			return bad("--provider", arg,
				   "give tcp, verbs or 'verbs;ofi_rxm'");
		o->provider = arg;
		return -1;
	case OPT_CHECK_ONLY:
		o->check_only = true;
		return -1;
	case OPT_SHARE:
		return sim_share_option(o, arg);
	case OPT_KERNEL:
		o->kernel = arg;
		return -1;
	case OPT_INITRD:
		o->initrd = arg;
		return -1;
	case OPT_APPEND:
		o->append = arg;
		return -1;
	case OPT_QEMU:
		o->qemu = arg;
		return -1;
	case OPT_PAGING:
		if (strcmp(arg, "nested") && strcmp(arg, "shadow"))
			return bad("--host-paging", arg, "give nested or shadow");
		o->shadow_paging = !strcmp(arg, "shadow");
		return -1;
	case OPT_HELP:
		printf(sim_usage, SIM_MAX_HOSTS, SIM_MAX_SHARES);
		return RACKVM_EXIT_OK;
	default:
		fprintf(stderr, "rackvm sim: try rackvm sim --help\n");
		return RACKVM_EXIT_USAGE;
	}
}

static int sim_parse(struct sim_opts *o, int argc, char **argv)
{
	const char *args[64];
	int c, st;

	*o = (struct sim_opts){.hosts = 1,
			       .host_cpus = 2,
			       .host_mem = 1ULL << 30,
			       .timeout_s = 600,
			       .provider = "tcp",
			       .qemu = "qemu-system-x86_64"};
	optind = 1;
	while ((c = getopt_long(argc, argv, "+", sim_options, NULL)) != -1) {
		st = sim_option(o, c, optarg);
		if (st >= 0)
			return st;
	}
	if (optind > 1 && !strcmp(argv[optind - 1], "--")) {
		o->run_argc = argc - optind;
		o->run_argv = argv + optind;
	} else if (optind < argc) {
		fprintf(stderr, "rackvm sim: unexpected '%s': RUN-ARGS go after --\n",
			argv[optind]);
		return RACKVM_EXIT_USAGE;
	}
	if (!o->shell == !o->run_argc) {
		fprintf(stderr, "rackvm sim: give either -- RUN-ARGS (for rackvm run) or "
				"--shell CMD (try --help)\n");
		return RACKVM_EXIT_USAGE;
	}
	/* RUN-ARGS that cannot become coordinator options fail before a boot */
	if (sim_is_cluster(o) && sim_cluster_args(o, args, 64) < 0)
		return RACKVM_EXIT_USAGE;
	return -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

/* Our temp dir and the files in it: the switch socket, logs, the pid file. */
static int make_dirs(struct sim *s)
{
	snprintf(s->dir, sizeof(s->dir), "/tmp/rackvm-sim-XXXXXX");
	if (!mkdtemp(s->dir)) {
		fprintf(stderr, "rackvm sim: cannot make a directory in /tmp: %s\n",
			strerror(errno));
		s->dir[0] = 0;
		return RACKVM_EXIT_HOST;
	}
	snprintf(s->logdir, sizeof(s->logdir), "%s", s->o.keep_logs ?: s->dir);
	if (s->o.keep_logs && mkdir(s->o.keep_logs, 0755) && errno != EEXIST) {
		fprintf(stderr, "rackvm sim: --keep-logs %s: %s\n", s->o.keep_logs,
			strerror(errno));
		return RACKVM_EXIT_USAGE;
	}
	return 0;
}

/* INT/TERM/HUP arrive through a signalfd in the console loop, so that a
 * Ctrl-C tears the hosts, the switch and the namespace down in order. */
static int signals_catch(struct sim *s)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	/* vde_switch -d daemonises: adopt it, so it can be reaped, not left a zombie */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	s->sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	return s->sigfd < 0 ? -errno : 0;
}

static void report(const struct sim *s)
{
	for (unsigned int k = 0; k < s->o.hosts; k++) {
		const struct sim_host *h = &s->host[k];

		if (!h->up)
			continue;
		fprintf(stderr, "rackvm sim: host %u: up in %.1f s", k,
			h->t_up - h->t_start);
		if (h->status >= 0)
			fprintf(stderr, ", command %.1f s, status %d",
				h->t_exit - h->t_up, h->status);
		fputc('\n', stderr);
	}
}

/* Host 0's command decides; a peer's failed check is a peer failure. */
static int outcome(const struct sim *s)
{
	int st = s->host[0].status;

	for (unsigned int k = 1; k < s->o.hosts; k++) {
		if (s->host[k].status == 0)
			continue;
		if (sim_is_cluster(&s->o))
			fprintf(
			    stderr,
			    "rackvm sim: host %u's rackvm node failed (status %d; see "
			    "its log)\n",
			    k, s->host[k].status);
		else
			fprintf(stderr,
				"rackvm sim: host %u's network/RoCE check failed (status "
				"%d; see its RACKVM-HOST-CHECK line)\n",
				k, s->host[k].status);
		if (!st)
			st = RACKVM_EXIT_PEER;
	}
	return st;
}

static int sim_boot(struct sim *s)
{
	int st;

	for (unsigned int k = 0; k < SIM_MAX_HOSTS; k++)
		s->host[k] = (struct sim_host){.index = k, .out_fd = -1, .status = -1};
	st = sim_net_up(s);
	if (st)
		return st;
	for (unsigned int k = 0; k < s->o.hosts; k++)
		if (sim_host_start(s, k))
			return RACKVM_EXIT_HOST;
	fprintf(stderr,
		"rackvm sim: %u host(s) (%u CPUs, %llu MiB each) booting in %s; "
		"logs in %s\n",
		s->o.hosts, s->o.host_cpus, (unsigned long long)(s->o.host_mem >> 20),
		s->ns, s->logdir);
	st = sim_loop(s);
	return st ? st : outcome(s);
}

int cmd_sim(int argc, char **argv)
{
	struct sim *s = calloc(1, sizeof(*s));
	int st;

	if (!s)
		return RACKVM_EXIT_HOST;
	s->sigfd = -1;
	st = sim_parse(&s->o, argc, argv);
	if (st >= 0)
		goto out_free;
	st = sim_check_prereqs(s);
	if (st)
		goto out_free;
	st = make_dirs(s);
	if (st)
		goto out_rm_dir;
	if (signals_catch(s)) {
		st = RACKVM_EXIT_HOST;
		goto out_rm_dir;
	}
	st = sim_boot(s);
	for (unsigned int k = 0; k < s->o.hosts; k++)
		sim_host_stop(&s->host[k]);
	sim_net_down(s);
	report(s);
	close(s->sigfd);
out_rm_dir:
	if (s->dir[0])
		nftw(s->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
out_free:
	free(s);
	return st;
}
