// SPDX-License-Identifier: MIT
/*
 * core/pvm_syscall.c on a real vCPU: a tiny 64-bit guest with Linux's GDT
 * layout and MSR set-up enters ring 3, makes system calls with SYSCALL (the
 * entry uses SWAPGS and SYSRETQ as Linux's does), takes an ordinary page fault
 * from ring 3 that its #PF handler repairs, then jumps to the system-call
 * entry without SYSCALL, which must stay a page fault. On PVM rackvm hooks the
 * #PF handler; on hardware KVM the same guest runs without help.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/pvm.h"
#include "core/vmm.h"

#define PML4	   0x1000
#define PDPT	   0x2000
#define PD	   0x3000
#define GDT	   0x4000
#define TSS	   0x4100
#define IDT	   0x5000
#define PF_ENTRY   0x6000
#define BAD_ENTRY  0x6100
#define KINIT	   0x7000
#define LSTAR	   0x8000
#define KSTACK	   0x9000
#define GS_AREA	   0xa000 /* KERNEL_GS_BASE: [0] system calls, [8] user faults */
#define USER	   0x200000
#define USTACK	   0x300000
#define LAZY_PAGE  0x400000 /* mapped by the #PF handler on first touch */
#define NR_CALLS   10
#define EXIT_CALL  60
#define ST_JUMPED  0x600d /* power-off status: the jump to LSTAR faulted */
#define ST_BAD_EXC 0xbad

static void put(struct vm *vm, uint64_t gpa, const void *b, size_t n)
{
	void *p = gmem_ptr(&vm->mem, gpa, n);

	assert_non_null(p);
	memcpy(p, b, n);
}

static void put64(struct vm *vm, uint64_t gpa, uint64_t v)
{
	put(vm, gpa, &v, sizeof(v));
}

static void idt_gate(struct vm *vm, unsigned int vec, uint64_t handler)
{
	uint8_t e[16] = {0};

	e[0] = handler & 0xff, e[1] = (handler >> 8) & 0xff;
	e[2] = 0x10; /* kernel CS */
	e[5] = 0x8e; /* present, DPL 0, interrupt gate */
	e[6] = (handler >> 16) & 0xff, e[7] = (handler >> 24) & 0xff;
	put(vm, IDT + 16 * vec, e, sizeof(e));
}

/* Ring 0: STAR, FMASK, KERNEL_GS_BASE, then LSTAR (the write rackvm sees), iretq. */
static const uint8_t kinit[] = {
    0xb9, 0x81, 0x00, 0x00, 0xc0, 0x31, 0xc0, 0xba, 0x10, 0x00, 0x23, 0x00,
    0x0f, 0x30, 0xb9, 0x84, 0x00, 0x00, 0xc0, 0xb8, 0x00, 0x77, 0x04, 0x00,
    0x31, 0xd2, 0x0f, 0x30, 0xb9, 0x02, 0x01, 0x00, 0xc0, 0xb8, 0x00, 0xa0,
    0x00, 0x00, 0x31, 0xd2, 0x0f, 0x30, 0xb9, 0x82, 0x00, 0x00, 0xc0, 0xb8,
    0x00, 0x80, 0x00, 0x00, 0x31, 0xd2, 0x0f, 0x30, 0x6a, 0x2b, /* push $__USER_DS */
    0x68, 0x00, 0x00, 0x30, 0x00,				/* push $USTACK */
    0x68, 0x02, 0x02, 0x00, 0x00,				/* push $0x202 (IF) */
    0x6a, 0x33,							/* push $__USER_CS */
    0x68, 0x00, 0x00, 0x20, 0x00,				/* push $USER */
    0x48, 0xcf,							/* iretq */
};

/* The system-call entry, as Linux's: swapgs ... swapgs; sysretq. */
static const uint8_t entry[] = {
    0xf3, 0x0f, 0x1e, 0xfa,				       /* endbr64 */
    0x0f, 0x01, 0xf8,					       /* swapgs */
    0x65, 0x48, 0xff, 0x04,	 0x25, 0x00, 0x00, 0x00, 0x00, /* incq %gs:0 */
    0x48, 0x83, 0xf8, EXIT_CALL,			       /* cmp $60, %rax */
    0x74, 0x06,						       /* je exit */
    0x0f, 0x01, 0xf8,					       /* swapgs */
    0x48, 0x0f, 0x07,					       /* sysretq */
    0xba, 0x01, 0x05, 0x00,	 0x00, /* exit: mov $0x501, %edx */
    0x65, 0x48, 0x8b, 0x04,	 0x25, 0x00, 0x00, 0x00, 0x00, /* mov %gs:0, %rax */
    0xef, 0xf4,						       /* out %eax, %dx; hlt */
};

/*
 * #PF: a fault at LSTAR ends the run with ST_JUMPED; any other maps the lazy
 * page, counts, returns.
 */
static const uint8_t pf[] = {
    0x0f, 0x20, 0xd0,			/* mov %cr2, %rax */
    0x48, 0x3d, 0x00, 0x80, 0x00, 0x00, /* cmp $LSTAR, %rax */
    0x75, 0x0c,				/* jne map */
    0xba, 0x01, 0x05, 0x00, 0x00,	/* mov $0x501, %edx */
    0xb8, 0x0d, 0x60, 0x00, 0x00,	/* mov $ST_JUMPED, %eax */
    0xef, 0xf4,				/* out; hlt */
    0x48, 0xc7, 0x04, 0x25, 0x10, 0x30, 0x00, 0x00, 0x87, 0x00, 0x40, 0x00, /* map */
    0x48, 0xff, 0x04, 0x25, 0x08, 0xa0, 0x00, 0x00, /* incq GS_AREA+8 */
    0x48, 0x83, 0xc4, 0x08,			    /* add $8, %rsp */
    0x48, 0xcf,					    /* iretq */
};

/* How the #PF handler begins: what rackvm must find, and what it makes of it. */
struct pf_prologue {
	const char *what;
	uint8_t len;
	uint8_t bytes[4];
	uint8_t hooked[4];
};

static const struct pf_prologue linux61 = {"Linux 6.1: ASM_CLAC as 3 nops, cld",
					   4,
					   {0x90, 0x90, 0x90, 0xfc},
					   {0xe6, 0xe4, 0x90, 0xfc}};
static const struct pf_prologue ibt = {
    "IBT kernel: endbr64", 4, {0xf3, 0x0f, 0x1e, 0xfa}, {0xe6, 0xe4, 0x66, 0x90}};

static const uint8_t bad[] = {0xba, 0x01, 0x05, 0x00, 0x00, 0xb8,
			      0xad, 0x0b, 0x00, 0x00, 0xef, 0xf4};

/* Ring 3: NR_CALLS system calls, a write to the lazy page, then @last. */
static void put_user(struct vm *vm, bool jump)
{
	static const uint8_t calls[] = {
	    0x31, 0xdb,			      /* xor %ebx, %ebx */
	    0xb8, 0x27, 0x00,	  0x00, 0x00, /* loop: mov $39, %eax */
	    0x0f, 0x05,			      /* syscall */
	    0xff, 0xc3,			      /* inc %ebx */
	    0x83, 0xfb, NR_CALLS,	      /* cmp $NR_CALLS, %ebx */
	    0x75, 0xf2,			      /* jne loop */
	    0x48, 0xc7, 0x04,	  0x25, 0x00, 0x00, 0x40, 0x00, 0x01, 0x00, 0x00, 0x00,
	};
	static const uint8_t exit_call[] = {0xb8, EXIT_CALL, 0, 0, 0, 0x0f, 0x05};
	static const uint8_t jump_lstar[] = {0xb8, 0x00, 0x80, 0x00, 0x00, 0xff, 0xe0};

	put(vm, USER, calls, sizeof(calls));
	put(vm, USER + sizeof(calls), jump ? jump_lstar : exit_call, sizeof(exit_call));
}

static void put_kernel(struct vm *vm, const struct pf_prologue *pro)
{
	put64(vm, PML4, PDPT | 7);
	put64(vm, PDPT, PD | 7);
	put64(vm, PD, 0x000000 | 0x83);		      /* supervisor 2 MiB */
	put64(vm, PD + 8, USER | 0x87);		      /* user 2 MiB */
	put64(vm, GDT + 0x10, 0x00af9b000000ffffULL); /* __KERNEL_CS */
	put64(vm, GDT + 0x18, 0x00cf93000000ffffULL); /* __KERNEL_DS */
	put64(vm, GDT + 0x20, 0x00cffb000000ffffULL); /* __USER32_CS */
	put64(vm, GDT + 0x28, 0x00cff3000000ffffULL); /* __USER_DS */
	put64(vm, GDT + 0x30, 0x00affb000000ffffULL); /* __USER_CS */
	put64(vm, GDT + 0x40, 0x0000890000000067ULL | (uint64_t)TSS << 16);
	put64(vm, TSS + 4, KSTACK); /* RSP0 */
	for (unsigned int v = 0; v < 32; v++)
		idt_gate(vm, v, v == 14 ? PF_ENTRY : BAD_ENTRY);
	put(vm, PF_ENTRY, pro->bytes, pro->len);
	put(vm, PF_ENTRY + pro->len, pf, sizeof(pf));
	put(vm, BAD_ENTRY, bad, sizeof(bad));
	put(vm, KINIT, kinit, sizeof(kinit));
	put(vm, LSTAR, entry, sizeof(entry));
}

static void set_boot_state(struct vm *vm)
{
	struct kvm_segment code = {.limit = 0xffffffff,
				   .selector = 0x10,
				   .type = 11,
				   .present = 1,
				   .s = 1,
				   .l = 1,
				   .g = 1};
	struct kvm_segment data = {.limit = 0xffffffff,
				   .selector = 0x18,
				   .type = 3,
				   .present = 1,
				   .s = 1,
				   .db = 1,
				   .g = 1};
	struct kvm_segment tr = {
	    .base = TSS, .limit = 0x67, .selector = 0x40, .type = 11, .present = 1};
	struct kvm_sregs s = vm->vcpus[0].reset_sregs;
	struct kvm_regs r = {.rip = KINIT, .rsp = KSTACK, .rflags = 2};

	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.tr = tr;
	s.gdt.base = GDT, s.gdt.limit = 0x4f;
	s.idt.base = IDT, s.idt.limit = 32 * 16 - 1;
	s.cr0 = 0x80050033; /* PG WP NE ET MP PE */
	s.cr3 = PML4;
	s.cr4 = 0x620;	/* PAE OSFXSR OSXMMEXCPT */
	s.efer = 0xd01; /* SCE LME LMA NXE */
	assert_int_equal(vcpu_set_boot_state(&vm->vcpus[0], &r, &s), 0);
}

static struct vm *guest_run(const struct pf_prologue *pro, bool jump,
			    struct vm_result *res)
{
	struct vm_config cfg = {.nr_vcpus = 1, .mem_size = 16ULL << 20, .timeout_s = 20};
	struct vm *vm;

	if (access("/dev/kvm", R_OK | W_OK)) {
		print_message("skip: no usable /dev/kvm: %s\n", strerror(errno));
		skip();
	}
	assert_int_equal(vm_create(&cfg, &vm), 0);
	put_kernel(vm, pro);
	put_user(vm, jump);
	set_boot_state(vm);
	assert_int_equal(vm_run(vm, res), 0);
	return vm;
}

static uint64_t get64(struct vm *vm, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, gmem_ptr(&vm->mem, gpa, 8), 8);
	return v;
}

static void check_syscalls(const struct pf_prologue *pro)
{
	struct vm_result res;
	struct vm *vm = guest_run(pro, false, &res);

	assert_string_equal(res.error, "");
	assert_true(res.powered_off);
	assert_int_equal(res.guest_status, NR_CALLS + 1); /* counted in ring 0 via GS */
	assert_int_equal(get64(vm, GS_AREA), NR_CALLS + 1);
	assert_int_equal(get64(vm, GS_AREA + 8), 1); /* the lazy page: one real #PF */
	assert_int_equal(get64(vm, LAZY_PAGE), 1);
	/* On PVM the handler carries the hook; elsewhere it is untouched. */
	assert_memory_equal(gmem_ptr(&vm->mem, PF_ENTRY, pro->len),
			    vm->pvm ? pro->hooked : pro->bytes, pro->len);
	print_message("note: %s: %s\n", pro->what,
		      vm->pvm ? "PVM, SYSCALL completed by rackvm" : "no hook needed");
	vm_destroy(vm);
}

static void test_syscalls_linux61(void **state)
{
	(void)state;
	check_syscalls(&linux61);
}

static void test_syscalls_ibt(void **state)
{
	(void)state;
	check_syscalls(&ibt);
}

/* A jump to LSTAR from ring 3 is a fault, not a system call. */
static void test_jump_is_a_fault(void **state)
{
	struct vm_result res;
	struct vm *vm = guest_run(&linux61, true, &res);

	(void)state;
	assert_string_equal(res.error, "");
	assert_true(res.powered_off);
	assert_int_equal(res.guest_status, ST_JUMPED);
	assert_int_equal(get64(vm, GS_AREA), NR_CALLS);
	vm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_syscalls_linux61),
	    cmocka_unit_test(test_syscalls_ibt),
	    cmocka_unit_test(test_jump_is_a_fault),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
