// SPDX-License-Identifier: MIT
/* vCPU state: KVM ioctls to and from the blob (format in state_blob.c). */
#include <errno.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/state_priv.h"

bool state_has_cap(int kvm_fd, long cap)
{
	return ioctl(kvm_fd, KVM_CHECK_EXTENSION, cap) > 0;
}

size_t state_xsave_size(int kvm_fd)
{
	/* On /dev/kvm this is the process's size (AMX permission is per process). */
	int n = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);

	if (n >= VCPU_STATE_XSAVE_MIN)
		return (size_t)n;
	return state_has_cap(kvm_fd, KVM_CAP_XSAVE) ? VCPU_STATE_XSAVE_MIN : 0;
}

/* GET ioctl @req into @buf (@len bytes), then one section of @type. */
static int save_ioctl(struct state_writer *w, int fd, unsigned long req, uint32_t type,
		      void *buf, size_t len)
{
	memset(buf, 0, len);
	if (ioctl(fd, req, buf) < 0)
		return -errno;
	return state_writer_add(w, type, 1, buf, len);
}

static int save_fixed(struct state_writer *w, int kvm_fd, int vcpu_fd)
{
	union state_fixed u;
	int err;

	err = save_ioctl(w, vcpu_fd, KVM_GET_REGS, VCPU_SEC_REGS, &u, sizeof(u.regs));
	if (!err && state_has_cap(kvm_fd, KVM_CAP_SREGS2))
		err = save_ioctl(w, vcpu_fd, KVM_GET_SREGS2, VCPU_SEC_SREGS2, &u,
				 sizeof(u.sregs2));
	else if (!err)
		err = save_ioctl(w, vcpu_fd, KVM_GET_SREGS, VCPU_SEC_SREGS, &u,
				 sizeof(u.sregs));
	if (!err)
		err =
		    save_ioctl(w, vcpu_fd, KVM_GET_FPU, VCPU_SEC_FPU, &u, sizeof(u.fpu));
	if (!err && state_has_cap(kvm_fd, KVM_CAP_XCRS))
		err = save_ioctl(w, vcpu_fd, KVM_GET_XCRS, VCPU_SEC_XCRS, &u,
				 sizeof(u.xcrs));
	if (!err && state_has_cap(kvm_fd, KVM_CAP_DEBUGREGS))
		err = save_ioctl(w, vcpu_fd, KVM_GET_DEBUGREGS, VCPU_SEC_DEBUGREGS, &u,
				 sizeof(u.dregs));
	if (!err && state_has_cap(kvm_fd, KVM_CAP_VCPU_EVENTS))
		err = save_ioctl(w, vcpu_fd, KVM_GET_VCPU_EVENTS, VCPU_SEC_EVENTS, &u,
				 sizeof(u.events));
	return err;
}

static int save_xsave(struct state_writer *w, int kvm_fd, int vcpu_fd)
{
	size_t size = state_xsave_size(kvm_fd);
	unsigned long req = size > VCPU_STATE_XSAVE_MIN ? KVM_GET_XSAVE2 : KVM_GET_XSAVE;
	void *buf;
	int err;

	if (!size)
		return 0; /* the FPU section carries the legacy state */
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	err = save_ioctl(w, vcpu_fd, req, VCPU_SEC_XSAVE, buf, size);
	free(buf);
	return err;
}

static int save_mp_state(struct state_writer *w, int vcpu_fd)
{
	struct kvm_mp_state mp = {0};

	/* Some hosts refuse it without an in-kernel irqchip: then rackvm's own
	 * run state (the RACKVM section) is all there is. */
	if (ioctl(vcpu_fd, KVM_GET_MP_STATE, &mp) < 0)
		return 0;
	return state_writer_add(w, VCPU_SEC_MP_STATE, 1, &mp, sizeof(mp));
}

static struct kvm_msrs *msrs_alloc(uint32_t n)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + n * sizeof(m->entries[0]));

	if (m)
		m->nmsrs = n;
	return m;
}

/*
 * Not in the MSRS section: IA32_TSC (the TSC section has it) and Hyper-V's
 * synthetic MSRs (0x40000000-0x40001fff). rackvm offers the guest no Hyper-V
 * CPUID leaves, so nothing uses them; two of them are running counters
 * (TIME_REF_COUNT, VP_RUNTIME) that would differ on every save anyway.
 */
static bool state_msr_saved(uint32_t index)
{
	return index != STATE_MSR_IA32_TSC && (index < 0x40000000 || index > 0x40001fff);
}

/* KVM_GET_MSR_INDEX_LIST minus the MSRs state_msr_saved() leaves out. */
static int msr_list(int kvm_fd, struct kvm_msrs **out)
{
	struct kvm_msr_list probe = {.nmsrs = 0}, *l;
	struct kvm_msrs *m;
	int err = 0;

	/* An empty list "succeeds"; otherwise E2BIG tells the size. */
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return -errno;
	if (probe.nmsrs > VCPU_STATE_MAX_MSRS)
		return -E2BIG;
	l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(l->indices[0]));
	m = msrs_alloc(probe.nmsrs);
	if (!l || !m) {
		err = -ENOMEM;
		goto err_free;
	}
	l->nmsrs = probe.nmsrs;
	if (probe.nmsrs && ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		err = -errno;
		goto err_free;
	}
	m->nmsrs = 0;
	for (uint32_t i = 0; i < l->nmsrs && i < probe.nmsrs; i++)
		if (state_msr_saved(l->indices[i]))
			m->entries[m->nmsrs++].index = l->indices[i];
	free(l);
	*out = m;
	return 0;

err_free:
	free(l);
	free(m);
	return err;
}

/* Read every MSR in @m; drop those KVM will not read (it stops at the first). */
static int read_msrs(int vcpu_fd, struct kvm_msrs *m)
{
	for (;;) {
		int r = ioctl(vcpu_fd, KVM_GET_MSRS, m);

		if (r < 0)
			return -errno;
		if ((uint32_t)r >= m->nmsrs)
			return 0;
		memmove(&m->entries[r], &m->entries[r + 1],
			(m->nmsrs - (uint32_t)r - 1) * sizeof(m->entries[0]));
		m->nmsrs--;
	}
}

static int save_msrs(struct state_writer *w, int kvm_fd, int vcpu_fd)
{
	struct kvm_msrs *m = NULL;
	int err;

	err = msr_list(kvm_fd, &m);
	if (err)
		return err;
	err = read_msrs(vcpu_fd, m);
	if (!err)
		err = state_writer_add(w, VCPU_SEC_MSRS, 1, m,
				       sizeof(*m) + m->nmsrs * sizeof(m->entries[0]));
	free(m);
	return err;
}

static int save_tsc(struct state_writer *w, int vcpu_fd)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = {.h.nmsrs = 1, .e.index = STATE_MSR_IA32_TSC};
	struct vcpu_state_tsc t = {0};
	int khz;

	if (ioctl(vcpu_fd, KVM_GET_MSRS, &m) != 1)
		return -EIO;
	t.tsc = m.e.data;
	khz = ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0);
	t.tsc_khz = khz > 0 ? (uint32_t)khz : 0;
	return state_writer_add(w, VCPU_SEC_TSC, 1, &t, sizeof(t));
}

static int save_rackvm(struct state_writer *w, struct lapic *l,
		       const struct vcpu_extra *x)
{
	struct lapic_state ls;
	int err = 0;

	if (l) {
		lapic_state_save(l, &ls);
		err = state_writer_add(w, VCPU_SEC_LAPIC, LAPIC_STATE_VERSION, &ls,
				       sizeof(ls));
	}
	if (!err && x)
		err = state_writer_add(w, VCPU_SEC_RACKVM, VCPU_EXTRA_VERSION, x,
				       sizeof(*x));
	return err;
}

int vcpu_state_save(int kvm_fd, int vcpu_fd, struct lapic *l, const struct vcpu_extra *x,
		    void **blob, size_t *len)
{
	struct state_writer w;
	int err;

	err = state_writer_init(&w);
	if (err)
		return err;
	err = save_fixed(&w, kvm_fd, vcpu_fd);
	if (!err)
		err = save_xsave(&w, kvm_fd, vcpu_fd);
	if (!err)
		err = save_msrs(&w, kvm_fd, vcpu_fd);
	if (!err)
		err = save_mp_state(&w, vcpu_fd);
	if (!err)
		err = save_tsc(&w, vcpu_fd);
	if (!err)
		err = save_rackvm(&w, l, x);
	if (err) {
		state_writer_discard(&w);
		return err;
	}
	state_writer_finish(&w, blob, len);
	return 0;
}
