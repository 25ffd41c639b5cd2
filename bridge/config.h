/*
 * config.h — the parsed idbridge.conf.
 *
 * config_load() reads the whole file (inih through a line-counting reader),
 * checks every key, value and cross-key rule, reads *_file secrets and
 * returns either a complete struct config or a list of problems, each
 * "FILE:LINE: message".  Nothing else in the daemon parses the file, and no
 * code downstream needs to re-validate what is here.
 *
 * Ownership: the struct owns every string; config_free() wipes secrets.
 */
#ifndef IDBRIDGE_CONFIG_H
#define IDBRIDGE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "bridge.h"

/* A list of strings (space-separated values, or a key given several times). */
struct strlist {
	char **items;
	size_t n;
};

struct client_set;

struct config_server {
	char *issuer;           /* required; https://, or http:// on loopback only */
	char *listen;           /* "127.0.0.1:8080", "[::1]:8080"; default 127.0.0.1:8080 */
	char *listen_host;      /* parsed from listen: "127.0.0.1", "::1" */
	unsigned short listen_port; /* 0 = pick a free port (tests) */
	unsigned threads;       /* 0 = one per core */
	char *state_dir;        /* default /var/lib/idbridge */
	char *templates;        /* default DATADIR/idbridge/templates */
	char *user;             /* drop to this user when started as root (default: none) */
	bool allow_root;        /* run as root without dropping (default no) */
	unsigned auth_workers;  /* default IDB_DEFAULT_AUTH_WORKERS */
	struct strlist trusted_proxies; /* addresses whose X-Forwarded-For is believed */
};

enum store_driver { STORE_SQLITE, STORE_POSTGRES };

struct config_store {
	enum store_driver driver; /* default sqlite */
	char *path;             /* default STATE_DIR/idbridge.db */
	char *dsn;              /* postgres (not supported yet) */
};

struct config_auth {
	char *backend;          /* "ldap" (default) or "pam"; checked against the registry */
	unsigned username_max_length; /* default IDB_DEFAULT_USERNAME_LEN */
	char *username_chars;   /* allowed besides ASCII letters and digits; default "._-@" */
};

enum ldap_nested { LDAP_NESTED_NO, LDAP_NESTED_YES, LDAP_NESTED_AD };

struct config_ldap {
	bool present;           /* the [ldap] section exists */
	struct strlist uris;    /* ldap:// or ldaps://, tried in order */
	bool starttls;
	char *ca_file;
	unsigned timeout;       /* seconds, connect and each operation; default 5 */
	unsigned pool;          /* pooled service connections; default 8 */
	char *bind_dn;          /* service account; NULL = anonymous search */
	char *bind_password;    /* from bind_password or bind_password_file */
	size_t bind_password_len;
	char *user_base;        /* required */
	char *user_filter;      /* default (&(objectClass=inetOrgPerson)(uid=%u)) */
	char *group_base;       /* required with group_filter */
	char *group_filter;     /* %u = user name, %d = user DN (both escaped); with neither
	                           this nor group_attribute the identity has no groups (warned) */
	char *group_attribute;  /* e.g. memberOf: groups read from the user entry */
	char *group_name_attribute; /* default cn */
	enum ldap_nested nested_groups; /* default no */
	unsigned nested_depth;  /* default 8, at most IDB_MAX_NESTED_DEPTH */
	char *id_attribute;     /* default entryUUID */
	char *name_attribute;   /* display name; default displayName (falls back to cn) */
	char *mail_attribute;   /* default mail */
	char *disabled_filter;  /* optional; an entry matching it is DISABLED */
};

struct config_pam {
	bool present;
	char *service;          /* default idbridge */
	unsigned workers;       /* broker worker processes; default IDB_BROKER_DEFAULT_WORKERS */
};

/* One [scopes] line: scope = group names, group DNs, user:NAME or "*". */
struct scope_rule {
	char *scope;
	struct strlist members;
	unsigned line;          /* for messages */
};

enum signing_alg { SIGNING_RS256, SIGNING_ES256, SIGNING_EDDSA };
enum groups_claim { GROUPS_CLAIM_MAPPED, GROUPS_CLAIM_NONE, GROUPS_CLAIM_ALL };

/* [tokens]: lifetimes in seconds. */
struct config_tokens {
	unsigned access_ttl;    /* default 900 (60..86400) */
	unsigned refresh_ttl;   /* default 2592000 */
	unsigned code_ttl;      /* default 60, at most 600 */
	enum signing_alg signing_alg; /* default RS256 */
	unsigned directory_cache_ttl; /* default 300; 0 = look groups up every time */
	unsigned refresh_max_ttl; /* default 7776000; >= refresh_ttl */
	enum groups_claim groups_claim; /* default mapped: only groups [scopes] names */
};

/* [apikeys]: the per-employee API keys of user_http plugins. */
struct config_apikeys {
	unsigned max_per_user;  /* live keys one employee may hold; default 20 */
	unsigned max_lifetime;  /* seconds; default one year; 0 = keys may never expire */
	unsigned last_used_interval;    /* seconds between batched last-use writes; default 30 */
};

/*
 * One [client NAME] section, or a client kept in the store.  Look clients
 * up through clients.h, not through this array: it finds stored clients too.
 */
struct client_cfg {
	char *id;               /* NAME: the client_id */
	char *name;             /* display name (login and consent pages) */
	unsigned char secret_hash[IDB_MAX_CLIENT_SECRETS][IDB_SHA256_LEN];
	size_t n_secrets;       /* 0 for a public client, else 1 or 2 */
	struct strlist redirect_uris; /* exact strings, checked at load */
	struct strlist scopes;  /* each one a [scopes] name */
	bool pkce_required;     /* default yes; always yes for a public client */
	bool is_public;         /* no secret (public = yes) */
	bool consent_skip;      /* consent = skip (first-party) */
	bool introspect;        /* may call /introspect */
	unsigned line;          /* of its [client NAME] header; 0 for a stored client */
	struct client_set *set; /* a stored client: the snapshot holding it (clients.c);
	                           NULL for a [client] section */
};

enum plugin_auth {
	PLUGIN_AUTH_NONE,
	PLUGIN_AUTH_SERVICE_HTTP,
	PLUGIN_AUTH_USER_HTTP,
	PLUGIN_AUTH_OAUTH,
};

enum plugin_content_type {
	PLUGIN_CT_JSON,         /* application/json (default) */
	PLUGIN_CT_FORM,         /* application/x-www-form-urlencoded */
};

/*
 * One [plugin NAME] section.  A plugin with any manifest key (the names,
 * descriptions, logo_url, contact_email, legal_info_url) has a manifest and
 * then every manifest field is required; a plugin without one is only an
 * audience and a set of service secrets for /verify (has_manifest false).
 */
struct plugin_cfg {
	char *name;             /* NAME: letters, digits, '.', '_', '-' */
	enum plugin_auth auth;  /* required */
	char *client;           /* auth = oauth: the client_id of its [client] */
	char *audience;         /* aud of its tokens: as given, else api_url's
	                           origin; NULL when neither is given */
	char *api_url;          /* absolute URL, or NULL */
	unsigned line;          /* of its [plugin NAME] header */
	bool has_manifest;      /* all the manifest fields below are set */
	char *name_for_human;   /* ≤ IDB_MAX_MANIFEST_NAME_HUMAN characters */
	char *name_for_model;   /* letters, digits, '_' */
	char *description_for_human;
	char *description_for_model;
	char *logo_url;         /* https, or http on loopback */
	char *contact_email;
	char *legal_info_url;
	char *verification_token; /* service_http, oauth: printable; NULL until
	                           pasted from the ChatGPT UI (warned) */
	enum plugin_content_type content_type; /* oauth only */
	/* service_http: SHA-256 of each valid secret (two while rotating). */
	unsigned char service_secret_hash[IDB_MAX_CLIENT_SECRETS][IDB_SHA256_LEN];
	size_t n_service_secrets; /* ≥ 1 with service_http, else 0 */
};

struct config {
	char *path;             /* the file this came from */
	struct config_server server;
	struct config_store store;
	struct config_auth auth;
	struct config_ldap ldap;
	struct config_pam pam;
	struct scope_rule *scopes;
	size_t n_scopes;
	struct config_tokens tokens;
	struct config_apikeys apikeys;
	struct client_cfg *clients;  /* in file order */
	size_t n_clients;
	struct plugin_cfg *plugins;  /* in file order */
	size_t n_plugins;
};

/* Problems found while loading: each already formatted "FILE:LINE: message". */
struct config_errors {
	char **msgs;
	size_t n;
	char **warnings;        /* e.g. a world-readable *_file; not fatal */
	size_t n_warnings;
};

/*
 * Load and validate PATH.  Returns the config, or NULL with errs filled in
 * (errs is also filled with warnings on success).  The caller frees errs
 * with config_errors_free().
 */
struct config *config_load(const char *path, struct config_errors *errs) IDB_WUR;
void config_free(struct config *cfg);
void config_errors_free(struct config_errors *errs);

/* True when host (an IP literal or "localhost") is a loopback address. */
bool config_host_is_loopback(const char *host);

/*
 * The rules of a [client] section, for clients defined elsewhere
 * (`idbridge client add`): why uri cannot be a redirect URI (NULL: it can);
 * whether s is an RFC 6749 scope-token; whether [scopes] defines scope.
 */
const char *config_redirect_uri_problem(const char *uri);
bool config_scope_token_valid(const char *s);
bool config_scope_defined(const struct config *cfg, const char *scope);

/* The [plugin NAME], or NULL. */
const struct plugin_cfg *config_plugin_by_name(const struct config *cfg,
    const char *name);

/* Whether name could be a [plugin NAME] (it appears in URLs). */
bool config_plugin_name_valid(const char *name);

/* The [plugin] whose client is client_id, or NULL. */
const struct plugin_cfg *config_plugin_for_client(const struct config *cfg,
    const char *client_id);

#endif
