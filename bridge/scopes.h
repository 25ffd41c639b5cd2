/*
 * scopes.h — [scopes]: which scopes an identity may receive.
 *
 * A rule "scope = a b c" grants scope to an identity when any member
 * matches: "*" (every signed-in user), "user:NAME" (the login name,
 * ASCII case-insensitive), a group DN (contains '='; compared after
 * normalising case and spaces around ',' and '='), or a group name (ASCII
 * case-insensitive, as directories compare cn).
 */
#ifndef IDBRIDGE_SCOPES_H
#define IDBRIDGE_SCOPES_H

#include <stdbool.h>
#include "config.h"

struct identity;

/* Fill out (empty first) with the scopes id may receive, in config order. 0, or -1 on ENOMEM. */
int scopes_for_identity(const struct config *cfg, const struct identity *id,
    struct strlist *out) IDB_WUR;
/* Does this rule grant its scope to id? */
bool scope_rule_matches(const struct scope_rule *rule, const struct identity *id);
/* The groups of id that any rule names (the JWT "groups" claim when groups_claim = mapped). */
int scopes_mapped_groups(const struct config *cfg, const struct identity *id,
    struct strlist *out) IDB_WUR;

#endif
