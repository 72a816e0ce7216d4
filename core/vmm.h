/* SPDX-License-Identifier: MIT */
/*
 * core/vmm.h - the VM and vCPU objects (private to core/).
 *
 * Threads: one per vCPU, running KVM_RUN and handling its own exits; the
 * caller of vm_run waits for the end. Anything may kick a vCPU (an IPI, its
 * timer, a stop): vcpu_kick() sets run->immediate_exit and signals the thread
 * so a KVM_RUN in progress returns at once and one about to start does not
 * enter the guest.
 */
#ifndef RACKVM_CORE_VMM_H
#define RACKVM_CORE_VMM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/apic.h"
#include "core/core.h"
#include "core/mem.h"
#include "core/migrate.h"
#include "core/uart.h"

#define VCPU_KICK_SIGNAL SIGUSR1

enum vcpu_mode {
	VCPU_WAIT_SIPI, /* an AP before start-up, or any CPU after INIT */
	VCPU_RUNNING,
	VCPU_HALTED,
};

struct vcpu_stats {
	uint64_t exits, io, mmio, hlt, msr, irq_window, intr, injected, emulated;
	uint64_t hlt_skipped; /* injections that stepped over a HLT (irq.c) */
};

struct vcpu {
	struct vm *vm;
	unsigned int id; /* vCPU index == APIC id */
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	pid_t tid;
	timer_t timer;
	bool timer_created;
	struct lapic lapic;
	struct kvm_sregs reset_sregs; /* power-on state, for INIT/SIPI */
	pthread_mutex_t lock;	      /* guards mode and the halt wait */
	pthread_cond_t wake;
	enum vcpu_mode mode;
	bool local; /* runs on this node; else a mirror of one that runs elsewhere */
	struct vcpu_stats stats;
	/* a forwarded device access in flight (guarded by lock) */
	uint64_t io_seq;
	bool io_done;
	uint64_t io_data;
	/* Ownership: readers deliver to the vCPU (local LAPIC or its owner's
	 * node); the writer moves it (core/migrate.c). Guards local,
	 * vm->vcpu_node[id], epoch and the thread's replacement. */
	pthread_rwlock_t own_lock;
	uint32_t epoch;		     /* moves of this vCPU this node knows of */
	_Atomic uint32_t migrate_to; /* a move asked for, VCPU_NO_MOVE if none */
	struct mig_rx rx;	     /* its state arriving (the receiving thread's) */
	bool arrived;		     /* moved here: report at the first entry */
	/* the last KVM_RUN ended at no instruction of the guest's choosing (a
	 * signal, an interrupt window), or the vCPU just arrived: RIP may be
	 * anywhere, even between `sti` and `hlt` (irq.c step_over_hlt) */
	bool async_stop;
	uint32_t arrived_from;
	uint64_t park_ns;    /* when the old owner parked it */
	uint64_t saved_ns;   /* ... when it had saved its state */
	uint64_t arrive_ns;  /* ... when its blob was all here */
	uint64_t started_ns; /* ... when its thread was started here */
};

#define VM_DEVICE_NODE 0 /* console, power, IOAPIC */

struct vm {
	struct vm_config cfg;
	int kvm_fd;
	int vm_fd;
	int run_size;
	bool pvm; /* the host KVM is PVM: enable its workarounds */
	uint64_t tsc_khz;      /* the TSC's real rate */
	unsigned int dilation; /* cfg.time_dilation, at least 1 */
	struct guest_mem mem;
	struct ioapic ioapic;
	struct uart uart;
	unsigned int nr_vcpus;
	struct vcpu *vcpus;
	uint32_t node_id, nr_nodes;
	uint8_t vcpu_node[VM_MAX_VCPUS];
	uint64_t node_base[VM_MAX_NODES], node_size[VM_MAX_NODES]; /* memfd offsets */

	_Atomic uint64_t mig_out, mig_in, mig_pause_sum, mig_pause_max, irq_forwarded;

	pthread_mutex_t lock; /* guards the fields below, and vCPU thread starts */
	pthread_cond_t stopped;
	atomic_bool stopping;
	unsigned int running; /* vCPU threads not yet finished */
	struct vm_result result;
};

/* vm.c */
void vm_stop(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A stop another node told us about: no echo back. */
void vm_stop_remote(struct vm *vm, const struct vm_result *res);
void vm_power_off(struct vm *vm, int status);
uint64_t vm_now_ns(void);
/* The TSC rate the guest is told: the real one times the dilation. */
uint64_t vm_guest_tsc_khz(const struct vm *vm);

/* vcpu.c */
int vcpu_init(struct vm *vm, struct vcpu *v, unsigned int id);
void vcpu_destroy(struct vcpu *v);
int vcpu_start(struct vcpu *v);
void vcpu_kick(struct vcpu *v);
int vcpu_set_boot_state(struct vcpu *v, const struct kvm_regs *regs,
			const struct kvm_sregs *sregs);
/* Guest TSC = host TSC (at creation, and after a state blob set it). */
int vcpu_sync_tsc(struct vcpu *v);

/* migrate.c */
static inline bool vcpu_move_asked(struct vcpu *v)
{
	return atomic_load(&v->migrate_to) != VCPU_NO_MOVE;
}
/* The vCPU thread at a safe point: send the vCPU to the node asked for.
 * 0: it left (the thread ends); 1: it stays (the move failed, reported). */
int migrate_out(struct vcpu *v);
/* On the new owner, just before the vCPU's first entry here. */
void migrate_arrived(struct vcpu *v);
int migrate_recv_chunk(struct vm *vm, uint32_t src, const struct vmw_migrate_chunk *m,
		       size_t len);
int migrate_recv_owner(struct vm *vm, uint32_t src, const struct vmw_owner *m);

/* exit.c: handle one exit; <0 stops the vCPU (vm_stop already called). */
int vcpu_handle_exit(struct vcpu *v);
/* "RIP 0x... bytes ..": where a vCPU is, for diagnostics. */
void vcpu_describe(struct vcpu *v, char *buf, size_t len);

/* irq.c: the interrupt fabric between LAPICs, the IOAPIC and devices. */
extern const struct lapic_ops vcpu_lapic_ops;
extern const struct ioapic_ops vm_ioapic_ops;
void irq_deliver(struct vm *vm, const struct apic_irq *irq);
/* A message another node routed to the local vCPUs in @targets. */
void irq_deliver_local(struct vm *vm, const struct apic_irq *irq,
		       const uint8_t targets[32], uint8_t hops);
/* Inject what the LAPIC has pending, if the vCPU can take it now. */
int irq_inject_pending(struct vcpu *v);

/* remote.c: messages to the vCPUs and devices of other nodes. */
bool vm_is_multinode(const struct vm *vm);
int remote_send_irq(struct vm *vm, uint32_t node, const struct apic_irq *irq,
		    const uint8_t targets[32], uint8_t hops);
int remote_send(struct vm *vm, uint32_t node, uint16_t type, const void *msg, size_t len);
void remote_send_logical(struct vcpu *v, uint32_t ldr, uint32_t dfr);
void remote_send_eoi(struct vm *vm, uint8_t vector);
/* Forward a device access to VM_DEVICE_NODE and wait for its answer. */
int remote_io(struct vcpu *v, int kind, uint64_t addr, bool write, uint8_t *data,
	      unsigned int size);
void remote_send_stop(struct vm *vm);

/* io.c: port I/O and MMIO dispatch to devices. */
int vm_pio(struct vcpu *v, uint16_t port, bool write, uint8_t *data, unsigned int size);
int vm_mmio(struct vcpu *v, uint64_t gpa, bool write, uint8_t *data, unsigned int size);
/* The devices themselves, on VM_DEVICE_NODE (also for forwarded accesses). */
int vm_device_pio(struct vcpu *v, uint16_t port, bool write, uint8_t *data,
		  unsigned int size);
int vm_device_mmio(struct vcpu *v, uint64_t gpa, bool write, uint8_t *data,
		   unsigned int size);

/* acpi_pm.c: true if @port is one of the ACPI fixed-hardware ports. */
bool acpi_pm_pio(struct vcpu *v, uint16_t port, bool write, uint8_t *data,
		 unsigned int size);

/* host.c: hosts whose quirks a guest must be told of. */
bool host_is_qemu_tcg(void);
const char *host_linux_quirks(const struct vm *vm); /* "" or " opt opt" */

/* linux_boot.c */
int linux_boot_load(struct vm *vm);

/* testos.c */
int testos_load(struct vm *vm);

/* guest_path.c */
int guest_default_path(const char *name, char *out, size_t len);
int file_read_all(const char *path, void **buf, size_t *len);

#endif
