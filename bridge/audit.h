/*
 * audit.h — one line per security event, greppable as "audit: event=…".
 *
 * Fields are key=value; user-supplied values are sanitised and quoted.
 * Never pass a secret here.
 */
#ifndef IDBRIDGE_AUDIT_H
#define IDBRIDGE_AUDIT_H

#include "backend.h"

/* A sign-in attempt: who, how it ended, from where, through which backend. */
void audit_login(const char *backend, const char *user, enum auth_result result,
    const char *addr);

/*
 * A token event: event is one of "token" (issued for a code), "refresh",
 * "code_replay", "refresh_reuse", "revoke"; outcome a short word ("ok",
 * "invalid_grant", "unavailable", …).  user and client may be NULL.
 */
void audit_token(const char *event, const char *user, const char *client,
    const char *outcome, const char *addr);

/*
 * An API key event: event is "apikey_issue", "apikey_revoke" or
 * "apikey_first_use" (once per key); key_id the store's id (never the
 * key); user may be NULL.
 */
void audit_apikey(const char *event, const char *user, long long key_id,
    const char *outcome, const char *addr);

struct store_user_revoke_counts;

/*
 * `user revoke`: what was ended for user (c may be NULL when nothing was,
 * e.g. on an error); outcome "ok" or a short word.
 */
void audit_user_revoke(const char *user, const struct store_user_revoke_counts *c,
    const char *outcome, const char *addr);

#endif
