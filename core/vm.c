// SPDX-License-Identifier: MIT
/* The VM object: KVM setup, memory slots, vCPUs, start and stop. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/pvm.h"
#include "core/vmm.h"

#define KVM_TSS_ADDR 0xfffbd000ULL
#define MSR_IA32_TSC_DEADLINE 0x6e0

uint64_t vm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t vm_guest_tsc_khz(const struct vm *vm)
{
	return vm->tsc_khz * vm->dilation;
}

static int kvm_open(struct vm *vm)
{
	int version;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int err = -errno;

		fprintf(stderr,
			"rackvm: cannot open /dev/kvm: %s (is KVM loaded and are you root or in "
			"the kvm group? Without KVM here, `rackvm sim --hosts 1 -- RUN-ARGS` "
			"runs the guest in a QEMU host)\n",
			strerror(errno));
		return err;
	}
	version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		fprintf(stderr, "rackvm: /dev/kvm speaks API %d, rackvm needs %d\n", version,
			KVM_API_VERSION);
		return -ENOTSUP;
	}
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0)
		return -errno;
	/* PVM: software virtualisation with gaps rackvm works around (docs/pvm.md). */
	vm->pvm = access("/sys/module/kvm_pvm", F_OK) == 0;
	return 0;
}

/* TSC-deadline goes to user space: the LAPIC lives here, not in KVM. On PVM
 * also writes of LSTAR (docs/pvm.md). */
static int vm_msr_filter(struct vm *vm)
{
	static uint8_t deny = 0; /* one MSR, bit clear = deny = exit */
	struct kvm_enable_cap cap = {.cap = KVM_CAP_X86_USER_SPACE_MSR};
	struct kvm_msr_filter filter = {.flags = KVM_MSR_FILTER_DEFAULT_ALLOW};

	cap.args[0] = KVM_MSR_EXIT_REASON_FILTER;
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
		return -errno;
	filter.ranges[0] = (struct kvm_msr_filter_range){
		.flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
		.nmsrs = 1,
		.base = MSR_IA32_TSC_DEADLINE,
		.bitmap = &deny,
	};
	if (vm->pvm) /* the guest's system-call entry: core/pvm_syscall.c */
		filter.ranges[1] = (struct kvm_msr_filter_range){
			.flags = KVM_MSR_FILTER_WRITE,
			.nmsrs = 1,
			.base = PVM_MSR_LSTAR,
			.bitmap = &deny,
		};
	if (ioctl(vm->vm_fd, KVM_X86_SET_MSR_FILTER, &filter) < 0)
		return -errno;
	return 0;
}

static int vm_setup_kvm(struct vm *vm)
{
	struct kvm_enable_cap emu = {.cap = KVM_CAP_EXIT_ON_EMULATION_FAILURE, .args = {1}};
	int err;

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		err = -errno;
		fprintf(stderr, "rackvm: KVM_CREATE_VM: %s\n", strerror(errno));
		return err;
	}
	/* VMX needs a TSS area for real mode; harmless elsewhere. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0 && vm->cfg.verbose)
		fprintf(stderr, "rackvm: KVM_SET_TSS_ADDR: %s (ignored)\n", strerror(errno));
	/* Failures of KVM's emulator come to us with the instruction bytes. */
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &emu) < 0 && vm->cfg.verbose)
		fprintf(stderr, "rackvm: no KVM_CAP_EXIT_ON_EMULATION_FAILURE (ignored)\n");
	err = vm_msr_filter(vm);
	if (err) {
		fprintf(stderr, "rackvm: user-space MSR exits unavailable: %s\n",
			strerror(-err));
		return err;
	}
	return 0;
}

static int vm_set_slot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
		       void *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

static int vm_setup_memory(struct vm *vm)
{
	struct guest_mem *gm = &vm->mem;
	int err = 0;

	if (vm->cfg.mem_host)
		gmem_init_external(gm, vm->cfg.mem_host, vm->cfg.mem_fd, vm->cfg.mem_size);
	else
		err = gmem_init(gm, vm->cfg.mem_size);
	if (err) {
		fprintf(stderr, "rackvm: cannot allocate %llu MiB of guest memory: %s\n",
			(unsigned long long)(vm->cfg.mem_size >> 20), strerror(-err));
		return err;
	}
	err = vm_set_slot(vm, 0, 0, gm->low_size, gm->host);
	if (!err && gm->size > gm->low_size)
		err = vm_set_slot(vm, 1, GMEM_HIGH_START, gm->size - gm->low_size,
				  gm->host + gm->low_size);
	if (err)
		fprintf(stderr, "rackvm: KVM_SET_USER_MEMORY_REGION: %s\n", strerror(-err));
	return err;
}

static void console_line(void *ctx, const char *line)
{
	struct vm *vm = ctx;
	const char *p = strstr(line, "RACKVM-RESULT ");

	if (!p)
		return;
	pthread_mutex_lock(&vm->lock);
	if (strstr(p, " status=pass"))
		vm->result.passed++;
	else
		vm->result.failed++;
	pthread_mutex_unlock(&vm->lock);
}

static void console_irq(void *ctx, bool level)
{
	struct vm *vm = ctx;

	ioapic_set_irq(&vm->ioapic, 4, level); /* COM1 is ISA IRQ 4 */
}

static int vm_create_vcpus(struct vm *vm)
{
	int err;

	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		err = vcpu_init(vm, &vm->vcpus[i], i);
		if (err) {
			fprintf(stderr, "rackvm: cannot create vCPU %u: %s\n", i,
				strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Placement and memory homes; one node owning everything by default. */
static int vm_setup_nodes(struct vm *vm)
{
	const struct vm_config *c = &vm->cfg;
	uint64_t base = 0;

	vm->node_id = c->node_id;
	vm->nr_nodes = c->nr_nodes ? c->nr_nodes : 1;
	if (vm->nr_nodes > VM_MAX_NODES || vm->node_id >= vm->nr_nodes) {
		fprintf(stderr, "rackvm: node %u of %u: at most %u nodes\n", vm->node_id,
			vm->nr_nodes, VM_MAX_NODES);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		vm->vcpu_node[i] = c->vcpu_node ? c->vcpu_node[i] : (uint8_t)vm->node_id;
		if (vm->vcpu_node[i] >= vm->nr_nodes || (!i && vm->vcpu_node[i] != 0)) {
			fprintf(stderr, "rackvm: vCPU %u placed on node %u: bad placement "
				"(vCPU 0 must be on node 0)\n", i, vm->vcpu_node[i]);
			return -EINVAL;
		}
	}
	for (unsigned int n = 0; n < vm->nr_nodes; n++) {
		vm->node_base[n] = base;
		vm->node_size[n] = c->node_mem ? c->node_mem[n] : c->mem_size;
		base += vm->node_size[n];
	}
	if (base != c->mem_size) {
		fprintf(stderr, "rackvm: node memory adds up to %llu bytes, not --mem\n",
			(unsigned long long)base);
		return -EINVAL;
	}
	return 0;
}

int vm_create(const struct vm_config *cfg, struct vm **out)
{
	pthread_condattr_t attr;
	struct vm *vm;
	int err;

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->cfg = *cfg;
	vm->kvm_fd = vm->vm_fd = -1;
	vm->mem.fd = -1;
	vm->nr_vcpus = cfg->nr_vcpus;
	vm->dilation = cfg->time_dilation ? cfg->time_dilation : 1;
	if (vm->dilation > VM_MAX_DILATION) {
		free(vm);
		return -EINVAL;
	}
	err = vm_setup_nodes(vm);
	if (err) {
		free(vm);
		return err;
	}
	pthread_mutex_init(&vm->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->stopped, &attr);
	pthread_condattr_destroy(&attr);
	if (!vm->cfg.console)
		vm->cfg.console = stdout;
	ioapic_init(&vm->ioapic, &vm_ioapic_ops, vm);
	uart_init(&vm->uart, vm->cfg.console, console_irq, console_line, vm);

	err = kvm_open(vm);
	if (!err)
		err = vm_setup_kvm(vm);
	if (!err)
		err = vm_setup_memory(vm);
	if (!err)
		err = vm_create_vcpus(vm);
	if (err) {
		vm_destroy(vm);
		return err;
	}
	*out = vm;
	return 0;
}

int vm_load(struct vm *vm)
{
	switch (vm->cfg.guest) {
	case VM_GUEST_TESTOS:
		return testos_load(vm);
	case VM_GUEST_LINUX:
		return linux_boot_load(vm);
	default:
		fprintf(stderr, "rackvm: this guest kind cannot be loaded yet\n");
		return -ENOTSUP;
	}
}

/* Returns true the first time: the caller tells the other nodes. */
static bool __vm_set_stopping(struct vm *vm)
{
	bool first = !atomic_exchange(&vm->stopping, true);

	pthread_cond_broadcast(&vm->stopped);
	return first;
}

static void vm_kick_all(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		vcpu_kick(v);
		pthread_mutex_lock(&v->lock); /* a vCPU waiting for forwarded I/O */
		pthread_cond_broadcast(&v->wake);
		pthread_mutex_unlock(&v->lock);
	}
}

void vm_stop(struct vm *vm, const char *fmt, ...)
{
	va_list ap;
	bool first;

	pthread_mutex_lock(&vm->lock);
	if (fmt && !vm->result.error[0] && !vm->result.powered_off) {
		va_start(ap, fmt);
		vsnprintf(vm->result.error, sizeof(vm->result.error), fmt, ap);
		va_end(ap);
	}
	first = __vm_set_stopping(vm);
	pthread_mutex_unlock(&vm->lock);
	if (first && vm_is_multinode(vm))
		remote_send_stop(vm);
	vm_kick_all(vm);
}

void vm_stop_remote(struct vm *vm, const struct vm_result *res)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->result.powered_off && !vm->result.error[0]) {
		bool passed = vm->result.passed, failed = vm->result.failed;

		vm->result = *res;
		vm->result.passed += passed; /* the console's node counted them */
		vm->result.failed += failed;
	}
	__vm_set_stopping(vm);
	pthread_mutex_unlock(&vm->lock);
	vm_kick_all(vm);
}

void vm_request_stop(struct vm *vm, const char *why)
{
	vm_stop(vm, "%s", why);
}

void vm_power_off(struct vm *vm, int status)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->result.powered_off && !vm->result.error[0]) {
		vm->result.powered_off = true;
		vm->result.guest_status = status;
	}
	pthread_mutex_unlock(&vm->lock);
	vm_stop(vm, NULL);
}

/* Until the VM stops, or its --timeout passes. */
static void vm_wait(struct vm *vm)
{
	uint64_t deadline = vm->cfg.timeout_s ? vm_now_ns() + vm->cfg.timeout_s * 1000000000ULL
					      : 0;
	struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000ULL),
			      .tv_nsec = (long)(deadline % 1000000000ULL)};
	bool timed_out = false;

	pthread_mutex_lock(&vm->lock);
	while (!atomic_load(&vm->stopping) && !timed_out) {
		if (deadline)
			timed_out = pthread_cond_timedwait(&vm->stopped, &vm->lock, &ts) ==
				    ETIMEDOUT;
		else
			pthread_cond_wait(&vm->stopped, &vm->lock);
	}
	pthread_mutex_unlock(&vm->lock);
	if (timed_out)
		vm_stop(vm, "the guest did not power off within --timeout %u s",
			vm->cfg.timeout_s);
}

/* What KVM holds for the vCPU's interrupts: a lost interrupt shows here. */
static void vm_dump_kvm_irq(struct vcpu *v, FILE *f)
{
	struct kvm_vcpu_events ev;
	struct kvm_regs regs;

	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0 ||
	    ioctl(v->fd, KVM_GET_REGS, &regs) < 0)
		return;
	fprintf(
	    f,
	    "rackvm: vCPU %u kvm: IF %u ready-for-injection %u window asked %u queued %u "
	    "(0x%x) shadow %u, %llu injected\n",
	    v->id, (unsigned int)(regs.rflags >> 9) & 1,
	    v->run->ready_for_interrupt_injection, v->run->request_interrupt_window,
	    ev.interrupt.injected, ev.interrupt.nr, ev.interrupt.shadow,
	    (unsigned long long)v->stats.injected);
}

/* Where every vCPU was when the run stopped (the threads have ended). */
static void vm_dump_vcpus(struct vm *vm, FILE *f)
{
	static const char *const modes[] = {"waiting for SIPI", "running", "halted"};
	char where[256];

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (!v->local)
			continue;
		vcpu_describe(v, where, sizeof(where));
		fprintf(f, "rackvm: vCPU %u %s, %llu exits: %s\n", i, modes[v->mode],
			(unsigned long long)v->stats.exits, where);
		lapic_describe(&v->lapic, vm_now_ns(), where, sizeof(where));
		fprintf(f, "rackvm: vCPU %u %s\n", i, where);
		vm_dump_kvm_irq(v, f);
		lapic_print_trace(&v->lapic, vm_now_ns(), f, i);
	}
}

/* Interrupts that came at a HLT whose STI shadow the host lost (irq.c). */
static void vm_report_hlt_skips(const struct vm *vm)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		n += vm->vcpus[i].stats.hlt_skipped;
	if (n)
		fprintf(
		    stderr,
		    "rackvm: %llu interrupts came at a HLT at CPL 0 (after `sti`, the "
		    "host lost its interrupt shadow?); the vCPU resumed past it\n",
		    (unsigned long long)n);
}

int vm_run(struct vm *vm, struct vm_result *res)
{
	int err = 0;

	pthread_mutex_lock(&vm->lock); /* a vCPU may have moved here already */
	for (unsigned int i = 0; i < vm->nr_vcpus && !err; i++) {
		struct vcpu *v = &vm->vcpus[i];

		pthread_rwlock_wrlock(&v->own_lock);
		if (v->local && !v->thread_started && !atomic_load(&vm->stopping))
			err = vcpu_start(v);
		pthread_rwlock_unlock(&v->own_lock);
	}
	pthread_mutex_unlock(&vm->lock);
	if (err)
		vm_stop(vm, "cannot start vCPU thread: %s", strerror(-err));
	vm_wait(vm);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].thread_started)
			pthread_join(vm->vcpus[i].thread, NULL);
	uart_flush(&vm->uart);
	vm_report_hlt_skips(vm);
	if (vm->result.error[0])
		vm_dump_vcpus(vm, stderr);
	pthread_mutex_lock(&vm->lock);
	*res = vm->result;
	pthread_mutex_unlock(&vm->lock);
	return err;
}

bool vm_result_passed(const struct vm_result *res)
{
	return res->powered_off && res->guest_status == 0 && res->passed > 0 &&
	       res->failed == 0 && !res->error[0];
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	if (vm->vcpus) {
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			vcpu_destroy(&vm->vcpus[i]);
		free(vm->vcpus);
	}
	gmem_destroy(&vm->mem);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	uart_destroy(&vm->uart);
	ioapic_destroy(&vm->ioapic);
	pthread_cond_destroy(&vm->stopped);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

uint64_t vm_gpa_of(const struct vm *vm, uint64_t off)
{
	return gmem_gpa_of(&vm->mem, off);
}

int32_t vm_vcpu_tid(struct vm *vm, unsigned int id)
{
	if (!vm || id >= vm->nr_vcpus || !vm->vcpus[id].local)
		return 0;
	return __atomic_load_n(&vm->vcpus[id].tid, __ATOMIC_ACQUIRE);
}
