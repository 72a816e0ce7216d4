// SPDX-License-Identifier: MIT
/*
 * rackvm-mem [MiB]: write a pattern over a large buffer, read it back.
 *
 * Prints "memtotal_kb=... buffer_mb=... errors=... write_ms=... verify_ms=..."
 * on stdout; exits 0 only if every word read back as written. The default
 * buffer is half of MemAvailable, so that the test touches pages homed on
 * every node without pushing the guest into the OOM killer. Each word's value
 * depends on its address and the pass, so a stale or misplaced page shows.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static uint64_t meminfo_kb(const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	uint64_t kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			kb = strtoull(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t pattern(uint64_t i, uint64_t pass)
{
	return (i * 0x9e3779b97f4a7c15ull) ^ (pass << 56) ^ i;
}

static void fill(uint64_t *w, uint64_t n, uint64_t pass)
{
	for (uint64_t i = 0; i < n; i++)
		w[i] = pattern(i, pass);
}

static uint64_t verify(const volatile uint64_t *w, uint64_t n, uint64_t pass)
{
	uint64_t bad = 0;

	for (uint64_t i = 0; i < n; i++)
		if (w[i] != pattern(i, pass)) {
			if (!bad)
				fprintf(stderr, "rackvm-mem: word %" PRIu64 " wrong\n",
					i);
			bad++;
		}
	return bad;
}

int main(int argc, char **argv)
{
	uint64_t total = meminfo_kb("MemTotal");
	uint64_t mb =
	    argc > 1 ? strtoull(argv[1], NULL, 10) : meminfo_kb("MemAvailable") / 2048;
	uint64_t n, errors, t0, t1, t2;
	uint64_t *w;

	if (mb == 0)
		mb = 1;
	if (mb > (1ull << 30)) {
		printf("memtotal_kb=%" PRIu64 " buffer_mb=%" PRIu64 " reason=too-large\n",
		       total, mb);
		return 1;
	}
	n = mb << 17; /* 8-byte words per MiB */
	w = mmap(NULL, mb << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		 0);
	if (w == MAP_FAILED) {
		printf("memtotal_kb=%" PRIu64 " buffer_mb=%" PRIu64
		       " reason=mmap-failed\n",
		       total, mb);
		return 1;
	}
	t0 = now_ms();
	fill(w, n, 1);
	t1 = now_ms();
	errors = verify(w, n, 1);
	/* a second pass over pages that now exist: catches lost writes */
	fill(w, n, 2);
	errors += verify(w, n, 2);
	t2 = now_ms();
	printf("memtotal_kb=%" PRIu64 " buffer_mb=%" PRIu64 " errors=%" PRIu64
	       " write_ms=%" PRIu64 " verify_ms=%" PRIu64 "\n",
	       total, mb, errors, t1 - t0, t2 - t1);
	munmap(w, mb << 20);
	return total == 0 || errors ? 1 : 0;
}
