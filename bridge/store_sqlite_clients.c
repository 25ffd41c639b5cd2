/*
 * store_sqlite_clients.c — the clients table (schema: store_sqlite.c,
 * migration 4).  What a client may be is decided before a row gets here
 * (cli_clients.c applies the config's rules); this file stores and reads.
 *
 * Lists (redirect URIs, scopes) are stored space-separated, as a [client]
 * section writes them: neither a redirect URI nor a scope can contain a
 * space.  Secrets are two nullable SHA-256 blobs (two while rotating).
 * Every write bumps meta.clients_generation in its transaction.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "store.h"
#include "store_clients.h"
#include "store_oauth.h"       /* STORE_HASH_LEN */
#include "store_sqlite_int.h"
#include "util.h"

_Static_assert(STORE_HASH_LEN == IDB_SHA256_LEN, "a client secret hash is one store hash");
_Static_assert(IDB_MAX_CLIENT_SECRETS == 2, "the table has two secret columns");

int
store_clients_generation(struct store *st, int64_t *generation_r, char **err_r)
{
	*err_r = NULL;
	return store_generation_read(st, "clients_generation", generation_r, err_r);
}

void
store_client_cfg_clear(struct client_cfg *c)
{
	if (c == NULL)
		return;
	free(c->id);
	free(c->name);
	strlist_free(&c->redirect_uris);
	strlist_free(&c->scopes);
	explicit_bzero(c->secret_hash, sizeof(c->secret_hash));
	memset(c, 0, sizeof(*c));
}

void
store_clients_free(struct store_client *clients, size_t n)
{
	if (clients == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		store_client_cfg_clear(&clients[i].c);
	free(clients);
}

static int
insert_row(struct store *st, const struct client_cfg *c, int64_t now, int *changes_r,
    char **err_r)
{
	char *uris = NULL, *scopes = NULL;
	int r = -1;

	if ((uris = strlist_join(&c->redirect_uris, " ")) == NULL ||
	    (scopes = strlist_join(&c->scopes, " ")) == NULL) {
		*err_r = strdup("out of memory");
		goto out;
	}
	/* 'h' with a NULL pointer binds SQL NULL: a missing secret slot. */
	r = store_stmt_write(st, changes_r, err_r, "INSERT INTO clients (client_id, name,"
	    " secret_hash, secret_hash2, redirect_uris, scopes, pkce_required, public,"
	    " consent_skip, introspect, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	    " ON CONFLICT (client_id) DO NOTHING", "sshhssiiiii", c->id, c->name,
	    c->n_secrets > 0 ? c->secret_hash[0] : NULL,
	    c->n_secrets > 1 ? c->secret_hash[1] : NULL, uris, scopes,
	    (int64_t)c->pkce_required, (int64_t)c->is_public, (int64_t)c->consent_skip,
	    (int64_t)c->introspect, now);
out:
	free(uris);
	free(scopes);
	return r;
}

int
store_client_add(struct store *st, const struct client_cfg *c, int64_t now,
    bool *exists_r, char **err_r)
{
	sqlite3 *db;
	int changes = 0;

	*err_r = NULL;
	*exists_r = false;
	if ((db = store_tx_begin(st, "BEGIN IMMEDIATE", err_r)) == NULL)
		return -1;
	if (insert_row(st, c, now, &changes, err_r) != 0 ||
	    (changes == 1 && store_generation_bump(st, "clients_generation", err_r) != 0) ||
	    store_tx_commit(st, err_r) != 0) {
		store_tx_rollback(db);
		return -1;
	}
	*exists_r = changes == 0;
	return 0;
}

/*
 * A removed client's grants go with it: its unused codes and its consents
 * are deleted and its refresh families revoked, so a client later added
 * under the same id inherits nothing (and /introspect reports the old
 * tokens inactive).
 */
static int
drop_grants(struct store *st, const char *client_id, int64_t now, char **err_r)
{
	if (store_stmt_write(st, NULL, err_r, "DELETE FROM codes WHERE client_id = ?"
	    " AND used = 0", "s", client_id) != 0 ||
	    store_stmt_write(st, NULL, err_r, "DELETE FROM consents WHERE client_id = ?",
	    "s", client_id) != 0)
		return -1;
	return store_stmt_write(st, NULL, err_r, "UPDATE refresh_families SET revoked_at = ?"
	    " WHERE client_id = ? AND revoked_at IS NULL", "is", now, client_id);
}

int
store_client_remove(struct store *st, const char *client_id, int64_t now, bool *removed_r,
    char **err_r)
{
	sqlite3 *db;
	int changes = 0;

	*err_r = NULL;
	*removed_r = false;
	if ((db = store_tx_begin(st, "BEGIN IMMEDIATE", err_r)) == NULL)
		return -1;
	if (store_stmt_write(st, &changes, err_r, "DELETE FROM clients WHERE client_id = ?",
	    "s", client_id) != 0)
		goto fail;
	if (changes == 1 && (drop_grants(st, client_id, now, err_r) != 0 ||
	    store_generation_bump(st, "clients_generation", err_r) != 0))
		goto fail;
	if (store_tx_commit(st, err_r) != 0)
		goto fail;
	*removed_r = changes == 1;
	return 0;
fail:
	store_tx_rollback(db);
	return -1;
}

static int
take_hash(sqlite3_stmt *s, int col, struct client_cfg *c)
{
	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return 0;
	if (sqlite3_column_bytes(s, col) != IDB_SHA256_LEN || c->n_secrets >= IDB_MAX_CLIENT_SECRETS)
		return -1;
	memcpy(c->secret_hash[c->n_secrets++], sqlite3_column_blob(s, col), IDB_SHA256_LEN);
	return 0;
}

/* One row of the SELECT in store_clients_load into sc; "why" on failure. */
static const char *
take_row(sqlite3_stmt *s, struct store_client *sc)
{
	struct client_cfg *c = &sc->c;
	const unsigned char *uris = sqlite3_column_text(s, 4);
	const unsigned char *scopes = sqlite3_column_text(s, 5);

	if ((c->id = store_sqlite_col_text(s, 0)) == NULL ||
	    (c->name = store_sqlite_col_text(s, 1)) == NULL || uris == NULL || scopes == NULL)
		return "out of memory";
	if (take_hash(s, 2, c) != 0 || take_hash(s, 3, c) != 0)
		return "a stored client secret hash is not 32 bytes";
	if (strlist_add_words(&c->redirect_uris, (const char *)uris) != 0 ||
	    strlist_add_words(&c->scopes, (const char *)scopes) != 0)
		return "a stored client's lists cannot be read";
	c->pkce_required = sqlite3_column_int(s, 6) != 0;
	c->is_public = sqlite3_column_int(s, 7) != 0;
	c->consent_skip = sqlite3_column_int(s, 8) != 0;
	c->introspect = sqlite3_column_int(s, 9) != 0;
	sc->created_at = sqlite3_column_int64(s, 10);
	return NULL;
}

/* Read at most cap rows of q into v; *n_r gets how many were taken. */
static int
read_rows(sqlite3 *db, struct store_stmt *q, struct store_client *v, size_t cap, size_t *n_r,
    char **err_r)
{
	const char *why;
	size_t n = 0;
	int rc;

	while ((rc = sqlite3_step(q->s)) == SQLITE_ROW) {
		if (n == cap) {
			/* Cannot happen inside one transaction; never write past v. */
			*err_r = strdup("the clients changed while they were read");
			goto fail;
		}
		if ((why = take_row(q->s, &v[n++])) != NULL) {
			*err_r = strdup(why);
			goto fail;
		}
	}
	if (rc != SQLITE_DONE) {
		store_sqlite_error(db, "client read", err_r);
		goto fail;
	}
	*n_r = n;
	return 0;
fail:
	*n_r = n;
	return -1;
}

int
store_clients_load(struct store *st, struct store_client **clients_r, size_t *n_r,
    int64_t *generation_r, char **err_r)
{
	struct store_stmt q = { 0 };
	struct store_client *v = NULL;
	sqlite3 *db;
	int64_t count = 0;
	size_t n = 0;
	int r = -1;

	*err_r = NULL;
	*clients_r = NULL;
	*n_r = 0;
	/* One read transaction: the generation matches the rows. */
	if ((db = store_tx_begin(st, "BEGIN", err_r)) == NULL)
		return -1;
	if (store_generation_read(st, "clients_generation", generation_r, err_r) != 0 ||
	    store_stmt_int64(st, &count, err_r, "SELECT count(*) FROM clients", "") != 0)
		goto out;
	if (count > IDB_MAX_STORE_CLIENTS) {
		*err_r = strdup("more clients are stored than idbridge accepts");
		goto out;
	}
	if ((v = calloc((size_t)count + 1, sizeof(*v))) == NULL) {
		*err_r = strdup("out of memory");
		goto out;
	}
	if (store_stmt_prepare(st, &q, err_r, "SELECT client_id, name, secret_hash,"
	    " secret_hash2, redirect_uris, scopes, pkce_required, public, consent_skip,"
	    " introspect, created_at FROM clients ORDER BY client_id", "") != 0)
		goto out;
	if (read_rows(db, &q, v, (size_t)count, &n, err_r) != 0)
		goto out;
	*clients_r = v;
	*n_r = n;
	v = NULL;
	r = 0;
out:
	store_stmt_finish(&q);
	store_clients_free(v, n);
	store_tx_rollback(db);  /* ends the read transaction */
	return r;
}
