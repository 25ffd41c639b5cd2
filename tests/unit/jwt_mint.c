/*
 * jwt_mint — test helper (never installed): sign the JSON claims read from
 * stdin with the newest key of ALG in the SQLite store at PATH, publishing
 * a new key of ALG first when the store has none, and print the JWT.
 *
 *	jwt_mint PATH RS256|ES256|EdDSA < claims.json
 *
 * The e2e tier uses it to hand real tokens from our C code to npm's jose,
 * which verifies them against the daemon's /jwks.json.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "config.h"
#include "keys.h"
#include "store.h"
#include "token.h"

/* The newest published key of alg in ks, or NULL. */
static const struct signing_key *
newest(const struct keyset *ks, enum jwt_alg alg)
{
	const struct signing_key *found = NULL;

	for (size_t i = 0; i < keyset_count(ks); i++)
		if (signing_key_alg(keyset_key(ks, i)) == alg)
			found = keyset_key(ks, i);
	return found;
}

int
main(int argc, char **argv)
{
	struct config_store cfg = { .driver = STORE_SQLITE };
	const struct keyset *ks = NULL;
	struct keys *keys = NULL;
	struct store *st = NULL;
	struct keys_info info;
	json_t *claims = NULL;
	char *err = NULL, *jwt = NULL;
	enum jwt_alg alg;
	int status = 1;

	if (argc != 3 || jwt_alg_parse(argv[2], &alg) != 0) {
		fprintf(stderr, "usage: jwt_mint STORE_PATH RS256|ES256|EdDSA < claims.json\n");
		return 2;
	}
	cfg.path = argv[1];
	if ((claims = json_loadf(stdin, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
		fprintf(stderr, "jwt_mint: the claims on stdin are not JSON\n");
		return 2;
	}
	if ((st = store_open(&cfg, &err)) == NULL ||
	    keys_load_or_create(st, alg, IDB_DEFAULT_ACCESS_TTL, &keys, &err) != 0)
		goto out;
	ks = keys_acquire(keys);
	if (newest(ks, alg) == NULL) {
		keyset_release(ks);
		ks = NULL;
		if (keys_rotate(st, alg, IDB_DEFAULT_ACCESS_TTL, (int64_t)time(NULL), &info, &err) != 0 ||
		    keys_reload(keys, &err) != 0)
			goto out;
		ks = keys_acquire(keys);
	}
	if (newest(ks, alg) == NULL || jwt_sign_with(newest(ks, alg), claims, &jwt) != 0)
		goto out;
	printf("%s\n", jwt);
	status = 0;
out:
	if (status != 0)
		fprintf(stderr, "jwt_mint: %s\n", err != NULL ? err : "cannot sign");
	free(jwt);
	free(err);
	keyset_release(ks);
	keys_free(keys);
	store_close(st);
	json_decref(claims);
	return status;
}
