/*
 * commitq.h — group commit: one writer thread runs queued store writes
 * together in one BEGIN IMMEDIATE … COMMIT.
 *
 * With synchronous=FULL every commit waits for an fsync of the WAL, and
 * concurrent writers on separate connections queue for SQLite's write lock
 * in the busy handler's sleeps.  Here the writes that hand out tokens (a
 * refresh rotation, a code's family) are each an operation: a function run
 * on the writer inside the batch's transaction, under its own savepoint.
 * While one batch commits the next one gathers, so one fsync serves every
 * operation that arrived meanwhile.  An operation's outcome is reported
 * only after the COMMIT that made it durable (or failed: then every
 * operation of the batch is STORE_ERROR), so no response leaves before its
 * commit.  Within a batch operations run in arrival order and see each
 * other's writes, as consecutive transactions would.
 *
 *	op->run = rotate_in; op->done = answer; op->arg = job;
 *	http_suspend(req);
 *	commitq_submit(store_commitq(st), op);   // done answers and resumes
 *
 * Threads that may block (auth-pool workers) use commitq_run instead.
 */
#ifndef IDBRIDGE_COMMITQ_H
#define IDBRIDGE_COMMITQ_H

#include "bridge.h"
#include "store_oauth.h"

struct store;
struct commitq;

/*
 * Runs on the writer inside the open transaction.  STORE_ERROR undoes the
 * operation's writes (ROLLBACK TO its savepoint); any other outcome keeps
 * them (a reuse that revokes a family is REPLAY and keeps the revocation).
 */
typedef enum store_result commitq_run_fn(struct store *st, void *arg);
/* Runs on the writer after the batch's COMMIT, with the final outcome. */
typedef void commitq_done_fn(void *arg, enum store_result r);

/* One queued operation; the caller owns it until done runs (or commitq_run returns). */
struct commitq_op {
	commitq_run_fn *run;
	commitq_done_fn *done;
	void *arg;
	/* The queue's own. */
	enum store_result result;
	struct commitq_op *next;
	int finished;
};

/* The store's writer, started on first use; NULL when it cannot start (logged). */
struct commitq *store_commitq(struct store *st);

/* Start a writer for st; NULL with errno. */
struct commitq *commitq_start(struct store *st) IDB_WUR;
/* Queue op; its done runs on the writer once the batch committed. */
void commitq_submit(struct commitq *q, struct commitq_op *op);
/* Queue op and wait for its committed outcome (op->done is not called). */
enum store_result commitq_run(struct commitq *q, struct commitq_op *op);
/* Run what is queued, stop the writer, free q. */
void commitq_stop(struct commitq *q);

#endif
