/* SPDX-License-Identifier: MIT */
/*
 * lib/testos.h - libtestos: what a ring-3 program under testos (and every
 * built-in test) uses. System call wrappers, console printf, barrier, time.
 * Freestanding: no libc. See README.md for building a program.
 */
#ifndef TESTOS_LIB_H
#define TESTOS_LIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"

static inline long t_syscall(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "memory");
	return ret;
}

static inline long t_write(const char *buf, size_t len)
{
	return t_syscall(SYS_WRITE, (long)buf, (long)len, 0);
}
__attribute__((noreturn)) static inline void t_exit(long status)
{
	t_syscall(SYS_EXIT, status, 0, 0);
	__builtin_unreachable();
}
static inline unsigned int t_cpu_id(void)
{
	return (unsigned int)t_syscall(SYS_CPU_ID, 0, 0, 0);
}
static inline unsigned int t_cpu_count(void)
{
	return (unsigned int)t_syscall(SYS_CPU_COUNT, 0, 0, 0);
}
/* Every CPU must call it; the waiters halt in the kernel. */
static inline void t_barrier(void)
{
	t_syscall(SYS_BARRIER, 0, 0, 0);
}
static inline void t_yield(void)
{
	t_syscall(SYS_YIELD, 0, 0, 0);
}
static inline long t_node_of_cpu(unsigned int cpu)
{
	return t_syscall(SYS_NODE_OF_CPU, cpu, 0, 0);
}
static inline long t_node_of_addr(const volatile void *p)
{
	return t_syscall(SYS_NODE_OF_ADDR, (long)p, 0, 0);
}
/* Free RAM range @i (0, 1, ...): 0, or -ENOENT after the last one. */
static inline long t_mem_info(uint64_t *base, uint64_t *size, unsigned int i)
{
	return t_syscall(SYS_MEM_INFO, (long)base, (long)size, i);
}
static inline long t_ipi(unsigned int cpu, unsigned int vector)
{
	return t_syscall(SYS_IPI, cpu, vector, 0);
}
static inline uint64_t t_irq_count(unsigned int vector)
{
	return (uint64_t)t_syscall(SYS_IRQ_COUNT, vector, 0, 0);
}
/* Halt until this CPU has taken @count interrupts of @vector in all. */
static inline uint64_t t_wait_irq(unsigned int vector, uint64_t count)
{
	return (uint64_t)t_syscall(SYS_WAIT_IRQ, vector, (long)count, 0);
}
static inline long t_timer(enum testos_timer_mode mode, uint64_t value)
{
	return t_syscall(SYS_TIMER, mode, (long)value, 0);
}
static inline long t_pio_bench(uint64_t *cycles, uint64_t n)
{
	return t_syscall(SYS_PIO_BENCH, (long)cycles, (long)n, 0);
}

/* TSC read natively in ring 3 (no system call). */
static inline uint64_t t_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
static inline void t_pause(void)
{
	__asm__ volatile("pause" ::: "memory");
}

uint64_t t_tsc_khz(void);
uint64_t t_cycles_to_ns(uint64_t cycles);
uint64_t t_ns_to_cycles(uint64_t ns);
/* ns since boot, from the TSC in ring 3. */
uint64_t t_now_ns(void);
/* Wait until *@p == @want: spin briefly, then yield the host CPU, repeat. */
void t_wait_eq(const volatile uint64_t *p, uint64_t want);

int t_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int t_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* One line at most 512 bytes; one SYS_WRITE, so lines never interleave. */
int t_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Median of @n samples (sorts @v in place). */
uint64_t t_median(uint64_t *v, size_t n);

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* A program's entry point, called on every CPU by crt0. */
int main(unsigned int cpu, unsigned int nr_cpus);

#endif
