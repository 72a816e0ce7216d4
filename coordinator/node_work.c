// SPDX-License-Identifier: MIT
/*
 * The node's data-plane worker thread. Opening an endpoint (provider
 * discovery) and xport_connect and the mesh health check (until every peer
 * has answered, or their own timeout) can take longer than a heartbeat
 * interval: run them off the control loop.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "coordinator/node.h"

static void *node_work_main(void *arg)
{
	struct node_work *w = arg;
	uint64_t t0 = ctl_now_us(), one = 1;
	int ret = 0;

	if (w->task == NODE_TASK_OPEN) {
		ret = xport_open(&w->cfg, &w->t);
		if (ret)
			w->t = NULL;
		else
			ret = xport_local_addr(w->t, &w->addr);
		goto out_done;
	}
	if (w->task == NODE_TASK_VM) {
		ret = node_vm_run(w->vm);
		goto out_done;
	}
	if (w->task == NODE_TASK_CHECK && w->vm)
		ret = node_vm_memory(w->vm, w->t); /* the DSM registers before connect */
	if (!ret && w->task == NODE_TASK_CHECK)
		ret = xport_connect(w->t, w->peers);
	if (!ret && w->rounds)
		ret = xport_mesh_selftest(w->t, w->rounds);
	if (!ret && w->task == NODE_TASK_CHECK && w->vm)
		ret = node_vm_create(w->vm);
out_done:
	w->result = ret;
	w->took_us = ctl_now_us() - t0;
	/* the release of the results above pairs with the loop's read of efd */
	if (write(w->efd, &one, sizeof(one)) != sizeof(one))
		perror("rackvm node: eventfd write");
	return NULL;
}

int node_work_init(struct node_work *w)
{
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return w->efd < 0 ? -errno : 0;
}

int node_work_start(struct node_work *w, enum node_task task)
{
	int ret;

	if (w->busy)
		return -EBUSY;
	w->task = task;
	w->result = 0;
	ret = pthread_create(&w->thread, NULL, node_work_main, w);
	if (ret)
		return -ret;
	w->busy = true;
	return 0;
}

bool node_work_reap(struct node_work *w)
{
	uint64_t v;

	if (!w->busy)
		return true;
	if (read(w->efd, &v, sizeof(v)) != sizeof(v))
		return false;
	pthread_join(w->thread, NULL);
	w->busy = false;
	return true;
}

void node_work_fini(struct node_work *w)
{
	if (w->efd >= 0)
		close(w->efd);
	w->efd = -1;
}

bool node_work_reap_wait(struct node_work *w, unsigned int ms)
{
	struct pollfd pfd = {.fd = w->efd, .events = POLLIN};

	if (w->busy)
		poll(&pfd, 1, (int)ms);
	return node_work_reap(w);
}
