// SPDX-License-Identifier: MIT
/* core/cpuid.c: topology and feature bits on a synthetic table, and real KVM. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cmocka.h>

#include <asm/kvm_para.h>

#include "core/cpuid.h"

#define SIG KVM_CPUID_FLAG_SIGNIFCANT_INDEX

/* A host-like table: Intel-style cache leaf 4, AMD-style extended leaves. */
static const struct kvm_cpuid_entry2 synthetic[] = {
    {.function = 0, .eax = 0x1f},
    {.function = 1, .eax = 0x806f8, .ebx = 0x07010800, .ecx = 0x00200000 | 1, .edx = 1},
    {.function = 4, .index = 0, .flags = SIG, .eax = 0xfc004121}, /* L1d */
    {.function = 4, .index = 1, .flags = SIG, .eax = 0xfc004122}, /* L1i */
    {.function = 4, .index = 2, .flags = SIG, .eax = 0xfc01c143}, /* L2 */
    {.function = 4, .index = 3, .flags = SIG, .eax = 0xfc3fc163}, /* L3 */
    {.function = 4, .index = 4, .flags = SIG},
    {.function = 0xb,
     .index = 0,
     .flags = SIG,
     .eax = 1,
     .ebx = 2,
     .ecx = 0x100,
     .edx = 7},
    {.function = 0xb,
     .index = 1,
     .flags = SIG,
     .eax = 6,
     .ebx = 48,
     .ecx = 0x201,
     .edx = 7},
    {.function = 0x1f, .index = 0, .flags = SIG, .eax = 1, .ebx = 2, .ecx = 0x100},
    {.function = 0x40000000, .eax = 0x40000001, .ebx = 0x4b4d564b, .ecx = 0x564b4d56},
    {.function = 0x40000001, .eax = 0x01007efb},
    {.function = 0x80000000, .eax = 0x8000001e},
    {.function = 0x80000006, .ecx = 0x02006140, .edx = 0x0100b140},
    {.function = 0x80000008, .eax = 0x3030, .ecx = 0x0001700f},
    {.function = 0x8000001d, .index = 0, .flags = SIG, .eax = 0x121},
    {.function = 0x8000001d, .index = 1, .flags = SIG, .eax = 0x163},
    {.function = 0x8000001e, .eax = 5, .ebx = 0x105, .ecx = 0x301},
};

static struct kvm_cpuid2 *table_from(const struct kvm_cpuid_entry2 *e, size_t n)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(*e));

	assert_non_null(c);
	c->nent = (uint32_t)n;
	memcpy(c->entries, e, n * sizeof(*e));
	return c;
}

/* The host-like table above, malloc'd (free() it). */
static struct kvm_cpuid2 *synthetic_table(void)
{
	return table_from(synthetic, sizeof(synthetic) / sizeof(synthetic[0]));
}

static const struct kvm_cpuid_entry2 *must_find(const struct kvm_cpuid2 *c,
						unsigned int f, unsigned int i)
{
	const struct kvm_cpuid_entry2 *e = cpuid_find(c, f, i);

	if (!e)
		fail_msg("leaf %#x.%u missing", f, i);
	return e;
}

static unsigned int count_leaf(const struct kvm_cpuid2 *c, unsigned int f)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < c->nent; i++)
		n += c->entries[i].function == f;
	return n;
}

static void check_leaf1(const struct kvm_cpuid2 *c, unsigned int id, unsigned int nr)
{
	const struct kvm_cpuid_entry2 *e = must_find(c, 1, 0);

	assert_int_equal(e->ebx >> 24, id);
	assert_int_equal((e->ebx >> 16) & 0xff, nr > 255 ? 255 : nr);
	assert_int_equal(e->ebx & 0xffff, 0x0800); /* CLFLUSH size kept */
	assert_int_equal(!!(e->edx & CPUID_1_EDX_HTT), nr > 1);
	assert_int_equal(e->ecx & CPUID_1_ECX_X2APIC, 0);
	assert_true(e->ecx & CPUID_1_ECX_TSC_DEADLINE);
	assert_true(e->ecx & CPUID_1_ECX_HYPERVISOR);
	assert_true(e->ecx & 1); /* other features (SSE3) kept */
}

static void check_topology(const struct kvm_cpuid2 *c, unsigned int f, unsigned int id,
			   unsigned int nr)
{
	const struct kvm_cpuid_entry2 *smt = must_find(c, f, 0);
	const struct kvm_cpuid_entry2 *core = must_find(c, f, 1);
	const struct kvm_cpuid_entry2 *end = must_find(c, f, 2);
	unsigned int shift = core->eax & 0x1f;

	assert_int_equal(count_leaf(c, f), 3);
	assert_int_equal((smt->ecx >> 8) & 0xff, 1);
	assert_int_equal(smt->ecx & 0xff, 0);
	assert_int_equal(smt->ebx & 0xffff, 1);
	assert_int_equal(smt->eax & 0x1f, 0);
	assert_int_equal((core->ecx >> 8) & 0xff, 2);
	assert_int_equal(core->ecx & 0xff, 1);
	assert_int_equal(core->ebx & 0xffff, nr);
	/* The core level's id field holds every id, and not one bit more. */
	assert_true((1U << shift) >= nr);
	assert_true(shift == 0 || (1U << (shift - 1)) < nr);
	assert_int_equal(id >> shift, 0); /* one package */
	assert_int_equal((end->ecx >> 8) & 0xff, 0);
	assert_int_equal(end->ecx & 0xff, 2);
	assert_int_equal(smt->edx, id);
	assert_int_equal(core->edx, id);
	assert_int_equal(end->edx, id);
}

static void check_caches(const struct kvm_cpuid2 *c, unsigned int nr)
{
	for (unsigned int i = 0; i < 4; i++) {
		const struct kvm_cpuid_entry2 *e = must_find(c, 4, i);
		unsigned int level = (e->eax >> 5) & 7;
		unsigned int sharing = ((e->eax >> 14) & 0xfff) + 1;

		assert_int_equal((e->eax >> 26) + 1, nr > 64 ? 64 : nr);
		assert_int_equal(sharing, level == 3 ? nr : 1);
		assert_int_equal(e->eax & 0x3fff, synthetic[2 + i].eax & 0x3fff);
	}
	assert_int_equal(must_find(c, 4, 4)->eax, 0);
	assert_int_equal((must_find(c, 0x8000001d, 0)->eax >> 14) & 0xfff, 0);
	assert_int_equal((must_find(c, 0x8000001d, 1)->eax >> 14) & 0xfff, nr - 1);
}

static void check_amd(const struct kvm_cpuid2 *c, unsigned int id, unsigned int nr)
{
	const struct kvm_cpuid_entry2 *sz = must_find(c, 0x80000008, 0);
	const struct kvm_cpuid_entry2 *ext = must_find(c, 0x8000001e, 0);

	assert_int_equal((sz->ecx & 0xff) + 1, nr == 256 ? 256 : nr);
	assert_true((1U << ((sz->ecx >> 12) & 0xf)) >= nr);
	assert_int_equal(sz->ecx & 0x10000, 0x10000); /* unrelated bits kept */
	assert_int_equal(ext->eax, id);
	assert_int_equal(ext->ebx & 0xff, id);
	assert_int_equal((ext->ebx >> 8) & 0xff, 0);
	assert_int_equal(ext->ecx & 0x7ff, 0);
}

static void check_pv_kept(const struct kvm_cpuid2 *c)
{
	assert_memory_equal(must_find(c, 0x40000000, 0), &synthetic[10],
			    sizeof(synthetic[0]));
	const struct kvm_cpuid_entry2 *pv = must_find(c, 0x40000001, 0);
	/* kept: clocksource(2) nop-io-delay(1) clocksource2(3) steal-time(5)
	 * pv-tlb-flush(9) poll-control(12) msi-ext-dest(15) stable-bit(24);
	 * gone, they need KVM's in-kernel LAPIC: async-pf(4) pv-eoi(6)
	 * pv-unhalt(7) async-pf-vmexit(10) pv-send-ipi(11) sched-yield(13)
	 * async-pf-int(14). */
	assert_int_equal(pv->eax, 0x01007efbU & ~0x00006cd0U);
	assert_int_equal(pv->ebx, synthetic[11].ebx);
	assert_int_equal(pv->edx, synthetic[11].edx);
}

static void check_one(const struct kvm_cpuid2 *in, unsigned int id, unsigned int nr)
{
	struct kvm_cpuid2 *out = NULL;

	assert_int_equal(cpuid_for_vcpu(in, id, nr, &out), 0);
	check_leaf1(out, id, nr);
	check_topology(out, 0xb, id, nr);
	check_topology(out, 0x1f, id, nr);
	check_caches(out, nr);
	check_amd(out, id, nr);
	check_pv_kept(out);
	free(out);
}

static void test_all_counts(void **state)
{
	struct kvm_cpuid2 *in = synthetic_table();
	size_t size = sizeof(*in) + in->nent * sizeof(in->entries[0]);
	struct kvm_cpuid2 *copy = malloc(size);

	(void)state;
	assert_non_null(copy);
	memcpy(copy, in, size);
	for (unsigned int nr = 1; nr <= CPUID_MAX_VCPUS; nr++) {
		check_one(in, 0, nr);
		check_one(in, nr / 2, nr);
		check_one(in, nr - 1, nr);
	}
	assert_memory_equal(in, copy, size); /* input untouched */
	free(copy);
	free(in);
}

static void test_ids_differ_per_vcpu(void **state)
{
	struct kvm_cpuid2 *in = synthetic_table();
	struct kvm_cpuid2 *a = NULL, *b = NULL;

	(void)state;
	assert_int_equal(cpuid_for_vcpu(in, 0, 4, &a), 0);
	assert_int_equal(cpuid_for_vcpu(in, 3, 4, &b), 0);
	assert_int_equal(must_find(a, 1, 0)->ebx >> 24, 0);
	assert_int_equal(must_find(b, 1, 0)->ebx >> 24, 3);
	assert_int_equal(must_find(b, 0xb, 1)->edx, 3);
	assert_int_equal(a->nent, b->nent);
	free(a);
	free(b);
	free(in);
}

static void test_rejects(void **state)
{
	struct kvm_cpuid2 *in = synthetic_table();
	struct kvm_cpuid2 *out = NULL;

	(void)state;
	assert_int_equal(cpuid_for_vcpu(in, 0, 0, &out), -EINVAL);
	assert_int_equal(cpuid_for_vcpu(in, 0, 257, &out), -EINVAL);
	assert_int_equal(cpuid_for_vcpu(in, 4, 3, &out), -EINVAL); /* 2 id bits */
	assert_int_equal(cpuid_for_vcpu(in, 1, 1, &out), -EINVAL);
	assert_int_equal(cpuid_for_vcpu(NULL, 0, 1, &out), -EINVAL);
	assert_null(out);
	/* Ids past nr_vcpus but inside the id space are legal (sparse ids). */
	assert_int_equal(cpuid_for_vcpu(in, 3, 3, &out), 0);
	free(out);
	free(in);
}

static void test_no_leaf_1f_or_b(void **state)
{
	struct kvm_cpuid_entry2 small[] = {
	    {.function = 0, .eax = 0xd},
	    {.function = 1, .ecx = CPUID_1_ECX_X2APIC},
	    {.function = 0xb, .index = 0, .flags = SIG, .ecx = 0x100},
	};
	struct kvm_cpuid2 *in = table_from(small, 3);
	struct kvm_cpuid2 *out = NULL;

	(void)state;
	assert_int_equal(cpuid_for_vcpu(in, 2, 8, &out), 0);
	assert_int_equal(count_leaf(out, 0x1f), 0);
	check_topology(out, 0xb, 2, 8);
	free(out);
	in->entries[0].eax = 0xa; /* max basic leaf below 0xB: no topology leaf */
	assert_int_equal(cpuid_for_vcpu(in, 2, 8, &out), 0);
	assert_int_equal(count_leaf(out, 0xb), 0);
	assert_int_equal(must_find(out, 1, 0)->ecx & CPUID_1_ECX_X2APIC, 0);
	free(out);
	free(in);
}

/* Across nodes: steal time and what rides on it go, kvmclock stays. */
static void test_for_nodes(void **state)
{
	struct kvm_cpuid2 *in = synthetic_table();
	struct kvm_cpuid2 *out = NULL;
	uint32_t one, many;

	(void)state;
	assert_int_equal(cpuid_for_vcpu(in, 0, 2, &out), 0);
	one = must_find(out, 0x40000001, 0)->eax;
	assert_int_not_equal(must_find(out, 0x80000006, 0)->edx, 0);
	cpuid_for_nodes(out);
	many = must_find(out, 0x40000001, 0)->eax;
	assert_true(one & (1U << KVM_FEATURE_STEAL_TIME));
	assert_int_equal(many & (1U << KVM_FEATURE_STEAL_TIME), 0);
	assert_int_equal(many & (1U << KVM_FEATURE_PV_TLB_FLUSH), 0);
	assert_int_equal(many & (1U << KVM_FEATURE_POLL_CONTROL), 0);
	assert_true(many & (1U << KVM_FEATURE_CLOCKSOURCE2));
	assert_int_equal(one & ~many, (1U << KVM_FEATURE_STEAL_TIME) |
					  (1U << KVM_FEATURE_PV_TLB_FLUSH) |
					  (1U << KVM_FEATURE_POLL_CONTROL));
	/* caches: L3 was shared by both cores, now none is */
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(must_find(out, 4, i)->eax >> 14 & 0xfff, 0);
	assert_int_equal(must_find(out, 0x8000001d, 1)->eax >> 14 & 0xfff, 0);
	assert_int_equal(must_find(out, 0x80000006, 0)->edx, 0);
	free(out);
	free(in);
}

/* A package of its own: one core, the id is the package's. */
static void test_alone(void **state)
{
	struct kvm_cpuid2 *in = synthetic_table();
	struct kvm_cpuid2 *out = NULL;

	(void)state;
	assert_int_equal(cpuid_for_vcpu_alone(in, 256, &out), -EINVAL);
	assert_int_equal(cpuid_for_vcpu_alone(NULL, 1, &out), -EINVAL);
	assert_int_equal(cpuid_for_vcpu_alone(in, 5, &out), 0);
	assert_int_equal(must_find(out, 1, 0)->ebx >> 24, 5);
	assert_int_equal(must_find(out, 1, 0)->ebx >> 16 & 0xff, 1);
	assert_int_equal(must_find(out, 1, 0)->edx & CPUID_1_EDX_HTT, 0);
	assert_int_equal(must_find(out, 0xb, 1)->eax & 0x1f, 0); /* no core id bits */
	assert_int_equal(must_find(out, 0xb, 1)->ebx, 1);
	assert_int_equal(must_find(out, 0xb, 1)->edx, 5);
	assert_int_equal(must_find(out, 0x80000008, 0)->ecx & 0xf0ff, 0);
	assert_int_equal(must_find(out, 0x8000001e, 0)->eax, 5);
	free(out);
	free(in);
}

/* The real thing: KVM's table goes through and KVM accepts the result. */
static void test_real_kvm(void **state)
{
	struct kvm_cpuid2 *sup = NULL, *out = NULL, *got;
	int kvm, vm, vcpu;

	(void)state;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		print_message("skip: cannot open /dev/kvm: %s\n", strerror(errno));
		skip();
	}
	assert_int_equal(cpuid_supported(kvm, &sup), 0);
	assert_true(sup->nent > 2);
	assert_non_null(cpuid_find(sup, 0, 0));
	assert_int_equal(cpuid_for_vcpu(sup, 1, 2, &out), 0);
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	assert_true(vm >= 0);
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 1);
	assert_true(vcpu >= 0);
	assert_int_equal(ioctl(vcpu, KVM_SET_CPUID2, out), 0);
	got = calloc(1, sizeof(*got) + 512 * sizeof(got->entries[0]));
	assert_non_null(got);
	got->nent = 512;
	assert_int_equal(ioctl(vcpu, KVM_GET_CPUID2, got), 0);
	assert_int_equal(must_find(got, 1, 0)->ebx >> 24, 1);
	assert_int_equal(must_find(got, 1, 0)->ecx & CPUID_1_ECX_X2APIC, 0);
	free(got);
	free(out);
	free(sup);
	close(vcpu);
	close(vm);
	close(kvm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_counts), cmocka_unit_test(test_ids_differ_per_vcpu),
	    cmocka_unit_test(test_rejects),    cmocka_unit_test(test_no_leaf_1f_or_b),
	    cmocka_unit_test(test_for_nodes),  cmocka_unit_test(test_alone),
	    cmocka_unit_test(test_real_kvm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
