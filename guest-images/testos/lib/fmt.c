// SPDX-License-Identifier: MIT
/*
 * lib/fmt.c - a small vsnprintf: %d %i %u %x %X %p %s %c %%, flags '-' '0'
 * '#', a width, and the h, l, ll, z length modifiers. No floating point
 * (testos is built with -mgeneral-regs-only). Shared by kernel and programs.
 */
#include "testos.h"

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

struct spec {
	int width;
	char pad;
	int left, alt, lng;
};

static void put_num(struct out *o, uint64_t v, int neg, unsigned int base, int upper,
		    const struct spec *s)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, extra = neg + (s->alt && base == 16) * 2, total;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	total = n + extra;
	if (!s->left && s->pad == ' ')
		put_pad(o, ' ', s->width - total);
	if (neg)
		put(o, '-');
	if (s->alt && base == 16) {
		put(o, '0');
		put(o, 'x');
	}
	if (!s->left && s->pad == '0')
		put_pad(o, '0', s->width - total);
	while (n)
		put(o, tmp[--n]);
	if (s->left)
		put_pad(o, ' ', s->width - total);
}

static const char *parse_spec(const char *f, struct spec *s)
{
	*s = (struct spec){.pad = ' '};
	for (;; f++) {
		if (*f == '-')
			s->left = 1;
		else if (*f == '0')
			s->pad = '0';
		else if (*f == '#')
			s->alt = 1;
		else
			break;
	}
	while (*f >= '0' && *f <= '9')
		s->width = s->width * 10 + (*f++ - '0');
	while (*f == 'l' || *f == 'z' || *f == 'h') {
		if (*f != 'h')
			s->lng++;
		f++;
	}
	return f;
}

static uint64_t arg_unsigned(va_list *ap, const struct spec *s)
{
	return s->lng ? va_arg(*ap, uint64_t) : va_arg(*ap, unsigned int);
}

static void put_str(struct out *o, const char *str, const struct spec *s)
{
	int n = (int)strlen(str ? str : "(null)");

	if (!s->left)
		put_pad(o, ' ', s->width - n);
	for (const char *p = str ? str : "(null)"; *p; p++)
		put(o, *p);
	if (s->left)
		put_pad(o, ' ', s->width - n);
}

static void put_conv(struct out *o, char c, va_list *ap, struct spec *s)
{
	int64_t sv;

	switch (c) {
	case 'd':
	case 'i':
		sv = s->lng ? va_arg(*ap, int64_t) : va_arg(*ap, int);
		put_num(o, sv < 0 ? -(uint64_t)sv : (uint64_t)sv, sv < 0, 10, 0, s);
		break;
	case 'u':
		put_num(o, arg_unsigned(ap, s), 0, 10, 0, s);
		break;
	case 'x':
	case 'X':
		put_num(o, arg_unsigned(ap, s), 0, 16, c == 'X', s);
		break;
	case 'p':
		s->alt = 1;
		put_num(o, (uint64_t)(uintptr_t)va_arg(*ap, void *), 0, 16, 0, s);
		break;
	case 's':
		put_str(o, va_arg(*ap, const char *), s);
		break;
	case 'c':
		put(o, (char)va_arg(*ap, int));
		break;
	default:
		put(o, '%');
		if (c)
			put(o, c);
	}
}

int t_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = {buf, size, 0};
	struct spec s;
	va_list aq;

	va_copy(aq, ap);
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			put(&o, *f);
			continue;
		}
		f = parse_spec(f + 1, &s);
		put_conv(&o, *f, &aq, &s);
		if (!*f)
			break;
	}
	va_end(aq);
	if (size)
		buf[o.len < size ? o.len : size - 1] = 0;
	return (int)o.len;
}

int t_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = t_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
