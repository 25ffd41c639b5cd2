/*
 * store_sqlite_int.h — shared by the store_sqlite*.c files only.
 *
 * The SQLite driver is split by role (core and migrations in
 * store_sqlite.c, statements in store_sqlite_stmt.c, one file per group of
 * tables); they share the calling thread's connection through this.
 *
 * Statements: fmt names each bound argument's type in order — 'h' a
 * STORE_HASH_LEN-byte hash (blob), 's' text, 'S' text or NULL, 'i' int64.
 * Errors: with err_r, *err_r gets a copy of SQLite's message for the caller
 * to report; with err_r NULL, the error is logged as "store: WHAT: message".
 *
 *	struct store_stmt q;
 *
 *	if (store_stmt_prepare(st, &q, err_r, "SELECT a FROM t WHERE k = ?", "s", k) != 0)
 *		return -1;
 *	while (sqlite3_step(q.s) == SQLITE_ROW)
 *		...;
 *	store_stmt_finish(&q);
 */
#ifndef IDBRIDGE_STORE_SQLITE_INT_H
#define IDBRIDGE_STORE_SQLITE_INT_H

#include <stdarg.h>
#include <stdint.h>
#include <sqlite3.h>

#include "bridge.h"   /* IDB_WUR */

struct store;
struct stmt_slot;

struct store_stmt {
	sqlite3 *db;
	sqlite3_stmt *s;
	struct stmt_slot *slot;	/* the thread's cache lent s; NULL: s is finalized */
};

/*
 * Each connection keeps the statements its thread ran prepared (parsing
 * and planning cost more than running most of them), keyed by the SQL
 * text's address and checked against the text.  store_stmt_finish resets
 * and unbinds a cached statement, so none holds a read transaction open.
 */
struct stmt_cache;
struct stmt_cache *stmt_cache_new(void);
void stmt_cache_free(struct stmt_cache *c);

/* The calling thread's connection (opened on first use), or NULL with *err_r. */
sqlite3 *store_sqlite_db(struct store *st, char **err_r);
/* The same, with its statement cache in *cache_r. */
sqlite3 *store_sqlite_conn(struct store *st, struct stmt_cache **cache_r, char **err_r);

/* Report db's last error (or "no connection" when db is NULL); returns -1. */
int store_sqlite_error(sqlite3 *db, const char *what, char **err_r);

/* Prepare sql on the thread's connection with its arguments bound; 0 or -1. */
int store_stmt_prepare(struct store *st, struct store_stmt *q, char **err_r, const char *sql,
    const char *fmt, ...) IDB_WUR;
/* Give q->s back to the cache or finalize it (NULL is fine). */
void store_stmt_finish(struct store_stmt *q);

/* Run a statement that returns no rows; *changes_r (may be NULL) gets the row count. */
int store_stmt_write(struct store *st, int *changes_r, char **err_r, const char *sql,
    const char *fmt, ...) IDB_WUR;
int store_stmt_vwrite(struct store *st, int *changes_r, char **err_r, const char *sql,
    const char *fmt, va_list ap) IDB_WUR;

/* The first column of a query's first row as an int64 (no row is an error). */
int store_stmt_int64(struct store *st, int64_t *v_r, char **err_r, const char *sql,
    const char *fmt, ...) IDB_WUR;

/* Start a transaction (sql: "BEGIN" or "BEGIN IMMEDIATE"); its connection, or NULL. */
sqlite3 *store_tx_begin(struct store *st, const char *sql, char **err_r);
/* End a transaction: COMMIT (0 or -1), or ROLLBACK (errors ignored: the caller already failed). */
int store_tx_commit(struct store *st, char **err_r) IDB_WUR;
void store_tx_rollback(sqlite3 *db);

/*
 * A change counter kept in the meta table under key (…_generation): read
 * it, or add one inside the caller's transaction.  Other processes compare
 * it to notice a change (signing keys, clients).
 */
int store_generation_read(struct store *st, const char *key, int64_t *gen_r,
    char **err_r) IDB_WUR;
int store_generation_bump(struct store *st, const char *key, char **err_r) IDB_WUR;

/* A copy of a text column; NULL for SQL NULL or on ENOMEM. */
char *store_sqlite_col_text(sqlite3_stmt *s, int col);

#endif
