/*
 * store_sqlite_oauth.c — the OAuth tables of store_oauth.h on SQLite.
 *
 * Statements are bound through one small helper: a format string names each
 * argument's type — 'h' a STORE_HASH_LEN-byte hash, 's' text, 'S' text or
 * NULL, 'i' int64 — so no SQL is ever built from values.  Read-modify-write
 * sequences run under BEGIN IMMEDIATE (a deferred transaction that upgrades
 * gets SQLITE_BUSY_SNAPSHOT, which no busy handler retries).
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_oauth.h"
#include "store_sqlite_int.h"

struct stmt {
	sqlite3 *db;
	sqlite3_stmt *s;
};

const char *
store_result_name(enum store_result r)
{
	static const char *const names[] = {
		[STORE_OK] = "ok", [STORE_NOT_FOUND] = "not_found",
		[STORE_EXPIRED] = "expired", [STORE_REPLAY] = "replay",
		[STORE_REVOKED] = "revoked", [STORE_ERROR] = "error",
	};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

static void
db_error(sqlite3 *db, const char *what)
{
	log_err("store: %s: %s", what, db != NULL ? sqlite3_errmsg(db) : "no connection");
}

static int
bind_args(sqlite3_stmt *s, const char *fmt, va_list ap)
{
	int rc = SQLITE_OK;

	for (int i = 1; fmt[i - 1] != '\0' && rc == SQLITE_OK; i++) {
		switch (fmt[i - 1]) {
		case 'h':
			rc = sqlite3_bind_blob(s, i, va_arg(ap, const unsigned char *),
			    STORE_HASH_LEN, SQLITE_STATIC);
			break;
		case 's':
		case 'S': {
			const char *v = va_arg(ap, const char *);

			rc = v != NULL ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) :
			    sqlite3_bind_null(s, i);
			break;
		}
		case 'i':
			rc = sqlite3_bind_int64(s, i, va_arg(ap, int64_t));
			break;
		default:
			rc = SQLITE_MISUSE;
		}
	}
	return rc;
}

/* Prepare sql with its arguments bound.  false (logged) on failure. */
static bool
prepare(struct store *st, struct stmt *q, const char *sql, const char *fmt, ...)
{
	char *err = NULL;
	va_list ap;
	int rc;

	q->s = NULL;
	if ((q->db = store_sqlite_db(st, &err)) == NULL) {
		log_err("store: %s", err != NULL ? err : "no connection");
		free(err);
		return false;
	}
	if (sqlite3_prepare_v2(q->db, sql, -1, &q->s, NULL) != SQLITE_OK) {
		db_error(q->db, "prepare");
		return false;
	}
	va_start(ap, fmt);
	rc = bind_args(q->s, fmt, ap);
	va_end(ap);
	if (rc != SQLITE_OK) {
		db_error(q->db, "bind");
		sqlite3_finalize(q->s);
		q->s = NULL;
		return false;
	}
	return true;
}

static void
finish(struct stmt *q)
{
	sqlite3_finalize(q->s);
	q->s = NULL;
}

/* Run a write to completion; *changes_r (may be NULL) gets the row count. */
static enum store_result
run_write(struct store *st, int *changes_r, const char *sql, const char *fmt, ...)
{
	struct stmt q = { NULL, NULL };
	char *err = NULL;
	va_list ap;
	int rc;

	if ((q.db = store_sqlite_db(st, &err)) == NULL) {
		log_err("store: %s", err != NULL ? err : "no connection");
		free(err);
		return STORE_ERROR;
	}
	if (sqlite3_prepare_v2(q.db, sql, -1, &q.s, NULL) != SQLITE_OK) {
		db_error(q.db, "prepare");
		return STORE_ERROR;
	}
	va_start(ap, fmt);
	rc = bind_args(q.s, fmt, ap);
	va_end(ap);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(q.s);
	finish(&q);
	if (rc != SQLITE_DONE) {
		db_error(q.db, "write");
		return STORE_ERROR;
	}
	if (changes_r != NULL)
		*changes_r = sqlite3_changes(q.db);
	return STORE_OK;
}

static enum store_result
tx(struct store *st, const char *what)
{
	return run_write(st, NULL, what, "");
}

static enum store_result
tx_end(struct store *st, enum store_result r)
{
	if (r == STORE_OK)
		return tx(st, "COMMIT");
	(void)tx(st, "ROLLBACK");
	return r;
}

static char *
col_text(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t != NULL ? strdup((const char *)t) : NULL;
}

void
store_grant_free(struct store_grant *g)
{
	if (g == NULL)
		return;
	free(g->client_id);
	free(g->user_id);
	free(g->username);
	free(g->scope);
	free(g->redirect_uri);
	free(g->code_challenge);
	free(g->family_id);
	memset(g, 0, sizeof(*g));
}

void
store_session_free(struct store_session *s)
{
	if (s == NULL)
		return;
	free(s->user_id);
	free(s->username);
	memset(s, 0, sizeof(*s));
}

/* ---- sessions and pre-auth --------------------------------------------- */

enum store_result
store_session_create(struct store *st, const unsigned char *hash, const char *user_id,
    const char *username, int64_t now, int64_t expires_at)
{
	return run_write(st, NULL, "INSERT INTO sessions (id_hash, user_id, username, "
	    "created_at, expires_at) VALUES (?, ?, ?, ?, ?)", "hssii", hash, user_id,
	    username, now, expires_at);
}

enum store_result
store_session_get(struct store *st, const unsigned char *hash, int64_t now,
    struct store_session *s_r)
{
	struct stmt q;
	enum store_result r = STORE_ERROR;
	int rc;

	memset(s_r, 0, sizeof(*s_r));
	if (!prepare(st, &q, "SELECT user_id, username, created_at, expires_at "
	    "FROM sessions WHERE id_hash = ?", "h", hash))
		return STORE_ERROR;
	if ((rc = sqlite3_step(q.s)) == SQLITE_ROW) {
		s_r->user_id = col_text(q.s, 0);
		s_r->username = col_text(q.s, 1);
		s_r->created_at = sqlite3_column_int64(q.s, 2);
		s_r->expires_at = sqlite3_column_int64(q.s, 3);
		r = s_r->user_id != NULL && s_r->username != NULL ? STORE_OK : STORE_ERROR;
	} else if (rc == SQLITE_DONE) {
		r = STORE_NOT_FOUND;
	} else {
		db_error(q.db, "session read");
	}
	finish(&q);
	if (r == STORE_OK && s_r->expires_at <= now) {
		store_session_free(s_r);
		r = store_session_delete(st, hash) == STORE_OK ? STORE_EXPIRED : STORE_ERROR;
	} else if (r != STORE_OK) {
		store_session_free(s_r);
	}
	return r;
}

enum store_result
store_session_delete(struct store *st, const unsigned char *hash)
{
	return run_write(st, NULL, "DELETE FROM sessions WHERE id_hash = ?", "h", hash);
}

enum store_result
store_session_delete_user(struct store *st, const char *user_id)
{
	return run_write(st, NULL, "DELETE FROM sessions WHERE user_id = ?", "s", user_id);
}

enum store_result
store_preauth_put(struct store *st, const unsigned char *hash, const char *request_json,
    int64_t expires_at)
{
	return run_write(st, NULL, "INSERT INTO preauth (id_hash, request, expires_at) "
	    "VALUES (?, ?, ?)", "hsi", hash, request_json, expires_at);
}

enum store_result
store_preauth_get(struct store *st, const unsigned char *hash, int64_t now,
    char **request_json_r)
{
	struct stmt q;
	enum store_result r = STORE_ERROR;
	int rc;

	*request_json_r = NULL;
	if (!prepare(st, &q, "SELECT request, expires_at FROM preauth WHERE id_hash = ?",
	    "h", hash))
		return STORE_ERROR;
	if ((rc = sqlite3_step(q.s)) == SQLITE_ROW) {
		if (sqlite3_column_int64(q.s, 1) <= now)
			r = STORE_EXPIRED;
		else if ((*request_json_r = col_text(q.s, 0)) != NULL)
			r = STORE_OK;
	} else if (rc == SQLITE_DONE) {
		r = STORE_NOT_FOUND;
	} else {
		db_error(q.db, "pre-auth read");
	}
	finish(&q);
	return r;
}

enum store_result
store_preauth_delete(struct store *st, const unsigned char *hash)
{
	return run_write(st, NULL, "DELETE FROM preauth WHERE id_hash = ?", "h", hash);
}

/* ---- consents ------------------------------------------------------------ */

enum store_result
store_consent_get(struct store *st, const char *user_id, const char *client_id,
    char **scope_r)
{
	struct stmt q;
	enum store_result r = STORE_ERROR;
	int rc;

	*scope_r = NULL;
	if (!prepare(st, &q, "SELECT scope FROM consents WHERE user_id = ? AND client_id = ?",
	    "ss", user_id, client_id))
		return STORE_ERROR;
	if ((rc = sqlite3_step(q.s)) == SQLITE_ROW)
		r = (*scope_r = col_text(q.s, 0)) != NULL ? STORE_OK : STORE_ERROR;
	else if (rc == SQLITE_DONE)
		r = STORE_NOT_FOUND;
	else
		db_error(q.db, "consent read");
	finish(&q);
	return r;
}

enum store_result
store_consent_put(struct store *st, const char *user_id, const char *client_id,
    const char *scope, int64_t now)
{
	return run_write(st, NULL, "INSERT INTO consents (user_id, client_id, scope, granted_at) "
	    "VALUES (?, ?, ?, ?) ON CONFLICT (user_id, client_id) DO UPDATE SET "
	    "scope = excluded.scope, granted_at = excluded.granted_at",
	    "sssi", user_id, client_id, scope, now);
}

/* ---- codes ------------------------------------------------------------------ */

enum store_result
store_code_put(struct store *st, const unsigned char *hash, const struct store_grant *g,
    int64_t now)
{
	return run_write(st, NULL, "INSERT INTO codes (code_hash, client_id, user_id, username, "
	    "scope, redirect_uri, code_challenge, created_at, expires_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", "hssssSSii", hash, g->client_id, g->user_id,
	    g->username, g->scope, g->redirect_uri, g->code_challenge, now, g->expires_at);
}

/* Read a code row into g; *used_r set.  OK, NOT_FOUND or ERROR. */
static enum store_result
read_code(struct store *st, const unsigned char *hash, const char *client_id,
    struct store_grant *g, bool *used_r)
{
	struct stmt q;
	enum store_result r = STORE_ERROR;
	int rc;

	memset(g, 0, sizeof(*g));
	if (!prepare(st, &q, "SELECT client_id, user_id, username, scope, redirect_uri, "
	    "code_challenge, family_id, created_at, expires_at, used FROM codes "
	    "WHERE code_hash = ? AND client_id = ?", "hs", hash, client_id))
		return STORE_ERROR;
	if ((rc = sqlite3_step(q.s)) == SQLITE_ROW) {
		g->client_id = col_text(q.s, 0);
		g->user_id = col_text(q.s, 1);
		g->username = col_text(q.s, 2);
		g->scope = col_text(q.s, 3);
		g->redirect_uri = col_text(q.s, 4);
		g->code_challenge = col_text(q.s, 5);
		g->family_id = col_text(q.s, 6);
		g->created_at = sqlite3_column_int64(q.s, 7);
		g->expires_at = sqlite3_column_int64(q.s, 8);
		*used_r = sqlite3_column_int(q.s, 9) != 0;
		r = g->client_id != NULL && g->user_id != NULL && g->username != NULL &&
		    g->scope != NULL && g->redirect_uri != NULL ? STORE_OK : STORE_ERROR;
	} else if (rc == SQLITE_DONE) {
		r = STORE_NOT_FOUND;
	} else {
		db_error(q.db, "code read");
	}
	finish(&q);
	if (r != STORE_OK)
		store_grant_free(g);
	return r;
}

enum store_result
store_code_claim(struct store *st, const unsigned char *hash, const char *client_id,
    int64_t now, struct store_grant *g_r)
{
	enum store_result r;
	bool used = false;
	int changes = 0;

	/* The claim itself: exactly one caller turns used 0 → 1. */
	r = run_write(st, &changes, "UPDATE codes SET used = 1 WHERE code_hash = ? AND "
	    "client_id = ? AND used = 0 AND expires_at > ?", "hsi", hash, client_id, now);
	if (r != STORE_OK)
		return r;
	if ((r = read_code(st, hash, client_id, g_r, &used)) != STORE_OK)
		return r;
	if (changes == 1)
		return STORE_OK;
	/* Not claimed by us: a replay (used before) or simply too old. */
	if (used)
		return STORE_REPLAY;
	store_grant_free(g_r);
	return STORE_EXPIRED;
}

enum store_result
store_code_set_family(struct store *st, const unsigned char *hash, const char *family_id)
{
	return run_write(st, NULL, "UPDATE codes SET family_id = ? WHERE code_hash = ?",
	    "sh", family_id, hash);
}

/* ---- refresh families ------------------------------------------------------- */

enum store_result
store_family_create(struct store *st, const char *family_id, const struct store_grant *g,
    const unsigned char *token_hash, int64_t token_expires_at, int64_t now)
{
	enum store_result r;

	if ((r = tx(st, "BEGIN IMMEDIATE")) != STORE_OK)
		return r;
	r = run_write(st, NULL, "INSERT INTO refresh_families (family_id, client_id, user_id, "
	    "username, scope, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
	    "sssssii", family_id, g->client_id, g->user_id, g->username, g->scope, now,
	    g->expires_at);
	if (r == STORE_OK)
		r = run_write(st, NULL, "INSERT INTO refresh_tokens (token_hash, family_id, "
		    "created_at, expires_at) VALUES (?, ?, ?, ?)", "hsii", token_hash, family_id,
		    now, token_expires_at);
	return tx_end(st, r);
}

enum store_result
store_refresh_peek(struct store *st, const unsigned char *hash, const char *client_id,
    int64_t now, struct store_grant *g_r)
{
	struct stmt q;
	enum store_result r = STORE_ERROR;
	int64_t token_exp = 0, revoked = 0;
	bool used = false;
	int rc;

	memset(g_r, 0, sizeof(*g_r));
	if (!prepare(st, &q, "SELECT f.family_id, f.client_id, f.user_id, f.username, f.scope, "
	    "f.created_at, f.expires_at, f.revoked_at IS NOT NULL, t.expires_at, t.used "
	    "FROM refresh_tokens t JOIN refresh_families f USING (family_id) "
	    "WHERE t.token_hash = ? AND f.client_id = ?", "hs", hash, client_id))
		return STORE_ERROR;
	if ((rc = sqlite3_step(q.s)) == SQLITE_ROW) {
		g_r->family_id = col_text(q.s, 0);
		g_r->client_id = col_text(q.s, 1);
		g_r->user_id = col_text(q.s, 2);
		g_r->username = col_text(q.s, 3);
		g_r->scope = col_text(q.s, 4);
		g_r->created_at = sqlite3_column_int64(q.s, 5);
		g_r->expires_at = sqlite3_column_int64(q.s, 6);
		revoked = sqlite3_column_int64(q.s, 7);
		token_exp = sqlite3_column_int64(q.s, 8);
		used = sqlite3_column_int(q.s, 9) != 0;
		r = g_r->family_id != NULL && g_r->client_id != NULL && g_r->user_id != NULL &&
		    g_r->username != NULL && g_r->scope != NULL ? STORE_OK : STORE_ERROR;
	} else if (rc == SQLITE_DONE) {
		r = STORE_NOT_FOUND;
	} else {
		db_error(q.db, "refresh token read");
	}
	finish(&q);
	if (r != STORE_OK) {
		store_grant_free(g_r);
		return r;
	}
	/* Order matters: a reused token is reported even when it has expired since. */
	if (revoked)
		r = STORE_REVOKED;
	else if (used)
		r = STORE_REPLAY;
	else if (token_exp <= now || g_r->expires_at <= now)
		r = STORE_EXPIRED;
	if (r == STORE_OK)
		g_r->expires_at = token_exp < g_r->expires_at ? token_exp : g_r->expires_at;
	return r;
}

enum store_result
store_refresh_rotate(struct store *st, const unsigned char *old_hash,
    const unsigned char *new_hash, const char *family_id, const char *scope,
    int64_t new_expires_at, int64_t now)
{
	enum store_result r;
	int changes = 0;

	if ((r = tx(st, "BEGIN IMMEDIATE")) != STORE_OK)
		return r;
	r = run_write(st, &changes, "UPDATE refresh_tokens SET used = 1 WHERE token_hash = ? "
	    "AND family_id = ? AND used = 0", "hs", old_hash, family_id);
	if (r == STORE_OK && changes != 1)
		r = STORE_REPLAY;
	if (r == STORE_OK)
		r = run_write(st, &changes, "UPDATE refresh_families SET scope = ? "
		    "WHERE family_id = ? AND revoked_at IS NULL", "ss", scope, family_id);
	if (r == STORE_OK && changes != 1)
		r = STORE_REVOKED;
	if (r == STORE_OK)
		r = run_write(st, NULL, "INSERT INTO refresh_tokens (token_hash, family_id, "
		    "created_at, expires_at) VALUES (?, ?, ?, ?)", "hsii", new_hash, family_id,
		    now, new_expires_at);
	return tx_end(st, r);
}

enum store_result
store_family_revoke(struct store *st, const char *family_id, int64_t now)
{
	return run_write(st, NULL, "UPDATE refresh_families SET revoked_at = ? "
	    "WHERE family_id = ? AND revoked_at IS NULL", "is", now, family_id);
}

/* ---- access tokens ---------------------------------------------------------- */

enum store_result
store_access_put(struct store *st, const char *jti, const char *family_id,
    int64_t expires_at)
{
	return run_write(st, NULL, "INSERT INTO access_tokens (jti, family_id, expires_at) "
	    "VALUES (?, ?, ?)", "ssi", jti, family_id, expires_at);
}

enum store_result
store_access_check(struct store *st, const char *jti)
{
	struct stmt q;
	enum store_result r = STORE_ERROR;
	int rc;

	if (!prepare(st, &q, "SELECT f.revoked_at IS NOT NULL FROM access_tokens a "
	    "JOIN refresh_families f USING (family_id) WHERE a.jti = ?", "s", jti))
		return STORE_ERROR;
	if ((rc = sqlite3_step(q.s)) == SQLITE_ROW)
		r = sqlite3_column_int(q.s, 0) ? STORE_REVOKED : STORE_OK;
	else if (rc == SQLITE_DONE)
		r = STORE_NOT_FOUND;
	else
		db_error(q.db, "access token read");
	finish(&q);
	return r;
}

/* ---- housekeeping ------------------------------------------------------------ */

enum store_result
store_oauth_purge(struct store *st, int64_t now)
{
	static const char *const purges[] = {
		"DELETE FROM sessions WHERE expires_at <= ?",
		"DELETE FROM preauth WHERE expires_at <= ?",
		"DELETE FROM codes WHERE expires_at <= ? AND used = 0",
		"DELETE FROM access_tokens WHERE expires_at <= ?",
		"DELETE FROM refresh_tokens WHERE expires_at <= ?",
		/* Tokens and access rows go with the family (ON DELETE CASCADE). */
		"DELETE FROM refresh_families WHERE expires_at <= ?",
	};
	enum store_result r;

	if ((r = tx(st, "BEGIN IMMEDIATE")) != STORE_OK)
		return r;
	for (size_t i = 0; i < sizeof(purges) / sizeof(purges[0]) && r == STORE_OK; i++)
		r = run_write(st, NULL, purges[i], "i", now);
	/* A used code is kept a while longer, so its replay is still recognised. */
	if (r == STORE_OK)
		r = run_write(st, NULL, "DELETE FROM codes WHERE expires_at <= ? AND used = 1",
		    "i", now - STORE_CODE_REPLAY_WINDOW_S);
	return tx_end(st, r);
}
