// SPDX-License-Identifier: MIT
/*
 * ACPI fixed hardware the FADT promises (core/acpi.h): PM1a event and control
 * blocks, the PM timer, and the reset register. S5 through PM1a_CNT powers
 * the VM off; a reset request ends the run as a failure (rackvm does not
 * reboot guests: a reboot is almost always a panic with panic=-1).
 */
#include <string.h>

#include "core/acpi.h"
#include "core/vmm.h"

static uint32_t pm_timer_now(const struct vm *vm)
{
	/* 24-bit counter at 3.579545 MHz, from the host's monotonic clock */
	return (uint32_t)((unsigned __int128)vm_now_ns() * ACPI_PM_TMR_HZ /
			  (1000000000ULL * vm->dilation)) &
	       0xffffff;
}

static void pm1_cnt_write(struct vcpu *v, uint32_t val)
{
	uint32_t typ = (val & ACPI_PM1_CNT_SLP_TYP_MASK) >> ACPI_PM1_CNT_SLP_TYP_SHIFT;

	if ((val & ACPI_PM1_CNT_SLP_EN) && typ == ACPI_S5_SLP_TYP)
		vm_power_off(v->vm, 0);
}

bool acpi_pm_pio(struct vcpu *v, uint16_t port, bool write, uint8_t *data,
		 unsigned int size)
{
	uint32_t val = 0;

	if (port == ACPI_RESET_PORT) {
		if (write && data[0] == ACPI_RESET_VALUE)
			vm_stop(v->vm, "vCPU %u: the guest asked for a reset", v->id);
		else if (!write)
			data[0] = 0;
		return true;
	}
	if (port < ACPI_PM1A_EVT_PORT || port >= ACPI_PM_TMR_PORT + ACPI_PM_TMR_LEN)
		return false;
	if (write) {
		memcpy(&val, data, size > 4 ? 4 : size);
		if (port == ACPI_PM1A_CNT_PORT)
			pm1_cnt_write(v, val);
		return true; /* status/enable: no ACPI events are ever raised */
	}
	if (port == ACPI_PM_TMR_PORT)
		val = pm_timer_now(v->vm);
	else if (port == ACPI_PM1A_CNT_PORT)
		val = ACPI_PM1_CNT_SCI_EN; /* always in ACPI mode */
	memcpy(data, &val, size > 4 ? 4 : size);
	return true;
}
