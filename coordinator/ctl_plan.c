// SPDX-License-Identifier: MIT
/*
 * The first placement plan: vCPUs in contiguous blocks (so that the guest's
 * neighbouring CPUs share a host) and memory split into one home range per
 * node, which the guest later sees as one NUMA node per host (SRAT).
 */
#include <errno.h>

#include "coordinator/ctl.h"

/* Homes are 2 MiB aligned so that a node can back its range with huge pages. */
#define HOME_ALIGN (2ULL << 20)

int ctl_plan_vcpus(unsigned int vcpus, unsigned int nodes, uint32_t *node_of_vcpu)
{
	if (!vcpus || vcpus > CTL_VCPUS_MAX || !nodes || nodes > CTL_MAX_NODES)
		return -EINVAL;
	for (unsigned int i = 0; i < vcpus; i++)
		node_of_vcpu[i] = (uint32_t)((uint64_t)i * nodes / vcpus);
	return 0;
}

int ctl_plan_homes(uint64_t mem, unsigned int nodes, uint64_t *base, uint64_t *size)
{
	uint64_t per;

	if (!nodes || nodes > CTL_MAX_NODES || mem % 4096 || mem / nodes < HOME_ALIGN)
		return -EINVAL;
	per = mem / nodes / HOME_ALIGN * HOME_ALIGN;
	for (unsigned int i = 0; i < nodes; i++) {
		base[i] = per * i;
		/* the last node takes the remainder so that the ranges cover mem */
		size[i] = i + 1 < nodes ? per : mem - base[i];
	}
	return 0;
}
