// SPDX-License-Identifier: MIT
/* vCPU threads: the KVM_RUN loop, kicks, HLT parking and INIT/SIPI start-up. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/cpuid.h"
#include "core/vmm.h"

static __thread struct vcpu *current_vcpu;

/* The kick signal only has to interrupt KVM_RUN; immediate_exit covers the
 * window before it. Also the LAPIC timer's signal. */
static void kick_handler(int sig)
{
	(void)sig;
	if (current_vcpu)
		current_vcpu->run->immediate_exit = 1;
}

static void install_kick_handler_once(void)
{
	struct sigaction sa = {.sa_handler = kick_handler, .sa_flags = SA_RESTART};

	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
}

static void install_kick_handler(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, install_kick_handler_once);
}

void vcpu_kick(struct vcpu *v)
{
	/* A vCPU's own thread checks for work before every entry anyway. */
	if (!v->run || v == current_vcpu)
		return;
	pthread_mutex_lock(&v->lock);
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_cond_signal(&v->wake);
	pthread_mutex_unlock(&v->lock);
	pthread_rwlock_rdlock(&v->own_lock); /* the thread may be moving or replaced */
	if (v->local && v->thread_started)
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
	pthread_rwlock_unlock(&v->own_lock);
}

static int vcpu_set_cpuid(struct vcpu *v, const struct kvm_cpuid2 *supported)
{
	bool multi = v->vm->cfg.nr_nodes > 1;
	struct kvm_cpuid2 *cpuid;
	int err;

	err = multi ? cpuid_for_vcpu_alone(supported, v->id, &cpuid)
		    : cpuid_for_vcpu(supported, v->id, v->vm->nr_vcpus, &cpuid);
	if (err)
		return err;
	if (multi)
		cpuid_for_nodes(cpuid);
	err = ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0 ? -errno : 0;
	free(cpuid);
	return err;
}

/*
 * Guest TSC = host TSC: every node process on one host then gives the guest
 * the same TSC, whichever node a vCPU runs on (KVM would start each VM's
 * TSC near zero). The TSC offset attribute where KVM has it, else a write
 * of the host's TSC to IA32_TSC (off by the few cycles between the two).
 */
int vcpu_sync_tsc(struct vcpu *v)
{
	uint64_t offset = 0;
	struct kvm_device_attr attr = {
		.group = KVM_VCPU_TSC_CTRL,
		.attr = KVM_VCPU_TSC_OFFSET,
		.addr = (uint64_t)(uintptr_t)&offset,
	};
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = {.hdr.nmsrs = 1, .e.index = 0x10 /* IA32_TSC */};
	uint32_t lo, hi;

	if (!ioctl(v->fd, KVM_SET_DEVICE_ATTR, &attr))
		return 0;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	m.e.data = ((uint64_t)hi << 32) | lo;
	return ioctl(v->fd, KVM_SET_MSRS, &m) == 1 ? 0 : -EIO;
}

int vcpu_init(struct vm *vm, struct vcpu *v, unsigned int id)
{
	static struct kvm_cpuid2 *supported;
	pthread_condattr_t attr;
	int err;

	v->vm = vm;
	v->id = id;
	v->fd = -1;
	pthread_condattr_init(&attr);
	/* halt waits for LAPIC timer deadlines, which are CLOCK_MONOTONIC */
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&v->lock, NULL);
	pthread_rwlock_init(&v->own_lock, NULL);
	atomic_store(&v->migrate_to, VCPU_NO_MOVE);
	pthread_cond_init(&v->wake, &attr);
	pthread_condattr_destroy(&attr);
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0)
		return -errno;
	v->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd,
		      0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return -errno;
	}
	if (ioctl(v->fd, KVM_GET_SREGS, &v->reset_sregs) < 0)
		return -errno;
	err = vcpu_sync_tsc(v);
	if (err)
		return err;
	if (!vm->tsc_khz) {
		int khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);

		vm->tsc_khz = khz > 0 ? (uint64_t)khz : 1000000;
	}
	if (!supported) {
		err = cpuid_supported(vm->kvm_fd, &supported);
		if (err)
			return err;
	}
	err = vcpu_set_cpuid(v, supported);
	if (err)
		return err;
	v->local = vm->vcpu_node[id] == vm->node_id;
	lapic_init(&v->lapic, (uint8_t)id, id == 0, vm->tsc_khz, vm->dilation,
		   &vcpu_lapic_ops, v);
	v->mode = id == 0 ? VCPU_RUNNING : VCPU_WAIT_SIPI;
	return 0;
}

void vcpu_destroy(struct vcpu *v)
{
	if (!v->vm)
		return;
	if (v->timer_created)
		timer_delete(v->timer);
	lapic_destroy(&v->lapic);
	if (v->run)
		munmap(v->run, (size_t)v->vm->run_size);
	if (v->fd >= 0)
		close(v->fd);
	mig_rx_reset(&v->rx);
	pthread_cond_destroy(&v->wake);
	pthread_rwlock_destroy(&v->own_lock);
	pthread_mutex_destroy(&v->lock);
}

int vcpu_set_boot_state(struct vcpu *v, const struct kvm_regs *regs,
			const struct kvm_sregs *sregs)
{
	if (ioctl(v->fd, KVM_SET_SREGS, sregs) < 0)
		return -errno;
	if (ioctl(v->fd, KVM_SET_REGS, regs) < 0)
		return -errno;
	return 0;
}

/* A per-vCPU POSIX timer signals this thread when the LAPIC timer is due. */
static int vcpu_timer_create(struct vcpu *v)
{
	struct sigevent sev = {
		.sigev_notify = SIGEV_THREAD_ID,
		.sigev_signo = VCPU_KICK_SIGNAL,
	};

	sev._sigev_un._tid = v->tid;
	if (timer_create(CLOCK_MONOTONIC, &sev, &v->timer) < 0)
		return -errno;
	v->timer_created = true;
	return 0;
}

/* SIPI: real mode at vector << 12, everything else as after power-on. */
static int vcpu_sipi(struct vcpu *v, uint8_t vector)
{
	struct kvm_sregs s = v->reset_sregs;
	struct kvm_regs r = {.rflags = 2, .rip = 0};

	s.cs.selector = (uint16_t)(vector << 8);
	s.cs.base = (uint64_t)vector << 12;
	return vcpu_set_boot_state(v, &r, &s);
}

static bool vcpu_should_stop(struct vcpu *v)
{
	return atomic_load(&v->vm->stopping);
}

/* Park until a SIPI (after INIT, or an AP before start-up). */
static int vcpu_wait_sipi(struct vcpu *v)
{
	int vector = -1;

	pthread_mutex_lock(&v->lock);
	while (!vcpu_should_stop(v) && !vcpu_move_asked(v)) {
		lapic_take_init(&v->lapic); /* INIT, INIT, SIPI is the usual dance */
		vector = lapic_take_sipi(&v->lapic);
		if (vector >= 0)
			break;
		pthread_cond_wait(&v->wake, &v->lock);
	}
	pthread_mutex_unlock(&v->lock);
	if (vector < 0)
		return 0;
	v->mode = VCPU_RUNNING;
	return vcpu_sipi(v, (uint8_t)vector);
}

static void abs_timespec(uint64_t ns, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ns / 1000000000ULL);
	ts->tv_nsec = (long)(ns % 1000000000ULL);
}

/* HLT: sleep until an interrupt the guest can take (IF), an NMI or INIT.
 * A move asked for ends the sleep with the vCPU still halted. */
static void vcpu_halt(struct vcpu *v)
{
	bool if_flag = v->run->if_flag;

	pthread_mutex_lock(&v->lock);
	while (!vcpu_should_stop(v) && !vcpu_move_asked(v)) {
		uint64_t deadline = lapic_timer_deadline(&v->lapic);
		struct timespec ts;

		lapic_timer_poll(&v->lapic, vm_now_ns());
		if (if_flag ? lapic_has_wakeup(&v->lapic)
			    : (v->lapic.s.nmi_pending || v->lapic.s.init_pending))
			break;
		if (deadline) {
			abs_timespec(deadline, &ts);
			pthread_cond_timedwait(&v->wake, &v->lock, &ts);
		} else {
			pthread_cond_wait(&v->wake, &v->lock);
		}
	}
	pthread_mutex_unlock(&v->lock);
	if (!vcpu_move_asked(v)) /* else it moves as it is: halted */
		v->mode = VCPU_RUNNING;
}

/* Before each entry: INIT, timer expiry, interrupts to inject. */
static int vcpu_prepare_entry(struct vcpu *v)
{
	if (lapic_take_init(&v->lapic)) { /* the LAPIC reset itself on accepting it */
		v->mode = VCPU_WAIT_SIPI;
		return 0;
	}
	lapic_timer_poll(&v->lapic, vm_now_ns());
	return irq_inject_pending(v);
}

static int vcpu_run_once(struct vcpu *v)
{
	int err;

	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	err = vcpu_prepare_entry(v);
	if (err || v->mode != VCPU_RUNNING || vcpu_should_stop(v) || vcpu_move_asked(v))
		return err;
	if (v->arrived)
		migrate_arrived(v);
	if (ioctl(v->fd, KVM_RUN, 0) < 0) {
		if (errno == EINTR || errno == EAGAIN) {
			v->stats.intr++;
			v->async_stop = true;
			return 0;
		}
		err = -errno;
		vm_stop(v->vm, "vCPU %u: KVM_RUN failed: %s", v->id, strerror(errno));
		return err;
	}
	v->stats.exits++;
	v->async_stop = v->run->exit_reason == KVM_EXIT_INTR ||
			v->run->exit_reason == KVM_EXIT_IRQ_WINDOW_OPEN;
	return vcpu_handle_exit(v);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	sigset_t set;
	int err = 0;

	current_vcpu = v;
	__atomic_store_n(&v->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	err = vcpu_timer_create(v);
	if (err)
		vm_stop(v->vm, "vCPU %u: timer_create: %s", v->id, strerror(-err));
	else if (v->arrived) /* its LAPIC timer came in the state blob */
		vcpu_lapic_ops.timer_changed(v, lapic_timer_deadline(&v->lapic));
	if (!err && v->arrived && v->mode != VCPU_RUNNING)
		migrate_arrived(v);
	while (!err && !vcpu_should_stop(v)) {
		if (vcpu_move_asked(v)) {
			if (!migrate_out(v))
				break; /* it runs elsewhere now: this thread ends */
			continue;
		}
		if (v->mode == VCPU_WAIT_SIPI)
			err = vcpu_wait_sipi(v);
		else if (v->mode == VCPU_HALTED)
			vcpu_halt(v);
		else
			err = vcpu_run_once(v);
	}
	if (err && !vcpu_should_stop(v))
		vm_stop(v->vm, "vCPU %u stopped: %s", v->id, strerror(-err));
	current_vcpu = NULL;
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	sigset_t set, old;
	int err;

	install_kick_handler();
	/* Threads start with the kick signal blocked until they are ready. */
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	err = -pthread_create(&v->thread, NULL, vcpu_thread, v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!err)
		v->thread_started = true;
	return err;
}
