// SPDX-License-Identifier: MIT
/*
 * rackvm sim: the command line each host's /init runs. It travels on the
 * kernel command line, base64-encoded: the kernel splits its command line
 * at spaces and knows no quoting an arbitrary argument would survive.
 */
#include <errno.h>
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

/* Host 0 runs the user's command; with more hosts it also serves host 1's
 * ibv_rc_pingpong, and the others check rxe0 and reach host 0. */
int sim_host_command(const struct sim *s, unsigned int k, char *out, size_t len)
{
	struct buf b = {.p = out, .len = len};
	char ip0[32];

	if (!len)
		return -E2BIG;
	out[0] = 0;
	sim_host_ip(0, ip0, sizeof(ip0));
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
