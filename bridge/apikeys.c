/*
 * apikeys.c — make and store an employee's API key under the rules
 * of apikeys.h, with one audit line whatever the outcome.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apikeys.h"
#include "audit.h"
#include "backend.h"
#include "config.h"
#include "log.h"
#include "scopes.h"
#include "store.h"
#include "store_apikeys.h"
#include "util.h"

bool
apikey_name_ok(const char *name)
{
	size_t n = name != NULL ? strlen(name) : 0;

	if (n == 0 || n > IDB_APIKEY_NAME_MAX || name[0] == ' ' || name[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] > 0x7e)
			return false;
	return true;
}

/* Every wanted scope is among those id may receive now. */
static enum mint_result
check_scopes(const struct config *cfg, const struct identity *id, const struct strlist *want,
    struct minted *out)
{
	struct strlist allowed = { 0 };
	enum mint_result r = MINT_OK;

	if (want == NULL || want->n == 0)
		return MINT_NO_SCOPES;
	if (scopes_for_identity(cfg, id, &allowed) != 0)
		return MINT_ERROR;
	for (size_t i = 0; i < want->n && r == MINT_OK; i++)
		if (!strlist_contains(&allowed, want->items[i])) {
			r = MINT_SCOPE_NOT_ALLOWED;
			out->bad_scope = want->items[i];
		}
	strlist_free(&allowed);
	return r;
}

/* The expiry for a requested lifetime under max_lifetime; -1 when too long. */
static int64_t
expiry(const struct config *cfg, int64_t lifetime, int64_t now)
{
	int64_t max = cfg->apikeys.max_lifetime;

	if (lifetime < 0 || (max > 0 && lifetime > max))
		return -1;
	if (lifetime == 0)
		return max > 0 ? now + max : 0;
	return now + lifetime;
}

/* Generate, hash and insert; the key into out. */
static enum mint_result
store_new_key(const struct config *cfg, struct store *st, const struct identity *id,
    const struct mint_request *m, int64_t now, struct minted *out)
{
	char prefix[IDB_APIKEY_PREFIX_LEN + 1], *scope = NULL, *err = NULL;
	unsigned char hash[IDB_SHA256_LEN];
	enum mint_result r = MINT_ERROR;
	struct store_apikey_new k = {
		.prefix = prefix, .hash = hash, .user_id = id->id, .username = id->username,
		.name = m->name, .expires_at = out->expires_at,
		.max_live = cfg->apikeys.max_per_user,
	};

	if ((scope = strlist_join(m->scopes, " ")) == NULL || apikey_generate(out->key) != 0 ||
	    apikey_hash(out->key, hash) != 0)
		goto out;
	apikey_prefix(out->key, prefix);
	k.scope = scope;
	switch (store_apikey_insert(st, &k, now, &out->id, &err)) {
	case 0:
		r = MINT_OK;
		break;
	case 1:
		r = MINT_LIMIT;
		break;
	default:
		log_err("api keys: cannot store a key for %s: %s", id->username,
		    err != NULL ? err : "store error");
		break;
	}
out:
	if (r != MINT_OK)
		explicit_bzero(out->key, sizeof(out->key));
	explicit_bzero(hash, sizeof(hash));
	free(scope);
	free(err);
	return r;
}

enum mint_result
apikey_mint(const struct config *cfg, struct store *st, const struct identity *id,
    const struct mint_request *m, struct minted *out)
{
	int64_t now = (int64_t)time(NULL);
	enum mint_result r;

	memset(out, 0, sizeof(*out));
	if (!apikey_name_ok(m->name))
		r = MINT_BAD_NAME;
	else if ((r = check_scopes(cfg, id, m->scopes, out)) != MINT_OK)
		;
	else if ((out->expires_at = expiry(cfg, m->lifetime, now)) < 0)
		r = MINT_TOO_LONG;
	else
		r = store_new_key(cfg, st, id, m, now, out);
	audit_apikey("apikey_issue", id->username, r == MINT_OK ? (long long)out->id : 0,
	    r == MINT_OK ? "ok" : r == MINT_LIMIT ? "limit" : r == MINT_ERROR ? "error" :
	    "refused", m->addr);
	return r;
}

const char *
apikey_mint_message(enum mint_result r, const struct config *cfg, const struct minted *out,
    char *buf, size_t size)
{
	unsigned max = cfg->apikeys.max_lifetime;

	switch (r) {
	case MINT_OK:
		snprintf(buf, size, "The key was created.");
		break;
	case MINT_BAD_NAME:
		snprintf(buf, size, "Give the key a name of 1 to %d characters (letters, digits, "
		    "spaces and punctuation, no space at either end).", IDB_APIKEY_NAME_MAX);
		break;
	case MINT_NO_SCOPES:
		snprintf(buf, size, "Choose at least one scope for the key.");
		break;
	case MINT_SCOPE_NOT_ALLOWED:
		snprintf(buf, size, "The account's groups do not allow the scope %s.",
		    out->bad_scope != NULL ? out->bad_scope : "asked for");
		break;
	case MINT_TOO_LONG:
		if (max % 86400 == 0)
			snprintf(buf, size, "A key may live at most %u days.", max / 86400);
		else
			snprintf(buf, size, "A key may live at most %u seconds.", max);
		break;
	case MINT_LIMIT:
		snprintf(buf, size, "This account already holds %u live keys, the most allowed: "
		    "revoke one first.", cfg->apikeys.max_per_user);
		break;
	case MINT_ERROR:
	default:
		snprintf(buf, size, "The key could not be saved: try again later.");
		break;
	}
	return buf;
}

int
apikeys_list_own(struct store *st, const char *username, const char *user_id,
    struct store_apikey **keys_r, size_t *n_r)
{
	struct store_apikey *all = NULL;
	size_t n = 0, kept = 0;
	char *err = NULL;

	*keys_r = NULL;
	*n_r = 0;
	if (store_apikeys_list(st, username, &all, &n, &err) != 0) {
		log_err("api keys: cannot list the keys of %s: %s", username,
		    err != NULL ? err : "store error");
		free(err);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (all[i].revoked_at == 0 && all[i].user_id != NULL &&
		    strcmp(all[i].user_id, user_id) == 0) {
			if (kept != i) {
				struct store_apikey tmp = all[kept];

				all[kept] = all[i];
				all[i] = tmp;
			}
			kept++;
		}
	}
	/* The others move to the tail and are freed with it. */
	for (size_t i = kept; i < n; i++)
		store_apikey_clear(&all[i]);
	*keys_r = all;
	*n_r = kept;
	return 0;
}

enum revoke_own_result
apikeys_revoke_own(struct store *st, const char *username, const char *user_id, int64_t id,
    const char *addr)
{
	struct store_apikey *keys = NULL;
	enum revoke_own_result r = REVOKE_OWN_NOT_FOUND;
	char *err = NULL;
	size_t n = 0;
	int changes = 0;

	if (apikeys_list_own(st, username, user_id, &keys, &n) != 0)
		return REVOKE_OWN_ERROR;
	for (size_t i = 0; i < n && r == REVOKE_OWN_NOT_FOUND; i++) {
		if (keys[i].id != id)
			continue;
		if (store_apikey_revoke(st, id, (int64_t)time(NULL), &changes, &err) != 0) {
			log_err("api keys: cannot revoke key %lld: %s", (long long)id,
			    err != NULL ? err : "store error");
			r = REVOKE_OWN_ERROR;
		} else {
			r = changes > 0 ? REVOKE_OWN_OK : REVOKE_OWN_NOT_FOUND;
		}
	}
	audit_apikey("apikey_revoke", username, (long long)id, r == REVOKE_OWN_OK ? "ok" :
	    r == REVOKE_OWN_ERROR ? "error" : "not_found", addr);
	store_apikeys_free(keys, n);
	free(err);
	return r;
}
