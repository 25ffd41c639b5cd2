/*
 * cli_users.c — `idbridge user revoke USER`: end everything one person
 * holds at once, for offboarding.
 *
 * Works from the store alone (store_user_revoke): the person may be gone
 * from the directory already, so the directory is never asked.  The
 * running daemon notices within about a second, without being told: its
 * /verify cache re-checks a JWT with the store whenever the store's data
 * version moved (the commit here moves it), and sessions, refresh tokens
 * and API keys are read from the store on every use.  Like every admin
 * command it drops to [server] user before opening the store.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "audit.h"
#include "bridge.h"
#include "cli.h"
#include "config.h"
#include "privdrop.h"
#include "store.h"
#include "store_users.h"

static const char user_usage[] =
    "usage: idbridge user revoke [-c FILE] USER\n"
    "revoke: end everything USER (a login name) holds, at once: browser sessions,\n"
    "refresh tokens and the access tokens they issued, API keys, remembered\n"
    "consents and unused authorization codes.  Only the store is used, so it\n"
    "works for someone already removed from the directory.  A running server\n"
    "refuses the revoked credentials within about a second.  It does not stop\n"
    "a new sign-in: disable the account in the directory for that.\n";

static const char *
plural(int n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void
print_counts(const char *user, const struct store_user_revoke_counts *c)
{
	printf("revoked for %s: %d %s, %d %s, %d %s, %d %s, %d %s\n", user,
	    c->sessions, plural(c->sessions, "session", "sessions"),
	    c->families, plural(c->families, "refresh family", "refresh families"),
	    c->consents, plural(c->consents, "consent", "consents"),
	    c->apikeys, plural(c->apikeys, "API key", "API keys"),
	    c->codes, plural(c->codes, "code", "codes"));
	if (c->sessions + c->families + c->consents + c->apikeys + c->codes == 0)
		fprintf(stderr, "user: nothing live was recorded for %s (never signed in here, "
		    "or already revoked)\n", user);
	if (c->user_ids > 1)
		fprintf(stderr, "user: %s was recorded under %d directory ids (a reused or "
		    "renamed login name): all of them were revoked\n", user, c->user_ids);
}

static int
revoke_user(struct store *st, const char *user)
{
	struct store_user_revoke_counts c;
	char *err = NULL;

	if (store_user_revoke(st, user, (int64_t)time(NULL), &c, &err) != 0) {
		fprintf(stderr, "user: %s\n", err != NULL ? err : "cannot revoke");
		audit_user_revoke(user, NULL, "error", "local");
		free(err);
		return 1;
	}
	audit_user_revoke(user, &c, "ok", "local");
	print_counts(user, &c);
	return 0;
}

int
cmd_user(int argc, char **argv)
{
	const struct cli_options co = {
		.usage = user_usage, .min_operands = 2, .max_operands = 2,
	};
	struct config *cfg = NULL;
	struct store *st = NULL;
	const char *path, *user;
	char *err = NULL;
	int status = 1, i;

	if ((i = cli_getopt(argc, argv, &co, &path, &status)) < 0)
		return status;
	user = argv[i + 1];
	/*
	 * Only the hard cap, not [auth]'s name policy: the store may hold names
	 * from before a policy change, and they must stay revocable.  The name
	 * is only ever bound, and log_safe sanitises it in the audit line.
	 */
	if (strcmp(argv[i], "revoke") != 0 || user[0] == '\0' ||
	    strlen(user) > IDB_MAX_USERNAME_LEN) {
		fprintf(stderr, "%s", user_usage);
		return EXIT_USAGE;
	}
	umask(077);
	if ((cfg = cli_load_config(path)) == NULL)
		goto out;
	if (privdrop_apply(cfg, true, &err) != 0 ||
	    (st = store_open(&cfg->store, &err)) == NULL) {
		fprintf(stderr, "user: %s\n", err != NULL ? err : "cannot open the store");
		goto out;
	}
	status = revoke_user(st, user);
out:
	store_close(st);
	free(err);
	config_free(cfg);
	return status;
}
