/*
 * clients.c — finding a configured client and checking its secret, its
 * redirect URIs and its scopes.  See clients.h for the rules.
 */
#include "autoconfig.h"

#include <pthread.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "clients.h"
#include "util.h"

bool
client_id_valid(const char *s, size_t len)
{
	if (s == NULL || len == 0 || len > IDB_MAX_CLIENT_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x21 || c > 0x7e || c == '"' || c == '\\' || c == ':')
			return false;
	}
	return true;
}

const struct client_cfg *
clients_find(const struct config *cfg, const char *client_id)
{
	if (cfg == NULL || client_id == NULL ||
	    !client_id_valid(client_id, strlen(client_id)))
		return NULL;
	for (size_t i = 0; i < cfg->n_clients; i++)
		if (strcmp(cfg->clients[i].id, client_id) == 0)
			return &cfg->clients[i];
	return NULL;
}

void
clients_release(const struct client_cfg *client)
{
	/* Configured clients live as long as the config; nothing to do yet. */
	(void)client;
}

/*
 * SHA-256 fetched once: OpenSSL 3's implicit fetch inside EVP_Digest
 * (EVP_sha256()) takes a global lock on every call, and /token checks a
 * secret on every request.
 */
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

static void
sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/*
 * Every slot is compared, whether it holds a hash or not, and an unknown
 * client is compared against a slot set that never matches (no input has
 * an all-zero SHA-256 we know of), so the time taken depends only on the
 * secret's length — which the caller chose.
 */
bool
client_secret_ok(const struct client_cfg *client, const char *secret, size_t len)
{
	static const unsigned char none[IDB_MAX_CLIENT_SECRETS][IDB_SHA256_LEN];
	const unsigned char (*hashes)[IDB_SHA256_LEN] = none;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	size_t n = 0;
	int match = 0;

	if (client != NULL) {
		hashes = client->secret_hash;
		n = client->n_secrets;
	}
	if (secret == NULL) {
		secret = "";
		len = 0;
	}
	pthread_once(&sha256_once, sha256_fetch);
	if (sha256_md == NULL ||
	    EVP_Digest(secret, len, digest, &dlen, sha256_md, NULL) != 1 ||
	    dlen != IDB_SHA256_LEN) {
		explicit_bzero(digest, sizeof(digest));
		return false;
	}
	for (size_t i = 0; i < IDB_MAX_CLIENT_SECRETS; i++) {
		int same = CRYPTO_memcmp(digest, hashes[i], IDB_SHA256_LEN) == 0;

		match |= same & (i < n);
	}
	explicit_bzero(digest, sizeof(digest));
	/* An empty secret never authenticates, however it hashes. */
	return match != 0 && len > 0;
}

/* The loopback hosts whose port a public client may choose (RFC 8252 §7.3). */
static const char *const loopback_prefixes[] = {
	"http://127.0.0.1",
	"http://[::1]",
	"http://localhost",
};

/*
 * After a loopback prefix: ":PORT" (1 to 65535, no leading zero) or nothing;
 * returns what follows, or NULL when the port is malformed.
 */
static const char *
skip_port(const char *s)
{
	unsigned long v = 0;
	size_t digits = 0;

	if (*s != ':')
		return s;
	s++;
	if (*s < '1' || *s > '9')
		return NULL;
	for (; *s >= '0' && *s <= '9' && digits < 6; s++, digits++)
		v = v * 10 + (unsigned long)(*s - '0');
	if (digits > 5 || v > 65535)
		return NULL;
	return s;
}

/* Does uri match the loopback URI registered, the port aside? */
static bool
loopback_match(const char *registered, const char *uri)
{
	for (size_t i = 0; i < sizeof(loopback_prefixes) / sizeof(loopback_prefixes[0]); i++) {
		const char *prefix = loopback_prefixes[i];
		size_t plen = strlen(prefix);
		const char *r, *u;

		if (strncmp(registered, prefix, plen) != 0 ||
		    strncmp(uri, prefix, plen) != 0)
			continue;
		r = skip_port(registered + plen);
		u = skip_port(uri + plen);
		/* "http://localhost.evil.example" is not localhost: what follows
		 * the host must be the same, and it starts with '/', '?' or ends. */
		if (r == NULL || u == NULL || (*r != '\0' && *r != '/' && *r != '?'))
			return false;
		return strcmp(r, u) == 0;
	}
	return false;
}

bool
client_redirect_ok(const struct client_cfg *client, const char *uri)
{
	if (client == NULL || uri == NULL || strlen(uri) > IDB_MAX_REDIRECT_URI_LEN)
		return false;
	for (size_t i = 0; i < client->redirect_uris.n; i++) {
		const char *registered = client->redirect_uris.items[i];

		if (strcmp(registered, uri) == 0)
			return true;
		if (client->is_public && loopback_match(registered, uri))
			return true;
	}
	return false;
}

bool
client_scope_allowed(const struct client_cfg *client, const char *scope)
{
	return client != NULL && scope != NULL &&
	    strlist_contains(&client->scopes, scope);
}

const char *
client_audience(const struct config *cfg, const struct client_cfg *client)
{
	const struct plugin_cfg *p;

	if (client != NULL &&
	    (p = config_plugin_for_client(cfg, client->id)) != NULL &&
	    p->audience != NULL)
		return p->audience;
	return cfg->server.issuer;
}
