// SPDX-License-Identifier: MIT
/* rackvm sim: what must be on this box before a QEMU host can boot. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coordinator/cli.h"
#include "coordinator/sim.h"

/* RACKVM_GUEST_DIR, else guest/ next to this binary (as `rackvm run`). */
static int image_path(const char *name, char *out, size_t len)
{
	const char *env = getenv("RACKVM_GUEST_DIR");
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env && *env)
		return snprintf(out, len, "%s/%s", env, name) < (int)len ? 0
									 : -ENAMETOOLONG;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -errno;
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	return snprintf(out, len, "%s/guest/%s", exe, name) < (int)len ? 0
								       : -ENAMETOOLONG;
}

static bool has_word(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = text; (p = strstr(p, word)); p += n) {
		bool start = p == text || !(p[-1] == '_' || p[-1] == '-' ||
					    (p[-1] >= 'a' && p[-1] <= 'z'));
		bool end = !(p[n] == '_' || p[n] == '-' || (p[n] >= 'a' && p[n] <= 'z'));

		if (start && end)
			return true;
	}
	return false;
}

/* TCG's `-cpu max` gives the host AMD-V only if this QEMU models svm+npt. */
static int check_qemu(const char *qemu)
{
	char *help_cpu[] = {(char *)qemu, "-accel", "tcg", "-cpu", "help", NULL};
	char *help_net[] = {(char *)qemu, "-netdev", "help", NULL};
	static char out[65536];
	int st, bad = 0;

	st = sim_run(help_cpu, out, sizeof(out));
	if (st != 0) {
		fprintf(stderr,
			"rackvm sim: '%s -accel tcg -cpu help' failed (status %d): "
			"this QEMU has no TCG\n",
			qemu, st);
		return 1;
	}
	if (!has_word(out, "svm") || !has_word(out, "npt")) {
		fprintf(stderr,
			"rackvm sim: %s lacks TCG SVM with nested paging (no svm/npt "
			"in -cpu help): hosts would have no hardware-assisted KVM\n",
			qemu);
		bad++;
	}
	st = sim_run(help_net, out, sizeof(out));
	if (st != 0 || !has_word(out, "vde")) {
		fprintf(stderr,
			"rackvm sim: %s was built without VDE networking "
			"(-netdev vde): install Debian's qemu-system-x86\n",
			qemu);
		bad++;
	}
	return bad;
}

static int check_image(struct sim *s)
{
	int bad = 0;

	if (!s->o.kernel && image_path("host/vmlinuz", s->kernel, sizeof(s->kernel)))
		return 1;
	if (!s->o.initrd && image_path("host/host.cpio.gz", s->initrd, sizeof(s->initrd)))
		return 1;
	if (s->o.kernel)
		snprintf(s->kernel, sizeof(s->kernel), "%s", s->o.kernel);
	if (s->o.initrd)
		snprintf(s->initrd, sizeof(s->initrd), "%s", s->o.initrd);
	if (!s->o.kernel && access(s->kernel, R_OK)) {
		fprintf(stderr,
			"rackvm sim: host image not built (%s: %s): run make guest\n",
			s->kernel, strerror(errno));
		bad++;
	}
	if (!s->o.initrd && access(s->initrd, R_OK)) {
		fprintf(stderr,
			"rackvm sim: host image not built (%s: %s): run make guest\n",
			s->initrd, strerror(errno));
		bad++;
	}
	return bad;
}

/* Every missing piece gets its own line; returns 0 or an exit status. */
int sim_check_prereqs(struct sim *s)
{
	int bad = 0;

	if (!sim_in_path(s->o.qemu)) {
		fprintf(stderr,
			"rackvm sim: %s missing: run make deps (qemu-system-x86)\n",
			s->o.qemu);
		bad++;
	} else {
		bad += check_qemu(s->o.qemu);
	}
	if (!sim_in_path("vde_switch")) {
		fprintf(stderr, "rackvm sim: vde_switch missing: run make deps (vde2)\n");
		bad++;
	}
	if (!sim_in_path("ip")) {
		fprintf(stderr, "rackvm sim: ip missing: run make deps (iproute2)\n");
		bad++;
	}
	bad += check_image(s);
	if (geteuid() != 0) {
		fprintf(stderr,
			"rackvm sim: needs root: it creates a network namespace\n");
		bad++;
	}
	return bad ? RACKVM_EXIT_HOST : 0;
}
