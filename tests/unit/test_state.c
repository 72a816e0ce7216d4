// SPDX-License-Identifier: MIT
/* core/state*.c on real KVM: round trip between vCPUs, and every corrupt blob
 * refused with the target vCPU, its LAPIC model and run state unchanged. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/cpuid.h"
#include "core/state.h"

#define FAKE_NOW   5000000000ULL
#define TEST_LSTAR 0xffffffff81234560ULL

static uint64_t fake_now(void *ctx)
{
	(void)ctx;
	return FAKE_NOW; /* a frozen clock: the LAPIC timer's remaining time is exact */
}

static const struct lapic_ops test_lapic_ops = {.now_ns = fake_now};

struct cpu {
	int vm, fd;
	struct lapic lapic;
	struct vcpu_extra extra;
};

struct fixture {
	int kvm;
	struct kvm_cpuid2 *sup;
	struct cpu a, b;
};

static void cpu_create(struct fixture *fx, struct cpu *c, unsigned int id)
{
	struct kvm_cpuid2 *cpuid = NULL;

	c->vm = ioctl(fx->kvm, KVM_CREATE_VM, 0);
	assert_true(c->vm >= 0);
	c->fd = ioctl(c->vm, KVM_CREATE_VCPU, id);
	assert_true(c->fd >= 0);
	assert_int_equal(cpuid_for_vcpu(fx->sup, id, 2, &cpuid), 0);
	assert_int_equal(ioctl(c->fd, KVM_SET_CPUID2, cpuid), 0);
	free(cpuid);
	lapic_init(&c->lapic, (uint8_t)id, id == 0, 1000000, 1, &test_lapic_ops, NULL);
	c->extra = (struct vcpu_extra){.apic_id = id};
}

static void cpu_destroy(struct cpu *c)
{
	lapic_destroy(&c->lapic);
	close(c->fd);
	close(c->vm);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fx->kvm < 0) {
		print_message("skip: cannot open /dev/kvm: %s\n", strerror(errno));
		free(fx);
		skip();
		return -1; /* not reached: skip() jumps out */
	}
	assert_int_equal(cpuid_supported(fx->kvm, &fx->sup), 0);
	/* vCPU 0 of two VMs: what migration does (same slot, another VM, another
	 * TSC offset). The LAPIC model keeps its slot's id whatever the blob says. */
	cpu_create(fx, &fx->a, 0);
	cpu_create(fx, &fx->b, 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	cpu_destroy(&fx->a);
	cpu_destroy(&fx->b);
	free(fx->sup);
	close(fx->kvm);
	free(fx);
	return 0;
}

static void set_msr(int fd, uint32_t index, uint64_t value)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = {.h.nmsrs = 1, .e = {.index = index, .data = value}};

	assert_int_equal(ioctl(fd, KVM_SET_MSRS, &m), 1);
}

static uint64_t get_msr(int fd, uint32_t index)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = {.h.nmsrs = 1, .e.index = index};

	assert_int_equal(ioctl(fd, KVM_GET_MSRS, &m), 1);
	return m.e.data;
}

/* Values no fresh vCPU has, in every kind of state. */
static void make_distinctive(struct cpu *c)
{
	struct kvm_regs regs = {.rax = 0x1111,
				.rbx = 0x2222,
				.r15 = 0xf0f0f0f0f0f0f0f0ULL,
				.rsp = 0x7000,
				.rip = 0x1234,
				.rflags = 0x2 | 0x40 | 0x800};
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_debugregs dregs = {.db = {0x1000, 0x2000, 0x3000, 0x4000}};
	struct kvm_vcpu_events ev;

	assert_int_equal(ioctl(c->fd, KVM_SET_REGS, &regs), 0);
	assert_int_equal(ioctl(c->fd, KVM_GET_SREGS, &sregs), 0);
	sregs.ds.base = 0x5000;
	sregs.gdt.base = 0x500, sregs.gdt.limit = 0x27;
	sregs.idt.base = 0x600, sregs.idt.limit = 0xfff;
	sregs.cr2 = 0xdeadb000;
	assert_int_equal(ioctl(c->fd, KVM_SET_SREGS, &sregs), 0);
	assert_int_equal(ioctl(c->fd, KVM_GET_FPU, &fpu), 0);
	fpu.fcw = 0x27f;
	memset(fpu.xmm[3], 0x3c, sizeof(fpu.xmm[3]));
	assert_int_equal(ioctl(c->fd, KVM_SET_FPU, &fpu), 0);
	assert_int_equal(ioctl(c->fd, KVM_SET_DEBUGREGS, &dregs), 0);
	assert_int_equal(ioctl(c->fd, KVM_GET_VCPU_EVENTS, &ev), 0);
	ev.nmi.masked = 1;
	ev.flags = 0;
	assert_int_equal(ioctl(c->fd, KVM_SET_VCPU_EVENTS, &ev), 0);
	set_msr(c->fd, 0x174, 0x10);			   /* SYSENTER_CS */
	set_msr(c->fd, 0xc0000082, TEST_LSTAR);		   /* LSTAR */
	set_msr(c->fd, 0xc0000102, 0xffff888000000000ULL); /* KERNEL_GS_BASE */
	lapic_mmio_write(&c->lapic, 0xf0, 0x1ff); /* SVR: enabled, spurious 0xff */
	lapic_mmio_write(&c->lapic, 0x80, 0x30);  /* TPR */
	lapic_mmio_write(&c->lapic, 0x320, 0x40); /* LVT timer: one-shot, vector 0x40 */
	lapic_mmio_write(&c->lapic, 0x3e0, 0xb);  /* divide by 1 */
	lapic_mmio_write(&c->lapic, 0x380, 0x100000); /* initial count: timer runs */
	c->extra.halted = 1;
}

/* Walk a blob's sections without the code under test. */
static const uint8_t *section(const void *blob, size_t len, uint32_t type, uint32_t *plen)
{
	const uint8_t *b = blob;
	size_t off = sizeof(struct vcpu_state_hdr);
	struct vcpu_state_sec s;

	while (off + sizeof(s) <= len) {
		memcpy(&s, b + off, sizeof(s));
		if (s.type == type) {
			*plen = s.len;
			return b + off + sizeof(s);
		}
		off += sizeof(s) + ((s.len + 7) & ~7U);
	}
	return NULL;
}

/* Name the MSRs that differ between two MSRS payloads (same count). */
static void print_msr_diff(const uint8_t *px, const uint8_t *py, uint32_t len)
{
	for (uint32_t off = 8; off + sizeof(struct kvm_msr_entry) <= len;
	     off += sizeof(struct kvm_msr_entry)) {
		struct kvm_msr_entry ex, ey;

		memcpy(&ex, px + off, sizeof(ex));
		memcpy(&ey, py + off, sizeof(ey));
		if (ex.index != ey.index || ex.data != ey.data)
			print_error("MSR %#x = %#llx, then %#x = %#llx\n", ex.index,
				    (unsigned long long)ex.data, ey.index,
				    (unsigned long long)ey.data);
	}
}

/* Equal section by section, except the TSC value, which moves. */
static void assert_same_state(const void *x, size_t xlen, const void *y, size_t ylen)
{
	struct vcpu_state_tsc tx, ty;
	const uint8_t *px, *py;
	uint32_t lx, ly;

	assert_int_equal(xlen, ylen);
	for (uint32_t t = 1; t <= VCPU_SEC_MAX_KNOWN; t++) {
		px = section(x, xlen, t, &lx);
		py = section(y, ylen, t, &ly);
		assert_int_equal(!px, !py);
		if (!px)
			continue;
		assert_int_equal(lx, ly);
		if (t == VCPU_SEC_TSC) {
			memcpy(&tx, px, sizeof(tx));
			memcpy(&ty, py, sizeof(ty));
			assert_int_equal(tx.tsc_khz, ty.tsc_khz);
			continue;
		}
		if (memcmp(px, py, lx) != 0) {
			if (t == VCPU_SEC_MSRS)
				print_msr_diff(px, py, lx);
			fail_msg("section %u differs", t);
		}
	}
}

static void save(struct fixture *fx, struct cpu *c, void **blob, size_t *len)
{
	assert_int_equal(vcpu_state_save(fx->kvm, c->fd, &c->lapic, &c->extra, blob, len),
			 0);
}

static int load_into(struct fixture *fx, bool keep_undo, const void *blob, size_t len)
{
	return keep_undo ? vcpu_state_load(fx->kvm, fx->b.fd, &fx->b.lapic, &fx->b.extra,
					   blob, len)
			 : vcpu_state_load_noundo(fx->kvm, fx->b.fd, &fx->b.lapic,
						  &fx->b.extra, blob, len);
}

static void round_trip(struct fixture *fx, bool keep_undo)
{
	void *b1 = NULL, *b2 = NULL;
	size_t l1, l2;
	struct kvm_regs regs;
	uint32_t n;

	make_distinctive(&fx->a);
	save(fx, &fx->a, &b1, &l1);
	assert_int_equal(vcpu_state_check(b1, l1), 0);
	for (uint32_t t = VCPU_SEC_REGS; t <= VCPU_SEC_RACKVM; t++)
		if (t != VCPU_SEC_SREGS && t != VCPU_SEC_SREGS2 && t != VCPU_SEC_MP_STATE)
			assert_non_null(section(b1, l1, t, &n));
	fx->b.extra.apic_id = 0xff;
	assert_int_equal(load_into(fx, keep_undo, b1, l1), 0);
	/* What the guest will see, read back directly from KVM and the models. */
	assert_int_equal(ioctl(fx->b.fd, KVM_GET_REGS, &regs), 0);
	assert_int_equal(regs.rip, 0x1234);
	assert_int_equal(regs.r15, 0xf0f0f0f0f0f0f0f0ULL);
	assert_int_equal(get_msr(fx->b.fd, 0xc0000082), TEST_LSTAR);
	assert_int_equal(lapic_mmio_read(&fx->b.lapic, 0x80), 0x30);
	assert_int_equal(lapic_mmio_read(&fx->b.lapic, 0x390),
			 0x100000); /* current count */
	assert_int_equal(fx->b.extra.halted, 1);
	assert_int_equal(fx->b.extra.apic_id, 0); /* overwritten from A's */
	save(fx, &fx->b, &b2, &l2);
	assert_same_state(b1, l1, b2, l2);
	free(b1);
	free(b2);
}

static void test_round_trip(void **state)
{
	round_trip(*state, true);
}

/* The mirror's load (migration): the same state, without the undo copy. */
static void test_round_trip_noundo(void **state)
{
	round_trip(*state, false);
}

/* ---- corrupt blobs ---- */

static void fix_crc(void *blob, size_t len)
{
	struct vcpu_state_hdr h;

	memcpy(&h, blob, sizeof(h));
	h.total_len = len;
	h.body_crc32 = vcpu_state_crc32(0, (uint8_t *)blob + sizeof(h), len - sizeof(h));
	memcpy(blob, &h, sizeof(h));
}

static struct vcpu_state_sec *sec_hdr(void *blob, size_t len, uint32_t type)
{
	uint32_t n;
	const uint8_t *p = section(blob, len, type, &n);

	assert_non_null(p);
	return (struct vcpu_state_sec *)(uintptr_t)(p - sizeof(struct vcpu_state_sec));
}

/* A copy of @blob with room for one more section. */
static uint8_t *dup_blob(const void *blob, size_t len)
{
	uint8_t *b = calloc(1, len + 64);

	assert_non_null(b);
	memcpy(b, blob, len);
	return b;
}

static size_t append_section(uint8_t *b, size_t len, uint32_t type, uint32_t flags)
{
	struct vcpu_state_sec s = {.type = type, .version = 1, .len = 5, .flags = flags};
	struct vcpu_state_hdr h;

	memcpy(b + len, &s, sizeof(s));
	memcpy(b + len + sizeof(s), "hello\0\0", 8);
	memcpy(&h, b, sizeof(h));
	h.nr_sections++;
	memcpy(b, &h, sizeof(h));
	len += sizeof(s) + 8;
	fix_crc(b, len);
	return len;
}

/* Load must fail with @err and leave B exactly as it was. */
static void expect_refused(struct fixture *fx, const void *blob, size_t len, int err,
			   const char *what)
{
	struct vcpu_extra extra_before = fx->b.extra;
	struct lapic_state ls_before = fx->b.lapic.s;
	void *before = NULL, *after = NULL;
	size_t lb, la;
	int r;

	save(fx, &fx->b, &before, &lb);
	r = vcpu_state_load(fx->kvm, fx->b.fd, &fx->b.lapic, &fx->b.extra, blob, len);
	if (r != err)
		fail_msg("%s: got %d, want %d", what, r, err);
	save(fx, &fx->b, &after, &la);
	assert_same_state(before, lb, after, la);
	assert_memory_equal(&fx->b.extra, &extra_before, sizeof(extra_before));
	assert_memory_equal(&fx->b.lapic.s, &ls_before, sizeof(ls_before));
	free(before);
	free(after);
}

static void test_corrupt(void **state)
{
	struct fixture *fx = *state;
	void *good = NULL;
	size_t len;
	uint8_t *b;
	struct vcpu_state_sec *s;

	make_distinctive(&fx->a);
	save(fx, &fx->a, &good, &len);
	b = dup_blob(good, len);

	expect_refused(fx, b, 0, -EBADMSG, "empty");
	expect_refused(fx, b, 31, -EBADMSG, "short header");
	for (size_t cut = 32; cut < len; cut += 97)
		expect_refused(fx, b, cut, -EBADMSG, "truncated");
	expect_refused(fx, b, len - 1, -EBADMSG, "one byte short");
	expect_refused(fx, b, len + 8, -EBADMSG, "over-long");

	b[0] ^= 1;
	expect_refused(fx, b, len, -EBADMSG, "bad magic");
	memcpy(b, good, len);
	b[8] = VCPU_STATE_VERSION + 1;
	expect_refused(fx, b, len, -EPROTONOSUPPORT, "bad version");
	memcpy(b, good, len);
	b[len - 100] ^= 0x40;
	expect_refused(fx, b, len, -EBADMSG, "CRC mismatch");

	memcpy(b, good, len);
	s = sec_hdr(b, len, VCPU_SEC_MSRS);
	s->len = (uint32_t)len; /* past the end, CRC made to match */
	fix_crc(b, len);
	expect_refused(fx, b, len, -EBADMSG, "section length past the end");

	memcpy(b, good, len);
	sec_hdr(b, len, VCPU_SEC_REGS)->len -= 8;
	fix_crc(b, len);
	expect_refused(fx, b, len, -EBADMSG, "wrong size for its type");

	memcpy(b, good, len);
	sec_hdr(b, len, VCPU_SEC_FPU)->version = 2;
	fix_crc(b, len);
	expect_refused(fx, b, len, -EPROTONOSUPPORT, "section version");

	memcpy(b, good, len);
	sec_hdr(b, len, VCPU_SEC_MSRS)->type = VCPU_SEC_REGS;
	fix_crc(b, len);
	expect_refused(fx, b, len, -EBADMSG, "duplicate section");

	memcpy(b, good, len);
	((uint8_t *)(sec_hdr(b, len, VCPU_SEC_RACKVM) + 1))[4] = 2; /* halted = 2 */
	fix_crc(b, len);
	expect_refused(fx, b, len, -EBADMSG, "bad run state");

	memcpy(b, good, len);
	(*(uint32_t *)(sec_hdr(b, len, VCPU_SEC_MSRS) + 1))++; /* MSR count */
	fix_crc(b, len);
	expect_refused(fx, b, len, -EBADMSG, "MSR count");

	memcpy(b, good, len);
	expect_refused(fx, b, append_section(b, len, 99, VCPU_STATE_SEC_REQUIRED),
		       -EPROTONOSUPPORT, "unknown required section");
	b[len + 16 + 6] = 1; /* non-zero padding */
	fix_crc(b, len + 24);
	expect_refused(fx, b, len + 24, -EBADMSG, "padding");

	memcpy(b, good, len);
	assert_int_equal(vcpu_state_check(b, append_section(b, len, 99, 0)), 0);
	free(b);
	free(good);
}

/* A blob that parses but that KVM refuses half-way: B is put back as it was. */
static void test_kvm_refuses(void **state)
{
	struct fixture *fx = *state;
	void *good = NULL;
	size_t len;
	uint8_t *b;
	uint32_t n;
	struct kvm_sregs2 s2;
	struct kvm_sregs s;
	uint8_t *p;

	make_distinctive(&fx->a);
	save(fx, &fx->a, &good, &len);
	b = dup_blob(good, len);
	p = (uint8_t *)section(b, len, VCPU_SEC_SREGS2, &n);
	if (p) {
		memcpy(&s2, p, sizeof(s2));
		s2.cr4 |= 1ULL << 63; /* reserved: KVM says EINVAL after REGS went in */
		memcpy(p, &s2, sizeof(s2));
	} else {
		p = (uint8_t *)section(b, len, VCPU_SEC_SREGS, &n);
		assert_non_null(p);
		memcpy(&s, p, sizeof(s));
		s.cr4 |= 1ULL << 63;
		memcpy(p, &s, sizeof(s));
	}
	fix_crc(b, len);
	assert_int_equal(vcpu_state_check(b, len), 0);
	expect_refused(fx, b, len, -EINVAL, "reserved CR4 bit");
	free(b);
	free(good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_round_trip_noundo, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kvm_refuses, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
