/*
 * clients.h — the OAuth clients idbridge knows, and the checks every
 * endpoint makes against one.
 *
 * Today every client comes from a [client NAME] section.  Endpoints find a
 * client with clients_find() and hand it back with clients_release() when
 * done; the pair is the seam where clients registered in the store
 * (`idbridge client add`) will come in: such a client will be a copy the
 * caller owns, so call clients_release() on every path even though it does
 * nothing for configured clients yet.
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

/* The client with this client_id, or NULL (also for NULL or an invalid id). */
const struct client_cfg *clients_find(const struct config *cfg, const char *client_id);
/* Done with a client from clients_find(); NULL is fine. */
void clients_release(const struct client_cfg *client);

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
