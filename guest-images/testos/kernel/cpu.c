// SPDX-License-Identifier: MIT
/* kernel/cpu.c - per-CPU GDT/TSS/IDT setup and the stacks. */
#include "kernel.h"

uint8_t kstacks[MAX_CPUS * KSTACK_SIZE] __attribute__((aligned(KSTACK_SIZE)));

struct idt_entry {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __attribute__((packed));

static struct idt_entry idt[256] __attribute__((aligned(16)));

static void idt_set(unsigned int vec, unsigned int dpl)
{
	uint64_t addr = (uint64_t)(uintptr_t)isr_stubs + 16 * vec;

	idt[vec] = (struct idt_entry){
	    .off_lo = (uint16_t)addr,
	    .sel = SEL_KCODE,
	    .type = (uint8_t)(0x8e | dpl << 5), /* present, 64-bit interrupt gate */
	    .off_mid = (uint16_t)(addr >> 16),
	    .off_hi = (uint32_t)(addr >> 32),
	};
}

/* Only the vectors testos uses: each entry is emulated work on PVM, and an
 * unexpected vector then shows up as #NP (11) naming it in the error code. */
void idt_fill(void)
{
	for (unsigned int v = 0; v < 32; v++)
		idt_set(v, 0);
	idt_set(TESTOS_VEC_TIMER, 0);
	for (unsigned int v = TESTOS_VEC_USER_FIRST; v <= TESTOS_VEC_WAKE; v++)
		idt_set(v, 0);
	idt_set(SYSCALL_VECTOR, 3);
	idt_set(TESTOS_VEC_SPURIOUS, 0);
}

static void gdt_set_tss(uint32_t index, struct tss *tss)
{
	/* the limit covers the I/O bitmap behind the TSS */
	uint64_t base = (uint64_t)(uintptr_t)tss,
		 limit = sizeof(*tss) + IOMAP_PORTS / 8 + 1 - 1;
	uint64_t *d = &gdt[SEL_TSS0 / 8 + 2 * index];

	d[0] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 |
	       ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
	d[1] = base >> 32;
}

static void load_tables(uint32_t index)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};
	extern char gdtr[];

	__asm__ volatile("lgdt (%0)\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %2, %%eax\n\t"
			 "mov %%eax, %%ds\n\t"
			 "mov %%eax, %%es\n\t"
			 "mov %%eax, %%ss\n\t"
			 "xor %%eax, %%eax\n\t"
			 "mov %%eax, %%fs\n\t"
			 "mov %%eax, %%gs\n\t"
			 "lidt %3\n\t"
			 "ltr %w4"
			 :
			 : "r"(gdtr), "i"(SEL_KCODE), "i"(SEL_KDATA), "m"(idtr),
			   "r"(SEL_TSS0 + 16 * index)
			 : "rax", "memory");
}

void cpu_init(uint32_t index)
{
	struct cpu *c = this_cpu();

	c->index = index;
	c->tss.rsp0 = (uint64_t)(uintptr_t)c + KSTACK_SIZE;
	c->tss.iomap_base = sizeof(struct tss);
	c->iomap[IOMAP_PORTS / 8] = 0xff; /* the rest is zero (bss): allowed */
	gdt_set_tss(index, &c->tss);
	load_tables(index);
}
