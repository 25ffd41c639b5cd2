/*
 * h_jwks.c — GET /jwks.json: the public signing keys.
 *
 * The body is built once per key-set change (keys.c keeps it in the
 * snapshot), so a request costs a reference count and a copy: no store
 * read, no JSON.  It is the one response that may be cached, for
 * IDB_JWKS_MAX_AGE_S — which is why a rotated key signs only after that
 * long: every cache holds it by then.
 */
#include "autoconfig.h"

#include <stdio.h>

#include "http.h"
#include "keys.h"
#include "server.h"

enum http_outcome
h_jwks(struct http_request *req)
{
	const struct keyset *ks = keys_acquire(http_server(req)->keys);
	char cache[64];
	size_t len;
	const char *body = keyset_jwks(ks, &len);

	http_respond(req, 200, "application/json", body, len);
	keyset_release(ks);
	snprintf(cache, sizeof(cache), "public, max-age=%d", IDB_JWKS_MAX_AGE_S);
	http_replace_header(req, "Cache-Control", cache);
	return HTTP_DONE;
}
