/*
 * keys.c — signing keys: generated here, kept in the store (PKCS#8 PEM),
 * loaded into immutable snapshots that many threads share, published as
 * a JWKS (see keys.h for the life of a key).
 *
 * Speed: OpenSSL 3 looks algorithms up in a locked method store on every
 * EVP_DigestSignInit, which serialises threads.  So each key gets one
 * initialised signing context and one verifying context when it is loaded,
 * and every call copies the template (EVP_MD_CTX_copy_ex duplicates the
 * provider's state without any lookup) and signs on the copy with
 * EVP_MD_CTX_FLAG_FINALISE, so the final step makes no second copy.  The
 * templates themselves are only ever read.
 */
#include "autoconfig.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "keys.h"
#include "log.h"
#include "store.h"
#include "token.h"
#include "util.h"

#define RSA_BITS 2048
#define EC_COORD_LEN 32               /* P-256 */
#define ED25519_KEY_LEN 32

struct signing_key {
	char kid[KEYS_KID_LEN + 1];
	enum jwt_alg alg;
	EVP_PKEY *pkey;
	EVP_MD_CTX *sign_tmpl;
	EVP_MD_CTX *verify_tmpl;
	json_t *jwk;
	int64_t activate_at, retire_at, drop_at;
};

struct keyset {
	atomic_uint refs;
	struct signing_key *keys;
	size_t n;
	const struct signing_key *signer;
	char *jwks;
	size_t jwks_len;
	int64_t generation;
	int64_t valid_until;          /* the next activation, retirement or drop */
};

struct keys {
	struct store *st;
	enum jwt_alg alg;
	unsigned access_ttl;
	int64_t (*clock)(void *);
	void *clock_arg;
	pthread_mutex_t lock;         /* guards current (and its reference count's first step) */
	pthread_mutex_t refresh_lock; /* one thread re-reads the store at a time */
	struct keyset *current;
	atomic_uint_least64_t next_check_ms;
	atomic_int_least64_t valid_until;
};

static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

static void
fetch_md(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
}

static int64_t
wall_clock(void *arg)
{
	(void)arg;
	return (int64_t)time(NULL);
}

static char *
errdup(const char *msg)
{
	return strdup(msg);
}

/* ---- JWK and thumbprint ------------------------------------------------- */

static bool
b64url_string(const json_t *v, size_t max)
{
	const char *s = json_string_value(v);
	size_t len;

	if (s == NULL || (len = strlen(s)) == 0 || len > max)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == len;
}

int
jwk_thumbprint(const json_t *jwk, char out[KEYS_KID_LEN + 1])
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	const json_t *x = json_object_get(jwk, "x"), *y = json_object_get(jwk, "y");
	const json_t *n = json_object_get(jwk, "n"), *e = json_object_get(jwk, "e");
	unsigned char digest[IDB_SHA256_LEN];
	char *canon = NULL;
	int r = -1, len = -1;

	if (kty == NULL)
		return -1;
	/* RFC 7638 §3.2: the required members only, sorted, no whitespace. */
	if (strcmp(kty, "RSA") == 0 && b64url_string(e, 16) && b64url_string(n, 1400))
		len = asprintf(&canon, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}",
		    json_string_value(e), json_string_value(n));
	else if (strcmp(kty, "EC") == 0 && crv != NULL && strcmp(crv, "P-256") == 0 &&
	    b64url_string(x, 43) && b64url_string(y, 43))
		len = asprintf(&canon, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
		    json_string_value(x), json_string_value(y));
	else if (strcmp(kty, "OKP") == 0 && crv != NULL && strcmp(crv, "Ed25519") == 0 &&
	    b64url_string(x, 43))
		len = asprintf(&canon, "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}",
		    json_string_value(x));
	if (len < 0)
		return -1;
	if (token_hash(canon, (size_t)len, digest) == 0) {
		(void)b64url_encode(digest, sizeof(digest), out, KEYS_KID_LEN + 1);
		r = 0;
	}
	free(canon);
	return r;
}

/* A BIGNUM parameter of pkey as base64url, left-padded to pad bytes (0: minimal). */
static char *
bn_param_b64(const EVP_PKEY *pkey, const char *name, int pad)
{
	unsigned char buf[1024];
	BIGNUM *bn = NULL;
	char *out = NULL;
	int n;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
		return NULL;
	n = pad > 0 ? BN_bn2binpad(bn, buf, pad) :
	    (BN_num_bytes(bn) <= (int)sizeof(buf) ? BN_bn2bin(bn, buf) : -1);
	if (n > 0)
		out = b64url_encode_alloc(buf, (size_t)n);
	BN_free(bn);
	return out;
}

/* The public members of pkey (kty and crv/n/e/x/y), checked against alg. */
static json_t *
public_members(const EVP_PKEY *pkey, enum jwt_alg alg)
{
	char *a = NULL, *b = NULL, group[32];
	unsigned char raw[ED25519_KEY_LEN];
	json_t *jwk = NULL;
	size_t len = 0;

	switch (alg) {
	case JWT_ALG_RS256:
		if (!EVP_PKEY_is_a(pkey, "RSA") || EVP_PKEY_get_bits(pkey) < RSA_BITS ||
		    (a = bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_N, 0)) == NULL ||
		    (b = bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_E, 0)) == NULL)
			break;
		jwk = json_pack("{s:s,s:s,s:s}", "kty", "RSA", "n", a, "e", b);
		break;
	case JWT_ALG_ES256:
		if (!EVP_PKEY_is_a(pkey, "EC") || EVP_PKEY_get_utf8_string_param(pkey,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) != 1 ||
		    strcmp(group, "prime256v1") != 0 ||
		    (a = bn_param_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_X, EC_COORD_LEN)) == NULL ||
		    (b = bn_param_b64(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, EC_COORD_LEN)) == NULL)
			break;
		jwk = json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "x", a, "y", b);
		break;
	case JWT_ALG_EDDSA:
		if (!EVP_PKEY_is_a(pkey, "ED25519") || EVP_PKEY_get_octet_string_param(pkey,
		    OSSL_PKEY_PARAM_PUB_KEY, raw, sizeof(raw), &len) != 1 ||
		    len != ED25519_KEY_LEN || (a = b64url_encode_alloc(raw, len)) == NULL)
			break;
		jwk = json_pack("{s:s,s:s,s:s}", "kty", "OKP", "crv", "Ed25519", "x", a);
		break;
	}
	free(a);
	free(b);
	return jwk;
}

/* The full public JWK of pkey, and its kid in kid_out. */
static json_t *
public_jwk(const EVP_PKEY *pkey, enum jwt_alg alg, char kid_out[KEYS_KID_LEN + 1])
{
	json_t *jwk = public_members(pkey, alg);

	if (jwk == NULL || jwk_thumbprint(jwk, kid_out) != 0 ||
	    json_object_set_new(jwk, "kid", json_string(kid_out)) != 0 ||
	    json_object_set_new(jwk, "alg", json_string(jwt_alg_name(alg))) != 0 ||
	    json_object_set_new(jwk, "use", json_string("sig")) != 0) {
		json_decref(jwk);
		return NULL;
	}
	return jwk;
}

/* ---- key material ------------------------------------------------------- */

static EVP_PKEY *
generate(enum jwt_alg alg)
{
	switch (alg) {
	case JWT_ALG_RS256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)RSA_BITS);
	case JWT_ALG_ES256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case JWT_ALG_EDDSA:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	}
	return NULL;
}

/* PKCS#8 PEM of pkey's private key in a new string (wipe it: free_secret_str). */
static char *
export_pem(EVP_PKEY *pkey)
{
	BIO *bio = BIO_new(BIO_s_secmem());  /* wiped when freed */
	char *data = NULL, *pem = NULL;
	long len;

	if (bio != NULL && PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1 &&
	    (len = BIO_get_mem_data(bio, &data)) > 0 && len <= IDB_MAX_KEY_PEM_LEN &&
	    (pem = malloc((size_t)len + 1)) != NULL) {
		memcpy(pem, data, (size_t)len);
		pem[len] = '\0';
	}
	BIO_free(bio);
	return pem;
}

static EVP_PKEY *
import_pem(const char *pem)
{
	size_t len = strlen(pem);
	EVP_PKEY *pkey = NULL;
	BIO *bio;

	if (len > IDB_MAX_KEY_PEM_LEN || strncmp(pem, "-----BEGIN PRIVATE KEY-----", 27) != 0)
		return NULL;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return NULL;
	pkey = PEM_read_bio_PrivateKey_ex(bio, NULL, NULL, NULL, NULL, NULL);
	BIO_free(bio);
	return pkey;
}

static EVP_MD_CTX *
make_template(EVP_PKEY *pkey, enum jwt_alg alg, bool sign)
{
	/* EdDSA hashes inside the signature: no separate digest. */
	const EVP_MD *md = alg == JWT_ALG_EDDSA ? NULL : sha256_md;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok;

	if (c == NULL)
		return NULL;
	ok = sign ? EVP_DigestSignInit(c, NULL, md, NULL, pkey) :
	    EVP_DigestVerifyInit(c, NULL, md, NULL, pkey);
	if (ok != 1) {
		EVP_MD_CTX_free(c);
		return NULL;
	}
	return c;
}

static void
key_clear(struct signing_key *k)
{
	EVP_MD_CTX_free(k->sign_tmpl);
	EVP_MD_CTX_free(k->verify_tmpl);
	EVP_PKEY_free(k->pkey);
	json_decref(k->jwk);
	memset(k, 0, sizeof(*k));
}

/* A stored row into a usable key.  The kid must match the key: a row edited by hand is refused. */
static int
key_from_row(const struct store_signing_key *row, struct signing_key *k)
{
	char kid[KEYS_KID_LEN + 1];

	memset(k, 0, sizeof(*k));
	if (jwt_alg_parse(row->alg, &k->alg) != 0 || (k->pkey = import_pem(row->private_pem)) == NULL ||
	    (k->jwk = public_jwk(k->pkey, k->alg, kid)) == NULL || strcmp(kid, row->kid) != 0 ||
	    (k->sign_tmpl = make_template(k->pkey, k->alg, true)) == NULL ||
	    (k->verify_tmpl = make_template(k->pkey, k->alg, false)) == NULL) {
		key_clear(k);
		return -1;
	}
	memcpy(k->kid, kid, sizeof(kid));
	k->activate_at = row->activate_at;
	k->retire_at = row->retire_at;
	k->drop_at = row->drop_at;
	return 0;
}

/* ---- signing through a handle ------------------------------------------- */

static EVP_MD_CTX *
copy_template(const EVP_MD_CTX *tmpl)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (c != NULL && EVP_MD_CTX_copy_ex(c, tmpl) != 1) {
		EVP_MD_CTX_free(c);
		return NULL;
	}
	if (c != NULL)
		EVP_MD_CTX_set_flags(c, EVP_MD_CTX_FLAG_FINALISE);
	return c;
}

int
signing_key_sign(const struct signing_key *key, const void *data, size_t len,
    unsigned char *sig, size_t *sig_len_r)
{
	unsigned char der[JWS_MAX_SIG_LEN];
	EVP_MD_CTX *c = copy_template(key->sign_tmpl);
	size_t n = sizeof(der);
	int r = -1;

	if (c == NULL || EVP_DigestSign(c, der, &n, data, len) != 1)
		goto out;
	if (key->alg == JWT_ALG_ES256) {
		if (jws_es256_der_to_raw(der, n, sig) != 0)
			goto out;
		n = JWS_ES256_SIG_LEN;
	} else
		memcpy(sig, der, n);
	*sig_len_r = n;
	r = 0;
out:
	EVP_MD_CTX_free(c);
	return r;
}

int
signing_key_verify(const struct signing_key *key, const void *data, size_t len,
    const unsigned char *sig, size_t sig_len)
{
	unsigned char der[JWS_MAX_SIG_LEN];
	EVP_MD_CTX *c;
	int r;

	if (key->alg == JWT_ALG_ES256) {
		/* JWS demands exactly R‖S: a DER signature or a short one is refused. */
		if (jws_es256_raw_to_der(sig, sig_len, der, sizeof(der), &sig_len) != 0)
			return 0;
		sig = der;
	}
	if ((c = copy_template(key->verify_tmpl)) == NULL)
		return -1;
	r = EVP_DigestVerify(c, sig, sig_len, data, len);
	EVP_MD_CTX_free(c);
	return r == 1 ? 1 : 0;
}

const char *
signing_key_kid(const struct signing_key *key)
{
	return key->kid;
}

enum jwt_alg
signing_key_alg(const struct signing_key *key)
{
	return key->alg;
}

const json_t *
signing_key_jwk(const struct signing_key *key)
{
	return key->jwk;
}

/* ---- snapshots ---------------------------------------------------------- */

static void
keyset_free(struct keyset *ks)
{
	if (ks == NULL)
		return;
	for (size_t i = 0; i < ks->n; i++)
		key_clear(&ks->keys[i]);
	free(ks->keys);
	free(ks->jwks);
	free(ks);
}

void
keyset_release(const struct keyset *cks)
{
	struct keyset *ks = (struct keyset *)(uintptr_t)cks;  /* refs is the one mutable field */

	if (ks != NULL && atomic_fetch_sub(&ks->refs, 1) == 1)
		keyset_free(ks);
}

const char *
keyset_jwks(const struct keyset *ks, size_t *len_r)
{
	*len_r = ks->jwks_len;
	return ks->jwks;
}

const struct signing_key *
keyset_signer(const struct keyset *ks)
{
	return ks->signer;
}

const struct signing_key *
keyset_find(const struct keyset *ks, const char *kid)
{
	for (size_t i = 0; i < ks->n; i++)
		if (strcmp(ks->keys[i].kid, kid) == 0)
			return &ks->keys[i];
	return NULL;
}

size_t
keyset_count(const struct keyset *ks)
{
	return ks->n;
}

const struct signing_key *
keyset_key(const struct keyset *ks, size_t i)
{
	return i < ks->n ? &ks->keys[i] : NULL;
}

static void
note_event(int64_t *until, int64_t t, int64_t now)
{
	if (t > now && t < *until)
		*until = t;
}

/* The signer at now, the next moment the set changes, and the JWKS body. */
static int
keyset_finish(struct keyset *ks, int64_t now)
{
	json_t *doc = json_pack("{s:[]}", "keys"), *arr = json_object_get(doc, "keys");

	ks->valid_until = INT64_MAX;
	for (size_t i = 0; i < ks->n; i++) {
		const struct signing_key *k = &ks->keys[i];

		if (k->activate_at <= now && (k->retire_at == 0 || k->retire_at > now) &&
		    (ks->signer == NULL || k->activate_at >= ks->signer->activate_at))
			ks->signer = k;
		note_event(&ks->valid_until, k->activate_at, now);
		note_event(&ks->valid_until, k->retire_at, now);
		note_event(&ks->valid_until, k->drop_at, now);
		if (arr != NULL && json_array_append(arr, k->jwk) != 0)
			arr = NULL;
	}
	if (arr != NULL)
		ks->jwks = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (ks->jwks == NULL)
		return -1;
	ks->jwks_len = strlen(ks->jwks);
	return 0;
}

/* A snapshot of the store's keys at now.  NULL with *err_r. */
static struct keyset *
keyset_load(struct store *st, int64_t now, char **err_r)
{
	struct store_signing_key *rows = NULL;
	struct keyset *ks = NULL;
	size_t n = 0;

	pthread_once(&md_once, fetch_md);
	if (sha256_md == NULL) {
		*err_r = errdup("OpenSSL has no SHA-256");
		return NULL;
	}
	if ((ks = calloc(1, sizeof(*ks))) == NULL)
		goto nomem;
	atomic_init(&ks->refs, 1);
	if (store_signing_keys_load(st, now, &rows, &n, &ks->generation, err_r) != 0)
		goto fail;
	if (n > 0 && (ks->keys = calloc(n, sizeof(*ks->keys))) == NULL)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		if (key_from_row(&rows[i], &ks->keys[ks->n]) == 0)
			ks->n++;
		else
			log_err("signing key %.43s (%s) in the store cannot be used; skipped",
			    rows[i].kid, rows[i].alg);
	}
	if (keyset_finish(ks, now) != 0)
		goto nomem;
	store_signing_keys_free(rows, n);
	return ks;
nomem:
	*err_r = errdup("out of memory");
fail:
	store_signing_keys_free(rows, n);
	keyset_free(ks);
	return NULL;
}

/* Install ks as the current snapshot; the old one goes when its last user releases it. */
static void
keys_swap(struct keys *k, struct keyset *ks)
{
	struct keyset *old;

	pthread_mutex_lock(&k->lock);
	old = k->current;
	k->current = ks;
	atomic_store(&k->valid_until, ks->valid_until);
	pthread_mutex_unlock(&k->lock);
	keyset_release(old);
}

static int
reload_locked(struct keys *k, char **err_r)
{
	struct keyset *ks = keyset_load(k->st, k->clock(k->clock_arg), err_r);

	if (ks == NULL)
		return -1;
	atomic_store(&k->next_check_ms, now_ms() + IDB_KEYS_RECHECK_MS);
	keys_swap(k, ks);
	return 0;
}

int
keys_reload(struct keys *k, char **err_r)
{
	int r;

	*err_r = NULL;
	pthread_mutex_lock(&k->refresh_lock);
	r = reload_locked(k, err_r);
	pthread_mutex_unlock(&k->refresh_lock);
	return r;
}

/*
 * Called on every acquire: two atomic loads when nothing is due.  Once a
 * second one thread reads the generation; a changed generation or a passed
 * activation/retirement time rebuilds the snapshot.  A store error keeps
 * the current snapshot (tokens keep flowing) and is logged.
 */
static void
maybe_refresh(struct keys *k)
{
	uint64_t mono = now_ms();
	int64_t now = k->clock(k->clock_arg), gen;
	char *err = NULL;

	if (mono < atomic_load(&k->next_check_ms) && now < atomic_load(&k->valid_until))
		return;
	if (pthread_mutex_trylock(&k->refresh_lock) != 0)
		return;  /* another thread is at it; use the current set meanwhile */
	atomic_store(&k->next_check_ms, mono + IDB_KEYS_RECHECK_MS);
	if (now < atomic_load(&k->valid_until)) {
		if (store_signing_keys_generation(k->st, &gen, &err) != 0)
			goto out;
		if (gen == k->current->generation)  /* only this thread swaps: safe to read */
			goto out;
	}
	if (reload_locked(k, &err) != 0)
		atomic_store(&k->valid_until, now + 1);  /* retry in a second, not on every request */
out:
	if (err != NULL)
		log_warn("signing keys: cannot re-read the store: %s", err);
	free(err);
	pthread_mutex_unlock(&k->refresh_lock);
}

const struct keyset *
keys_acquire(struct keys *k)
{
	struct keyset *ks;

	maybe_refresh(k);
	pthread_mutex_lock(&k->lock);
	ks = k->current;
	atomic_fetch_add(&ks->refs, 1);
	pthread_mutex_unlock(&k->lock);
	return ks;
}

void
keys_set_clock(struct keys *k, int64_t (*clock)(void *arg), void *arg)
{
	k->clock = clock != NULL ? clock : wall_clock;
	k->clock_arg = arg;
}

/* ---- creation and rotation ---------------------------------------------- */

/* A new key as a store row; *info_r describes it. */
static int
new_key_row(enum jwt_alg alg, int64_t now, struct store_signing_key *row, char **err_r)
{
	char kid[KEYS_KID_LEN + 1];
	EVP_PKEY *pkey = NULL;
	json_t *jwk = NULL;
	int r = -1;

	memset(row, 0, sizeof(*row));
	if ((pkey = generate(alg)) == NULL || (jwk = public_jwk(pkey, alg, kid)) == NULL ||
	    (row->private_pem = export_pem(pkey)) == NULL ||
	    (row->kid = strdup(kid)) == NULL || (row->alg = strdup(jwt_alg_name(alg))) == NULL) {
		*err_r = errdup("cannot generate a signing key (OpenSSL failed)");
		goto out;
	}
	row->created_at = now;
	r = 0;
out:
	EVP_PKEY_free(pkey);
	json_decref(jwk);
	return r;
}

static void
row_clear(struct store_signing_key *row)
{
	free(row->kid);
	free(row->alg);
	free_secret_str(row->private_pem);
	memset(row, 0, sizeof(*row));
}

int
keys_rotate(struct store *st, enum jwt_alg alg, unsigned access_ttl, int64_t now,
    struct keys_info *new_r, char **err_r)
{
	struct store_signing_key row;
	int64_t activate_at = 0;
	int r = -1;

	*err_r = NULL;
	if (new_key_row(alg, now, &row, err_r) != 0)
		return -1;
	if (store_signing_key_rotate(st, &row, now, IDB_JWKS_MAX_AGE_S,
	    (int64_t)access_ttl + IDB_JWT_CLOCK_SKEW_S, &activate_at, err_r) != 0)
		goto out;
	memset(new_r, 0, sizeof(*new_r));
	memcpy(new_r->kid, row.kid, KEYS_KID_LEN + 1);
	new_r->alg = alg;
	new_r->created_at = now;
	new_r->activate_at = activate_at;
	log_info("audit: event=signing_key_published kid=%s alg=%s activate_at=%lld",
	    row.kid, row.alg, (long long)activate_at);
	r = 0;
out:
	row_clear(&row);
	return r;
}

int
keys_list(struct store *st, int64_t now, struct keys_info **infos_r, size_t *n_r,
    char **err_r)
{
	struct store_signing_key *rows = NULL;
	struct keys_info *infos = NULL;
	int64_t gen;
	size_t n = 0;
	int r = -1;

	*infos_r = NULL;
	*n_r = 0;
	if (store_signing_keys_load(st, now, &rows, &n, &gen, err_r) != 0)
		return -1;
	if ((infos = calloc(n + 1, sizeof(*infos))) == NULL) {
		*err_r = errdup("out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(infos[i].kid, sizeof(infos[i].kid), "%s", rows[i].kid);
		if (jwt_alg_parse(rows[i].alg, &infos[i].alg) != 0)
			infos[i].alg = JWT_ALG_RS256;  /* the table's CHECK forbids any other */
		infos[i].created_at = rows[i].created_at;
		infos[i].activate_at = rows[i].activate_at;
		infos[i].retire_at = rows[i].retire_at;
		infos[i].drop_at = rows[i].drop_at;
	}
	*infos_r = infos;
	*n_r = n;
	r = 0;
out:
	store_signing_keys_free(rows, n);
	return r;
}

static struct keys *
keys_new(struct store *st, enum jwt_alg alg, unsigned access_ttl)
{
	struct keys *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	k->st = st;
	k->alg = alg;
	k->access_ttl = access_ttl;
	k->clock = wall_clock;
	pthread_mutex_init(&k->lock, NULL);
	pthread_mutex_init(&k->refresh_lock, NULL);
	return k;
}

/* First start: a key that signs at once.  Someone else may have won the race: fine. */
static int
create_first(struct keys *k, char **err_r)
{
	struct store_signing_key row;
	int64_t now = k->clock(k->clock_arg);
	bool inserted = false;
	int r;

	if (new_key_row(k->alg, now, &row, err_r) != 0)
		return -1;
	r = store_signing_key_create_first(k->st, &row, now, &inserted, err_r);
	if (r == 0 && inserted)
		log_info("audit: event=signing_key_created kid=%s alg=%s", row.kid, row.alg);
	row_clear(&row);
	return r;
}

/* The configured alg differs from the newest key's (the one signing, or about to): say so. */
static void
warn_alg(const struct keys *k)
{
	const struct keyset *ks = k->current;
	const struct signing_key *newest = ks->n > 0 ? &ks->keys[ks->n - 1] : NULL;

	if (newest != NULL && newest->alg != k->alg)
		log_warn("signing keys: the store signs with %s, the configuration asks for %s;"
		    " run `idbridge signing-key rotate` to change over without breaking tokens",
		    jwt_alg_name(newest->alg), jwt_alg_name(k->alg));
}

int
keys_load_or_create(struct store *st, enum jwt_alg alg, unsigned access_ttl,
    struct keys **keys_r, char **err_r)
{
	struct keys *k = keys_new(st, alg, access_ttl);

	*err_r = NULL;
	*keys_r = NULL;
	if (k == NULL) {
		*err_r = errdup("out of memory");
		return -1;
	}
	if (keys_reload(k, err_r) != 0)
		goto fail;
	if (k->current->signer == NULL && (create_first(k, err_r) != 0 ||
	    keys_reload(k, err_r) != 0))
		goto fail;
	if (k->current->signer == NULL) {
		*err_r = errdup("no usable signing key in the store");
		goto fail;
	}
	warn_alg(k);
	*keys_r = k;
	return 0;
fail:
	keys_free(k);
	return -1;
}

void
keys_free(struct keys *k)
{
	if (k == NULL)
		return;
	keyset_release(k->current);
	pthread_mutex_destroy(&k->lock);
	pthread_mutex_destroy(&k->refresh_lock);
	free(k);
}
