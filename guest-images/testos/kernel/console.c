// SPDX-License-Identifier: MIT
/* kernel/console.c - the COM1 console (one lock: lines never interleave), power-off. */
#include <stdarg.h>

#include "kernel.h"
#include "../lib/testos.h"

/* 0 free, else holder's CPU index + 1 (so a panicking holder can still print). */
static uint32_t con_owner;

static bool con_lock(void)
{
	uint32_t me = this_cpu()->index + 1;

	if (__atomic_load_n(&con_owner, __ATOMIC_RELAXED) == me)
		return false;
	/* A ring-0 spin costs emulated instructions on PVM: yield the host CPU
	 * to the holder instead. */
	while (__atomic_exchange_n(&con_owner, me, __ATOMIC_ACQUIRE) != 0)
		outb(RACKVM_PORT_YIELD, 0);
	return true;
}

void con_write(const char *s, size_t n)
{
	bool locked = con_lock();

	for (size_t i = 0; i < n; i++)
		outb(RACKVM_PORT_COM1, (uint8_t)s[i]);
	if (locked)
		__atomic_store_n(&con_owner, 0, __ATOMIC_RELEASE);
}

static void vkprintf(const char *fmt, va_list ap)
{
	char buf[256];
	int n = t_vsnprintf(buf, sizeof(buf), fmt, ap);

	con_write(buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vkprintf(fmt, ap);
	va_end(ap);
}

void power_off(uint32_t status)
{
	uint64_t early = __atomic_load_n(&g_early_wakeups, __ATOMIC_RELAXED);

	if (early)
		kprintf("testos: %lu interrupts came before the HLT of sti; hlt (the "
			"host lost STI's interrupt shadow; resumed past the HLT)\n",
			(unsigned long)early);
	outl(RACKVM_PORT_EXIT, status);
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* One failing result line naming the test, then power off with status 1. */
void fail_and_power_off(const char *reason_fmt, ...)
{
	char reason[160];
	va_list ap;

	va_start(ap, reason_fmt);
	t_vsnprintf(reason, sizeof(reason), reason_fmt, ap);
	va_end(ap);
	kprintf("RACKVM-RESULT test=%s status=fail %s\n", g_test_name, reason);
	power_off(1);
}
