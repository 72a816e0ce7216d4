// SPDX-License-Identifier: MIT
/* ELF64 x86-64 loader: validate every header first, then copy (see elf.h). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/elf.h"

static int __attribute__((format(printf, 3, 4)))
elf_fail(struct elf_info *out, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->error, sizeof(out->error), fmt, ap);
	va_end(ap);
	return err;
}

/* "64 MiB": RAM sizes the way users give them. */
static void format_size(char *buf, size_t len, uint64_t size)
{
	if (size && size % (1ULL << 30) == 0)
		snprintf(buf, len, "%" PRIu64 " GiB", size >> 30);
	else if (size && size % (1ULL << 20) == 0)
		snprintf(buf, len, "%" PRIu64 " MiB", size >> 20);
	else
		snprintf(buf, len, "%" PRIu64 " bytes", size);
}

/* Is [off, off + size) inside a file of @len bytes? Overflow-safe. */
static bool in_file(uint64_t off, uint64_t size, size_t len)
{
	return off <= len && size <= len - off;
}

static int check_ehdr(const uint8_t *f, size_t len, Elf64_Ehdr *eh, struct elf_info *out)
{
	if (len < sizeof(*eh))
		return elf_fail(out, -ENOEXEC, "truncated ELF header (%zu bytes)", len);
	memcpy(eh, f, sizeof(*eh));
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return elf_fail(out, -ENOEXEC, "not an ELF file (bad magic)");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return elf_fail(out, -ENOEXEC, "not a 64-bit ELF file (class %u)",
				eh->e_ident[EI_CLASS]);
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return elf_fail(out, -ENOEXEC, "not a little-endian ELF file");
	if (eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT)
		return elf_fail(out, -ENOEXEC, "unknown ELF version %u", eh->e_version);
	if (eh->e_machine != EM_X86_64)
		return elf_fail(out, -ENOEXEC, "not an x86-64 ELF file (machine %u)",
				eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return elf_fail(out, -ENOEXEC, "not an ELF executable (type %u)",
				eh->e_type);
	if (eh->e_phnum == 0 || eh->e_phnum == PN_XNUM)
		return elf_fail(out, -ENOEXEC, "no usable program headers (count %u)",
				eh->e_phnum);
	if (eh->e_phentsize < sizeof(Elf64_Phdr))
		return elf_fail(out, -ENOEXEC, "program header size %u is too small",
				eh->e_phentsize);
	if (!in_file(eh->e_phoff, (uint64_t)eh->e_phnum * eh->e_phentsize, len))
		return elf_fail(out, -ENOEXEC,
				"program headers past the end of the file");
	return 0;
}

static void get_phdr(const uint8_t *f, const Elf64_Ehdr *eh, unsigned int i,
		     Elf64_Phdr *ph)
{
	memcpy(ph, f + eh->e_phoff + (uint64_t)i * eh->e_phentsize, sizeof(*ph));
}

static int check_load(const struct guest_mem *gm, size_t len, unsigned int i,
		      const Elf64_Phdr *ph, struct elf_info *out)
{
	char ram[32];

	if (ph->p_filesz > ph->p_memsz)
		return elf_fail(out, -ENOEXEC,
				"segment %u: file size 0x%" PRIx64
				" larger than memory size 0x%" PRIx64,
				i, ph->p_filesz, ph->p_memsz);
	if (!in_file(ph->p_offset, ph->p_filesz, len))
		return elf_fail(out, -ENOEXEC,
				"segment %u: data at offset 0x%" PRIx64 " + 0x%" PRIx64
				" past the end of the file (%zu bytes)",
				i, ph->p_offset, ph->p_filesz, len);
	if (ph->p_memsz > UINT64_MAX - ph->p_paddr)
		return elf_fail(out, -ENOEXEC,
				"segment %u: address 0x%" PRIx64 " + size 0x%" PRIx64
				" wraps around",
				i, ph->p_paddr, ph->p_memsz);
	if (!gmem_ptr(gm, ph->p_paddr, ph->p_memsz)) {
		format_size(ram, sizeof(ram), gm->size);
		return elf_fail(out, -ERANGE,
				"segment %u at 0x%" PRIx64 "-0x%" PRIx64
				" does not fit in %s of RAM",
				i, ph->p_paddr, ph->p_paddr + ph->p_memsz, ram);
	}
	return 0;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static int read_pvh_entry(const uint8_t *desc, uint32_t descsz, struct elf_info *out)
{
	uint32_t v32;
	uint64_t v64;

	/* Linux emits it with _ASM_PTR: 8 bytes on x86-64, 4 on i386. */
	if (descsz == 4) {
		memcpy(&v32, desc, 4);
		out->pvh_entry = v32;
		return 0;
	}
	if (descsz == 8) {
		memcpy(&v64, desc, 8);
		if (v64 <= UINT32_MAX) {
			out->pvh_entry = (uint32_t)v64;
			return 0;
		}
	}
	return elf_fail(out, -ENOEXEC, "malformed PVH entry note (%u bytes)", descsz);
}

static bool is_pvh_note(const Elf64_Nhdr *nh, const uint8_t *name)
{
	return nh->n_type == ELF_XEN_PHYS32_ENTRY &&
	       nh->n_namesz == sizeof(ELF_NOTE_XEN_NAME) &&
	       memcmp(name, ELF_NOTE_XEN_NAME, sizeof(ELF_NOTE_XEN_NAME)) == 0;
}

static int parse_notes(const uint8_t *f, size_t len, unsigned int i, const Elf64_Phdr *ph,
		       struct elf_info *out)
{
	uint64_t align = ph->p_align == 8 ? 8 : 4;
	const uint8_t *p = f + ph->p_offset;
	uint64_t pos = 0, size = ph->p_filesz;
	Elf64_Nhdr nh;

	if (!in_file(ph->p_offset, ph->p_filesz, len))
		return elf_fail(out, -ENOEXEC,
				"segment %u: notes past the end of the file", i);
	while (pos < size) {
		if (size - pos < sizeof(nh))
			goto truncated;
		memcpy(&nh, p + pos, sizeof(nh));
		pos += sizeof(nh);
		if (align_up(nh.n_namesz, align) > size - pos)
			goto truncated;
		/* The last note's descriptor may come without its padding. */
		if (nh.n_descsz > size - pos - align_up(nh.n_namesz, align))
			goto truncated;
		if (is_pvh_note(&nh, p + pos)) {
			int err = read_pvh_entry(p + pos + align_up(nh.n_namesz, align),
						 nh.n_descsz, out);
			if (err)
				return err;
		}
		pos += align_up(nh.n_namesz, align);
		pos += align_up(nh.n_descsz, align) < size - pos
			   ? align_up(nh.n_descsz, align)
			   : size - pos;
	}
	return 0;

truncated:
	return elf_fail(out, -ENOEXEC, "segment %u: truncated note at offset 0x%" PRIx64,
			i, ph->p_offset + pos);
}

/* First pass: nothing is written to guest memory until every header is good. */
static int check_phdrs(const uint8_t *f, size_t len, const Elf64_Ehdr *eh,
		       const struct guest_mem *gm, struct elf_info *out)
{
	unsigned int loads = 0;
	Elf64_Phdr ph;
	int err;

	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		get_phdr(f, eh, i, &ph);
		if (ph.p_type == PT_LOAD && ph.p_memsz) {
			err = check_load(gm, len, i, &ph, out);
			if (err)
				return err;
			if (!loads++ || ph.p_paddr < out->lo)
				out->lo = ph.p_paddr;
			if (ph.p_paddr + ph.p_memsz > out->hi)
				out->hi = ph.p_paddr + ph.p_memsz;
		} else if (ph.p_type == PT_NOTE) {
			err = parse_notes(f, len, i, &ph, out);
			if (err)
				return err;
		}
	}
	if (!loads)
		return elf_fail(out, -ENOEXEC, "no loadable segment");
	return 0;
}

int elf_load(const void *file, size_t len, struct guest_mem *gm, struct elf_info *out)
{
	const uint8_t *f = file;
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	uint8_t *dst;
	int err;

	memset(out, 0, sizeof(*out));
	err = check_ehdr(f, len, &eh, out);
	if (err)
		return err;
	err = check_phdrs(f, len, &eh, gm, out);
	if (err)
		return err;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		get_phdr(f, &eh, i, &ph);
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		dst = gmem_ptr(gm, ph.p_paddr, ph.p_memsz);
		memcpy(dst, f + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
	}
	out->entry = eh.e_entry;
	return 0;
}

static int elf_prefix_path(struct elf_info *out, const char *path, int err)
{
	char msg[sizeof(out->error)];

	memcpy(msg, out->error, sizeof(msg));
	return elf_fail(out, err, "%s: %.200s", path, msg);
}

int elf_load_file(const char *path, struct guest_mem *gm, struct elf_info *out)
{
	struct stat st;
	void *map;
	int fd, err;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		return elf_fail(out, err, "%s: cannot open: %s", path, strerror(-err));
	}
	if (fstat(fd, &st) < 0) {
		err = -errno;
		elf_fail(out, err, "%s: cannot stat: %s", path, strerror(-err));
		goto err_close_fd;
	}
	if (!S_ISREG(st.st_mode)) {
		err = elf_fail(out, -EINVAL, "%s: not a regular file", path);
		goto err_close_fd;
	}
	if (st.st_size == 0) {
		err = elf_fail(out, -ENOEXEC, "%s: empty file", path);
		goto err_close_fd;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		err = -errno;
		elf_fail(out, err, "%s: cannot read: %s", path, strerror(-err));
		goto err_close_fd;
	}
	err = elf_load(map, (size_t)st.st_size, gm, out);
	if (err)
		err = elf_prefix_path(out, path, err);
	munmap(map, (size_t)st.st_size);
err_close_fd:
	close(fd);
	return err;
}
