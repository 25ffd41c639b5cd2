/*
 * h_verify.c — GET /verify: forward authentication for plugin APIs (nginx
 * auth_request, Traefik ForwardAuth, Envoy ext_authz HTTP).
 *
 * The credential comes only from "Authorization: Bearer …"; a token in the
 * query string (access_token=) is refused with 400, never read, so it is
 * not taught to clients whose URLs end up in logs.  Answers (RFC 6750 §3):
 *   no Bearer credentials        401, WWW-Authenticate: Bearer realm="idbridge"
 *   bad, expired, revoked token  401, … error="invalid_token"
 *   a ?scope= value not granted  403, … error="insufficient_scope", scope="…"
 *   bad query, unknown ?plugin=  400 invalid_request (a proxy misconfiguration:
 *                                nginx turns it into a 500, so it fails closed)
 *   the store does not answer    503 with Retry-After
 *   valid                        200 with the X-Idbridge-* headers below
 *
 * ?plugin=NAME accepts only JWTs whose aud is that plugin's audience (the
 * audience its client's tokens carry: [plugin] audience, else the
 * issuer); a plugin that is not auth = oauth accepts no JWT at all.
 * Without ?plugin, any valid idbridge JWT (for a proxy that protects
 * something that is not a plugin).
 *
 * Headers on 200, each a comma-separated list whose items are
 * percent-encoded (everything but [A-Za-z0-9-._~:@/]), so a value never
 * holds a comma, a space or a control character of its own:
 *   X-Idbridge-User    the token's sub: the user's immutable directory id
 *                      (the JWT carries no login name today)
 *   X-Idbridge-Scopes  the granted scopes
 *   X-Idbridge-Groups  the groups claim ([scopes]-named groups only)
 *   X-Idbridge-Client  the client_id the token was issued to
 *
 * Results are cached by token hash (verifycache.h): a repeated call does
 * no signature work and no store read, and still sees a revocation made
 * anywhere within about a second.
 *
 * API keys (idb_…) go to verify_apikey.c before anything else; a plugin's
 * service secrets are recognised in service_credential() before the JWT
 * path.
 *
 * Service secrets (service_http): a Bearer value with no '.' (so not a
 * JWT) and not idb_… is hashed (SHA-256) and compared in constant time
 * with every service_secret hash of the plugin ?plugin= names, else of
 * every service_http plugin; two hashes per plugin may be valid at once
 * while rotating.  It is not cached: one hash and a few comparisons cost
 * less than a cache lookup's locking.  On 200, X-Idbridge-Client is the
 * plugin's name and X-Idbridge-User, -Scopes and -Groups are empty (so
 * left out by libmicrohttpd; nginx's auth_request_set then yields ""): no
 * person called, and a plugin name in X-Idbridge-User could be taken for
 * a directory id.  A service secret grants no scope, so any ?scope= is
 * refused with 403 insufficient_scope.
 */
#include "autoconfig.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "config.h"
#include "http.h"
#include "oauth.h"
#include "scopes.h"
#include "server.h"
#include "token.h"
#include "util.h"
#include "verifycache.h"
#include "verify_jwt.h"
#include "apikey.h"
#include "verify_apikey.h"

#define REALM "Bearer realm=\"idbridge\""

/* Why a request was refused, and how. */
enum verdict {
	V_OK,
	V_INVALID_TOKEN,
	V_INSUFFICIENT_SCOPE,
	V_UNAVAILABLE,
};

static void
respond_401(struct http_request *req, bool invalid)
{
	if (!invalid) {
		http_respond_error(req, 401, "unauthorized", "Bearer credentials are required");
		/* RFC 6750 §3.1: no error code when the request carried no credentials. */
		http_add_header(req, "WWW-Authenticate", REALM);
		return;
	}
	http_respond_error(req, 401, "invalid_token",
	    "the access token is invalid, expired or revoked");
	http_add_header(req, "WWW-Authenticate", REALM ", error=\"invalid_token\"");
}

/* 403 naming the scopes required (scope tokens hold no '"' or '\', RFC 6749 §3.3). */
static void
respond_403(struct http_request *req, const struct strlist *want)
{
	char *h = NULL, *scope = strlist_join(want, " ");

	http_respond_error(req, 403, "insufficient_scope",
	    "the access token does not grant the required scope");
	if (scope == NULL ||
	    asprintf(&h, REALM ", error=\"insufficient_scope\", scope=\"%s\"", scope) < 0)
		h = NULL;
	http_add_header(req, "WWW-Authenticate", h != NULL ? h : REALM ", error=\"insufficient_scope\"");
	free(h);
	free(scope);
}

/* The token of "Authorization: Bearer TOKEN", NULL when there is no Bearer header. */
static const char *
bearer_token(struct http_request *req)
{
	const char *h = http_header(req, "Authorization");

	if (h == NULL || strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\0'))
		return NULL;
	h += 6;
	h += strspn(h, " ");
	return h;
}

/* 200 with the result's X-Idbridge-* values, made when the result was (verifycache.h). */
static void
respond_ok(struct http_request *req, const struct verify_result *r)
{
	/* No body, so no Content-Type: every header is work on every call. */
	http_respond(req, 200, NULL, "", 0);
	/* An empty value is left out (nginx's auth_request_set then yields ""). */
	http_add_header(req, "X-Idbridge-User", r->hdr_user);
	http_add_header(req, "X-Idbridge-Scopes", r->hdr_scopes);
	http_add_header(req, "X-Idbridge-Groups", r->hdr_groups);
	http_add_header(req, "X-Idbridge-Client", r->hdr_client);
}

/* A result for plugin p's service secret: its name as client, no user, no scope. */
static struct verify_result *
service_result(const struct plugin_cfg *p)
{
	struct verify_result *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	atomic_init(&r->refs, 1);
	if ((r->sub = strdup("")) == NULL || (r->client_id = strdup(p->name)) == NULL ||
	    (r->scope = strdup("")) == NULL || (r->jti = strdup("")) == NULL ||
	    verify_result_finish(r) != 0) {
		verify_result_release(r);
		return NULL;
	}
	return r;
}

/*
 * token as a service secret of plugin (NULL: of any service_http plugin).
 * Every configured hash is compared whether or not one matched, so the
 * time taken depends on the configuration only, never on the token.
 */
static enum verdict
check_service_secret(const struct config *cfg, const char *token,
    const struct plugin_cfg *plugin, struct verify_result **r_r)
{
	unsigned char hash[IDB_SHA256_LEN];
	const struct plugin_cfg *match = NULL;
	enum verdict v = V_INVALID_TOKEN;

	*r_r = NULL;
	if (strlen(token) > IDB_MAX_JWT_LEN || token_hash(token, strlen(token), hash) != 0)
		goto out;
	for (size_t i = 0; i < cfg->n_plugins; i++) {
		const struct plugin_cfg *p = &cfg->plugins[i];

		if ((plugin != NULL && p != plugin) || p->auth != PLUGIN_AUTH_SERVICE_HTTP)
			continue;
		for (size_t j = 0; j < p->n_service_secrets; j++) {
			bool same = CRYPTO_memcmp(hash, p->service_secret_hash[j],
			    IDB_SHA256_LEN) == 0;

			if (same && match == NULL)
				match = p;
		}
	}
	if (match == NULL)
		goto out;
	v = (*r_r = service_result(match)) != NULL ? V_OK : V_UNAVAILABLE;
out:
	explicit_bzero(hash, sizeof(hash));
	return v;
}

/*
 * A plugin's service secret (service_http): any token without a '.'
 * (API keys were routed to verify_apikey.c before).  true when token is
 * of that kind; then *v_r says what became of it and, when V_OK, *r_r
 * holds its result (one reference).  Scopes are checked by the caller.
 */
static bool
service_credential(struct server *srv, const char *token, const struct plugin_cfg *plugin,
    struct verify_result **r_r, enum verdict *v_r)
{
	if (strchr(token, '.') == NULL) {       /* a compact JWT has two */
		*v_r = check_service_secret(srv->cfg, token, plugin, r_r);
		return true;
	}
	return false;
}

/* The JWT's result in *r_r, as a verdict. */
static enum verdict
check_jwt(struct server *srv, const char *token, struct verify_result **r_r)
{
	switch (verify_jwt(srv, token, false, NULL, r_r)) {
	case VERIFY_JWT_OK:
		return V_OK;
	case VERIFY_JWT_UNAVAILABLE:
		return V_UNAVAILABLE;
	default:
		return V_INVALID_TOKEN;
	}
}

/* The audience ?plugin=name demands in *aud_r (NULL: no JWT is accepted).  false: unknown. */
static bool
plugin_audience(const struct config *cfg, const char *name, const struct plugin_cfg **p_r,
    const char **aud_r)
{
	*p_r = NULL;
	*aud_r = NULL;
	for (size_t i = 0; i < cfg->n_plugins; i++) {
		const struct plugin_cfg *p = &cfg->plugins[i];

		if (strcmp(p->name, name) != 0)
			continue;
		*p_r = p;
		/* The aud its client's tokens carry (client_audience). */
		if (p->auth == PLUGIN_AUTH_OAUTH)
			*aud_r = p->audience != NULL ? p->audience : cfg->server.issuer;
		return true;
	}
	return false;
}

enum http_outcome
h_verify(struct http_request *req)
{
	struct server *srv = http_server(req);
	const struct form *q = NULL;
	const struct plugin_cfg *plugin = NULL;
	const char *token, *plugin_name, *audience = NULL;
	struct strlist want = { 0 };
	struct verify_result *r = NULL;
	enum verdict v;

	if (http_query(req, &q) != FORM_OK) {
		http_respond_error(req, 400, "invalid_request", "malformed query string");
		goto out;
	}
	if (form_get(q, "access_token") != NULL) {
		http_respond_error(req, 400, "invalid_request",
		    "tokens are accepted only in the Authorization header");
		goto out;
	}
	if (scope_parse(form_get(q, "scope"), &want) != SCOPE_OK) {
		http_respond_error(req, 400, "invalid_request", "malformed scope");
		goto out;
	}
	if ((plugin_name = form_get(q, "plugin")) != NULL &&
	    !plugin_audience(srv->cfg, plugin_name, &plugin, &audience)) {
		http_respond_error(req, 400, "invalid_request", "unknown plugin");
		goto out;
	}
	if ((token = bearer_token(req)) == NULL) {
		respond_401(req, false);
		goto out;
	}
	/* API keys may wait for the directory: verify_apikey.c answers them itself. */
	if (apikey_looks_like(token)) {
		enum http_outcome o = verify_apikey(req, token, &want, plugin);

		strlist_free(&want);
		return o;
	}
	if (!service_credential(srv, token, plugin, &r, &v)) {
		v = check_jwt(srv, token, &r);
		if (v == V_OK && plugin != NULL &&
		    (audience == NULL || !verify_result_has_aud(r, audience)))
			v = V_INVALID_TOKEN;
	}
	if (v == V_OK && !verify_result_has_scopes(r, want.items, want.n))
		v = V_INSUFFICIENT_SCOPE;
	switch (v) {
	case V_OK:
		respond_ok(req, r);
		break;
	case V_INVALID_TOKEN:
		respond_401(req, true);
		break;
	case V_INSUFFICIENT_SCOPE:
		respond_403(req, &want);
		break;
	case V_UNAVAILABLE:
		http_respond_error(req, 503, "temporarily_unavailable", "the store does not answer");
		http_add_header(req, "Retry-After", "5");
		break;
	}
out:
	verify_result_release(r);
	strlist_free(&want);
	return HTTP_DONE;
}

/* The answers verify_apikey.c shares (verify_apikey.h). */
void
verify_respond_ok(struct http_request *req, const struct verify_result *r)
{
	respond_ok(req, r);
}

void
verify_respond_invalid(struct http_request *req)
{
	respond_401(req, true);
}

void
verify_respond_scope(struct http_request *req, const struct strlist *want)
{
	respond_403(req, want);
}
