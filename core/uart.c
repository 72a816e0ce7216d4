// SPDX-License-Identifier: MIT
/* 8250/16550A UART, transmit only: enough for Linux's 8250 driver and testos. */
#include <string.h>

#include "core/uart.h"

enum {
	UART_RBR_THR = 0,
	UART_IER = 1,
	UART_IIR_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7,
};

#define LCR_DLAB 0x80
#define IER_THRI 0x02
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_FIFO 0xc0
#define LSR_TEMT_THRE 0x60
#define MCR_LOOP 0x10
#define MSR_LOOP_DEFAULT 0xb0 /* DCD, DSR, CTS: what probes expect */

void uart_init(struct uart *u, FILE *out, void (*irq)(void *ctx, bool level),
	       void (*line)(void *ctx, const char *line), void *ctx)
{
	memset(u, 0, sizeof(*u));
	pthread_mutex_init(&u->lock, NULL);
	u->out = out;
	u->irq = irq;
	u->line = line;
	u->ctx = ctx;
}

void uart_destroy(struct uart *u)
{
	pthread_mutex_destroy(&u->lock);
}

static void emit(struct uart *u, uint8_t c)
{
	fputc(c, u->out);
	if (c == '\n' || u->line_len == UART_LINE_MAX - 1) {
		fflush(u->out);
		u->line_buf[u->line_len] = 0;
		if (u->line)
			u->line(u->ctx, u->line_buf);
		u->line_len = 0;
		return;
	}
	if (c != '\r')
		u->line_buf[u->line_len++] = (char)c;
}

void uart_flush(struct uart *u)
{
	pthread_mutex_lock(&u->lock);
	if (u->line_len)
		emit(u, '\n');
	fflush(u->out);
	pthread_mutex_unlock(&u->lock);
}

/* Level of the interrupt line after a register access (lock held). */
static bool irq_level(const struct uart *u)
{
	return (u->ier & IER_THRI) && u->thr_irq;
}

uint8_t uart_read(struct uart *u, unsigned int off)
{
	uint8_t v = 0;
	bool level;

	pthread_mutex_lock(&u->lock);
	switch (off) {
	case UART_RBR_THR:
		v = (u->lcr & LCR_DLAB) ? u->dll : 0;
		break;
	case UART_IER:
		v = (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
		break;
	case UART_IIR_FCR:
		v = irq_level(u) ? IIR_THRI : IIR_NONE;
		if (u->fcr & 1)
			v |= IIR_FIFO;
		u->thr_irq = false; /* reading IIR acknowledges THRE */
		break;
	case UART_LCR:
		v = u->lcr;
		break;
	case UART_MCR:
		v = u->mcr;
		break;
	case UART_LSR:
		v = LSR_TEMT_THRE; /* the host takes every byte at once */
		break;
	case UART_MSR:
		v = (u->mcr & MCR_LOOP) ? (uint8_t)((u->mcr & 0x0f) << 4) : MSR_LOOP_DEFAULT;
		break;
	case UART_SCR:
		v = u->scr;
		break;
	}
	level = irq_level(u);
	pthread_mutex_unlock(&u->lock);
	if (u->irq && off == UART_IIR_FCR)
		u->irq(u->ctx, level);
	return v;
}

void uart_write(struct uart *u, unsigned int off, uint8_t value)
{
	bool level;

	pthread_mutex_lock(&u->lock);
	switch (off) {
	case UART_RBR_THR:
		if (u->lcr & LCR_DLAB) {
			u->dll = value;
		} else {
			if (!(u->mcr & MCR_LOOP))
				emit(u, value);
			u->thr_irq = true; /* transmitted at once: THR empty again */
		}
		break;
	case UART_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = value;
		} else {
			/* enabling THRI with an empty THR raises it at once */
			if (!(u->ier & IER_THRI) && (value & IER_THRI))
				u->thr_irq = true;
			u->ier = value & 0x0f;
		}
		break;
	case UART_IIR_FCR:
		u->fcr = value;
		break;
	case UART_LCR:
		u->lcr = value;
		break;
	case UART_MCR:
		u->mcr = value & 0x1f;
		break;
	case UART_SCR:
		u->scr = value;
		break;
	}
	level = irq_level(u);
	pthread_mutex_unlock(&u->lock);
	if (u->irq)
		u->irq(u->ctx, level);
}
