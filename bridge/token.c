/*
 * token.c — compact JWS for RFC 9068 access tokens, strict base64url,
 * SHA-256, and the ES256 DER ↔ R‖S conversion.
 *
 * The cryptography itself is done by the key handles of keys.c (private
 * keys never leave that module); this file owns the token format and every
 * rule a verifier applies.  Rules that protect against known JWT attacks:
 * the algorithm comes from the key the kid selects (the header can only
 * agree with it, so "none", HS256 with a public key as secret, or RS256
 * against an EC key are all refused); header members that would let the
 * token pick its own key (jku, x5u, jwk, x5c) or demand unknown semantics
 * (crit) are refused; the payload is parsed only once the signature holds.
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "keys.h"
#include "log.h"
#include "token.h"
#include "util.h"

static const char *const alg_names[] = {
	[JWT_ALG_RS256] = "RS256",
	[JWT_ALG_ES256] = "ES256",
	[JWT_ALG_EDDSA] = "EdDSA",
};

const char *
jwt_alg_name(enum jwt_alg alg)
{
	return alg_names[alg];
}

int
jwt_alg_parse(const char *name, enum jwt_alg *alg_r)
{
	for (size_t i = 0; i < sizeof(alg_names) / sizeof(alg_names[0]); i++) {
		if (strcmp(name, alg_names[i]) == 0) {
			*alg_r = (enum jwt_alg)i;
			return 0;
		}
	}
	return -1;
}

const char *
jwt_status_name(enum jwt_status s)
{
	switch (s) {
	case JWT_OK: return "ok";
	case JWT_TOO_LONG: return "too long";
	case JWT_MALFORMED: return "malformed";
	case JWT_BAD_HEADER: return "bad header";
	case JWT_FORBIDDEN_HEADER: return "forbidden header member";
	case JWT_BAD_TYP: return "typ is not at+jwt";
	case JWT_UNKNOWN_KID: return "unknown kid";
	case JWT_ALG_MISMATCH: return "alg does not match the key";
	case JWT_BAD_SIGNATURE: return "bad signature";
	case JWT_BAD_CLAIMS: return "bad claims";
	case JWT_EXPIRED: return "expired";
	case JWT_NOT_YET_VALID: return "not yet valid";
	case JWT_BAD_ISSUER: return "wrong issuer";
	case JWT_BAD_AUDIENCE: return "wrong audience";
	case JWT_INTERNAL: return "internal error";
	}
	return "?";
}

/* ---- base64url ---------------------------------------------------------- */

size_t
b64url_encoded_len(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

char *
b64url_encode_alloc(const unsigned char *in, size_t n)
{
	size_t size = b64url_encoded_len(n) + 1;
	char *out = malloc(size);

	if (out != NULL && b64url_encode(in, n, out, size) != size - 1) {
		free(out);
		out = NULL;
	}
	return out;
}

int
b64url_decode(const char *in, size_t len, unsigned char *out, size_t out_size,
    size_t *len_r)
{
	size_t need = len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
	uint32_t acc = 0;
	size_t o = 0;
	int bits = 0;

	if (len % 4 == 1 || need > out_size)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = b64_digit_value((unsigned char)in[i], true);

		if (v < 0)
			return -1;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* Left-over bits must be zero: otherwise two strings decode alike. */
	if ((acc & ((1u << bits) - 1)) != 0)
		return -1;
	*len_r = o;
	return 0;
}

/* ---- hashing ------------------------------------------------------------ */

/*
 * SHA-256 is fetched once: OpenSSL 3 would otherwise look the algorithm up
 * in its (locked) method store on every call.
 */
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

static void
fetch_sha256(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
}

int
token_hash(const void *data, size_t len, unsigned char out[IDB_SHA256_LEN])
{
	unsigned int n = 0;

	pthread_once(&sha256_once, fetch_sha256);
	if (sha256_md == NULL || EVP_Digest(data, len, out, &n, sha256_md, NULL) != 1 ||
	    n != IDB_SHA256_LEN)
		return -1;
	return 0;
}

/* ---- ES256 signature formats -------------------------------------------- */

int
jws_es256_der_to_raw(const unsigned char *der, size_t len,
    unsigned char raw[JWS_ES256_SIG_LEN])
{
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *sig;
	int rc = -1;

	if (len > 128 || (sig = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL)
		return -1;
	if (p != der + len)
		goto out;  /* trailing bytes */
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_is_negative(r) || BN_is_negative(s) ||
	    BN_bn2binpad(r, raw, JWS_ES256_SIG_LEN / 2) < 0 ||
	    BN_bn2binpad(s, raw + JWS_ES256_SIG_LEN / 2, JWS_ES256_SIG_LEN / 2) < 0)
		goto out;
	rc = 0;
out:
	ECDSA_SIG_free(sig);
	return rc;
}

int
jws_es256_raw_to_der(const unsigned char *raw, size_t raw_len, unsigned char *out,
    size_t out_size, size_t *len_r)
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *p = out;
	int n, rc = -1;

	if (raw_len != JWS_ES256_SIG_LEN)
		return -1;
	r = BN_bin2bn(raw, JWS_ES256_SIG_LEN / 2, NULL);
	s = BN_bin2bn(raw + JWS_ES256_SIG_LEN / 2, JWS_ES256_SIG_LEN / 2, NULL);
	if (r == NULL || s == NULL || (sig = ECDSA_SIG_new()) == NULL ||
	    ECDSA_SIG_set0(sig, r, s) != 1)
		goto out;
	r = s = NULL;  /* owned by sig now */
	if ((n = i2d_ECDSA_SIG(sig, NULL)) <= 0 || (size_t)n > out_size ||
	    i2d_ECDSA_SIG(sig, &p) != n)
		goto out;
	*len_r = (size_t)n;
	rc = 0;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return rc;
}

/* ---- signing ------------------------------------------------------------ */

/* base64url(JSON) of v into a new string, or NULL. */
static char *
encode_json(const json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT);
	char *out;

	if (text == NULL)
		return NULL;
	out = b64url_encode_alloc((const unsigned char *)text, strlen(text));
	free(text);
	return out;
}

/* header.payload of claims for key, in a new string. */
static char *
signing_input(const struct signing_key *key, const json_t *claims)
{
	json_t *header = json_pack("{s:s,s:s,s:s}", "alg",
	    jwt_alg_name(signing_key_alg(key)), "typ", "at+jwt", "kid", signing_key_kid(key));
	char *h = NULL, *p = NULL, *input = NULL;

	if (header != NULL && (h = encode_json(header)) != NULL &&
	    (p = encode_json(claims)) != NULL && asprintf(&input, "%s.%s", h, p) < 0)
		input = NULL;
	json_decref(header);
	free(h);
	free(p);
	return input;
}

int
jwt_sign_with(const struct signing_key *key, const json_t *claims, char **jwt_r)
{
	unsigned char sig[JWS_MAX_SIG_LEN];
	char sig64[JWS_MAX_SIG_LEN * 4 / 3 + 4];
	char *input = NULL, *jwt = NULL;
	size_t sig_len = 0, in_len;
	int r = -1;

	*jwt_r = NULL;
	if (!json_is_object(claims) || (input = signing_input(key, claims)) == NULL)
		goto out;
	in_len = strlen(input);
	if (signing_key_sign(key, input, in_len, sig, &sig_len) != 0) {
		log_err("jwt: signing failed");
		goto out;
	}
	(void)b64url_encode(sig, sig_len, sig64, sizeof(sig64));
	if (in_len + 1 + strlen(sig64) > IDB_MAX_JWT_LEN) {
		log_err("jwt: the token would exceed %d bytes; not issued", IDB_MAX_JWT_LEN);
		goto out;
	}
	if (asprintf(&jwt, "%s.%s", input, sig64) < 0)
		goto out;
	*jwt_r = jwt;
	r = 0;
out:
	free(input);
	return r;
}

int
jwt_sign(struct keys *keys, const json_t *claims, char **jwt_r)
{
	const struct keyset *ks = keys_acquire(keys);
	const struct signing_key *key = keyset_signer(ks);
	int r = -1;

	*jwt_r = NULL;
	if (key == NULL)
		log_err("jwt: no signing key is active (see `idbridge signing-key list`)");
	else
		r = jwt_sign_with(key, claims, jwt_r);
	keyset_release(ks);
	return r;
}

/* ---- verifying ---------------------------------------------------------- */

/* base64url segment → JSON object, parsed strictly.  NULL if it is anything else. */
static json_t *
decode_object(const char *seg, size_t len)
{
	unsigned char *buf = malloc(len / 4 * 3 + 3);
	json_t *v = NULL;
	size_t n;

	if (buf != NULL && b64url_decode(seg, len, buf, len / 4 * 3 + 3, &n) == 0)
		v = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
	free(buf);
	if (v != NULL && !json_is_object(v)) {
		json_decref(v);
		v = NULL;
	}
	return v;
}

/* RFC 9068 §4: "at+jwt", also written as the full media type. */
static bool
typ_ok(const json_t *typ)
{
	const char *t = json_string_value(typ);

	return t != NULL && (strcasecmp(t, "at+jwt") == 0 ||
	    strcasecmp(t, "application/at+jwt") == 0);
}

static enum jwt_status
check_header(const json_t *h, const char **alg_r, const char **kid_r)
{
	static const char *const forbidden[] = { "crit", "jku", "x5u", "jwk", "x5c" };

	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
		if (json_object_get(h, forbidden[i]) != NULL)
			return JWT_FORBIDDEN_HEADER;
	if (!typ_ok(json_object_get(h, "typ")))
		return JWT_BAD_TYP;
	*alg_r = json_string_value(json_object_get(h, "alg"));
	*kid_r = json_string_value(json_object_get(h, "kid"));
	if (*alg_r == NULL || *kid_r == NULL)
		return JWT_BAD_HEADER;
	return JWT_OK;
}

/* An integer claim: 1 present, 0 absent, -1 present but not an integer. */
static int
int_claim(const json_t *claims, const char *name, int64_t *v_r)
{
	const json_t *v = json_object_get(claims, name);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v))
		return -1;
	*v_r = json_integer_value(v);
	return 1;
}

static bool
audience_ok(const json_t *aud, const char *want)
{
	size_t i;
	json_t *v;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	if (!json_is_array(aud))
		return false;
	json_array_foreach(aud, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
			return true;
	return false;
}

static enum jwt_status
check_claims(const json_t *c, const struct jwt_expect *want)
{
	int64_t exp = 0, iat = 0, nbf = 0;
	const char *iss;
	int has_nbf;

	if (int_claim(c, "exp", &exp) != 1 || int_claim(c, "iat", &iat) != 1 ||
	    (has_nbf = int_claim(c, "nbf", &nbf)) < 0)
		return JWT_BAD_CLAIMS;
	if (want->now >= exp + IDB_JWT_CLOCK_SKEW_S)
		return JWT_EXPIRED;
	if (iat > want->now + IDB_JWT_CLOCK_SKEW_S ||
	    (has_nbf && nbf > want->now + IDB_JWT_CLOCK_SKEW_S))
		return JWT_NOT_YET_VALID;
	if (want->issuer != NULL && ((iss = json_string_value(json_object_get(c, "iss"))) == NULL ||
	    strcmp(iss, want->issuer) != 0))
		return JWT_BAD_ISSUER;
	if (want->audience != NULL && !audience_ok(json_object_get(c, "aud"), want->audience))
		return JWT_BAD_AUDIENCE;
	return JWT_OK;
}

/* The signature of key over jwt[0, input_len) is sig64[0, sig64_len)? */
static enum jwt_status
check_signature(const struct signing_key *key, const char *jwt, size_t input_len,
    const char *sig64, size_t sig64_len)
{
	unsigned char sig[JWS_MAX_SIG_LEN];
	size_t sig_len;

	if (b64url_decode(sig64, sig64_len, sig, sizeof(sig), &sig_len) != 0)
		return JWT_MALFORMED;
	switch (signing_key_verify(key, jwt, input_len, sig, sig_len)) {
	case 1:
		return JWT_OK;
	case 0:
		return JWT_BAD_SIGNATURE;
	default:
		return JWT_INTERNAL;
	}
}

enum jwt_status
jwt_verify(struct keys *keys, const char *jwt, const struct jwt_expect *want,
    json_t **claims_r)
{
	const struct keyset *ks = NULL;
	const struct signing_key *key;
	const char *dot1, *dot2, *alg, *kid;
	json_t *header = NULL, *claims = NULL;
	enum jwt_status s;
	size_t len;

	if (claims_r != NULL)
		*claims_r = NULL;
	if ((len = strnlen(jwt, IDB_MAX_JWT_LEN + 1)) > IDB_MAX_JWT_LEN)
		return JWT_TOO_LONG;
	if ((dot1 = memchr(jwt, '.', len)) == NULL ||
	    (dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - jwt))) == NULL)
		return JWT_MALFORMED;
	if ((size_t)(dot1 - jwt) > IDB_MAX_JWT_HEADER_LEN)
		return JWT_TOO_LONG;
	if ((header = decode_object(jwt, (size_t)(dot1 - jwt))) == NULL)
		return JWT_MALFORMED;
	if ((s = check_header(header, &alg, &kid)) != JWT_OK)
		goto out;
	ks = keys_acquire(keys);
	if ((key = keyset_find(ks, kid)) == NULL) {
		s = JWT_UNKNOWN_KID;
		goto out;
	}
	if (strcmp(alg, jwt_alg_name(signing_key_alg(key))) != 0) {
		s = JWT_ALG_MISMATCH;
		goto out;
	}
	/* A third dot lands in the signature segment and fails its decoding. */
	if ((s = check_signature(key, jwt, (size_t)(dot2 - jwt), dot2 + 1,
	    len - (size_t)(dot2 + 1 - jwt))) != JWT_OK)
		goto out;
	if ((claims = decode_object(dot1 + 1, (size_t)(dot2 - dot1 - 1))) == NULL) {
		s = JWT_MALFORMED;
		goto out;
	}
	if ((s = check_claims(claims, want)) == JWT_OK && claims_r != NULL) {
		*claims_r = claims;
		claims = NULL;
	}
out:
	if (ks != NULL)
		keyset_release(ks);
	json_decref(header);
	json_decref(claims);
	return s;
}
