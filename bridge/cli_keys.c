/*
 * cli_keys.c — `idbridge signing-key list|rotate`: the JWT signing keys
 * in the store, for an administrator.
 *
 * rotate publishes a new key at once; running daemons pick it up within a
 * second and sign with it IDB_JWKS_MAX_AGE_S later (keys.h).  Like every
 * admin command it drops to [server] user before opening the store, so the
 * database stays the daemon's.  No key material is ever printed.
 */
#include "autoconfig.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "config.h"
#include "keys.h"
#include "privdrop.h"
#include "store.h"

static const char signing_key_usage[] =
    "usage: idbridge signing-key list [-c FILE]\n"
    "       idbridge signing-key rotate [-c FILE] [--alg RS256|ES256|EdDSA]\n"
    "list: every published JWT signing key, its algorithm, and when it signs,\n"
    "stops signing and leaves /jwks.json.\n"
    "rotate: publish a new key (default algorithm: [tokens] signing_alg).  It\n"
    "signs once every cached JWKS holds it; the keys it replaces stay published\n"
    "until the last token they signed has expired.\n";

enum jwt_alg
cli_signing_alg(const struct config *cfg)
{
	switch (cfg->tokens.signing_alg) {
	case SIGNING_ES256:
		return JWT_ALG_ES256;
	case SIGNING_EDDSA:
		return JWT_ALG_EDDSA;
	case SIGNING_RS256:
		break;
	}
	return JWT_ALG_RS256;
}

unsigned
cli_access_ttl(const struct config *cfg)
{
	return cfg->tokens.access_ttl != 0 ? cfg->tokens.access_ttl : IDB_DEFAULT_ACCESS_TTL;
}

struct sk_opts {
	const char *config;
	const char *alg;
};

/* cli_getopt's extra: --alg. */
static int
sk_option(int opt, const char *arg, void *ctx)
{
	struct sk_opts *o = ctx;

	if (opt != 'a')
		return -1;
	o->alg = arg;
	return 0;
}

/* The index of the subcommand word, or -1 with *status_r. */
static int
parse(int argc, char **argv, struct sk_opts *o, int *status_r)
{
	static const struct option longopts[] = {
		{ "alg", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	/* Options may come before or after the subcommand word. */
	const struct cli_options co = {
		.usage = signing_key_usage, .longopts = longopts, .extra = sk_option,
		.ctx = o, .min_operands = 1, .max_operands = 1,
	};

	return cli_getopt(argc, argv, &co, &o->config, status_r);
}

static const char *
state(const struct keys_info *k, int64_t now)
{
	if (k->activate_at > now)
		return "next";
	if (k->retire_at == 0 || k->retire_at > now)
		return "signing";
	return "retired";
}

static int
list_keys(struct store *st)
{
	struct keys_info *infos = NULL;
	int64_t now = (int64_t)time(NULL);
	char *err = NULL;
	size_t n = 0;

	if (keys_list(st, now, &infos, &n, &err) != 0) {
		fprintf(stderr, "signing-key: %s\n", err != NULL ? err : "cannot list");
		free(err);
		return 1;
	}
	printf("%-43s  %-5s  %-7s  %-20s  %-20s  %s\n", "KID", "ALG", "STATE", "SIGNS FROM",
	    "SIGNS UNTIL", "UNPUBLISHED AT");
	for (size_t i = 0; i < n; i++) {
		char a[32], b[32], c[32];

		printf("%-43s  %-5s  %-7s  %-20s  %-20s  %s\n", infos[i].kid,
		    jwt_alg_name(infos[i].alg), state(&infos[i], now),
		    cli_time(infos[i].activate_at, a, sizeof(a)), cli_time(infos[i].retire_at, b, sizeof(b)),
		    cli_time(infos[i].drop_at, c, sizeof(c)));
	}
	free(infos);
	return 0;
}

static int
rotate_key(struct store *st, enum jwt_alg alg, unsigned ttl)
{
	struct keys_info k;
	char *err = NULL;
	char a[32];

	if (keys_rotate(st, alg, ttl, (int64_t)time(NULL), &k, &err) != 0) {
		fprintf(stderr, "signing-key: %s\n", err != NULL ? err : "cannot rotate");
		free(err);
		return 1;
	}
	printf("published %s key %s; it signs from %s\n", jwt_alg_name(alg), k.kid,
	    cli_time(k.activate_at, a, sizeof(a)));
	return 0;
}

int
cmd_signing_key(int argc, char **argv)
{
	struct sk_opts o = { 0 };
	struct config *cfg = NULL;
	struct store *st = NULL;
	enum jwt_alg alg = JWT_ALG_RS256;
	const char *sub;
	char *err = NULL;
	int status = 1, i;

	if ((i = parse(argc, argv, &o, &status)) < 0)
		return status;
	sub = argv[i];
	if ((strcmp(sub, "list") != 0 && strcmp(sub, "rotate") != 0) ||
	    (o.alg != NULL && (strcmp(sub, "rotate") != 0 || jwt_alg_parse(o.alg, &alg) != 0))) {
		fprintf(stderr, "%s", signing_key_usage);
		return EXIT_USAGE;
	}
	umask(077);
	if ((cfg = cli_load_config(o.config)) == NULL)
		return 1;
	if (o.alg == NULL)
		alg = cli_signing_alg(cfg);
	if (privdrop_apply(cfg, true, &err) != 0 ||
	    (st = store_open(&cfg->store, &err)) == NULL) {
		fprintf(stderr, "signing-key: %s\n", err != NULL ? err : "cannot open the store");
		goto out;
	}
	status = strcmp(sub, "list") == 0 ? list_keys(st) : rotate_key(st, alg, cli_access_ttl(cfg));
out:
	store_close(st);
	free(err);
	config_free(cfg);
	return status;
}
