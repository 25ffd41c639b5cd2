/*
 * backend.c — the backend registry and the helpers every backend shares.
 *
 * A backend that is not compiled in is still listed, so "backend = pam" on
 * a build without PAM says "not compiled in" rather than "unknown backend".
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "ldap_backend.h"
#include "pam_backend.h"
#include "util.h"

static const struct backend_ops *const backends[] = {
	&ldap_backend_ops,
	&pam_backend_ops,
};

const struct backend_ops *
backend_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

const char *
auth_result_name(enum auth_result r)
{
	switch (r) {
	case AUTH_OK:
		return "ok";
	case AUTH_BAD_CREDENTIALS:
		return "bad_credentials";
	case AUTH_UNKNOWN_USER:
		return "unknown_user";
	case AUTH_DISABLED:
		return "disabled";
	case AUTH_EXPIRED:
		return "expired";
	case AUTH_UNAVAILABLE:
		return "unavailable";
	case AUTH_INTERNAL:
		return "internal";
	}
	return "internal";
}

void
identity_free(struct identity *id)
{
	if (id == NULL)
		return;
	free(id->username);
	free(id->id);
	free(id->dn);
	free(id->display_name);
	free(id->email);
	for (size_t i = 0; i < id->n_groups; i++) {
		free(id->groups[i]);
		if (id->group_dns != NULL)
			free(id->group_dns[i]);
	}
	free(id->groups);
	free(id->group_dns);
	memset(id, 0, sizeof(*id));
}

static bool
same_group(const struct identity *id, size_t i, const char *name, const char *dn)
{
	const char *other = id->group_dns != NULL ? id->group_dns[i] : NULL;

	if (dn != NULL || other != NULL)
		return dn != NULL && other != NULL && ascii_strcasecmp(dn, other) == 0;
	return ascii_strcasecmp(id->groups[i], name) == 0;
}

int
identity_add_group(struct identity *id, const char *name, const char *dn)
{
	char **groups, **dns;
	char *name_copy = NULL, *dn_copy = NULL;
	int r = -1;

	if (name == NULL || *name == '\0') {
		errno = EINVAL;
		goto out;
	}
	/*
	 * The same group twice is one group; two groups that share a name
	 * under different DNs are two (a [scopes] rule may name either DN).
	 * Directories compare names and DNs case-insensitively: so do we.
	 */
	for (size_t i = 0; i < id->n_groups; i++)
		if (same_group(id, i, name, dn)) {
			r = 0;
			goto out;
		}
	if (id->n_groups >= IDB_MAX_GROUPS) {
		errno = E2BIG;
		goto out;
	}
	if ((name_copy = strdup(name)) == NULL)
		goto out;
	if (dn != NULL && (dn_copy = strdup(dn)) == NULL)
		goto out;
	/* Grow both arrays before storing, so a failure leaves them parallel. */
	groups = realloc(id->groups, (id->n_groups + 1) * sizeof(*groups));
	if (groups == NULL)
		goto out;
	id->groups = groups;
	dns = realloc(id->group_dns, (id->n_groups + 1) * sizeof(*dns));
	if (dns == NULL)
		goto out;
	id->group_dns = dns;
	id->groups[id->n_groups] = name_copy;
	id->group_dns[id->n_groups] = dn_copy;
	id->n_groups++;
	name_copy = dn_copy = NULL;
	r = 0;
out:
	free(name_copy);
	free(dn_copy);
	return r;
}

static bool
ascii_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

bool
backend_username_ok(const char *user, unsigned max_len, const char *extra_chars)
{
	size_t len;

	if (user == NULL)
		return false;
	len = strnlen(user, (size_t)max_len + 1);
	if (len == 0 || len > max_len || len > IDB_MAX_USERNAME_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)user[i];

		if (ascii_alnum(c))
			continue;
		if (extra_chars == NULL || strchr(extra_chars, c) == NULL)
			return false;
	}
	return true;
}
