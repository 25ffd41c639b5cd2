/*
 * backend.h — how idbridge asks "is this the right password, and who is it?".
 *
 * A backend is a constant table of function pointers registered in
 * backend.c.  Every backend answers with one enum auth_result; directory or
 * PAM codes are translated inside the backend and nowhere else.  The caller
 * shows UNKNOWN_USER exactly like BAD_CREDENTIALS, and DISABLED / EXPIRED
 * only after the password was verified (a backend must not return them
 * otherwise).
 *
 * Threading: authenticate() and lookup() are called concurrently from the
 * auth worker pool; a backend protects its own shared state.  They block (a
 * directory may take seconds), so they are never called on an HTTP thread.
 */
#ifndef IDBRIDGE_BACKEND_H
#define IDBRIDGE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include "../bridge/bridge.h"

struct config;

enum auth_result {
	AUTH_OK,
	AUTH_BAD_CREDENTIALS,
	AUTH_UNKNOWN_USER,   /* shown to the user exactly like BAD_CREDENTIALS */
	AUTH_DISABLED,
	AUTH_EXPIRED,
	AUTH_UNAVAILABLE,    /* directory down: "try again later", never "wrong password" */
	AUTH_INTERNAL,
};

/* "ok", "bad_credentials", … — for audit lines and tests. */
const char *auth_result_name(enum auth_result r);

/* Who signed in.  Owned by the caller after a successful call; identity_free(). */
struct identity {
	char *username;      /* the login name as the directory spells it */
	char *id;            /* immutable directory id: entryUUID, objectGUID, uid number */
	char *dn;            /* LDAP DN, or NULL */
	char *display_name;  /* may be NULL */
	char *email;         /* may be NULL */
	char **groups;       /* group names (group_name_attribute) */
	char **group_dns;    /* the same groups' DNs, parallel to groups (NULL entries for PAM) */
	size_t n_groups;
};

void identity_free(struct identity *id);
/* Append a group (name and optional DN), ignoring duplicates. 0 or -1 on ENOMEM/limit. */
int identity_add_group(struct identity *id, const char *name, const char *dn) IDB_WUR;

struct backend;  /* a backend's private state, opaque to callers */

struct backend_ops {
	const char *name;        /* "ldap", "pam": the [auth] backend value */
	bool compiled_in;        /* false: listed so the error says "not compiled in" */
	/* Build the backend's state from the config; NULL with *err_r set on failure. */
	struct backend *(*init)(const struct config *cfg, char **err_r);
	/*
	 * Check USER's password (pointer + length: it may hold any bytes but NUL).
	 * On AUTH_OK fill *id_r.  rhost is the client address, for logs and PAM_RHOST.
	 */
	enum auth_result (*authenticate)(struct backend *be, const char *user,
	    const char *password, size_t password_len, const char *rhost,
	    struct identity *id_r);
	/*
	 * Look USER up again without a password (refresh tokens, API keys):
	 * OK with fresh groups, UNKNOWN_USER when gone, DISABLED, UNAVAILABLE.
	 */
	enum auth_result (*lookup)(struct backend *be, const char *user,
	    struct identity *id_r);
	/*
	 * Optional (NULL: none).  The delay, in ms, the calling thread's last
	 * failed authenticate() asked for (PAM's fail delay, e.g. pam_unix's
	 * ~2 s): signin.c pads the failure to at least this, capped.
	 */
	unsigned (*last_fail_delay_ms)(void);
	/* Is the directory reachable right now? 0 yes, -1 no (with *err_r). */
	int (*health)(struct backend *be, char **err_r);
	void (*free)(struct backend *be);
};

/* The registry (backend.c).  NULL when no backend has that name. */
const struct backend_ops *backend_find(const char *name);

/*
 * Validate a user name before it goes anywhere near a directory: length
 * 1..max_len, ASCII letters, digits and the characters in extra_chars only.
 * Returns true when acceptable.
 */
bool backend_username_ok(const char *user, unsigned max_len, const char *extra_chars);

#endif
