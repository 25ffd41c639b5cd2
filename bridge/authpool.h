/*
 * authpool.h — the bounded pool of threads that talk to the directory.
 *
 * Directory and PAM calls block for as long as the directory takes, so the
 * HTTP threads never make them: a handler suspends its connection, submits
 * a job here and returns.  The job runs on a worker, prepares the response
 * and resumes the connection as its last touch of the request.
 *
 * The queue is bounded (a full queue is "try again", 503) and one client
 * address may have only a few jobs queued or running, so no single client
 * can fill it.  authpool_close() cancels queued jobs (their run function is
 * called with cancelled = true, on the closing thread) and waits for the
 * running ones, so at shutdown every suspended request is answered.
 */
#ifndef IDBRIDGE_AUTHPOOL_H
#define IDBRIDGE_AUTHPOOL_H

#include <stdbool.h>
#include "bridge.h"

struct authpool;

enum authpool_submit {
	AUTHPOOL_QUEUED,
	AUTHPOOL_FULL,        /* the queue is full */
	AUTHPOOL_ADDR_BUSY,   /* this address has too many jobs in flight */
	AUTHPOOL_CLOSED,      /* shutting down */
	AUTHPOOL_NOMEM,
};

typedef void authpool_fn(void *arg, bool cancelled);

/* Start workers.  NULL with errno on failure. */
struct authpool *authpool_new(unsigned workers, unsigned queue_len,
    unsigned per_addr_limit) IDB_WUR;
/*
 * Queue run(arg, false) for a worker.  addr (the client address, may be
 * NULL) is what the per-address cap counts; request_id is set as the
 * worker's log request id while the job runs.  When this does not return
 * AUTHPOOL_QUEUED, run is not called: the caller answers the request.
 */
enum authpool_submit authpool_submit(struct authpool *pool, const char *addr,
    const char *request_id, authpool_fn *run, void *arg) IDB_WUR;
/* Jobs queued or running now (for tests and metrics). */
unsigned authpool_pending(struct authpool *pool);
/* Stop accepting, cancel the queue, wait for running jobs and the workers. */
void authpool_close(struct authpool *pool);
void authpool_free(struct authpool *pool);

#endif
