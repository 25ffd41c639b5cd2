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
 * Results are cached by the key's SHA-256 (verifycache.h) for at most
 * [tokens] directory_cache_ttl (0: not cached), never past the key's
 * expiry; a hit does no store read and no directory work.  The identity a
 * result was built from may itself have been up to a TTL old in the
 * dircache, so a group change reaches a busy key within two TTLs at worst.  Every hit
 * checks the cache generation, which follows the store's revocation
 * generation at most once a second: after a revocation (a `keys revoke`
 * from another process, `user revoke`) the next use re-reads the key's
 * row, so a revoked key is refused within about a second.
 *
 * Every accepted use (200, and 403: the key itself was good) is noted in
 * keyusage.h's table, which writes last_used_at in batches; the first use
 * of a key never used before gets one audit line (event=apikey_first_use).
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apikey.h"
#include "audit.h"
#include "authpool.h"
#include "backend.h"
#include "config.h"
#include "dircache.h"
#include "keyusage.h"
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
	unsigned char hash[IDB_SHA256_LEN];     /* the cache's key for the result */
	uint64_t gen;                           /* cache generation taken before the store read */
	int64_t now;
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
	explicit_bzero(j->hash, sizeof(j->hash));
	free(j);
}

static void
respond_unavailable(struct http_request *req, const char *what)
{
	http_respond_error(req, 503, "temporarily_unavailable", what);
	http_add_header(req, "Retry-After", "5");
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
		if (strlist_contains(&allowed, key.items[i]) && strlist_add(out, key.items[i]) != 0)
			goto out;
	r = 0;
out:
	strlist_free(&key);
	strlist_free(&allowed);
	return r;
}

/*
 * The result for the key and its owner's identity: kept for at most
 * directory_cache_ttl, never past the key's expiry.  NULL on ENOMEM.
 */
static struct verify_result *
key_result(const struct config *cfg, struct ak_job *j)
{
	struct verify_result *r = calloc(1, sizeof(*r));
	struct strlist granted = { 0 }, groups = { 0 };

	if (r == NULL)
		return NULL;
	atomic_init(&r->refs, 1);
	if (granted_scopes(cfg, j, &granted) != 0 ||
	    scopes_mapped_groups(cfg, &j->id, &groups) != 0 ||
	    (r->scope = strlist_join(&granted, " ")) == NULL ||
	    (r->sub = strdup(j->key.username)) == NULL ||
	    (r->client_id = strdup(CLIENT_NAME)) == NULL || (r->jti = strdup("")) == NULL) {
		strlist_free(&groups);
		verify_result_release(r);
		r = NULL;
		goto out;
	}
	r->groups = groups.items;       /* the result owns them now */
	r->n_groups = groups.n;
	if (verify_result_finish(r) != 0) {
		verify_result_release(r);
		r = NULL;
		goto out;
	}
	r->key_id = j->key.id;
	r->exp = j->now + (int64_t)cfg->tokens.directory_cache_ttl;
	if (j->key.expires_at != 0 && j->key.expires_at < r->exp)
		r->exp = j->key.expires_at;
	keyusage_mark_init(&r->usage, j->key.last_used_at == 0);
out:
	strlist_free(&granted);
	return r;
}

/* Answer from a key's result and note the use (on 403 too: the key itself was good). */
static void
answer(struct http_request *req, struct verify_result *r, const struct strlist *want,
    int64_t now)
{
	struct server *srv = http_server(req);

	if (verify_result_has_scopes(r, want->items, want->n))
		verify_respond_ok(req, r);
	else
		verify_respond_scope(req, want);
	if (srv->keyusage != NULL && keyusage_note(srv->keyusage, &r->usage, r->key_id, now))
		audit_apikey("apikey_first_use", r->sub, (long long)r->key_id, "ok",
		    http_client_addr(req));
}

/* Answer for the owner's identity as the directory gave it (ar). */
static void
finish(struct ak_job *j, enum auth_result ar)
{
	struct server *srv = http_server(j->req);
	struct verify_result *r;

	if (ar == AUTH_UNAVAILABLE || ar == AUTH_INTERNAL) {
		respond_unavailable(j->req, "the directory does not answer");
		return;
	}
	/* Gone, disabled, or the name now belongs to someone else: no key of theirs works. */
	if (ar != AUTH_OK || j->id.id == NULL || strcmp(j->id.id, j->key.user_id) != 0) {
		verify_respond_invalid(j->req);
		return;
	}
	if ((r = key_result(srv->cfg, j)) == NULL) {
		respond_unavailable(j->req, "out of memory");
		return;
	}
	if (r->exp > j->now)
		verifycache_put(srv->verifycache, j->hash, r, j->gen);
	answer(j->req, r, &j->want, j->now);
	verify_result_release(r);
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

/* Not cached: read the key's row, then its owner's identity. */
static enum http_outcome
look_up(struct http_request *req, const char *token, const unsigned char *hash, uint64_t gen,
    const struct strlist *want, int64_t now)
{
	struct server *srv = http_server(req);
	char prefix[IDB_APIKEY_PREFIX_LEN + 1];
	struct ak_job *j;
	enum store_result sr;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		respond_unavailable(req, "out of memory");
		return HTTP_DONE;
	}
	j->req = req;
	memcpy(j->hash, hash, sizeof(j->hash));
	j->gen = gen;
	j->now = now;
	http_set_state(req, j, ak_job_free);
	apikey_prefix(token, prefix);
	sr = store_apikey_find(srv->store, prefix, hash, now, &j->key);
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

/* Cached, but the store changed since: is the key still live?  Then r holds (groups: TTL). */
static void
recheck(struct http_request *req, const char *token, const unsigned char *hash,
    struct verify_result *r, uint64_t gen, const struct strlist *want, int64_t now)
{
	struct server *srv = http_server(req);
	char prefix[IDB_APIKEY_PREFIX_LEN + 1];
	struct store_apikey k;
	enum store_result sr;

	apikey_prefix(token, prefix);
	sr = store_apikey_find(srv->store, prefix, hash, now, &k);
	if (sr == STORE_OK && k.id == r->key_id) {
		verifycache_put(srv->verifycache, hash, r, gen);
		answer(req, r, want, now);
	} else if (sr == STORE_ERROR) {
		respond_unavailable(req, "the store does not answer");
	} else {
		verifycache_remove(srv->verifycache, hash);
		verify_respond_invalid(req);
	}
	store_apikey_clear(&k);
}

enum http_outcome
verify_apikey(struct http_request *req, const char *token, const struct strlist *want,
    const struct plugin_cfg *plugin)
{
	struct server *srv = http_server(req);
	unsigned char hash[IDB_SHA256_LEN];
	struct verify_result *r = NULL;
	int64_t now = (int64_t)time(NULL);
	enum http_outcome o = HTTP_DONE;
	uint64_t gen;

	if (plugin != NULL && plugin->auth != PLUGIN_AUTH_USER_HTTP) {
		verify_respond_invalid(req);
		return HTTP_DONE;
	}
	if (apikey_hash(token, hash) != 0) {
		respond_unavailable(req, "out of memory");
		return HTTP_DONE;
	}
	/* Taken before any store read: a revocation after it moves the generation. */
	gen = verifycache_generation(srv->verifycache);
	switch (verifycache_get(srv->verifycache, hash, now, &r)) {
	case VC_HIT:
		/* Only a key whose checksum was good was ever cached: no need to check again. */
		answer(req, r, want, now);
		break;
	case VC_STALE:
		recheck(req, token, hash, r, gen, want, now);
		break;
	case VC_MISS:
		/* A typo or a look-alike is refused before any store read. */
		if (!apikey_checksum_ok(token))
			verify_respond_invalid(req);
		else
			o = look_up(req, token, hash, gen, want, now);
		break;
	}
	verify_result_release(r);
	explicit_bzero(hash, sizeof(hash));
	return o;
}
