/*
 * cli_apikeys.c — `idbridge keys list|issue|revoke`: per-employee API keys,
 * for an administrator.
 *
 * issue looks the user up in the directory (the configured backend's
 * lookup()) for the immutable id, and refuses scopes the user's groups do
 * not allow (scopes_for_identity); the key is printed once, on stdout, and
 * never stored.  Like every admin command it drops to [server] user before
 * opening the store, so the database stays the daemon's.
 */
#include "autoconfig.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "apikeys.h"
#include "audit.h"
#include "backend.h"
#include "cli.h"
#include "config.h"
#include "oauth.h"        /* scope_parse */
#include "pam_backend.h"
#include "privdrop.h"
#include "scopes.h"
#include "store.h"
#include "store_apikeys.h"
#include "util.h"

/* The longest lifetime `--expires-days` takes (ten years). */
#define KEYS_MAX_EXPIRES_DAYS 3650

static const char keys_usage[] =
    "usage: idbridge keys list [-c FILE] [USER]\n"
    "       idbridge keys issue [-c FILE] USER NAME --scopes \"a b\" [--expires-days N]\n"
    "       idbridge keys revoke [-c FILE] ID\n"
    "list: the API keys of USER (of everyone without USER); never the keys themselves.\n"
    "issue: make a key for USER (looked up in the directory) with scopes the\n"
    "user's groups allow; it is printed once and cannot be shown again.\n"
    "revoke: revoke the key with that id; /verify refuses it at once.\n";

struct keys_opts {
	const char *config;
	const char *scopes;
	const char *expires;
};

/* cli_getopt's extra: --scopes and --expires-days. */
static int
keys_option(int opt, const char *arg, void *ctx)
{
	struct keys_opts *o = ctx;

	if (opt == 's')
		o->scopes = arg;
	else if (opt == 'e')
		o->expires = arg;
	else
		return -1;
	return 0;
}

/* The index of the subcommand word, or -1 with *status_r. */
static int
parse(int argc, char **argv, struct keys_opts *o, int *status_r)
{
	static const struct option longopts[] = {
		{ "scopes", required_argument, NULL, 's' },
		{ "expires-days", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_options co = {
		.usage = keys_usage, .longopts = longopts, .extra = keys_option, .ctx = o,
		.min_operands = 1, .max_operands = -1,
	};

	return cli_getopt(argc, argv, &co, &o->config, status_r);
}

static int
list_keys(struct store *st, const char *user)
{
	struct store_apikey *k = NULL;
	char *err = NULL;
	size_t n = 0;

	if (store_apikeys_list(st, user, &k, &n, &err) != 0) {
		fprintf(stderr, "keys: %s\n", err != NULL ? err : "cannot list");
		free(err);
		return 1;
	}
	/* LAST USED lags a use by up to [apikeys] last_used_interval (written in batches). */
	printf("%-6s  %-12s  %-16s  %-20s  %-20s  %-20s  %-20s  %-20s  %s\n", "ID", "PREFIX",
	    "USER", "NAME", "CREATED", "EXPIRES", "REVOKED", "LAST USED", "SCOPES");
	for (size_t i = 0; i < n; i++) {
		char a[32], b[32], c[32], d[32];

		printf("%-6" PRId64 "  idb_%-8s  %-16s  %-20s  %-20s  %-20s  %-20s  %-20s  %s\n",
		    k[i].id, k[i].prefix, k[i].username, k[i].name,
		    cli_time(k[i].created_at, a, sizeof(a)),
		    cli_time(k[i].expires_at, b, sizeof(b)),
		    cli_time(k[i].revoked_at, c, sizeof(c)),
		    cli_time(k[i].last_used_at, d, sizeof(d)), k[i].scope);
	}
	store_apikeys_free(k, n);
	return 0;
}

/* Parse a positive decimal up to max into *v_r; 0 or -1. */
static int
parse_num(const char *s, long long max, long long *v_r)
{
	char *end;

	errno = 0;
	*v_r = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *v_r < 1 || *v_r > max)
		return -1;
	return 0;
}

/* The user's identity from the directory into *id; 0, or 1 with a message. */
static int
lookup_user(const struct config *cfg, const char *user, struct identity *id)
{
	const struct backend_ops *ops = backend_find(cfg->auth.backend);
	struct backend *be;
	enum auth_result r;
	char *err = NULL;

	if (ops == NULL || (be = ops->init(cfg, &err)) == NULL) {
		fprintf(stderr, "keys: backend: %s\n", err != NULL ? err : "cannot start");
		free(err);
		return 1;
	}
	r = ops->lookup(be, user, id);
	ops->free(be);
	if (r != AUTH_OK) {
		fprintf(stderr, "keys: %s: %s\n", user, r == AUTH_UNKNOWN_USER ?
		    "no such user in the directory" : r == AUTH_DISABLED ?
		    "the account is disabled" : "the directory lookup failed");
		return 1;
	}
	return 0;
}

struct issue_args {
	const char *user, *name;
	struct strlist scopes;
	long long days;
};

static int
issue_key(const struct config *cfg, struct store *st, const struct identity *id,
    const struct issue_args *a)
{
	const struct mint_request m = {
		.name = a->name, .scopes = &a->scopes, .lifetime = (int64_t)a->days * 86400,
		.addr = "local",
	};
	struct minted out;
	enum mint_result r;
	char msg[256];

	if ((r = apikey_mint(cfg, st, id, &m, &out)) != MINT_OK) {
		fprintf(stderr, "keys: %s: %s\n", id->username,
		    apikey_mint_message(r, cfg, &out, msg, sizeof(msg)));
		return 1;
	}
	fprintf(stderr, "issued key %lld for %s; it is shown once:\n", (long long)out.id,
	    id->username);
	printf("%s\n", out.key);
	explicit_bzero(out.key, sizeof(out.key));
	return 0;
}

static int
revoke_key(struct store *st, const char *arg)
{
	long long id;
	char *err = NULL;
	int changes = 0;

	if (parse_num(arg, INT64_MAX, &id) != 0) {
		fprintf(stderr, "%s", keys_usage);
		return EXIT_USAGE;
	}
	if (store_apikey_revoke(st, id, (int64_t)time(NULL), &changes, &err) != 0) {
		fprintf(stderr, "keys: %s\n", err != NULL ? err : "cannot revoke");
		free(err);
		return 1;
	}
	if (changes == 0) {
		fprintf(stderr, "keys: no live key with id %lld\n", id);
		return 1;
	}
	audit_apikey("apikey_revoke", NULL, id, "ok", "local");
	printf("revoked key %lld\n", id);
	return 0;
}

/* Check the arguments of sub before anything is opened; 0 or EXIT_USAGE. */
static int
check_args(const char *sub, int nargs, const struct keys_opts *o, struct issue_args *a)
{
	bool issue = strcmp(sub, "issue") == 0;

	if ((o->scopes != NULL || o->expires != NULL) && !issue)
		return EXIT_USAGE;
	if (strcmp(sub, "list") == 0)
		return nargs <= 1 ? 0 : EXIT_USAGE;
	if (strcmp(sub, "revoke") == 0)
		return nargs == 1 ? 0 : EXIT_USAGE;
	if (!issue || nargs != 2 || o->scopes == NULL)
		return EXIT_USAGE;
	if (o->expires != NULL && parse_num(o->expires, KEYS_MAX_EXPIRES_DAYS, &a->days) != 0)
		return EXIT_USAGE;
	if (scope_parse(o->scopes, &a->scopes) != SCOPE_OK || a->scopes.n == 0)
		return EXIT_USAGE;
	return 0;
}

int
cmd_keys(int argc, char **argv)
{
	struct keys_opts o = { 0 };
	struct issue_args a = { 0 };
	struct identity id = { 0 };
	struct config *cfg = NULL;
	struct store *st = NULL;
	struct broker *broker = NULL;
	const char *sub;
	char *err = NULL;
	int status = 1, i, nargs;

	if ((i = parse(argc, argv, &o, &status)) < 0)
		return status;
	sub = argv[i];
	nargs = argc - i - 1;
	if (check_args(sub, nargs, &o, &a) != 0) {
		fprintf(stderr, "%s", keys_usage);
		status = EXIT_USAGE;
		goto out;
	}
	umask(077);
	if ((cfg = cli_load_config(o.config)) == NULL)
		goto out;
	if (strcmp(sub, "issue") == 0) {
		/*
		 * The directory first, as the invoking user: the backend may need
		 * its files.  With PAM that is the broker, as in serve.
		 */
		a.user = argv[i + 1];
		a.name = argv[i + 2];
		if (pam_backend_broker_start(cfg, &broker, &err) != 0) {
			fprintf(stderr, "keys: %s\n", err != NULL ? err : "cannot start the PAM broker");
			goto out;
		}
		if (lookup_user(cfg, a.user, &id) != 0)
			goto out;
	}
	if (privdrop_apply(cfg, true, &err) != 0 ||
	    (st = store_open(&cfg->store, &err)) == NULL) {
		fprintf(stderr, "keys: %s\n", err != NULL ? err : "cannot open the store");
		goto out;
	}
	if (strcmp(sub, "list") == 0)
		status = list_keys(st, nargs == 1 ? argv[i + 1] : NULL);
	else if (strcmp(sub, "revoke") == 0)
		status = revoke_key(st, argv[i + 1]);
	else
		status = issue_key(cfg, st, &id, &a);
out:
	store_close(st);
	pam_backend_broker_stop(broker);
	free(err);
	identity_free(&id);
	strlist_free(&a.scopes);
	config_free(cfg);
	return status;
}
