/*
 * store_sqlite_oauth.c — the OAuth tables of store_oauth.h on SQLite.
 *
 * Statements are bound through store_sqlite_stmt.c (a format string names
 * each argument's type), so no SQL is ever built from values; errors are
 * logged there and come back here as STORE_ERROR.  Read-modify-write
 * sequences run under BEGIN IMMEDIATE (a deferred transaction that upgrades
 * gets SQLITE_BUSY_SNAPSHOT, which no busy handler retries).
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "store.h"
#include "store_oauth.h"
#include "store_sqlite_int.h"

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

/* A logged write as a store_result. */
static enum store_result
run_write(struct store *st, int *changes_r, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = store_stmt_vwrite(st, changes_r, NULL, sql, fmt, ap);
	va_end(ap);
	return r == 0 ? STORE_OK : STORE_ERROR;
}

/* Step a single-row query: OK on a row, NOT_FOUND without, ERROR (logged). */
static enum store_result
step_row(struct store_stmt *q, const char *what)
{
	int rc = sqlite3_step(q->s);

	if (rc == SQLITE_ROW)
		return STORE_OK;
	if (rc == SQLITE_DONE)
		return STORE_NOT_FOUND;
	store_sqlite_error(q->db, what, NULL);
	return STORE_ERROR;
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
	struct store_stmt q;
	enum store_result r;

	memset(s_r, 0, sizeof(*s_r));
	if (store_stmt_prepare(st, &q, NULL, "SELECT user_id, username, created_at, "
	    "expires_at FROM sessions WHERE id_hash = ?", "h", hash) != 0)
		return STORE_ERROR;
	if ((r = step_row(&q, "session read")) == STORE_OK) {
		s_r->user_id = store_sqlite_col_text(q.s, 0);
		s_r->username = store_sqlite_col_text(q.s, 1);
		s_r->created_at = sqlite3_column_int64(q.s, 2);
		s_r->expires_at = sqlite3_column_int64(q.s, 3);
		r = s_r->user_id != NULL && s_r->username != NULL ? STORE_OK : STORE_ERROR;
	}
	store_stmt_finish(&q);
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
	struct store_stmt q;
	enum store_result r;

	*request_json_r = NULL;
	if (store_stmt_prepare(st, &q, NULL, "SELECT request, expires_at FROM preauth "
	    "WHERE id_hash = ?", "h", hash) != 0)
		return STORE_ERROR;
	if ((r = step_row(&q, "pre-auth read")) == STORE_OK) {
		if (sqlite3_column_int64(q.s, 1) <= now)
			r = STORE_EXPIRED;
		else if ((*request_json_r = store_sqlite_col_text(q.s, 0)) == NULL)
			r = STORE_ERROR;
	}
	store_stmt_finish(&q);
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
	struct store_stmt q;
	enum store_result r;

	*scope_r = NULL;
	if (store_stmt_prepare(st, &q, NULL, "SELECT scope FROM consents WHERE user_id = ? "
	    "AND client_id = ?", "ss", user_id, client_id) != 0)
		return STORE_ERROR;
	if ((r = step_row(&q, "consent read")) == STORE_OK)
		r = (*scope_r = store_sqlite_col_text(q.s, 0)) != NULL ? STORE_OK : STORE_ERROR;
	store_stmt_finish(&q);
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
	struct store_stmt q;
	enum store_result r;

	memset(g, 0, sizeof(*g));
	if (store_stmt_prepare(st, &q, NULL, "SELECT client_id, user_id, username, scope, "
	    "redirect_uri, code_challenge, family_id, created_at, expires_at, used FROM codes "
	    "WHERE code_hash = ? AND client_id = ?", "hs", hash, client_id) != 0)
		return STORE_ERROR;
	if ((r = step_row(&q, "code read")) == STORE_OK) {
		g->client_id = store_sqlite_col_text(q.s, 0);
		g->user_id = store_sqlite_col_text(q.s, 1);
		g->username = store_sqlite_col_text(q.s, 2);
		g->scope = store_sqlite_col_text(q.s, 3);
		g->redirect_uri = store_sqlite_col_text(q.s, 4);
		g->code_challenge = store_sqlite_col_text(q.s, 5);
		g->family_id = store_sqlite_col_text(q.s, 6);
		g->created_at = sqlite3_column_int64(q.s, 7);
		g->expires_at = sqlite3_column_int64(q.s, 8);
		*used_r = sqlite3_column_int(q.s, 9) != 0;
		r = g->client_id != NULL && g->user_id != NULL && g->username != NULL &&
		    g->scope != NULL && g->redirect_uri != NULL ? STORE_OK : STORE_ERROR;
	}
	store_stmt_finish(&q);
	if (r != STORE_OK)
		store_grant_free(g);
	return r;
}

enum store_result
store_code_claim(struct store *st, const unsigned char *hash, const char *client_id,
    const char *family_id, int64_t now, struct store_grant *g_r)
{
	enum store_result r;
	bool used = false;
	int changes = 0;

	/*
	 * The claim itself: exactly one caller turns used 0 → 1, and names
	 * the family in the same statement, so a replay never finds a used
	 * code without one.
	 */
	r = run_write(st, &changes, "UPDATE codes SET used = 1, family_id = ? WHERE "
	    "code_hash = ? AND client_id = ? AND used = 0 AND expires_at > ?", "shsi",
	    family_id, hash, client_id, now);
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

/* ---- refresh families ------------------------------------------------------- */

/* Inside a transaction: the rows iss adds to family_id. */
static enum store_result
add_issued(struct store *st, const char *family_id, const struct store_issue *iss,
    int64_t now)
{
	enum store_result r;

	r = run_write(st, NULL, "INSERT INTO refresh_tokens (token_hash, family_id, "
	    "created_at, expires_at) VALUES (?, ?, ?, ?)", "hsii", iss->refresh_hash,
	    family_id, now, iss->refresh_expires_at);
	if (r == STORE_OK && iss->jti != NULL)
		r = run_write(st, NULL, "INSERT INTO access_tokens (jti, family_id, expires_at) "
		    "VALUES (?, ?, ?)", "ssi", iss->jti, family_id, iss->access_expires_at);
	return r;
}

/* Inside a transaction: how many families, live ones only if live_only, have this id. */
static enum store_result
count_family(struct store *st, const char *family_id, bool live_only, int64_t *n_r)
{
	return store_stmt_int64(st, n_r, NULL, live_only ?
	    "SELECT count(*) FROM refresh_families WHERE family_id = ? AND revoked_at IS NULL" :
	    "SELECT count(*) FROM refresh_families WHERE family_id = ?", "s", family_id) == 0 ?
	    STORE_OK : STORE_ERROR;
}

enum store_result
store_family_issue_in(struct store *st, const char *family_id, const struct store_grant *g,
    const struct store_issue *iss, int64_t now)
{
	enum store_result r;
	int64_t n = 0;

	/* A row under this id already is a replay's bar: this family must not start. */
	r = count_family(st, family_id, false, &n);
	if (r == STORE_OK && n != 0)
		r = STORE_REVOKED;
	if (r == STORE_OK)
		r = run_write(st, NULL, "INSERT INTO refresh_families (family_id, client_id, "
		    "user_id, username, scope, created_at, expires_at) "
		    "VALUES (?, ?, ?, ?, ?, ?, ?)", "sssssii", family_id, g->client_id,
		    g->user_id, g->username, g->scope, now, g->expires_at);
	if (r == STORE_OK)
		r = add_issued(st, family_id, iss, now);
	return r;
}

enum store_result
store_family_issue(struct store *st, const char *family_id, const struct store_grant *g,
    const struct store_issue *iss, int64_t now)
{
	enum store_result r;

	if ((r = tx(st, "BEGIN IMMEDIATE")) != STORE_OK)
		return r;
	return tx_end(st, store_family_issue_in(st, family_id, g, iss, now));
}

enum store_result
store_family_create(struct store *st, const char *family_id, const struct store_grant *g,
    const unsigned char *token_hash, int64_t token_expires_at, int64_t now)
{
	struct store_issue iss = {
		.refresh_hash = token_hash, .refresh_expires_at = token_expires_at,
	};

	return store_family_issue(st, family_id, g, &iss, now);
}

enum store_result
store_refresh_peek(struct store *st, const unsigned char *hash, const char *client_id,
    int64_t now, struct store_grant *g_r)
{
	struct store_stmt q;
	enum store_result r;
	int64_t token_exp = 0, revoked = 0;
	bool used = false;

	memset(g_r, 0, sizeof(*g_r));
	if (store_stmt_prepare(st, &q, NULL, "SELECT f.family_id, f.client_id, f.user_id, "
	    "f.username, f.scope, f.created_at, f.expires_at, f.revoked_at IS NOT NULL, "
	    "t.expires_at, t.used FROM refresh_tokens t JOIN refresh_families f "
	    "USING (family_id) WHERE t.token_hash = ? AND f.client_id = ?", "hs", hash,
	    client_id) != 0)
		return STORE_ERROR;
	if ((r = step_row(&q, "refresh token read")) == STORE_OK) {
		g_r->family_id = store_sqlite_col_text(q.s, 0);
		g_r->client_id = store_sqlite_col_text(q.s, 1);
		g_r->user_id = store_sqlite_col_text(q.s, 2);
		g_r->username = store_sqlite_col_text(q.s, 3);
		g_r->scope = store_sqlite_col_text(q.s, 4);
		g_r->created_at = sqlite3_column_int64(q.s, 5);
		g_r->expires_at = sqlite3_column_int64(q.s, 6);
		revoked = sqlite3_column_int64(q.s, 7);
		token_exp = sqlite3_column_int64(q.s, 8);
		used = sqlite3_column_int(q.s, 9) != 0;
		r = g_r->family_id != NULL && g_r->client_id != NULL && g_r->user_id != NULL &&
		    g_r->username != NULL && g_r->scope != NULL ? STORE_OK : STORE_ERROR;
	}
	store_stmt_finish(&q);
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

/*
 * Inside a transaction: rotate old to what iss issues.  The family is
 * checked first, so every outcome but OK leaves no write behind; the claim
 * is one UPDATE whose change count must be 1.
 */
static enum store_result
rotate(struct store *st, const unsigned char *old_hash, const char *family_id,
    const struct store_issue *iss, int64_t now)
{
	enum store_result r;
	int changes = 0;
	int64_t live = 0;

	/* The family's scope stays the original grant: each refresh narrows only its own. */
	r = count_family(st, family_id, true, &live);
	if (r == STORE_OK && live != 1)
		r = STORE_REVOKED;
	if (r == STORE_OK)
		r = run_write(st, &changes, "UPDATE refresh_tokens SET used = 1 WHERE "
		    "token_hash = ? AND family_id = ? AND used = 0", "hs", old_hash, family_id);
	if (r == STORE_OK && changes != 1)
		r = STORE_REPLAY;
	if (r == STORE_OK)
		r = add_issued(st, family_id, iss, now);
	return r;
}

enum store_result
store_refresh_rotate(struct store *st, const unsigned char *old_hash, const char *family_id,
    const struct store_issue *iss, int64_t now)
{
	enum store_result r;

	if ((r = tx(st, "BEGIN IMMEDIATE")) != STORE_OK)
		return r;
	return tx_end(st, rotate(st, old_hash, family_id, iss, now));
}

enum store_result
store_refresh_rotate_in(struct store *st, const unsigned char *old_hash,
    const char *family_id, const struct store_issue *iss, int64_t now)
{
	enum store_result r = rotate(st, old_hash, family_id, iss, now);

	/* A reuse: the family goes in this same transaction, before anyone is answered. */
	if (r == STORE_REPLAY && store_family_revoke(st, family_id, now) != STORE_OK)
		r = STORE_ERROR;
	return r;
}

enum store_result
store_family_revoke(struct store *st, const char *family_id, int64_t now)
{
	return run_write(st, NULL, "UPDATE refresh_families SET revoked_at = ? "
	    "WHERE family_id = ? AND revoked_at IS NULL", "is", now, family_id);
}

/* Inside a transaction: store_family_bar's work. */
static enum store_result
bar(struct store *st, const struct store_grant *g, int64_t now)
{
	enum store_result r, outcome = STORE_OK;
	int changes = 0;
	int64_t n = 0;

	r = run_write(st, &changes, "UPDATE refresh_families SET revoked_at = ? "
	    "WHERE family_id = ? AND revoked_at IS NULL", "is", now, g->family_id);
	if (r == STORE_OK && changes == 0) {
		r = count_family(st, g->family_id, false, &n);
		outcome = n != 0 ? STORE_REVOKED : STORE_NOT_FOUND;
	}
	/* Not there yet: a revoked placeholder takes its id, and purge drops it in time. */
	if (r == STORE_OK && outcome == STORE_NOT_FOUND)
		r = run_write(st, NULL, "INSERT INTO refresh_families (family_id, client_id, "
		    "user_id, username, scope, created_at, expires_at, revoked_at) "
		    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "sssssiii", g->family_id, g->client_id,
		    g->user_id, g->username, g->scope, now, now + STORE_FAMILY_BAR_S, now);
	return r == STORE_OK ? outcome : r;
}

enum store_result
store_family_bar(struct store *st, const struct store_grant *g, int64_t now)
{
	enum store_result r;

	if (g->family_id == NULL)
		return STORE_ERROR;
	/* One transaction: the first exchange's store_family_issue is wholly before or after. */
	if ((r = tx(st, "BEGIN IMMEDIATE")) != STORE_OK)
		return r;
	r = bar(st, g, now);
	if (tx_end(st, r == STORE_ERROR ? r : STORE_OK) != STORE_OK)
		return STORE_ERROR;
	return r;
}

enum store_result
store_code_peek(struct store *st, const unsigned char *hash, const char *client_id,
    int64_t now, struct store_grant *g_r)
{
	enum store_result r;
	bool used = false;

	if ((r = read_code(st, hash, client_id, g_r, &used)) != STORE_OK)
		return r;
	if (used)
		return STORE_REPLAY;
	if (g_r->expires_at > now)
		return STORE_OK;
	store_grant_free(g_r);
	return STORE_EXPIRED;
}

enum store_result
store_code_redeem_in(struct store *st, const unsigned char *hash, const char *family_id,
    const struct store_grant *g, const struct store_issue *iss, int64_t now,
    enum store_result *bar_r)
{
	struct store_grant first = { 0 };
	enum store_result r;
	bool used = false;
	int changes = 0;

	*bar_r = STORE_EXPIRED;
	r = run_write(st, &changes, "UPDATE codes SET used = 1, family_id = ? WHERE "
	    "code_hash = ? AND client_id = ? AND used = 0 AND expires_at > ?", "shsi",
	    family_id, hash, g->client_id, now);
	if (r == STORE_OK && changes == 1)
		return store_family_issue_in(st, family_id, g, iss, now);
	if (r != STORE_OK || (r = read_code(st, hash, g->client_id, &first, &used)) != STORE_OK)
		return r == STORE_NOT_FOUND ? STORE_EXPIRED : r;
	r = STORE_EXPIRED;
	if (used) {
		/* Claimed since we read it: a replay, which ends what the first use issues. */
		r = STORE_REPLAY;
		if (first.family_id != NULL && (*bar_r = bar(st, &first, now)) == STORE_ERROR)
			r = STORE_ERROR;
	}
	store_grant_free(&first);
	return r;
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
store_access_family(struct store *st, const char *jti, char **family_r)
{
	struct store_stmt q;
	enum store_result r;

	*family_r = NULL;
	if (store_stmt_prepare(st, &q, NULL, "SELECT family_id FROM access_tokens WHERE jti = ?",
	    "s", jti) != 0)
		return STORE_ERROR;
	if ((r = step_row(&q, "access token family read")) == STORE_OK &&
	    (*family_r = store_sqlite_col_text(q.s, 0)) == NULL)
		r = STORE_ERROR;
	store_stmt_finish(&q);
	return r;
}

enum store_result
store_access_check(struct store *st, const char *jti)
{
	struct store_stmt q;
	enum store_result r;

	if (store_stmt_prepare(st, &q, NULL, "SELECT f.revoked_at IS NOT NULL "
	    "FROM access_tokens a JOIN refresh_families f USING (family_id) WHERE a.jti = ?",
	    "s", jti) != 0)
		return STORE_ERROR;
	if ((r = step_row(&q, "access token read")) == STORE_OK)
		r = sqlite3_column_int(q.s, 0) ? STORE_REVOKED : STORE_OK;
	store_stmt_finish(&q);
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
