// SPDX-License-Identifier: MIT
/* core/elf.c: images built in memory, every corruption, the PVH note, files. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/elf.h"

#define RAM_SIZE   (16ULL << 20)
#define IMG_SIZE   0x500
#define TEXT_OFF   0x200
#define TEXT_SIZE  0x100
#define TEXT_PADDR 0x100000ULL
#define DATA_OFF   0x300
#define DATA_SIZE  0x80
#define DATA_MEMSZ 0x1000
#define DATA_PADDR 0x200000ULL
#define NOTE_OFF   0x400
#define PVH_ENTRY  0x1000123U
#define ENTRY	   0xffffffff81000000ULL

struct image {
	uint8_t b[IMG_SIZE];
	size_t len;
	size_t note_len;
};

static Elf64_Ehdr *ehdr(struct image *im)
{
	return (Elf64_Ehdr *)im->b;
}

static Elf64_Phdr *phdr(struct image *im, unsigned int i)
{
	return (Elf64_Phdr *)(im->b + sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr));
}

/* Append one note at NOTE_OFF + note_len (4-byte aligned fields). */
static void add_note(struct image *im, const char *name, uint32_t type, const void *desc,
		     uint32_t descsz)
{
	uint8_t *p = im->b + NOTE_OFF + im->note_len;
	Elf64_Nhdr nh = {
	    .n_namesz = (uint32_t)strlen(name) + 1, .n_descsz = descsz, .n_type = type};
	size_t name_al = (nh.n_namesz + 3) & ~3U, desc_al = (descsz + 3) & ~3U;

	if (NOTE_OFF + im->note_len + sizeof(nh) + name_al + desc_al > IMG_SIZE) {
		fail_msg("note does not fit the test image");
		return;
	}
	memcpy(p, &nh, sizeof(nh));
	memcpy(p + sizeof(nh), name, nh.n_namesz);
	memcpy(p + sizeof(nh) + name_al, desc, descsz);
	im->note_len += sizeof(nh) + name_al + desc_al;
	phdr(im, 2)->p_filesz = im->note_len;
	im->len = NOTE_OFF + im->note_len;
}

/* Like a vmlinux: text, data + bss, and a GNU note before Xen's PVH note. */
static void build(struct image *im)
{
	Elf64_Ehdr *e = ehdr(im);
	uint32_t gnu = 0x12345678;
	uint64_t pvh = PVH_ENTRY;

	memset(im, 0, sizeof(*im));
	memcpy(e->e_ident, ELFMAG, SELFMAG);
	e->e_ident[EI_CLASS] = ELFCLASS64;
	e->e_ident[EI_DATA] = ELFDATA2LSB;
	e->e_ident[EI_VERSION] = EV_CURRENT;
	e->e_type = ET_EXEC;
	e->e_machine = EM_X86_64;
	e->e_version = EV_CURRENT;
	e->e_entry = ENTRY;
	e->e_phoff = sizeof(Elf64_Ehdr);
	e->e_ehsize = sizeof(Elf64_Ehdr);
	e->e_phentsize = sizeof(Elf64_Phdr);
	e->e_phnum = 3;
	*phdr(im, 0) = (Elf64_Phdr){.p_type = PT_LOAD,
				    .p_offset = TEXT_OFF,
				    .p_vaddr = ENTRY,
				    .p_paddr = TEXT_PADDR,
				    .p_filesz = TEXT_SIZE,
				    .p_memsz = TEXT_SIZE};
	*phdr(im, 1) = (Elf64_Phdr){.p_type = PT_LOAD,
				    .p_offset = DATA_OFF,
				    .p_paddr = DATA_PADDR,
				    .p_filesz = DATA_SIZE,
				    .p_memsz = DATA_MEMSZ};
	*phdr(im, 2) =
	    (Elf64_Phdr){.p_type = PT_NOTE, .p_offset = NOTE_OFF, .p_align = 4};
	for (unsigned int i = 0; i < TEXT_SIZE; i++)
		im->b[TEXT_OFF + i] = (uint8_t)(i + 1);
	memset(im->b + DATA_OFF, 0x5d, DATA_SIZE);
	add_note(im, "GNU", 3, &gnu, 4);
	add_note(im, "Xen", ELF_XEN_PHYS32_ENTRY, &pvh, 8);
}

struct fixture {
	struct guest_mem gm;
	struct image im;
	struct elf_info info;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx || gmem_init(&fx->gm, RAM_SIZE) != 0)
		return -1;
	memset(fx->gm.host, 0xaa, RAM_SIZE); /* so zero-fill and "untouched" show */
	build(&fx->im);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	gmem_destroy(&fx->gm);
	free(fx);
	return 0;
}

static int load(struct fixture *fx)
{
	return elf_load(fx->im.b, fx->im.len, &fx->gm, &fx->info);
}

static void assert_ram_untouched(struct fixture *fx)
{
	const uint8_t *p = gmem_ptr(&fx->gm, TEXT_PADDR, 1);

	assert_int_equal(p[0], 0xaa);
	assert_int_equal(p[TEXT_SIZE - 1], 0xaa);
}

static void test_good(void **state)
{
	struct fixture *fx = *state;
	const uint8_t *text, *data;

	assert_int_equal(load(fx), 0);
	assert_int_equal(fx->info.entry, ENTRY);
	assert_int_equal(fx->info.lo, TEXT_PADDR);
	assert_int_equal(fx->info.hi, DATA_PADDR + DATA_MEMSZ);
	assert_int_equal(fx->info.pvh_entry, PVH_ENTRY);
	text = gmem_ptr(&fx->gm, TEXT_PADDR, TEXT_SIZE);
	assert_memory_equal(text, fx->im.b + TEXT_OFF, TEXT_SIZE);
	assert_int_equal(text[TEXT_SIZE], 0xaa); /* nothing past memsz */
	data = gmem_ptr(&fx->gm, DATA_PADDR, DATA_MEMSZ);
	assert_int_equal(data[0], 0x5d);
	assert_int_equal(data[DATA_SIZE - 1], 0x5d);
	for (unsigned int i = DATA_SIZE; i < DATA_MEMSZ; i++)
		assert_int_equal(data[i], 0); /* bss */
	assert_int_equal(data[DATA_MEMSZ], 0xaa);
}

static void test_pvh_absent(void **state)
{
	struct fixture *fx = *state;

	ehdr(&fx->im)->e_phnum = 2; /* drop the note segment */
	assert_int_equal(load(fx), 0);
	assert_int_equal(fx->info.pvh_entry, 0);
}

static void test_pvh_other_notes_only(void **state)
{
	struct fixture *fx = *state;
	uint32_t v = 0x2000;

	fx->im.note_len = 0;
	add_note(&fx->im, "Xen", 17, &v, 4);		      /* another Xen note */
	add_note(&fx->im, "Xe", ELF_XEN_PHYS32_ENTRY, &v, 4); /* another name */
	assert_int_equal(load(fx), 0);
	assert_int_equal(fx->info.pvh_entry, 0);
}

static void test_pvh_4_byte(void **state)
{
	struct fixture *fx = *state;
	uint32_t v = 0x1000000;

	fx->im.note_len = 0;
	add_note(&fx->im, "Xen", ELF_XEN_PHYS32_ENTRY, &v, 4);
	assert_int_equal(load(fx), 0);
	assert_int_equal(fx->info.pvh_entry, 0x1000000);
}

static void test_pvh_bad(void **state)
{
	struct fixture *fx = *state;
	uint64_t big = 0x100000000ULL;
	uint16_t two = 1;

	fx->im.note_len = 0;
	add_note(&fx->im, "Xen", ELF_XEN_PHYS32_ENTRY, &big, 8);
	assert_int_equal(load(fx), -ENOEXEC);
	build(&fx->im);
	fx->im.note_len = 0;
	add_note(&fx->im, "Xen", ELF_XEN_PHYS32_ENTRY, &two, 2);
	assert_int_equal(load(fx), -ENOEXEC);
	assert_non_null(strstr(fx->info.error, "PVH"));
	assert_ram_untouched(fx);
}

static void test_note_truncated(void **state)
{
	struct fixture *fx = *state;
	Elf64_Phdr *note = phdr(&fx->im, 2);
	uint64_t full = note->p_filesz;

	/* Every cut inside the notes: header, name or descriptor. */
	for (uint64_t cut = 1; cut < full; cut++) {
		if (cut == 20) /* a whole GNU note: a valid, shorter list */
			continue;
		note->p_filesz = cut;
		assert_int_equal(load(fx), -ENOEXEC);
		assert_non_null(strstr(fx->info.error, "truncated note"));
	}
	note->p_filesz = full;
	fx->im.len = NOTE_OFF + full - 1; /* note segment past EOF */
	assert_int_equal(load(fx), -ENOEXEC);
	assert_ram_untouched(fx);
}

static void test_every_truncation(void **state)
{
	struct fixture *fx = *state;

	/* The last byte of the image is in use: every prefix must be refused. */
	for (size_t len = 0; len < fx->im.len; len++)
		assert_true(elf_load(fx->im.b, len, &fx->gm, &fx->info) < 0);
	assert_ram_untouched(fx);
}

/* One corruption of the good image, the errno it must give and a word of the message. */
struct corruption {
	const char *what;
	void (*apply)(struct image *im);
	int err;
	const char *msg;
};

static void c_magic(struct image *im)
{
	im->b[1] = 'F';
}
static void c_class(struct image *im)
{
	im->b[EI_CLASS] = ELFCLASS32;
}
static void c_data(struct image *im)
{
	im->b[EI_DATA] = ELFDATA2MSB;
}
static void c_version(struct image *im)
{
	ehdr(im)->e_version = 2;
}
static void c_machine(struct image *im)
{
	ehdr(im)->e_machine = EM_386;
}
static void c_type(struct image *im)
{
	ehdr(im)->e_type = ET_DYN;
}
static void c_phnum0(struct image *im)
{
	ehdr(im)->e_phnum = 0;
}
static void c_phentsize(struct image *im)
{
	ehdr(im)->e_phentsize = sizeof(Elf64_Phdr) - 1;
}
static void c_phoff(struct image *im)
{
	ehdr(im)->e_phoff = im->len - 10;
}
static void c_phoff_huge(struct image *im)
{
	ehdr(im)->e_phoff = UINT64_MAX - 8;
}
static void c_phnum_many(struct image *im)
{
	ehdr(im)->e_phnum = 100;
}
static void c_seg_past_eof(struct image *im)
{
	phdr(im, 1)->p_filesz = im->len;
	phdr(im, 1)->p_memsz = im->len;
}
static void c_seg_offset_wrap(struct image *im)
{
	phdr(im, 1)->p_offset = UINT64_MAX - 0x10;
}
static void c_filesz(struct image *im)
{
	phdr(im, 1)->p_memsz = DATA_SIZE - 1;
}
static void c_outside_ram(struct image *im)
{
	phdr(im, 1)->p_paddr = RAM_SIZE - 0x800; /* straddles the end of RAM */
}
static void c_far(struct image *im)
{
	phdr(im, 1)->p_paddr = 0xfee00000; /* in the hole */
}
static void c_paddr_wrap(struct image *im)
{
	phdr(im, 1)->p_paddr = UINT64_MAX - 0xfff;
}
static void c_no_load(struct image *im)
{
	phdr(im, 0)->p_type = PT_NULL;
	phdr(im, 1)->p_type = PT_NULL;
}

static const struct corruption corruptions[] = {
    {"bad magic", c_magic, -ENOEXEC, "magic"},
    {"32-bit", c_class, -ENOEXEC, "64-bit"},
    {"big-endian", c_data, -ENOEXEC, "little-endian"},
    {"version", c_version, -ENOEXEC, "version"},
    {"machine", c_machine, -ENOEXEC, "x86-64"},
    {"ET_DYN", c_type, -ENOEXEC, "executable"},
    {"no phdrs", c_phnum0, -ENOEXEC, "program headers"},
    {"small phentsize", c_phentsize, -ENOEXEC, "program header size"},
    {"phdrs past EOF", c_phoff, -ENOEXEC, "past the end"},
    {"phoff overflow", c_phoff_huge, -ENOEXEC, "past the end"},
    {"too many phdrs", c_phnum_many, -ENOEXEC, "past the end"},
    {"segment past EOF", c_seg_past_eof, -ENOEXEC, "segment 1: data"},
    {"segment offset wraps", c_seg_offset_wrap, -ENOEXEC, "segment 1: data"},
    {"filesz > memsz", c_filesz, -ENOEXEC, "larger than memory size"},
    {"outside RAM", c_outside_ram, -ERANGE, "does not fit in 16 MiB of RAM"},
    {"in the hole", c_far, -ERANGE, "segment 1 at 0xfee00000"},
    {"paddr + memsz wraps", c_paddr_wrap, -ENOEXEC, "wraps around"},
    {"no PT_LOAD", c_no_load, -ENOEXEC, "no loadable segment"},
};

static void test_corruptions(void **state)
{
	struct fixture *fx = *state;

	for (size_t i = 0; i < sizeof(corruptions) / sizeof(corruptions[0]); i++) {
		const struct corruption *c = &corruptions[i];

		build(&fx->im);
		c->apply(&fx->im);
		if (load(fx) != c->err || !strstr(fx->info.error, c->msg))
			fail_msg("%s: got \"%s\"", c->what, fx->info.error);
		/* Segment 0 is valid in most cases: it must not have been copied. */
		assert_ram_untouched(fx);
	}
	build(&fx->im);
	assert_int_equal(elf_load(fx->im.b, 63, &fx->gm, &fx->info), -ENOEXEC);
	assert_non_null(strstr(fx->info.error, "truncated ELF header"));
}

static void write_file(const char *path, const void *b, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void test_files(void **state)
{
	struct fixture *fx = *state;
	char dir[] = "/tmp/rackvm-test-elf-XXXXXX", path[64];

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing.elf", dir);
	assert_int_equal(elf_load_file(path, &fx->gm, &fx->info), -ENOENT);
	assert_non_null(strstr(fx->info.error, "missing.elf: cannot open"));
	assert_int_equal(elf_load_file(dir, &fx->gm, &fx->info), -EINVAL);
	assert_non_null(strstr(fx->info.error, "not a regular file"));
	snprintf(path, sizeof(path), "%s/empty.elf", dir);
	write_file(path, "", 0);
	assert_int_equal(elf_load_file(path, &fx->gm, &fx->info), -ENOEXEC);
	assert_non_null(strstr(fx->info.error, "empty.elf: empty file"));
	unlink(path);
	snprintf(path, sizeof(path), "%s/testos.elf", dir);
	c_outside_ram(&fx->im);
	write_file(path, fx->im.b, fx->im.len);
	assert_int_equal(elf_load_file(path, &fx->gm, &fx->info), -ERANGE);
	assert_non_null(strstr(fx->info.error, "testos.elf: segment 1 at 0xfff800-"));
	build(&fx->im);
	write_file(path, fx->im.b, fx->im.len);
	assert_int_equal(elf_load_file(path, &fx->gm, &fx->info), 0);
	assert_int_equal(fx->info.pvh_entry, PVH_ENTRY);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_good, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pvh_absent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pvh_other_notes_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pvh_4_byte, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pvh_bad, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_note_truncated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_every_truncation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corruptions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_files, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
