/*
 * store_clients.h — OAuth clients kept in the store (`idbridge client add`),
 * beside the [client NAME] sections of the config.
 *
 * A row holds exactly what a [client] section holds (struct client_cfg);
 * the caller validates before adding (cli_clients.c does, with the config's
 * own rules), this layer only stores.  Secrets are stored as their SHA-256,
 * never in clear.  Every write bumps meta.clients_generation in the same
 * transaction, so a running daemon notices `client add` / `remove` made by
 * another process with one tiny read (clients.c re-checks once a second).
 *
 *	struct store_client *v; size_t n; int64_t gen; char *err;
 *	if (store_clients_load(st, &v, &n, &gen, &err) != 0) ... report err, free it
 *	... v[i].c is a struct client_cfg ...
 *	store_clients_free(v, n);
 *
 * Errors: -1 with *err_r, a copy of the store's message for the caller to
 * report (and free).
 */
#ifndef IDBRIDGE_STORE_CLIENTS_H
#define IDBRIDGE_STORE_CLIENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bridge.h"
#include "config.h"

struct store;

/* One stored client.  c.line is 0 (no config line); c.set is left NULL. */
struct store_client {
	struct client_cfg c;
	int64_t created_at;
};

/*
 * Insert c (created at now).  When a client with its id is stored already,
 * nothing changes and *exists_r is true (returns 0).
 */
int store_client_add(struct store *st, const struct client_cfg *c, int64_t now,
    bool *exists_r, char **err_r) IDB_WUR;
/*
 * Delete the client with this id; *removed_r says whether one was there.
 * Its grants go in the same transaction: unused codes and consents are
 * deleted, refresh families revoked at now (so a client added later under
 * the same id inherits nothing).
 */
int store_client_remove(struct store *st, const char *client_id, int64_t now,
    bool *removed_r, char **err_r) IDB_WUR;
/*
 * Every stored client, ordered by client_id (byte order, as strcmp), at
 * most IDB_MAX_STORE_CLIENTS, and the generation they belong to (read in
 * the same transaction).  A row that does not fit the schema's rules is an
 * error, not skipped: the table's CHECKs should make that impossible.
 */
int store_clients_load(struct store *st, struct store_client **clients_r, size_t *n_r,
    int64_t *generation_r, char **err_r) IDB_WUR;
/* The clients generation: it changes with every add and remove. */
int store_clients_generation(struct store *st, int64_t *generation_r, char **err_r) IDB_WUR;
/* Free what store_clients_load returned (secret hashes wiped); NULL is fine. */
void store_clients_free(struct store_client *clients, size_t n);
/* Free the strings of one client_cfg built outside the config (hashes wiped). */
void store_client_cfg_clear(struct client_cfg *c);

#endif
