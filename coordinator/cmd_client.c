// SPDX-License-Identifier: MIT
/*
 * `rackvm migrate` and `rackvm stats`: command clients of a running
 * coordinator. A DEALER that sends one Migrate or Query (never Hello, which
 * is how the coordinator tells it from a node) and waits for the answer.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "coordinator/cli.h"
#include "coordinator/ctl.h"

#define CLIENT_TIMEOUT_MS 10000

struct client_opts {
	const char *who; /* "migrate" / "stats" */
	const char *coordinator;
	unsigned long long vcpu, to, timeout_ms;
	bool have_vcpu, have_to;
};

struct client {
	void *ctx, *sock;
};

static void client_close(struct client *cl)
{
	if (cl->sock)
		zmq_close(cl->sock);
	if (cl->ctx)
		zmq_ctx_term(cl->ctx);
}

static int client_open(struct client *cl, const struct client_opts *o)
{
	int linger = 0, maxsz = CTL_MSG_MAX;

	cl->ctx = zmq_ctx_new();
	cl->sock = cl->ctx ? zmq_socket(cl->ctx, ZMQ_DEALER) : NULL;
	if (!cl->sock)
		return RACKVM_EXIT_HOST;
	zmq_setsockopt(cl->sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(cl->sock, ZMQ_MAXMSGSIZE, &maxsz, sizeof(maxsz));
	if (zmq_connect(cl->sock, o->coordinator) < 0) {
		fprintf(stderr,
			"rackvm %s: bad --coordinator '%s': %s (give tcp://HOST:PORT, as "
			"`rackvm run --nodes N` prints it)\n",
			o->who, o->coordinator, zmq_strerror(errno));
		return RACKVM_EXIT_USAGE;
	}
	return 0;
}

/* Sends @env and waits for one answer; NULL after a one-line error. */
static Rackvm__Envelope *client_ask(struct client *cl, const struct client_opts *o,
				    Rackvm__Envelope *env)
{
	zmq_pollitem_t item = {.socket = cl->sock, .events = ZMQ_POLLIN};
	Rackvm__Envelope *ans = NULL;
	struct ctl_frame f;
	char why[256];

	env->version = CTL_PROTO_VERSION;
	if (ctl_send(cl->sock, NULL, 0, env) ||
	    zmq_poll(&item, 1, (long)o->timeout_ms) <= 0 ||
	    ctl_recv(cl->sock, false, &f)) {
		fprintf(stderr,
			"rackvm %s: no answer from coordinator %s within %.1f s (is a "
			"cluster running there? `rackvm run --nodes N` prints its "
			"endpoint)\n",
			o->who, o->coordinator, (double)o->timeout_ms / 1000.0);
		return NULL;
	}
	if (ctl_decode(f.data, f.len, &ans, why, sizeof(why)) == -EPROTO)
		fprintf(stderr, "rackvm %s: bad answer from coordinator %s: %s\n", o->who,
			o->coordinator, why);
	ctl_frame_free(&f);
	return ans;
}

/* Open, ask, let @result judge the answer, close: the exit status. */
static int client_request(const struct client_opts *o, Rackvm__Envelope *env,
			  int (*result)(const Rackvm__Envelope *ans))
{
	struct client cl = {0};
	Rackvm__Envelope *ans;
	int st = client_open(&cl, o);

	if (!st) {
		ans = client_ask(&cl, o, env);
		st = ans ? result(ans) : RACKVM_EXIT_PEER;
		if (ans)
			rackvm__envelope__free_unpacked(ans, NULL);
	}
	client_close(&cl);
	return st;
}

static int client_parse(struct client_opts *o, int argc, char **argv, const char *usage)
{
	static const struct option opts[] = {
	    {"coordinator", required_argument, NULL, 'c'},
	    {"vcpu", required_argument, NULL, 'v'},
	    {"to", required_argument, NULL, 't'},
	    {"timeout-ms", required_argument, NULL, 'T'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		unsigned long long *dst = c == 'v'   ? &o->vcpu
					  : c == 't' ? &o->to
						     : &o->timeout_ms;

		if (c == 'h') {
			fputs(usage, stdout);
			return RACKVM_EXIT_OK;
		}
		if (c == 'c') {
			o->coordinator = optarg;
			continue;
		}
		if (c == '?' ||
		    ctl_parse_uint(optarg, c == 'T' ? 3600000 : UINT32_MAX, dst)) {
			fprintf(stderr, "rackvm %s: bad option or value (try --help)\n",
				o->who);
			return RACKVM_EXIT_USAGE;
		}
		o->have_vcpu |= c == 'v';
		o->have_to |= c == 't';
	}
	if (optind < argc || !o->coordinator) {
		fprintf(stderr, "rackvm %s: --coordinator EP is required (try --help)\n",
			o->who);
		return RACKVM_EXIT_USAGE;
	}
	return -1;
}

static const char migrate_usage[] =
    "usage: rackvm migrate --coordinator EP --vcpu I --to NODE [--timeout-ms MS]\n"
    "\n"
    "Move vCPU I of the VM a running cluster runs to node NODE, and wait until\n"
    "it runs there. EP is the coordinator's endpoint (`rackvm run --nodes N`\n"
    "prints it; --control EP chooses it). Prints the move and its pause.\n"
    "\n"
    "  --timeout-ms MS  give up waiting after MS ms (default 10000)\n"
    "\n"
    "exit status: 0 moved, 2 bad usage or a vCPU/node out of range, 4 refused\n"
    "(no VM running, vCPU already moving or already there) or no answer.\n";

static int migrate_result(const Rackvm__Envelope *ans)
{
	const Rackvm__MigrateDone *d = ans->migrate_done;

	if (ans->body_case == RACKVM__ENVELOPE__BODY_ERROR) {
		fprintf(stderr, "rackvm migrate: refused: %s\n", ans->error->message);
		return ans->error->code == RACKVM__ERROR__CODE__BAD_ID ? RACKVM_EXIT_USAGE
								       : RACKVM_EXIT_PEER;
	}
	if (ans->body_case != RACKVM__ENVELOPE__BODY_MIGRATE_DONE) {
		fprintf(stderr, "rackvm migrate: unexpected %s from the coordinator\n",
			ctl_body_name(ans));
		return RACKVM_EXIT_PEER;
	}
	if (!d->ok) {
		fprintf(stderr, "rackvm migrate: %s\n",
			d->detail ? d->detail : "refused");
		return RACKVM_EXIT_PEER;
	}
	printf("rackvm migrate: vCPU %u moved from node %u to node %u (move %u), pause "
	       "%.3f ms\n",
	       d->vcpu, d->from, d->to, d->epoch, (double)d->pause_ns / 1e6);
	return RACKVM_EXIT_OK;
}

int cmd_migrate(int argc, char **argv)
{
	struct client_opts o = {.who = "migrate", .timeout_ms = CLIENT_TIMEOUT_MS};
	Rackvm__Envelope env = RACKVM__ENVELOPE__INIT;
	Rackvm__Migrate m = RACKVM__MIGRATE__INIT;
	int st = client_parse(&o, argc, argv, migrate_usage);

	if (st >= 0)
		return st;
	if (!o.have_vcpu || !o.have_to) {
		fprintf(stderr, "rackvm migrate: --vcpu I and --to NODE are required\n");
		return RACKVM_EXIT_USAGE;
	}
	m.vcpu = (uint32_t)o.vcpu;
	m.to = (uint32_t)o.to;
	env.body_case = RACKVM__ENVELOPE__BODY_MIGRATE;
	env.migrate = &m;
	return client_request(&o, &env, migrate_result);
}

static const char stats_usage[] =
    "usage: rackvm stats --coordinator EP [--timeout-ms MS]\n"
    "\n"
    "Print a running cluster's counters: vCPU moves and their pauses\n"
    "(coordinator), each node's counters from its last heartbeat (nodeK.*),\n"
    "and where every vCPU runs now.\n"
    "\n"
    "exit status: 0 printed, 2 bad usage, 4 no answer.\n";

static int stats_print(const Rackvm__Envelope *ans)
{
	const Rackvm__ClusterStats *cs = ans->cluster_stats;

	if (ans->body_case != RACKVM__ENVELOPE__BODY_CLUSTER_STATS) {
		fprintf(stderr, "rackvm stats: unexpected %s from the coordinator\n",
			ctl_body_name(ans));
		return RACKVM_EXIT_PEER;
	}
	for (size_t i = 0; i < cs->stats->n_counters; i++)
		printf("%-28s %llu\n", cs->stats->counters[i]->key,
		       (unsigned long long)cs->stats->counters[i]->value);
	for (size_t i = 0; i < cs->n_vcpus; i++)
		printf("vcpu%-24zu node %u\n", i, cs->vcpus[i]->node);
	return RACKVM_EXIT_OK;
}

int cmd_stats(int argc, char **argv)
{
	struct client_opts o = {.who = "stats", .timeout_ms = CLIENT_TIMEOUT_MS};
	Rackvm__Envelope env = RACKVM__ENVELOPE__INIT;
	Rackvm__Query q = RACKVM__QUERY__INIT;
	int st = client_parse(&o, argc, argv, stats_usage);

	if (st >= 0)
		return st;
	env.body_case = RACKVM__ENVELOPE__BODY_QUERY;
	env.query = &q;
	return client_request(&o, &env, stats_print);
}
