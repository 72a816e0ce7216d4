// SPDX-License-Identifier: MIT
/*
 * Port I/O and MMIO dispatch. Ports and addresses with no device behave like
 * an empty ISA/PCI bus: reads return all ones, writes are dropped (counted,
 * and logged with --verbose) — what firmware-less guests expect when probing.
 */
#include <sched.h>
#include <string.h>

#include "core/acpi.h"
#include "core/vmm.h"
#include "core/wire.h"
#include "guest-images/testos/abi.h"

static uint64_t load_le(const uint8_t *d, unsigned int size)
{
	uint64_t v = 0;

	memcpy(&v, d, size > 8 ? 8 : size);
	return v;
}

static void store_le(uint8_t *d, unsigned int size, uint64_t v)
{
	memcpy(d, &v, size > 8 ? 8 : size);
}

static void unassigned(struct vcpu *v, const char *space, uint64_t addr, bool write,
		       uint8_t *data, unsigned int size)
{
	if (!write)
		memset(data, 0xff, size);
	if (v->vm->cfg.verbose)
		fprintf(stderr, "rackvm: vCPU %u: %s %s 0x%llx size %u: no device\n", v->id,
			write ? "write" : "read", space, (unsigned long long)addr, size);
}

static void platform_port(struct vcpu *v, uint16_t port, bool write, uint8_t *data,
			  unsigned int size)
{
	switch (port) {
	case RACKVM_PORT_EXIT:
		if (write)
			vm_power_off(v->vm, (int)(uint32_t)load_le(data, size));
		else
			memset(data, 0, size);
		break;
	case RACKVM_PORT_YIELD:
		if (write)
			sched_yield();
		else
			memset(data, 0, size);
		break;
	default: /* RACKVM_PORT_NOP: an exit that does nothing */
		if (!write)
			memset(data, 0, size);
		break;
	}
}

static bool is_device_port(uint16_t port)
{
	return (port >= RACKVM_PORT_COM1 && port < RACKVM_PORT_COM1 + 8) ||
	       port == RACKVM_PORT_EXIT || (port >= ACPI_PM1A_EVT_PORT &&
					    port < ACPI_PM_TMR_PORT + ACPI_PM_TMR_LEN) ||
	       port == ACPI_RESET_PORT;
}

int vm_pio(struct vcpu *v, uint16_t port, bool write, uint8_t *data, unsigned int size)
{
	if (v->vm->node_id != VM_DEVICE_NODE && is_device_port(port))
		return remote_io(v, VMW_IO_PIO, port, write, data, size);
	return vm_device_pio(v, port, write, data, size);
}

int vm_device_pio(struct vcpu *v, uint16_t port, bool write, uint8_t *data,
		  unsigned int size)
{
	struct vm *vm = v->vm;

	if (port >= RACKVM_PORT_COM1 && port < RACKVM_PORT_COM1 + 8) {
		unsigned int off = port - RACKVM_PORT_COM1;

		if (write)
			uart_write(&vm->uart, off, data[0]);
		else
			data[0] = uart_read(&vm->uart, off);
		return 0;
	}
	if (port >= RACKVM_PORT_EXIT && port <= RACKVM_PORT_NOP) {
		platform_port(v, port, write, data, size);
		return 0;
	}
	if (acpi_pm_pio(v, port, write, data, size))
		return 0;
	unassigned(v, "port", port, write, data, size);
	return 0;
}

/* LAPIC and IOAPIC registers are 32 bits wide at 16-byte strides. */
static int apic_mmio(struct vcpu *v, uint64_t gpa, bool write, uint8_t *data,
		     unsigned int size)
{
	bool lapic = gpa >= LAPIC_BASE && gpa < LAPIC_BASE + LAPIC_SIZE;
	uint32_t off = (uint32_t)(gpa - (lapic ? LAPIC_BASE : IOAPIC_BASE));
	uint32_t shift = (off & 3) * 8, val;

	if (size > 4 || (off & 3) + size > 4) {
		unassigned(v, "unaligned APIC", gpa, write, data, size);
		return 0;
	}
	off &= ~3u;
	if (write) {
		val = (uint32_t)(load_le(data, size) << shift);
		if (lapic)
			lapic_mmio_write(&v->lapic, off, val);
		else
			ioapic_mmio_write(&v->vm->ioapic, off, val);
		return 0;
	}
	val = lapic ? lapic_mmio_read(&v->lapic, off) : ioapic_mmio_read(&v->vm->ioapic, off);
	store_le(data, size, val >> shift);
	return 0;
}

int vm_mmio(struct vcpu *v, uint64_t gpa, bool write, uint8_t *data, unsigned int size)
{
	if (gpa >= LAPIC_BASE && gpa < LAPIC_BASE + LAPIC_SIZE)
		return apic_mmio(v, gpa, write, data, size); /* every vCPU has its own */
	if (v->vm->node_id != VM_DEVICE_NODE && gpa >= IOAPIC_BASE &&
	    gpa < IOAPIC_BASE + IOAPIC_SIZE)
		return remote_io(v, VMW_IO_MMIO, gpa, write, data, size);
	return vm_device_mmio(v, gpa, write, data, size);
}

int vm_device_mmio(struct vcpu *v, uint64_t gpa, bool write, uint8_t *data,
		   unsigned int size)
{
	if (gpa >= IOAPIC_BASE && gpa < IOAPIC_BASE + IOAPIC_SIZE)
		return apic_mmio(v, gpa, write, data, size);
	unassigned(v, "MMIO", gpa, write, data, size);
	return 0;
}
