/*
 * session.h — browser cookies and CSRF tokens for the sign-in flow.
 *
 * Two cookies, both HttpOnly and SameSite=Lax, both a random 256-bit value
 * whose SHA-256 names a row in the store (store_oauth.h):
 *   the pre-auth cookie  — the validated /authorize request, before sign-in;
 *   the session cookie   — a signed-in employee.
 * When the issuer is https they carry Secure and the __Host- prefix, so a
 * sibling subdomain cannot set or overwrite them.
 *
 * The CSRF token of a form is derived from the cookie it belongs to
 * (SHA-256 over a label and the cookie value): a cross-site page can read
 * neither, nothing extra is stored, and a new cookie invalidates old forms.
 */
#ifndef IDBRIDGE_SESSION_H
#define IDBRIDGE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include "bridge.h"

struct config;

/* A cookie value: 32 random bytes, base64url without padding. */
#define SESSION_TOKEN_LEN 43
#define SESSION_HASH_LEN 32

enum session_cookie { COOKIE_SESSION, COOKIE_PREAUTH };

/* The cookie's name for this issuer ("__Host-idb_session" or "idb_session"). */
const char *session_cookie_name(const struct config *cfg, enum session_cookie which);

/* A new random cookie value into out (SESSION_TOKEN_LEN + 1 bytes). 0 or -1. */
int session_new_token(char *out, size_t size) IDB_WUR;

/* SHA-256 of a cookie value: the key of its store row. */
void session_hash(const char *token, unsigned char *hash_r);

/*
 * The Set-Cookie value for name=value with max_age seconds (0: delete).
 * Returns a malloc'd string or NULL.
 */
char *session_set_cookie(const struct config *cfg, enum session_cookie which,
    const char *value, long max_age);

/*
 * Find our cookie in a Cookie header.  Returns true and copies the value
 * into out only when it appears exactly once and is well-formed (43
 * base64url characters): a duplicate (cookie tossing) or a malformed value
 * is treated as absent.
 */
bool session_cookie_from_header(const struct config *cfg, enum session_cookie which,
    const char *header, char *out, size_t size);

/* The CSRF token for forms tied to cookie value token (SESSION_TOKEN_LEN + 1 bytes). */
void session_csrf_for(const char *token, char *out, size_t size);
/* Does csrf match the cookie value token?  Constant time. */
bool session_csrf_ok(const char *token, const char *csrf);

#endif
