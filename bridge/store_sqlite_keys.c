/*
 * store_sqlite_keys.c — the signing_keys table (schema: store_sqlite.c,
 * migration 3).  keys.c decides when keys sign and retire; this file only
 * runs each change as one transaction.
 *
 * Every write bumps meta.signing_keys_generation in the same transaction,
 * so a running daemon notices a rotation made by another process (the admin
 * command, another instance) with one tiny read.  Private keys are read
 * into memory that store_signing_keys_free wipes; they are never logged.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "store.h"
#include "store_sqlite_int.h"
#include "util.h"

int
store_signing_keys_generation(struct store *st, int64_t *generation_r, char **err_r)
{
	*err_r = NULL;
	return store_generation_read(st, "signing_keys_generation", generation_r, err_r);
}

void
store_signing_keys_free(struct store_signing_key *keys, size_t n)
{
	if (keys == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(keys[i].kid);
		free(keys[i].alg);
		free_secret_str(keys[i].private_pem);
	}
	free(keys);
}

/* One row of the SELECT in store_signing_keys_load into k. */
static int
take_row(sqlite3_stmt *s, struct store_signing_key *k)
{
	k->kid = store_sqlite_col_text(s, 0);
	k->alg = store_sqlite_col_text(s, 1);
	k->private_pem = store_sqlite_col_text(s, 2);
	k->created_at = sqlite3_column_int64(s, 3);
	k->activate_at = sqlite3_column_int64(s, 4);
	k->retire_at = sqlite3_column_int64(s, 5);   /* NULL reads as 0 */
	k->drop_at = sqlite3_column_int64(s, 6);
	return k->kid != NULL && k->alg != NULL && k->private_pem != NULL ? 0 : -1;
}

int
store_signing_keys_load(struct store *st, int64_t now, struct store_signing_key **keys_r,
    size_t *n_r, int64_t *generation_r, char **err_r)
{
	struct store_signing_key *keys = NULL;
	struct store_stmt q = { 0 };
	sqlite3 *db;
	size_t n = 0;
	int rc, r = -1;

	*err_r = NULL;
	*keys_r = NULL;
	*n_r = 0;
	/* One read transaction: the generation matches the rows. */
	if ((db = store_tx_begin(st, "BEGIN", err_r)) == NULL)
		return -1;
	if (store_generation_read(st, "signing_keys_generation", generation_r, err_r) != 0)
		goto out;
	if (store_stmt_prepare(st, &q, err_r, "SELECT kid, alg, private_key, created_at,"
	    " activate_at, retire_at, drop_at FROM signing_keys WHERE drop_at IS NULL"
	    " OR drop_at > ? ORDER BY activate_at, created_at, kid", "i", now) != 0)
		goto out;
	if ((keys = calloc(IDB_MAX_SIGNING_KEYS, sizeof(*keys))) == NULL) {
		*err_r = strdup("out of memory");
		goto out;
	}
	while ((rc = sqlite3_step(q.s)) == SQLITE_ROW) {
		if (n == IDB_MAX_SIGNING_KEYS) {
			*err_r = strdup("more signing keys are published than idbridge accepts");
			goto out;
		}
		if (take_row(q.s, &keys[n++]) != 0) {
			*err_r = strdup("out of memory");
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		store_sqlite_error(db, "signing key read", err_r);
		goto out;
	}
	*keys_r = keys;
	*n_r = n;
	keys = NULL;
	r = 0;
out:
	store_stmt_finish(&q);
	store_signing_keys_free(keys, IDB_MAX_SIGNING_KEYS);
	store_tx_rollback(db);  /* ends the read transaction */
	return r;
}

static int
insert_key(struct store *st, const struct store_signing_key *key, int64_t activate_at,
    char **err_r)
{
	return store_stmt_write(st, NULL, err_r, "INSERT INTO signing_keys (kid, alg,"
	    " private_key, created_at, activate_at) VALUES (?, ?, ?, ?, ?)", "sssii", key->kid,
	    key->alg, key->private_pem, key->created_at, activate_at);
}

/* Does some key sign at now?  1, 0, or -1. */
static int
some_key_signs(struct store *st, int64_t now, char **err_r)
{
	int64_t count;

	if (store_stmt_int64(st, &count, err_r, "SELECT count(*) FROM signing_keys"
	    " WHERE activate_at <= ?1 AND (retire_at IS NULL OR retire_at > ?1)", "i", now) != 0)
		return -1;
	return count > 0;
}

int
store_signing_key_create_first(struct store *st, const struct store_signing_key *key,
    int64_t now, bool *inserted_r, char **err_r)
{
	sqlite3 *db;
	int signs;

	*err_r = NULL;
	*inserted_r = false;
	if ((db = store_tx_begin(st, "BEGIN IMMEDIATE", err_r)) == NULL)
		return -1;
	if ((signs = some_key_signs(st, now, err_r)) < 0)
		goto fail;
	if (signs == 0 && (insert_key(st, key, now, err_r) != 0 ||
	    store_generation_bump(st, "signing_keys_generation", err_r) != 0))
		goto fail;
	if (store_tx_commit(st, err_r) != 0)
		goto fail;
	*inserted_r = signs == 0;
	return 0;
fail:
	store_tx_rollback(db);
	return -1;
}

static int
retire_others(struct store *st, const char *new_kid, int64_t retire_at, int64_t drop_at,
    char **err_r)
{
	return store_stmt_write(st, NULL, err_r, "UPDATE signing_keys SET retire_at = ?,"
	    " drop_at = ? WHERE retire_at IS NULL AND kid != ?", "iis", retire_at, drop_at,
	    new_kid);
}

static int
delete_dropped(struct store *st, int64_t now, char **err_r)
{
	return store_stmt_write(st, NULL, err_r, "DELETE FROM signing_keys"
	    " WHERE drop_at IS NOT NULL AND drop_at <= ?", "i", now);
}

int
store_signing_key_rotate(struct store *st, const struct store_signing_key *key,
    int64_t now, int64_t delay, int64_t linger, int64_t *activate_at_r, char **err_r)
{
	int64_t activate_at = now;
	sqlite3 *db;
	int signs;

	*err_r = NULL;
	if ((db = store_tx_begin(st, "BEGIN IMMEDIATE", err_r)) == NULL)
		return -1;
	if (delete_dropped(st, now, err_r) != 0 || (signs = some_key_signs(st, now, err_r)) < 0)
		goto fail;
	if (signs)
		activate_at = now + delay;
	if (insert_key(st, key, activate_at, err_r) != 0 ||
	    retire_others(st, key->kid, activate_at, activate_at + linger, err_r) != 0 ||
	    store_generation_bump(st, "signing_keys_generation", err_r) != 0 || store_tx_commit(st, err_r) != 0)
		goto fail;
	*activate_at_r = activate_at;
	return 0;
fail:
	store_tx_rollback(db);
	return -1;
}
