/*
 * h_keys.c — GET and POST /keys: the employee's API key portal (user_http).
 *
 *   no session  the login page (the template /authorize uses) posting back
 *               here (a form without an action field).  Its CSRF token is derived from a
 *               pre-auth cookie whose row holds PORTAL_PREAUTH, so a form
 *               of an /authorize flow cannot be replayed here, nor the
 *               reverse.  A sign-in answers 303 back to GET /keys.
 *   GET         the keys page: the employee's live keys and a form to make
 *               one with the scopes their groups allow right now (whois:
 *               the directory cache, else a lookup on the auth pool).
 *   POST        action=create|revoke with the session's CSRF token.  The
 *               answer is the page itself, not a redirect, so a new key is
 *               shown exactly once, in a no-store response, and never again.
 *
 * A session whose user the directory no longer knows, or knows under
 * another immutable id (a reused login name), is ended.
 */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apikeys.h"
#include "backend.h"
#include "config.h"
#include "form.h"
#include "http.h"
#include "log.h"
#include "oauth.h"        /* scope_parse */
#include "pages.h"
#include "scopes.h"
#include "server.h"
#include "session.h"
#include "signin.h"
#include "store_apikeys.h"
#include "store_oauth.h"
#include "util.h"
#include "whois.h"

/* What a portal pre-auth row holds (an /authorize one holds a query string). */
#define PORTAL_PREAUTH "portal:keys"
#define PORTAL_PATH "/keys"
#define DAY_S 86400

enum portal_action { SHOW, CREATE, REVOKE };

/* One request to the portal, while the user's identity is looked up. */
struct portal {
	struct http_request *req;
	struct store_session s;
	char cookie[SESSION_TOKEN_LEN + 1];
	struct identity id;
	enum portal_action action;
	char *name;                 /* CREATE */
	struct strlist scopes;      /* CREATE */
	int64_t lifetime;           /* CREATE, seconds; 0: the longest allowed */
	int64_t key_id;             /* REVOKE */
};

static void
portal_free(struct portal *p)
{
	if (p == NULL)
		return;
	store_session_free(&p->s);
	identity_free(&p->id);
	strlist_free(&p->scopes);
	free(p->name);
	explicit_bzero(p->cookie, sizeof(p->cookie));
	free(p);
}

/* ---- the login page ---------------------------------------------------------- */

static void
respond_login(struct http_request *req, const char *preauth, unsigned status,
    const char *error, const char *username)
{
	const struct config *cfg = http_server(req)->cfg;
	char csrf[SESSION_TOKEN_LEN + 1];
	const struct tpl_var vars[] = {
		TPL_TEXT("issuer_host", page_issuer_host(cfg)),
		TPL_TEXT("purpose", "Sign in to see and manage your API keys."),
		TPL_TEXT("action", PORTAL_PATH),
		TPL_TEXT("error", error),
		TPL_TEXT("username", username),
		TPL_TEXT("csrf", csrf),
	};

	session_csrf_for(preauth, csrf, sizeof(csrf));
	page_respond(req, status, TPL_LOGIN, vars, sizeof(vars) / sizeof(vars[0]));
}

/* A new portal pre-auth row and cookie, and the login page. */
static void
login_page(struct http_request *req, unsigned status, const char *error)
{
	struct server *srv = http_server(req);
	char token[SESSION_TOKEN_LEN + 1];
	unsigned char hash[SESSION_HASH_LEN];

	if (session_new_token(token, sizeof(token)) != 0) {
		page_error(req, 503, "Try again later", "The sign-in service is not ready.", NULL);
		return;
	}
	session_hash(token, hash);
	if (store_preauth_put(srv->store, hash, PORTAL_PREAUTH,
	    (int64_t)time(NULL) + IDB_PREAUTH_TTL_S) != STORE_OK) {
		page_error(req, 503, "Try again later",
		    "The sign-in service could not prepare the sign-in form.", NULL);
	} else {
		respond_login(req, token, status, error, NULL);
		page_set_cookie(req, COOKIE_PREAUTH, token, IDB_PREAUTH_TTL_S);
	}
	explicit_bzero(token, sizeof(token));
}

/* signin_ops: arg is the pre-auth cookie value (malloc'd). */
static void
login_done(struct http_request *req, void *arg, const struct identity *id)
{
	struct server *srv = http_server(req);
	unsigned char hash[SESSION_HASH_LEN];

	session_hash(arg, hash);
	if (store_preauth_delete(srv->store, hash) != STORE_OK)
		log_warn("keys: could not delete a used pre-auth row (it expires)");
	log_info("keys: %s signed in to the key portal", id->username);
	page_see_other(req, PORTAL_PATH);
	page_set_cookie(req, COOKIE_PREAUTH, "", 0);
}

static void
login_again(struct http_request *req, void *arg, unsigned status, const char *message,
    const char *username)
{
	respond_login(req, arg, status, message, username);
}

static void
login_free(void *arg)
{
	free_secret_str(arg);
}

static const struct signin_ops login_ops = { login_done, login_again, login_free };

/* POST action=login: the pre-auth cookie must name a portal row, and the CSRF match it. */
static enum http_outcome
post_login(struct http_request *req, const struct form *body)
{
	struct server *srv = http_server(req);
	char token[SESSION_TOKEN_LEN + 1], *row = NULL, *arg;
	unsigned char hash[SESSION_HASH_LEN];
	bool ok;

	ok = session_cookie_from_header(srv->cfg, COOKIE_PREAUTH, http_header(req, "Cookie"),
	    token, sizeof(token));
	if (ok) {
		session_hash(token, hash);
		ok = store_preauth_get(srv->store, hash, (int64_t)time(NULL), &row) == STORE_OK &&
		    strcmp(row, PORTAL_PREAUTH) == 0 && session_csrf_ok(token, form_get(body, "csrf"));
	}
	free(row);
	if (!ok) {
		log_warn("keys: sign-in form without a valid pre-auth cookie or CSRF token refused");
		login_page(req, 403, "This form has expired: sign in again.");
		explicit_bzero(token, sizeof(token));
		return HTTP_DONE;
	}
	arg = strdup(token);
	explicit_bzero(token, sizeof(token));
	if (arg == NULL) {
		http_respond_error(req, 500, "server_error", "out of memory");
		return HTTP_DONE;
	}
	return signin_start(req, body, &login_ops, arg);
}

/* ---- the keys page ----------------------------------------------------------- */

/* "2026-11-27 13:05 UTC", or none for 0. */
static const char *
page_time(int64_t t, const char *none, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0)
		return none;
	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, size, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(buf, size, "%" PRId64, t);
	return buf;
}

/* The table's text: one allocation holding every cell (6 per key). */
#define KEY_FIELDS 6
#define CELL_LEN 40

struct key_table {
	const char **cells;
	char (*text)[3][CELL_LEN];      /* id, created, last used and expiry, per key */
	char (*expiry)[CELL_LEN];
};

static int
key_table_fill(struct key_table *t, const struct store_apikey *k, size_t n, int64_t now)
{
	if (n == 0)
		return 0;
	t->cells = calloc(n * KEY_FIELDS, sizeof(*t->cells));
	t->text = calloc(n, sizeof(*t->text));
	t->expiry = calloc(n, sizeof(*t->expiry));
	if (t->cells == NULL || t->text == NULL || t->expiry == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char **row = t->cells + i * KEY_FIELDS;
		char when[CELL_LEN];

		snprintf(t->text[i][0], CELL_LEN, "%" PRId64, k[i].id);
		if (k[i].expires_at != 0 && k[i].expires_at <= now)
			snprintf(t->expiry[i], CELL_LEN, "expired %s",
			    page_time(k[i].expires_at, "", when, sizeof(when)));
		else
			snprintf(t->expiry[i], CELL_LEN, "%s",
			    page_time(k[i].expires_at, "never", when, sizeof(when)));
		row[0] = t->text[i][0];
		row[1] = k[i].name;
		row[2] = k[i].scope;
		row[3] = page_time(k[i].created_at, "", t->text[i][1], CELL_LEN);
		row[4] = page_time(k[i].last_used_at, "never", t->text[i][2], CELL_LEN);
		row[5] = t->expiry[i];
	}
	return 0;
}

static void
key_table_free(struct key_table *t)
{
	free(t->cells);
	free(t->text);
	free(t->expiry);
}

/* The expiry choices, longest allowed last; the first is the default. */
struct lifetimes {
	const char *cells[2 * 5];
	char text[2][2][CELL_LEN];
	size_t n;
};

static void
lifetimes_fill(struct lifetimes *l, unsigned max)
{
	static const unsigned days[] = { 30, 90, 365 };
	static const char *const labels[] = { "30 days", "90 days", "1 year" };
	bool has_max = max == 0;

	l->n = 0;
	for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
		if (max != 0 && (uint64_t)days[i] * DAY_S > max)
			continue;
		has_max = has_max || (uint64_t)days[i] * DAY_S == max;
		l->cells[2 * l->n] = days[i] == 30 ? "30" : days[i] == 90 ? "90" : "365";
		l->cells[2 * l->n + 1] = labels[i];
		l->n++;
	}
	if (!has_max && max >= DAY_S) {
		/* The configured maximum, when it is not one of the usual choices. */
		snprintf(l->text[0][0], CELL_LEN, "%u", max / DAY_S);
		snprintf(l->text[0][1], CELL_LEN, "%u days (the longest allowed)", max / DAY_S);
		l->cells[2 * l->n] = l->text[0][0];
		l->cells[2 * l->n + 1] = l->text[0][1];
		l->n++;
	}
	if (max == 0) {
		l->cells[2 * l->n] = "0";
		l->cells[2 * l->n + 1] = "Never";
		l->n++;
	}
}

struct flash {
	unsigned status;
	const char *error, *notice;
	const struct minted *minted;    /* a key just made: shown this once */
	const char *new_key_name;
};

static void
render_keys(struct portal *p, const struct flash *f)
{
	struct server *srv = http_server(p->req);
	const struct config *cfg = srv->cfg;
	struct store_apikey *keys = NULL;
	struct key_table table = { 0 };
	struct strlist allowed = { 0 };
	struct lifetimes life;
	char csrf[SESSION_TOKEN_LEN + 1], limit[96];
	size_t n = 0;

	if (apikeys_list_own(srv->store, p->s.username, p->id.id, &keys, &n) != 0 ||
	    scopes_for_identity(cfg, &p->id, &allowed) != 0 ||
	    key_table_fill(&table, keys, n, (int64_t)time(NULL)) != 0) {
		page_error(p->req, 503, "Try again later", "Your keys could not be read.", NULL);
		goto out;
	}
	lifetimes_fill(&life, cfg->apikeys.max_lifetime);
	snprintf(limit, sizeof(limit), "You hold %zu of at most %u keys.", n,
	    cfg->apikeys.max_per_user);
	session_csrf_for(p->cookie, csrf, sizeof(csrf));
	{
		const struct tpl_var vars[] = {
			TPL_TEXT("issuer_host", page_issuer_host(cfg)),
			TPL_TEXT("user", p->id.display_name != NULL ? p->id.display_name :
			    p->id.username),
			TPL_TEXT("csrf", csrf),
			TPL_TEXT("error", f->error),
			TPL_TEXT("notice", f->notice),
			TPL_TEXT("new_key", f->minted != NULL ? f->minted->key : NULL),
			TPL_TEXT("new_key_name", f->new_key_name),
			TPL_TEXT("limit_note", limit),
			TPL_ROWS("keys", table.cells, n, KEY_FIELDS),
			TPL_LIST("scopes", (const char *const *)allowed.items, allowed.n),
			TPL_ROWS("lifetimes", life.cells, life.n, 2),
		};

		page_respond(p->req, f->status, TPL_KEYS, vars, sizeof(vars) / sizeof(vars[0]));
	}
out:
	key_table_free(&table);
	store_apikeys_free(keys, n);
	strlist_free(&allowed);
}

/* ---- actions, once the identity is known --------------------------------------- */

static void
do_create(struct portal *p)
{
	struct server *srv = http_server(p->req);
	const struct mint_request m = {
		.name = p->name, .scopes = &p->scopes, .lifetime = p->lifetime,
		.addr = http_client_addr(p->req),
	};
	struct minted out;
	enum mint_result r = apikey_mint(srv->cfg, srv->store, &p->id, &m, &out);
	char msg[256];

	if (r == MINT_OK) {
		const struct flash f = { .status = 200, .minted = &out, .new_key_name = p->name };

		log_info("keys: %s created key %" PRId64, p->id.username, out.id);
		render_keys(p, &f);
	} else {
		const struct flash f = {
			.status = r == MINT_ERROR ? 503 : r == MINT_LIMIT ? 409 : 400,
			.error = apikey_mint_message(r, srv->cfg, &out, msg, sizeof(msg)),
		};

		render_keys(p, &f);
	}
	explicit_bzero(&out, sizeof(out));
}

static void
do_revoke(struct portal *p)
{
	struct server *srv = http_server(p->req);
	struct flash f = { .status = 200, .notice = "The key was revoked: it no longer works." };

	switch (apikeys_revoke_own(srv->store, p->id.username, p->id.id, p->key_id,
	    http_client_addr(p->req))) {
	case REVOKE_OWN_OK:
		break;
	case REVOKE_OWN_NOT_FOUND:
		f = (struct flash){ .status = 404, .error = "You have no such key." };
		break;
	default:
		f = (struct flash){ .status = 503, .error = "The key could not be revoked: "
		    "try again later." };
		break;
	}
	render_keys(p, &f);
}

/* The session's user is gone, disabled or renamed over: end the session. */
static void
end_session(struct portal *p)
{
	struct server *srv = http_server(p->req);
	unsigned char hash[SESSION_HASH_LEN];

	session_hash(p->cookie, hash);
	if (store_session_delete(srv->store, hash) != STORE_OK)
		log_warn("keys: could not end the session of a departed user");
	page_error(p->req, 403, "Account not active",
	    "Your account can no longer sign in here.", NULL);
	page_set_cookie(p->req, COOKIE_SESSION, "", 0);
}

/* whois_done: the identity is here (or not); act and answer. */
static void
identity_known(void *arg, enum auth_result r)
{
	struct portal *p = arg;

	if (r == AUTH_OK && (p->id.id == NULL || strcmp(p->id.id, p->s.user_id) != 0))
		r = AUTH_UNKNOWN_USER;  /* the name now belongs to someone else */
	if (r == AUTH_UNAVAILABLE || r == AUTH_INTERNAL) {
		page_error(p->req, 503, "Try again later",
		    "The company directory is unavailable: try again later.", NULL);
		http_add_header(p->req, "Retry-After", "30");
	} else if (r != AUTH_OK) {
		end_session(p);
	} else if (p->action == CREATE) {
		do_create(p);
	} else if (p->action == REVOKE) {
		do_revoke(p);
	} else {
		const struct flash f = { .status = 200 };

		render_keys(p, &f);
	}
	portal_free(p);
}

/* ---- requests ------------------------------------------------------------------ */

/* The session behind the request, in a new portal; NULL when there is none. */
static struct portal *
portal_for(struct http_request *req, enum portal_action action)
{
	struct portal *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->req = req;
	p->action = action;
	if (!page_session(req, &p->s, p->cookie)) {
		portal_free(p);
		return NULL;
	}
	return p;
}

static enum http_outcome
run(struct portal *p)
{
	return whois(p->req, p->s.username, &p->id, identity_known, p);
}

/* One checked scope name into p->scopes; NULL, or what is wrong. */
static const char *
add_scope(struct portal *p, const char *name)
{
	struct strlist one = { 0 };
	const char *bad = NULL;

	if (scope_parse(name, &one) != SCOPE_OK || one.n != 1)
		bad = "A scope name is malformed.";
	else if (strlist_add(&p->scopes, one.items[0]) != 0)
		bad = "Out of memory.";
	strlist_free(&one);
	return bad;
}

/* The create form's fields into p; NULL, or what is wrong. */
static const char *
read_create(struct portal *p, const struct form *body)
{
	const char *name = form_get(body, "name"), *life = form_get(body, "lifetime");
	char *end;
	long long days;

	if (name == NULL || (p->name = strdup(name)) == NULL)
		return "Give the key a name.";
	for (size_t i = 0; i < body->n; i++) {
		const char *f = body->fields[i].name, *bad;

		if (strncmp(f, "scope.", 6) == 0 && (bad = add_scope(p, f + 6)) != NULL)
			return bad;
	}
	if (life == NULL)
		return NULL;
	errno = 0;
	days = strtoll(life, &end, 10);
	if (errno != 0 || end == life || *end != '\0' || days < 0 ||
	    days > IDB_MAX_APIKEY_LIFETIME / DAY_S)
		return "Choose how long the key lives.";
	p->lifetime = days * DAY_S;
	return NULL;
}

static enum http_outcome
post_action(struct http_request *req, const struct form *body, const char *action)
{
	struct portal *p = NULL;
	const char *bad = NULL;
	char *end;

	if ((p = portal_for(req, strcmp(action, "create") == 0 ? CREATE : REVOKE)) == NULL) {
		login_page(req, 401, "Your session has ended: sign in again.");
		return HTTP_DONE;
	}
	if (!session_csrf_ok(p->cookie, form_get(body, "csrf"))) {
		log_warn("keys: form without a valid CSRF token refused");
		page_error(req, 403, "This form has expired",
		    "Reload the page and try again.", PORTAL_PATH);
		portal_free(p);
		return HTTP_DONE;
	}
	if (p->action == CREATE) {
		bad = read_create(p, body);
	} else {
		const char *id = form_get(body, "id");

		errno = 0;
		p->key_id = id != NULL ? strtoll(id, &end, 10) : 0;
		if (id == NULL || errno != 0 || end == id || *end != '\0' || p->key_id < 1)
			bad = "No such key.";
	}
	if (bad != NULL) {
		page_error(req, 400, "This form does not work", bad, PORTAL_PATH);
		portal_free(p);
		return HTTP_DONE;
	}
	return run(p);
}

static enum http_outcome
keys_post(struct http_request *req)
{
	struct form body = { 0 };
	enum http_outcome out = HTTP_DONE;
	enum form_error fe;
	const char *action;
	size_t len;
	const char *raw = http_body(req, &len);

	if ((fe = form_parse(raw, len, &body)) != FORM_OK) {
		page_error(req, 400, "This form does not work", form_error_text(fe), PORTAL_PATH);
		goto out;
	}
	/* The login form is the shared template: it has no action field. */
	action = form_get(&body, "action");
	if (action == NULL)
		out = post_login(req, &body);
	else if (action != NULL && (strcmp(action, "create") == 0 ||
	    strcmp(action, "revoke") == 0))
		out = post_action(req, &body, action);
	else
		page_error(req, 400, "This form does not work", "Unknown action.", PORTAL_PATH);
out:
	form_free(&body);
	return out;
}

static enum http_outcome
keys_get(struct http_request *req)
{
	struct portal *p = portal_for(req, SHOW);

	if (p == NULL) {
		login_page(req, 200, NULL);
		return HTTP_DONE;
	}
	return run(p);
}

enum http_outcome
h_keys(struct http_request *req)
{
	if (strcmp(http_method(req), "POST") == 0)
		return keys_post(req);
	if (page_refuse_head(req))
		return HTTP_DONE;
	return keys_get(req);
}
