// SPDX-License-Identifier: MIT
/*
 * core/apic_icr.c - the xAPIC interrupt command register as a message.
 */
#include "core/apic.h"

void apic_icr_decode(uint32_t icr_lo, uint32_t icr_hi, uint8_t src_id,
		     struct apic_irq *out)
{
	/* Bits as in SDM vol. 3 fig. "Interrupt Command Register (ICR)"; the
	 * trigger bit only matters for INIT level de-assert, but it is passed
	 * on so the platform can tell that message apart. */
	*out = (struct apic_irq){
	    .vector = (uint8_t)(icr_lo & 0xFF),
	    .delivery = (uint8_t)((icr_lo >> 8) & 7),
	    .dest_mode = (uint8_t)((icr_lo >> 11) & 1),
	    .level = (uint8_t)((icr_lo >> 14) & 1),
	    .trigger = (uint8_t)((icr_lo >> 15) & 1),
	    .shorthand = (uint8_t)((icr_lo >> 18) & 3),
	    .dest = (uint8_t)(icr_hi >> 24),
	    .src_id = src_id,
	};
}
