/*
 * h_authorize.c — GET and POST /authorize: the browser side of the
 * authorization-code flow (the manifest's client_url).
 *
 *   GET   validate client_id and redirect_uri first (a bad one gets an
 *         error page, never a redirect), then the rest (errors redirect);
 *         keep the validated request server-side under a pre-auth cookie;
 *         no session → the login page; a session → look the user up,
 *         then consent or a code.
 *   POST  the login or consent form.  The request it belongs to comes from
 *         the pre-auth row, never from hidden fields; the CSRF token is
 *         derived from the pre-auth cookie.  A sign-in runs on the auth
 *         pool with the connection suspended; success answers 303 back to
 *         GET /authorize (which validates everything again), failure shows
 *         the login page no sooner than IDB_LOGIN_FAILURE_MIN_MS after the
 *         request arrived, whatever went wrong.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authpool.h"
#include "backend.h"
#include "clients.h"
#include "config.h"
#include "dircache.h"
#include "http.h"
#include "log.h"
#include "oauth.h"
#include "pages.h"
#include "scopes.h"
#include "server.h"
#include "session.h"
#include "signin.h"
#include "store_oauth.h"
#include "template.h"
#include "util.h"

/* A validated authorization request. */
struct authz {
	const struct client_cfg *client;
	const char *redirect_uri;   /* the registered one it matched */
	const char *state;          /* may be NULL */
	const char *challenge;      /* S256 code_challenge, may be NULL */
	struct strlist requested;   /* scope values asked for */
	char *query;                /* the raw query string it came from */
	struct form form;           /* owns the strings above */
};

enum check { CHECK_OK, CHECK_PAGE, CHECK_REDIRECT };

/* Why a request failed: shown on a page, or sent back to the client. */
struct failure {
	const char *error;          /* OAuth error code (redirects) */
	const char *description;
};

/* ---- small helpers -------------------------------------------------------- */

static int64_t
unix_now(void)
{
	return (int64_t)time(NULL);
}

static void
authz_free(struct authz *a)
{
	if (a == NULL)
		return;
	strlist_free(&a->requested);
	form_free(&a->form);
	free(a->query);
	if (a->client != NULL)
		clients_release(a->client);
	memset(a, 0, sizeof(*a));
}

/* Append "name=value" percent-encoded (RFC 3986 unreserved kept) to *s. */
static int
append_param(char **s, size_t *len, size_t *cap, const char *name, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t need = *len + strlen(name) + 3 * strlen(value) + 3;
	const char *v;
	char *p;

	if (need > *cap) {
		size_t ncap = need * 2;

		if ((p = realloc(*s, ncap)) == NULL)
			return -1;
		*s = p;
		*cap = ncap;
	}
	p = *s + *len;
	if (*len > 0 && (*s)[*len - 1] != '?')
		*p++ = '&';
	p += sprintf(p, "%s=", name);
	for (v = value; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c) != NULL) {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p = '\0';
	*len = (size_t)(p - *s);
	return 0;
}

/*
 * The redirect back to the client: redirect_uri plus the given parameters,
 * then state (as sent) and iss (RFC 9207).  NULL on ENOMEM.
 */
static char *
client_redirect(const struct config *cfg, const struct authz *a, const char *k1,
    const char *v1, const char *k2, const char *v2)
{
	size_t len = strlen(a->redirect_uri), cap = len + 2;
	char *s = malloc(cap);

	if (s == NULL)
		return NULL;
	memcpy(s, a->redirect_uri, len);
	s[len++] = strchr(a->redirect_uri, '?') != NULL ? '&' : '?';
	s[len] = '\0';
	if (append_param(&s, &len, &cap, k1, v1) != 0 ||
	    (k2 != NULL && v2 != NULL && append_param(&s, &len, &cap, k2, v2) != 0) ||
	    (a->state != NULL && append_param(&s, &len, &cap, "state", a->state) != 0) ||
	    append_param(&s, &len, &cap, "iss", cfg->server.issuer) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* "/authorize?" and f's parameters, percent-encoded.  NULL on ENOMEM. */
static char *
authorize_url(const struct form *f)
{
	size_t len = strlen("/authorize?"), cap = len + 1;
	char *s = strdup("/authorize?");

	for (size_t i = 0; s != NULL && i < f->n; i++)
		if (append_param(&s, &len, &cap, f->fields[i].name, f->fields[i].value) != 0) {
			free(s);
			s = NULL;
		}
	return s;
}

static void
respond_redirect_error(struct http_request *req, const struct authz *a,
    const struct failure *f)
{
	char *url = client_redirect(http_server(req)->cfg, a, "error", f->error,
	    "error_description", f->description);

	if (url == NULL) {
		http_respond_error(req, 500, "server_error", "out of memory");
		return;
	}
	page_see_other(req, url);
	free(url);
}

/* ---- validation ------------------------------------------------------------- */

/* client_id and redirect_uri: nothing may be redirected before these hold. */
static enum check
check_client(const struct config *cfg, struct authz *a, struct failure *f)
{
	const char *id = form_get(&a->form, "client_id");
	const char *uri = form_get(&a->form, "redirect_uri");

	if (id == NULL || (a->client = clients_find(cfg, id)) == NULL) {
		f->description = "This sign-in link names no application known here.";
		return CHECK_PAGE;
	}
	if (uri == NULL) {
		/* RFC 6749 §3.1.2.3: optional only when exactly one is registered. */
		if (a->client->redirect_uris.n != 1) {
			f->description = "The sign-in link does not say where to return.";
			return CHECK_PAGE;
		}
		uri = a->client->redirect_uris.items[0];
	} else if (!client_redirect_ok(a->client, uri)) {
		f->description = "The sign-in link asks to return to an address this "
		    "application has not registered.";
		return CHECK_PAGE;
	}
	a->redirect_uri = uri;
	return CHECK_OK;
}

static enum check
redirect_failure(struct failure *f, const char *error, const char *description)
{
	f->error = error;
	f->description = description;
	return CHECK_REDIRECT;
}

/* Everything after the client: failures are sent back to the client. */
static enum check
check_request(struct authz *a, struct failure *f)
{
	const char *rt = form_get(&a->form, "response_type");
	const char *method = form_get(&a->form, "code_challenge_method");
	const struct client_cfg *c = a->client;
	bool unknown = false;

	a->state = form_get(&a->form, "state");
	a->challenge = form_get(&a->form, "code_challenge");
	if (rt == NULL || strcmp(rt, "code") != 0)
		return redirect_failure(f, "unsupported_response_type",
		    "only response_type=code is supported");
	if (form_get(&a->form, "resource") != NULL)
		return redirect_failure(f, "invalid_target", "resource indicators are not supported");
	if (scope_parse(form_get(&a->form, "scope"), &a->requested) != SCOPE_OK)
		return redirect_failure(f, "invalid_scope", "malformed scope");
	for (size_t i = 0; i < a->requested.n; i++)
		unknown = unknown || !strlist_contains(&c->scopes, a->requested.items[i]);
	if (unknown)
		return redirect_failure(f, "invalid_scope", "a requested scope is not "
		    "available to this client");
	if (a->challenge != NULL) {
		if (method == NULL || strcmp(method, "S256") != 0)
			return redirect_failure(f, "invalid_request",
			    "code_challenge_method must be S256");
		if (!pkce_challenge_ok(a->challenge))
			return redirect_failure(f, "invalid_request", "malformed code_challenge");
	} else if (method != NULL) {
		return redirect_failure(f, "invalid_request", "code_challenge_method without "
		    "code_challenge");
	} else if (c->pkce_required || c->is_public) {
		return redirect_failure(f, "invalid_request", "PKCE (S256) is required");
	}
	return CHECK_OK;
}

/* Parse and validate a raw query string into a (zeroed) authz. */
static enum check
validate(const struct config *cfg, const char *query, struct authz *a, struct failure *f)
{
	enum form_error fe;
	enum check c;

	if ((a->query = strdup(query)) == NULL) {
		f->description = "out of memory";
		return CHECK_PAGE;
	}
	if ((fe = form_parse(query, strlen(query), &a->form)) != FORM_OK) {
		f->description = form_error_text(fe);
		return CHECK_PAGE;
	}
	if ((c = check_client(cfg, a, f)) != CHECK_OK)
		return c;
	return check_request(a, f);
}

/* Answer a failed validation. */
static void
respond_invalid(struct http_request *req, enum check c, const struct authz *a,
    const struct failure *f)
{
	if (c == CHECK_REDIRECT)
		respond_redirect_error(req, a, f);
	else
		page_error(req, 400, "This sign-in link does not work", f->description,
		    NULL);
}

/* ---- pages -------------------------------------------------------------------- */

static void
respond_login(struct http_request *req, const struct authz *a, const char *preauth,
    unsigned status, const char *error, const char *username)
{
	const struct config *cfg = http_server(req)->cfg;
	char csrf[SESSION_TOKEN_LEN + 1];
	const struct strlist *shown = a->requested.n > 0 ? &a->requested : &a->client->scopes;
	const struct tpl_var vars[] = {
		TPL_TEXT("issuer_host", page_issuer_host(cfg)),
		TPL_TEXT("client_name", a->client->name),
		TPL_TEXT("error", error),
		TPL_TEXT("username", username),
		TPL_TEXT("csrf", csrf),
		TPL_LIST("scopes", (const char *const *)shown->items, shown->n),
		TPL_TEXT("action", "/authorize"),
	};

	session_csrf_for(preauth, csrf, sizeof(csrf));
	page_respond(req, status, TPL_LOGIN, vars, sizeof(vars) / sizeof(vars[0]));
	http_allow_form_redirect(req, a->redirect_uri);
}

static void
respond_consent(struct http_request *req, const struct authz *a, const char *preauth,
    const char *user, const struct strlist *scopes)
{
	const struct config *cfg = http_server(req)->cfg;
	char csrf[SESSION_TOKEN_LEN + 1];
	const struct tpl_var vars[] = {
		TPL_TEXT("issuer_host", page_issuer_host(cfg)),
		TPL_TEXT("client_name", a->client->name),
		TPL_TEXT("user", user),
		TPL_TEXT("csrf", csrf),
		TPL_LIST("scopes", (const char *const *)scopes->items, scopes->n),
	};

	session_csrf_for(preauth, csrf, sizeof(csrf));
	page_respond(req, 200, TPL_CONSENT, vars, sizeof(vars) / sizeof(vars[0]));
	http_allow_form_redirect(req, a->redirect_uri);
}

/* ---- the user's side: session, identity, grant, code ----------------------------- */

/* Work for the auth pool; everything a job needs outlives the HTTP thread's call. */
struct job {
	struct http_request *req;
	struct authz a;
	char preauth[SESSION_TOKEN_LEN + 1];  /* "" until a consent page needs one */
	char *username;             /* the session's */
	char *user_id;              /* the session's immutable id */
	bool consent_allowed;       /* a consent POST that said allow */
	bool have_fresh;            /* fresh holds what the directory said a moment ago */
	struct identity fresh;
};

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	authz_free(&j->a);
	free(j->username);
	free(j->user_id);
	identity_free(&j->fresh);
	free(j);
}

/* ---- writes an answer waits for ---------------------------------------------------- */

/*
 * Each write below is prepared with its answer: the page or redirect is set
 * on the suspended request, the row goes to the store's next group commit
 * (signin_write), and the writer resumes the request once the row is
 * durable, replacing the answer with an error page when it is not.
 */

static void
preauth_failed(struct http_request *req)
{
	page_error(req, 503, "Try again later",
	    "The sign-in service could not save your request.", NULL);
}

/* A pre-auth row: the validated request under its cookie's hash. */
struct preauth_row {
	struct signin_write w;      /* first */
	unsigned char hash[SESSION_HASH_LEN];
	char *query;
};

static void
preauth_row_free(struct signin_write *w)
{
	struct preauth_row *row = (struct preauth_row *)w;

	if (row == NULL)
		return;
	free(row->query);
	free(row);
}

static enum store_result
put_preauth(struct store *st, void *arg)
{
	const struct preauth_row *row = arg;

	return store_preauth_put(st, row->hash, row->query, unix_now() + IDB_PREAUTH_TTL_S);
}

/* A row for a, under a new cookie value written to token; NULL on failure. */
static struct preauth_row *
preauth_row_new(struct http_request *req, const struct authz *a, char *token, size_t size)
{
	struct preauth_row *row = calloc(1, sizeof(*row));

	if (row == NULL || (row->query = strdup(a->query)) == NULL ||
	    session_new_token(token, size) != 0) {
		preauth_row_free((struct signin_write *)row);
		return NULL;
	}
	session_hash(token, row->hash);
	row->w = (struct signin_write){ .op.run = put_preauth, .req = req,
	    .failed = preauth_failed, .free = preauth_row_free };
	return row;
}

/* A new code (and the consent form's used pre-auth row gone). */
struct code_row {
	struct signin_write w;      /* first */
	unsigned char hash[SESSION_HASH_LEN];
	unsigned char preauth_hash[SESSION_HASH_LEN];
	bool delete_preauth;
	struct store_grant g;       /* owned copies */
	int64_t now;
};

static void
code_row_free(struct signin_write *w)
{
	struct code_row *row = (struct code_row *)w;

	if (row == NULL)
		return;
	store_grant_free(&row->g);
	free(row);
}

static enum store_result
put_code(struct store *st, void *arg)
{
	const struct code_row *row = arg;
	enum store_result r;

	if ((r = store_code_put(st, row->hash, &row->g, row->now)) == STORE_OK &&
	    row->delete_preauth && store_preauth_delete(st, row->preauth_hash) != STORE_OK)
		log_warn("authorize: could not delete a used pre-auth request (it expires)");
	return r;
}

static void
code_failed(struct http_request *req)
{
	page_error(req, 503, "Try again later",
	    "The sign-in service could not save your authorization.", NULL);
}

static void
code_issued(struct signin_write *w)
{
	const struct code_row *row = (const struct code_row *)w;

	log_info("authorize: code issued to client %s for user %s (scope \"%s\")",
	    row->g.client_id, row->g.username, row->g.scope);
}

/* The grant for a code, in copies the row owns; NULL when out of memory. */
static struct code_row *
code_row_new(struct http_request *req, const struct job *j, const struct identity *id,
    const char *scope)
{
	const struct config *cfg = http_server(req)->cfg;
	struct code_row *row = calloc(1, sizeof(*row));

	if (row == NULL)
		return NULL;
	row->w = (struct signin_write){ .op.run = put_code, .req = req, .failed = code_failed,
	    .committed = code_issued, .free = code_row_free };
	row->now = unix_now();
	row->g.expires_at = row->now + cfg->tokens.code_ttl;
	if ((row->g.client_id = strdup(j->a.client->id)) == NULL ||
	    (row->g.user_id = strdup(id->id)) == NULL ||
	    (row->g.username = strdup(id->username)) == NULL ||
	    (row->g.scope = strdup(scope)) == NULL ||
	    (row->g.redirect_uri = strdup(j->a.redirect_uri)) == NULL ||
	    (j->a.challenge != NULL && (row->g.code_challenge = strdup(j->a.challenge)) == NULL)) {
		code_row_free(&row->w);
		return NULL;
	}
	/* A consent form's request is used up; a GET with a session wrote none. */
	if (j->preauth[0] != '\0') {
		session_hash(j->preauth, row->preauth_hash);
		row->delete_preauth = true;
	}
	return row;
}

/* Issue a code and redirect to the client once it is durable; resumes req. */
static void
issue_code(struct http_request *req, struct job *j, const struct identity *id,
    const char *scope)
{
	struct server *srv = http_server(req);
	char code[SESSION_TOKEN_LEN + 1], *url = NULL;
	struct code_row *row;

	if ((row = code_row_new(req, j, id, scope)) == NULL ||
	    session_new_token(code, sizeof(code)) != 0 ||
	    (url = client_redirect(srv->cfg, &j->a, "code", code, NULL, NULL)) == NULL) {
		code_failed(req);
		code_row_free((struct signin_write *)row);
		explicit_bzero(code, sizeof(code));
		http_resume(req);
		return;
	}
	session_hash(code, row->hash);
	page_see_other(req, url);
	page_set_cookie(req, COOKIE_PREAUTH, "", 0);
	explicit_bzero(code, sizeof(code));
	explicit_bzero(url, strlen(url));
	free(url);
	signin_write(srv->store, &row->w);  /* answers and resumes req */
}

/* The consent page over a new pre-auth row (the form's request); resumes req. */
static void
ask_consent(struct http_request *req, struct job *j, const struct identity *id,
    const struct strlist *granted)
{
	struct server *srv = http_server(req);
	struct preauth_row *row;

	if ((row = preauth_row_new(req, &j->a, j->preauth, sizeof(j->preauth))) == NULL) {
		preauth_failed(req);
		http_resume(req);
		return;
	}
	respond_consent(req, &j->a, j->preauth, id->display_name != NULL ?
	    id->display_name : id->username, granted);
	page_set_cookie(req, COOKIE_PREAUTH, j->preauth, IDB_PREAUTH_TTL_S);
	signin_write(srv->store, &row->w);  /* answers and resumes req */
}

/* Consent given before for at least these scopes? */
static bool
consent_covers(struct server *srv, const char *user_id, const char *client_id,
    const struct strlist *scopes)
{
	struct strlist given = { 0 };
	char *stored = NULL;
	bool covers = false;

	if (store_consent_get(srv->store, user_id, client_id, &stored) == STORE_OK &&
	    strlist_add_words(&given, stored) == 0) {
		covers = true;
		for (size_t i = 0; i < scopes->n; i++)
			covers = covers && strlist_contains(&given, scopes->items[i]);
	}
	strlist_free(&given);
	free(stored);
	return covers;
}

/*
 * With a fresh identity: the grant, then consent or a code.  req is
 * suspended; this answers it and resumes it (now, or once its write is
 * durable), so the caller must not touch req afterwards.
 */
static void
continue_with_identity(struct http_request *req, struct job *j, const struct identity *id)
{
	struct server *srv = http_server(req);
	struct strlist allowed = { 0 }, granted = { 0 };
	bool unknown = false, handed = false;
	char *scope = NULL;

	if (scopes_for_identity(srv->cfg, id, &allowed) != 0 ||
	    scope_grant(&j->a.requested, &j->a.client->scopes, &allowed, &granted, &unknown) != 0 ||
	    (scope = strlist_join(&granted, " ")) == NULL) {
		http_respond_error(req, 500, "server_error", "out of memory");
		goto out;
	}
	if (granted.n == 0) {
		struct failure f = { "access_denied", "none of the requested scopes is allowed" };
		char *back = client_redirect(srv->cfg, &j->a, "error", f.error,
		    "error_description", f.description);

		log_info("authorize: user %s may have none of the scopes client %s asks for",
		    id->username, j->a.client->id);
		page_error(req, 403, "Not allowed",
		    "Your groups allow none of the permissions this application asks for. "
		    "Ask your administrator if you need access.", back);
		free(back);
		goto out;
	}
	/* Not remembering a consent only means asking again next time. */
	if (j->consent_allowed &&
	    store_consent_put(srv->store, id->id, j->a.client->id, scope, unix_now()) != STORE_OK)
		log_warn("authorize: could not remember the consent of %s", id->username);
	handed = true;
	if (j->a.client->consent_skip || j->consent_allowed ||
	    consent_covers(srv, id->id, j->a.client->id, &granted))
		issue_code(req, j, id, scope);
	else
		ask_consent(req, j, id, &granted);
out:
	strlist_free(&allowed);
	strlist_free(&granted);
	free(scope);
	if (!handed)
		http_resume(req);  /* last touch of req */
}

/*
 * Worker: a signed-in user's identity again (groups may have changed),
 * unless the directory gave it a moment ago (the sign-in just before).
 */
static void
run_lookup(void *arg, bool cancelled)
{
	struct job *j = arg;
	struct http_request *req = j->req;
	struct server *srv = http_server(req);
	struct identity id = { 0 };
	enum auth_result r = AUTH_UNAVAILABLE;

	if (!cancelled && j->have_fresh) {
		id = j->fresh;
		memset(&j->fresh, 0, sizeof(j->fresh));
		r = AUTH_OK;
	} else if (!cancelled) {
		r = srv->backend_ops->lookup(srv->backend, j->username, &id);
		if (r == AUTH_OK)
			dircache_put(srv->dircache, &id);
	}
	if (r == AUTH_OK && (id.id == NULL || strcmp(id.id, j->user_id) != 0))
		r = AUTH_UNKNOWN_USER;  /* the name now belongs to someone else */
	if (r == AUTH_OK) {
		continue_with_identity(req, j, &id);  /* answers and resumes req */
	} else if (r == AUTH_UNAVAILABLE || r == AUTH_INTERNAL) {
		page_error(req, 503, "Try again later",
		    "The company directory is unavailable: try again later.", NULL);
		http_add_header(req, "Retry-After", "30");
		http_resume(req);  /* last touch of req */
	} else {
		/* Gone or disabled since signing in: the session is over. */
		unsigned char hash[SESSION_HASH_LEN];
		char cookie[SESSION_TOKEN_LEN + 1];

		if (session_cookie_from_header(srv->cfg, COOKIE_SESSION,
		    http_header(req, "Cookie"), cookie, sizeof(cookie))) {
			session_hash(cookie, hash);
			if (store_session_delete(srv->store, hash) != STORE_OK)
				log_warn("authorize: could not end the session of a departed user");
		}
		page_set_cookie(req, COOKIE_SESSION, "", 0);
		page_error(req, 403, "Account not active",
		    "Your account can no longer sign in here.", NULL);
		http_resume(req);  /* last touch of req */
	}
	identity_free(&id);
	job_free(j);
}

/* Hand a job to the auth pool; answer at once when it cannot take it. */
static enum http_outcome
submit(struct http_request *req, struct job *j, authpool_fn *run)
{
	struct server *srv = http_server(req);

	j->req = req;
	http_suspend(req);
	switch (authpool_submit(srv->authpool, http_client_addr(req), http_request_id(req),
	    run, j)) {
	case AUTHPOOL_QUEUED:
		return HTTP_SUSPENDED;
	default:
		page_error(req, 503, "Try again later",
		    "The sign-in service is busy: try again in a moment.", NULL);
		http_add_header(req, "Retry-After", "5");
		break;
	}
	job_free(j);
	http_resume(req);
	return HTTP_SUSPENDED;
}

/* The login page over a new pre-auth row, sent once the row is durable. */
static enum http_outcome
login_page(struct http_request *req, const struct authz *a)
{
	struct server *srv = http_server(req);
	char preauth[SESSION_TOKEN_LEN + 1];
	struct preauth_row *row;

	if ((row = preauth_row_new(req, a, preauth, sizeof(preauth))) == NULL) {
		preauth_failed(req);
		return HTTP_DONE;
	}
	respond_login(req, a, preauth, 200, NULL, NULL);
	page_set_cookie(req, COOKIE_PREAUTH, preauth, IDB_PREAUTH_TTL_S);
	explicit_bzero(preauth, sizeof(preauth));
	/* The HTTP thread does not wait for the fsync: the writer answers. */
	http_suspend(req);
	signin_write(srv->store, &row->w);
	return HTTP_SUSPENDED;
}

static struct job *
job_for(struct authz *a, const char *preauth)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	j->a = *a;  /* takes ownership */
	memset(a, 0, sizeof(*a));
	snprintf(j->preauth, sizeof(j->preauth), "%s", preauth);
	return j;
}

/*
 * A session exists: look the user up on the pool, then consent or a code.
 * Right after a sign-in (the redirect back here) the directory answered
 * for this user a moment ago: that identity is used, without a worker
 * when the answer is a code.
 */
static enum http_outcome
with_session(struct http_request *req, struct authz *a, const char *preauth,
    struct store_session *s, bool consent_allowed)
{
	struct server *srv = http_server(req);
	struct job *j = job_for(a, preauth);

	if (j == NULL || (j->username = strdup(s->username)) == NULL ||
	    (j->user_id = strdup(s->user_id)) == NULL) {
		job_free(j);
		http_respond_error(req, 500, "server_error", "out of memory");
		return HTTP_DONE;
	}
	j->consent_allowed = consent_allowed;
	j->have_fresh = dircache_get_fresh(srv->dircache, s->username, IDB_SIGNIN_FRESH_MS,
	    &j->fresh);
	/* A consent POST remembers the consent, a store write of its own: on the pool. */
	if (j->have_fresh && !consent_allowed && j->fresh.id != NULL &&
	    strcmp(j->fresh.id, j->user_id) == 0) {
		j->req = req;
		http_suspend(req);
		continue_with_identity(req, j, &j->fresh);  /* answers and resumes req */
		job_free(j);
		return HTTP_SUSPENDED;
	}
	return submit(req, j, run_lookup);
}

/* ---- GET ------------------------------------------------------------------------- */

static enum http_outcome
authorize_get(struct http_request *req)
{
	struct server *srv = http_server(req);
	const char *raw = http_raw_query(req);
	struct authz a = { 0 };
	struct failure f = { 0 };
	struct store_session s = { 0 };
	enum http_outcome out = HTTP_DONE;
	enum check c;

	if ((c = validate(srv->cfg, raw != NULL ? raw : "", &a, &f)) != CHECK_OK) {
		respond_invalid(req, c, &a, &f);
		goto done;
	}
	/*
	 * With a session the request is kept (a pre-auth row) only if a consent
	 * page needs it (continue_with_identity): most such GETs end in a code.
	 */
	if (page_session(req, &s, NULL))
		out = with_session(req, &a, "", &s, false);
	else
		out = login_page(req, &a);
done:
	store_session_free(&s);
	authz_free(&a);
	return out;
}

/* ---- POST ------------------------------------------------------------------------ */

/* The form's request: from the pre-auth row named by the cookie, never the form. */
static enum check
load_preauth(struct http_request *req, char *token, size_t size, struct authz *a,
    struct failure *f)
{
	struct server *srv = http_server(req);
	unsigned char hash[SESSION_HASH_LEN];
	char *query = NULL;
	enum check c;

	if (!session_cookie_from_header(srv->cfg, COOKIE_PREAUTH, http_header(req, "Cookie"),
	    token, size)) {
		f->description = "This sign-in form has expired. Go back to the application "
		    "and start again.";
		return CHECK_PAGE;
	}
	session_hash(token, hash);
	if (store_preauth_get(srv->store, hash, unix_now(), &query) != STORE_OK) {
		f->description = "This sign-in form has expired. Go back to the application "
		    "and start again.";
		return CHECK_PAGE;
	}
	c = validate(srv->cfg, query, a, f);
	free(query);
	return c;
}

/* signin_ops for the login form of /authorize: arg is a job holding the request. */
static void
login_done(struct http_request *req, void *arg, const struct identity *id)
{
	struct job *j = arg;
	char *back;

	(void)id;
	/*
	 * Back to GET /authorize: it validates the request again.  The query is
	 * rebuilt from the parsed parameters, so no raw byte the client sent
	 * reaches the Location header.
	 */
	if ((back = authorize_url(&j->a.form)) != NULL)
		page_see_other(req, back);
	else
		http_respond_error(req, 500, "server_error", "out of memory");
	free(back);
}

static void
login_again(struct http_request *req, void *arg, unsigned status, const char *message,
    const char *username)
{
	struct job *j = arg;

	respond_login(req, &j->a, j->preauth, status, message, username);
}

static void
login_free(void *arg)
{
	job_free(arg);
}

static const struct signin_ops login_ops = { login_done, login_again, login_free };

static enum http_outcome
post_login(struct http_request *req, struct authz *a, const char *preauth,
    const struct form *body)
{
	struct job *j = job_for(a, preauth);

	if (j == NULL) {
		http_respond_error(req, 500, "server_error", "out of memory");
		return HTTP_DONE;
	}
	return signin_start(req, body, &login_ops, j);
}

static enum http_outcome
post_consent(struct http_request *req, struct authz *a, const char *preauth,
    const char *decision)
{
	struct store_session s = { 0 };
	enum http_outcome out = HTTP_DONE;

	if (strcmp(decision, "deny") == 0) {
		struct failure f = { "access_denied", "the user denied the request" };

		respond_redirect_error(req, a, &f);
		page_set_cookie(req, COOKIE_PREAUTH, "", 0);
		return HTTP_DONE;
	}
	if (strcmp(decision, "allow") != 0) {
		page_error(req, 400, "This form does not work", "Unknown decision.", NULL);
		return HTTP_DONE;
	}
	if (!page_session(req, &s, NULL))
		respond_login(req, a, preauth, 401, "Your session has ended: sign in again.", NULL);
	else
		out = with_session(req, a, preauth, &s, true);
	store_session_free(&s);
	return out;
}

static enum http_outcome
authorize_post(struct http_request *req)
{
	struct server *srv = http_server(req);
	char preauth[SESSION_TOKEN_LEN + 1] = "";
	struct authz a = { 0 };
	struct failure f = { 0 };
	struct form body = { 0 };
	const char *decision;
	enum http_outcome out = HTTP_DONE;
	enum form_error fe;
	enum check c;
	size_t len;
	const char *raw = http_body(req, &len);

	(void)srv;
	if ((fe = form_parse(raw, len, &body)) != FORM_OK) {
		page_error(req, 400, "This form does not work", form_error_text(fe), NULL);
		goto done;
	}
	if ((c = load_preauth(req, preauth, sizeof(preauth), &a, &f)) != CHECK_OK) {
		respond_invalid(req, c, &a, &f);
		goto done;
	}
	if (!session_csrf_ok(preauth, form_get(&body, "csrf"))) {
		log_warn("authorize: form without a valid CSRF token refused");
		page_error(req, 403, "This form has expired",
		    "Go back to the application and start again.", NULL);
		goto done;
	}
	if ((decision = form_get(&body, "decision")) != NULL)
		out = post_consent(req, &a, preauth, decision);
	else
		out = post_login(req, &a, preauth, &body);
done:
	form_free(&body);
	authz_free(&a);
	explicit_bzero(preauth, sizeof(preauth));
	return out;
}

enum http_outcome
h_authorize(struct http_request *req)
{
	if (strcmp(http_method(req), "POST") == 0)
		return authorize_post(req);
	if (page_refuse_head(req))
		return HTTP_DONE;
	return authorize_get(req);
}
