/*
 * verify_jwt.c — an access token's result, cached by hash (see verify_jwt.h).
 *
 * Shared by /verify and /introspect, so one entry serves both and both
 * follow the same revocation rule: every hit checks the cache generation
 * (verifycache.h), and a stale one asks the store before it is trusted.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"    /* struct identity */
#include "config.h"
#include "scopes.h"
#include "server.h"
#include "store_oauth.h"
#include "token.h"
#include "util.h"
#include "verify_jwt.h"
#include "verifycache.h"

/* Ask the store whether r's token is still live; cache r, or drop the entry when not. */
static enum verify_jwt_status
store_live(struct server *srv, const unsigned char *hash, struct verify_result *r, uint64_t gen)
{
	switch (store_access_check(srv->store, r->jti)) {
	case STORE_OK:
		verifycache_put(srv->verifycache, hash, r, gen);
		return VERIFY_JWT_OK;
	case STORE_ERROR:
		return VERIFY_JWT_UNAVAILABLE;
	default:    /* revoked, or never issued here */
		verifycache_remove(srv->verifycache, hash);
		return VERIFY_JWT_INVALID;
	}
}

/*
 * X-Idbridge-Groups carries only groups that [scopes] names.  With
 * groups_claim = mapped (the default) the claim is exactly that; with
 * groups_claim = all it is narrowed here, by name (the claim has no DNs,
 * so a group that [scopes] names only by DN is left out).  Done once,
 * before the result is cached and shared.  0 or -1 (ENOMEM).
 */
static int
narrow_groups(const struct config *cfg, struct verify_result *r)
{
	struct identity id = { .groups = r->groups, .n_groups = r->n_groups };
	struct strlist mapped = { 0 };

	if (cfg->tokens.groups_claim != GROUPS_CLAIM_ALL || r->n_groups == 0)
		return 0;
	if (scopes_mapped_groups(cfg, &id, &mapped) != 0)
		return -1;
	for (size_t i = 0; i < r->n_groups; i++)
		free(r->groups[i]);
	free(r->groups);
	r->groups = mapped.items;
	r->n_groups = mapped.n;
	return 0;
}

/* A complete result for verified claims in *r_r; INVALID when the claims make none. */
static enum verify_jwt_status
make_result(const struct config *cfg, const json_t *claims, bool introspection,
    struct verify_result **r_r)
{
	if ((*r_r = verify_result_from_claims(claims)) == NULL)
		return VERIFY_JWT_INVALID;
	if (narrow_groups(cfg, *r_r) != 0 || verify_result_finish(*r_r) != 0 ||
	    (introspection && verify_result_set_introspection(*r_r, claims) != 0))
		return VERIFY_JWT_UNAVAILABLE;
	return VERIFY_JWT_OK;
}

/*
 * Can a cached result answer?  Only an access token's (an API key's entry
 * lives under the same kind of hash), and for /introspect only one that
 * carries its answer.
 */
static bool
usable(const struct verify_result *r, bool introspection)
{
	return r->key_id == 0 && (!introspection || r->introspection != NULL);
}

enum verify_jwt_status
verify_jwt(struct server *srv, const char *token, bool introspection, json_t **claims_r,
    struct verify_result **r_r)
{
	unsigned char hash[IDB_SHA256_LEN];
	struct jwt_expect want = { .now = time(NULL), .issuer = srv->cfg->server.issuer };
	json_t *claims = NULL;
	uint64_t gen;
	enum verify_jwt_status v = VERIFY_JWT_INVALID;

	*r_r = NULL;
	if (claims_r != NULL)
		*claims_r = NULL;
	if (strlen(token) > IDB_MAX_JWT_LEN || token_hash(token, strlen(token), hash) != 0)
		return VERIFY_JWT_INVALID;
	/* Taken before any store read: a revocation after it moves the generation. */
	gen = verifycache_generation(srv->verifycache);
	switch (verifycache_get(srv->verifycache, hash, want.now, r_r)) {
	case VC_HIT:
		if (usable(*r_r, introspection))
			return VERIFY_JWT_OK;
		break;
	case VC_STALE:
		if (usable(*r_r, introspection))
			return store_live(srv, hash, *r_r, gen);
		break;
	case VC_MISS:
		break;
	}
	verify_result_release(*r_r);
	*r_r = NULL;
	/* aud is checked per request from the result, so one entry serves every ?plugin. */
	if (jwt_verify(srv->keys, token, &want, &claims) != JWT_OK)
		goto out;
	v = make_result(srv->cfg, claims, introspection, r_r);
	if (v == VERIFY_JWT_INVALID && claims_r != NULL) {
		*claims_r = claims;
		claims = NULL;
		v = VERIFY_JWT_UNCACHED;
	} else if (v == VERIFY_JWT_OK) {
		v = store_live(srv, hash, *r_r, gen);
	}
out:
	json_decref(claims);
	if (v != VERIFY_JWT_OK) {
		verify_result_release(*r_r);
		*r_r = NULL;
	}
	return v;
}
