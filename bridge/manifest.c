/*
 * manifest.c — ai-plugin.json for a [plugin NAME] (PROTOCOLS.md).
 *
 * Only configuration goes in: the issuer for client_url and
 * authorization_url, the plugin's own keys for the rest, the [client]'s
 * scopes for oauth.  A request's Host header never reaches this file.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "util.h"

/* The [client]'s scopes, space-joined ("" when it has none). */
static json_t *
client_scope(const struct config *cfg, const char *client_id)
{
	const struct client_cfg *c = NULL;
	size_t len = 0;
	char *s;
	json_t *j;

	for (size_t i = 0; i < cfg->n_clients && c == NULL; i++)
		if (strcmp(cfg->clients[i].id, client_id) == 0)
			c = &cfg->clients[i];
	if (c == NULL)
		return json_string("");
	for (size_t i = 0; i < c->scopes.n; i++)
		len += strlen(c->scopes.items[i]) + 1;
	if ((s = calloc(1, len + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < c->scopes.n; i++) {
		if (i > 0)
			strcat(s, " ");
		strcat(s, c->scopes.items[i]);
	}
	j = json_string(s);
	free(s);
	return j;
}

/* {"openai": token}, or NULL (no key) until the token is configured. */
static json_t *
verification_tokens(const struct plugin_cfg *p)
{
	if (p->verification_token == NULL)
		return NULL;
	return json_pack("{s:s}", "openai", p->verification_token);
}

static json_t *
auth_object(const struct config *cfg, const struct plugin_cfg *p)
{
	json_t *a = NULL, *vt;

	switch (p->auth) {
	case PLUGIN_AUTH_NONE:
		return json_pack("{s:s}", "type", "none");
	case PLUGIN_AUTH_USER_HTTP:
		return json_pack("{s:s, s:s}", "type", "user_http",
		    "authorization_type", "bearer");
	case PLUGIN_AUTH_SERVICE_HTTP:
		a = json_pack("{s:s, s:s}", "type", "service_http",
		    "authorization_type", "bearer");
		break;
	case PLUGIN_AUTH_OAUTH:
		if (p->client == NULL)
			return NULL;
		a = json_pack("{s:s, s:o, s:o, s:o, s:s}", "type", "oauth",
		    "client_url", json_issuer_url(cfg, "/authorize"),
		    "scope", client_scope(cfg, p->client),
		    "authorization_url", json_issuer_url(cfg, "/token"),
		    "authorization_content_type",
		    p->content_type == PLUGIN_CT_FORM ?
		    "application/x-www-form-urlencoded" : "application/json");
		break;
	}
	if (a != NULL && p->verification_token != NULL) {
		if ((vt = verification_tokens(p)) == NULL ||
		    json_object_set_new(a, "verification_tokens", vt) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

json_t *
manifest_build(const struct config *cfg, const struct plugin_cfg *p,
    enum manifest_error *err_r)
{
	json_t *m;

	if (!p->has_manifest) {
		*err_r = MANIFEST_NONE;
		return NULL;
	}
	m = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, "
	    "s:{s:s, s:s, s:b}, s:s, s:s, s:s}",
	    "schema_version", "v1",
	    "name_for_human", p->name_for_human,
	    "name_for_model", p->name_for_model,
	    "description_for_human", p->description_for_human,
	    "description_for_model", p->description_for_model,
	    "auth", auth_object(cfg, p),
	    "api", "type", "openapi", "url", p->api_url,
	    "is_user_authenticated", 0,
	    "logo_url", p->logo_url,
	    "contact_email", p->contact_email,
	    "legal_info_url", p->legal_info_url);
	*err_r = m != NULL ? MANIFEST_OK : MANIFEST_NOMEM;
	return m;
}

char *
manifest_dump(const struct config *cfg, const char *name,
    enum manifest_error *err_r)
{
	const struct plugin_cfg *p = config_plugin_by_name(cfg, name);
	json_t *m;
	char *text;

	if (p == NULL) {
		*err_r = MANIFEST_NO_PLUGIN;
		return NULL;
	}
	if ((m = manifest_build(cfg, p, err_r)) == NULL)
		return NULL;
	text = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(m);
	if (text == NULL) {
		*err_r = MANIFEST_NOMEM;
		return NULL;
	}
	*err_r = MANIFEST_OK;
	return text;
}

const char *
manifest_strerror(enum manifest_error err)
{
	switch (err) {
	case MANIFEST_OK:
		return "ok";
	case MANIFEST_NO_PLUGIN:
		return "no such [plugin]";
	case MANIFEST_NONE:
		return "the plugin has no manifest (no name_for_human, "
		    "description_for_model, … in its [plugin] section)";
	case MANIFEST_NOMEM:
		break;
	}
	return "out of memory";
}
