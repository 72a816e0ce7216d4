// SPDX-License-Identifier: MIT
/*
 * `rackvm bench exits`: what a VM exit costs on this host. Boots testos with
 * its `exits` test (which times the exits itself with the TSC) and prints the
 * figures it reports as a table.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "coordinator/cli.h"
#include "core/core.h"

static const struct {
	const char *key, *what;
} rows[] = {
	{"pio_r0_ns", "PIO exit, guest ring 0 (outb 0x505)"},
	{"pio_r3_ns", "PIO exit, guest ring 3 (outb 0x505)"},
	{"mmio_ns", "MMIO exit, LAPIC read from ring 3"},
	{"syscall_ns", "null system call (int 0x80 round trip)"},
	{"ipi_rtt_ns", "same-node IPI round trip (2 vCPUs)"},
};

/* The value of " key=" in @line, or -1. */
static double result_value(const char *line, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), " %s=", key);
	p = strstr(line, pat);
	return p ? strtod(p + strlen(pat), NULL) : -1;
}

static int exits_run(unsigned int vcpus, char *line, size_t len)
{
	struct vm_config cfg = {
		.nr_vcpus = vcpus, .mem_size = 64ULL << 20, .guest = VM_GUEST_TESTOS,
		.test = "exits",
	};
	struct vm_result res;
	struct vm *vm;
	int found = 0;

	cfg.console = tmpfile();
	if (!cfg.console)
		return -1;
	if (vm_create(&cfg, &vm) || vm_load(vm)) {
		fclose(cfg.console);
		return -1;
	}
	vm_run(vm, &res);
	vm_destroy(vm);
	rewind(cfg.console);
	while (fgets(line, (int)len, cfg.console))
		if (strstr(line, "RACKVM-RESULT test=exits")) {
			found = 1;
			break;
		}
	fclose(cfg.console);
	if (!vm_result_passed(&res) || !found) {
		fprintf(stderr, "rackvm bench exits: the guest run failed%s%s\n",
			res.error[0] ? ": " : "", res.error);
		return -1;
	}
	return 0;
}

int bench_exits(int argc, char **argv)
{
	char line[1024];

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: rackvm bench exits\n\nBoots testos on 2 vCPUs and prints the "
		       "cost of a PIO exit (ring 0 and 3),\nan MMIO exit to the user-space "
		       "LAPIC and a same-node IPI round trip (p50).\n");
		return RACKVM_EXIT_OK;
	}
	if (argc > 1) {
		fprintf(stderr, "rackvm bench exits: unexpected argument '%s'\n", argv[1]);
		return RACKVM_EXIT_USAGE;
	}
	if (exits_run(2, line, sizeof(line)))
		return RACKVM_EXIT_GUEST_FAIL;
	printf("%-42s %12s\n", "exit", "p50 (us)");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		double ns = result_value(line, rows[i].key);

		if (ns < 0)
			printf("%-42s %12s\n", rows[i].what, "n/a");
		else
			printf("%-42s %12.2f\n", rows[i].what, ns / 1000.0);
	}
	printf("RESULT bench=exits");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		printf(" %.*s_us=%.2f", (int)(strlen(rows[i].key) - 3), rows[i].key,
		       result_value(line, rows[i].key) / 1000);
	printf("\n");
	return RACKVM_EXIT_OK;
}
