/*
 * store.h — where idbridge keeps state (sessions, codes, tokens, keys …).
 *
 * The daemon talks to the store only through this interface, so a
 * PostgreSQL driver can implement it later beside store_sqlite.c.  A store
 * handle is shared by all threads; each driver gives every thread its own
 * connection underneath (SQLite: one connection per thread, opened on first
 * use, SQLITE_OPEN_NOMUTEX).
 *
 * store_open() applies pending schema migrations before it returns, so the
 * rest of the daemon always sees the newest schema.
 */
#ifndef IDBRIDGE_STORE_H
#define IDBRIDGE_STORE_H

#include <stdint.h>
#include "bridge.h"

struct config_store;
struct store;

/* Open (creating 0600 when new) and migrate.  NULL with *err_r on failure. */
struct store *store_open(const struct config_store *cfg, char **err_r) IDB_WUR;
void store_close(struct store *st);

/* The schema version now in force (after migrations). */
int store_schema_version(struct store *st);
/* The newest schema version this build knows. */
int store_latest_schema_version(void);

/* Cheap round trip proving the store answers (for /livez, /healthz). 0 or -1 with *err_r. */
int store_ping(struct store *st, char **err_r) IDB_WUR;

/*
 * A number that moves whenever anyone — another thread, the admin CLI,
 * another instance — commits a change that can end a live credential: a
 * refresh family or API key revoked, expired early or deleted, an access
 * token row changed or deleted.  Kept by triggers in the store itself, so
 * no writer can forget it; new rows and last-use updates leave it alone.
 * Caches compare it to notice revocations; one indexed read.  0 or -1 with
 * *err_r.
 */
int store_revocation_generation(struct store *st, int64_t *gen_r, char **err_r) IDB_WUR;

/*
 * fn(arg) runs on the committing thread after every commit of this process
 * that moved the revocation generation (or another generation in meta),
 * before the statement that committed returns: so before any answer that
 * reports the revocation leaves.  Set it before the threads that use the
 * store start; NULL removes it.
 */
void store_on_revocation(struct store *st, void (*fn)(void *arg), void *arg);

/* ---- JWT signing keys (store_sqlite_keys.c; the policy is in keys.c) ---- */

/* One row.  private_pem (PKCS#8) is secret: store_signing_keys_free wipes it. */
struct store_signing_key {
	char *kid;
	char *alg;
	char *private_pem;
	int64_t created_at;
	int64_t activate_at;    /* starts signing */
	int64_t retire_at;      /* stops signing; 0 = not set */
	int64_t drop_at;        /* unpublished and deleted; 0 = not set */
};

/*
 * The keys not dropped at now, oldest activation first (at most
 * IDB_MAX_SIGNING_KEYS), and the key-set generation they belong to.
 */
int store_signing_keys_load(struct store *st, int64_t now, struct store_signing_key **keys_r,
    size_t *n_r, int64_t *generation_r, char **err_r) IDB_WUR;
/* The key-set generation: it changes with every write below.  0 or -1. */
int store_signing_keys_generation(struct store *st, int64_t *generation_r, char **err_r) IDB_WUR;
/*
 * Insert key (activate_at = now) unless a key signs at now already; one
 * BEGIN IMMEDIATE transaction, so two starting processes insert one key.
 * *inserted_r says which happened.
 */
int store_signing_key_create_first(struct store *st, const struct store_signing_key *key,
    int64_t now, bool *inserted_r, char **err_r) IDB_WUR;
/*
 * Rotation, in one transaction: delete the keys dropped by now; when no key
 * signs at now, insert key signing at once; else insert it signing at
 * now + delay and set every unretired key's retire_at to that moment and its
 * drop_at to linger seconds later.  *activate_at_r gets the moment.
 */
int store_signing_key_rotate(struct store *st, const struct store_signing_key *key,
    int64_t now, int64_t delay, int64_t linger, int64_t *activate_at_r,
    char **err_r) IDB_WUR;
void store_signing_keys_free(struct store_signing_key *keys, size_t n);

#endif
