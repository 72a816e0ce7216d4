/* SPDX-License-Identifier: MIT */
/*
 * core/uart.h - an 8250/16550A UART, transmit side only: the guest console.
 * Output goes to a FILE; every complete line is also handed to a callback
 * (the VMM scans it for RACKVM-RESULT lines). The THR-empty interrupt is
 * raised through @irq so Linux's interrupt-driven tty works.
 */
#ifndef RACKVM_CORE_UART_H
#define RACKVM_CORE_UART_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define UART_LINE_MAX 1024

struct uart {
	pthread_mutex_t lock;
	FILE *out;
	void (*irq)(void *ctx, bool level);
	void (*line)(void *ctx, const char *line);
	void *ctx;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thr_irq; /* THR-empty interrupt pending (cleared by IIR read / THR write) */
	size_t line_len;
	char line_buf[UART_LINE_MAX];
};

void uart_init(struct uart *u, FILE *out, void (*irq)(void *ctx, bool level),
	       void (*line)(void *ctx, const char *line), void *ctx);
void uart_destroy(struct uart *u);
/* Register access at COM base + @off (0..7). */
uint8_t uart_read(struct uart *u, unsigned int off);
void uart_write(struct uart *u, unsigned int off, uint8_t value);
/* Flush a partial last line (at exit). */
void uart_flush(struct uart *u);

#endif
