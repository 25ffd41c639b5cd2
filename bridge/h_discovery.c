/*
 * h_discovery.c — GET /.well-known/oauth-authorization-server (RFC 8414),
 * and the same document at /.well-known/openid-configuration for clients
 * that only try that path.
 *
 * The document depends on the configuration alone, so it is serialised
 * once, on the first request, and served from memory afterwards.  Every URL
 * in it is the issuer plus a fixed path: never the request's Host header,
 * which behind a proxy (or from an attacker) can say anything.
 *
 * Not advertised, on purpose: `openid` (OpenID Connect is not built), a
 * registration_endpoint (no dynamic registration), and "none" for
 * introspection (only confidential clients with introspect = yes may call
 * it).
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http.h"
#include "util.h"
#include "log.h"
#include "server.h"

static pthread_mutex_t doc_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct config *doc_cfg;	/* what doc was built from */
static char *doc;
static size_t doc_len;

static json_t *
string_array(const char *const *items, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_string(items[i])) != 0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

#define ARRAY(...) string_array((const char *const[]){ __VA_ARGS__ }, \
	sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

static json_t *
scopes_supported(const struct config *cfg)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < cfg->n_scopes; i++)
		if (json_array_append_new(a, json_string(cfg->scopes[i].scope)) != 0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

/* The RFC 8414 metadata for cfg; NULL when out of memory. */
static json_t *
metadata(const struct config *cfg)
{
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
	    "s:o, s:o, s:o, s:o, s:b}",
	    "issuer", cfg->server.issuer,
	    "authorization_endpoint", json_issuer_url(cfg, "/authorize"),
	    "token_endpoint", json_issuer_url(cfg, "/token"),
	    "jwks_uri", json_issuer_url(cfg, "/jwks.json"),
	    "introspection_endpoint", json_issuer_url(cfg, "/introspect"),
	    "revocation_endpoint", json_issuer_url(cfg, "/revoke"),
	    "scopes_supported", scopes_supported(cfg),
	    "response_types_supported", ARRAY("code"),
	    "response_modes_supported", ARRAY("query"),
	    "grant_types_supported", ARRAY("authorization_code", "refresh_token"),
	    "code_challenge_methods_supported", ARRAY("S256"),
	    "token_endpoint_auth_methods_supported",
	    ARRAY("client_secret_basic", "client_secret_post", "none"),
	    "introspection_endpoint_auth_methods_supported",
	    ARRAY("client_secret_basic", "client_secret_post"),
	    "revocation_endpoint_auth_methods_supported",
	    ARRAY("client_secret_basic", "client_secret_post", "none"),
	    "authorization_response_iss_parameter_supported", 1);
}

/* Build the serialised document for cfg unless it is there; doc_lock held. */
static void
ensure_document(const struct config *cfg)
{
	json_t *j;

	if (doc != NULL && doc_cfg == cfg)
		return;
	free(doc);
	doc = NULL;
	if ((j = metadata(cfg)) != NULL) {
		doc = json_dumps(j, JSON_COMPACT);
		json_decref(j);
	}
	doc_cfg = doc != NULL ? cfg : NULL;
	doc_len = doc != NULL ? strlen(doc) : 0;
}

enum http_outcome
h_discovery(struct http_request *req)
{
	bool ok;

	pthread_mutex_lock(&doc_lock);
	ensure_document(http_server(req)->cfg);
	/* http_respond copies, under the lock: the cached text is never shared. */
	if ((ok = doc != NULL))
		http_respond(req, 200, "application/json", doc, doc_len);
	pthread_mutex_unlock(&doc_lock);
	if (!ok) {
		log_err("discovery: cannot build the metadata document (out of memory)");
		http_respond_error(req, 500, "server_error", NULL);
	}
	return HTTP_DONE;
}
