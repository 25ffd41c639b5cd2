/*
 * keys.h — the JWT signing keys: created, kept in the store, rotated,
 * published as a JWKS.
 *
 * The daemon opens the key set once at start-up:
 *	struct keys *keys;
 *	if (keys_load_or_create(store, JWT_ALG_RS256, access_ttl, &keys, &err) != 0) ...
 * which creates the first key when none signs yet.  Everything else reads a
 * snapshot (struct keyset): immutable, reference counted, rebuilt only when
 * the store's key set changed (checked at most every IDB_KEYS_RECHECK_MS) or
 * when a key's activation or retirement time passes.
 *	const struct keyset *ks = keys_acquire(keys);
 *	body = keyset_jwks(ks, &len);  ... keyset_release(ks);
 *
 * Rotation (`idbridge signing-key rotate`, keys_rotate) publishes the next
 * key at once but lets it sign only IDB_JWKS_MAX_AGE_S later, when every
 * cached JWKS holds it; the keys it replaces stop signing then and stay
 * published until the last token they signed has expired (access ttl +
 * IDB_JWT_CLOCK_SKEW_S), after which they are dropped and deleted.
 *
 * kid is the RFC 7638 JWK thumbprint (base64url SHA-256 of the canonical
 * public JWK): stable, and the same for every instance sharing the store.
 * Private keys never leave this module: callers sign through a key handle.
 */
#ifndef IDBRIDGE_KEYS_H
#define IDBRIDGE_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "bridge.h"
#include "token.h"

#define KEYS_KID_LEN 43               /* base64url of a SHA-256 */

struct store;
struct keys;
struct keyset;
struct signing_key;

/* A key as the admin command lists it (no key material). */
struct keys_info {
	char kid[KEYS_KID_LEN + 1];
	enum jwt_alg alg;
	int64_t created_at;
	int64_t activate_at;    /* starts signing */
	int64_t retire_at;      /* stops signing (the next key's activate_at); 0 = not yet set */
	int64_t drop_at;        /* leaves the JWKS and is deleted; 0 = not yet set */
};

/*
 * Start-up: load the published keys of st; when none signs now, create one
 * with alg that signs at once (first start: no JWKS was ever cached).  Two
 * processes starting together create one key between them.  When the key
 * signing now is not alg, a warning says how to change it (rotate).
 * 0 and *keys_r, or -1 with *err_r.
 */
int keys_load_or_create(struct store *st, enum jwt_alg alg, unsigned access_ttl,
    struct keys **keys_r, char **err_r) IDB_WUR;
void keys_free(struct keys *k);

/* Tests: a clock in seconds since the epoch instead of time(NULL). */
void keys_set_clock(struct keys *k, int64_t (*clock)(void *arg), void *arg);
/* Re-read the store now, without waiting for the next check.  0 or -1 with *err_r. */
int keys_reload(struct keys *k, char **err_r) IDB_WUR;

/*
 * Admin: create a key with alg and publish it as the next signing key: it
 * signs from now + IDB_JWKS_MAX_AGE_S (at once when no key signs yet); the
 * keys signing until then retire at that moment and are dropped
 * access_ttl + IDB_JWT_CLOCK_SKEW_S later.  0 and *new_r, or -1 with *err_r.
 */
int keys_rotate(struct store *st, enum jwt_alg alg, unsigned access_ttl, int64_t now,
    struct keys_info *new_r, char **err_r) IDB_WUR;
/* Admin: the keys in the store not yet dropped at now, oldest first.  Free *infos_r. */
int keys_list(struct store *st, int64_t now, struct keys_info **infos_r, size_t *n_r,
    char **err_r) IDB_WUR;

/* ---- snapshots ---------------------------------------------------------- */

/* The current key set (a reference: release it).  Never NULL. */
const struct keyset *keys_acquire(struct keys *k);
void keyset_release(const struct keyset *ks);

/* {"keys":[…]}: every published key, built once per snapshot.  NUL-terminated. */
const char *keyset_jwks(const struct keyset *ks, size_t *len_r);
/* The key signing now, or NULL when none does (a store emptied by hand). */
const struct signing_key *keyset_signer(const struct keyset *ks);
/* The published key with this kid, or NULL. */
const struct signing_key *keyset_find(const struct keyset *ks, const char *kid);
/* How many keys are published, and the i-th (oldest activation first). */
size_t keyset_count(const struct keyset *ks);
const struct signing_key *keyset_key(const struct keyset *ks, size_t i);

const char *signing_key_kid(const struct signing_key *key);
enum jwt_alg signing_key_alg(const struct signing_key *key);
/* The public JWK (kty, crv/n/e/x/y, kid, alg, use). Borrowed. */
const json_t *signing_key_jwk(const struct signing_key *key);
/* A JWS signature of data (ES256 as R‖S) into sig (JWS_MAX_SIG_LEN).  0 or -1. */
int signing_key_sign(const struct signing_key *key, const void *data, size_t len,
    unsigned char *sig, size_t *sig_len_r) IDB_WUR;
/* 1: sig is a valid JWS signature of data; 0: it is not; -1: internal error. */
int signing_key_verify(const struct signing_key *key, const void *data, size_t len,
    const unsigned char *sig, size_t sig_len) IDB_WUR;

/* RFC 7638 thumbprint of a public JWK (RSA, EC P-256, OKP Ed25519).  0 or -1. */
int jwk_thumbprint(const json_t *jwk, char out[KEYS_KID_LEN + 1]) IDB_WUR;

#endif
