// SPDX-License-Identifier: MIT
/* Executing what KVM's emulator could not (see emulate.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/emulate.h"

#define PAGE_SIZE	   4096ULL
#define X86_CR0_PE	   (1ULL << 0)
#define X86_EFER_LMA	   (1ULL << 10)
#define X86_RFLAGS_CF	   (1ULL << 0)
#define X86_RFLAGS_PF	   (1ULL << 2)
#define X86_RFLAGS_AF	   (1ULL << 4)
#define X86_RFLAGS_ZF	   (1ULL << 6)
#define X86_RFLAGS_SF	   (1ULL << 7)
#define X86_RFLAGS_OF	   (1ULL << 11)
#define X86_RFLAGS_AC	   (1ULL << 18)
#define X86_BP_VECTOR	   3
#define X87_FSW_EXCEPTIONS 0x80ffU /* IE..PE, SF, ES, B */

/* The vCPU as emu_complete() sees and changes it. */
struct emu_cpu {
	int fd;
	const struct guest_mem *mem;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	enum emu_mode mode;
	uint8_t bytes[EMU_MAX_INSN];
	size_t nbytes;
};

int emu_read_gva(int vcpu_fd, const struct guest_mem *mem, uint64_t gva, void *buf,
		 size_t len)
{
	uint8_t *out = buf;

	while (len) {
		struct kvm_translation tr = {.linear_address = gva};
		size_t chunk = PAGE_SIZE - (gva & (PAGE_SIZE - 1));
		const void *src;

		if (chunk > len)
			chunk = len;
		if (ioctl(vcpu_fd, KVM_TRANSLATE, &tr) < 0)
			return -errno;
		if (!tr.valid)
			return -EFAULT;
		src = gmem_ptr(mem, tr.physical_address, chunk);
		if (!src)
			return -EFAULT; /* MMIO or outside RAM: nothing rackvm reads */
		memcpy(out, src, chunk);
		out += chunk;
		gva += chunk;
		len -= chunk;
	}
	return 0;
}

static enum emu_mode cpu_mode(const struct kvm_sregs *s)
{
	if ((s->efer & X86_EFER_LMA) && s->cs.l)
		return EMU_MODE_64;
	if ((s->cr0 & X86_CR0_PE) && s->cs.db)
		return EMU_MODE_32;
	return EMU_MODE_16;
}

static uint64_t mode_mask(unsigned int bytes)
{
	return bytes == 8 ? UINT64_MAX : (1ULL << (bytes * 8)) - 1;
}

uint64_t emu_rip_linear(const struct kvm_sregs *s, const struct kvm_regs *r)
{
	enum emu_mode mode = cpu_mode(s);
	uint64_t ip = r->rip & mode_mask(mode);

	return mode == EMU_MODE_64 ? ip : (s->cs.base + ip) & 0xffffffffULL;
}

static uint64_t rip_linear(const struct emu_cpu *c)
{
	return emu_rip_linear(&c->sregs, &c->regs);
}

/* The bytes from the exit, else from guest memory (up to a page that fails). */
static int fetch(struct emu_cpu *c, const struct kvm_run *run)
{
	uint64_t at = rip_linear(c);
	size_t first = PAGE_SIZE - (at & (PAGE_SIZE - 1));
	int err;

	if ((run->emulation_failure.flags &
	     KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) &&
	    run->emulation_failure.ndata >= 3 && run->emulation_failure.insn_size &&
	    run->emulation_failure.insn_size <= EMU_MAX_INSN) {
		c->nbytes = run->emulation_failure.insn_size;
		memcpy(c->bytes, run->emulation_failure.insn_bytes, c->nbytes);
		return 0;
	}
	c->nbytes = EMU_MAX_INSN;
	if (emu_read_gva(c->fd, c->mem, at, c->bytes, c->nbytes) == 0)
		return 0;
	c->nbytes = first < EMU_MAX_INSN ? first : EMU_MAX_INSN;
	err = emu_read_gva(c->fd, c->mem, at, c->bytes, c->nbytes);
	if (err)
		c->nbytes = 0;
	return err;
}

/* Register @n in x86 encoding order; struct kvm_regs has its own. */
static __u64 *reg(struct kvm_regs *r, unsigned int n)
{
	__u64 *const map[16] = {&r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp,
				&r->rsi, &r->rdi, &r->r8,  &r->r9,  &r->r10, &r->r11,
				&r->r12, &r->r13, &r->r14, &r->r15};

	return map[n & 15];
}

static uint64_t seg_base(const struct emu_cpu *c, unsigned int seg)
{
	const struct kvm_segment *s[] = {&c->sregs.es, &c->sregs.cs, &c->sregs.ss,
					 &c->sregs.ds, &c->sregs.fs, &c->sregs.gs};

	/* Long mode ignores the bases of all but FS and GS. */
	if (c->mode == EMU_MODE_64 && seg != EMU_SEG_FS && seg != EMU_SEG_GS)
		return 0;
	return s[seg]->base;
}

static uint64_t operand_linear(struct emu_cpu *c, const struct emu_insn *in)
{
	uint64_t ea = (uint64_t)in->disp;

	if (in->base == EMU_REG_RIP)
		ea += c->regs.rip + in->len;
	else if (in->base != EMU_REG_NONE)
		ea += *reg(&c->regs, in->base);
	if (in->index != EMU_REG_NONE)
		ea += *reg(&c->regs, in->index) * in->scale;
	ea &= mode_mask(in->addrsize);
	ea += seg_base(c, in->seg);
	return c->mode == EMU_MODE_64 ? ea : ea & 0xffffffffULL;
}

static int do_popcnt(struct emu_cpu *c, const struct emu_insn *in)
{
	uint64_t src = 0;
	__u64 *dst = reg(&c->regs, in->reg);
	int err;

	if (in->mem) {
		err =
		    emu_read_gva(c->fd, c->mem, operand_linear(c, in), &src, in->opsize);
		if (err)
			return err;
	} else {
		src = *reg(&c->regs, in->rm);
	}
	src &= mode_mask(in->opsize);
	/* SDM: OF, SF, ZF, AF, CF, PF cleared; ZF set for a zero source. */
	c->regs.rflags &= ~(X86_RFLAGS_OF | X86_RFLAGS_SF | X86_RFLAGS_ZF |
			    X86_RFLAGS_AF | X86_RFLAGS_CF | X86_RFLAGS_PF);
	if (!src)
		c->regs.rflags |= X86_RFLAGS_ZF;
	if (in->opsize == 2) /* a 16-bit write keeps the rest; a 32-bit one zeroes it */
		*dst = (*dst & ~0xffffULL) | (uint64_t)__builtin_popcountll(src);
	else
		*dst = (uint64_t)__builtin_popcountll(src);
	return 0;
}

static int do_int3(struct emu_cpu *c)
{
	struct kvm_vcpu_events ev;

	if (ioctl(c->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	/* A trap: the saved RIP is past the int3 (RIP was advanced already). */
	ev.exception.injected = 1;
	ev.exception.pending = 0;
	ev.exception.nr = X86_BP_VECTOR;
	ev.exception.has_error_code = 0;
	ev.exception.error_code = 0;
	ev.exception_has_payload = 0;
	ev.flags &= ~(uint32_t)KVM_VCPUEVENT_VALID_SIPI_VECTOR;
	return ioctl(c->fd, KVM_SET_VCPU_EVENTS, &ev) < 0 ? -errno : 0;
}

static int do_fnclex(struct emu_cpu *c)
{
	struct kvm_fpu fpu;

	if (ioctl(c->fd, KVM_GET_FPU, &fpu) < 0)
		return -errno;
	fpu.fsw &= (uint16_t)~X87_FSW_EXCEPTIONS;
	return ioctl(c->fd, KVM_SET_FPU, &fpu) < 0 ? -errno : 0;
}

static void describe(const struct emu_cpu *c, const char *what, char *why, size_t whylen)
{
	char hex[3 * EMU_MAX_INSN + 1] = "";

	size_t pos = 0;

	for (size_t i = 0; i < c->nbytes && i < EMU_MAX_INSN; i++)
		pos += (size_t)snprintf(hex + pos, sizeof(hex) - pos, "%s%02x",
					i ? " " : "", c->bytes[i]);
	snprintf(why, whylen, "%s%s%s at RIP 0x%" PRIx64 " (CS 0x%x, %u-bit)", what,
		 c->nbytes ? " " : "", hex, (uint64_t)c->regs.rip, c->sregs.cs.selector,
		 c->mode * 8);
}

static unsigned int cpl(const struct emu_cpu *c)
{
	return c->sregs.cr0 & X86_CR0_PE ? c->sregs.cs.selector & 3 : 0;
}

/* Run @in on @c; RIP moves past it before #BP is queued (a trap). */
static int execute(struct emu_cpu *c, const struct emu_insn *in)
{
	uint64_t next_ip = (c->regs.rip + in->len) & mode_mask(c->mode);
	int err = 0;

	if ((in->op == EMU_OP_CLAC || in->op == EMU_OP_STAC) && cpl(c) != 0)
		return -ENOSYS; /* #UD outside ring 0: not rackvm's to fake */
	if (in->op == EMU_OP_POPCNT)
		err = do_popcnt(c, in);
	else if (in->op == EMU_OP_FNCLEX)
		err = do_fnclex(c);
	else if (in->op == EMU_OP_CLAC)
		c->regs.rflags &= ~X86_RFLAGS_AC;
	else if (in->op == EMU_OP_STAC)
		c->regs.rflags |= X86_RFLAGS_AC;
	if (err)
		return err;
	c->regs.rip = (c->regs.rip & ~mode_mask(c->mode)) | next_ip;
	if (ioctl(c->fd, KVM_SET_REGS, &c->regs) < 0)
		return -errno;
	return in->op == EMU_OP_INT3 ? do_int3(c) : 0;
}

int emu_complete(int vcpu_fd, struct kvm_run *run, const struct guest_mem *mem, char *why,
		 size_t whylen)
{
	struct emu_cpu c = {.fd = vcpu_fd, .mem = mem};
	struct emu_insn in;
	int err;

	if (run->exit_reason != KVM_EXIT_INTERNAL_ERROR ||
	    run->emulation_failure.suberror != KVM_INTERNAL_ERROR_EMULATION) {
		snprintf(why, whylen, "not an emulation failure (exit %u)",
			 run->exit_reason);
		return -EINVAL;
	}
	if (ioctl(vcpu_fd, KVM_GET_REGS, &c.regs) < 0 ||
	    ioctl(vcpu_fd, KVM_GET_SREGS, &c.sregs) < 0) {
		err = -errno;
		snprintf(why, whylen, "cannot read the vCPU registers: %s",
			 strerror(-err));
		return err;
	}
	c.mode = cpu_mode(&c.sregs);
	err = fetch(&c, run);
	if (err) {
		describe(&c, "cannot read the instruction", why, whylen);
		return err;
	}
	err = emu_decode_mode(c.bytes, c.nbytes, c.mode, &in);
	if (err) {
		describe(&c, "unhandled instruction", why, whylen);
		return -ENOSYS;
	}
	err = execute(&c, &in);
	if (err)
		describe(&c, err == -ENOSYS ? "unhandled instruction" : "cannot complete",
			 why, whylen);
	return err;
}
