/*
 * cli_clients.c — `idbridge client add|list|remove`: OAuth clients kept in
 * the store, beside the [client NAME] sections of the config.
 *
 * A stored client obeys the rules of a [client] section — the checks are
 * config.c's and clients.c's own, not copies — and may not take the id of
 * a configured one (the config would win, silently).  `add` prints the new
 * secret once: only its SHA-256 is stored.  Running daemons serve the
 * change within about a second (clients.h).  Like every admin command this
 * drops to [server] user before opening the store.
 */
#include "autoconfig.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "clients.h"
#include "config.h"
#include "privdrop.h"
#include "store.h"
#include "store_clients.h"
#include "util.h"

static const char client_usage[] =
    "usage: idbridge client add [-c FILE] ID --name NAME --redirect-uri URI\n"
    "                           [--redirect-uri URI ...] --scopes \"SCOPE ...\"\n"
    "                           [--public] [--pkce required|optional]\n"
    "                           [--consent ask|skip] [--introspect]\n"
    "       idbridge client list [-c FILE]\n"
    "       idbridge client remove [-c FILE] ID\n"
    "add: store a new client with the rules of a [client ID] section.  Unless\n"
    "--public, its new secret is printed on standard output, once: only its\n"
    "hash is kept.  pkce defaults to required, consent to ask.\n"
    "list: the clients of the config and of the store (without secrets).\n"
    "remove: delete a stored client, its consents, unused codes and refresh\n"
    "tokens.  Clients of the config are changed by editing the file.\n"
    "Running daemons see the change within about a second.\n";

struct client_opts {
	const char *config;
	const char *name;
	const char *scopes;
	const char *pkce;
	const char *consent;
	struct strlist uris;
	bool is_public;
	bool introspect;
	bool add_only;          /* an option only `add` takes was given */
};

enum { OPT_NAME = 2000, OPT_REDIRECT_URI, OPT_SCOPES, OPT_PUBLIC, OPT_PKCE, OPT_CONSENT,
	OPT_INTROSPECT };

/* cli_getopt's extra: every option but -c is one only `add` takes. */
static int
take_option(int opt, const char *arg, void *ctx)
{
	struct client_opts *o = ctx;

	o->add_only = true;
	switch (opt) {
	case OPT_NAME:
		o->name = arg;
		return 0;
	case OPT_SCOPES:
		o->scopes = arg;
		return 0;
	case OPT_PKCE:
		o->pkce = arg;
		return 0;
	case OPT_CONSENT:
		o->consent = arg;
		return 0;
	case OPT_PUBLIC:
		o->is_public = true;
		return 0;
	case OPT_INTROSPECT:
		o->introspect = true;
		return 0;
	case OPT_REDIRECT_URI:
		/* Checked with the rest; a failed add only means "too many". */
		if (strlist_add(&o->uris, arg) != 0) {
			fprintf(stderr, "idbridge client: too many --redirect-uri (max %d)\n",
			    IDB_MAX_REDIRECT_URIS);
			return -1;
		}
		return 0;
	}
	return -1;
}

/* The index of the subcommand word, or -1 with *status_r. */
static int
parse(int argc, char **argv, struct client_opts *o, int *status_r)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "redirect-uri", required_argument, NULL, OPT_REDIRECT_URI },
		{ "scopes", required_argument, NULL, OPT_SCOPES },
		{ "public", no_argument, NULL, OPT_PUBLIC },
		{ "pkce", required_argument, NULL, OPT_PKCE },
		{ "consent", required_argument, NULL, OPT_CONSENT },
		{ "introspect", no_argument, NULL, OPT_INTROSPECT },
		{ NULL, 0, NULL, 0 },
	};
	/* Options may come before or after the subcommand word and the id. */
	const struct cli_options co = {
		.usage = client_usage, .longopts = longopts, .extra = take_option,
		.ctx = o, .min_operands = 1, .max_operands = -1,
	};

	return cli_getopt(argc, argv, &co, &o->config, status_r);
}

/* ---- add: the rules of a [client] section -------------------------------- */

static bool
name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > IDB_MAX_CLIENT_NAME_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	return true;
}

/* Each problem is printed; returns how many there were. */
static int
check_uris(const struct client_opts *o, struct client_cfg *c)
{
	int problems = 0;
	const char *why;

	for (size_t i = 0; i < o->uris.n; i++) {
		const char *uri = o->uris.items[i];

		if ((why = config_redirect_uri_problem(uri)) != NULL) {
			fprintf(stderr, "idbridge client add: redirect URI '%s' %s\n", uri, why);
			problems++;
		} else if (strlist_contains(&c->redirect_uris, uri)) {
			fprintf(stderr, "idbridge client add: redirect URI '%s' is given twice\n", uri);
			problems++;
		} else if (strlist_add(&c->redirect_uris, uri) != 0) {
			fprintf(stderr, "idbridge client add: out of memory\n");
			problems++;
		}
	}
	return problems;
}

static int
check_scopes(const struct config *cfg, const char *scopes, struct client_cfg *c)
{
	struct strlist words = { NULL, 0 };
	int problems = 0;

	if (strlist_add_words(&words, scopes) != 0) {
		fprintf(stderr, "idbridge client add: too many scopes (max %d)\n",
		    IDB_MAX_LIST_ITEMS);
		return 1;
	}
	if (words.n == 0) {
		fprintf(stderr, "idbridge client add: --scopes names no scope\n");
		problems++;
	}
	for (size_t i = 0; i < words.n; i++) {
		const char *s = words.items[i];

		if (!config_scope_token_valid(s))
			fprintf(stderr, "idbridge client add: '%s' is not a scope name\n", s);
		else if (!config_scope_defined(cfg, s))
			fprintf(stderr, "idbridge client add: scope '%s' is not defined in "
			    "[scopes] of %s\n", s, cfg->path);
		else if (strlist_contains(&c->scopes, s))
			fprintf(stderr, "idbridge client add: scope '%s' is listed twice\n", s);
		else if (strlist_add(&c->scopes, s) != 0)
			fprintf(stderr, "idbridge client add: out of memory\n");
		else
			continue;
		problems++;
	}
	strlist_free(&words);
	return problems;
}

/* --pkce and --consent, and what a public client cannot be. */
static int
check_flags(const struct client_opts *o, struct client_cfg *c)
{
	int problems = 0;

	c->is_public = o->is_public;
	c->introspect = o->introspect;
	c->pkce_required = true;
	if (o->pkce != NULL) {
		if (ascii_strcasecmp(o->pkce, "optional") == 0)
			c->pkce_required = false;
		else if (ascii_strcasecmp(o->pkce, "required") != 0) {
			fprintf(stderr, "idbridge client add: --pkce '%s' is not required "
			    "or optional\n", o->pkce);
			problems++;
		}
	}
	if (o->consent != NULL) {
		if (ascii_strcasecmp(o->consent, "skip") == 0)
			c->consent_skip = true;
		else if (ascii_strcasecmp(o->consent, "ask") != 0) {
			fprintf(stderr, "idbridge client add: --consent '%s' is not ask or "
			    "skip\n", o->consent);
			problems++;
		}
	}
	if (c->is_public && !c->pkce_required) {
		fprintf(stderr, "idbridge client add: a public client always requires PKCE\n");
		problems++;
	}
	if (c->is_public && c->introspect) {
		fprintf(stderr, "idbridge client add: a public client cannot authenticate "
		    "to /introspect\n");
		problems++;
	}
	return problems;
}

/*
 * Build the client from the options with the config's rules; every
 * problem is reported, not just the first.  0, or -1.
 */
static int
build_client(const struct config *cfg, const char *id, const struct client_opts *o,
    struct client_cfg *c)
{
	const struct client_cfg *conf;
	int problems = 0;

	memset(c, 0, sizeof(*c));
	if (!client_id_valid(id, strlen(id))) {
		fprintf(stderr, "idbridge client add: '%s' is not a client_id: 1 to %d printable "
		    "ASCII characters without space, '\"', '\\' or ':'\n", id,
		    IDB_MAX_CLIENT_ID_LEN);
		problems++;
	} else if ((conf = clients_find(cfg, id)) != NULL) {
		/* Before any store is served, clients_find sees only the config. */
		fprintf(stderr, "idbridge client add: '%s' is a [client %s] section of %s "
		    "(line %u): choose another id\n", id, id, cfg->path, conf->line);
		clients_release(conf);
		problems++;
	}
	if (!name_ok(o->name)) {
		fprintf(stderr, "idbridge client add: --name must be 1 to %d bytes without "
		    "control characters\n", IDB_MAX_CLIENT_NAME_LEN);
		problems++;
	}
	problems += check_uris(o, c) + check_scopes(cfg, o->scopes, c) + check_flags(o, c);
	if (problems == 0 && ((c->id = strdup(id)) == NULL || (c->name = strdup(o->name)) == NULL)) {
		fprintf(stderr, "idbridge client add: out of memory\n");
		problems++;
	}
	return problems == 0 ? 0 : -1;
}

/* A secret for c: generated, hashed into c, left in secret for printing. */
static int
give_secret(struct client_cfg *c, char secret[IDB_CLIENT_SECRET_GEN_LEN + 1])
{
	if (client_secret_generate(secret) != 0 ||
	    client_secret_hash(secret, IDB_CLIENT_SECRET_GEN_LEN, c->secret_hash[0]) != 0) {
		fprintf(stderr, "idbridge client add: the random generator failed\n");
		return -1;
	}
	c->n_secrets = 1;
	return 0;
}

static int
add_client(const struct config *cfg, struct store *st, const char *id,
    const struct client_opts *o)
{
	char secret[IDB_CLIENT_SECRET_GEN_LEN + 1] = "";
	struct client_cfg c;
	char *err = NULL;
	bool exists = false;
	int status = 1;

	if (build_client(cfg, id, o, &c) != 0 || (!c.is_public && give_secret(&c, secret) != 0))
		goto out;
	if (store_client_add(st, &c, (int64_t)time(NULL), &exists, &err) != 0) {
		fprintf(stderr, "idbridge client add: %s\n", err != NULL ? err : "store failed");
		goto out;
	}
	if (exists) {
		fprintf(stderr, "idbridge client add: a client '%s' is stored already "
		    "(`idbridge client remove %s` first to replace it)\n", id, id);
		goto out;
	}
	/* Only now that the hash is committed is the secret worth showing. */
	if (!c.is_public) {
		printf("%s\n", secret);
		fprintf(stderr, "idbridge client add: added client '%s'; its secret (above) "
		    "is shown only this once\n", id);
	} else
		fprintf(stderr, "idbridge client add: added public client '%s' (no secret; "
		    "it must use PKCE)\n", id);
	status = 0;
out:
	explicit_bzero(secret, sizeof(secret));
	store_client_cfg_clear(&c);
	free(err);
	return status;
}

/* ---- list ---------------------------------------------------------------- */

static void
print_client(const struct client_cfg *c, const char *source)
{
	char *uris = strlist_join(&c->redirect_uris, " ");
	char *scopes = strlist_join(&c->scopes, " ");

	printf("%-24s  %-6s  %-12s  %-8s  %-7s  %-10s  %s\n", c->id, source,
	    c->is_public ? "public" : "confidential", c->pkce_required ? "required" : "optional",
	    c->consent_skip ? "skip" : "ask", c->introspect ? "yes" : "no", c->name);
	printf("    redirect_uri: %s\n    scopes: %s\n", uris != NULL ? uris : "?",
	    scopes != NULL ? scopes : "?");
	free(uris);
	free(scopes);
}

static int
list_clients(const struct config *cfg, struct store *st)
{
	struct store_client *v = NULL;
	char *err = NULL;
	int64_t gen;
	size_t n = 0;

	if (store_clients_load(st, &v, &n, &gen, &err) != 0) {
		fprintf(stderr, "idbridge client list: %s\n", err != NULL ? err : "store failed");
		free(err);
		return 1;
	}
	printf("%-24s  %-6s  %-12s  %-8s  %-7s  %-10s  %s\n", "CLIENT_ID", "SOURCE", "TYPE",
	    "PKCE", "CONSENT", "INTROSPECT", "NAME");
	for (size_t i = 0; i < cfg->n_clients; i++)
		print_client(&cfg->clients[i], "config");
	for (size_t i = 0; i < n; i++) {
		const struct client_cfg *conf = clients_find(cfg, v[i].c.id);

		print_client(&v[i].c, "store");
		if (conf != NULL)
			printf("    note: shadowed by [client %s] of the config, which is used\n",
			    conf->id);
		clients_release(conf);
	}
	store_clients_free(v, n);
	return 0;
}

/* ---- remove -------------------------------------------------------------- */

static int
remove_client(const struct config *cfg, struct store *st, const char *id)
{
	const struct client_cfg *conf;
	char *err = NULL;
	bool removed = false;
	int status = 1;

	if (!client_id_valid(id, strlen(id))) {
		fprintf(stderr, "idbridge client remove: '%s' is not a client_id\n", id);
		return 1;
	}
	if ((conf = clients_find(cfg, id)) != NULL) {
		fprintf(stderr, "idbridge client remove: '%s' is a [client %s] section of %s "
		    "(line %u): edit the file to remove it\n", id, id, cfg->path, conf->line);
		clients_release(conf);
		return 1;
	}
	if (store_client_remove(st, id, (int64_t)time(NULL), &removed, &err) != 0)
		fprintf(stderr, "idbridge client remove: %s\n", err != NULL ? err : "store failed");
	else if (!removed)
		fprintf(stderr, "idbridge client remove: no stored client '%s'\n", id);
	else {
		printf("removed client '%s'\n", id);
		status = 0;
	}
	free(err);
	return status;
}

/* ---- the command --------------------------------------------------------- */

/* Does the operand count fit the subcommand, and are add's options only with add? */
static bool
shape_ok(const char *sub, int operands, const struct client_opts *o)
{
	if (strcmp(sub, "add") == 0)
		return operands == 1;
	if (o->add_only)
		return false;
	if (strcmp(sub, "list") == 0)
		return operands == 0;
	return strcmp(sub, "remove") == 0 && operands == 1;
}

/* add's required options; a usage error when one is missing. */
static bool
add_complete(const struct client_opts *o)
{
	const char *missing = o->name == NULL ? "--name" : o->uris.n == 0 ? "--redirect-uri" :
	    o->scopes == NULL ? "--scopes" : NULL;

	if (missing != NULL)
		fprintf(stderr, "idbridge client add: %s is required\n", missing);
	return missing == NULL;
}

static int
run(const struct config *cfg, struct store *st, const char *sub, const char *id,
    const struct client_opts *o)
{
	if (strcmp(sub, "add") == 0)
		return add_client(cfg, st, id, o);
	if (strcmp(sub, "remove") == 0)
		return remove_client(cfg, st, id);
	return list_clients(cfg, st);
}

int
cmd_client(int argc, char **argv)
{
	struct client_opts o = { 0 };
	struct config *cfg = NULL;
	struct store *st = NULL;
	const char *sub;
	char *err = NULL;
	int status = 1, i;

	if ((i = parse(argc, argv, &o, &status)) < 0)
		goto out;
	sub = argv[i];
	if (!shape_ok(sub, argc - i - 1, &o) || (strcmp(sub, "add") == 0 && !add_complete(&o))) {
		fprintf(stderr, "%s", client_usage);
		status = EXIT_USAGE;
		goto out;
	}
	status = 1;
	umask(077);
	if ((cfg = cli_load_config(o.config)) == NULL)
		goto out;
	if (privdrop_apply(cfg, true, &err) != 0 ||
	    (st = store_open(&cfg->store, &err)) == NULL) {
		fprintf(stderr, "idbridge client: %s\n", err != NULL ? err : "cannot open the store");
		goto out;
	}
	status = run(cfg, st, sub, i + 1 < argc ? argv[i + 1] : NULL, &o);
out:
	store_close(st);
	free(err);
	config_free(cfg);
	strlist_free(&o.uris);
	return status;
}
