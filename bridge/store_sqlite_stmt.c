/*
 * store_sqlite_stmt.c — one way to prepare, bind and run a statement for
 * every store_sqlite*.c file (see store_sqlite_int.h).
 *
 * Values only ever reach SQL through bind calls chosen by a format letter,
 * so no statement text is built from data.  The tables' files differ in how
 * they report errors (the signing-key calls hand the message to their caller,
 * the OAuth calls log it and return STORE_ERROR), hence the optional err_r.
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

int
store_sqlite_error(sqlite3 *db, const char *what, char **err_r)
{
	const char *msg = db != NULL ? sqlite3_errmsg(db) : "no connection";

	if (err_r != NULL)
		*err_r = strdup(msg);
	else
		log_err("store: %s: %s", what, msg);
	return -1;
}

/* The connection, or NULL reported as store_sqlite_error does. */
static sqlite3 *
connection(struct store *st, char **err_r)
{
	char *err = NULL;
	sqlite3 *db;

	if (err_r != NULL)
		return store_sqlite_db(st, err_r);
	if ((db = store_sqlite_db(st, &err)) == NULL) {
		log_err("store: %s", err != NULL ? err : "no connection");
		free(err);
	}
	return db;
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

static int
vprepare(struct store *st, struct store_stmt *q, char **err_r, const char *sql,
    const char *fmt, va_list ap)
{
	q->s = NULL;
	if ((q->db = connection(st, err_r)) == NULL)
		return -1;
	if (sqlite3_prepare_v2(q->db, sql, -1, &q->s, NULL) != SQLITE_OK)
		return store_sqlite_error(q->db, "prepare", err_r);
	if (bind_args(q->s, fmt, ap) != SQLITE_OK) {
		store_sqlite_error(q->db, "bind", err_r);
		store_stmt_finish(q);
		return -1;
	}
	return 0;
}

int
store_stmt_prepare(struct store *st, struct store_stmt *q, char **err_r, const char *sql,
    const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vprepare(st, q, err_r, sql, fmt, ap);
	va_end(ap);
	return r;
}

void
store_stmt_finish(struct store_stmt *q)
{
	sqlite3_finalize(q->s);
	q->s = NULL;
}

int
store_stmt_vwrite(struct store *st, int *changes_r, char **err_r, const char *sql,
    const char *fmt, va_list ap)
{
	struct store_stmt q = { NULL, NULL };
	int rc;

	if ((q.db = connection(st, err_r)) == NULL)
		return -1;
	if (sqlite3_prepare_v2(q.db, sql, -1, &q.s, NULL) != SQLITE_OK)
		return store_sqlite_error(q.db, "prepare", err_r);
	if ((rc = bind_args(q.s, fmt, ap)) == SQLITE_OK)
		rc = sqlite3_step(q.s);
	if (rc != SQLITE_DONE)
		store_sqlite_error(q.db, "write", err_r);
	else if (changes_r != NULL)
		*changes_r = sqlite3_changes(q.db);
	store_stmt_finish(&q);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_stmt_write(struct store *st, int *changes_r, char **err_r, const char *sql,
    const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = store_stmt_vwrite(st, changes_r, err_r, sql, fmt, ap);
	va_end(ap);
	return r;
}

int
store_stmt_int64(struct store *st, int64_t *v_r, char **err_r, const char *sql,
    const char *fmt, ...)
{
	struct store_stmt q;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vprepare(st, &q, err_r, sql, fmt, ap);
	va_end(ap);
	if (r != 0)
		return -1;
	if (sqlite3_step(q.s) == SQLITE_ROW) {
		*v_r = sqlite3_column_int64(q.s, 0);
		r = 0;
	} else
		r = store_sqlite_error(q.db, "read", err_r);
	store_stmt_finish(&q);
	return r;
}

char *
store_sqlite_col_text(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	return t != NULL ? strdup((const char *)t) : NULL;
}

sqlite3 *
store_tx_begin(struct store *st, const char *sql, char **err_r)
{
	sqlite3 *db;

	if ((db = store_sqlite_db(st, err_r)) == NULL ||
	    store_stmt_write(st, NULL, err_r, sql, "") != 0)
		return NULL;
	return db;
}

int
store_tx_commit(struct store *st, char **err_r)
{
	return store_stmt_write(st, NULL, err_r, "COMMIT", "");
}

void
store_tx_rollback(sqlite3 *db)
{
	(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int
store_generation_read(struct store *st, const char *key, int64_t *gen_r, char **err_r)
{
	return store_stmt_int64(st, gen_r, err_r,
	    "SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?", "s", key);
}

int
store_generation_bump(struct store *st, const char *key, char **err_r)
{
	return store_stmt_write(st, NULL, err_r, "UPDATE meta SET value = "
	    "CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = ?", "s", key);
}
