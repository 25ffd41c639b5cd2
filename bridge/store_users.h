/*
 * store_users.h — everything one person holds in the store, ended at once
 * (`idbridge user revoke`, offboarding).
 *
 * The person is named by login name because the directory may have
 * forgotten them already: the store alone says who they were.  Rows are
 * matched by that name (ASCII case-insensitive, as directories compare
 * names and as the api_keys index is built) and by every immutable
 * directory id (user_id) the store recorded under that name in any table,
 * so rows kept under an old login name of the same id go too, and a name
 * that two people held in turn ends both.
 *
 *	struct store_user_revoke_counts c;
 *	char *err = NULL;
 *
 *	if (store_user_revoke(st, "alice", time(NULL), &c, &err) != 0)
 *		report err, free(err);
 */
#ifndef IDBRIDGE_STORE_USERS_H
#define IDBRIDGE_STORE_USERS_H

#include <stdint.h>

#include "bridge.h"

struct store;

/* What one revocation ended. */
struct store_user_revoke_counts {
	int user_ids;           /* directory ids recorded under the name */
	int sessions;           /* browser sessions deleted */
	int families;           /* refresh families revoked (with every access token they issued) */
	int consents;           /* remembered consents deleted */
	int apikeys;            /* live API keys revoked */
	int codes;              /* unused authorization codes deleted */
};

/*
 * In one BEGIN IMMEDIATE transaction: delete the user's sessions, revoke
 * every refresh family not yet revoked (so /token, /verify and
 * /introspect refuse its tokens), bar the family of a code claimed but not
 * yet exchanged (its exchange then fails), delete consents and unused
 * codes, and revoke live API keys.  The commit moves the store's data
 * version, which is what the daemon's caches watch.  Nothing recorded is
 * not an error (all counts 0).  0, or -1 with *err_r (free it) and nothing
 * changed.
 */
int store_user_revoke(struct store *st, const char *username, int64_t now,
    struct store_user_revoke_counts *c_r, char **err_r) IDB_WUR;

#endif
