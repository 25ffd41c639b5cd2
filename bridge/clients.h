/*
 * clients.h — the OAuth clients idbridge knows, and the checks every
 * endpoint makes against one.
 *
 * Clients come from [client NAME] sections and, once clients_init() has
 * been given the store, from the store (`idbridge client add`); a config
 * client wins over a stored one with the same id.  Endpoints find a client
 * with clients_find() and hand it back with clients_release() when done:
 * a stored client lives in an immutable, reference-counted snapshot that
 * the pair keeps alive, so call clients_release() on every path.
 *
 * The snapshot is re-read only when the store's clients generation
 * changed, checked at most every IDB_CLIENTS_RECHECK_MS by one thread: a
 * look-up costs no store read, and `client add` / `remove` from another
 * process takes effect within about a second.
 *
 *	const struct client_cfg *c = clients_find(cfg, client_id);
 *	if (!client_secret_ok(c, secret, secret_len))   // NULL c: same work
 *		→ invalid_client
 *	if (!client_redirect_ok(c, redirect_uri))
 *		→ error page, never a redirect
 *	clients_release(c);
 *
 * Nothing here logs: callers decide what (sanitised) to report.
 */
#ifndef IDBRIDGE_CLIENTS_H
#define IDBRIDGE_CLIENTS_H

#include <stdbool.h>
#include <stddef.h>
#include "bridge.h"
#include "config.h"

/*
 * Is s[0..len) acceptable as a client_id: 1 to IDB_MAX_CLIENT_ID_LEN bytes of
 * printable ASCII without space, '"', '\' or ':' (a ':' would break HTTP
 * Basic authentication, which splits id and secret on the first one).
 */
bool client_id_valid(const char *s, size_t len);

struct store;

/*
 * Serve the store's clients too (cli_serve.c, after the store is open and
 * before any request thread runs).  cfg must outlive clients_shutdown(); it
 * is used to warn about stored clients that a [client] section shadows or
 * whose scopes [scopes] no longer defines.  0, or -1 with *err_r.
 */
int clients_init(const struct config *cfg, struct store *st, char **err_r) IDB_WUR;
/* Stop serving stored clients (after the request threads stopped). */
void clients_shutdown(void);
/* Re-read the store now, without waiting for the next check.  0 or -1 with *err_r. */
int clients_reload(char **err_r) IDB_WUR;

/*
 * The client with this client_id — the config's, else the store's — or NULL
 * (also for NULL or an invalid id).
 */
const struct client_cfg *clients_find(const struct config *cfg, const char *client_id);
/* Done with a client from clients_find(); NULL is fine. */
void clients_release(const struct client_cfg *client);

/*
 * A new client secret: IDB_CLIENT_SECRET_GEN_LEN characters of [A-Za-z0-9]
 * from the CSPRNG, NUL-terminated in out.  0, or -1 when the generator failed.
 */
int client_secret_generate(char out[IDB_CLIENT_SECRET_GEN_LEN + 1]) IDB_WUR;
/* SHA-256 of secret[0..len) into out, as client_secret_ok compares it.  0 or -1. */
int client_secret_hash(const char *secret, size_t len, unsigned char out[IDB_SHA256_LEN]) IDB_WUR;

/*
 * Does secret[0..len) match one of the client's secret hashes?  Compares
 * SHA-256(secret) against every hash slot with CRYPTO_memcmp.  The work is
 * the same for an unknown client (NULL), a public client (no hash: always
 * false) and a known one, so timing does not tell which client ids exist.
 */
bool client_secret_ok(const struct client_cfg *client, const char *secret, size_t len);

/*
 * Is uri one of the client's registered redirect URIs?  Byte for byte —
 * except that for a public client whose registered URI is
 * http://127.0.0.1…, http://[::1]… or http://localhost…, the port of the
 * request is ignored (RFC 8252 §7.3: native apps listen on any free port).
 * Nothing else is relaxed: no case folding, no prefix or path matching.
 */
bool client_redirect_ok(const struct client_cfg *client, const char *uri);

/* Is scope one of the client's allowed scopes? */
bool client_scope_allowed(const struct client_cfg *client, const char *scope);

/*
 * The aud of access tokens issued to this client: the audience of the
 * [plugin] whose client it is (its `audience`, default the origin of its
 * `api_url`), else the issuer.
 */
const char *client_audience(const struct config *cfg, const struct client_cfg *client);

#endif
