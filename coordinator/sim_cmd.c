// SPDX-License-Identifier: MIT
/*
 * rackvm sim: the command line each host's /init runs. It travels on the
 * kernel command line, base64-encoded: the kernel splits its command line
 * at spaces and knows no quoting an arbitrary argument would survive.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/sim.h"

struct buf {
	char *p;
	size_t len, used;
	int err;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->err || b->used + n >= b->len) {
		b->err = -E2BIG;
		return;
	}
	memcpy(b->p + b->used, s, n);
	b->used += n;
	b->p[b->used] = 0;
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* One shell word: 'it''s' becomes 'it'\''s'. */
static void put_quoted(struct buf *b, const char *arg)
{
	put(b, " '", 2);
	for (const char *q; (q = strchr(arg, '\'')); arg = q + 1) {
		put(b, arg, (size_t)(q - arg));
		put(b, "'\\''", 4);
	}
	puts_(b, arg);
	put(b, "'", 1);
}

/* What host 0 runs for the user: the --shell command or rackvm run ARGS. */
static void put_user_command(struct buf *b, const struct sim_opts *o)
{
	if (o->shell) {
		puts_(b, "sh -c");
		put_quoted(b, o->shell);
		return;
	}
	puts_(b, "rackvm run");
	for (int i = 0; i < o->run_argc; i++)
		put_quoted(b, o->run_argv[i]);
}

/* `rackvm node` of host @k, joining host 0's coordinator. Hosts boot at
 * their own pace: the node waits as long as the whole run may take. */
static void put_node(struct buf *b, unsigned int k, const char *ep, unsigned int wait_ms)
{
	char ip[32], num[16];

	sim_host_ip(k, ip, sizeof(ip));
	puts_(b, "rackvm node --coordinator ");
	puts_(b, ep);
	puts_(b, " --iface ");
	puts_(b, ip);
	/* node 0 must be host 0's: it reads the guest images, prints the console */
	snprintf(num, sizeof(num), "%u", k);
	puts_(b, " --id ");
	puts_(b, num);
	puts_(b, " --connect-timeout-ms ");
	snprintf(num, sizeof(num), "%u", wait_ms);
	puts_(b, num);
}

/* Host 0: the coordinator in the background and its own node; the status
 * is the coordinator's, which speaks for the whole VM. */
static int put_coordinator(struct buf *b, const struct sim *s, const char *ep,
			   unsigned int wait_ms)
{
	const char *args[64];
	char num[16];
	int n = sim_cluster_args(&s->o, args, 64);

	if (n < 0)
		return n;
	puts_(b, "rackvm coordinator --listen ");
	puts_(b, ep);
	snprintf(num, sizeof(num), "%u", s->o.hosts);
	puts_(b, " --nodes ");
	puts_(b, num);
	puts_(b, " --provider");
	put_quoted(b, s->o.provider);
	snprintf(num, sizeof(num), "%u", wait_ms);
	/* TCG hosts sharing two cores stall for a second at times: the 200 ms
	 * default heartbeat would declare a busy node dead */
	puts_(b, " --heartbeat-ms 2000 --join-timeout-ms ");
	puts_(b, num);
	for (int i = 0; i + 1 < n; i += 2) {
		puts_(b, " --");
		puts_(b, args[i]);
		put_quoted(b, args[i + 1]);
	}
	puts_(b, " & c=$!; ");
	put_node(b, 0, ep, wait_ms);
	/* a coordinator that failed early leaves the node waiting: 10 s grace */
	puts_(b, " & n=$!; wait $c; st=$?; i=0; while kill -0 $n 2>/dev/null && "
		 "[ $i -lt 10 ]; do sleep 1; i=$((i+1)); done; kill $n 2>/dev/null; "
		 "exit $st");
	return 0;
}

#define SIM_DSM_HOLD_US "2000"

/* RACKVM_DSM_HOLD_US of rackvm sim's environment when it is a number. */
static const char *sim_hold_us(void)
{
	const char *env = getenv("RACKVM_DSM_HOLD_US");

	if (!env || !*env || strspn(env, "0123456789") != strlen(env) || strlen(env) > 9)
		return SIM_DSM_HOLD_US;
	return env;
}

/* One VM across the hosts (see sim_cluster.c). The verbs backend takes the
 * device and the RoCE v2 GID (the IPv4-mapped one) from the environment. */
static int cluster_command(struct buf *b, const struct sim *s, unsigned int k)
{
	char ep[64], ip0[32];
	/* hosts come up within ~30 s of each other: beyond 120 s, give up */
	unsigned int wait_ms = s->o.timeout_s > 120 ? 120000 : s->o.timeout_s * 1000;

	sim_host_ip(0, ip0, sizeof(ip0));
	snprintf(ep, sizeof(ep), "tcp://%s:%u", ip0, SIM_COORD_PORT);
	/* a TCG vCPU takes milliseconds to use a page it faulted in: the DSM
	 * holds a new page that long (RACKVM_DSM_HOLD_US here overrides) */
	puts_(b, "export RACKVM_DSM_HOLD_US=");
	puts_(b, sim_hold_us());
	puts_(b, "; ");
	/* FI_UNIVERSE_SIZE: ofi_rxm sizes its verbs CQ for 256 peers by
	 * default, more entries than rxe allows (rxe_create_cq: -EINVAL) */
	if (!strncmp(s->o.provider, "verbs", 5))
		puts_(b, "export RACKVM_IB_DEV=rxe0 RACKVM_IB_GID=$(rackvm-host-check "
			 "gid) FI_UNIVERSE_SIZE=16; ");
	if (k == 0)
		return put_coordinator(b, s, ep, wait_ms);
	put_node(b, k, ep, wait_ms);
	return 0;
}

/* Host 0 runs the user's command; with more hosts it also serves host 1's
 * ibv_rc_pingpong, and the others check rxe0 and reach host 0 -- unless the
 * hosts run one VM together (sim_is_cluster). */
int sim_host_command(const struct sim *s, unsigned int k, char *out, size_t len)
{
	struct buf b = {.p = out, .len = len};
	char ip0[32];
	int ret;

	if (!len)
		return -E2BIG;
	out[0] = 0;
	sim_host_ip(0, ip0, sizeof(ip0));
	if (sim_is_cluster(&s->o)) {
		ret = cluster_command(&b, s, k);
		return ret ? ret : b.err;
	}
	if (k == 0) {
		if (s->o.hosts > 1)
			puts_(&b, "rackvm-host-check serve -- ");
		put_user_command(&b, &s->o);
	} else {
		puts_(&b, "rackvm-host-check peer ");
		puts_(&b, ip0);
		if (k == 1)
			puts_(&b, " pingpong");
	}
	return b.err;
}

int sim_base64(const char *in, char *out, size_t len)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), o = 0;

	if (len < (n + 2) / 3 * 4 + 1)
		return -E2BIG;
	for (size_t i = 0; i < n; i += 3) {
		unsigned int v = (unsigned char)in[i] << 16;

		if (i + 1 < n)
			v |= (unsigned char)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)in[i + 2];
		out[o++] = abc[(v >> 18) & 63];
		out[o++] = abc[(v >> 12) & 63];
		out[o++] = i + 1 < n ? abc[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? abc[v & 63] : '=';
	}
	out[o] = 0;
	return 0;
}
