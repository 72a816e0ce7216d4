/* SPDX-License-Identifier: MIT */
/*
 * core/cpuid.h - the CPUID table each vCPU gets (private to core/).
 *
 * Topology: one package of nr_vcpus cores, one thread per core, APIC id =
 * the id the caller gives (rackvm uses the vCPU index). The guest learns it
 * from leaf 1 (initial APIC id, addressable ids, HTT), leaf 4 / 0x8000001D
 * (how many cores share each cache: L1/L2 private, L3 shared by all), leaf
 * 0xB and 0x1F when present (SMT level: 1 thread, core level: nr_vcpus,
 * EDX = x2APIC id = APIC id), 0x80000008 ECX (AMD core count) and
 * 0x8000001E (AMD extended APIC id). Features: x2APIC is hidden (rackvm's
 * LAPIC is xAPIC only), TSC-deadline and the hypervisor bit are shown; the
 * KVM paravirtual leaves (0x40000000..) pass through as KVM offers them, less
 * the features that need KVM's in-kernel LAPIC (PV EOI/unhalt/send-IPI/
 * sched-yield, async page faults), so kvmclock, steal time and PV TLB flush
 * are visible (on one node: cpuid_for_nodes() below).
 *
 * PVM quirk: a PVM host ignores KVM_SET_CPUID2 for what the guest sees; the
 * guest reads the host's CPUID (PROBES.md). The table still matters for
 * KVM's own checks (MSR access, XSAVE sizes) and on hardware KVM.
 */
#ifndef RACKVM_CORE_CPUID_H
#define RACKVM_CORE_CPUID_H

#include <linux/kvm.h>

#define CPUID_MAX_VCPUS 256 /* xAPIC ids are 8 bits */

/* Leaf 1 feature bits rackvm forces. */
#define CPUID_1_ECX_X2APIC	 (1U << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1U << 24)
#define CPUID_1_ECX_HYPERVISOR	 (1U << 31)
#define CPUID_1_EDX_HTT		 (1U << 28)

/* KVM_GET_SUPPORTED_CPUID into a malloc'd table (free() it). 0 or -errno. */
int cpuid_supported(int kvm_fd, struct kvm_cpuid2 **out)
    __attribute__((warn_unused_result));

/*
 * The table for the vCPU with @apic_id out of @nr_vcpus (1..256), built from
 * @supported (not modified) into a malloc'd table (free() it). Pure: no
 * ioctl. -EINVAL if the counts or the id do not fit one xAPIC package.
 */
int cpuid_for_vcpu(const struct kvm_cpuid2 *supported, unsigned int apic_id,
		   unsigned int nr_vcpus, struct kvm_cpuid2 **out)
    __attribute__((warn_unused_result));

/*
 * The same for a vCPU that is a package of its own (one core, package id =
 * @apic_id), as every vCPU of a VM over several nodes is: their hosts share
 * no socket, and a guest whose package (on AMD: its last-level cache) spans
 * NUMA nodes warns at every CPU's bring-up.
 */
int cpuid_for_vcpu_alone(const struct kvm_cpuid2 *supported, unsigned int apic_id,
			 struct kvm_cpuid2 **out) __attribute__((warn_unused_result));

/*
 * The VM spans nodes: hide the KVM features through which KVM itself writes
 * guest memory on every vCPU entry or exit (steal time: the record and its
 * "preempted" byte, which other vCPUs poll; PV TLB flush and the
 * polling-control MSR ride on it). Over the DSM each such write moves a page
 * between nodes. kvmclock goes by the command line (no-kvmclock). And no
 * cache is shared between cores (leaf 4 / 0x8000001D sharing 1, no L3 in
 * 0x80000006, which Linux takes as shared by a whole AMD node): a guest
 * whose last-level cache spans NUMA nodes warns at every CPU's bring-up.
 */
void cpuid_for_nodes(struct kvm_cpuid2 *c);

/* The entry for @function/@index in @c, or NULL. */
const struct kvm_cpuid_entry2 *cpuid_find(const struct kvm_cpuid2 *c,
					  unsigned int function, unsigned int index);

#endif
