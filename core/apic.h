/* SPDX-License-Identifier: MIT */
/*
 * core/apic.h - user-space xAPIC and IOAPIC models (private to core/).
 *
 * The models know nothing of KVM or threads beyond their own lock: the
 * platform (core/irq.c) routes interrupt messages between them, injects what
 * they say is pending and arms host timers when they ask. Every entry point
 * takes the model's lock itself; callbacks in the ops tables are invoked with
 * no model lock held, so a callback may call into any model.
 */
#ifndef RACKVM_CORE_APIC_H
#define RACKVM_CORE_APIC_H

#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>

#define LAPIC_BASE 0xFEE00000ULL
#define LAPIC_SIZE 0x1000ULL
#define IOAPIC_BASE 0xFEC00000ULL
#define IOAPIC_SIZE 0x1000ULL
#define IOAPIC_PINS 24
#define LAPIC_VERSION 0x14 /* integrated APIC */
#define LAPIC_MAX_LVT 6	   /* entries 0..5: CMCI excluded, LVT count = 6 */
/*
 * The timer's input clock (the "bus" clock before the divider): one count is
 * divisor ns. The platform must tell the guest (CPUID 0x15/0x16 or the
 * hypervisor timing leaf) or let it calibrate against another clock.
 */
#define LAPIC_TIMER_HZ 1000000000ULL
/* A periodic timer's host deadlines are never closer than this, so a guest
 * cannot make the host spin with a 1-count period. */
#define LAPIC_TIMER_MIN_PERIOD_NS 100000ULL

enum apic_delivery {
	APIC_DM_FIXED = 0,
	APIC_DM_LOWEST = 1,
	APIC_DM_SMI = 2,
	APIC_DM_NMI = 4,
	APIC_DM_INIT = 5,
	APIC_DM_SIPI = 6,
	APIC_DM_EXTINT = 7,
};

enum apic_shorthand {
	APIC_SH_NONE = 0,
	APIC_SH_SELF = 1,
	APIC_SH_ALL = 2,
	APIC_SH_OTHERS = 3,
};

/* One interrupt message, from an ICR write, an IOAPIC pin or (later) MSI. */
struct apic_irq {
	uint8_t vector;
	uint8_t delivery;  /* enum apic_delivery */
	uint8_t dest_mode; /* 0 physical, 1 logical */
	uint8_t shorthand; /* enum apic_shorthand */
	uint8_t level;	   /* 1 assert, 0 de-assert (INIT level de-assert) */
	uint8_t trigger;   /* 0 edge, 1 level */
	uint8_t dest;	   /* xAPIC destination field (ICR high bits 31:24) */
	uint8_t src_id;	   /* sender's APIC id: resolves SELF and OTHERS */
};

/* Decode an ICR (low, high) pair written by the guest into a message. */
void apic_icr_decode(uint32_t icr_lo, uint32_t icr_hi, uint8_t src_id,
		     struct apic_irq *out);

/* ---- local APIC ---- */

struct lapic_ops {
	/* An ICR write: route @irq to every LAPIC it names (maybe this one). */
	void (*send_ipi)(void *ctx, const struct apic_irq *irq);
	/* The timer's host deadline changed; 0 means disarmed. Two threads
	 * racing on one LAPIC may deliver these out of order: when it matters,
	 * re-read lapic_timer_deadline(), which is always current. */
	void (*timer_changed)(void *ctx, uint64_t deadline_ns);
	/* EOI of a vector whose TMR bit was set (level-triggered). */
	void (*eoi_level)(void *ctx, uint8_t vector);
	/* Host CLOCK_MONOTONIC now, in ns (tests pass a fake clock). */
	uint64_t (*now_ns)(void *ctx);
	/* LDR or DFR changed (also on INIT): peers mirror it to route logical
	 * destinations to this CPU. Optional. */
	void (*logical_changed)(void *ctx, uint32_t ldr, uint32_t dfr);
};

/*
 * Architectural register state; fixed width so it serialises as is into the
 * vCPU state blob (version LAPIC_STATE_VERSION). Times are relative so the
 * blob moves between hosts: timer_remaining_ns is the time left on a running
 * one-shot/periodic timer at save.
 */
#define LAPIC_STATE_VERSION 1
struct lapic_state {
	uint32_t id; /* APIC ID register value: id << 24 */
	uint32_t tpr;
	uint32_t ldr;
	uint32_t dfr;
	uint32_t svr;
	uint32_t esr;	      /* visible ESR (latched by the last ESR write) */
	uint32_t esr_pending; /* errors since the last ESR write */
	uint32_t icr_lo, icr_hi;
	uint32_t lvt[LAPIC_MAX_LVT]; /* timer, thermal, perf, lint0, lint1, error */
	uint32_t timer_icr;	     /* initial count */
	uint32_t timer_dcr;	     /* divide configuration */
	uint32_t isr[8], irr[8], tmr[8];
	uint64_t tsc_deadline; /* guest TSC, 0 = disarmed */
	uint64_t timer_remaining_ns;
	uint8_t nmi_pending;
	uint8_t init_pending;
	uint8_t sipi_pending; /* a SIPI arrived while waiting for one */
	uint8_t sipi_vector;
	uint8_t wait_for_sipi; /* after INIT: only SIPI starts the CPU */
	uint8_t pad[3];
};
_Static_assert(sizeof(struct lapic_state) == 192, "lapic_state is part of the wire");

#define LAPIC_TRACE 24

/* LVT indices into lapic_state.lvt */
enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR };

struct lapic {
	pthread_mutex_t lock;
	const struct lapic_ops *ops;
	void *ctx;
	struct lapic_state s;
	uint64_t timer_start_ns;    /* when the current count started */
	uint64_t timer_deadline_ns; /* host time of the next expiry, 0 if none */
	uint64_t tsc_khz;	    /* the TSC's real rate, for TSC-deadline mode */
	uint32_t dilation;	    /* bus clock: host ns per timer tick (core.h) */
	/* for diagnostics (lapic_describe): fixed interrupts set in IRR (a set
	 * bit set again counts), vectors moved to ISR, EOIs */
	uint64_t n_irr, n_isr, n_eoi, n_sent;
	/* the last LAPIC_TRACE events, under @lock: R set in IRR (arg 1: it
	 * was set already), A moved to ISR, E EOI, T timer deadline (arg 1:
	 * armed, 0: stopped) */
	struct lapic_event {
		uint64_t ns;
		char kind;
		uint8_t vector, arg;
	} trace[LAPIC_TRACE];
	unsigned int trace_next;
};

/* @bsp: an AP starts in wait-for-SIPI, the BSP runs. @tsc_khz 0: 1 GHz.
 * @dilation (0 = 1): the timer's bus clock runs that many times slower. */
void lapic_init(struct lapic *l, uint8_t apic_id, bool bsp, uint64_t tsc_khz,
		unsigned int dilation, const struct lapic_ops *ops, void *ctx);
void lapic_destroy(struct lapic *l);
/* INIT: registers to their power-up values, keeping the APIC ID. */
void lapic_reset(struct lapic *l);

/* Guest MMIO at LAPIC_BASE + @offset (32-bit aligned accesses). */
uint32_t lapic_mmio_read(struct lapic *l, uint32_t offset);
void lapic_mmio_write(struct lapic *l, uint32_t offset, uint32_t value);

/* A mirror of a LAPIC that runs on another node: its logical destination
 * registers, so messages can be routed to it from here. */
void lapic_set_logical(struct lapic *l, uint32_t ldr, uint32_t dfr);
/* Does @irq name this LAPIC (physical, logical flat/cluster, shorthand)? */
bool lapic_match_dest(struct lapic *l, const struct apic_irq *irq);
/* Accept a message already routed here. True: the vCPU must be kicked. */
bool lapic_accept(struct lapic *l, const struct apic_irq *irq);
/* Arbitration priority for lowest-priority delivery (lower wins). */
uint8_t lapic_arb_priority(struct lapic *l);

/* Highest IRR vector deliverable past PPR, or -1 (none or APIC disabled). */
int lapic_pending_vector(struct lapic *l);
/* The vector was injected: IRR -> ISR. */
void lapic_ack(struct lapic *l, uint8_t vector);
bool lapic_take_nmi(struct lapic *l);
bool lapic_take_init(struct lapic *l);
/* A SIPI vector (0..255) if one is pending for a CPU waiting for SIPI, else -1. */
int lapic_take_sipi(struct lapic *l);
/* Any event that should wake a halted vCPU (interrupt, NMI, INIT, SIPI). */
bool lapic_has_wakeup(struct lapic *l);
/* One line for a diagnostic: TPR, timer (LVT, count, time to its expiry at
 * @now), the highest IRR and ISR vectors. */
void lapic_describe(struct lapic *l, uint64_t now, char *buf, size_t len);
/* The event trace (struct lapic), oldest first, one line to @f. */
void lapic_print_trace(struct lapic *l, uint64_t now, FILE *f, unsigned int vcpu);

/* Fire the timer if its deadline has passed at @now_ns (re-arms periodic). */
void lapic_timer_poll(struct lapic *l, uint64_t now_ns);
uint64_t lapic_timer_deadline(struct lapic *l);
/* IA32_TSC_DEADLINE MSR; @guest_tsc is the guest's TSC at the access. */
void lapic_tsc_deadline_write(struct lapic *l, uint64_t value, uint64_t guest_tsc);
uint64_t lapic_tsc_deadline_read(struct lapic *l);

/* State for the vCPU blob; load re-arms timers relative to now. Save first
 * posts an expiry already due; load keeps this LAPIC's APIC ID and masks
 * every field to what the guest could have written. */
void lapic_state_save(struct lapic *l, struct lapic_state *out);
void lapic_state_load(struct lapic *l, const struct lapic_state *in);

/* ---- IOAPIC ---- */

struct ioapic_ops {
	void (*deliver)(void *ctx, const struct apic_irq *irq);
};

struct ioapic {
	pthread_mutex_t lock;
	const struct ioapic_ops *ops;
	void *ctx;
	uint32_t id;
	uint32_t ioregsel;
	uint64_t redir[IOAPIC_PINS];
	uint32_t pin_level; /* bitmap of asserted input lines */
};

void ioapic_init(struct ioapic *io, const struct ioapic_ops *ops, void *ctx);
void ioapic_destroy(struct ioapic *io);
/* Guest MMIO at IOAPIC_BASE + @offset: IOREGSEL (0x00), IOWIN (0x10), EOI (0x40). */
uint32_t ioapic_mmio_read(struct ioapic *io, uint32_t offset);
void ioapic_mmio_write(struct ioapic *io, uint32_t offset, uint32_t value);
/*
 * A device drives input @pin to electrical @level. An entry programmed
 * active-low (bit 13) sees the line asserted while it is low, so a device
 * on such a pin keeps it high when idle. Edge entries deliver on the
 * assertion, level entries while asserted and Remote IRR is clear.
 */
void ioapic_set_irq(struct ioapic *io, unsigned int pin, bool level);
/* A LAPIC EOI'd a level-triggered @vector: clear Remote IRR, redeliver if still high. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

#endif
