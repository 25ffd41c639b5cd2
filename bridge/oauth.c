/* oauth.c — PKCE and scope rules (see oauth.h). */
#include "autoconfig.h"

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "oauth.h"
#include "util.h"

static bool
only_chars(const char *s, const char *extra)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || strchr(extra, c) != NULL))
			return false;
	}
	return true;
}

bool
pkce_verifier_ok(const char *verifier)
{
	size_t len;

	if (verifier == NULL)
		return false;
	len = strlen(verifier);
	return len >= PKCE_VERIFIER_MIN && len <= PKCE_VERIFIER_MAX &&
	    only_chars(verifier, "-._~");
}

bool
pkce_challenge_ok(const char *challenge)
{
	return challenge != NULL && strlen(challenge) == PKCE_CHALLENGE_LEN &&
	    only_chars(challenge, "-_");
}

bool
pkce_s256_matches(const char *verifier, const char *challenge)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	char computed[PKCE_CHALLENGE_LEN + 1];
	unsigned int len = 0;

	if (!pkce_verifier_ok(verifier) || !pkce_challenge_ok(challenge))
		return false;
	if (EVP_Digest(verifier, strlen(verifier), digest, &len, EVP_sha256(), NULL) != 1 ||
	    len != 32)
		return false;
	if (b64url_encode(digest, len, computed, sizeof(computed)) != PKCE_CHALLENGE_LEN)
		return false;
	return CRYPTO_memcmp(computed, challenge, PKCE_CHALLENGE_LEN) == 0;
}

/* RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) */
static bool
scope_token_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
			return false;
	}
	return len > 0;
}

enum scope_parse
scope_parse(const char *param, struct strlist *out)
{
	char token[OAUTH_MAX_SCOPE_LEN + 1];
	const char *p = param;

	strlist_free(out);
	if (param == NULL)
		return SCOPE_OK;
	while (*p != '\0') {
		size_t len;

		/* RFC 6749 separates with single spaces; tolerate runs of them. */
		p += strspn(p, " ");
		if ((len = strcspn(p, " ")) == 0)
			break;
		if (len > OAUTH_MAX_SCOPE_LEN)
			goto too_long;
		if (!scope_token_ok(p, len))
			goto bad;
		memcpy(token, p, len);
		token[len] = '\0';
		if (!strlist_contains(out, token)) {
			if (out->n >= OAUTH_MAX_SCOPES) {
				strlist_free(out);
				return SCOPE_TOO_MANY;
			}
			if (strlist_add(out, token) != 0) {
				strlist_free(out);
				return SCOPE_NOMEM;
			}
		}
		p += len;
	}
	return SCOPE_OK;
too_long:
	strlist_free(out);
	return SCOPE_TOO_LONG;
bad:
	strlist_free(out);
	return SCOPE_BAD_SYNTAX;
}

int
scope_grant(const struct strlist *requested, const struct strlist *client_scopes,
    const struct strlist *allowed, struct strlist *out, bool *unknown_r)
{
	*unknown_r = false;
	strlist_free(out);
	for (size_t i = 0; i < requested->n; i++)
		if (!strlist_contains(client_scopes, requested->items[i]))
			*unknown_r = true;
	for (size_t i = 0; i < client_scopes->n; i++) {
		const char *s = client_scopes->items[i];

		if (requested->n > 0 && !strlist_contains(requested, s))
			continue;
		if (!strlist_contains(allowed, s))
			continue;
		if (strlist_add(out, s) != 0) {
			strlist_free(out);
			return -1;
		}
	}
	return 0;
}
