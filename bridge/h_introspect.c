/*
 * h_introspect.c — POST /introspect (RFC 7662).
 *
 * Only clients with introspect = yes may ask (a plugin API's own
 * credentials); any other client gets 401 invalid_client, so an OAuth
 * client cannot read other people's tokens.  Only access tokens are
 * introspected: a refresh token is a credential for the token endpoint
 * alone and is always reported {"active":false}.  An access token is
 * active when its signature, typ, iss and exp verify and its family has
 * not been revoked (a token the store never recorded is inactive too).
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clientauth.h"
#include "clients.h"
#include "http.h"
#include "params.h"
#include "server.h"
#include "store_oauth.h"
#include "token.h"

static void
respond_inactive(struct http_request *req)
{
	http_respond_json(req, 200, json_pack("{s:b}", "active", 0));
}

/* Copy the claims a resource server needs (RFC 7662 §2.2). */
static json_t *
active_answer(json_t *claims)
{
	static const char *const keep[] = {
		"scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", "groups",
	};
	json_t *a = json_pack("{s:b,s:s}", "active", 1, "token_type", "Bearer");

	for (size_t i = 0; a != NULL && i < sizeof(keep) / sizeof(keep[0]); i++) {
		json_t *v = json_object_get(claims, keep[i]);

		if (v != NULL)
			json_object_set(a, keep[i], v);
	}
	return a;
}

enum http_outcome
h_introspect(struct http_request *req)
{
	struct server *srv = http_server(req);
	struct form params = { 0 };
	const struct client_cfg *c = NULL;
	struct jwt_expect want = { .now = time(NULL), .issuer = srv->cfg->server.issuer };
	json_t *claims = NULL;
	const char *token, *jti;
	const char *why;

	if ((why = params_from_request(req, &params)) != NULL) {
		http_respond_error(req, 400, "invalid_request", why);
		goto out;
	}
	if ((c = clientauth_request(req, &params, false)) == NULL)
		goto out;
	if (!c->introspect) {
		clientauth_respond_invalid(req, "this client may not introspect tokens");
		goto out;
	}
	if ((token = form_get(&params, "token")) == NULL) {
		http_respond_error(req, 400, "invalid_request", "token is required");
		goto out;
	}
	if (jwt_verify(srv->keys, token, &want, &claims) != JWT_OK ||
	    (jti = json_string_value(json_object_get(claims, "jti"))) == NULL) {
		respond_inactive(req);
		goto out;
	}
	switch (store_access_check(srv->store, jti)) {
	case STORE_OK:
		http_respond_json(req, 200, active_answer(claims));
		break;
	case STORE_ERROR:
		http_respond_error(req, 503, "temporarily_unavailable", "the store does not answer");
		http_add_header(req, "Retry-After", "5");
		break;
	default:
		respond_inactive(req);
		break;
	}
out:
	json_decref(claims);
	clients_release(c);
	form_free(&params);
	return HTTP_DONE;
}
