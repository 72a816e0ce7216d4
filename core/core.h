/* SPDX-License-Identifier: MIT */
/*
 * core/core.h - the per-node VMM: one KVM VM with a user-space LAPIC/IOAPIC,
 * guest memory from a memfd, one thread per vCPU, a console UART, and the
 * loaders for the guests rackvm boots. The public face of core/.
 */
#ifndef RACKVM_CORE_H
#define RACKVM_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define VM_MAX_VCPUS 255 /* xAPIC: 8-bit APIC ids, 0xff is broadcast */
#define VM_MIN_MEM (16ULL << 20)
#define VM_MAX_MEM (1ULL << 40)

enum vm_guest_kind {
	VM_GUEST_TESTOS,
	VM_GUEST_LINUX,
};

/*
 * A VM spread over nodes: this node runs the vCPUs placed on it, the others
 * are mirrors. Messages to other nodes (core/wire.h) leave through @send;
 * what arrives goes to vm_remote_msg(). Devices (console, power, IOAPIC)
 * live on node 0; vCPU 0, the BSP, must be placed there.
 */
/* How a vCPU move ended (vm_migrate_vcpu). */
struct vm_migration {
	uint32_t vcpu, from, to;
	uint32_t epoch; /* the vCPU's moves so far */
	bool ok;
	/* old owner parks it -> its first KVM_RUN here; CLOCK_MONOTONIC stamps of
	 * two processes: meaningful while the nodes share one host */
	uint64_t pause_ns;
	/* its parts: park -> the old owner saved the state blob (settle, save);
	 * -> the blob's last chunk here (send, the wire); -> the thread started
	 * (load, TSC, announce); the rest is the thread's start-up to its first
	 * entry */
	uint64_t save_ns, arrive_ns, load_ns;
	char detail[128]; /* why it failed */
};

struct vm_remote_ops {
	/* Send a VMW_* message to @node; called from any thread. 0 or -errno. */
	int (*send)(void *ctx, uint32_t node, uint16_t type, const void *msg, size_t len);
	/* Optional. A move ended: on the new owner once the vCPU runs there, on
	 * the old one if it could not leave. From a vCPU thread: be quick. */
	void (*migrated)(void *ctx, const struct vm_migration *m);
};

#define VM_MAX_NODES 64
#define VM_MAX_DILATION 1000

struct vm_config {
	unsigned int nr_vcpus;
	uint64_t mem_size;
	enum vm_guest_kind guest;
	const char *kernel; /* testos ELF, or a Linux bzImage / vmlinux */
	const char *initrd; /* testos: a user ELF program; Linux: an initramfs */
	const char *append; /* testos: args; Linux: the kernel command line */
	const char *test;   /* the guest test to run */
	unsigned int seconds;
	unsigned int timeout_s; /* stop the run after this long; 0 = never */
	bool verbose;
	FILE *console; /* where the UART's output goes; stdout if NULL */

	/* Multi-node (all zero: one node owning everything). */
	uint32_t node_id;
	uint32_t nr_nodes;
	const uint8_t *vcpu_node;  /* node of each vCPU, nr_vcpus entries */
	const uint64_t *node_mem;  /* RAM homed on each node, in order; sums to mem_size */
	bool numa_off;		   /* present one flat node to the guest */
	/* Time dilation: the guest's clocks run this many times slower than the
	 * host's (0 or 1: real time; up to VM_MAX_DILATION). The TSC rate the
	 * guest is told is multiplied, its LAPIC and PM timers divided; same
	 * on every node. For hosts far slower than hardware (QEMU TCG): a
	 * guest's timer tick then fits the work it has to do. */
	unsigned int time_dilation;
	void *mem_host;		   /* RAM mapped by someone else (the DSM's guest view) */
	int mem_fd;		   /* ... and its memfd; ignored when mem_host is NULL */
	const struct vm_remote_ops *remote;
	void *remote_ctx;
};

/* How a run ended. */
struct vm_result {
	bool powered_off;     /* the guest powered off (exit port / ACPI) */
	int guest_status;     /* status the guest gave at power-off */
	unsigned int passed;  /* RACKVM-RESULT lines with status=pass */
	unsigned int failed;  /* ... with any other status */
	char error[512];      /* why the VMM stopped the run, if it did */
};

struct vm;

/* Open /dev/kvm, create the VM, its memory and vCPUs. Errors are printed. */
int vm_create(const struct vm_config *cfg, struct vm **out)
	__attribute__((warn_unused_result));
/* Load the guest named in the config into memory and set up the BSP. */
int vm_load(struct vm *vm) __attribute__((warn_unused_result));
/* Run every vCPU until power-off or a fatal exit; fills @res. */
int vm_run(struct vm *vm, struct vm_result *res);
/* Ask a running VM to stop (from a signal handler or another thread). */
void vm_request_stop(struct vm *vm, const char *why);
void vm_destroy(struct vm *vm);

/* A VMW_* message from node @src (core/wire.h). Malformed ones are dropped
 * with a logged reason: -EPROTO. */
int vm_remote_msg(struct vm *vm, uint32_t src, uint16_t type, const void *msg, size_t len);

/* This host is a QEMU TCG emulation (a cluster-sim host): everything is tens
 * of times slower than on hardware, so default time-outs grow. */
bool vm_host_is_emulated(void);
/* Non-NULL when this host's KVM turns guest page-table walks into writes
 * (Intel EPT A/D bits, QEMU TCG's nested paging): what it is and the way out.
 * Over the DSM the guest's page tables then move between nodes. */
const char *vm_host_walks_write(void);
/* What default time-outs are multiplied by here: 1, or 10 under QEMU TCG. */
unsigned int vm_host_slowdown(void);

/* The host thread id of vCPU @id's thread if it runs on this node and has
 * started, else 0 (the DSM names faulting threads by it). Any thread. */
int32_t vm_vcpu_tid(struct vm *vm, unsigned int id);
/* Guest-physical address of byte @off of guest RAM (the DSM's offsets). */
uint64_t vm_gpa_of(const struct vm *vm, uint64_t off);

/*
 * Move local vCPU @vcpu to node @to (docs/migration.md). Its thread parks
 * it at its next safe point and sends its state; @to runs it from then on
 * and reports through vm_remote_ops.migrated. 0: asked; -EINVAL: no such
 * vCPU or node, or @to is this node; -ENOENT: the vCPU does not run here;
 * -EBUSY: a move of it is pending; -ESHUTDOWN: the VM is stopping.
 */
int vm_migrate_vcpu(struct vm *vm, uint32_t vcpu, uint32_t to)
    __attribute__((warn_unused_result));

struct vm_migrate_stats {
	uint64_t out, in;		     /* moves that left / arrived here */
	uint64_t pause_ns_sum, pause_ns_max; /* of the arrivals */
	uint64_t irq_forwarded;		     /* interrupts passed on to a newer owner */
};
void vm_migrate_stats(struct vm *vm, struct vm_migrate_stats *out);

/* The run passed: powered off, status 0, >= 1 result, none failed. */
bool vm_result_passed(const struct vm_result *res);

#endif
