/*
 * store_sqlite_users.c — store_user_revoke (store_users.h) on SQLite.
 *
 * The directory ids are gathered first, as one JSON array
 * (json_group_array), before anything is deleted: deleting a session or a
 * code removes rows that name an id.  Every later statement matches "the
 * name, or one of those ids" through json_each, so the set is bound as one
 * value and never built into SQL text.  Only api_keys has an index on the
 * name; an admin command may scan sessions, codes and families once.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "store.h"
#include "store_oauth.h"        /* STORE_FAMILY_BAR_S */
#include "store_sqlite_int.h"
#include "store_users.h"

/*
 * Statement parameters, the same in every statement (each binds a prefix
 * of "ssii"): ?1 the login name, ?2 the JSON array of its ids, ?3 now,
 * ?4 when a bar on an in-flight family may be purged.
 */
#define MATCH "(username = ?1 COLLATE NOCASE OR user_id IN (SELECT value FROM json_each(?2)))"

struct who {
	const char *name;
	char *ids;
	int64_t now;
};

/* Every id recorded under the name, in any table, as a JSON array into w->ids. */
static int
gather_ids(struct store *st, struct who *w, int *n_r, char **err_r)
{
	struct store_stmt q;
	int r = -1;

	if (store_stmt_prepare(st, &q, err_r, "SELECT json_group_array(user_id), count(*) FROM ("
	    "SELECT user_id FROM sessions WHERE username = ?1 COLLATE NOCASE"
	    " UNION SELECT user_id FROM refresh_families WHERE username = ?1 COLLATE NOCASE"
	    " UNION SELECT user_id FROM codes WHERE username = ?1 COLLATE NOCASE"
	    " UNION SELECT user_id FROM api_keys WHERE username = ?1 COLLATE NOCASE)",
	    "s", w->name) != 0)
		return -1;
	if (sqlite3_step(q.s) != SQLITE_ROW) {
		store_sqlite_error(q.db, "gather user ids", err_r);
		goto out;
	}
	if ((w->ids = store_sqlite_col_text(q.s, 0)) == NULL) {
		*err_r = strdup("out of memory");
		goto out;
	}
	*n_r = sqlite3_column_int(q.s, 1);
	r = 0;
out:
	store_stmt_finish(&q);
	return r;
}

/* One statement of the revocation; *changes_r (may be NULL) gets its row count. */
static int
step(struct store *st, const struct who *w, int *changes_r, const char *fmt, const char *sql,
    char **err_r)
{
	return store_stmt_write(st, changes_r, err_r, sql, fmt, w->name, w->ids, w->now,
	    w->now + (int64_t)STORE_FAMILY_BAR_S);
}

/* Inside the transaction, after gather_ids. */
static int
revoke_all(struct store *st, const struct who *w, struct store_user_revoke_counts *c,
    char **err_r)
{
	if (step(st, w, &c->sessions, "ss", "DELETE FROM sessions WHERE " MATCH, err_r) != 0)
		return -1;
	/* Revoked families take their access tokens along (store_access_check). */
	if (step(st, w, &c->families, "ssi", "UPDATE refresh_families SET revoked_at = ?3"
	    " WHERE revoked_at IS NULL AND " MATCH, err_r) != 0)
		return -1;
	/*
	 * A code claimed whose exchange is still on its way (the directory
	 * look-up before issuing) has no family yet: a revoked placeholder
	 * under the family id it recorded makes store_family_issue refuse it,
	 * as for a replayed code (store_family_bar).
	 */
	if (step(st, w, NULL, "ssii", "INSERT INTO refresh_families (family_id, client_id,"
	    " user_id, username, scope, created_at, expires_at, revoked_at)"
	    " SELECT family_id, client_id, user_id, username, scope, ?3, ?4, ?3 FROM codes"
	    " WHERE used = 1 AND family_id IS NOT NULL AND " MATCH
	    " AND family_id NOT IN (SELECT family_id FROM refresh_families)", err_r) != 0)
		return -1;
	if (step(st, w, &c->consents, "ss", "DELETE FROM consents"
	    " WHERE user_id IN (SELECT value FROM json_each(?2))", err_r) != 0)
		return -1;
	if (step(st, w, &c->apikeys, "ssi", "UPDATE api_keys SET revoked_at = ?3"
	    " WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?3) AND " MATCH,
	    err_r) != 0)
		return -1;
	return step(st, w, &c->codes, "ss", "DELETE FROM codes WHERE used = 0 AND " MATCH, err_r);
}

int
store_user_revoke(struct store *st, const char *username, int64_t now,
    struct store_user_revoke_counts *c_r, char **err_r)
{
	struct who w = { .name = username, .ids = NULL, .now = now };
	sqlite3 *db;
	int r = -1;

	*err_r = NULL;
	memset(c_r, 0, sizeof(*c_r));
	if ((db = store_tx_begin(st, "BEGIN IMMEDIATE", err_r)) == NULL)
		return -1;
	if (gather_ids(st, &w, &c_r->user_ids, err_r) != 0 || revoke_all(st, &w, c_r, err_r) != 0 ||
	    store_tx_commit(st, err_r) != 0) {
		store_tx_rollback(db);
		memset(c_r, 0, sizeof(*c_r));
		goto out;
	}
	r = 0;
out:
	free(w.ids);
	return r;
}
