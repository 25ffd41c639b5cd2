/*
 * store_sqlite_int.h — shared by the store_sqlite*.c files only.
 *
 * The SQLite driver is split by role (core and migrations in
 * store_sqlite.c, one file per group of tables); they share the calling
 * thread's connection through this.
 */
#ifndef IDBRIDGE_STORE_SQLITE_INT_H
#define IDBRIDGE_STORE_SQLITE_INT_H

#include <sqlite3.h>

struct store;

/* The calling thread's connection (opened on first use), or NULL with *err_r. */
sqlite3 *store_sqlite_db(struct store *st, char **err_r);

#endif
