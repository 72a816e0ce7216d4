// SPDX-License-Identifier: MIT
/* kernel/boot.c - the BSP's way from entry to ring 3. */
#include "kernel.h"
#include "../lib/testos.h"

const struct testos_bootinfo *g_bi;
struct program g_prog;
uint64_t g_boot_tsc;
char g_test_name[32] = "boot";

/* The name goes into result lines: keep it to a safe character set. */
static void set_test_name(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(g_test_name) - 1 && name[i]; i++) {
		char ch = name[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
		g_test_name[i] = ok ? ch : '?';
	}
	g_test_name[i] = 0;
}

static void choose_program(const struct testos_bootinfo *bi)
{
	const char *why = NULL;

	if (bi->initrd_gpa) {
		set_test_name("program"); /* the VMM fills test with a default */
		if (elf_prepare(bi->initrd_gpa, bi->initrd_size, &why))
			fail_and_power_off("reason=bad-program why=%s", why);
		return;
	}
	set_test_name(bi->test[0] ? bi->test : "smp");
	g_prog.test = builtin_test_find(g_test_name);
	if (!g_prog.test)
		fail_and_power_off("reason=unknown-test name=%s", g_test_name);
}

void boot_main(const struct testos_bootinfo *bi, uint32_t index)
{
	int err;

	g_boot_tsc = rdtsc();
	cpu_init(index);
	idt_fill();
	lapic_enable();
	g_bi = bi;
	err = bootinfo_check(bi);
	if (err)
		fail_and_power_off("reason=bad-bootinfo check=%d", err);
	map_high_ram();
	mem_ranges_init();
	choose_program(bi);
	kprintf("testos: %u cpus, %lu MiB, %u nodes, tsc %lu kHz, %s %s\n", bi->nr_cpus,
		(unsigned long)(bi->mem_size >> 20), bi->nr_nodes,
		(unsigned long)bi->tsc_khz, g_prog.test ? "test" : "program",
		g_test_name);
	smp_start_aps();
	smp_release();
}
