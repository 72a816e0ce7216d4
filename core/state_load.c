// SPDX-License-Identifier: MIT
/* vCPU state: check a blob against this host, then apply it (see state.h). */
#include <errno.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/state_priv.h"

/* Can this host take what the blob carries? Nothing is applied yet. */
static int check_host(int kvm_fd, const struct state_view *v)
{
	if (v->sec[VCPU_SEC_XSAVE].data &&
	    v->sec[VCPU_SEC_XSAVE].len > state_xsave_size(kvm_fd))
		return -EOPNOTSUPP; /* more XSAVE state than KVM here can hold */
	if (v->sec[VCPU_SEC_XCRS].data && !state_has_cap(kvm_fd, KVM_CAP_XCRS))
		return -EOPNOTSUPP;
	if (v->sec[VCPU_SEC_DEBUGREGS].data && !state_has_cap(kvm_fd, KVM_CAP_DEBUGREGS))
		return -EOPNOTSUPP;
	if (v->sec[VCPU_SEC_EVENTS].data && !state_has_cap(kvm_fd, KVM_CAP_VCPU_EVENTS))
		return -EOPNOTSUPP;
	return 0;
}

/* SET ioctl from a section copied out first: the blob need not be aligned. */
static int set_fixed(int vcpu_fd, unsigned long req, const struct state_view *v,
		     uint32_t type)
{
	union state_fixed u;

	/* state_parse() checked the length against the type's struct. */
	if (!v->sec[type].data || v->sec[type].len > sizeof(u))
		return 0;
	memcpy(&u, v->sec[type].data, v->sec[type].len);
	return ioctl(vcpu_fd, req, &u) < 0 ? -errno : 0;
}

/* A blob from a host with KVM_CAP_SREGS2 on one without: PDPTRs are lost, and
 * KVM reloads them from CR3 as a real CPU would. */
static int set_sregs2_as_sregs(int vcpu_fd, const struct state_view *v)
{
	struct kvm_sregs2 s2;
	struct kvm_sregs s = {0};

	memcpy(&s2, v->sec[VCPU_SEC_SREGS2].data, sizeof(s2));
	s.cs = s2.cs, s.ds = s2.ds, s.es = s2.es, s.fs = s2.fs, s.gs = s2.gs,
	s.ss = s2.ss;
	s.tr = s2.tr, s.ldt = s2.ldt, s.gdt = s2.gdt, s.idt = s2.idt;
	s.cr0 = s2.cr0, s.cr2 = s2.cr2, s.cr3 = s2.cr3, s.cr4 = s2.cr4, s.cr8 = s2.cr8;
	s.efer = s2.efer, s.apic_base = s2.apic_base;
	return ioctl(vcpu_fd, KVM_SET_SREGS, &s) < 0 ? -errno : 0;
}

static int set_sregs(int kvm_fd, int vcpu_fd, const struct state_view *v)
{
	if (v->sec[VCPU_SEC_SREGS].data)
		return set_fixed(vcpu_fd, KVM_SET_SREGS, v, VCPU_SEC_SREGS);
	if (state_has_cap(kvm_fd, KVM_CAP_SREGS2))
		return set_fixed(vcpu_fd, KVM_SET_SREGS2, v, VCPU_SEC_SREGS2);
	return set_sregs2_as_sregs(vcpu_fd, v);
}

static int set_xsave(int kvm_fd, int vcpu_fd, const struct state_view *v)
{
	size_t size = state_xsave_size(kvm_fd);
	void *buf;
	int err = 0;

	if (!v->sec[VCPU_SEC_XSAVE].data)
		return 0;
	/* A smaller area from another host: the rest is zero, and its header's
	 * XSTATE_BV says those components are in their initial state. */
	buf = calloc(1, size);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, v->sec[VCPU_SEC_XSAVE].data, v->sec[VCPU_SEC_XSAVE].len);
	if (ioctl(vcpu_fd, KVM_SET_XSAVE, buf) < 0)
		err = -errno;
	free(buf);
	return err;
}

/* Does the vCPU already hold @e's value? */
static bool msr_holds(int vcpu_fd, const struct kvm_msr_entry *e)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = {.h.nmsrs = 1, .e.index = e->index};

	return ioctl(vcpu_fd, KVM_GET_MSRS, &m) == 1 && m.e.data == e->data;
}

/*
 * KVM stops at the first MSR it refuses. One it refuses but already holds
 * with the blob's value is fine: PVM reads MSR_KVM_POLL_CONTROL as 0 and
 * refuses to be told 0.
 */
static int set_msr_list(int vcpu_fd, struct kvm_msrs *m)
{
	int r;

	for (;;) {
		r = ioctl(vcpu_fd, KVM_SET_MSRS, m);
		if (r < 0)
			return -errno;
		if ((uint32_t)r >= m->nmsrs)
			return 0;
		if (!msr_holds(vcpu_fd, &m->entries[r]))
			return -EINVAL;
		m->nmsrs -= (uint32_t)r + 1;
		memmove(&m->entries[0], &m->entries[r + 1],
			m->nmsrs * sizeof(m->entries[0]));
	}
}

static int set_msrs(int vcpu_fd, const struct state_view *v)
{
	struct kvm_msrs *m;
	int err;

	if (!v->sec[VCPU_SEC_MSRS].data)
		return 0;
	m = malloc(v->sec[VCPU_SEC_MSRS].len);
	if (!m)
		return -ENOMEM;
	memcpy(m, v->sec[VCPU_SEC_MSRS].data, v->sec[VCPU_SEC_MSRS].len);
	err = set_msr_list(vcpu_fd, m);
	free(m);
	return err;
}

static int set_tsc(int kvm_fd, int vcpu_fd, const struct state_view *v)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = {.h.nmsrs = 1, .e.index = STATE_MSR_IA32_TSC};
	struct vcpu_state_tsc t;
	int khz;

	if (!v->sec[VCPU_SEC_TSC].data)
		return 0;
	memcpy(&t, v->sec[VCPU_SEC_TSC].data, sizeof(t));
	/* Keep the guest's TSC rate where KVM can scale it; elsewhere the guest
	 * runs at this host's rate and kvmclock tells it so. */
	khz = ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0);
	if (t.tsc_khz && khz > 0 && (uint32_t)khz != t.tsc_khz &&
	    state_has_cap(kvm_fd, KVM_CAP_TSC_CONTROL) &&
	    ioctl(vcpu_fd, KVM_SET_TSC_KHZ, (unsigned long)t.tsc_khz) < 0)
		return -errno;
	m.e.data = t.tsc;
	return ioctl(vcpu_fd, KVM_SET_MSRS, &m) == 1 ? 0 : -EINVAL;
}

/* QEMU's order: sregs after XSAVE/XCRs, MSRs after sregs (EFER), events last. */
static int apply_kvm(int kvm_fd, int vcpu_fd, const struct state_view *v)
{
	int err;

	err = set_fixed(vcpu_fd, KVM_SET_REGS, v, VCPU_SEC_REGS);
	if (!err)
		err = set_fixed(vcpu_fd, KVM_SET_FPU, v, VCPU_SEC_FPU);
	if (!err)
		err = set_xsave(kvm_fd, vcpu_fd, v);
	if (!err)
		err = set_fixed(vcpu_fd, KVM_SET_XCRS, v, VCPU_SEC_XCRS);
	if (!err)
		err = set_sregs(kvm_fd, vcpu_fd, v);
	if (!err)
		err = set_msrs(vcpu_fd, v);
	if (!err)
		err = set_tsc(kvm_fd, vcpu_fd, v);
	if (!err)
		err = set_fixed(vcpu_fd, KVM_SET_MP_STATE, v, VCPU_SEC_MP_STATE);
	if (!err)
		err = set_fixed(vcpu_fd, KVM_SET_VCPU_EVENTS, v, VCPU_SEC_EVENTS);
	if (!err)
		err = set_fixed(vcpu_fd, KVM_SET_DEBUGREGS, v, VCPU_SEC_DEBUGREGS);
	return err;
}

static void apply_rackvm(struct lapic *l, struct vcpu_extra *x,
			 const struct state_view *v)
{
	struct lapic_state ls;

	if (l && v->sec[VCPU_SEC_LAPIC].data) {
		memcpy(&ls, v->sec[VCPU_SEC_LAPIC].data, sizeof(ls));
		lapic_state_load(l, &ls);
	}
	if (x && v->sec[VCPU_SEC_RACKVM].data)
		memcpy(x, v->sec[VCPU_SEC_RACKVM].data, sizeof(*x));
}

static int load(int kvm_fd, int vcpu_fd, struct lapic *l, struct vcpu_extra *x,
		const void *blob, size_t len, bool keep_undo)
{
	struct state_view v, undo_view;
	size_t undo_len;
	void *undo = NULL;
	int err;

	err = state_parse(blob, len, &v);
	if (err)
		return err;
	err = check_host(kvm_fd, &v);
	if (err)
		return err;
	/* KVM may still refuse a value (a reserved CR bit, an MSR): keep what the
	 * vCPU had so that a failed load changes nothing either. */
	if (keep_undo) {
		err = vcpu_state_save(kvm_fd, vcpu_fd, NULL, NULL, &undo, &undo_len);
		if (err)
			return err;
	}
	err = apply_kvm(kvm_fd, vcpu_fd, &v);
	if (err) {
		if (undo && state_parse(undo, undo_len, &undo_view) == 0)
			(void)apply_kvm(kvm_fd, vcpu_fd, &undo_view);
		goto out_free_undo;
	}
	/* The models cannot fail: they go last, once KVM took everything. */
	apply_rackvm(l, x, &v);
out_free_undo:
	free(undo);
	return err;
}

int vcpu_state_load(int kvm_fd, int vcpu_fd, struct lapic *l, struct vcpu_extra *x,
		    const void *blob, size_t len)
{
	return load(kvm_fd, vcpu_fd, l, x, blob, len, true);
}

int vcpu_state_load_noundo(int kvm_fd, int vcpu_fd, struct lapic *l, struct vcpu_extra *x,
			   const void *blob, size_t len)
{
	return load(kvm_fd, vcpu_fd, l, x, blob, len, false);
}
