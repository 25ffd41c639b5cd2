/*
 * signin.h — the part of a sign-in every login form shares (/authorize,
 * /keys): throttle, check the password on the auth pool with the
 * connection suspended, write the audit line, start a session.
 *
 * signin_start() takes the login form's fields (`username`, `password`);
 * the caller has already checked its CSRF token.  It always answers the
 * request itself, through ops:
 *   done   the password was right and the account active: done() answers
 *          (e.g. a 303 back to where the sign-in started), the session
 *          cookie is added, and the answer leaves once the session row is
 *          durable; if that write fails a 503 page replaces it.  On a
 *          worker thread.
 *   again  show the login form again with status and message (wrong
 *          password, disabled, directory down, throttled, empty fields);
 *          signin adds Retry-After where it applies.  A failure after the
 *          password check is answered no sooner than IDB_LOGIN_FAILURE_MIN_MS
 *          after the request arrived, whatever went wrong.
 *   free   arg is no longer needed (always called exactly once).
 */
#ifndef IDBRIDGE_SIGNIN_H
#define IDBRIDGE_SIGNIN_H

#include "commitq.h"
#include "http.h"

struct form;
struct identity;
struct store;

struct signin_ops {
	void (*done)(struct http_request *req, void *arg, const struct identity *id);
	void (*again)(struct http_request *req, void *arg, unsigned status, const char *message,
	    const char *username);
	void (*free)(void *arg);
};

enum http_outcome signin_start(struct http_request *req, const struct form *body,
    const struct signin_ops *ops, void *arg);

/*
 * A store write an answer waits for (a session, a code, a pre-auth row),
 * the first member of the caller's row.  The caller has set the answer on
 * the suspended request; op.run (called with the row) joins the store's
 * next group commit (commitq.h), so concurrent sign-ins share one fsync
 * and no thread waits for it.  Once it is durable, on the writer thread,
 * committed() runs, or failed() replaces the answer when the write failed;
 * then free() and the request is resumed.  The caller must not touch the
 * request after signin_write().  Without a writer (it could not start;
 * logged) it all runs in signin_write().
 */
struct signin_write {
	struct commitq_op op;
	struct http_request *req;
	void (*failed)(struct http_request *req);
	void (*committed)(struct signin_write *w);  /* may be NULL */
	void (*free)(struct signin_write *w);
};

void signin_write(struct store *st, struct signin_write *w);

#endif
