// SPDX-License-Identifier: MIT
/*
 * tests/runner.c - ring-3 code in the kernel image: where every CPU lands
 * after the kernel drops to ring 3. Runs the chosen built-in test, or copies
 * the checked user program into place (CPU 0; in ring 3 because ring 0 is
 * emulated on PVM) and calls its entry on every CPU.
 */
#include "../kernel/kernel.h"
#include "tests.h"

static const struct builtin_test tests[] = {
    {"smp", test_smp},
    {"ipi", test_ipi},
    {"timer", test_timer},
    {"mem", test_mem},
    {"coherence", test_coherence},
    {"exits", test_exits},
    {"compute", test_compute},
    {"remote-walk", test_remote_walk},
};

const struct builtin_test *builtin_test_find(const char *name)
{
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (!strcmp(tests[i].name, name))
			return &tests[i];
	return NULL;
}

void user_start(uint64_t cpu, uint64_t nr_cpus)
{
	int (*entry)(uint64_t, uint64_t);

	if (g_prog.test) {
		struct test_ctx t = {(unsigned int)cpu, (unsigned int)nr_cpus,
				     g_bi->seconds, g_bi->args};
		t_exit(g_prog.test->run(&t));
	}
	if (cpu == 0) {
		for (uint32_t i = 0; i < g_prog.nr_segs; i++) {
			const struct prog_seg *s = &g_prog.segs[i];
			memcpy((void *)(uintptr_t)s->dst, (const void *)(uintptr_t)s->src,
			       s->filesz);
			memset((void *)(uintptr_t)(s->dst + s->filesz), 0,
			       s->memsz - s->filesz);
		}
	}
	t_barrier();
	entry = (int (*)(uint64_t, uint64_t))(uintptr_t)g_prog.entry;
	t_exit(entry(cpu, nr_cpus));
}

void fmt_us(char *buf, size_t n, uint64_t ns)
{
	t_snprintf(buf, n, "%lu.%03lu", (unsigned long)(ns / 1000),
		   (unsigned long)(ns % 1000));
}

void sleep_ns(uint64_t ns)
{
	uint64_t end = t_rdtsc() + t_ns_to_cycles(ns);

	while (t_rdtsc() < end)
		t_yield();
}

bool args_has(const char *args, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = args; *p;) {
		if (!strncmp(p, word, n) && (p[n] == ' ' || p[n] == 0))
			return true;
		while (*p && *p != ' ')
			p++;
		while (*p == ' ')
			p++;
	}
	return false;
}
