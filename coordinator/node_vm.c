// SPDX-License-Identifier: MIT
/*
 * One node's slice of the VM: guest RAM (a memfd shared by every node on one
 * host, or the DSM's guest view), the VM with this node's vCPUs, and the
 * pump thread that hands the VMM's messages from the data plane to the VM.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "coordinator/cli.h"
#include "coordinator/node_vm.h"
#include "core/wire.h"

static char *dup_opt(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

int node_vm_prepare(struct node_vm *nv, const Rackvm__Config *c, int shared_fd,
		    char *err, size_t errlen)
{
	const Rackvm__VmSpec *s = c->vm;

	memset(nv, 0, sizeof(*nv));
	nv->shared_fd = shared_fd;
	pthread_mutex_init(&nv->ev_lock, NULL);
	nv->ev_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (nv->ev_fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -errno;
	}
	if (c->n_vcpus > VM_MAX_VCPUS || c->node_count > VM_MAX_NODES) {
		snprintf(err, errlen, "%zu vCPUs over %u nodes: at most %u over %u", c->n_vcpus,
			 c->node_count, VM_MAX_VCPUS, VM_MAX_NODES);
		return -EINVAL;
	}
	for (size_t i = 0; i < c->n_vcpus; i++)
		nv->placement[i] = (uint8_t)c->vcpus[i]->node;
	for (size_t i = 0; i < c->n_homes; i++) {
		nv->node_mem[c->homes[i]->node] = c->homes[i]->size;
		nv->homes[i] = (struct dsm_home_range){
			.off = c->homes[i]->start, .len = c->homes[i]->size,
			.node = c->homes[i]->node};
	}
	nv->guest = dup_opt(s->guest);
	nv->test = dup_opt(s->test);
	nv->kernel = dup_opt(s->kernel);
	nv->initrd = dup_opt(s->initrd);
	nv->append = dup_opt(s->append);
	nv->memory = dup_opt(s->memory);
	nv->cfg = (struct vm_config){
		.nr_vcpus = s->vcpus, .mem_size = s->mem,
		.guest = strcmp(nv->guest, "linux") ? VM_GUEST_TESTOS : VM_GUEST_LINUX,
		.kernel = nv->kernel, .initrd = nv->initrd, .append = nv->append,
		.test = nv->test, .seconds = s->seconds, .timeout_s = s->timeout,
		.node_id = c->node_id, .nr_nodes = c->node_count,
		.vcpu_node = nv->placement, .node_mem = nv->node_mem,
		.numa_off = s->numa_off, .mem_fd = -1,
		.time_dilation = s->has_time_dilation ? s->time_dilation : 1,
	};
	return 0;
}

static int node_vm_send(void *ctx, uint32_t node, uint16_t type, const void *msg,
			size_t len)
{
	struct node_vm *nv = ctx;

	return xport_send(nv->t, node, type, msg, len);
}

_Static_assert(VMW_MSG_MAX <= XPORT_MSG_MAX, "a VMM message must fit the transport");

/* From a vCPU thread: queue it for the control loop, which reports it. */
static void node_vm_migrated(void *ctx, const struct vm_migration *m)
{
	struct node_vm *nv = ctx;
	uint64_t one = 1;

	pthread_mutex_lock(&nv->ev_lock);
	if (nv->nr_ev < NODE_VM_EVENTS)
		nv->ev[nv->nr_ev++] = *m;
	else
		nv->ev_lost++;
	pthread_mutex_unlock(&nv->ev_lock);
	if (write(nv->ev_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		fprintf(stderr, "rackvm node: cannot wake the control loop: %s\n",
			strerror(errno));
}

unsigned int node_vm_take_events(struct node_vm *nv, struct vm_migration *out,
				 unsigned int max)
{
	unsigned int n;
	uint64_t count;

	if (read(nv->ev_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return 0;
	pthread_mutex_lock(&nv->ev_lock);
	n = nv->nr_ev < max ? nv->nr_ev : max;
	memcpy(out, nv->ev, n * sizeof(*out));
	memmove(nv->ev, nv->ev + n, (nv->nr_ev - n) * sizeof(*out));
	nv->nr_ev -= n;
	pthread_mutex_unlock(&nv->ev_lock);
	return n;
}

static const struct vm_remote_ops node_vm_remote = {.send = node_vm_send,
						    .migrated = node_vm_migrated};

static void pump_events(struct node_vm *nv, const struct xport_event *ev, int n)
{
	for (int i = 0; i < n; i++) {
		if (ev[i].kind == XPORT_EV_ERROR) {
			vm_request_stop(nv->vm, "the data plane lost a peer");
			continue;
		}
		if (ev[i].kind != XPORT_EV_RECV)
			continue;
		if (ev[i].type >= VMW_TYPE_FIRST && ev[i].type <= VMW_TYPE_LAST)
			vm_remote_msg(nv->vm, ev[i].src, ev[i].type, ev[i].data, ev[i].len);
		else
			fprintf(stderr, "rackvm node: dropped data-plane message type 0x%x "
					"from node %u\n", ev[i].type, ev[i].src);
	}
}

/* The data plane's only poller while the VM exists. */
static void *pump_main(void *arg)
{
	struct node_vm *nv = arg;
	struct xport_event ev[32];
	struct pollfd pfd = {.fd = xport_wait_fd(nv->t), .events = POLLIN};
	int n;

	while (!atomic_load(&nv->pump_stop)) {
		n = xport_poll(nv->t, ev, 32);
		if (n > 0) {
			pump_events(nv, ev, n);
			continue;
		}
		if (n < 0) {
			vm_request_stop(nv->vm, "the data plane failed");
			break;
		}
		poll(&pfd, 1, 20);
	}
	return NULL;
}

static int node_vm_shared(struct node_vm *nv)
{
	if (nv->shared_fd < 0) {
		snprintf(nv->error, sizeof(nv->error),
			 "--memory shared needs the memfd `rackvm run --nodes` passes "
			 "(--shared-mem-fd): every node must be on one host");
		return -EINVAL;
	}
	nv->mem_host = mmap(NULL, nv->cfg.mem_size, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_NORESERVE, nv->shared_fd, 0);
	if (nv->mem_host == MAP_FAILED) {
		nv->mem_host = NULL;
		snprintf(nv->error, sizeof(nv->error), "cannot map the shared memfd: %s",
			 strerror(errno));
		return -errno;
	}
	nv->cfg.mem_host = nv->mem_host;
	nv->cfg.mem_fd = nv->shared_fd;
	return 0;
}

/* The DSM thread hands us every transport event that is not its own. */
static void node_vm_on_msg(void *arg, const struct xport_event *ev)
{
	struct node_vm *nv = arg;

	if (nv->vm)
		pump_events(nv, ev, 1);
}

/* The DSM's hold window (dsm_config.hold_us): RACKVM_DSM_HOLD_US, else 2 ms
 * in a QEMU TCG host, where a vCPU takes milliseconds to use a page it
 * faulted in (without it 4 nodes' APs thrash their start-up page there),
 * else none. rackvm sim sets it for its hosts too. */
static uint32_t node_vm_hold_us(void)
{
	const char *env = getenv("RACKVM_DSM_HOLD_US");

	if (env && *env)
		return (uint32_t)strtoul(env, NULL, 10);
	return vm_host_is_emulated() ? 2000 : 0;
}

#define NODE_VM_HOT_PAGES 8

/* One line of DSM counters at the end of the run. */
static void node_vm_dsm_report(const struct node_vm *nv)
{
	struct dsm_stats st;
	uint64_t n;

	dsm_stats(nv->dsm, &st);
	n = st.faults.read + st.faults.write + st.faults.upgrade;
	fprintf(stderr,
		"rackvm node %u: dsm: faults read %llu write %llu upgrade %llu (remote "
		"%llu, zero %llu), wait avg %llu us max %llu us, inv %llu downgrade %llu "
		"held %llu served here, msgs %llu/%llu\n",
		nv->cfg.node_id, (unsigned long long)st.faults.read,
		(unsigned long long)st.faults.write,
		(unsigned long long)st.faults.upgrade,
		(unsigned long long)st.faults.remote, (unsigned long long)st.faults.zero,
		(unsigned long long)(n ? st.faults.wait_ns / n / 1000 : 0),
		(unsigned long long)(st.faults.wait_max_ns / 1000),
		(unsigned long long)st.inv_served, (unsigned long long)st.down_served,
		(unsigned long long)st.held, (unsigned long long)st.msgs_sent,
		(unsigned long long)st.msgs_recv);
}

/* The pages that moved most (where a slow multi-node run spends its time). */
static void node_vm_hot_report(const struct node_vm *nv)
{
	struct dsm_hot_page hot[NODE_VM_HOT_PAGES];
	int n = dsm_hot_pages(nv->dsm, hot, NODE_VM_HOT_PAGES);
	char line[512];
	size_t len = 0;

	for (int i = 0; i < n && len < sizeof(line); i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, " %#llx:%u/%u",
					(unsigned long long)vm_gpa_of(nv->vm, hot[i].off),
					hot[i].faults, hot[i].lost);
	if (n > 0)
		fprintf(stderr, "rackvm node %u: dsm: hot pages (gpa:faults/lost)%s\n",
			nv->cfg.node_id, line);
}

static int node_vm_dsm(struct node_vm *nv)
{
	struct dsm_config dc = {
		.node_id = nv->cfg.node_id, .nr_nodes = nv->cfg.nr_nodes,
		.region_size = nv->cfg.mem_size, .homes = nv->homes,
		.nr_homes = nv->cfg.nr_nodes, .xport = nv->t,
		.xport_region = NODE_VM_DSM_REGION, .on_msg = node_vm_on_msg,
		.on_msg_arg = nv, .hold_us = node_vm_hold_us(),
	};
	uint64_t size;
	int err = dsm_create(&dc, &nv->dsm);

	if (err) {
		snprintf(nv->error, sizeof(nv->error), "cannot create the DSM: %s",
			 strerror(-err));
		return err;
	}
	if (nv->cfg.nr_nodes > 1 && vm_host_walks_write())
		fprintf(stderr,
			"rackvm node %u: note: guest page-table walks write guest memory "
			"here (%s); the guest's page tables will move between nodes on "
			"TLB misses (docs/dsm.md)\n",
			nv->cfg.node_id, vm_host_walks_write());
	nv->mem_host = dsm_guest_view(nv->dsm, &size);
	nv->cfg.mem_host = nv->mem_host;
	nv->cfg.mem_fd = dsm_memfd(nv->dsm);
	return 0;
}

int node_vm_memory(struct node_vm *nv, struct transport *t)
{
	const char *kind = nv->memory ? nv->memory : "dsm";

	nv->t = t;
	if (!strcmp(kind, "shared"))
		return node_vm_shared(nv);
	if (!strcmp(kind, "dsm"))
		return node_vm_dsm(nv);
	snprintf(nv->error, sizeof(nv->error), "unknown guest memory '%s'", kind);
	return -EINVAL;
}

/* The data plane's poller from now on: the DSM thread, or the pump. */
static int node_vm_take_data_plane(struct node_vm *nv)
{
	int err;

	if (nv->dsm) {
		err = dsm_start(nv->dsm);
		if (err)
			snprintf(nv->error, sizeof(nv->error), "cannot start the DSM: %s",
				 strerror(-err));
		return err;
	}
	err = -pthread_create(&nv->pump, NULL, pump_main, nv);
	nv->pump_started = !err;
	return err;
}

int node_vm_create(struct node_vm *nv)
{
	int err;

	nv->cfg.remote = &node_vm_remote;
	nv->cfg.remote_ctx = nv;
	err = vm_create(&nv->cfg, &nv->vm);
	if (err) {
		snprintf(nv->error, sizeof(nv->error), "cannot create the VM: %s",
			 strerror(-err));
		return err;
	}
	/* Poll from now on: peers still checking the mesh read from us, and no
	 * VM or DSM message can come before Start (after every node's Ready). */
	return node_vm_take_data_plane(nv);
}

int node_vm_run(struct node_vm *nv)
{
	int err;

	if (nv->cfg.node_id == 0 && vm_load(nv->vm)) {
		snprintf(nv->error, sizeof(nv->error), "cannot load the guest");
		vm_request_stop(nv->vm, "node 0 cannot load the guest");
	}
	err = vm_run(nv->vm, &nv->res);
	if (nv->dsm) {
		node_vm_dsm_report(nv);
		node_vm_hot_report(nv);
	}
	if (nv->res.error[0] && !nv->error[0])
		snprintf(nv->error, sizeof(nv->error), "%s", nv->res.error);
	if (nv->res.error[0]) /* why the guest FAILED, where the vCPUs are dumped */
		fprintf(stderr, "rackvm node %u: the VM stopped: %s\n", nv->cfg.node_id,
			nv->res.error);
	return err;
}

int node_vm_verdict(const struct node_vm *nv)
{
	return vm_result_passed(&nv->res) ? RACKVM_EXIT_OK : RACKVM_EXIT_GUEST_FAIL;
}

void node_vm_destroy(struct node_vm *nv)
{
	if (nv->pump_started) {
		atomic_store(&nv->pump_stop, true);
		pthread_join(nv->pump, NULL);
	}
	if (nv->dsm)
		dsm_stop(nv->dsm);
	vm_destroy(nv->vm);
	nv->vm = NULL;
	if (nv->dsm)
		dsm_destroy(nv->dsm); /* it owns the guest view */
	else if (nv->mem_host)
		munmap(nv->mem_host, nv->cfg.mem_size);
	free(nv->guest);
	free(nv->test);
	free(nv->kernel);
	free(nv->initrd);
	free(nv->append);
	free(nv->memory);
	if (nv->ev_fd > 0)
		close(nv->ev_fd);
	pthread_mutex_destroy(&nv->ev_lock);
	memset(nv, 0, sizeof(*nv));
}
