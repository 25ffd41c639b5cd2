/*
 * store_sqlite_apikeys.c — the api_keys table (store_apikeys.h).
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include "keyusage.h"
#include "store.h"
#include "store_apikeys.h"
#include "store_sqlite_int.h"

#define COLUMNS "id, prefix, user_id, username, name, scope, created_at," \
	" coalesce(expires_at, 0), coalesce(last_used_at, 0), coalesce(revoked_at, 0)"

void
store_apikey_clear(struct store_apikey *k)
{
	if (k == NULL)
		return;
	free(k->prefix);
	free(k->user_id);
	free(k->username);
	free(k->name);
	free(k->scope);
	memset(k, 0, sizeof(*k));
}

void
store_apikeys_free(struct store_apikey *keys, size_t n)
{
	if (keys == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		store_apikey_clear(&keys[i]);
	free(keys);
}

/* The row at s (COLUMNS order) into *k; 0 or -1 (ENOMEM). */
static int
read_row(sqlite3_stmt *s, struct store_apikey *k)
{
	memset(k, 0, sizeof(*k));
	k->id = sqlite3_column_int64(s, 0);
	k->prefix = store_sqlite_col_text(s, 1);
	k->user_id = store_sqlite_col_text(s, 2);
	k->username = store_sqlite_col_text(s, 3);
	k->name = store_sqlite_col_text(s, 4);
	k->scope = store_sqlite_col_text(s, 5);
	k->created_at = sqlite3_column_int64(s, 6);
	k->expires_at = sqlite3_column_int64(s, 7);
	k->last_used_at = sqlite3_column_int64(s, 8);
	k->revoked_at = sqlite3_column_int64(s, 9);
	if (k->prefix == NULL || k->user_id == NULL || k->username == NULL || k->name == NULL ||
	    k->scope == NULL) {
		store_apikey_clear(k);
		return -1;
	}
	return 0;
}

int
store_apikey_insert(struct store *st, const struct store_apikey_new *k, int64_t now,
    int64_t *id_r, char **err_r)
{
	struct store_stmt q = { 0 };
	int r = -1, rc;

	*err_r = NULL;
	/*
	 * One statement: a write statement holds the write lock from its start,
	 * so the count and the insert cannot interleave with another insert and
	 * two concurrent requests cannot pass the limit together.
	 */
	if (store_stmt_prepare(st, &q, err_r, "INSERT INTO api_keys (prefix, hash, user_id,"
	    " username, name, scope, created_at, expires_at) SELECT ?, ?, ?, ?, ?, ?, ?,"
	    " nullif(?, 0) WHERE ? = 0 OR (SELECT count(*) FROM api_keys WHERE user_id = ?"
	    " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)) < ?"
	    " RETURNING id", "shssssiiisii", k->prefix, k->hash, k->user_id, k->username,
	    k->name, k->scope, now, k->expires_at, (int64_t)k->max_live, k->user_id, now,
	    (int64_t)k->max_live) != 0)
		return -1;
	if ((rc = sqlite3_step(q.s)) == SQLITE_DONE) {
		r = 1;  /* the limit: nothing inserted */
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = store_sqlite_error(q.db, "insert api key", err_r);
		goto out;
	}
	*id_r = sqlite3_column_int64(q.s, 0);
	r = sqlite3_step(q.s) == SQLITE_DONE ? 0 : store_sqlite_error(q.db, "insert api key", err_r);
out:
	store_stmt_finish(&q);
	return r;
}

enum store_result
store_apikey_find(struct store *st, const char *prefix, const unsigned char hash[STORE_HASH_LEN],
    int64_t now, struct store_apikey *k_r)
{
	struct store_stmt q = { 0 };
	enum store_result r = STORE_NOT_FOUND;
	int rc;

	memset(k_r, 0, sizeof(*k_r));
	if (store_stmt_prepare(st, &q, NULL, "SELECT " COLUMNS ", hash FROM api_keys"
	    " WHERE prefix = ?", "s", prefix) != 0)
		return STORE_ERROR;
	while ((rc = sqlite3_step(q.s)) == SQLITE_ROW) {
		const void *h = sqlite3_column_blob(q.s, 10);

		if (h == NULL || sqlite3_column_bytes(q.s, 10) != STORE_HASH_LEN ||
		    CRYPTO_memcmp(h, hash, STORE_HASH_LEN) != 0)
			continue;
		if (read_row(q.s, k_r) != 0) {
			r = STORE_ERROR;
			goto out;
		}
		if (k_r->revoked_at != 0)
			r = STORE_REVOKED;
		else if (k_r->expires_at != 0 && k_r->expires_at <= now)
			r = STORE_EXPIRED;
		else
			r = STORE_OK;
		goto out;
	}
	if (rc != SQLITE_DONE) {
		store_sqlite_error(q.db, "find api key", NULL);
		r = STORE_ERROR;
	}
out:
	store_stmt_finish(&q);
	return r;
}

int
store_apikeys_list(struct store *st, const char *username, struct store_apikey **keys_r,
    size_t *n_r, char **err_r)
{
	struct store_stmt q = { 0 };
	struct store_apikey *v = NULL, *nv;
	size_t n = 0;
	int r = -1, rc;

	*err_r = NULL;
	*keys_r = NULL;
	*n_r = 0;
	if (store_stmt_prepare(st, &q, err_r, "SELECT " COLUMNS " FROM api_keys"
	    " WHERE ?1 IS NULL OR username = ?1 COLLATE NOCASE ORDER BY id", "S", username) != 0)
		return -1;
	while ((rc = sqlite3_step(q.s)) == SQLITE_ROW) {
		if ((nv = realloc(v, (n + 1) * sizeof(*v))) == NULL)
			goto nomem;
		v = nv;
		if (read_row(q.s, &v[n]) != 0)
			goto nomem;
		n++;
	}
	if (rc != SQLITE_DONE) {
		store_sqlite_error(q.db, "list api keys", err_r);
		goto out;
	}
	*keys_r = v;
	*n_r = n;
	v = NULL;
	r = 0;
	goto out;
nomem:
	*err_r = strdup("out of memory");
out:
	store_stmt_finish(&q);
	store_apikeys_free(v, n);
	return r;
}

int
store_apikey_revoke(struct store *st, int64_t id, int64_t now, int *changes_r, char **err_r)
{
	*err_r = NULL;
	return store_stmt_write(st, changes_r, err_r, "UPDATE api_keys SET revoked_at = ?"
	    " WHERE id = ? AND revoked_at IS NULL", "ii", now, id);
}

int
store_apikeys_revoke_user(struct store *st, const char *username, int64_t now, int *changes_r,
    char **err_r)
{
	*err_r = NULL;
	return store_stmt_write(st, changes_r, err_r, "UPDATE api_keys SET revoked_at = ?"
	    " WHERE username = ? COLLATE NOCASE AND revoked_at IS NULL", "is", now, username);
}

int
store_apikeys_count(struct store *st, const char *username, int64_t now, int64_t *n_r,
    char **err_r)
{
	*err_r = NULL;
	return store_stmt_int64(st, n_r, err_r, "SELECT count(*) FROM api_keys WHERE username = ?"
	    " COLLATE NOCASE AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)",
	    "si", username, now);
}

int
store_apikeys_touch(struct store *st, const struct keyusage_entry *v, size_t n, char **err_r)
{
	struct store_stmt q = { 0 };
	sqlite3 *db;
	int rc = SQLITE_DONE;

	*err_r = NULL;
	if (n == 0)
		return 0;
	if ((db = store_tx_begin(st, "BEGIN IMMEDIATE", err_r)) == NULL)
		return -1;
	/* One statement, re-bound per key: the batch may hold thousands. */
	if (store_stmt_prepare(st, &q, err_r, "UPDATE api_keys SET last_used_at ="
	    " max(coalesce(last_used_at, 0), ?1) WHERE id = ?2", "") != 0)
		goto fail;
	for (size_t i = 0; i < n && rc == SQLITE_DONE; i++) {
		sqlite3_reset(q.s);
		if (sqlite3_bind_int64(q.s, 1, v[i].used_at) != SQLITE_OK ||
		    sqlite3_bind_int64(q.s, 2, v[i].key_id) != SQLITE_OK)
			rc = SQLITE_MISUSE;
		else
			rc = sqlite3_step(q.s);
	}
	if (rc != SQLITE_DONE) {
		store_sqlite_error(db, "record api key uses", err_r);
		goto fail;
	}
	store_stmt_finish(&q);
	if (store_tx_commit(st, err_r) != 0)
		goto fail;
	return 0;
fail:
	store_stmt_finish(&q);
	store_tx_rollback(db);
	return -1;
}
