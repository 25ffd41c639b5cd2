/*
 * oauth.h — OAuth 2.0 rules that do not depend on HTTP: PKCE and scopes.
 *
 * The endpoints (h_authorize.c, h_token.c) call these; keeping them here
 * lets the rules be tested exhaustively without a server.
 */
#ifndef IDBRIDGE_OAUTH_H
#define IDBRIDGE_OAUTH_H

#include <stdbool.h>
#include "bridge.h"
#include "config.h"   /* struct strlist */

#define PKCE_VERIFIER_MIN 43
#define PKCE_VERIFIER_MAX 128
#define PKCE_CHALLENGE_LEN 43   /* base64url(SHA-256), no padding */
#define OAUTH_MAX_SCOPES 32     /* scope values in one request */
#define OAUTH_MAX_SCOPE_LEN 128 /* one scope value */

/* RFC 7636 §4.1: 43–128 characters of [A-Za-z0-9-._~]. */
bool pkce_verifier_ok(const char *verifier);
/* A code_challenge for S256: exactly 43 base64url characters. */
bool pkce_challenge_ok(const char *challenge);
/* Does BASE64URL(SHA-256(verifier)) equal challenge?  Constant time. */
bool pkce_s256_matches(const char *verifier, const char *challenge);

enum scope_parse {
	SCOPE_OK,
	SCOPE_BAD_SYNTAX,    /* a character outside RFC 6749 §3.3's scope-token */
	SCOPE_TOO_MANY,
	SCOPE_TOO_LONG,
	SCOPE_NOMEM,
};

/*
 * Split a space-separated scope parameter into out (empty first),
 * refusing bad syntax; duplicates are kept once.  NULL or "" gives an
 * empty list.
 */
enum scope_parse scope_parse(const char *param, struct strlist *out) IDB_WUR;

/*
 * The scopes to grant: requested ∩ client ∩ allowed, in the client's
 * order.  An empty request means every client scope the user is allowed.
 * A requested scope the client may not have makes *unknown_r true (the
 * endpoint answers invalid_scope); it is never granted.  0 or -1 (ENOMEM).
 */
int scope_grant(const struct strlist *requested, const struct strlist *client_scopes,
    const struct strlist *allowed, struct strlist *out, bool *unknown_r) IDB_WUR;

#endif
