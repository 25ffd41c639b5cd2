/*
 * verify_apikey.c — /verify for per-employee API keys (issue 4, user_http).
 *
 *   wrong shape or checksum        401 invalid_token, no store read
 *   ?plugin= names a plugin that   401 invalid_token (a key is for
 *     is not auth = user_http        user_http plugins only)
 *   unknown, revoked, expired key  401 invalid_token
 *   owner gone or disabled in the  401 invalid_token (every key of theirs)
 *     directory, or the login name
 *     now belongs to another id
 *   a ?scope= value not granted    403 insufficient_scope
 *   store or directory down        503 with Retry-After
 *
 * Granted scopes are the key's scopes that the owner's groups still allow
 * (scopes_for_identity), so leaving a group narrows every key at once
 * (within [tokens] directory_cache_ttl: the identity comes from the
 * dircache, else from the backend's lookup() on the auth pool, the
 * request suspended meanwhile).  X-Idbridge-User is the login name,
 * X-Idbridge-Client "apikey", X-Idbridge-Groups the owner's groups that
 * [scopes] names.
 *
 * Results are not cached: each call reads the key's row (one indexed
 * SELECT), so a revocation from any process takes effect on the next call.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apikey.h"
#include "authpool.h"
#include "backend.h"
#include "config.h"
#include "dircache.h"
#include "scopes.h"
#include "server.h"
#include "whois.h"
#include "store_apikeys.h"
#include "util.h"
#include "verify_apikey.h"
#include "verifycache.h"

#define CLIENT_NAME "apikey"

/* A request waiting for the owner's identity. */
struct ak_job {
	struct http_request *req;
	struct store_apikey key;
	struct strlist want;
	struct identity id;
};

static void
ak_job_free(void *arg)
{
	struct ak_job *j = arg;

	if (j == NULL)
		return;
	store_apikey_clear(&j->key);
	strlist_free(&j->want);
	identity_free(&j->id);
	free(j);
}

static void
respond_unavailable(struct http_request *req, const char *what)
{
	http_respond_error(req, 503, "temporarily_unavailable", what);
	http_add_header(req, "Retry-After", "5");
}

static bool
has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i], s) == 0)
			return true;
	return false;
}

/* The key's scopes the identity's groups still allow, into *out; 0 or -1. */
static int
granted_scopes(const struct config *cfg, const struct ak_job *j, struct strlist *out)
{
	struct strlist key = { 0 }, allowed = { 0 };
	int r = -1;

	if (strlist_add_words(&key, j->key.scope) != 0 ||
	    scopes_for_identity(cfg, &j->id, &allowed) != 0)
		goto out;
	for (size_t i = 0; i < key.n; i++)
		if (has(&allowed, key.items[i]) && strlist_add(out, key.items[i]) != 0)
			goto out;
	r = 0;
out:
	strlist_free(&key);
	strlist_free(&allowed);
	return r;
}

/* Answer for the owner's identity as the directory gave it (ar). */
static void
finish(struct ak_job *j, enum auth_result ar)
{
	struct server *srv = http_server(j->req);
	struct strlist granted = { 0 }, groups = { 0 };
	struct verify_result r = { 0 };
	char *scope = NULL;

	if (ar == AUTH_UNAVAILABLE || ar == AUTH_INTERNAL) {
		respond_unavailable(j->req, "the directory does not answer");
		return;
	}
	/* Gone, disabled, or the name now belongs to someone else: no key of theirs works. */
	if (ar != AUTH_OK || j->id.id == NULL || strcmp(j->id.id, j->key.user_id) != 0) {
		verify_respond_invalid(j->req);
		return;
	}
	if (granted_scopes(srv->cfg, j, &granted) != 0 ||
	    scopes_mapped_groups(srv->cfg, &j->id, &groups) != 0 ||
	    (scope = strlist_join(&granted, " ")) == NULL) {
		respond_unavailable(j->req, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < j->want.n; i++) {
		if (!has(&granted, j->want.items[i])) {
			verify_respond_scope(j->req, &j->want);
			goto out;
		}
	}
	r.sub = j->key.username;
	r.client_id = (char *)CLIENT_NAME;
	r.scope = scope;
	r.groups = groups.items;
	r.n_groups = groups.n;
	verify_respond_ok(j->req, &r);
out:
	free(scope);
	strlist_free(&granted);
	strlist_free(&groups);
}

/* The owner's identity (dircache, else the auth pool), then the answer. */
static void
with_owner_done(void *arg, enum auth_result r)
{
	finish(arg, r);
}

static enum http_outcome
with_owner(struct ak_job *j)
{
	return whois(j->req, j->key.username, &j->id, with_owner_done, j);
}

enum http_outcome
verify_apikey(struct http_request *req, const char *token, const struct strlist *want,
    const struct plugin_cfg *plugin)
{
	struct server *srv = http_server(req);
	unsigned char hash[IDB_SHA256_LEN];
	char prefix[IDB_APIKEY_PREFIX_LEN + 1];
	struct ak_job *j = NULL;
	enum store_result sr;

	/* A typo or a look-alike is refused before any store read. */
	if (!apikey_checksum_ok(token) ||
	    (plugin != NULL && plugin->auth != PLUGIN_AUTH_USER_HTTP)) {
		verify_respond_invalid(req);
		return HTTP_DONE;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL || apikey_hash(token, hash) != 0) {
		free(j);
		respond_unavailable(req, "out of memory");
		return HTTP_DONE;
	}
	j->req = req;
	http_set_state(req, j, ak_job_free);
	apikey_prefix(token, prefix);
	sr = store_apikey_find(srv->store, prefix, hash, (int64_t)time(NULL), &j->key);
	explicit_bzero(hash, sizeof(hash));
	if (sr == STORE_ERROR) {
		respond_unavailable(req, "the store does not answer");
		return HTTP_DONE;
	}
	if (sr != STORE_OK) {
		verify_respond_invalid(req);
		return HTTP_DONE;
	}
	for (size_t i = 0; i < want->n; i++) {
		if (strlist_add(&j->want, want->items[i]) != 0) {
			respond_unavailable(req, "out of memory");
			return HTTP_DONE;
		}
	}
	return with_owner(j);
}
