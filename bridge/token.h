/*
 * token.h — JWT access tokens (RFC 9068, compact JWS), base64url, hashing.
 *
 * Signing:
 *	char *jwt = NULL;
 *	if (jwt_sign(keys, claims, &jwt) == 0) { ...; free(jwt); }
 * The header is {"alg", "typ":"at+jwt", "kid"} of the key signing now
 * (keys.h); the claims are signed as given (the token endpoint builds them).
 *
 * Verifying:
 *	struct jwt_expect want = { .now = time(NULL), .issuer = iss, .audience = aud };
 *	json_t *claims = NULL;
 *	enum jwt_status s = jwt_verify(keys, token, &want, &claims);
 * The algorithm is the one of the key that the header's kid names; the
 * header's alg must merely agree with it.  typ must be at+jwt; crit, jku,
 * x5u, jwk and x5c are refused; the payload is parsed only after the
 * signature verified.  Both calls are safe from any number of threads.
 */
#ifndef IDBRIDGE_TOKEN_H
#define IDBRIDGE_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "bridge.h"

struct keys;

/* The JWS algorithms idbridge signs with.  Nothing else is ever accepted. */
enum jwt_alg { JWT_ALG_RS256, JWT_ALG_ES256, JWT_ALG_EDDSA };

/* "RS256", "ES256", "EdDSA". */
const char *jwt_alg_name(enum jwt_alg alg);
/* 0 and *alg_r for one of the three names (exact case), else -1. */
int jwt_alg_parse(const char *name, enum jwt_alg *alg_r) IDB_WUR;

/* ---- base64url (RFC 4648 §5, no padding; the encoder is util.h's) ---- */

/* Characters needed to encode n bytes (without the NUL). */
size_t b64url_encoded_len(size_t n);
/* The encoding of n bytes as a new NUL-terminated string, or NULL on ENOMEM. */
char *b64url_encode_alloc(const unsigned char *in, size_t n);
/*
 * Strict decoding: only [A-Za-z0-9_-], no padding, no whitespace, a length
 * that is not 1 mod 4, and zero bits left over in the last character (one
 * encoding per value).  0 and *len_r, or -1 (also when out_size is short).
 */
int b64url_decode(const char *in, size_t len, unsigned char *out, size_t out_size,
    size_t *len_r) IDB_WUR;

/* ---- hashing ------------------------------------------------------------ */

/* SHA-256 of data (for codes, refresh tokens, API keys).  0 or -1. */
int token_hash(const void *data, size_t len, unsigned char out[IDB_SHA256_LEN]) IDB_WUR;

/* ---- ES256 signature formats -------------------------------------------- */

#define JWS_ES256_SIG_LEN 64          /* R ‖ S, 32 bytes each, big-endian */
#define JWS_MAX_SIG_LEN 512           /* any signature we make (RSA up to 4096 bits) */

/*
 * OpenSSL's DER ECDSA-Sig-Value → JWS's R‖S.  Refuses trailing bytes and
 * integers over 32 bytes.  0 or -1.
 */
int jws_es256_der_to_raw(const unsigned char *der, size_t len,
    unsigned char raw[JWS_ES256_SIG_LEN]) IDB_WUR;
/* JWS R‖S (exactly 64 bytes) → DER into out (out_size ≥ 72).  0 and *len_r, or -1. */
int jws_es256_raw_to_der(const unsigned char *raw, size_t raw_len, unsigned char *out,
    size_t out_size, size_t *len_r) IDB_WUR;

/* ---- JWT ---------------------------------------------------------------- */

/* Why a token was refused.  The reasons are for logs and tests; a client only ever sees invalid_token. */
enum jwt_status {
	JWT_OK,
	JWT_TOO_LONG,           /* over IDB_MAX_JWT_LEN (or its header over IDB_MAX_JWT_HEADER_LEN) */
	JWT_MALFORMED,          /* not three base64url segments, or not JSON objects */
	JWT_BAD_HEADER,         /* alg or kid missing or not strings */
	JWT_FORBIDDEN_HEADER,   /* crit, jku, x5u, jwk or x5c present */
	JWT_BAD_TYP,            /* typ missing or not at+jwt */
	JWT_UNKNOWN_KID,        /* no published key has that kid */
	JWT_ALG_MISMATCH,       /* header alg is not the alg of the kid's key (none, HS256 …) */
	JWT_BAD_SIGNATURE,
	JWT_BAD_CLAIMS,         /* exp or iat missing or not integers, nbf not an integer */
	JWT_EXPIRED,
	JWT_NOT_YET_VALID,      /* nbf or iat in the future beyond the skew */
	JWT_BAD_ISSUER,
	JWT_BAD_AUDIENCE,
	JWT_INTERNAL,           /* out of memory, OpenSSL failure */
};

const char *jwt_status_name(enum jwt_status s);

/* What a verifier expects.  issuer and audience may be NULL: not checked. */
struct jwt_expect {
	int64_t now;            /* seconds since the epoch */
	const char *issuer;     /* iss must equal this */
	const char *audience;   /* aud (string or array) must contain this */
};

/*
 * Sign claims with the key signing now.  0 and a new string in *jwt_r, or
 * -1 (no signing key, the token would exceed IDB_MAX_JWT_LEN, or an error;
 * logged).
 */
int jwt_sign(struct keys *keys, const json_t *claims, char **jwt_r) IDB_WUR;
/* The same with a given key of a snapshot (tests; jwt_sign picks the signer). */
struct signing_key;
int jwt_sign_with(const struct signing_key *key, const json_t *claims, char **jwt_r) IDB_WUR;

/*
 * Verify jwt against the published keys.  JWT_OK and, when claims_r is not
 * NULL, a new reference to the claims in *claims_r; anything else leaves
 * *claims_r NULL.
 */
enum jwt_status jwt_verify(struct keys *keys, const char *jwt, const struct jwt_expect *want,
    json_t **claims_r) IDB_WUR;

#endif
