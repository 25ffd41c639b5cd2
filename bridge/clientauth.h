/*
 * clientauth.h — who is calling /token, /introspect or /revoke.
 *
 * A client authenticates with HTTP Basic (client_id and secret each
 * form-urldecoded after the split, RFC 6749 §2.3.1) or with client_id and
 * client_secret in the body; using both at once is invalid_request (RFC
 * 6749 §2.3).  A client_id in the body next to Basic must name the same
 * client.  A public client sends its client_id alone, and only where the
 * endpoint allows public clients.
 *
 *	struct client_creds cr = { 0 };
 *	switch (clientauth_extract(authz_header, &params, &cr)) { … }
 *	c = clientauth_check(cfg, &cr, allow_public);   // NULL: invalid_client
 *	client_creds_free(&cr);
 *
 * The unknown-client, wrong-secret and missing-secret paths all hash a
 * secret (client_secret_ok with a NULL client does the same work), so
 * timing does not reveal which client ids exist.
 */
#ifndef IDBRIDGE_CLIENTAUTH_H
#define IDBRIDGE_CLIENTAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include "bridge.h"
#include "config.h"
#include "form.h"

struct http_request;

enum client_method { CLIENT_METHOD_NONE, CLIENT_METHOD_BASIC, CLIENT_METHOD_POST };

struct client_creds {
	enum client_method method;
	char *client_id;        /* NULL when no client identified itself */
	char *secret;           /* NULL when none was sent */
	size_t secret_len;
};

enum clientauth_extract {
	CLIENTAUTH_OK,
	CLIENTAUTH_MALFORMED,   /* bad Basic header, both methods, ids that differ: invalid_request */
	CLIENTAUTH_NOMEM,
};

/*
 * Collect the credentials from an Authorization header (may be NULL) and
 * the parameters.  Only a "Basic" authorization counts; another scheme is
 * ignored (a client may send unrelated bearer headers).
 */
enum clientauth_extract clientauth_extract(const char *authorization,
    const struct form *params, struct client_creds *out) IDB_WUR;
void client_creds_free(struct client_creds *cr);

/* The authenticated client (release with clients_release), or NULL. */
const struct client_cfg *clientauth_check(const struct config *cfg,
    const struct client_creds *cr, bool allow_public);

/*
 * The whole step for a handler: extract and check.  On failure it has
 * answered (400 invalid_request, or 401 invalid_client with
 * WWW-Authenticate: Basic realm="idbridge") and returns NULL.
 */
const struct client_cfg *clientauth_request(struct http_request *req,
    const struct form *params, bool allow_public);

/* Answer 401 invalid_client with the WWW-Authenticate header. */
void clientauth_respond_invalid(struct http_request *req, const char *description);

#endif
