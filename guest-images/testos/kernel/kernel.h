/* SPDX-License-Identifier: MIT */
/*
 * kernel/kernel.h - testos kernel internals: constants shared with the
 * assembly files, the per-CPU area, the trap frame and the helpers every
 * kernel file uses. Ring-3 code (tests, lib) never includes this.
 */
#ifndef TESTOS_KERNEL_H
#define TESTOS_KERNEL_H

#define KSTACK_SIZE 0x4000 /* per-CPU kernel stack; struct cpu sits at its base */
#define USTACK_SIZE 0x8000 /* per-CPU ring-3 stack */
#define MAX_CPUS    256

#define SEL_KCODE   0x08 /* same numbers as the VMM's boot GDT */
#define SEL_KDATA   0x10
#define SEL_KCODE32 0x18 /* PVH entry and AP trampoline */
#define SEL_UDATA   0x20
#define SEL_UCODE   0x28
#define SEL_TSS0    0x30 /* 16-byte TSS descriptor per CPU from here */
#define GDT_ENTRIES (6 + 2 * MAX_CPUS)

#define LAPIC_PHYS	       0xfee00000
#define MSR_EFER	       0xc0000080
#define EFER_LME	       0x100
#define SYSCALL_VECTOR	       0x80
#define IOMAP_PORTS	       0x600 /* ring 3 may use ports below this (COM1, 0x501-0x505) */
#define MSR_TSC_DEADLINE       0x6e0
#define TRAMPOLINE_SIPI_VECTOR 0x08 /* SIPI vector: real-mode CS = 0x0800 */

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../abi.h"

struct tss {
	uint32_t reserved0;
	uint64_t rsp0, rsp1, rsp2;
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

/* One per CPU at the base of its kernel stack: found from RSP, no GS needed. */
struct cpu {
	uint32_t index; /* == LAPIC ID */
	uint32_t in_panic;
	struct tss tss;
	/* I/O permission bitmap right after the TSS: 0 = allowed, and the byte
	 * past the end must be 0xff. IOPL=3 alone does not let ring 3 do PIO on
	 * PVM. */
	uint8_t iomap[IOMAP_PORTS / 8 + 1];
	uint64_t irq_count[256];
};

_Static_assert(__builtin_offsetof(struct cpu, iomap) ==
		   __builtin_offsetof(struct cpu, tss) + sizeof(struct tss),
	       "the I/O bitmap follows the TSS");

/* What the stubs in vectors.S push; the CPU pushed rip..ss. */
struct trap_frame {
	uint64_t r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* The program every CPU runs in ring 3, set up by the BSP before release. */
#define PROG_MAX_SEGS  8
#define MEM_MAX_RANGES 8
struct prog_seg {
	uint64_t dst, src, filesz, memsz;
};
struct program {
	const struct builtin_test *test; /* NULL: the ELF below */
	uint64_t entry;
	uint32_t nr_segs;
	struct prog_seg segs[PROG_MAX_SEGS];
};
struct mem_range {
	uint64_t base, size;
};

extern const struct testos_bootinfo *g_bi;
extern struct program g_prog;
extern struct mem_range g_free[MEM_MAX_RANGES];
extern unsigned int g_nr_free;
extern uint64_t g_boot_tsc;
extern char g_test_name[32];

static inline struct cpu *this_cpu(void)
{
	uint64_t sp;
	__asm__("mov %%rsp, %0" : "=r"(sp));
	return (struct cpu *)(sp & ~(uint64_t)(KSTACK_SIZE - 1));
}

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
			 :
			 : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
/* Wait for an interrupt with IF=0 on return; the caller re-checks its condition. */
static inline void halt_for_irq(void)
{
	__asm__ volatile("sti; hlt; cli" ::: "memory");
}

/* trap.c: wake-ups delivered at the HLT of halt_for_irq (trap.c) */
extern uint64_t g_early_wakeups;

/* console.c */
void con_write(const char *s, size_t n);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void power_off(uint32_t status) __attribute__((noreturn));
void fail_and_power_off(const char *reason_fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

/* cpu.c */
void cpu_init(uint32_t index);
void idt_fill(void);

/* lapic.c */
uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t v);
uint32_t lapic_id(void);
void lapic_enable(void);
void lapic_eoi(void);
void lapic_send(uint32_t dest, uint32_t icr_lo);
int lapic_timer_set(uint64_t mode, uint64_t value);
uint64_t lapic_calibrate_tsc_khz(void);

/* smp.c */
void smp_start_aps(void);
void smp_release(void) __attribute__((noreturn));
void smp_ap_main(uint32_t index) __attribute__((noreturn));
long smp_barrier(void);
void smp_exit(int64_t status) __attribute__((noreturn));

/* boot.c, bootinfo.c */
void boot_main(const struct testos_bootinfo *bi, uint32_t index)
    __attribute__((noreturn));
int bootinfo_check(const struct testos_bootinfo *bi);
void mem_ranges_init(void);
int mem_ranges_reserve(uint64_t base, uint64_t size);
bool ram_contains(uint64_t base, uint64_t size);
int64_t node_of_addr(uint64_t addr);
void map_high_ram(void);

/* elf.c */
int elf_prepare(uint64_t gpa, uint64_t size, const char **why);

/* trap.c, syscall.c */
void trap_dispatch(struct trap_frame *f);
void syscall_dispatch(struct trap_frame *f);

/* asm */
void enter_user(uint64_t rip, uint64_t rsp, uint64_t arg0, uint64_t arg1)
    __attribute__((noreturn));
extern char isr_stubs[];
extern char trampoline_start[], trampoline_end[];
extern uint64_t kernel_pml4[], kernel_pdpt[];
extern uint64_t gdt[];
extern char __kernel_start[], __kernel_end[];
extern uint8_t kstacks[];

/* the ring-3 side in the kernel image (user/runner.c) */
void user_start(uint64_t cpu, uint64_t nr_cpus) __attribute__((noreturn));
const struct builtin_test *builtin_test_find(const char *name);

#endif /* __ASSEMBLER__ */
#endif
