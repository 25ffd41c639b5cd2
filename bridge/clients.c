/*
 * clients.c — finding a client (configured or stored) and checking its
 * secret, its redirect URIs and its scopes.  See clients.h for the rules.
 *
 * Stored clients: one snapshot (struct client_set) is current; a look-up
 * takes a reference under a mutex held for two pointer operations, then
 * searches the snapshot (sorted by client_id) without any lock.  Each
 * client in it points back at its snapshot (client_cfg.set), which is how
 * clients_release() finds what to release.  A newer snapshot replaces the
 * current one; the old one is freed by whoever releases it last.
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "clients.h"
#include "log.h"
#include "store_clients.h"
#include "util.h"

struct client_set {
	atomic_uint refs;
	struct store_client *clients;   /* sorted by client_id (strcmp) */
	size_t n;
	int64_t generation;
};

/*
 * The stored clients the daemon serves.  st and cfg are written only by
 * clients_init/clients_shutdown holding both locks, while no request runs.
 */
static struct {
	pthread_mutex_t lock;           /* guards current and its first reference step */
	pthread_mutex_t refresh_lock;   /* one thread re-reads the store at a time */
	struct store *st;               /* NULL: only configured clients */
	const struct config *cfg;
	struct client_set *current;
	atomic_uint_least64_t next_check_ms;
} stored = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.refresh_lock = PTHREAD_MUTEX_INITIALIZER,
};

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

/* ---- stored clients: snapshots -------------------------------------------- */

static void
set_free(struct client_set *cs)
{
	if (cs == NULL)
		return;
	store_clients_free(cs->clients, cs->n);
	free(cs);
}

static void
set_release(struct client_set *cs)
{
	if (cs != NULL && atomic_fetch_sub(&cs->refs, 1) == 1)
		set_free(cs);
}

/* Say once per load what the daemon will not serve as the store says. */
static void
set_warn(const struct config *cfg, const struct client_set *cs)
{
	char vb[LOG_SAFE_BUF], sb[LOG_SAFE_BUF];

	for (size_t i = 0; i < cs->n && cfg != NULL; i++) {
		const struct client_cfg *c = &cs->clients[i].c;

		for (size_t j = 0; j < cfg->n_clients; j++)
			if (strcmp(cfg->clients[j].id, c->id) == 0)
				log_warn("stored client %s is shadowed by [client %s] in %s: "
				    "the config's is used", log_safe(vb, sizeof(vb), c->id),
				    cfg->clients[j].id, cfg->path);
		for (size_t j = 0; j < c->scopes.n; j++)
			if (!config_scope_defined(cfg, c->scopes.items[j]))
				log_warn("stored client %s: scope '%s' is not defined in "
				    "[scopes]; it is never granted",
				    log_safe(vb, sizeof(vb), c->id),
				    log_safe(sb, sizeof(sb), c->scopes.items[j]));
	}
}

static struct client_set *
set_load(struct store *st, char **err_r)
{
	struct client_set *cs = calloc(1, sizeof(*cs));

	if (cs == NULL) {
		*err_r = strdup("out of memory");
		return NULL;
	}
	atomic_init(&cs->refs, 1);
	if (store_clients_load(st, &cs->clients, &cs->n, &cs->generation, err_r) != 0) {
		free(cs);
		return NULL;
	}
	for (size_t i = 0; i < cs->n; i++)
		cs->clients[i].c.set = cs;
	return cs;
}

/* Read the store and install the new snapshot; refresh_lock held. */
static int
reload_locked(char **err_r)
{
	struct client_set *cs, *old;

	if (stored.st == NULL)
		return 0;
	if ((cs = set_load(stored.st, err_r)) == NULL)
		return -1;
	atomic_store(&stored.next_check_ms, now_ms() + IDB_CLIENTS_RECHECK_MS);
	set_warn(stored.cfg, cs);
	pthread_mutex_lock(&stored.lock);
	old = stored.current;
	stored.current = cs;
	pthread_mutex_unlock(&stored.lock);
	set_release(old);
	return 0;
}

int
clients_reload(char **err_r)
{
	int r;

	*err_r = NULL;
	pthread_mutex_lock(&stored.refresh_lock);
	r = reload_locked(err_r);
	pthread_mutex_unlock(&stored.refresh_lock);
	return r;
}

int
clients_init(const struct config *cfg, struct store *st, char **err_r)
{
	int r;

	*err_r = NULL;
	pthread_mutex_lock(&stored.refresh_lock);
	stored.st = st;
	stored.cfg = cfg;
	if ((r = reload_locked(err_r)) != 0) {
		stored.st = NULL;
		stored.cfg = NULL;
	}
	pthread_mutex_unlock(&stored.refresh_lock);
	return r;
}

void
clients_shutdown(void)
{
	struct client_set *old;

	pthread_mutex_lock(&stored.refresh_lock);
	pthread_mutex_lock(&stored.lock);
	old = stored.current;
	stored.current = NULL;
	stored.st = NULL;
	stored.cfg = NULL;
	pthread_mutex_unlock(&stored.lock);
	pthread_mutex_unlock(&stored.refresh_lock);
	set_release(old);
}

/*
 * Called on every look-up of an id the config does not have: one atomic
 * load when nothing is due.  Once a second one thread reads the
 * generation and re-reads the clients when it changed.  A store error
 * keeps the current snapshot (sign-ins keep working) and is logged.
 */
static void
maybe_refresh(void)
{
	uint64_t mono = now_ms();
	int64_t gen;
	char *err = NULL;

	if (mono < atomic_load(&stored.next_check_ms))
		return;
	if (pthread_mutex_trylock(&stored.refresh_lock) != 0)
		return;  /* another thread is at it; use the current snapshot meanwhile */
	atomic_store(&stored.next_check_ms, mono + IDB_CLIENTS_RECHECK_MS);
	if (stored.st == NULL || stored.current == NULL)
		goto out;
	/* Only this thread (holding refresh_lock) swaps current: safe to read. */
	if (store_clients_generation(stored.st, &gen, &err) != 0 ||
	    gen == stored.current->generation)
		goto out;
	(void)reload_locked(&err);
out:
	if (err != NULL)
		log_warn("clients: cannot re-read the store: %s", err);
	free(err);
	pthread_mutex_unlock(&stored.refresh_lock);
}

/* The current snapshot (a reference), or NULL when no store is served. */
static struct client_set *
set_acquire(void)
{
	struct client_set *cs;

	maybe_refresh();
	pthread_mutex_lock(&stored.lock);
	if ((cs = stored.current) != NULL)
		atomic_fetch_add(&cs->refs, 1);
	pthread_mutex_unlock(&stored.lock);
	return cs;
}

static int
cmp_id(const void *key, const void *elem)
{
	return strcmp(key, ((const struct store_client *)elem)->c.id);
}

static const struct client_cfg *
find_stored(const char *client_id)
{
	struct client_set *cs = set_acquire();
	const struct store_client *sc;

	if (cs == NULL)
		return NULL;
	sc = bsearch(client_id, cs->clients, cs->n, sizeof(*cs->clients), cmp_id);
	if (sc == NULL) {
		set_release(cs);
		return NULL;
	}
	return &sc->c;   /* the reference taken is released with it */
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
	return find_stored(client_id);
}

void
clients_release(const struct client_cfg *client)
{
	/* Configured clients live as long as the config: only snapshots count. */
	if (client != NULL)
		set_release(client->set);
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

int
client_secret_hash(const char *secret, size_t len, unsigned char out[IDB_SHA256_LEN])
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	int r = -1;

	pthread_once(&sha256_once, sha256_fetch);
	if (sha256_md != NULL && EVP_Digest(secret, len, digest, &dlen, sha256_md, NULL) == 1 &&
	    dlen == IDB_SHA256_LEN) {
		memcpy(out, digest, IDB_SHA256_LEN);
		r = 0;
	}
	explicit_bzero(digest, sizeof(digest));
	return r;
}

/* [A-Za-z0-9], uniformly: bytes >= 248 (= 4 * 62) are rejected. */
int
client_secret_generate(char out[IDB_CLIENT_SECRET_GEN_LEN + 1])
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char buf[64];
	size_t o = 0;

	while (o < IDB_CLIENT_SECRET_GEN_LEN) {
		if (random_bytes(buf, sizeof(buf)) != 0) {
			explicit_bzero(buf, sizeof(buf));
			explicit_bzero(out, IDB_CLIENT_SECRET_GEN_LEN + 1);
			return -1;
		}
		for (size_t i = 0; i < sizeof(buf) && o < IDB_CLIENT_SECRET_GEN_LEN; i++)
			if (buf[i] < 248)
				out[o++] = alphabet[buf[i] % 62];
	}
	explicit_bzero(buf, sizeof(buf));
	out[IDB_CLIENT_SECRET_GEN_LEN] = '\0';
	return 0;
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
	unsigned char digest[IDB_SHA256_LEN];
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
	if (client_secret_hash(secret, len, digest) != 0) {
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
