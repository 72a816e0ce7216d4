// SPDX-License-Identifier: MIT
/* lib/tlib.c - libtestos helpers on top of the system calls: printf, time. */
#include "testos.h"

static uint64_t tsc_khz;

uint64_t t_tsc_khz(void)
{
	/* Racy first use is harmless: every CPU stores the same value. */
	if (!tsc_khz)
		tsc_khz = (uint64_t)t_syscall(SYS_TSC_KHZ, 0, 0, 0);
	return tsc_khz;
}

uint64_t t_cycles_to_ns(uint64_t c)
{
	uint64_t khz = t_tsc_khz();

	/* split so that c * 1e6 cannot overflow */
	return c / khz * 1000000 + c % khz * 1000000 / khz;
}

uint64_t t_ns_to_cycles(uint64_t ns)
{
	uint64_t khz = t_tsc_khz();

	return ns / 1000000 * khz + ns % 1000000 * khz / 1000000;
}

uint64_t t_now_ns(void)
{
	static uint64_t boot_ns, boot_tsc;

	if (!boot_tsc) {
		boot_ns = (uint64_t)t_syscall(SYS_TIME_NS, 0, 0, 0);
		boot_tsc = t_rdtsc();
	}
	return boot_ns + t_cycles_to_ns(t_rdtsc() - boot_tsc);
}

void t_wait_eq(const volatile uint64_t *p, uint64_t want)
{
	/* 8 vCPUs may share 2 host cores: a short spin, then let the holder run. */
	for (;;) {
		for (int i = 0; i < 2000; i++) {
			if (__atomic_load_n(p, __ATOMIC_ACQUIRE) == want)
				return;
			t_pause();
		}
		t_yield();
	}
}

int t_printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = t_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	t_write(buf, (size_t)n);
	return n;
}

uint64_t t_median(uint64_t *v, size_t n)
{
	if (!n)
		return 0;
	/* insertion sort: a few thousand samples at native ring-3 speed */
	for (size_t i = 1; i < n; i++) {
		uint64_t x = v[i];
		size_t j = i;
		for (; j && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
	return v[n / 2];
}
