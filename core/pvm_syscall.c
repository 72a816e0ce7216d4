// SPDX-License-Identifier: MIT
/* PVM: completing the guest's SYSCALL through a hook in its #PF handler (pvm.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/emulate.h"
#include "core/pvm.h"
#include "core/vmm.h"

#define PF_VECTOR     14
#define IDT_GATE_SIZE 16
#define PF_ERR_USER   (1ULL << 2)
#define PF_ERR_FETCH  (1ULL << 4)
#define RFLAGS_FIXED  (1ULL << 1)
#define RFLAGS_IF     (1ULL << 9)
#define RFLAGS_RF     (1ULL << 16)
#define HOOK_MAX      4

/*
 * The #PF handler's first instruction, which the hook replaces by an OUT to
 * PVM_HOOK_PORT padded to the same length. Each is a no-op, so resuming
 * after the OUT runs the handler as written. Linux 6.1 begins with ASM_CLAC:
 * three 0x90 until its alternatives pass, which leaves `out; nop` alone when
 * SMAP is off (it is: clearcpuid=smap) and makes 0f 1f 00 of the nops; IBT
 * kernels begin with endbr64.
 */
struct hook_site {
	uint8_t len;
	uint8_t orig[HOOK_MAX];
	uint8_t patch[HOOK_MAX];
};

static const struct hook_site hook_sites[] = {
    {4, {0xf3, 0x0f, 0x1e, 0xfa}, {0xe6, PVM_HOOK_PORT, 0x66, 0x90}}, /* endbr64 */
    {3, {0x90, 0x90, 0x90}, {0xe6, PVM_HOOK_PORT, 0x90}},	      /* nop; nop; nop */
    {3, {0x0f, 0x1f, 0x00}, {0xe6, PVM_HOOK_PORT, 0x90}},	      /* nopl (%rax) */
};

#define HOOK_OUT_LEN 2 /* e6 ib */

/* What the #PF handler finds on its stack: error code, then the IRET frame. */
struct pf_frame {
	uint64_t error, rip, cs, rflags, rsp, ss;
};

struct syscall_msrs {
	uint64_t lstar, star, fmask;
};

static int gva_write(struct vcpu *v, uint64_t gva, const void *buf, size_t len)
{
	const uint8_t *in = buf;

	for (size_t i = 0; i < len; i++) {
		struct kvm_translation tr = {.linear_address = gva + i};
		uint8_t *dst;

		if (ioctl(v->fd, KVM_TRANSLATE, &tr) < 0)
			return -errno;
		if (!tr.valid)
			return -EFAULT;
		dst = gmem_ptr(&v->vm->mem, tr.physical_address, 1);
		if (!dst)
			return -EFAULT;
		*dst = in[i];
	}
	return 0;
}

/* The #PF handler of the vCPU's current IDT (64-bit gates). */
static int pf_handler(struct vcpu *v, const struct kvm_sregs *s, uint64_t *handler)
{
	uint8_t gate[IDT_GATE_SIZE];
	int err;

	if (s->idt.limit < (PF_VECTOR + 1) * IDT_GATE_SIZE - 1)
		return -ENOENT;
	err = emu_read_gva(v->fd, &v->vm->mem, s->idt.base + PF_VECTOR * IDT_GATE_SIZE,
			   gate, sizeof(gate));
	if (err)
		return err;
	if (!(gate[5] & 0x80)) /* not present */
		return -ENOENT;
	*handler = (uint64_t)gate[0] | (uint64_t)gate[1] << 8 | (uint64_t)gate[6] << 16 |
		   (uint64_t)gate[7] << 24 | (uint64_t)gate[8] << 32 |
		   (uint64_t)gate[9] << 40 | (uint64_t)gate[10] << 48 |
		   (uint64_t)gate[11] << 56;
	return 0;
}

static int set_msr(struct vcpu *v, uint32_t index, uint64_t value)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = {.hdr.nmsrs = 1, .e.index = index, .e.data = value};

	return ioctl(v->fd, KVM_SET_MSRS, &m) == 1 ? 0 : -EIO;
}

static int get_syscall_msrs(struct vcpu *v, struct syscall_msrs *out)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[3];
	} m = {.hdr.nmsrs = 3,
	       .e = {{.index = PVM_MSR_LSTAR},
		     {.index = PVM_MSR_STAR},
		     {.index = PVM_MSR_FMASK}}};

	if (ioctl(v->fd, KVM_GET_MSRS, &m) != 3)
		return -EIO;
	out->lstar = m.e[0].data;
	out->star = m.e[1].data;
	out->fmask = m.e[2].data;
	return 0;
}

/* Idempotent: every CPU writes LSTAR, they share one IDT. */
static int hook_install(struct vcpu *v)
{
	uint8_t first[HOOK_MAX];
	struct kvm_sregs s;
	uint64_t handler;
	int err;

	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	err = pf_handler(v, &s, &handler);
	if (!err)
		err = emu_read_gva(v->fd, &v->vm->mem, handler, first, sizeof(first));
	if (err)
		return err;
	if (first[0] == 0xe6 && first[1] == PVM_HOOK_PORT)
		return 0;
	for (size_t i = 0; i < sizeof(hook_sites) / sizeof(hook_sites[0]); i++) {
		const struct hook_site *h = &hook_sites[i];

		if (memcmp(first, h->orig, h->len))
			continue;
		err = gva_write(v, handler, h->patch, h->len);
		if (!err && v->vm->cfg.verbose)
			fprintf(stderr,
				"rackvm: vCPU %u: PVM system-call hook at #PF handler "
				"0x%" PRIx64 "\n",
				v->id, handler);
		return err;
	}
	if (v->vm->cfg.verbose)
		fprintf(stderr, "rackvm: #PF handler starts %02x %02x %02x %02x\n",
			first[0], first[1], first[2], first[3]);
	return -ENOTSUP;
}

int pvm_lstar_write(struct vcpu *v, uint64_t lstar)
{
	int err = set_msr(v, PVM_MSR_LSTAR, lstar);

	if (err)
		return err;
	err = hook_install(v);
	if (err && v->vm->cfg.verbose)
		fprintf(stderr,
			"rackvm: vCPU %u: cannot hook the #PF handler (%s): system calls "
			"from "
			"ring 3 will fault\n",
			v->id, strerror(-err));
	return 0;
}

/* The exit came from the hook: CPL 0, right after it, at the IDT's #PF handler. */
static bool from_hook(struct vcpu *v, const struct kvm_regs *r, const struct kvm_sregs *s)
{
	uint8_t out[HOOK_OUT_LEN];
	uint64_t handler;

	if ((s->cs.selector & 3) != 0 || pf_handler(v, s, &handler) ||
	    r->rip != handler + HOOK_OUT_LEN)
		return false;
	return !emu_read_gva(v->fd, &v->vm->mem, handler, out, sizeof(out)) &&
	       out[0] == 0xe6 && out[1] == PVM_HOOK_PORT;
}

/*
 * A SYSCALL that PVM left at ring 3: the fetch at LSTAR faulted from CPL 3,
 * and the flags are SYSCALL's (R11 masked by FMASK; IF is then clear, which
 * user code cannot do itself) rather than those of a jump to LSTAR.
 */
static bool is_stranded_syscall(const struct pf_frame *f, const struct kvm_regs *r,
				const struct kvm_sregs *s, const struct syscall_msrs *m)
{
	uint64_t masked = (r->r11 & ~m->fmask & ~RFLAGS_RF) | RFLAGS_FIXED;

	return s->cr2 == m->lstar && f->rip == m->lstar && (f->cs & 3) == 3 &&
	       (f->error & (PF_ERR_USER | PF_ERR_FETCH)) ==
		   (PF_ERR_USER | PF_ERR_FETCH) &&
	       !(f->rflags & RFLAGS_IF) && (f->rflags & ~RFLAGS_RF) == masked;
}

static void flat_segment(struct kvm_segment *seg, uint16_t selector, bool code)
{
	*seg = (struct kvm_segment){.selector = selector,
				    .limit = 0xffffffff,
				    .type = code ? 11 : 3,
				    .present = 1,
				    .s = 1,
				    .l = code,
				    .db = !code,
				    .g = 1};
}

/* Where SYSCALL would have left the vCPU (SDM: SYSCALL in 64-bit mode). */
static int enter_syscall(struct vcpu *v, struct kvm_regs *r, struct kvm_sregs *s,
			 const struct pf_frame *f, const struct syscall_msrs *m)
{
	uint16_t cs = (uint16_t)(m->star >> 32) & 0xfffc;

	r->rip = m->lstar;
	r->rsp = f->rsp;
	r->rflags = f->rflags & ~RFLAGS_RF;
	flat_segment(&s->cs, cs, true);
	flat_segment(&s->ss, (uint16_t)(cs + 8), false);
	if (ioctl(v->fd, KVM_SET_SREGS, s) < 0 || ioctl(v->fd, KVM_SET_REGS, r) < 0)
		return -errno;
	return 0;
}

int pvm_hook_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct syscall_msrs m;
	struct kvm_sregs s;
	struct kvm_regs r;
	struct pf_frame f;

	if (run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 1 ||
	    run->io.count != 1)
		return -ENOENT;
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0 || ioctl(v->fd, KVM_GET_REGS, &r) < 0)
		return -errno;
	if (!from_hook(v, &r, &s))
		return -ENOENT;
	if (get_syscall_msrs(v, &m))
		return -EIO;
	if (s.cr2 != m.lstar) /* the common case: an ordinary page fault */
		return 0;
	if (emu_read_gva(v->fd, &v->vm->mem, r.rsp, &f, sizeof(f)))
		return 0; /* not a frame rackvm can read: let the handler have it */
	if (!is_stranded_syscall(&f, &r, &s, &m))
		return 0;
	return enter_syscall(v, &r, &s, &f, &m);
}
