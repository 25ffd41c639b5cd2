/*
 * verifycache.h — results of /verify, cached by the SHA-256 of the token.
 *
 * A verified JWT's result is kept until its exp (plus the clock skew that
 * jwt_verify allows, so a hit and a miss agree), so repeated calls do no
 * signature work and no store read.  Results are immutable and
 * reference-counted: a hit hands out a reference, not a copy.
 *
 * Revocation: every entry is stamped with the cache's generation taken
 * *before* the store said the token was live.  The generation moves
 * whenever the store's revocation generation (store_revocation_generation)
 * moved; it is
 * refreshed at most every VERIFYCACHE_RECHECK_MS, by whichever request
 * comes first.  A hit whose stamp is older is reported stale: the caller
 * asks the store again (no signature work) and puts the result back with
 * the generation it took first.  So a /revoke from any connection or
 * process is seen within about a second.
 *
 *	uint64_t gen = verifycache_generation(vc);     // before any store read
 *	struct verify_result *r = NULL;
 *	switch (verifycache_get(vc, hash, now, &r)) {
 *	case VC_HIT:   use r; break;
 *	case VC_STALE: store_access_check(r->jti) → verifycache_put(vc, hash, r, gen) or _remove
 *	case VC_MISS:  jwt_verify → verify_result_from_claims → store → verifycache_put
 *	}
 *	verify_result_release(r);
 *
 * Bounded (least recently used entries go first) and safe from any
 * number of threads (one mutex; the critical sections only move pointers).
 *
 * /introspect shares the cache: an access token's entry serves both
 * endpoints.  What each answers is made once, when the result is made
 * (verify_result_finish, verify_result_set_introspection), so a hit only
 * copies prepared bytes into the response.
 */
#ifndef IDBRIDGE_VERIFYCACHE_H
#define IDBRIDGE_VERIFYCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "bridge.h"
#include "keyusage.h"

#define VERIFYCACHE_MAX_ENTRIES 16384   /* cached results; the oldest used go first */
#define VERIFYCACHE_RECHECK_MS 1000     /* how often the store's revocation generation is read */
#define VERIFYCACHE_MAX_AUD 8           /* aud values kept per token (more: refused) */
#define VERIFYCACHE_MAX_GROUPS 256      /* groups kept per token (more: refused) */
#define VERIFYCACHE_MAX_HEADER (3 * IDB_MAX_JWT_LEN)   /* one X-Idbridge-* value */

struct store;
struct verifycache;

/* What a valid token says, as /verify needs it.  Immutable once made (but usage). */
struct verify_result {
	char *sub;              /* a JWT's sub (directory id); an API key owner's login name */
	char *client_id;
	char *scope;            /* space-separated */
	char *jti;
	char **aud;             /* n_aud strings */
	size_t n_aud;
	char **groups;          /* n_groups strings */
	size_t n_groups;
	int64_t exp;            /* a JWT's exp (kept until exp + clock skew); an API key's
				   result is kept until exp exactly */
	int64_t key_id;         /* an API key's store id; 0 for a JWT or a service secret */
	struct keyusage_mark usage;     /* an API key's use bookkeeping (keyusage.h): mutable */
	/*
	 * /verify's X-Idbridge-User, -Scopes, -Groups and -Client values: each
	 * item percent-encoded (all but [A-Za-z0-9-._~:@/]), joined by ','.
	 * Made by verify_result_finish.
	 */
	char *hdr_user, *hdr_scopes, *hdr_groups, *hdr_client;
	/* A JWT's RFC 7662 answer (JSON), when /introspect asked; else NULL. */
	char *introspection;
	size_t introspection_len;
	/* private */
	_Atomic unsigned refs;
};

/*
 * The result for verified claims: sub, client_id, jti and exp required;
 * scope, aud (string or array of strings) and groups (array of strings)
 * optional.  NULL when a required claim is missing or of the wrong type, a
 * list is over its limit, or out of memory.  One reference.
 */
struct verify_result *verify_result_from_claims(const json_t *claims);
void verify_result_release(struct verify_result *r);
/*
 * Make the header values once r's fields are final (before it is cached or
 * answered from).  0, or -1 on ENOMEM.
 */
int verify_result_finish(struct verify_result *r) IDB_WUR;
/*
 * Keep the introspection answer for the token's claims: active, token_type
 * and the claims a resource server needs (RFC 7662 §2.2) as the token has
 * them.  Before r is cached.  0, or -1 on ENOMEM.
 */
int verify_result_set_introspection(struct verify_result *r, const json_t *claims) IDB_WUR;
/* The introspection answer for claims (a new object), or NULL on ENOMEM. */
json_t *verify_introspection_answer(const json_t *claims);
/* Does the token's aud contain audience? */
bool verify_result_has_aud(const struct verify_result *r, const char *audience);
/* Is every scope in want (n of them) among r's scopes? */
bool verify_result_has_scopes(const struct verify_result *r, char *const *want, size_t n);

/*
 * A cache of at most max_entries (0: VERIFYCACHE_MAX_ENTRIES) whose
 * generation follows st (NULL: it never moves — unit tests drive
 * verifycache_bump instead).  NULL on ENOMEM.
 */
struct verifycache *verifycache_new(size_t max_entries, struct store *st);
void verifycache_free(struct verifycache *vc);
/* Drop every entry (SIGHUP, `user revoke`). */
void verifycache_flush(struct verifycache *vc);
/* Move the generation by hand: every entry becomes stale. */
void verifycache_bump(struct verifycache *vc);

/*
 * The current generation, first re-reading the store's revocation generation when
 * the last read is VERIFYCACHE_RECHECK_MS old (one thread reads; the
 * others go on with the value they see).  A failed read moves the
 * generation too: without the store nothing cached is trusted.
 */
uint64_t verifycache_generation(struct verifycache *vc);

/*
 * Read the store's revocation generation now, whatever the time since the
 * last read, and move the generation if it changed; a read that finds
 * nothing revoked moves nothing.  The daemon needs no such read for its own
 * revocations: the store calls back after their commit (store_on_revocation
 * → verifycache_bump).
 */
void verifycache_recheck(struct verifycache *vc);

enum vc_lookup {
	VC_MISS,     /* not cached, or expired at now (then dropped) */
	VC_HIT,      /* *r_r: a reference to a result still good */
	VC_STALE,    /* *r_r: the result, but the store changed since its check */
};

enum vc_lookup verifycache_get(struct verifycache *vc, const unsigned char hash[IDB_SHA256_LEN],
    int64_t now, struct verify_result **r_r);
/* Cache r (the cache takes its own reference) stamped with gen; replaces an entry of hash. */
void verifycache_put(struct verifycache *vc, const unsigned char hash[IDB_SHA256_LEN],
    struct verify_result *r, uint64_t gen);
void verifycache_remove(struct verifycache *vc, const unsigned char hash[IDB_SHA256_LEN]);
/* Entries now (tests). */
size_t verifycache_count(struct verifycache *vc);

#endif
