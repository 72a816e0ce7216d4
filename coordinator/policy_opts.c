// SPDX-License-Identifier: MIT
/*
 * The policy's command-line settings, shared by `rackvm coordinator` and
 * `rackvm run --nodes` (which hands them to the coordinator it spawns).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "coordinator/ctl.h"
#include "core/core.h"

struct policy_knob {
	const char *name;
	unsigned long long lo, hi;
	size_t off; /* in struct policy_cfg */
};

#define KNOB(n, l, h, f)                                                                 \
	{                                                                                \
		n, l, h, offsetof(struct policy_cfg, f)                                  \
	}

static const struct policy_knob knobs[] = {
    KNOB("policy-interval-ms", 10, 60000, interval_ms),
    KNOB("policy-min-rate", 0, 10000000, min_rate),
    KNOB("policy-min-share", 1, 100, min_share_pct),
    KNOB("policy-cooldown-ms", 0, 3600000, cooldown_ms),
    KNOB("policy-pause-us", 1, 10000000, pause_us),
    KNOB("policy-gain", 1, 1000, gain),
};

const char policy_opts_help[] =
    "  --policy off|auto     move vCPUs toward the node serving their remote\n"
    "                        DSM faults (default off; docs/policy.md)\n"
    "  --policy-interval-ms MS  decide this often (default 250)\n"
    "  --policy-min-rate N   faults/s from one node before moving (default 50;\n"
    "                        5 in a QEMU TCG host, where faults are 10x slower)\n"
    "  --policy-min-share P  that node's share of remote faults, % (default 60)\n"
    "  --policy-cooldown-ms MS  no move of a vCPU within MS of its last one\n"
    "                        (default 2000; doubled for each move back)\n"
    "  --policy-pause-us US  migration pause estimate (default 1000; 10000 in\n"
    "                        a QEMU TCG host)\n"
    "  --policy-gain G       move when faults over a cool-down would cost more\n"
    "                        than G pauses (default 4)\n";

struct policy_cfg policy_cfg_default(void)
{
	struct policy_cfg c = POLICY_CFG_DEFAULT;
	unsigned int slow = vm_host_slowdown();

	/* under TCG a vCPU faults ~10x less often and a move pauses ~10x longer */
	c.min_rate /= slow;
	c.pause_us *= slow;
	return c;
}

bool policy_opt_name(const char *name)
{
	if (!strcmp(name, "policy"))
		return true;
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		if (!strcmp(name, knobs[i].name))
			return true;
	return false;
}

int policy_opt(const char *who, const char *name, const char *arg, bool *on,
	       struct policy_cfg *cfg)
{
	unsigned long long v;

	if (!strcmp(name, "policy")) {
		if (strcmp(arg, "off") && strcmp(arg, "auto")) {
			fprintf(stderr, "rackvm %s: --policy '%s': give off or auto\n",
				who, arg);
			return -1;
		}
		*on = !strcmp(arg, "auto");
		return 0;
	}
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		if (strcmp(name, knobs[i].name))
			continue;
		if (ctl_parse_uint(arg, knobs[i].hi, &v) || v < knobs[i].lo) {
			fprintf(stderr,
				"rackvm %s: --%s '%s' is not a number in %llu..%llu\n",
				who, name, arg, knobs[i].lo, knobs[i].hi);
			return -1;
		}
		*(uint32_t *)((char *)cfg + knobs[i].off) = (uint32_t)v;
		return 0;
	}
	return -1;
}
