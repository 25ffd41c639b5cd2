/*
 * h_api_keys.c — /api/keys: the key portal as JSON, for scripts and for
 * pages that prefer it to forms.
 *
 *   GET    /api/keys      200 {"keys": [...], "csrf": "..."}
 *   POST   /api/keys      a JSON object {"name", "scopes" (array, or one
 *                         space-separated string), "expires_in_days"
 *                         (optional; 0 or absent: the longest allowed)};
 *                         201 with the key, shown this once
 *   DELETE /api/keys/ID   204; 404 when ID is not a live key of the caller
 *
 * A browser session only.  A request carrying an Authorization header is
 * refused outright, so a leaked API key can never mint keys that outlive
 * it.  POST and DELETE also need the session's CSRF token in X-CSRF-Token
 * (GET hands it out; another origin cannot read it) or an Origin header
 * equal to the issuer; an Origin naming anything else is always refused
 * (SameSite=Lax does not stop a plugin on a sibling subdomain).
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "apikeys.h"
#include "backend.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "oauth.h"        /* scope_parse */
#include "pages.h"
#include "server.h"
#include "store_apikeys.h"
#include "store_oauth.h"
#include "util.h"
#include "whois.h"

#define API_PREFIX "/api/keys"
#define DAY_S 86400

/* A POST while the owner's identity is looked up. */
struct api_create {
	struct http_request *req;
	struct store_session s;
	struct identity id;
	char *name;
	struct strlist scopes;
	int64_t lifetime;
};

static void
create_free(struct api_create *c)
{
	store_session_free(&c->s);
	identity_free(&c->id);
	strlist_free(&c->scopes);
	free(c->name);
	free(c);
}

/* ---- who may call --------------------------------------------------------------- */

/* Does the request come from the issuer's own pages, by Origin or CSRF header? */
static bool
same_origin_or_csrf(struct http_request *req, const char *cookie)
{
	const char *origin = http_header(req, "Origin");
	const char *issuer = http_server(req)->cfg->server.issuer;

	if (origin != NULL && strcasecmp(origin, issuer) != 0)
		return false;
	return origin != NULL || session_csrf_ok(cookie, http_header(req, "X-CSRF-Token"));
}

/*
 * The caller's session into *s (and its cookie), or an answer already
 * given (false).  changes: a POST or DELETE, which needs the CSRF check.
 */
static bool
caller(struct http_request *req, struct store_session *s, char *cookie, bool changes)
{
	if (http_header(req, "Authorization") != NULL) {
		http_respond_error(req, 403, "access_denied",
		    "API keys are managed with a browser session, never with a key or token");
		return false;
	}
	if (!page_session(req, s, cookie)) {
		http_respond_error(req, 401, "login_required", "sign in at /keys first");
		return false;
	}
	if (changes && !same_origin_or_csrf(req, cookie)) {
		log_warn("api/keys: %s without a matching Origin or CSRF token refused", http_method(req));
		http_respond_error(req, 403, "access_denied",
		    "a matching Origin or X-CSRF-Token header is required");
		return false;
	}
	return true;
}

/* ---- JSON -------------------------------------------------------------------------- */

static json_t *
time_or_null(int64_t t)
{
	return t != 0 ? json_integer(t) : json_null();
}

static json_t *
key_json(const struct store_apikey *k)
{
	struct strlist scopes = { 0 };
	json_t *o = NULL, *arr = json_array();
	char prefix[IDB_APIKEY_TAG_LEN + IDB_APIKEY_PREFIX_LEN + 1];

	if (arr == NULL || strlist_add_words(&scopes, k->scope) != 0)
		goto out;
	for (size_t i = 0; i < scopes.n; i++)
		json_array_append_new(arr, json_string(scopes.items[i]));
	snprintf(prefix, sizeof(prefix), "%s%s", IDB_APIKEY_TAG, k->prefix);
	o = json_pack("{s:I, s:s, s:s, s:O, s:I, s:o, s:o}", "id", (json_int_t)k->id,
	    "prefix", prefix, "name", k->name, "scopes", arr, "created_at",
	    (json_int_t)k->created_at, "last_used_at", time_or_null(k->last_used_at),
	    "expires_at", time_or_null(k->expires_at));
out:
	json_decref(arr);
	strlist_free(&scopes);
	return o;
}

/* The scopes member: an array of scope names or one space-separated string. */
static int
read_scopes(json_t *v, struct strlist *out)
{
	size_t i;
	json_t *item;

	if (json_is_string(v))
		return scope_parse(json_string_value(v), out) == SCOPE_OK ? 0 : -1;
	if (!json_is_array(v) || json_array_size(v) > OAUTH_MAX_SCOPES)
		return -1;
	json_array_foreach(v, i, item) {
		struct strlist one = { 0 };
		int r = json_is_string(item) &&
		    scope_parse(json_string_value(item), &one) == SCOPE_OK && one.n == 1 &&
		    !strlist_contains(out, one.items[0]) ? strlist_add(out, one.items[0]) : -1;

		strlist_free(&one);
		if (r != 0)
			return -1;
	}
	return 0;
}

/* The POST body into c; NULL, or what is wrong with it. */
static const char *
read_create(struct http_request *req, struct api_create *c)
{
	const char *ct = http_header(req, "Content-Type"), *key, *bad = NULL;
	size_t len;
	const char *body = http_body(req, &len);
	json_t *root, *v;

	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] != '\0' && ct[16] != ';'))
		return "the body must be application/json";
	if ((root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_object(root)) {
		json_decref(root);
		return "the body must be one JSON object, without duplicate members";
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "name") == 0 && json_is_string(v) && c->name == NULL)
			c->name = strdup(json_string_value(v));
		else if (strcmp(key, "scopes") == 0 && read_scopes(v, &c->scopes) == 0)
			continue;
		else if (strcmp(key, "expires_in_days") == 0 && json_is_integer(v) &&
		    json_integer_value(v) >= 0 &&
		    json_integer_value(v) <= IDB_MAX_APIKEY_LIFETIME / DAY_S)
			c->lifetime = (int64_t)json_integer_value(v) * DAY_S;
		else
			bad = "a member is unknown or malformed (name: string; scopes: array of "
			    "strings; expires_in_days: integer)";
		if (bad != NULL)
			break;
	}
	json_decref(root);
	if (bad == NULL && c->name == NULL)
		bad = "name is required";
	return bad;
}

/* ---- answers ------------------------------------------------------------------------- */

static void
list_keys(struct http_request *req, const struct store_session *s, const char *cookie)
{
	struct server *srv = http_server(req);
	struct store_apikey *keys = NULL;
	char csrf[SESSION_TOKEN_LEN + 1];
	json_t *arr = NULL;
	size_t n = 0;

	if (apikeys_list_own(srv->store, s->username, s->user_id, &keys, &n) != 0 ||
	    (arr = json_array()) == NULL) {
		http_respond_error(req, 503, "temporarily_unavailable", "try again later");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, key_json(&keys[i]));
	session_csrf_for(cookie, csrf, sizeof(csrf));
	http_respond_json(req, 200, json_pack("{s:O, s:s, s:I}", "keys", arr, "csrf", csrf,
	    "max_per_user", (json_int_t)srv->cfg->apikeys.max_per_user));
out:
	json_decref(arr);
	store_apikeys_free(keys, n);
}

/* whois_done for a POST: mint with the owner's current groups. */
static void
create_known(void *arg, enum auth_result r)
{
	struct api_create *c = arg;
	struct server *srv = http_server(c->req);
	const struct mint_request m = {
		.name = c->name, .scopes = &c->scopes, .lifetime = c->lifetime,
		.addr = http_client_addr(c->req),
	};
	struct minted out = { 0 };
	enum mint_result mr;
	char msg[256];

	if (r == AUTH_OK && (c->id.id == NULL || strcmp(c->id.id, c->s.user_id) != 0))
		r = AUTH_UNKNOWN_USER;
	if (r == AUTH_UNAVAILABLE || r == AUTH_INTERNAL) {
		http_respond_error(c->req, 503, "temporarily_unavailable",
		    "the company directory is unavailable: try again later");
		http_add_header(c->req, "Retry-After", "30");
	} else if (r != AUTH_OK) {
		http_respond_error(c->req, 403, "access_denied", "the account is not active");
	} else if ((mr = apikey_mint(srv->cfg, srv->store, &c->id, &m, &out)) != MINT_OK) {
		http_respond_error(c->req, mr == MINT_ERROR ? 503 : mr == MINT_LIMIT ? 409 : 400,
		    mr == MINT_ERROR ? "temporarily_unavailable" : "invalid_request",
		    apikey_mint_message(mr, srv->cfg, &out, msg, sizeof(msg)));
	} else {
		char *scope = strlist_join(&c->scopes, " ");
		const struct store_apikey k = {
			.id = out.id, .prefix = out.key + IDB_APIKEY_TAG_LEN, .name = c->name,
			.scope = scope, .created_at = (int64_t)time(NULL), .expires_at = out.expires_at,
		};
		char saved = out.key[IDB_APIKEY_TAG_LEN + IDB_APIKEY_PREFIX_LEN];
		json_t *o;

		/* The listing's view of the key, then the key itself. */
		out.key[IDB_APIKEY_TAG_LEN + IDB_APIKEY_PREFIX_LEN] = '\0';
		o = scope != NULL ? key_json(&k) : NULL;
		out.key[IDB_APIKEY_TAG_LEN + IDB_APIKEY_PREFIX_LEN] = saved;
		if (o != NULL)
			json_object_set_new(o, "key", json_string(out.key));
		http_respond_json(c->req, 201, o);
		log_info("api/keys: %s created key %lld", c->id.username, (long long)out.id);
		free(scope);
	}
	explicit_bzero(&out, sizeof(out));
	create_free(c);
}

static enum http_outcome
create_key(struct http_request *req, struct api_create *c)
{
	const char *bad = read_create(req, c);

	if (bad != NULL) {
		http_respond_error(req, 400, "invalid_request", bad);
		create_free(c);
		return HTTP_DONE;
	}
	c->req = req;
	return whois(req, c->s.username, &c->id, create_known, c);
}

static void
delete_key(struct http_request *req, const struct store_session *s)
{
	struct server *srv = http_server(req);
	const char *id = http_path(req) + strlen(API_PREFIX "/");
	char *end;
	long long n;

	errno = 0;
	n = strtoll(id, &end, 10);
	if (errno != 0 || end == id || *end != '\0' || n < 1) {
		http_respond_error(req, 404, "not_found", "no such key");
		return;
	}
	switch (apikeys_revoke_own(srv->store, s->username, s->user_id, n,
	    http_client_addr(req))) {
	case REVOKE_OWN_OK:
		http_respond(req, 204, "text/plain; charset=utf-8", "", 0);
		break;
	case REVOKE_OWN_NOT_FOUND:
		http_respond_error(req, 404, "not_found", "no such key");
		break;
	default:
		http_respond_error(req, 503, "temporarily_unavailable", "try again later");
		break;
	}
}

enum http_outcome
h_api_keys(struct http_request *req)
{
	const char *method = http_method(req), *path = http_path(req);
	bool collection = strcmp(path, API_PREFIX) == 0;
	bool post = strcmp(method, "POST") == 0, del = strcmp(method, "DELETE") == 0;
	struct api_create *c = NULL;
	struct store_session s = { 0 };
	char cookie[SESSION_TOKEN_LEN + 1] = "";
	enum http_outcome out = HTTP_DONE;

	if (collection == del || strncmp(path, API_PREFIX, strlen(API_PREFIX)) != 0) {
		http_respond_error(req, collection ? 405 : 404, "invalid_request",
		    collection ? "use GET or POST" : "no such resource");
		return HTTP_DONE;
	}
	if (!caller(req, &s, cookie, post || del))
		goto out;
	if (del)
		delete_key(req, &s);
	else if (!post)
		list_keys(req, &s, cookie);
	else if ((c = calloc(1, sizeof(*c))) == NULL)
		http_respond_error(req, 500, "server_error", "out of memory");
	else {
		c->s = s;  /* the job owns the session now */
		memset(&s, 0, sizeof(s));
		out = create_key(req, c);
	}
out:
	store_session_free(&s);
	explicit_bzero(cookie, sizeof(cookie));
	return out;
}
