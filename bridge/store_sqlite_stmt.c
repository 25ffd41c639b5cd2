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
#include <stdint.h>
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

/* The connection and its cache, or NULL reported as store_sqlite_error does. */
static sqlite3 *
connection(struct store *st, struct stmt_cache **cache_r, char **err_r)
{
	char *err = NULL;
	sqlite3 *db;

	if (err_r != NULL)
		return store_sqlite_conn(st, cache_r, err_r);
	if ((db = store_sqlite_conn(st, cache_r, &err)) == NULL) {
		log_err("store: %s", err != NULL ? err : "no connection");
		free(err);
	}
	return db;
}

/*
 * The cache: open addressing on the SQL text's address.  The texts are the
 * string constants of the store_sqlite*.c files, so an address names one
 * statement; the text is compared anyway, so a caller building SQL in a
 * buffer gets the right statement, only slower.
 */
struct stmt_slot {
	const char *sql;
	sqlite3_stmt *s;
	int busy;		/* lent to a store_stmt: a nested use prepares its own */
};

struct stmt_cache {
	struct stmt_slot slot[IDB_STMT_CACHE_SLOTS];
};

struct stmt_cache *
stmt_cache_new(void)
{
	return calloc(1, sizeof(struct stmt_cache));
}

void
stmt_cache_free(struct stmt_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < IDB_STMT_CACHE_SLOTS; i++)
		sqlite3_finalize(c->slot[i].s);
	free(c);
}

/* The slot that holds or should hold sql; NULL when its probe run is full. */
static struct stmt_slot *
cache_slot(struct stmt_cache *c, const char *sql)
{
	size_t h = ((uintptr_t)sql >> 3) % IDB_STMT_CACHE_SLOTS;

	for (size_t n = 0; n < IDB_STMT_CACHE_PROBES; n++) {
		struct stmt_slot *sl = &c->slot[(h + n) % IDB_STMT_CACHE_SLOTS];

		if (sl->sql == NULL || sl->sql == sql)
			return sl;
	}
	return NULL;
}

/* Prepare sql into q: lent by the cache when it can, else q's own. */
static int
prepare_stmt(sqlite3 *db, struct stmt_cache *c, struct store_stmt *q, const char *sql)
{
	struct stmt_slot *sl = cache_slot(c, sql);

	q->slot = NULL;
	if (sl != NULL && sl->busy)
		sl = NULL;
	if (sl != NULL && sl->s != NULL && strcmp(sqlite3_sql(sl->s), sql) == 0) {
		sl->busy = 1;
		q->slot = sl;
		q->s = sl->s;
		return SQLITE_OK;
	}
	if (sqlite3_prepare_v3(db, sql, -1, sl != NULL ? SQLITE_PREPARE_PERSISTENT : 0,
	    &q->s, NULL) != SQLITE_OK)
		return SQLITE_ERROR;
	if (sl != NULL) {
		sqlite3_finalize(sl->s);
		*sl = (struct stmt_slot){ .sql = sql, .s = q->s, .busy = 1 };
		q->slot = sl;
	}
	return SQLITE_OK;
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
	struct stmt_cache *c;

	q->s = NULL;
	q->slot = NULL;
	if ((q->db = connection(st, &c, err_r)) == NULL)
		return -1;
	if (prepare_stmt(q->db, c, q, sql) != SQLITE_OK)
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
	if (q->slot != NULL) {
		sqlite3_reset(q->s);
		sqlite3_clear_bindings(q->s);
		q->slot->busy = 0;
		q->slot = NULL;
	} else
		sqlite3_finalize(q->s);
	q->s = NULL;
}

int
store_stmt_vwrite(struct store *st, int *changes_r, char **err_r, const char *sql,
    const char *fmt, va_list ap)
{
	struct store_stmt q;
	int rc;

	if (vprepare(st, &q, err_r, sql, fmt, ap) != 0)
		return -1;
	if ((rc = sqlite3_step(q.s)) != SQLITE_DONE)
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
