// SPDX-License-Identifier: MIT
/*
 * examples/hello.c - the smallest testos user program: runs on every CPU in
 * ring 3, meets the others at a barrier, CPU 0 reports. Build it against the
 * SDK (see README.md) and run with `rackvm run --guest testos --initrd hello.elf`.
 */
#include "testos.h"

int main(unsigned int cpu, unsigned int nr_cpus)
{
	t_printf("hello from cpu %u of %u (node %ld)\n", cpu, nr_cpus,
		 t_node_of_cpu(cpu));
	t_barrier();
	if (cpu == 0)
		t_printf("RACKVM-RESULT test=hello status=pass cpus=%u\n", nr_cpus);
	return 0;
}
