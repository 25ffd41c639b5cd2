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

#endif
