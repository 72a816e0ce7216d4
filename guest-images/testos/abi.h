/* SPDX-License-Identifier: MIT */
/*
 * guest-images/testos/abi.h - the contract between the rackvm VMM and
 * testos, and between testos and the ring-3 programs it runs.
 * Included by both sides: freestanding, fixed-width types only.
 * Documented in guest-images/testos/README.md.
 */
#ifndef RACKVM_TESTOS_ABI_H
#define RACKVM_TESTOS_ABI_H

#include <stdint.h>

/* ---- rackvm platform I/O ports (every guest kind) ---- */
#define RACKVM_PORT_COM1  0x3f8 /* 8250 UART, the console */
#define RACKVM_PORT_EXIT  0x501 /* outl status: power off, guest exit status */
#define RACKVM_PORT_YIELD 0x504 /* outb any: the vCPU thread yields its host CPU */
#define RACKVM_PORT_NOP	  0x505 /* outb/inb: an exit that does nothing (benchmarks) */

/* ---- guest physical layout at entry (set up by the VMM) ---- */
#define TESTOS_BOOT_GDT	  0x500	   /* VMM's flat GDT: 0x08 code64, 0x10 data */
#define TESTOS_BOOTINFO	  0x6000   /* struct testos_bootinfo, read-only to testos */
#define TESTOS_TRAMPOLINE 0x8000   /* testos's AP real-mode entry (SIPI vector 0x08) */
#define TESTOS_BOOT_PT	  0x10000  /* VMM's identity map: PML4, PDPT, 4 PDs */
#define TESTOS_BOOT_STACK 0x80000  /* BSP's initial RSP */
#define TESTOS_LOAD_MIN	  0x100000 /* ELF PT_LOAD segments at/above 1 MiB ... */
#define TESTOS_LOW_MIN	  0x8000   /* ... or in [0x8000, 0x10000) for the trampoline */

/*
 * Entry (BSP only; APs wait for INIT/SIPI): 64-bit long mode, CR0=PE|MP|ET|NE|
 * WP|PG, CR4=PAE|OSFXSR|OSXMMEXCPT, EFER=LME|LMA|SCE|NXE, CR3=TESTOS_BOOT_PT
 * (identity map of [0, 4 GiB) with 2 MiB pages, RW, user-accessible),
 * CS=0x08, DS/ES/SS/FS/GS=0x10, RFLAGS=0x2 (IF=0), RSP=TESTOS_BOOT_STACK,
 * RDI=TESTOS_BOOTINFO, RIP=the ELF entry point.
 */

#define TESTOS_BOOTINFO_MAGIC 0x534f5452u /* "RTOS" */
#define TESTOS_ABI_VERSION    1
#define TESTOS_MAX_CPUS	      256
#define TESTOS_MAX_NODES      64

struct testos_bootinfo {
	uint32_t magic;
	uint32_t version;
	uint32_t nr_cpus;    /* APIC ids are 0..nr_cpus-1 */
	uint32_t seconds;    /* --seconds, 0 = the test's default */
	uint64_t mem_size;   /* RAM is [0, mem_size) less the hole above 3 GiB */
	uint64_t tsc_khz;    /* guest TSC frequency */
	uint64_t initrd_gpa; /* a static ELF64 user program (--initrd), 0 if none */
	uint64_t initrd_size;
	char test[32];	   /* --test NAME, NUL-terminated */
	char args[128];	   /* --append, free-form for the test */
	uint32_t nr_nodes; /* NUMA nodes; 1 on a single node */
	uint32_t pad;
	uint64_t node_base[TESTOS_MAX_NODES]; /* memory range of each node */
	uint64_t node_size[TESTOS_MAX_NODES];
	uint8_t cpu_node[TESTOS_MAX_CPUS]; /* node of each CPU (APIC id) */
};
_Static_assert(sizeof(struct testos_bootinfo) == 1496, "bootinfo layout is ABI");

/*
 * ---- system calls ----
 * `int $0x80` from ring 3 with rax = number, args in rdi, rsi, rdx; result
 * in rax (a negative errno on error); every other register is preserved.
 * On QEMU/hardware that is an IDT gate with DPL 3 (the CPU switches to
 * TSS.RSP0). Under PVM the instruction raises #UD instead (measured), which
 * also enters ring 0 through the IDT: testos takes a ring-3 #UD on the bytes
 * `cd 80` as the system call and resumes after them. The kernel returns with
 * IRETQ. Not SYSCALL: under PVM it jumps to LSTAR but stays at CPL 3 (hence
 * the #GP on SWAPGS/SYSRETQ that PROBES.md saw).
 */
enum testos_sys {
	SYS_WRITE = 0,	      /* (const char *buf, u64 len) -> len: console */
	SYS_EXIT = 1,	      /* (i64 status): this CPU is done; all done -> power off */
	SYS_CPU_ID = 2,	      /* () -> this CPU's index (its LAPIC ID) */
	SYS_CPU_COUNT = 3,    /* () -> nr_cpus */
	SYS_BARRIER = 4,      /* () -> 0 once every CPU has entered the barrier */
	SYS_TIME_NS = 5,      /* () -> ns since boot (TSC based) */
	SYS_YIELD = 6,	      /* () -> 0: give the host CPU away */
	SYS_NODE_OF_CPU = 7,  /* (u64 cpu) -> NUMA node */
	SYS_NODE_OF_ADDR = 8, /* (u64 addr) -> NUMA node, -1 outside RAM */
	SYS_MEM_INFO = 9,     /* (u64 *base, u64 *size, u64 i) -> 0: free RAM range i,
				 -ENOENT past the last one */
	SYS_IPI = 10,	    /* (u64 cpu, u64 vector) -> 0: fixed IPI, user vectors only */
	SYS_IRQ_COUNT = 11, /* (u64 vector) -> interrupts of @vector taken on this CPU */
	SYS_WAIT_IRQ = 12,  /* (u64 vector, u64 count) -> count once this CPU's
			       count of @vector reached @count (halts meanwhile) */
	SYS_TIMER = 13,	    /* (u64 mode, u64 value) -> 0: program the LAPIC timer,
			       vector TESTOS_VEC_TIMER (enum testos_timer_mode) */
	SYS_TSC_KHZ = 14,   /* () -> guest TSC frequency in kHz */
	SYS_PIO_BENCH = 15, /* (u64 *cycles, u64 n) -> 0: n timed ring-0 `outb 0x505` */
	SYS_NR
};

/* LAPIC timer modes for SYS_TIMER; counts are ns (1 GHz bus, divide by 1). */
enum testos_timer_mode {
	TESTOS_TIMER_OFF = 0,
	TESTOS_TIMER_ONESHOT = 1,  /* value: ns until the interrupt, < 2^32 */
	TESTOS_TIMER_PERIODIC = 2, /* value: period in ns, < 2^32 */
	TESTOS_TIMER_DEADLINE = 3, /* value: absolute guest TSC (IA32_TSC_DEADLINE) */
};

/* Interrupt vectors testos uses. */
#define TESTOS_VEC_TIMER      0x20 /* LAPIC timer */
#define TESTOS_VEC_USER_FIRST 0x40 /* SYS_IPI may send 0x40..0x4f */
#define TESTOS_VEC_USER_LAST  0x4f
#define TESTOS_VEC_WAKE	      0x50 /* kernel: barrier release, AP check-in */
#define TESTOS_VEC_SPURIOUS   0xff

/* ---- user programs (--initrd): static ELF64 linked at this address ---- */
#define TESTOS_USER_BASE 0x1000000 /* 16 MiB: testos and its data stay below */

#endif
