/* SPDX-License-Identifier: MIT */
/*
 * coordinator/node_vm.h - private to node_*.c: the slice of the VM one node
 * runs — its vCPUs, its share of guest RAM, and the data-plane pump that
 * carries the VMM's messages (core/wire.h) between nodes.
 */
#ifndef RACKVM_COORDINATOR_NODE_VM_H
#define RACKVM_COORDINATOR_NODE_VM_H

#include <pthread.h>
#include <stdatomic.h>

#include "coordinator/ctl.h"
#include "core/core.h"
#include "dsm/dsm.h"

#define NODE_VM_DSM_REGION 1 /* the transport region of the DSM's alias view */
#define NODE_VM_EVENTS	   64 /* vCPU moves ended, not yet told to the coordinator */

struct node_vm {
	struct transport *t;
	struct vm_config cfg;
	struct vm *vm;
	uint8_t placement[VM_MAX_VCPUS];
	uint64_t node_mem[VM_MAX_NODES];
	char *guest, *test, *kernel, *initrd, *append, *memory; /* owned copies */
	int shared_fd;	/* --shared-mem-fd: RAM every node on this host maps */
	void *mem_host;
	struct dsm *dsm; /* --memory dsm: RAM kept coherent over the data plane */
	struct dsm_home_range homes[VM_MAX_NODES];
	pthread_t pump;
	bool pump_started;
	atomic_bool pump_stop;
	struct vm_result res;
	char error[512];
	/* Moves that ended (from vCPU threads) for the control loop to report. */
	int ev_fd; /* eventfd: readable while ev holds some */
	pthread_mutex_t ev_lock;
	struct vm_migration ev[NODE_VM_EVENTS];
	unsigned int nr_ev;
	uint64_t ev_lost; /* dropped: the control loop fell behind */
};

/* From the Config (control thread): copy the VM's description. */
int node_vm_prepare(struct node_vm *nv, const Rackvm__Config *c, int shared_fd,
		    char *err, size_t errlen);
/* Worker, before xport_connect: guest RAM (the DSM registers its region). */
int node_vm_memory(struct node_vm *nv, struct transport *t);
/* Worker, after the mesh check: the VM (its RAM untouched until Start), and
 * the DSM thread or the pump takes over polling the data plane. */
int node_vm_create(struct node_vm *nv);
/* Worker, at Start: node 0 loads the guest, and the local vCPUs run until
 * the VM stops anywhere. */
int node_vm_run(struct node_vm *nv);
/* Control thread: the moves that ended since the last call (at most @max). */
unsigned int node_vm_take_events(struct node_vm *nv, struct vm_migration *out,
				 unsigned int max);
/* 0 passed, 1 the guest failed (RACKVM_EXIT_*). */
int node_vm_verdict(const struct node_vm *nv);
void node_vm_destroy(struct node_vm *nv);

#endif
