/*
 * authpool.c — a fixed set of worker threads over one bounded FIFO.
 *
 * The queue is a ring of at most queue_len jobs; the per-address count is
 * found by scanning queued and running jobs, which is cheap at these sizes
 * (hundreds) and keeps no second structure to get out of step.
 */
#include "autoconfig.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "authpool.h"
#include "log.h"

#define ADDR_MAX 64
#define REQID_MAX 40

struct job {
	authpool_fn *run;
	void *arg;
	char addr[ADDR_MAX];
	char request_id[REQID_MAX];
};

struct authpool {
	pthread_mutex_t lock;
	pthread_cond_t work;       /* a job was queued, or closing */
	pthread_cond_t idle;       /* a running job finished */
	struct job *ring;
	unsigned queue_len, head, count;
	struct job *running;       /* one slot per worker; run == NULL when idle */
	unsigned n_workers, n_started;
	unsigned per_addr_limit;
	bool closing;
	pthread_t *threads;
};

struct worker_arg {
	struct authpool *pool;
	unsigned slot;
};

static unsigned
jobs_for_addr(const struct authpool *pool, const char *addr)
{
	unsigned n = 0;

	for (unsigned i = 0; i < pool->count; i++)
		if (strcmp(pool->ring[(pool->head + i) % pool->queue_len].addr, addr) == 0)
			n++;
	for (unsigned i = 0; i < pool->n_workers; i++)
		if (pool->running[i].run != NULL && strcmp(pool->running[i].addr, addr) == 0)
			n++;
	return n;
}

static void *
worker_main(void *p)
{
	struct worker_arg *wa = p;
	struct authpool *pool = wa->pool;
	struct job *slot = &pool->running[wa->slot];

	free(wa);
	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (pool->count == 0 && !pool->closing)
			pthread_cond_wait(&pool->work, &pool->lock);
		if (pool->count == 0)
			break;  /* closing and nothing left */
		*slot = pool->ring[pool->head];
		pool->head = (pool->head + 1) % pool->queue_len;
		pool->count--;
		pthread_mutex_unlock(&pool->lock);

		log_set_request_id(slot->request_id);
		slot->run(slot->arg, false);
		log_set_request_id(NULL);

		pthread_mutex_lock(&pool->lock);
		slot->run = NULL;
		pthread_cond_broadcast(&pool->idle);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

struct authpool *
authpool_new(unsigned workers, unsigned queue_len, unsigned per_addr_limit)
{
	struct authpool *pool;

	if (workers == 0 || queue_len == 0) {
		errno = EINVAL;
		return NULL;
	}
	if ((pool = calloc(1, sizeof(*pool))) == NULL)
		return NULL;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->work, NULL);
	pthread_cond_init(&pool->idle, NULL);
	pool->queue_len = queue_len;
	pool->n_workers = workers;
	pool->per_addr_limit = per_addr_limit;
	pool->ring = calloc(queue_len, sizeof(*pool->ring));
	pool->running = calloc(workers, sizeof(*pool->running));
	pool->threads = calloc(workers, sizeof(*pool->threads));
	if (pool->ring == NULL || pool->running == NULL || pool->threads == NULL)
		goto fail;
	for (unsigned i = 0; i < workers; i++) {
		struct worker_arg *wa = malloc(sizeof(*wa));
		int rc;

		if (wa == NULL)
			goto fail;
		wa->pool = pool;
		wa->slot = i;
		if ((rc = pthread_create(&pool->threads[i], NULL, worker_main, wa)) != 0) {
			free(wa);
			errno = rc;
			goto fail;
		}
		pool->n_started++;
	}
	return pool;
fail:
	authpool_close(pool);
	authpool_free(pool);
	return NULL;
}

enum authpool_submit
authpool_submit(struct authpool *pool, const char *addr, const char *request_id,
    authpool_fn *run, void *arg)
{
	enum authpool_submit r = AUTHPOOL_QUEUED;
	struct job *job;

	if (addr == NULL)
		addr = "";
	pthread_mutex_lock(&pool->lock);
	if (pool->closing)
		r = AUTHPOOL_CLOSED;
	else if (pool->count >= pool->queue_len)
		r = AUTHPOOL_FULL;
	else if (pool->per_addr_limit > 0 && addr[0] != '\0' &&
	    jobs_for_addr(pool, addr) >= pool->per_addr_limit)
		r = AUTHPOOL_ADDR_BUSY;
	if (r == AUTHPOOL_QUEUED) {
		job = &pool->ring[(pool->head + pool->count) % pool->queue_len];
		job->run = run;
		job->arg = arg;
		snprintf(job->addr, sizeof(job->addr), "%s", addr);
		snprintf(job->request_id, sizeof(job->request_id), "%s",
		    request_id != NULL ? request_id : "-");
		pool->count++;
		pthread_cond_signal(&pool->work);
	}
	pthread_mutex_unlock(&pool->lock);
	return r;
}

unsigned
authpool_pending(struct authpool *pool)
{
	unsigned n;

	pthread_mutex_lock(&pool->lock);
	n = pool->count;
	for (unsigned i = 0; i < pool->n_workers; i++)
		if (pool->running[i].run != NULL)
			n++;
	pthread_mutex_unlock(&pool->lock);
	return n;
}

void
authpool_close(struct authpool *pool)
{
	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->closing = true;
	/* Cancel what has not started: each job answers its own request. */
	while (pool->count > 0) {
		struct job job = pool->ring[pool->head];

		pool->head = (pool->head + 1) % pool->queue_len;
		pool->count--;
		pthread_mutex_unlock(&pool->lock);
		job.run(job.arg, true);
		pthread_mutex_lock(&pool->lock);
	}
	pthread_cond_broadcast(&pool->work);
	pthread_mutex_unlock(&pool->lock);
	for (unsigned i = 0; i < pool->n_started; i++)
		pthread_join(pool->threads[i], NULL);
	pool->n_started = 0;
}

void
authpool_free(struct authpool *pool)
{
	if (pool == NULL)
		return;
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->work);
	pthread_cond_destroy(&pool->idle);
	free(pool->ring);
	free(pool->running);
	free(pool->threads);
	free(pool);
}
