// SPDX-License-Identifier: MIT
/* rackvm sim: one QEMU TCG host, its console and its log. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coordinator/sim.h"

void sim_host_ip(unsigned int k, char *out, size_t len)
{
	snprintf(out, len, SIM_NET_PREFIX "%u", SIM_NET_BASE + k);
}

static int host_append(const struct sim *s, unsigned int k, char *out, size_t len)
{
	char cmd[SIM_CMDLINE_MAX], b64[SIM_CMDLINE_MAX], ip[32];
	int n;

	if (sim_host_command(s, k, cmd, sizeof(cmd)) || sim_base64(cmd, b64, sizeof(b64)))
		return -E2BIG;
	sim_host_ip(k, ip, sizeof(ip));
	/* quiet: the console shows the host's /init and the command, not dmesg */
	n = snprintf(out, len,
		     "console=ttyS0 panic=-1 quiet rackvm.host=%u rackvm.ip=%s/24%s "
		     "rackvm.cmd=%s%s%s%s",
		     k, ip, s->o.hosts > 1 ? " rackvm.rxe=1" : "", b64,
		     s->o.shadow_paging ? " rackvm.npt=0" : "", s->o.append ? " " : "",
		     s->o.append ? s->o.append : "");
	/* --share paths are one word each (checked when parsed) */
	for (unsigned int i = 0; i < s->o.nr_shares && n >= 0 && (size_t)n < len; i++)
		n += snprintf(out + n, len - (size_t)n, " rackvm.share%u=%s", i,
			      s->o.share[i]);
	return n < 0 || (size_t)n >= len || n >= SIM_CMDLINE_MAX ? -E2BIG : 0;
}

/*
 * One TCG thread for all of a host's vCPUs (thread=single), not QEMU 7.2's
 * default of one per vCPU (MTTCG). With MTTCG, code one vCPU patched (Linux's
 * text_poke_bp: int3, new bytes, first byte) stayed stale in the translation
 * the other ran: the host kernel looped for ever on an int3 already replaced
 * (QEMU's -d int log: 3.4 million #BP at one RIP on both host CPUs); and the
 * Linux guest's vCPU 1 triple-faulted near "Run /init" in about 1 boot in 6
 * (its exception chain was not captured). Neither was seen with one thread
 * (docs/cluster-sim.md). On a box of a few cores little parallelism is lost.
 */
#define SIM_QEMU_ACCEL "tcg,thread=single"

/* -virtfs for each --share: mount tag rshareI, the path as it is. */
static int host_shares(const struct sim *s, char *argv[], int at,
		       char opts[][SIM_SHARE_OPT_MAX])
{
	for (unsigned int i = 0; i < s->o.nr_shares; i++) {
		snprintf(opts[i], SIM_SHARE_OPT_MAX,
			 "local,path=%s,mount_tag=rshare%u,security_model=none,"
			 "multidevs=remap",
			 s->o.share[i], i);
		argv[at++] = "-virtfs";
		argv[at++] = opts[i];
	}
	argv[at] = NULL;
	return at;
}

static int host_spawn(struct sim *s, unsigned int k, const char *append, int out_fd)
{
	char smp[16], mem[32], netdev[96], nic[64];
	char shares[SIM_MAX_SHARES][SIM_SHARE_OPT_MAX];
	char *argv[32 + 2 * SIM_MAX_SHARES] = {"ip",
					       "netns",
					       "exec",
					       s->ns,
					       (char *)s->o.qemu,
					       "-accel",
					       SIM_QEMU_ACCEL,
					       "-cpu",
					       "max",
					       "-smp",
					       smp,
					       "-m",
					       mem,
					       "-nographic",
					       "-no-reboot",
					       "-kernel",
					       s->kernel,
					       "-initrd",
					       s->initrd,
					       "-append",
					       (char *)append,
					       "-netdev",
					       netdev,
					       "-device",
					       nic};

	int at = 0;

	while (argv[at])
		at++;
	host_shares(s, argv, at, shares);
	snprintf(smp, sizeof(smp), "%u", s->o.host_cpus);
	snprintf(mem, sizeof(mem), "%lluM", (unsigned long long)(s->o.host_mem >> 20));
	snprintf(netdev, sizeof(netdev), "vde,sock=%s/switch,id=n0", s->dir);
	/* romfile=: no iPXE ROM, the host boots from -kernel anyway */
	snprintf(nic, sizeof(nic), "e1000,netdev=n0,mac=52:54:00:00:00:%02x,romfile=", k);
	return sim_spawn(argv, out_fd, &s->host[k].pid);
}

int sim_host_start(struct sim *s, unsigned int k)
{
	static char append[SIM_CMDLINE_MAX * 2];
	struct sim_host *h = &s->host[k];
	int fds[2], err;

	*h = (struct sim_host){.index = k, .out_fd = -1, .status = -1};
	if (host_append(s, k, append, sizeof(append))) {
		fprintf(stderr,
			"rackvm sim: host %u: the command does not fit on the kernel "
			"command line (%d bytes at most)\n",
			k, SIM_CMDLINE_MAX);
		return -E2BIG;
	}
	if (snprintf(h->log_path, sizeof(h->log_path), "%s/host%u.log", s->logdir, k) >=
	    (int)sizeof(h->log_path)) {
		fprintf(stderr, "rackvm sim: log directory name too long\n");
		return -ENAMETOOLONG;
	}
	h->log = fopen(h->log_path, "we");
	if (!h->log) {
		err = -errno;
		fprintf(stderr, "rackvm sim: %s: %s\n", h->log_path, strerror(errno));
		return err;
	}
	if (pipe2(fds, O_CLOEXEC)) {
		err = -errno;
		goto err_close_log;
	}
	h->t_start = sim_now();
	err = host_spawn(s, k, append, fds[1]);
	close(fds[1]);
	if (err) {
		close(fds[0]);
		goto err_close_log;
	}
	h->out_fd = fds[0];
	return 0;

err_close_log:
	fprintf(stderr, "rackvm sim: host %u: cannot start QEMU: %s\n", k,
		strerror(-err));
	fclose(h->log);
	h->log = NULL;
	return err;
}

/* A whole console line, without its escape sequences and CR. */
static void host_line(struct sim_host *h, char *line)
{
	const char *p;
	int st;

	fprintf(h->log, "%s\n", line);
	fflush(h->log);
	if (h->index == 0) {
		printf("%s\n", line);
		fflush(stdout);
	} else if (strstr(line, "RACKVM-") || strstr(line, "rackvm-host ") ||
		   strstr(line, "rackvm node ")) {
		printf("[host %u] %s\n", h->index, line);
		fflush(stdout);
	}
	if (!h->up && strstr(line, "RACKVM-HOST-UP ")) {
		h->up = true;
		h->t_up = sim_now();
	}
	p = strstr(line, "RACKVM-HOST-EXIT ");
	if (p && (p = strstr(p, " status=")) && sscanf(p, " status=%d", &st) == 1 &&
	    st >= 0 && st <= 255 && h->status < 0) {
		h->status = st;
		h->t_exit = sim_now();
	}
}

static void host_flush(struct sim_host *h)
{
	h->line[h->line_len] = 0;
	h->line_len = 0;
	host_line(h, h->line);
}

/* Serial output as it comes: SeaBIOS and the kernel clear the screen with
 * ESC sequences, which a log or a test's grep should not see. */
void sim_host_input(struct sim *s, unsigned int k, const char *buf, size_t len)
{
	struct sim_host *h = &s->host[k];

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (h->esc == 1) { /* after ESC: CSI, or a two-byte sequence */
			h->esc = c == '[' ? 2 : 0;
			continue;
		}
		if (h->esc == 2) { /* CSI parameters up to the final byte */
			if (c >= 0x40 && c <= 0x7e)
				h->esc = 0;
			continue;
		}
		if (c == 0x1b) { /* a screen clear also ends the line before it */
			h->esc = 1;
			if (h->line_len)
				host_flush(h);
		} else if (c == '\n') {
			host_flush(h);
		} else if (c >= 0x20 || c == '\t') {
			if (h->line_len + 1 >= sizeof(h->line))
				host_flush(h);
			h->line[h->line_len++] = (char)c;
		}
	}
}

/* Kill the QEMU if it still runs, flush a last partial line, close. */
void sim_host_stop(struct sim_host *h)
{
	if (h->pid > 0) {
		sim_kill_wait(h->pid, 2.0);
		h->pid = 0;
	}
	if (h->out_fd >= 0) {
		close(h->out_fd);
		h->out_fd = -1;
	}
	if (h->log) {
		if (h->line_len)
			fprintf(h->log, "%.*s\n", (int)h->line_len, h->line);
		fclose(h->log);
		h->log = NULL;
	}
}

void sim_host_log_tail(const struct sim_host *h, unsigned int lines)
{
	static char ring[32][SIM_LINE_MAX];
	unsigned int n = 0;
	FILE *f;

	if (!lines)
		return;
	if (lines > 32)
		lines = 32;
	f = fopen(h->log_path, "re");
	if (!f)
		return;
	while (fgets(ring[n % lines], SIM_LINE_MAX, f))
		n++;
	fclose(f);
	fprintf(stderr, "rackvm sim: last lines of host %u's console (%s):\n", h->index,
		h->log_path);
	for (unsigned int i = n > lines ? n - lines : 0; i < n; i++)
		fprintf(stderr, "  | %s", ring[i % lines]);
}
