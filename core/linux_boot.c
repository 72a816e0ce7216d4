// SPDX-License-Identifier: MIT
/*
 * Booting Linux: the default images, the kernel command line, ACPI tables in
 * the BIOS area (where Linux also finds the RSDP by scanning), the loader
 * (core/linux*.c) and the BSP's entry state.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/acpi.h"
#include "core/linux.h"
#include "core/vmm.h"

#define ACPI_AREA_GPA 0xE0000ULL
#define ACPI_AREA_LEN 0x20000ULL

/* Always: the console is COM1, a panic ends the run, the test to run. */
static const char cmdline_base[] = "console=ttyS0 panic=-1 reboot=acpi";

/*
 * PVM only (docs/pvm.md): the guest sees the host's standard CPUID leaves, so
 * features KVM's emulator cannot run in ring 0 go off here. The KVM leaves do
 * follow KVM_SET_CPUID2: rackvm hides the PV features that need KVM's
 * in-kernel LAPIC there and keeps kvm-clock, the guest's only way to learn
 * the TSC rate (no PIT or HPET here; `nopv` left Linux without a clock).
 * SIMD the emulator lacks goes too (blake2s, behind the RNG, ran SSSE3 after
 * kernel_fpu_begin's ldmxcsr). Every emulated instruction costs ~1 us: skip
 * what a boot can do without (init_on_alloc=0: no zeroing of every
 * allocation; trace_eval_init rewrites every trace event's format, minutes).
 */
static const char cmdline_pvm[] =
	"earlyprintk=serial,ttyS0 noxsave nokaslr nox2apic tsc=reliable lpj=5000000 "
	"no_timer_check mitigations=off nowatchdog rcupdate.rcu_cpu_stall_suppress=1 "
	"pci=off dis_ucode_ldr init_on_alloc=0 initcall_blacklist=trace_eval_init "
	"clearcpuid=smap,fsgsbase,pcid,invpcid,cx16,rdpid,pku,ospke,popcnt,"
	"ssse3,sse4_1,sse4_2,aes,pclmulqdq,sha_ni";

#define LINUX_ASSUMED_HZ 250

static int linux_cmdline(struct vm *vm, char *buf, size_t len)
{
	char khz[96] = "";
	uint64_t guest_khz = vm_guest_tsc_khz(vm);
	int n;

	/* no-kvmclock over several nodes (host.c) or under time dilation
	 * (kvmclock runs at the host's pace): the TSC's rate must come from
	 * us, as rackvm has no PIT or HPET to calibrate it against; and lpj=
	 * spares every AP its delay-loop calibration, which polls jiffies (a
	 * page the CPU taking the tick writes) for a quarter second. lpj is
	 * per jiffy: LINUX_ASSUMED_HZ, Debian's CONFIG_HZ. */
	if ((vm->nr_nodes > 1 || vm->dilation > 1) && guest_khz)
		snprintf(khz, sizeof(khz), "%s tsc_early_khz=%llu lpj=%llu",
			 vm->nr_nodes > 1 ? "" : " no-kvmclock",
			 (unsigned long long)guest_khz,
			 (unsigned long long)guest_khz * 1000 / LINUX_ASSUMED_HZ);
	n = snprintf(buf, len, "%s%s%s%s%s rackvm.test=%s rackvm.cpus=%u%s%s", cmdline_base,
		     vm->pvm ? " " : "", vm->pvm ? cmdline_pvm : "", host_linux_quirks(vm), khz,
		     vm->cfg.test ? vm->cfg.test : "smp", vm->nr_vcpus,
		     vm->cfg.append ? " " : "", vm->cfg.append ? vm->cfg.append : "");

	return n < 0 || (size_t)n >= len ? -E2BIG : 0;
}

/* A node's home range of the memfd as guest-physical ranges (split at the hole). */
static void acpi_node_ranges(struct vm *vm, struct acpi_config *cfg, uint32_t node,
			     uint64_t off, uint64_t size)
{
	uint64_t low = vm->mem.low_size;

	if (off < low) {
		uint64_t n = size < low - off ? size : low - off;

		cfg->range[cfg->nr_ranges++] =
			(struct acpi_mem_range){.base = off, .size = n, .node = node};
		off += n;
		size -= n;
	}
	if (size)
		cfg->range[cfg->nr_ranges++] = (struct acpi_mem_range){
			.base = gmem_gpa_of(&vm->mem, off), .size = size, .node = node};
}

static int linux_acpi(struct vm *vm, uint64_t *rsdp)
{
	bool numa = !vm->cfg.numa_off && vm->nr_nodes > 1;
	struct acpi_config cfg = {.nr_cpus = vm->nr_vcpus, .nr_nodes = numa ? vm->nr_nodes : 1,
				  .numa = !vm->cfg.numa_off};
	void *area = gmem_ptr(&vm->mem, ACPI_AREA_GPA, ACPI_AREA_LEN);
	struct acpi_tables out;
	int err;

	if (!area)
		return -ERANGE;
	for (uint32_t n = 0; n < cfg.nr_nodes; n++)
		acpi_node_ranges(vm, &cfg, n, numa ? vm->node_base[n] : 0,
				 numa ? vm->node_size[n] : vm->mem.size);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		cfg.cpu_node[i] = numa ? vm->vcpu_node[i] : 0;
	err = acpi_build(area, ACPI_AREA_LEN, ACPI_AREA_GPA, &cfg, &out);
	if (err)
		return err;
	*rsdp = out.rsdp_gpa;
	return 0;
}

/* Defaults: the PVH vmlinux on PVM (the decompressor would run emulated
 * for minutes), the bzImage as shipped elsewhere. Likewise on PVM an
 * uncompressed initramfs.cpio, when built, beats gunzip in emulated ring 0
 * (minutes for 1.7 MiB; copying 3.6 MiB takes seconds). */
static int linux_images(struct vm *vm, char *kernel, char *initrd, size_t len)
{
	int err = 0;

	if (vm->cfg.kernel)
		snprintf(kernel, len, "%s", vm->cfg.kernel);
	else
		err = guest_default_path(vm->pvm ? "linux/vmlinux" : "linux/vmlinuz", kernel,
					 len);
	if (!err && vm->cfg.initrd) {
		snprintf(initrd, len, "%s", vm->cfg.initrd);
		return 0;
	}
	if (!err && vm->pvm && !guest_default_path("linux/initramfs.cpio", initrd, len) &&
	    access(initrd, R_OK) == 0)
		return 0;
	if (!err)
		err = guest_default_path("linux/initramfs.cpio.gz", initrd, len);
	return err;
}

int linux_boot_load(struct vm *vm)
{
	char kernel[PATH_MAX], initrd[PATH_MAX], cmdline[LINUX_CMDLINE_MAX];
	struct linux_load_args args = {.kernel = kernel, .initrd = initrd, .cmdline = cmdline};
	struct linux_boot lb;
	struct kvm_regs regs = {0};
	struct kvm_sregs sregs = vm->vcpus[0].reset_sregs;
	int err;

	err = linux_images(vm, kernel, initrd, sizeof(kernel));
	if (!err)
		err = linux_cmdline(vm, cmdline, sizeof(cmdline));
	if (!err)
		err = linux_acpi(vm, &args.rsdp_gpa);
	if (err) {
		fprintf(stderr, "rackvm: cannot prepare the Linux boot: %s\n", strerror(-err));
		return err;
	}
	err = linux_load(&vm->mem, &args, &lb);
	if (err) {
		fprintf(stderr, "rackvm: cannot load Linux: %s\n",
			lb.error[0] ? lb.error : strerror(-err));
		if (err == -ENOENT && !vm->cfg.kernel)
			fprintf(stderr, "rackvm: build the guest images with `make guest`\n");
		return err;
	}
	if (vm->cfg.verbose)
		fprintf(stderr, "rackvm: %s entry 0x%llx, cmdline: %s\n",
			lb.mode == LINUX_BOOT_PVH32 ? "PVH" : "64-bit", (unsigned long long)lb.rip,
			cmdline);
	linux_boot_regs(&lb, &regs, &sregs);
	return vcpu_set_boot_state(&vm->vcpus[0], &regs, &sregs);
}
