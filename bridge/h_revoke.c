/*
 * h_revoke.c — POST /revoke (RFC 7009).
 *
 * The calling client may revoke only its own tokens.  A refresh token
 * revokes its whole family; an access token (client_id claim = the
 * caller) revokes the family that issued it — with it every refresh and
 * access token of that grant, which /introspect then reports inactive.
 * Anything else (unknown, another client's, expired) is 200 with no
 * effect, as RFC 7009 §2.2 asks.  token_type_hint is only a hint: both
 * kinds are tried.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "clientauth.h"
#include "clients.h"
#include "http.h"
#include "log.h"
#include "params.h"
#include "server.h"
#include "store_oauth.h"
#include "token.h"

/* The family of a refresh token of client, or NULL. */
static char *
refresh_family(struct server *srv, const char *token, const char *client, char **user_r)
{
	unsigned char hash[STORE_HASH_LEN];
	struct store_grant g = { 0 };
	char *family = NULL;

	if (token_hash(token, strlen(token), hash) != 0)
		return NULL;
	switch (store_refresh_peek(srv->store, hash, client, time(NULL), &g)) {
	case STORE_OK:
	case STORE_REPLAY:    /* a rotated token still names its family */
	case STORE_EXPIRED:
		if (g.family_id != NULL) {
			family = g.family_id;
			g.family_id = NULL;
			*user_r = g.username;
			g.username = NULL;
		}
		break;
	default:
		break;
	}
	store_grant_free(&g);
	explicit_bzero(hash, sizeof(hash));
	return family;
}

/* The family of an access token of client, or NULL. */
static char *
access_family(struct server *srv, const char *token, const char *client)
{
	struct jwt_expect want = { .now = time(NULL), .issuer = srv->cfg->server.issuer };
	json_t *claims = NULL;
	const char *jti, *cid;
	char *family = NULL;

	if (strchr(token, '.') == NULL || jwt_verify(srv->keys, token, &want, &claims) != JWT_OK)
		goto out;
	jti = json_string_value(json_object_get(claims, "jti"));
	cid = json_string_value(json_object_get(claims, "client_id"));
	if (jti == NULL || cid == NULL || strcmp(cid, client) != 0)
		goto out;
	if (store_access_family(srv->store, jti, &family) != STORE_OK)
		family = NULL;
out:
	json_decref(claims);
	return family;
}

enum http_outcome
h_revoke(struct http_request *req)
{
	struct server *srv = http_server(req);
	struct form params = { 0 };
	const struct client_cfg *c = NULL;
	const char *token;
	char *family = NULL, *user = NULL;
	const char *why;

	if ((why = params_from_request(req, &params)) != NULL) {
		http_respond_error(req, 400, "invalid_request", why);
		goto out;
	}
	if ((c = clientauth_request(req, &params, true)) == NULL)
		goto out;
	if ((token = form_get(&params, "token")) == NULL) {
		http_respond_error(req, 400, "invalid_request", "token is required");
		goto out;
	}
	if ((family = refresh_family(srv, token, c->id, &user)) == NULL)
		family = access_family(srv, token, c->id);
	if (family != NULL) {
		if (store_family_revoke(srv->store, family, time(NULL)) != STORE_OK) {
			http_respond_error(req, 503, "temporarily_unavailable",
			    "the store does not answer");
			http_add_header(req, "Retry-After", "5");
			goto out;
		}
		audit_token("revoke", user, c->id, "ok", http_client_addr(req));
	}
	http_respond(req, 200, "application/json", "{}", 2);
out:
	free(family);
	free(user);
	clients_release(c);
	form_free(&params);
	return HTTP_DONE;
}
