// SPDX-License-Identifier: MIT
/*
 * Placeholder for the vCPU migration entry point that branch `migrate`
 * provides (coordinator side of core/migrate.c); removed when it is merged.
 */
#include <errno.h>

#include "coordinator/coord.h"

int coord_migrate(struct coord *c, uint32_t vcpu, uint32_t to)
{
	(void)c;
	(void)vcpu;
	(void)to;
	return -ENOSYS;
}
