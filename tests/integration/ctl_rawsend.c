// SPDX-License-Identifier: MIT
/*
 * Test helper: sends raw, non-protobuf bytes to a coordinator from a ZeroMQ
 * DEALER, then prints whatever comes back (non-printable bytes as '.').
 *   ctl_rawsend ENDPOINT garbage|multipart|empty [WAIT_MS]
 * Exit 0 if an answer arrived, 1 if none within WAIT_MS, 2 on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static int send_mode(void *sock, const char *mode)
{
	static const unsigned char garbage[] = {0xde, 0xad, 0xbe, 0xef, 0xff, 0xff,
						0xff, 0xff, 0x0f, 0x08, 0x01, 0x12};

	if (!strcmp(mode, "garbage"))
		return zmq_send(sock, garbage, sizeof(garbage), 0) < 0 ? -1 : 0;
	if (!strcmp(mode, "multipart"))
		return zmq_send(sock, "x", 1, ZMQ_SNDMORE) < 0 ||
			       zmq_send(sock, "y", 1, 0) < 0
			   ? -1
			   : 0;
	if (!strcmp(mode, "empty"))
		return zmq_send(sock, "", 0, 0) < 0 ? -1 : 0;
	return -2;
}

static void print_reply(void *sock)
{
	char buf[2048];
	int n = zmq_recv(sock, buf, sizeof(buf), 0);

	if (n > (int)sizeof(buf))
		n = sizeof(buf);
	for (int i = 0; i < n; i++)
		putchar(buf[i] >= 32 && buf[i] < 127 ? buf[i] : '.');
	putchar('\n');
}

int main(int argc, char **argv)
{
	void *ctx, *sock;
	int wait_ms = argc > 3 ? atoi(argv[3]) : 3000, linger = 0, ret;
	zmq_pollitem_t it;

	if (argc < 3) {
		fprintf(
		    stderr,
		    "usage: ctl_rawsend ENDPOINT garbage|multipart|empty [WAIT_MS]\n");
		return 2;
	}
	ctx = zmq_ctx_new();
	sock = zmq_socket(ctx, ZMQ_DEALER);
	zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
	if (zmq_connect(sock, argv[1]) < 0) {
		fprintf(stderr, "ctl_rawsend: connect %s: %s\n", argv[1],
			zmq_strerror(errno));
		return 2;
	}
	ret = send_mode(sock, argv[2]);
	if (ret == -2) {
		fprintf(stderr, "ctl_rawsend: unknown mode %s\n", argv[2]);
		return 2;
	}
	it = (zmq_pollitem_t){.socket = sock, .events = ZMQ_POLLIN};
	ret = ret == 0 && zmq_poll(&it, 1, wait_ms) == 1;
	if (ret)
		print_reply(sock);
	else
		printf("no answer within %d ms\n", wait_ms);
	zmq_close(sock);
	zmq_ctx_term(ctx);
	return ret ? 0 : 1;
}
