/* session.c — cookies and CSRF tokens (see session.h). */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "config.h"
#include "session.h"
#include "util.h"

#define CSRF_LABEL "idbridge csrf v1:"

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static bool
secure_issuer(const struct config *cfg)
{
	return strncmp(cfg->server.issuer, "https://", 8) == 0;
}

const char *
session_cookie_name(const struct config *cfg, enum session_cookie which)
{
	if (secure_issuer(cfg))
		return which == COOKIE_SESSION ? "__Host-idb_session" : "__Host-idb_preauth";
	return which == COOKIE_SESSION ? "idb_session" : "idb_preauth";
}

int
session_new_token(char *out, size_t size)
{
	unsigned char raw[32];

	if (size < SESSION_TOKEN_LEN + 1 || random_bytes(raw, sizeof(raw)) != 0)
		return -1;
	(void)b64url_encode(raw, sizeof(raw), out, size);
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

void
session_hash(const char *token, unsigned char *hash_r)
{
	unsigned int len = 0;

	if (EVP_Digest(token, strlen(token), hash_r, &len, EVP_sha256(), NULL) != 1)
		memset(hash_r, 0, SESSION_HASH_LEN);  /* never matches a stored row */
}

char *
session_set_cookie(const struct config *cfg, enum session_cookie which,
    const char *value, long max_age)
{
	char *s = NULL;

	/* Path=/ and no Domain: required by __Host-, and right for the plain name too. */
	if (asprintf(&s, "%s=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Lax%s",
	    session_cookie_name(cfg, which), max_age > 0 ? value : "", max_age > 0 ? max_age : 0,
	    secure_issuer(cfg) ? "; Secure" : "") < 0)
		return NULL;
	return s;
}

static bool
token_shape_ok(const char *v, size_t len)
{
	if (len != SESSION_TOKEN_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (strchr(b64url, v[i]) == NULL || v[i] == '\0')
			return false;
	return true;
}

bool
session_cookie_from_header(const struct config *cfg, enum session_cookie which,
    const char *header, char *out, size_t size)
{
	const char *name = session_cookie_name(cfg, which), *p = header;
	size_t nlen = strlen(name);
	int found = 0;

	if (header == NULL || size < SESSION_TOKEN_LEN + 1)
		return false;
	while (*p != '\0') {
		size_t len;

		p += strspn(p, " \t;");
		len = strcspn(p, ";");
		if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			const char *v = p + nlen + 1;
			size_t vlen = len - nlen - 1;

			while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			if (++found > 1 || !token_shape_ok(v, vlen))
				return false;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
		}
		p += len;
	}
	return found == 1;
}

void
session_csrf_for(const char *token, char *out, size_t size)
{
	unsigned char digest[32];
	unsigned int len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx != NULL && size >= SESSION_TOKEN_LEN + 1 &&
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, CSRF_LABEL, strlen(CSRF_LABEL)) == 1 &&
	    EVP_DigestUpdate(ctx, token, strlen(token)) == 1 &&
	    EVP_DigestFinal_ex(ctx, digest, &len) == 1;

	EVP_MD_CTX_free(ctx);
	if (!ok) {
		/* An empty token never matches (session_csrf_ok checks the length). */
		if (size > 0)
			out[0] = '\0';
		return;
	}
	(void)b64url_encode(digest, 32, out, size);
}

bool
session_csrf_ok(const char *token, const char *csrf)
{
	char want[SESSION_TOKEN_LEN + 1];

	if (token == NULL || csrf == NULL || strlen(csrf) != SESSION_TOKEN_LEN)
		return false;
	session_csrf_for(token, want, sizeof(want));
	return strlen(want) == SESSION_TOKEN_LEN &&
	    CRYPTO_memcmp(want, csrf, SESSION_TOKEN_LEN) == 0;
}
