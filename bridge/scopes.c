/*
 * scopes.c — [scopes]: from an identity's name and groups to the scopes it
 * may receive.
 *
 * The rules were checked by config.c; here they are only matched.  Group
 * names compare ASCII case-insensitively, as directories compare cn; group
 * DNs compare after normalising, because a directory returns the DN in its
 * own spelling ("CN=Eng, OU=Groups,DC=example,DC=org"), not the config's.
 */
#include "autoconfig.h"

#include <errno.h>
#include <string.h>

#include "scopes.h"
#include "backend.h"
#include "util.h"

#define USER_PREFIX "user:"
#define USER_PREFIX_LEN (sizeof(USER_PREFIX) - 1)

static char
ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/*
 * Lower-case ASCII and drop the spaces around ',' and '=' (and at either
 * end) into out.  An escaped character ("\,", "\ ") is kept as it is, and
 * never taken as a separator.  0, or -1 when out is too small.
 */
static int
dn_normalise(const char *dn, char *out, size_t size)
{
	size_t o = 0, kept = 0;	/* out[0..kept) holds no droppable space */
	const char *p = dn + strspn(dn, " ");

	for (; *p != '\0'; p++) {
		if (o + 2 >= size)
			return -1;
		if (*p == '\\' && p[1] != '\0') {
			out[o++] = '\\';
			out[o++] = ascii_lower(*++p);
			kept = o;
		} else if (*p == ',' || *p == '=') {
			o = kept;	/* the spaces before it */
			out[o++] = *p;
			kept = o;
			p += strspn(p + 1, " ");	/* the spaces after it */
		} else {
			out[o++] = ascii_lower(*p);
			if (*p != ' ')
				kept = o;
		}
	}
	out[kept] = '\0';
	return 0;
}

static bool
dn_equal(const char *a, const char *b)
{
	char na[IDB_MAX_DN_LEN + 1], nb[IDB_MAX_DN_LEN + 1];

	if (dn_normalise(a, na, sizeof(na)) != 0 ||
	    dn_normalise(b, nb, sizeof(nb)) != 0)
		return false;
	return strcmp(na, nb) == 0;
}

static bool
is_user_member(const char *member)
{
	return strncmp(member, USER_PREFIX, USER_PREFIX_LEN) == 0;
}

/* Does a member that names a group (by name or DN) name group i of id? */
static bool
member_names_group(const char *member, const struct identity *id, size_t i)
{
	if (strchr(member, '=') != NULL)
		return id->group_dns != NULL && id->group_dns[i] != NULL &&
		    dn_equal(member, id->group_dns[i]);
	return id->groups[i] != NULL && ascii_strcasecmp(member, id->groups[i]) == 0;
}

static bool
member_matches(const char *member, const struct identity *id)
{
	if (strcmp(member, "*") == 0)
		return true;
	if (is_user_member(member))
		return id->username != NULL &&
		    ascii_strcasecmp(member + USER_PREFIX_LEN, id->username) == 0;
	for (size_t i = 0; i < id->n_groups; i++)
		if (member_names_group(member, id, i))
			return true;
	return false;
}

bool
scope_rule_matches(const struct scope_rule *rule, const struct identity *id)
{
	if (rule == NULL || id == NULL)
		return false;
	for (size_t i = 0; i < rule->members.n; i++)
		if (member_matches(rule->members.items[i], id))
			return true;
	return false;
}

int
scopes_for_identity(const struct config *cfg, const struct identity *id,
    struct strlist *out)
{
	strlist_free(out);
	for (size_t i = 0; i < cfg->n_scopes; i++) {
		const struct scope_rule *rule = &cfg->scopes[i];

		if (!scope_rule_matches(rule, id) ||
		    strlist_contains(out, rule->scope))
			continue;
		if (strlist_add(out, rule->scope) != 0)
			goto fail;
	}
	return 0;
fail:
	strlist_free(out);
	return -1;
}

/* Does any rule name group i of id? */
static bool
group_is_mapped(const struct config *cfg, const struct identity *id, size_t i)
{
	for (size_t r = 0; r < cfg->n_scopes; r++) {
		const struct strlist *members = &cfg->scopes[r].members;

		for (size_t m = 0; m < members->n; m++) {
			const char *member = members->items[m];

			if (strcmp(member, "*") == 0 || is_user_member(member))
				continue;
			if (member_names_group(member, id, i))
				return true;
		}
	}
	return false;
}

int
scopes_mapped_groups(const struct config *cfg, const struct identity *id,
    struct strlist *out)
{
	strlist_free(out);
	for (size_t i = 0; i < id->n_groups; i++) {
		if (id->groups[i] == NULL || !group_is_mapped(cfg, id, i) ||
		    strlist_contains(out, id->groups[i]))
			continue;
		if (strlist_add(out, id->groups[i]) != 0)
			goto fail;
	}
	return 0;
fail:
	strlist_free(out);
	return -1;
}
