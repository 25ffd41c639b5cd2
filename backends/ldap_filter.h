/*
 * ldap_filter.h — the one place where user input becomes LDAP filter text.
 *
 * Filters come from the config as templates; %u stands for the user name
 * and %d for the user's DN, both escaped per RFC 4515 with libldap's
 * ldap_bv2escaped_filter_value() (so '*', '(', ')', '\\' and NUL can never
 * change a filter's structure), and %% for a literal '%'.
 */
#ifndef IDBRIDGE_LDAP_FILTER_H
#define IDBRIDGE_LDAP_FILTER_H

#include <stddef.h>
#include "../bridge/bridge.h"

/* Escape len bytes of value (may contain NUL).  New string, or NULL on ENOMEM. */
char *ldap_filter_escape(const char *value, size_t len) IDB_WUR;

/*
 * Expand tmpl.  user and dn may be NULL when the template does not use them
 * (then a %u / %d is an error).  New string, or NULL on error (unknown %x,
 * missing value, ENOMEM).
 */
char *ldap_filter_expand(const char *tmpl, const char *user, const char *dn) IDB_WUR;

/*
 * "(attr=v1)" for one value, "(|(attr=v1)(attr=v2)…)" for several, each
 * value escaped; attr is the caller's constant.  New string, or NULL (no
 * values, a NULL value, ENOMEM).
 */
char *ldap_filter_any(const char *attr, char *const *values, size_t n) IDB_WUR;

/* Does tmpl contain only known placeholders, and balanced parentheses?  For config checks. */
int ldap_filter_template_ok(const char *tmpl, char **err_r) IDB_WUR;

#endif
