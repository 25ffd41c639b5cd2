/*
 * delayq.c — one thread, a list kept sorted by due time (see delayq.h).
 *
 * The list stays short (failed sign-ins of the last second or so), so an
 * insertion sort is simpler than a heap and fast enough.
 */
#include "autoconfig.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "delayq.h"
#include "log.h"
#include "util.h"

struct item {
	struct item *next;
	uint64_t at_ms;
	delayq_fn *fn;
	void *arg;
};

struct delayq {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct item *head;
	bool closing, started;
	pthread_t thread;
};

/* Take the first item that is due (or any, when closing); NULL to wait. */
static struct item *
take_due(struct delayq *q)
{
	struct item *it = q->head;

	if (it == NULL || (!q->closing && it->at_ms > now_ms()))
		return NULL;
	q->head = it->next;
	return it;
}

static void
wait_for_change(struct delayq *q)
{
	struct timespec ts;
	uint64_t ms;

	if (q->head == NULL) {
		pthread_cond_wait(&q->changed, &q->lock);
		return;
	}
	/* The condition variable runs on CLOCK_MONOTONIC (see delayq_new). */
	ms = q->head->at_ms;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	(void)pthread_cond_timedwait(&q->changed, &q->lock, &ts);
}

static void *
timer_main(void *p)
{
	struct delayq *q = p;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct item *it = take_due(q);

		if (it != NULL) {
			pthread_mutex_unlock(&q->lock);
			it->fn(it->arg);
			free(it);
			pthread_mutex_lock(&q->lock);
			continue;
		}
		if (q->closing)
			break;
		wait_for_change(q);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

struct delayq *
delayq_new(void)
{
	struct delayq *q = calloc(1, sizeof(*q));
	pthread_condattr_t ca;
	int rc;

	if (q == NULL)
		return NULL;
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->changed, &ca);
	pthread_condattr_destroy(&ca);
	if ((rc = pthread_create(&q->thread, NULL, timer_main, q)) != 0) {
		delayq_free(q);
		errno = rc;
		return NULL;
	}
	q->started = true;
	return q;
}

void
delayq_add(struct delayq *q, uint64_t at_ms, delayq_fn *fn, void *arg)
{
	struct item *it = malloc(sizeof(*it)), **p;

	if (it == NULL) {
		/* Out of memory: answer now rather than never. */
		log_err("delayq: out of memory; answering at once");
		fn(arg);
		return;
	}
	it->at_ms = at_ms;
	it->fn = fn;
	it->arg = arg;
	pthread_mutex_lock(&q->lock);
	if (q->closing) {
		/* The timer thread may be gone: nothing waits once shutdown began. */
		pthread_mutex_unlock(&q->lock);
		free(it);
		fn(arg);
		return;
	}
	for (p = &q->head; *p != NULL && (*p)->at_ms <= at_ms; p = &(*p)->next)
		;
	it->next = *p;
	*p = it;
	pthread_cond_signal(&q->changed);
	pthread_mutex_unlock(&q->lock);
}

void
delayq_close(struct delayq *q)
{
	if (q == NULL || !q->started)
		return;
	pthread_mutex_lock(&q->lock);
	q->closing = true;
	pthread_cond_signal(&q->changed);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	q->started = false;
}

void
delayq_free(struct delayq *q)
{
	if (q == NULL)
		return;
	delayq_close(q);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->changed);
	free(q);
}
