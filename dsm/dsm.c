// SPDX-License-Identifier: MIT
/* struct dsm: configuration, life cycle, the VMM's accesses and counters. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "dsm/dsm_priv.h"

uint64_t dsm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int check_config(const struct dsm_config *c)
{
	if (!c->nr_nodes || c->nr_nodes > DSM_MAX_NODES || c->node_id >= c->nr_nodes)
		return -EINVAL;
	if (!c->region_size || c->region_size % DSM_PAGE_SIZE)
		return -EINVAL;
	if (!c->xport && c->nr_nodes > 1)
		return -EINVAL;
	if (c->xport_region >= XPORT_MAX_REGIONS)
		return -EINVAL;
	return 0;
}

/* Every page gets exactly one home, or the configuration is refused. */
static int build_homes(struct dsm *d)
{
	const struct dsm_config *c = &d->cfg;
	uint64_t per = (d->nr_pages + c->nr_nodes - 1) / c->nr_nodes;

	d->home = malloc(d->nr_pages * sizeof(*d->home));
	if (!d->home)
		return -ENOMEM;
	if (!c->homes) {
		for (uint64_t p = 0; p < d->nr_pages; p++)
			d->home[p] = (uint16_t)(p / per);
		return 0;
	}
	memset(d->home, 0xff, d->nr_pages * sizeof(*d->home));
	for (uint32_t i = 0; i < c->nr_homes; i++) {
		const struct dsm_home_range *r = &c->homes[i];

		if (r->off % DSM_PAGE_SIZE || r->len % DSM_PAGE_SIZE ||
		    r->node >= c->nr_nodes || r->off > c->region_size ||
		    r->len > c->region_size - r->off)
			return -EINVAL;
		for (uint64_t p = r->off >> DSM_PAGE_SHIFT;
		     p < (r->off + r->len) >> DSM_PAGE_SHIFT; p++)
			d->home[p] = (uint16_t)r->node;
	}
	for (uint64_t p = 0; p < d->nr_pages; p++)
		if (d->home[p] == 0xffff)
			return -EINVAL;
	return 0;
}

static int alloc_tables(struct dsm *d)
{
	uint64_t chunks = (d->cfg.region_size + DSM_STATS_CHUNK - 1) / DSM_STATS_CHUNK;

	d->pages = calloc(d->nr_pages, sizeof(*d->pages));
	d->dir = calloc(d->nr_pages, sizeof(*d->dir));
	d->range = calloc(chunks, sizeof(*d->range));
	d->thread_from = calloc((size_t)DSM_MAX_THREADS * (d->cfg.nr_nodes ? d->cfg.nr_nodes : 1),
				sizeof(*d->thread_from));
	d->page_faults = calloc(d->nr_pages, sizeof(*d->page_faults));
	d->page_lost = calloc(d->nr_pages, sizeof(*d->page_lost));
	return d->pages && d->dir && d->range && d->thread_from && d->page_faults &&
		       d->page_lost
		   ? 0
		   : -ENOMEM;
}

int dsm_create(const struct dsm_config *cfg, struct dsm **out)
{
	struct dsm *d;
	int err = check_config(cfg);

	if (err)
		return err;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->cfg = *cfg;
	d->memfd = d->uffd = d->stop_fd = -1;
	d->nr_pages = cfg->region_size >> DSM_PAGE_SHIFT;
	err = build_homes(d);
	if (!err)
		err = alloc_tables(d);
	if (err)
		goto err_free;
	d->wire = (struct dsm_wire_ctx){.me = cfg->node_id,
					.nr_nodes = cfg->nr_nodes,
					.nr_pages = d->nr_pages,
					.home = d->home};
	d->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->stop_fd < 0) {
		err = -errno;
		goto err_free;
	}
	err = dsm_map_create(d);
	if (err)
		goto err_free;
	if (cfg->xport) {
		err = xport_mr_reg(cfg->xport, cfg->xport_region, d->alias,
				   cfg->region_size);
		if (err) {
			dsm_log(d, "registering the alias with the transport: %s",
				strerror(-err));
			goto err_unmap;
		}
	}
	*out = d;
	return 0;

err_unmap:
	dsm_map_destroy(d);
err_free:
	if (d->stop_fd >= 0)
		close(d->stop_fd);
	free(d->page_lost);
	free(d->page_faults);
	free(d->thread_from);
	free(d->range);
	free(d->dir);
	free(d->pages);
	free(d->home);
	free(d);
	return err;
}

void *dsm_guest_view(struct dsm *d, uint64_t *size)
{
	if (size)
		*size = d->cfg.region_size;
	return d->guest;
}

int dsm_memfd(struct dsm *d)
{
	return d->memfd;
}

int dsm_start(struct dsm *d)
{
	int err;

	if (d->running)
		return -EBUSY;
	err = -pthread_create(&d->thread, NULL, dsm_loop, d);
	if (!err)
		d->running = true;
	return err;
}

void dsm_stop(struct dsm *d)
{
	uint64_t one = 1;

	if (!d->running)
		return;
	if (write(d->stop_fd, &one, sizeof(one)) != sizeof(one))
		dsm_log(d, "cannot signal the fault service to stop");
	pthread_join(d->thread, NULL);
	d->running = false;
}

void dsm_destroy(struct dsm *d)
{
	if (!d)
		return;
	dsm_stop(d);
	dsm_dir_free(d);
	dsm_map_destroy(d);
	close(d->stop_fd);
	free(d->localq.msgs);
	dsm_hold_free(d);
	free(d->page_lost);
	free(d->page_faults);
	free(d->thread_from);
	free(d->range);
	free(d->dir);
	free(d->pages);
	free(d->home);
	free(d);
}

int dsm_home_of(struct dsm *d, uint64_t off)
{
	return off < d->cfg.region_size ? d->home[off >> DSM_PAGE_SHIFT] : -ERANGE;
}

int dsm_access(struct dsm *d, uint64_t off, void *buf, size_t len, bool write)
{
	if (off > d->cfg.region_size || len > d->cfg.region_size - off)
		return -ERANGE;
	/* The DSM thread resolves the faults this copy takes. */
	if (d->running && pthread_equal(pthread_self(), d->thread))
		return -EDEADLK;
	if (write)
		memcpy(d->guest + off, buf, len);
	else
		memcpy(buf, d->guest + off, len);
	STAT_ADD(d->st.accesses, 1);
	return 0;
}
