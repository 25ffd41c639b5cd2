/*
 * apikeys.h — making an employee's API key: the rules every way of
 * making one shares (the /keys portal, /api/keys, `idbridge keys issue`).
 *
 * A key gets a name (IDB_APIKEY_NAME_MAX printable ASCII characters, not
 * starting or ending with a space), one or more scopes that the owner's
 * groups allow right now, and a lifetime no longer than [apikeys]
 * max_lifetime; the owner may hold at most [apikeys] max_per_user live
 * keys, counted by immutable directory id in the same statement that
 * inserts, so concurrent requests cannot pass the limit together.
 */
#ifndef IDBRIDGE_APIKEYS_H
#define IDBRIDGE_APIKEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apikey.h"

struct config;
struct identity;
struct store;
struct store_apikey;
struct strlist;

enum mint_result {
	MINT_OK,
	MINT_BAD_NAME,
	MINT_NO_SCOPES,
	MINT_SCOPE_NOT_ALLOWED,
	MINT_TOO_LONG,          /* lifetime over [apikeys] max_lifetime */
	MINT_LIMIT,             /* max_per_user live keys already */
	MINT_ERROR,             /* no randomness, or the store failed (logged) */
};

struct mint_request {
	const char *name;
	const struct strlist *scopes;
	int64_t lifetime;       /* seconds; 0: the longest allowed (never, when max_lifetime is 0) */
	const char *addr;       /* for the audit line: the client, or "local" */
};

struct minted {
	char key[IDB_APIKEY_LEN + 1];  /* shown once: wipe with explicit_bzero after use */
	int64_t id;
	int64_t expires_at;     /* 0: never */
	const char *bad_scope;  /* MINT_SCOPE_NOT_ALLOWED: the first refused one (the request's) */
};

/* Is name acceptable as a key's name? */
bool apikey_name_ok(const char *name);

/* Make and store a key for id (whose identity is fresh from the directory). */
enum mint_result apikey_mint(const struct config *cfg, struct store *st,
    const struct identity *id, const struct mint_request *m, struct minted *out) IDB_WUR;

/* A sentence for the employee or administrator about r (out as apikey_mint left it), into buf. */
const char *apikey_mint_message(enum mint_result r, const struct config *cfg,
    const struct minted *out, char *buf, size_t size);

/*
 * The live (not revoked) keys of the owner with this immutable id, by id:
 * the login name may have been reused by someone else.  0, or -1 (logged).
 */
int apikeys_list_own(struct store *st, const char *username, const char *user_id,
    struct store_apikey **keys_r, size_t *n_r) IDB_WUR;

enum revoke_own_result { REVOKE_OWN_OK, REVOKE_OWN_NOT_FOUND, REVOKE_OWN_ERROR };

/* Revoke key id if it is a live key of user_id (another's is NOT_FOUND); audited. */
enum revoke_own_result apikeys_revoke_own(struct store *st, const char *username,
    const char *user_id, int64_t id, const char *addr);

#endif
