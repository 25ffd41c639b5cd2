/*
 * signin.c — password sign-in on the auth pool, for every login form
 * (signin.h).
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "authpool.h"
#include "backend.h"
#include "config.h"
#include "delayq.h"
#include "dircache.h"
#include "form.h"
#include "log.h"
#include "pages.h"
#include "ratelimit.h"
#include "server.h"
#include "signin.h"
#include "store_oauth.h"
#include "util.h"

struct signin_job {
	struct http_request *req;
	const struct signin_ops *ops;
	void *arg;
	char *username;             /* as typed */
	char *password;
	size_t password_len;
	uint64_t started_ms;
};

static int64_t
unix_now(void)
{
	return (int64_t)time(NULL);
}

static void
job_free(struct signin_job *j)
{
	if (j == NULL)
		return;
	if (j->ops != NULL)
		j->ops->free(j->arg);
	free(j->username);
	free_secret(j->password, j->password_len);
	free(j);
}

static void
resume_later(void *arg)
{
	http_resume(arg);
}

/* After the write's commit: the answer stands or is replaced; the writer's last touch. */
static void
write_done(void *arg, enum store_result r)
{
	struct signin_write *w = arg;
	struct http_request *req = w->req;

	log_set_request_id(http_request_id(req));
	if (r != STORE_OK)
		w->failed(req);
	else if (w->committed != NULL)
		w->committed(w);
	log_set_request_id(NULL);
	w->free(w);
	http_resume(req);  /* last touch of req */
}

void
signin_write(struct store *st, struct signin_write *w)
{
	struct commitq *q = store_commitq(st);

	w->op.done = write_done;
	w->op.arg = w;
	if (q != NULL)
		commitq_submit(q, &w->op);
	else
		write_done(w, w->op.run(st, w));
}

/* What a sign-in result means to the throttle. */
static enum ratelimit_outcome
throttle_outcome(enum auth_result r)
{
	switch (r) {
	case AUTH_BAD_CREDENTIALS:
	case AUTH_UNKNOWN_USER:
		return RATELIMIT_FAILURE;
	case AUTH_OK:
	case AUTH_DISABLED:
	case AUTH_EXPIRED:
		return RATELIMIT_SUCCESS;  /* the password was right */
	case AUTH_UNAVAILABLE:
	case AUTH_INTERNAL:
		break;
	}
	return RATELIMIT_NO_VERDICT;
}

static void
session_failed(struct http_request *req)
{
	page_error(req, 503, "Try again later",
	    "The sign-in service could not start your session.", NULL);
}

/* A new session row; the answer (done()'s, with the cookie) waits for its commit. */
struct session_row {
	struct signin_write w;      /* first */
	unsigned char hash[SESSION_HASH_LEN];
	char *user_id;
	char *username;
	int64_t now;
};

static void
session_row_free(struct signin_write *w)
{
	struct session_row *row = (struct session_row *)w;

	if (row == NULL)
		return;
	free(row->user_id);
	free(row->username);
	free(row);
}

static enum store_result
put_session(struct store *st, void *arg)
{
	const struct session_row *row = arg;

	return store_session_create(st, row->hash, row->user_id, row->username, row->now,
	    row->now + IDB_SESSION_TTL_S);
}

/* A new session for id: answered, then resumed once the row is durable. */
static void
start_session(struct signin_job *j, const struct identity *id)
{
	struct server *srv = http_server(j->req);
	char token[SESSION_TOKEN_LEN + 1];
	struct session_row *row = calloc(1, sizeof(*row));

	if (row == NULL || (row->user_id = strdup(id->id)) == NULL ||
	    (row->username = strdup(id->username)) == NULL ||
	    session_new_token(token, sizeof(token)) != 0) {
		session_row_free((struct signin_write *)row);
		session_failed(j->req);
		http_resume(j->req);  /* last touch of req */
		return;
	}
	session_hash(token, row->hash);
	row->now = unix_now();
	/* A failed write replaces the answer, which drops the cookie too. */
	row->w = (struct signin_write){ .op.run = put_session, .req = j->req,
	    .failed = session_failed, .free = session_row_free };
	j->ops->done(j->req, j->arg, id);
	page_set_cookie(j->req, COOKIE_SESSION, token, IDB_SESSION_TTL_S);
	explicit_bzero(token, sizeof(token));
	signin_write(srv->store, &row->w);  /* answers and resumes req */
}

/* The login form again, for a refused sign-in. */
static void
refuse(struct signin_job *j, enum auth_result r)
{
	switch (r) {
	case AUTH_UNAVAILABLE:
	case AUTH_INTERNAL:
		j->ops->again(j->req, j->arg, 503,
		    "The company directory is unavailable: try again later.", j->username);
		http_add_header(j->req, "Retry-After", "30");
		break;
	case AUTH_DISABLED:
		j->ops->again(j->req, j->arg, 403, "Your account is disabled.", j->username);
		break;
	case AUTH_EXPIRED:
		j->ops->again(j->req, j->arg, 403, "Your password has expired: change it, then "
		    "sign in again.", j->username);
		break;
	default:
		j->ops->again(j->req, j->arg, 401, "Wrong user name or password.", j->username);
		break;
	}
}

/* Worker: check the password. */
static void
run_sign_in(void *arg, bool cancelled)
{
	struct signin_job *j = arg;
	struct http_request *req = j->req;
	struct server *srv = http_server(req);
	struct identity id = { 0 };
	enum auth_result r = AUTH_UNAVAILABLE;
	const char *addr = http_client_addr(req);
	unsigned pad_ms = IDB_LOGIN_FAILURE_MIN_MS, asked_ms;
	uint64_t ran_ms = now_ms(), checked_ms;

	if (!cancelled) {
		r = srv->backend_ops->authenticate(srv->backend, j->username, j->password,
		    j->password_len, addr, &id);
		/* PAM's fail delay (pam_unix ≈ 2 s), waited here rather than in the broker. */
		if (srv->backend_ops->last_fail_delay_ms != NULL &&
		    (asked_ms = srv->backend_ops->last_fail_delay_ms()) > pad_ms)
			pad_ms = asked_ms < IDB_MAX_FAIL_DELAY_MS ? asked_ms :
			    IDB_MAX_FAIL_DELAY_MS;
	}
	/* A name the backend refuses may be a password typed in the wrong field. */
	audit_login(srv->backend_ops->name, backend_username_ok(j->username,
	    srv->cfg->auth.username_max_length, srv->cfg->auth.username_chars) ?
	    j->username : "(invalid name)", r, addr);
	ratelimit_end(srv->ratelimit, j->username, addr, throttle_outcome(r), unix_now());
	checked_ms = now_ms();
	if (r == AUTH_OK) {
		/* What follows (a code exchange, the key portal) needs these groups: no second lookup. */
		dircache_put(srv->dircache, &id);
		/* Where a sign-in's time goes, for tuning [server] auth_workers and [ldap] pool. */
		log_debug("sign-in: %llu ms queued, %llu ms directory",
		    (unsigned long long)(ran_ms - j->started_ms),
		    (unsigned long long)(checked_ms - ran_ms));
		start_session(j, &id);  /* answers and resumes req */
		identity_free(&id);
		job_free(j);
		return;
	}
	refuse(j, r);
	identity_free(&id);
	/* Every failure takes the same minimum time; the timer resumes it. */
	delayq_add(srv->delayq, j->started_ms + pad_ms, resume_later, req);
	job_free(j);
}

/* Hand the job to the auth pool; answer at once when it cannot take it. */
static enum http_outcome
submit(struct http_request *req, struct signin_job *j)
{
	struct server *srv = http_server(req);

	http_suspend(req);
	if (authpool_submit(srv->authpool, http_client_addr(req), http_request_id(req),
	    run_sign_in, j) == AUTHPOOL_QUEUED)
		return HTTP_SUSPENDED;
	page_error(req, 503, "Try again later",
	    "The sign-in service is busy: try again in a moment.", NULL);
	http_add_header(req, "Retry-After", "5");
	ratelimit_end(srv->ratelimit, j->username, http_client_addr(req), RATELIMIT_NO_VERDICT,
	    unix_now());
	job_free(j);
	http_resume(req);
	return HTTP_SUSPENDED;
}

/* Too many failures for this name or address: the form again with a wait. */
static void
throttled(struct http_request *req, const struct signin_ops *ops, void *arg, unsigned wait,
    const char *user)
{
	char msg[128], ra[16];

	snprintf(msg, sizeof(msg), "Too many failed sign-ins: try again in %u seconds.", wait);
	snprintf(ra, sizeof(ra), "%u", wait);
	log_info("sign-in throttled for %u s", wait);
	ops->again(req, arg, 429, msg, user);
	http_add_header(req, "Retry-After", ra);
}

enum http_outcome
signin_start(struct http_request *req, const struct form *body, const struct signin_ops *ops,
    void *arg)
{
	struct server *srv = http_server(req);
	const char *user = form_get(body, "username"), *pw = form_get(body, "password");
	struct signin_job *j = NULL;
	unsigned wait;

	if (user == NULL || pw == NULL || user[0] == '\0') {
		ops->again(req, arg, 400, "Enter your user name and password.", user);
		ops->free(arg);
		return HTTP_DONE;
	}
	if ((wait = ratelimit_begin(srv->ratelimit, user, http_client_addr(req),
	    unix_now())) > 0) {
		throttled(req, ops, arg, wait, user);
		ops->free(arg);
		return HTTP_DONE;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL || (j->username = strdup(user)) == NULL ||
	    (j->password = malloc(strlen(pw) + 1)) == NULL) {
		if (j != NULL)
			free(j->username);
		free(j);
		ops->free(arg);
		ratelimit_end(srv->ratelimit, user, http_client_addr(req), RATELIMIT_NO_VERDICT,
		    unix_now());
		http_respond_error(req, 500, "server_error", "out of memory");
		return HTTP_DONE;
	}
	j->req = req;
	j->ops = ops;
	j->arg = arg;
	j->password_len = strlen(pw);
	memcpy(j->password, pw, j->password_len + 1);
	j->started_ms = now_ms();
	return submit(req, j);
}
