/*
 * commitq.c — the group-commit writer (see commitq.h).
 *
 * A FIFO of caller-owned operations under one mutex; the writer takes the
 * whole queue (at most IDB_COMMIT_BATCH_MAX) at once, so a batch is simply
 * whatever arrived while the previous one was committing.  The writer never
 * waits for company: an operation alone is committed at once.
 */
#include "autoconfig.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sqlite3.h>

#include "commitq.h"
#include "log.h"
#include "store_sqlite_int.h"

struct commitq {
	struct store *st;
	pthread_mutex_t lock;
	pthread_cond_t work;       /* an operation was queued, or stopping */
	pthread_cond_t finished;   /* a batch ended (commitq_run waits for it) */
	struct commitq_op *head, *tail;
	bool stopping;
	pthread_t thread;
};

static int
exec(struct store *st, const char *sql)
{
	return store_stmt_write(st, NULL, NULL, sql, "");
}

/* One operation inside the open transaction, under its own savepoint. */
static enum store_result
run_op(struct store *st, struct commitq_op *op)
{
	enum store_result r;

	if (exec(st, "SAVEPOINT op") != 0)
		return STORE_ERROR;
	if ((r = op->run(st, op->arg)) == STORE_ERROR && exec(st, "ROLLBACK TO op") != 0)
		return STORE_ERROR;
	if (exec(st, "RELEASE op") != 0)
		return STORE_ERROR;
	return r;
}

/* Run the batch in one transaction; each op->result is its committed outcome. */
static void
run_batch(struct store *st, struct commitq_op *batch)
{
	struct commitq_op *op;
	sqlite3 *db;
	char *err = NULL;
	bool ok = false;

	if ((db = store_tx_begin(st, "BEGIN IMMEDIATE", &err)) != NULL) {
		for (op = batch; op != NULL; op = op->next)
			op->result = run_op(st, op);
		/* An I/O error may have ended the transaction already: then nothing counts. */
		ok = !sqlite3_get_autocommit(db) && store_tx_commit(st, &err) == 0;
		if (!ok && !sqlite3_get_autocommit(db))
			store_tx_rollback(db);
	}
	if (!ok) {
		log_err("store: group commit failed: %s", err != NULL ? err : "transaction ended");
		for (op = batch; op != NULL; op = op->next)
			op->result = STORE_ERROR;
	}
	free(err);
}

/* Up to IDB_COMMIT_BATCH_MAX queued operations, unlinked; lock held. */
static struct commitq_op *
take_batch(struct commitq *q)
{
	struct commitq_op *batch = q->head, *last = q->head;

	for (unsigned n = 1; n < IDB_COMMIT_BATCH_MAX && last->next != NULL; n++)
		last = last->next;
	q->head = last->next;
	if (q->head == NULL)
		q->tail = NULL;
	last->next = NULL;
	return batch;
}

static void *
writer_main(void *arg)
{
	struct commitq *q = arg;
	struct commitq_op *batch, *op, *next;

	/* Started from an HTTP thread, it would otherwise carry that thread's name. */
	(void)pthread_setname_np(pthread_self(), "idb-commit");
	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (q->head == NULL && !q->stopping)
			pthread_cond_wait(&q->work, &q->lock);
		if (q->head == NULL)
			break;  /* stopping and nothing left */
		batch = take_batch(q);
		pthread_mutex_unlock(&q->lock);
		run_batch(q->st, batch);
		for (op = batch; op != NULL; op = next) {
			next = op->next;  /* done may free op */
			if (op->done != NULL) {
				op->done(op->arg, op->result);
				continue;
			}
			pthread_mutex_lock(&q->lock);
			op->finished = 1;
			pthread_mutex_unlock(&q->lock);
		}
		pthread_mutex_lock(&q->lock);
		pthread_cond_broadcast(&q->finished);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

struct commitq *
commitq_start(struct store *st)
{
	struct commitq *q = calloc(1, sizeof(*q));
	int rc;

	if (q == NULL)
		return NULL;
	q->st = st;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->work, NULL);
	pthread_cond_init(&q->finished, NULL);
	if ((rc = pthread_create(&q->thread, NULL, writer_main, q)) != 0) {
		pthread_mutex_destroy(&q->lock);
		pthread_cond_destroy(&q->work);
		pthread_cond_destroy(&q->finished);
		free(q);
		errno = rc;
		return NULL;
	}
	return q;
}

static void
enqueue(struct commitq *q, struct commitq_op *op)
{
	op->next = NULL;
	op->finished = 0;
	if (q->tail != NULL)
		q->tail->next = op;
	else
		q->head = op;
	q->tail = op;
	pthread_cond_signal(&q->work);
}

void
commitq_submit(struct commitq *q, struct commitq_op *op)
{
	pthread_mutex_lock(&q->lock);
	enqueue(q, op);
	pthread_mutex_unlock(&q->lock);
}

enum store_result
commitq_run(struct commitq *q, struct commitq_op *op)
{
	op->done = NULL;
	pthread_mutex_lock(&q->lock);
	enqueue(q, op);
	while (!op->finished)
		pthread_cond_wait(&q->finished, &q->lock);
	pthread_mutex_unlock(&q->lock);
	return op->result;
}

void
commitq_stop(struct commitq *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->work);
	pthread_cond_destroy(&q->finished);
	free(q);
}
