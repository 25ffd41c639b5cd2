/*
 * store_apikeys.h — per-employee API keys in the store (migration 5).
 *
 * A key is kept as its SHA-256 (apikey_hash) and its lookup prefix
 * (apikey_prefix); the key itself never reaches the store.  The owner is
 * recorded by immutable directory id (user_id) and, for listing and
 * offboarding, by login name.  Times are Unix seconds; 0 stands for NULL
 * (no expiry, never used, not revoked).  Errors: -1 with *err_r (free it).
 */
#ifndef IDBRIDGE_STORE_APIKEYS_H
#define IDBRIDGE_STORE_APIKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "bridge.h"
#include "store_oauth.h"        /* enum store_result, STORE_HASH_LEN */

struct store;
struct keyusage_entry;

/* A row (without the hash).  Strings owned; store_apikey_clear(). */
struct store_apikey {
	int64_t id;
	char *prefix;
	char *user_id;
	char *username;
	char *name;
	char *scope;            /* space-separated */
	int64_t created_at, expires_at, last_used_at, revoked_at;
};

void store_apikey_clear(struct store_apikey *k);
void store_apikeys_free(struct store_apikey *keys, size_t n);

/* A key to add.  expires_at 0: never; max_live 0: no limit. */
struct store_apikey_new {
	const char *prefix;
	const unsigned char *hash;      /* STORE_HASH_LEN bytes */
	const char *user_id, *username, *name, *scope;
	int64_t expires_at;
	unsigned max_live;              /* refuse when user_id holds this many live keys */
};

/* Add a key: 0 and *id_r, 1 when the owner already holds max_live live keys, or -1. */
int store_apikey_insert(struct store *st, const struct store_apikey_new *k, int64_t now,
    int64_t *id_r, char **err_r) IDB_WUR;

/*
 * The key with this prefix whose hash matches (compared in constant time):
 * STORE_OK with *k_r filled, STORE_NOT_FOUND, STORE_REVOKED, STORE_EXPIRED
 * (as of now; *k_r is filled for those too), or STORE_ERROR (logged).
 */
enum store_result store_apikey_find(struct store *st, const char *prefix,
    const unsigned char hash[STORE_HASH_LEN], int64_t now, struct store_apikey *k_r) IDB_WUR;

/* Every key of username (NULL: of everyone), by id. */
int store_apikeys_list(struct store *st, const char *username, struct store_apikey **keys_r,
    size_t *n_r, char **err_r) IDB_WUR;

/* Revoke one key (*changes_r 0: no such live key) or every live key of a user. */
int store_apikey_revoke(struct store *st, int64_t id, int64_t now, int *changes_r,
    char **err_r) IDB_WUR;
int store_apikeys_revoke_user(struct store *st, const char *username, int64_t now,
    int *changes_r, char **err_r) IDB_WUR;

/* How many live (not revoked, not expired at now) keys username holds. */
int store_apikeys_count(struct store *st, const char *username, int64_t now, int64_t *n_r,
    char **err_r) IDB_WUR;

/*
 * Record the keys' latest uses (keyusage.h's batch) in one BEGIN IMMEDIATE
 * transaction: last_used_at becomes the later of its value and used_at, so
 * an older batch never moves it back.  Ids no longer stored are skipped.
 */
int store_apikeys_touch(struct store *st, const struct keyusage_entry *v, size_t n,
    char **err_r) IDB_WUR;

#endif
