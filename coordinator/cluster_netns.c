// SPDX-License-Identifier: MIT
/*
 * `rackvm run --nodes N --netns`: one network namespace per node process, a
 * "switch" namespace with a bridge for the coordinator, veth pairs between
 * them, tbf on both ends of each veth for --link-rate. Set up with ip(8) and
 * tc(8) through fork/exec, as rackvm sim does; cluster.h has the layout.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "coordinator/cli.h"
#include "coordinator/cluster.h"
#include "coordinator/sim.h"

#define NET_PREFIX  "10.78.0."
#define NET_COORD   1  /* the bridge's address: .1 */
#define NET_BASE    10 /* node K: .(10 + K) */
#define NET_BRIDGE  "rvbr"
#define NET_DEV	    "rvnet" /* the node's end of its veth (not eth0: the host may have one) */
#define NET_RUN_DIR "/run/netns"
#define NET_WORDS   24

static void ns_name(const struct cluster_net *net, unsigned int i, char *buf, size_t len)
{
	if (i)
		snprintf(buf, len, "%s-n%u", net->name, i - 1);
	else
		snprintf(buf, len, "%s-sw", net->name);
}

/* Runs one ip/tc command given as space-separated words. */
static int net_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int net_run(const char *fmt, ...)
{
	char cmd[256], words[256], out[512], *argv[NET_WORDS + 1], *save = NULL;
	va_list ap;
	int n = 0, st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	memcpy(words, cmd, sizeof(words));
	for (char *w = strtok_r(words, " ", &save); w && n < NET_WORDS;
	     w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	argv[n] = NULL;
	st = sim_run(argv, out, sizeof(out));
	if (!st)
		return 0;
	out[strcspn(out, "\n")] = 0;
	fprintf(stderr, "rackvm run: --netns: `%s` failed (status %d): %s\n", cmd, st,
		out[0] ? out : "no output");
	return RACKVM_EXIT_HOST;
}

/* What `ip netns delete` does: the namespace lives on while held. */
static void ns_unname(struct cluster_net *net, unsigned int i)
{
	char name[48], path[96];

	ns_name(net, i, name, sizeof(name));
	snprintf(path, sizeof(path), NET_RUN_DIR "/%s", name);
	umount2(path, MNT_DETACH);
	if (unlink(path) && errno != ENOENT)
		fprintf(stderr,
			"rackvm run: could not remove %s: %s (ip netns delete %s)\n",
			path, strerror(errno), name);
	net->ns[i].named = false;
}

static int ns_add(struct cluster_net *net, unsigned int i)
{
	char name[48], path[96];
	int st;

	ns_name(net, i, name, sizeof(name));
	snprintf(path, sizeof(path), NET_RUN_DIR "/%s", name);
	if (!access(path, F_OK)) { /* our pid: its earlier owner is gone */
		net->ns[i].named = true;
		ns_unname(net, i);
		fprintf(stderr,
			"rackvm run: removed network namespace %s, left by an "
			"earlier run that was killed\n",
			name);
	}
	st = net_run("ip netns add %s", name);
	if (st)
		return st;
	net->ns[i].named = true;
	net->ns[i].fd = open(path, O_RDONLY | O_CLOEXEC);
	if (net->ns[i].fd < 0) {
		fprintf(stderr, "rackvm run: cannot open %s: %s\n", path,
			strerror(errno));
		return RACKVM_EXIT_HOST;
	}
	return net_run("ip -n %s link set lo up", name);
}

static int net_switch(struct cluster_net *net)
{
	char sw[48];
	int st = ns_add(net, 0);

	ns_name(net, 0, sw, sizeof(sw));
	if (!st)
		st = net_run("ip -n %s link add " NET_BRIDGE " type bridge", sw);
	if (!st)
		st = net_run("ip -n %s addr add " NET_PREFIX "%d/24 dev " NET_BRIDGE, sw,
			     NET_COORD);
	if (!st)
		st = net_run("ip -n %s link set " NET_BRIDGE " up", sw);
	return st;
}

/* tbf on one end of a link: burst of 4 ms at the rate, at least one GSO
 * packet (tbf would split bigger ones); a queue of at most 20 ms. */
static int net_shape(const char *ns, const char *dev, uint64_t rate)
{
	uint64_t burst = rate / 8 / 250 > 98304 ? rate / 8 / 250 : 98304;

	return net_run("tc -n %s qdisc add dev %s root tbf rate %llubit burst %llu "
		       "latency 20ms",
		       ns, dev, (unsigned long long)rate, (unsigned long long)burst);
}

static int net_node(struct cluster_net *net, unsigned int k, uint64_t rate)
{
	char sw[48], nk[48], port[16];
	int st = ns_add(net, 1 + k);

	ns_name(net, 0, sw, sizeof(sw));
	ns_name(net, 1 + k, nk, sizeof(nk));
	snprintf(port, sizeof(port), "rv%u", k);
	if (!st)
		st = net_run("ip link add " NET_DEV " netns %s type veth peer name %s "
			     "netns %s",
			     nk, port, sw);
	if (!st)
		st = net_run("ip -n %s link set %s master " NET_BRIDGE " up", sw, port);
	if (!st)
		st = net_run("ip -n %s addr add " NET_PREFIX "%u/24 dev " NET_DEV, nk,
			     NET_BASE + k);
	if (!st)
		st = net_run("ip -n %s link set " NET_DEV " up", nk);
	if (!st && rate)
		st = net_shape(nk, NET_DEV, rate);
	if (!st && rate)
		st = net_shape(sw, port, rate);
	return st;
}

static int net_prereqs(const struct run_opts *o)
{
	if (geteuid()) {
		fprintf(stderr,
			"rackvm run: --netns needs root (it makes network "
			"namespaces and veth links): run as root, or drop --netns\n");
		return RACKVM_EXIT_HOST;
	}
	if (!sim_in_path("ip") || (o->link_rate && !sim_in_path("tc"))) {
		fprintf(stderr, "rackvm run: --netns needs the ip and tc commands: "
				"apt-get install iproute2\n");
		return RACKVM_EXIT_HOST;
	}
	return 0;
}

static void net_describe(const struct cluster_net *net, const struct run_opts *o)
{
	printf("rackvm run: namespace mode: coordinator " NET_PREFIX "%d on a bridge, "
	       "nodes " NET_PREFIX "%d.." NET_PREFIX "%u on veth",
	       NET_COORD, NET_BASE, NET_BASE + net->nr - 2);
	if (o->link_rate && o->link_rate % 1000000000 == 0)
		printf(", tbf %llu Gbit/s each way",
		       (unsigned long long)o->link_rate / 1000000000);
	else if (o->link_rate)
		printf(", tbf %g Mbit/s each way", (double)o->link_rate / 1e6);
	if (o->link_delay_us)
		printf(", +%u us per message (rackvm's delay)", o->link_delay_us);
	printf("\n");
}

int cluster_net_up(struct cluster_net *net, const struct run_opts *o,
		   struct cluster_child *ch)
{
	int st = net_prereqs(o);

	if (st)
		return st;
	net->ns = calloc(o->nodes + 1, sizeof(*net->ns));
	if (!net->ns)
		return RACKVM_EXIT_HOST;
	net->nr = o->nodes + 1;
	for (unsigned int i = 0; i < net->nr; i++)
		net->ns[i].fd = -1;
	snprintf(net->name, sizeof(net->name), "rackvm-run-%ld", (long)getpid());
	st = net_switch(net);
	for (unsigned int k = 0; !st && k < o->nodes; k++)
		st = net_node(net, k, o->link_rate);
	if (st) {
		cluster_net_down(net);
		return st;
	}
	for (unsigned int i = 0; i < net->nr; i++) {
		ns_unname(net, i);
		ch[i].netns_fd = net->ns[i].fd;
	}
	net_describe(net, o);
	return 0;
}

void cluster_net_endpoint(char *buf, size_t len)
{
	snprintf(buf, len, "tcp://" NET_PREFIX "%d:%d", NET_COORD,
		 CLUSTER_NET_COORD_PORT);
}

void cluster_net_node_args(struct cluster_net *net, const struct run_opts *o,
			   unsigned int k, char **args, int *n)
{
	if (o->netns) {
		snprintf(net->iface, sizeof(net->iface), NET_PREFIX "%u", NET_BASE + k);
		args[(*n)++] = "--iface";
		args[(*n)++] = net->iface;
	}
	if (o->link_delay_us) {
		snprintf(net->delay, sizeof(net->delay), "%u", o->link_delay_us);
		args[(*n)++] = "--delay-us";
		args[(*n)++] = net->delay;
	}
}

void cluster_net_down(struct cluster_net *net)
{
	for (unsigned int i = 0; i < net->nr; i++) {
		if (net->ns[i].named)
			ns_unname(net, i);
		if (net->ns[i].fd >= 0)
			close(net->ns[i].fd);
		net->ns[i].fd = -1;
	}
	free(net->ns);
	net->ns = NULL;
	net->nr = 0;
}
