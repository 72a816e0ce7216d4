// SPDX-License-Identifier: MIT
/* Builds the Config every node gets once all have joined, and sends Start. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/coord.h"

struct coord_plan {
	Rackvm__VcpuPlacement *vcpu_msgs;
	Rackvm__VcpuPlacement **vcpus;
	Rackvm__MemRange *home_msgs;
	Rackvm__MemRange **homes;
	ProtobufCBinaryData *addrs;
};

static void coord_plan_free(struct coord_plan *p)
{
	free(p->vcpu_msgs);
	free(p->vcpus);
	free(p->home_msgs);
	free(p->homes);
	free(p->addrs);
}

static int coord_plan_fill(const struct coord *c, struct coord_plan *p)
{
	unsigned int nodes = c->o->nodes, vcpus = c->o->vcpus;
	uint32_t node_of_vcpu[CTL_VCPUS_MAX];
	uint64_t base[CTL_MAX_NODES], size[CTL_MAX_NODES];

	if (ctl_plan_vcpus(vcpus, nodes, node_of_vcpu) ||
	    ctl_plan_homes(c->o->mem, nodes, base, size))
		return -EINVAL;
	p->vcpu_msgs = calloc(vcpus, sizeof(*p->vcpu_msgs));
	p->vcpus = calloc(vcpus, sizeof(*p->vcpus));
	p->home_msgs = calloc(nodes, sizeof(*p->home_msgs));
	p->homes = calloc(nodes, sizeof(*p->homes));
	p->addrs = calloc(nodes, sizeof(*p->addrs));
	if (!p->vcpu_msgs || !p->vcpus || !p->home_msgs || !p->homes || !p->addrs)
		return -ENOMEM;
	for (unsigned int i = 0; i < vcpus; i++) {
		rackvm__vcpu_placement__init(&p->vcpu_msgs[i]);
		p->vcpu_msgs[i].vcpu = i;
		p->vcpu_msgs[i].node = node_of_vcpu[i];
		p->vcpus[i] = &p->vcpu_msgs[i];
	}
	for (unsigned int i = 0; i < nodes; i++) {
		rackvm__mem_range__init(&p->home_msgs[i]);
		p->home_msgs[i].node = i;
		p->home_msgs[i].start = base[i];
		p->home_msgs[i].size = size[i];
		p->homes[i] = &p->home_msgs[i];
		p->addrs[i].len = c->nodes[i].addr.len;
		p->addrs[i].data = (uint8_t *)c->nodes[i].addr.bytes;
	}
	return 0;
}

static void coord_vm_spec(const struct coord_opts *o, Rackvm__VmSpec *vm)
{
	vm->guest = (char *)o->guest;
	vm->vcpus = o->vcpus;
	vm->mem = o->mem;
	vm->test = (char *)o->test;
	vm->kernel = (char *)o->kernel;
	vm->initrd = (char *)o->initrd;
	vm->append = (char *)o->append;
	vm->memory = (char *)(o->memory ? o->memory : "dsm");
	vm->has_seconds = true;
	vm->seconds = o->guest_seconds;
	vm->has_timeout = true;
	vm->timeout = o->timeout;
	vm->has_numa_off = true;
	vm->numa_off = o->numa_off;
	vm->has_time_dilation = o->time_dilation > 1;
	vm->time_dilation = o->time_dilation;
}

int coord_send_configs(struct coord *c)
{
	Rackvm__Envelope env = RACKVM__ENVELOPE__INIT;
	Rackvm__Config cfg = RACKVM__CONFIG__INIT;
	Rackvm__VmSpec vm = RACKVM__VM_SPEC__INIT;
	struct coord_plan plan = {0};
	int ret;

	ret = coord_plan_fill(c, &plan);
	if (ret) {
		coord_fail(c, -1, "cannot plan %u vCPUs and %llu MiB over %u nodes: %s",
			   c->o->vcpus, (unsigned long long)(c->o->mem >> 20),
			   c->o->nodes,
			   ret == -ENOMEM ? "out of memory" : "need >= 2 MiB per node");
		goto out_free;
	}
	cfg.node_count = c->o->nodes;
	cfg.n_vcpus = c->o->vcpus;
	cfg.vcpus = plan.vcpus;
	cfg.n_homes = c->o->nodes;
	cfg.homes = plan.homes;
	cfg.n_peer_addrs = c->o->nodes;
	cfg.peer_addrs = plan.addrs;
	cfg.provider = (char *)c->o->provider;
	cfg.heartbeat_ms = c->o->heartbeat_ms;
	cfg.check_rounds = c->o->check_rounds;
	if (c->o->guest) {
		coord_vm_spec(c->o, &vm);
		cfg.vm = &vm;
	}
	env.version = CTL_PROTO_VERSION;
	env.body_case = RACKVM__ENVELOPE__BODY_CONFIG;
	env.config = &cfg;
	for (unsigned int i = 0; i < c->o->nodes && !ret; i++) {
		cfg.node_id = i;
		ret = ctl_send(c->sock, c->nodes[i].rid, c->nodes[i].rid_len, &env);
		if (ret)
			coord_fail(c, -1, "cannot send Config to node %u: %s", i,
				   strerror(-ret));
	}
out_free:
	coord_plan_free(&plan);
	return ret;
}

void coord_send_start(struct coord *c)
{
	Rackvm__Envelope env = RACKVM__ENVELOPE__INIT;
	Rackvm__Start start = RACKVM__START__INIT;
	int ret;

	env.version = CTL_PROTO_VERSION;
	env.body_case = RACKVM__ENVELOPE__BODY_START;
	env.start = &start;
	for (unsigned int i = 0; i < c->o->nodes; i++) {
		ret = ctl_send(c->sock, c->nodes[i].rid, c->nodes[i].rid_len, &env);
		if (ret) {
			coord_fail(c, -1, "cannot send Start to node %u: %s", i,
				   strerror(-ret));
			return;
		}
	}
	printf("rackvm coordinator: all %u nodes ready, mesh connected: started\n",
	       c->o->nodes);
	fflush(stdout);
	c->phase = COORD_RUN;
	c->t_start = ctl_now_ms();
}
