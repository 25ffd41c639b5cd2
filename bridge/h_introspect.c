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
 *
 * Answers are cached by the token's hash with /verify's results
 * (verify_jwt.h): a repeated call costs the client's secret check and two
 * SHA-256, no signature work, no store read and no JSON building, and a
 * revocation counts as it does at /verify (within about a second; at once
 * when this process made it).
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "clientauth.h"
#include "clients.h"
#include "http.h"
#include "params.h"
#include "server.h"
#include "store_oauth.h"
#include "verify_jwt.h"
#include "verifycache.h"

static void
respond_inactive(struct http_request *req)
{
	static const char inactive[] = "{\"active\":false}";

	http_respond(req, 200, "application/json", inactive, sizeof(inactive) - 1);
}

static void
respond_unavailable(struct http_request *req)
{
	http_respond_error(req, 503, "temporarily_unavailable", "the store does not answer");
	http_add_header(req, "Retry-After", "5");
}

/* A token over the cache's limits (verify_jwt.h): the store is asked every time. */
static void
answer_uncached(struct http_request *req, json_t *claims)
{
	const char *jti = json_string_value(json_object_get(claims, "jti"));

	if (jti == NULL) {
		respond_inactive(req);
		return;
	}
	switch (store_access_check(http_server(req)->store, jti)) {
	case STORE_OK:
		http_respond_json(req, 200, verify_introspection_answer(claims));
		break;
	case STORE_ERROR:
		respond_unavailable(req);
		break;
	default:
		respond_inactive(req);
		break;
	}
}

enum http_outcome
h_introspect(struct http_request *req)
{
	struct server *srv = http_server(req);
	struct form params = { 0 };
	const struct client_cfg *c = NULL;
	struct verify_result *r = NULL;
	json_t *claims = NULL;
	const char *token;
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
	/* Cached by the token's hash with /verify's results, the answer prepared. */
	switch (verify_jwt(srv, token, true, &claims, &r)) {
	case VERIFY_JWT_OK:
		http_respond(req, 200, "application/json", r->introspection, r->introspection_len);
		break;
	case VERIFY_JWT_UNCACHED:
		answer_uncached(req, claims);
		break;
	case VERIFY_JWT_UNAVAILABLE:
		respond_unavailable(req);
		break;
	case VERIFY_JWT_INVALID:
		respond_inactive(req);
		break;
	}
out:
	verify_result_release(r);
	json_decref(claims);
	clients_release(c);
	form_free(&params);
	return HTTP_DONE;
}
