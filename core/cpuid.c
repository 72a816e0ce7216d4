// SPDX-License-Identifier: MIT
/* Per-vCPU CPUID: one package, nr_vcpus single-threaded cores (see cpuid.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <asm/kvm_para.h>

#include "core/cpuid.h"

#define CPUID_SUPPORTED_START 64
#define CPUID_SUPPORTED_MAX   4096
#define CPUID_TOPO_SUBLEAVES  3 /* SMT, core, and the invalid level that ends the list */

/* x86 topology level types in leaf 0xB/0x1F ECX[15:8]. */
#define TOPO_LEVEL_INVALID 0
#define TOPO_LEVEL_SMT	   1
#define TOPO_LEVEL_CORE	   2

static struct kvm_cpuid2 *cpuid_alloc(unsigned int nent)
{
	struct kvm_cpuid2 *c;

	c = calloc(1, sizeof(*c) + (size_t)nent * sizeof(c->entries[0]));
	if (c)
		c->nent = nent;
	return c;
}

int cpuid_supported(int kvm_fd, struct kvm_cpuid2 **out)
{
	struct kvm_cpuid2 *c;
	unsigned int nent;
	int err;

	/* KVM says E2BIG without telling the size it needs: grow until it fits. */
	for (nent = CPUID_SUPPORTED_START; nent <= CPUID_SUPPORTED_MAX; nent *= 2) {
		c = cpuid_alloc(nent);
		if (!c)
			return -ENOMEM;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			*out = c;
			return 0;
		}
		err = -errno;
		free(c);
		if (err != -E2BIG)
			return err;
	}
	return -E2BIG;
}

static bool cpuid_entry_matches(const struct kvm_cpuid_entry2 *e, unsigned int function,
				unsigned int index)
{
	if (e->function != function)
		return false;
	return !(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == index;
}

const struct kvm_cpuid_entry2 *cpuid_find(const struct kvm_cpuid2 *c,
					  unsigned int function, unsigned int index)
{
	for (unsigned int i = 0; i < c->nent; i++)
		if (cpuid_entry_matches(&c->entries[i], function, index))
			return &c->entries[i];
	return NULL;
}

/* Smallest s with (1 << s) >= n: the APIC-id bits a level of n units takes. */
static unsigned int id_bits(unsigned int n)
{
	unsigned int s = 0;

	while ((1U << s) < n)
		s++;
	return s;
}

static unsigned int min_u(unsigned int a, unsigned int b)
{
	return a < b ? a : b;
}

struct topo {
	unsigned int apic_id;
	unsigned int nr;
};

static void fix_leaf1(struct kvm_cpuid_entry2 *e, const struct topo *t)
{
	/* EBX[23:16]: addressable ids; rounded up to a power of two by the guest,
	 * so 255 stands for 256 when the 8-bit field cannot hold it. */
	e->ebx = (e->ebx & 0xffffU) | (t->apic_id << 24) | (min_u(t->nr, 255) << 16);
	if (t->nr > 1)
		e->edx |= CPUID_1_EDX_HTT;
	else
		e->edx &= ~CPUID_1_EDX_HTT;
	e->ecx &= ~CPUID_1_ECX_X2APIC;
	e->ecx |= CPUID_1_ECX_TSC_DEADLINE | CPUID_1_ECX_HYPERVISOR;
}

/* Cache sharing field [25:14] of leaf 4 and 0x8000001D: L1/L2 per core, L3 shared. */
static uint32_t cache_sharing(uint32_t eax, const struct topo *t)
{
	unsigned int level = (eax >> 5) & 7;
	unsigned int sharing = level >= 3 ? t->nr - 1 : 0;

	return (eax & ~0x03ffc000U) | (min_u(sharing, 0xfff) << 14);
}

static void fix_leaf4(struct kvm_cpuid_entry2 *e, const struct topo *t)
{
	if ((e->eax & 0x1f) == 0) /* no cache at this sub-leaf */
		return;
	e->eax = cache_sharing(e->eax, t);
	e->eax = (e->eax & ~0xfc000000U) | ((min_u(t->nr, 64) - 1) << 26);
}

static void fix_amd_cache(struct kvm_cpuid_entry2 *e, const struct topo *t)
{
	if ((e->eax & 0x1f) != 0)
		e->eax = cache_sharing(e->eax, t);
}

static void fix_amd_size(struct kvm_cpuid_entry2 *e, const struct topo *t)
{
	/* ECX[7:0] cores - 1, ECX[15:12] APIC id bits for the cores. */
	e->ecx = (e->ecx & ~0xf0ffU) | ((t->nr - 1) & 0xff) | (id_bits(t->nr) << 12);
}

static void fix_amd_ext_apic(struct kvm_cpuid_entry2 *e, const struct topo *t)
{
	e->eax = t->apic_id;
	e->ebx = (e->ebx & ~0xffffU) | (t->apic_id & 0xff); /* core id; 1 thread/core */
	e->ecx &= ~0x7ffU;				    /* node 0, one node */
}

/*
 * KVM paravirtual features that need KVM's in-kernel LAPIC (PV EOI, PV
 * unhalt/kick, PV send-IPI and sched-yield hypercalls, async page faults'
 * "page ready" interrupt): rackvm's LAPIC is in user space, so they go.
 */
#define KVM_PV_NEEDS_KERNEL_LAPIC                                                       \
	((1U << KVM_FEATURE_ASYNC_PF) | (1U << KVM_FEATURE_PV_EOI) |                   \
	 (1U << KVM_FEATURE_PV_UNHALT) | (1U << KVM_FEATURE_PV_SEND_IPI) |             \
	 (1U << KVM_FEATURE_PV_SCHED_YIELD) | (1U << KVM_FEATURE_ASYNC_PF_INT) |       \
	 (1U << KVM_FEATURE_ASYNC_PF_VMEXIT))

static void fix_entry(struct kvm_cpuid_entry2 *e, const struct topo *t)
{
	switch (e->function) {
	case KVM_CPUID_FEATURES:
		e->eax &= ~KVM_PV_NEEDS_KERNEL_LAPIC;
		break;
	case 0x1:
		fix_leaf1(e, t);
		break;
	case 0x4:
		fix_leaf4(e, t);
		break;
	case 0x80000008:
		fix_amd_size(e, t);
		break;
	case 0x8000001d:
		fix_amd_cache(e, t);
		break;
	case 0x8000001e:
		fix_amd_ext_apic(e, t);
		break;
	default:
		break;
	}
}

static void add_topology(struct kvm_cpuid2 *c, unsigned int function,
			 const struct topo *t)
{
	struct kvm_cpuid_entry2 *e = &c->entries[c->nent];

	for (unsigned int i = 0; i < CPUID_TOPO_SUBLEAVES; i++) {
		memset(&e[i], 0, sizeof(e[i]));
		e[i].function = function;
		e[i].index = i;
		e[i].flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		e[i].ecx = i;
		e[i].edx = t->apic_id;
	}
	e[0].ebx = 1; /* one thread per core: the SMT level takes no id bits */
	e[0].ecx |= TOPO_LEVEL_SMT << 8;
	e[1].eax = id_bits(t->nr);
	e[1].ebx = t->nr;
	e[1].ecx |= TOPO_LEVEL_CORE << 8;
	e[2].ecx |= TOPO_LEVEL_INVALID << 8;
	c->nent += CPUID_TOPO_SUBLEAVES;
}

#define KVM_PV_WRITES_GUEST_MEMORY                                                       \
	((1U << KVM_FEATURE_STEAL_TIME) | (1U << KVM_FEATURE_PV_TLB_FLUSH) |             \
	 (1U << KVM_FEATURE_POLL_CONTROL))

void cpuid_for_nodes(struct kvm_cpuid2 *c)
{
	for (unsigned int i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == KVM_CPUID_FEATURES)
			e->eax &= ~KVM_PV_WRITES_GUEST_MEMORY;
		else if (e->function == 0x4 || e->function == 0x8000001d)
			e->eax &= ~0x03ffc000U; /* every cache private to its core */
		else if (e->function == 0x80000006)
			e->edx = 0; /* no L3: AMD's guests take it as node-wide */
	}
}

static int cpuid_build(const struct kvm_cpuid2 *supported, const struct topo *t,
		       struct kvm_cpuid2 **out)
{
	const struct kvm_cpuid_entry2 *leaf0;
	unsigned int max_basic;
	struct kvm_cpuid2 *c;

	c = cpuid_alloc(supported->nent + 2 * CPUID_TOPO_SUBLEAVES);
	if (!c)
		return -ENOMEM;
	c->nent = 0;
	for (unsigned int i = 0; i < supported->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &supported->entries[i];

		/* The topology leaves are rebuilt whole below. */
		if (e->function == 0xb || e->function == 0x1f)
			continue;
		c->entries[c->nent] = *e;
		fix_entry(&c->entries[c->nent++], t);
	}
	leaf0 = cpuid_find(supported, 0, 0);
	max_basic = leaf0 ? leaf0->eax : 0;
	if (max_basic >= 0xb)
		add_topology(c, 0xb, t);
	if (max_basic >= 0x1f && cpuid_find(supported, 0x1f, 0))
		add_topology(c, 0x1f, t);
	*out = c;
	return 0;
}

int cpuid_for_vcpu(const struct kvm_cpuid2 *supported, unsigned int apic_id,
		   unsigned int nr_vcpus, struct kvm_cpuid2 **out)
{
	struct topo t = {.apic_id = apic_id, .nr = nr_vcpus};

	if (!supported || nr_vcpus == 0 || nr_vcpus > CPUID_MAX_VCPUS ||
	    apic_id >= (1U << id_bits(nr_vcpus)) || apic_id > 0xff)
		return -EINVAL;
	return cpuid_build(supported, &t, out);
}

int cpuid_for_vcpu_alone(const struct kvm_cpuid2 *supported, unsigned int apic_id,
			 struct kvm_cpuid2 **out)
{
	struct topo t = {.apic_id = apic_id, .nr = 1};

	if (!supported || apic_id > 0xff)
		return -EINVAL;
	return cpuid_build(supported, &t, out);
}
