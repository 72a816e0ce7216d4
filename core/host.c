// SPDX-License-Identifier: MIT
/*
 * What kind of host rackvm runs on, where that changes what a guest must be
 * told. Inside a QEMU TCG "host" (cluster-sim), QEMU's emulation of AMD-V
 * does not intercept the guest's XSETBV: KVM never learns the XCR0 the guest
 * set, reports XSAVE sizes for the old one and switches only the state it
 * knows of, so a Linux guest warns "XSAVE consistency problem" and, measured,
 * triple-faults in about half of the boots with 2 vCPUs. `noxsave` (FXSAVE
 * only) avoids it there; hardware KVM needs nothing.
 */
#include <cpuid.h>
#include <stdio.h>
#include <string.h>

#include "core/vmm.h"

bool host_is_qemu_tcg(void)
{
	unsigned int eax, ebx, ecx, edx;
	char vendor[13];

	__cpuid(0x40000000, eax, ebx, ecx, edx);
	memcpy(vendor, &ebx, 4);
	memcpy(vendor + 4, &ecx, 4);
	memcpy(vendor + 8, &edx, 4);
	vendor[12] = 0;
	(void)eax;
	return !strcmp(vendor, "TCGTCGTCGTCG");
}

/* First character of a module parameter, or 0 if it cannot be read. */
static char module_param(const char *path)
{
	FILE *f = fopen(path, "re");
	int c = f ? fgetc(f) : EOF;

	if (f)
		fclose(f);
	return c == EOF ? 0 : (char)c;
}

/*
 * Whether this host's KVM makes the guest's page-table walks writes to
 * guest memory: Intel with EPT A/D bits (the SDM: with EPTP bit 6 set,
 * accesses to guest paging structures are treated as writes; kvm_intel
 * turns them on where the CPU has them), or QEMU TCG's nested paging
 * (it probes every page-table entry for writing). Over the DSM the
 * guest's page tables then move between nodes on TLB misses.
 */
const char *vm_host_walks_write(void)
{
	if (module_param("/sys/module/kvm_intel/parameters/eptad") == 'Y')
		return "kvm_intel eptad=Y: load kvm_intel with eptad=0";
	if (host_is_qemu_tcg() &&
	    module_param("/sys/module/kvm_amd/parameters/npt") == 'Y')
		return "QEMU TCG with nested paging: rackvm sim --host-paging shadow";
	return NULL;
}

bool vm_host_is_emulated(void)
{
	return host_is_qemu_tcg();
}

/* Under TCG a busy node can miss two 200 ms heartbeats, or a 3 s connect:
 * measured with 3 ASan nodes in a 2-CPU QEMU host on a loaded box. */
unsigned int vm_host_slowdown(void)
{
	return host_is_qemu_tcg() ? 10 : 1;
}

/*
 * A VM over several nodes: no-kvmclock, because Linux keeps the early CPUs'
 * pvclock areas in one page (hv_clock_boot) that each node's KVM rewrites
 * for its own vCPUs, so that page would move between the nodes on every
 * clock update (the TSC, its rate given by tsc_early_khz, takes over sched_clock).
 * nokaslr: the kernel stays in low memory, node 0's home, where the BSP runs.
 * clocksource=refined-jiffies: the one clock every node sees alike (jiffies is guest
 * memory); rackvm's ACPI PM timer is each node's own CLOCK_MONOTONIC and the TSC each
 * host's own, and switching to acpi_pm (a stop_machine) left CPU 1 spinning in
 * multi_cpu_stop for minutes in the QEMU cluster. (The tens of thousands of
 * write faults first seen across 2 QEMU hosts were the kernel's page tables
 * instead: docs/cluster-sim.md, --host-paging.) In a QEMU TCG host also no
 * soft-lockup watchdog, RCU stall or hung-task warnings: there every stop_machine
 * or remote fault storm stalls a vCPU for tens of seconds of guest time,
 * and each warning's backtraces take more seconds on the serial console.
 */
const char *host_linux_quirks(const struct vm *vm)
{
	bool multi = vm->nr_nodes > 1, tcg = host_is_qemu_tcg();

	if (multi)
		return tcg ? " noxsave no-kvmclock nokaslr clocksource=refined-jiffies"
			     " nowatchdog"
			     " rcupdate.rcu_cpu_stall_suppress=1"
			     " sysctl.kernel.hung_task_timeout_secs=0"
			   : " no-kvmclock nokaslr clocksource=refined-jiffies";
	return tcg ? " noxsave" : "";
}
