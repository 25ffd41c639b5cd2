/*
 * dircache.h — a user's identity as the directory last reported it.
 *
 * Refreshes (and the code exchange, for the groups claim) need the user's
 * current groups; asking the directory every time would put it in the
 * path of every token.  An identity fetched by a sign-in or a lookup is
 * trusted for [tokens] directory_cache_ttl seconds (0: never cached).
 * Keyed by user name (ASCII case-insensitive, as directories compare),
 * bounded to IDB_DIRCACHE_SLOTS entries (a new user evicts the one in its
 * slot), safe from any thread.
 */
#ifndef IDBRIDGE_DIRCACHE_H
#define IDBRIDGE_DIRCACHE_H

#include <stdbool.h>
#include "bridge.h"

struct identity;
struct dircache;

/* NULL on ENOMEM. */
struct dircache *dircache_new(unsigned ttl_s) IDB_WUR;
void dircache_free(struct dircache *dc);
/* Remember a copy of id (keyed by id->username), fresh from the directory now. */
void dircache_put(struct dircache *dc, const struct identity *id);
/* A fresh copy into *id_r (identity_free it) and true, or false. */
bool dircache_get(struct dircache *dc, const char *username, struct identity *id_r);
/*
 * The same, only when the directory gave the identity at most max_age_ms
 * ago (a sign-in a moment before), whatever the TTL left; never when
 * caching is off (TTL 0).
 */
bool dircache_get_fresh(struct dircache *dc, const char *username, unsigned max_age_ms,
    struct identity *id_r);
/* Forget a user (removed from a group by an admin, user revoke). */
void dircache_forget(struct dircache *dc, const char *username);

#endif
