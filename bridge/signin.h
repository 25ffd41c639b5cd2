/*
 * signin.h — the part of a sign-in every login form shares (/authorize,
 * /keys): throttle, check the password on the auth pool with the
 * connection suspended, write the audit line, start a session.
 *
 * signin_start() takes the login form's fields (`username`, `password`);
 * the caller has already checked its CSRF token.  It always answers the
 * request itself, through ops:
 *   done   the password was right and the account active: a session row
 *          exists and its cookie is added after done() answered (e.g. a
 *          303 back to where the sign-in started).  On a worker thread.
 *   again  show the login form again with status and message (wrong
 *          password, disabled, directory down, throttled, empty fields);
 *          signin adds Retry-After where it applies.  A failure after the
 *          password check is answered no sooner than IDB_LOGIN_FAILURE_MIN_MS
 *          after the request arrived, whatever went wrong.
 *   free   arg is no longer needed (always called exactly once).
 */
#ifndef IDBRIDGE_SIGNIN_H
#define IDBRIDGE_SIGNIN_H

#include "http.h"

struct form;
struct identity;

struct signin_ops {
	void (*done)(struct http_request *req, void *arg, const struct identity *id);
	void (*again)(struct http_request *req, void *arg, unsigned status, const char *message,
	    const char *username);
	void (*free)(void *arg);
};

enum http_outcome signin_start(struct http_request *req, const struct form *body,
    const struct signin_ops *ops, void *arg);

#endif
