/*
 * test_token.c — base64url (RFC 4648 vectors, strictness), JWT sign and
 * verify for each algorithm, and every reason a token is refused:
 * tampering, algorithm confusion, typ, forbidden header members, time,
 * issuer and audience, unknown kid, size, garbage; the ES256 DER ↔ R‖S
 * conversion; many threads signing and verifying at once.
 *
 * Tokens with hostile headers are signed with the real keys, so each case
 * reaches the check it names instead of failing on the signature first.
 */
#include "autoconfig.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "keys.h"
#include "store.h"
#include "token.h"
#include "util.h"
#include "teststore.h"

#define ISS "https://sso.example.com"
#define AUD "https://api.example.com"

struct fixture {
	struct teststore ts;
	struct keys *keys;
	const struct keyset *ks;
	const struct signing_key *key[3];   /* by enum jwt_alg */
	int64_t now;
};

static struct fixture *F;

static int
group_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct keys_info info;
	char *err = NULL;

	assert_non_null(f);
	teststore_open(&f->ts, "token");
	if (keys_load_or_create(f->ts.st, JWT_ALG_RS256, 900, &f->keys, &err) != 0)
		fail_msg("fixture: %s", err);
	/*
	 * "Now" is read after the first key exists: it is created at the wall
	 * clock, and a second boundary crossed while RSA keys are generated must
	 * not leave it activating after the rotations below.
	 */
	f->now = (int64_t)time(NULL);
	if (keys_rotate(f->ts.st, JWT_ALG_ES256, 900, f->now, &info, &err) != 0 ||
	    keys_rotate(f->ts.st, JWT_ALG_EDDSA, 900, f->now, &info, &err) != 0 ||
	    keys_reload(f->keys, &err) != 0)
		fail_msg("fixture: %s", err);
	f->ks = keys_acquire(f->keys);
	assert_int_equal(keyset_count(f->ks), 3);
	for (size_t i = 0; i < 3; i++) {
		const struct signing_key *k = keyset_key(f->ks, i);

		f->key[signing_key_alg(k)] = k;
	}
	for (int a = 0; a < 3; a++)
		assert_non_null(f->key[a]);
	F = f;
	*state = f;
	return 0;
}

static int
group_teardown(void **state)
{
	struct fixture *f = *state;

	keyset_release(f->ks);
	keys_free(f->keys);
	teststore_close(&f->ts);
	free(f);
	return 0;
}

/* ---- base64url ---------------------------------------------------------- */

static const struct {
	const char *plain;
	size_t len;
	const char *encoded;
} b64_vectors[] = {
	/* RFC 4648 §10, without padding */
	{ "", 0, "" },
	{ "f", 1, "Zg" },
	{ "fo", 2, "Zm8" },
	{ "foo", 3, "Zm9v" },
	{ "foob", 4, "Zm9vYg" },
	{ "fooba", 5, "Zm9vYmE" },
	{ "foobar", 6, "Zm9vYmFy" },
	/* the two characters that differ from base64 */
	{ "\xfb\xff", 2, "-_8" },
	{ "\x00\x00\x00", 3, "AAAA" },
};

static void
test_b64url_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(b64_vectors) / sizeof(b64_vectors[0]); i++) {
		unsigned char out[16];
		char *enc = b64url_encode_alloc((const unsigned char *)b64_vectors[i].plain,
		    b64_vectors[i].len);
		size_t n = 99;

		assert_non_null(enc);
		assert_string_equal(enc, b64_vectors[i].encoded);
		assert_int_equal(b64url_encoded_len(b64_vectors[i].len), strlen(enc));
		free(enc);
		assert_int_equal(b64url_decode(b64_vectors[i].encoded,
		    strlen(b64_vectors[i].encoded), out, sizeof(out), &n), 0);
		assert_int_equal(n, b64_vectors[i].len);
		assert_memory_equal(out, b64_vectors[i].plain, n);
	}
}

static void
test_b64url_strict(void **state)
{
	static const char *const bad[] = {
		"Zg==",         /* padding */
		"Zm9v=",
		"Z",            /* length 1 mod 4 */
		"Zm9vY",
		"Zm9v!",        /* outside the alphabet */
		"Zm9v Yg",      /* whitespace */
		"Zm9v\nYg",
		"+/8",          /* base64, not base64url */
		"Zh",           /* left-over bits not zero: a second spelling of "f" */
		"Zm9",          /* idem for "fo" */
	};
	unsigned char out[16];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (b64url_decode(bad[i], strlen(bad[i]), out, sizeof(out), &n) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	/* An output buffer too small is refused, never overrun. */
	assert_int_equal(b64url_decode("Zm9vYmFy", 8, out, 5, &n), -1);
	assert_int_equal(b64url_decode("Zm9vYmFy", 8, out, 6, &n), 0);
	assert_int_equal(n, 6);
}

static void
test_token_hash(void **state)
{
	/* FIPS 180-2 "abc" */
	static const unsigned char abc[IDB_SHA256_LEN] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde,
		0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
		0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	unsigned char out[IDB_SHA256_LEN];

	(void)state;
	assert_int_equal(token_hash("abc", 3, out), 0);
	assert_memory_equal(out, abc, sizeof(abc));
}

/* ---- helpers ------------------------------------------------------------ */

static json_t *
claims_at(int64_t iat, int64_t exp)
{
	return json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:s}", "iss", ISS, "sub", "user-1",
	    "aud", AUD, "iat", (json_int_t)iat, "exp", (json_int_t)exp, "jti", "j1",
	    "client_id", "jira", "scope", "read:resource");
}

static enum jwt_status
verify(const char *jwt, json_t **claims_r)
{
	struct jwt_expect want = { .now = F->now, .issuer = ISS, .audience = AUD };

	return jwt_verify(F->keys, jwt, &want, claims_r);
}

/* header.payload.signature from JSON texts, signed with key (or sig64 given). */
static char *
forge(const struct signing_key *key, const char *header, const char *payload,
    const char *sig64)
{
	char *h = b64url_encode_alloc((const unsigned char *)header, strlen(header));
	char *p = b64url_encode_alloc((const unsigned char *)payload, strlen(payload));
	char *input = NULL, *jwt = NULL, *s = NULL;
	unsigned char sig[JWS_MAX_SIG_LEN];
	size_t n;

	assert_true(asprintf(&input, "%s.%s", h, p) > 0);
	if (sig64 == NULL) {
		assert_int_equal(signing_key_sign(key, input, strlen(input), sig, &n), 0);
		s = b64url_encode_alloc(sig, n);
	} else
		s = strdup(sig64);
	assert_true(asprintf(&jwt, "%s.%s", input, s) > 0);
	free(h);
	free(p);
	free(s);
	free(input);
	return jwt;
}

static char *
payload_text(int64_t iat, int64_t exp)
{
	json_t *c = claims_at(iat, exp);
	char *t = json_dumps(c, JSON_COMPACT);

	json_decref(c);
	return t;
}

/* ---- round trips -------------------------------------------------------- */

static void
test_round_trip_each_alg(void **state)
{
	(void)state;
	for (int a = 0; a < 3; a++) {
		const struct signing_key *key = F->key[a];
		json_t *c = claims_at(F->now, F->now + 900), *got = NULL, *h;
		unsigned char buf[512];
		char *jwt = NULL;
		const char *dot;
		size_t n;

		assert_int_equal(jwt_sign_with(key, c, &jwt), 0);
		assert_int_equal(verify(jwt, &got), JWT_OK);
		assert_true(json_equal(c, got));
		/* The header says what the key is. */
		dot = strchr(jwt, '.');
		assert_int_equal(b64url_decode(jwt, (size_t)(dot - jwt), buf, sizeof(buf), &n), 0);
		h = json_loadb((const char *)buf, n, 0, NULL);
		assert_non_null(h);
		assert_string_equal(json_string_value(json_object_get(h, "alg")),
		    jwt_alg_name((enum jwt_alg)a));
		assert_string_equal(json_string_value(json_object_get(h, "typ")), "at+jwt");
		assert_string_equal(json_string_value(json_object_get(h, "kid")),
		    signing_key_kid(key));
		assert_int_equal(json_object_size(h), 3);
		/* ES256 carries R‖S (64 bytes), EdDSA 64, RS256 the modulus size. */
		dot = strrchr(jwt, '.') + 1;
		assert_int_equal(b64url_decode(dot, strlen(dot), buf, sizeof(buf), &n), 0);
		assert_int_equal(n, a == JWT_ALG_RS256 ? 256 : 64);
		json_decref(h);
		json_decref(got);
		json_decref(c);
		free(jwt);
	}
}

static void
test_jwt_sign_uses_signer(void **state)
{
	json_t *c = claims_at(F->now, F->now + 900);
	char *jwt = NULL;

	(void)state;
	/* The RS256 key is the one signing; the others are only published. */
	assert_int_equal(jwt_sign(F->keys, c, &jwt), 0);
	assert_int_equal(verify(jwt, NULL), JWT_OK);
	assert_string_equal(signing_key_kid(keyset_signer(F->ks)), signing_key_kid(F->key[JWT_ALG_RS256]));
	free(jwt);
	/* A claim set that is not an object is refused. */
	json_decref(c);
	c = json_array();
	assert_int_equal(jwt_sign(F->keys, c, &jwt), -1);
	assert_null(jwt);
	json_decref(c);
}

/* ---- tampering ---------------------------------------------------------- */

/* Replace segment seg (0..2) of jwt with text. */
static char *
splice(const char *jwt, int seg, const char *text)
{
	const char *d1 = strchr(jwt, '.'), *d2 = strchr(d1 + 1, '.');
	char *out = NULL;

	if (seg == 0)
		assert_true(asprintf(&out, "%s%s", text, d1) > 0);
	else if (seg == 1)
		assert_true(asprintf(&out, "%.*s.%s%s", (int)(d1 - jwt), jwt, text, d2) > 0);
	else
		assert_true(asprintf(&out, "%.*s.%s", (int)(d2 - jwt), jwt, text) > 0);
	return out;
}

static void
test_tampered(void **state)
{
	(void)state;
	for (int a = 0; a < 3; a++) {
		const struct signing_key *key = F->key[a];
		json_t *c = claims_at(F->now, F->now + 900);
		char *jwt = NULL, *bad, *hdr, *p64, *other = payload_text(F->now, F->now + 9000);
		char *sig, hj[256];

		assert_int_equal(jwt_sign_with(key, c, &jwt), 0);
		/* payload swapped for a longer-lived one */
		p64 = b64url_encode_alloc((const unsigned char *)other, strlen(other));
		bad = splice(jwt, 1, p64);
		assert_int_equal(verify(bad, NULL), JWT_BAD_SIGNATURE);
		free(bad);
		/* header changed (an extra member) */
		snprintf(hj, sizeof(hj), "{\"alg\":\"%s\",\"typ\":\"at+jwt\",\"kid\":\"%s\",\"x\":1}",
		    jwt_alg_name((enum jwt_alg)a), signing_key_kid(key));
		hdr = b64url_encode_alloc((const unsigned char *)hj, strlen(hj));
		bad = splice(jwt, 0, hdr);
		assert_int_equal(verify(bad, NULL), JWT_BAD_SIGNATURE);
		free(bad);
		/* one signature character changed */
		sig = strdup(strrchr(jwt, '.') + 1);
		sig[0] = sig[0] == 'A' ? 'B' : 'A';
		bad = splice(jwt, 2, sig);
		assert_int_equal(verify(bad, NULL), JWT_BAD_SIGNATURE);
		free(bad);
		/* signature cut short (to a whole number of quads: it decodes), and empty */
		sig[(strlen(sig) / 4 - 1) * 4] = '\0';
		bad = splice(jwt, 2, sig);
		assert_int_equal(verify(bad, NULL), JWT_BAD_SIGNATURE);
		free(bad);
		bad = splice(jwt, 2, "");
		assert_int_equal(verify(bad, NULL), JWT_BAD_SIGNATURE);
		free(bad);
		free(sig);
		free(hdr);
		free(p64);
		free(other);
		free(jwt);
		json_decref(c);
	}
}

/* ---- header rules ------------------------------------------------------- */

struct header_case {
	const char *name;
	int key;               /* enum jwt_alg of the key whose kid the header names and that signs */
	const char *header;    /* printf: %s = that kid */
	enum jwt_status want;
};

static const struct header_case header_cases[] = {
	{ "alg none", JWT_ALG_RS256, "{\"alg\":\"none\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}",
	    JWT_ALG_MISMATCH },
	{ "alg HS256 with an RSA kid", JWT_ALG_RS256,
	    "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}", JWT_ALG_MISMATCH },
	{ "RS256 with an EC kid", JWT_ALG_ES256,
	    "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}", JWT_ALG_MISMATCH },
	{ "ES256 with an EdDSA kid", JWT_ALG_EDDSA,
	    "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}", JWT_ALG_MISMATCH },
	{ "alg in lower case", JWT_ALG_RS256,
	    "{\"alg\":\"rs256\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}", JWT_ALG_MISMATCH },
	{ "alg missing", JWT_ALG_RS256, "{\"typ\":\"at+jwt\",\"kid\":\"%s\"}", JWT_BAD_HEADER },
	{ "alg not a string", JWT_ALG_RS256, "{\"alg\":1,\"typ\":\"at+jwt\",\"kid\":\"%s\"}",
	    JWT_BAD_HEADER },
	{ "kid missing", JWT_ALG_RS256, "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"x\":\"%s\"}",
	    JWT_BAD_HEADER },
	{ "typ missing", JWT_ALG_RS256, "{\"alg\":\"RS256\",\"kid\":\"%s\"}", JWT_BAD_TYP },
	{ "typ JWT", JWT_ALG_RS256, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
	    JWT_BAD_TYP },
	{ "typ not a string", JWT_ALG_RS256, "{\"alg\":\"RS256\",\"typ\":[],\"kid\":\"%s\"}",
	    JWT_BAD_TYP },
	{ "crit", JWT_ALG_RS256,
	    "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"%s\",\"crit\":[\"exp\"]}",
	    JWT_FORBIDDEN_HEADER },
	{ "jku", JWT_ALG_RS256,
	    "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"%s\",\"jku\":\"https://evil\"}",
	    JWT_FORBIDDEN_HEADER },
	{ "x5u", JWT_ALG_RS256,
	    "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"%s\",\"x5u\":\"https://evil\"}",
	    JWT_FORBIDDEN_HEADER },
	{ "jwk", JWT_ALG_RS256,
	    "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"%s\",\"jwk\":{\"kty\":\"oct\"}}",
	    JWT_FORBIDDEN_HEADER },
	{ "x5c", JWT_ALG_RS256,
	    "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"%s\",\"x5c\":[]}",
	    JWT_FORBIDDEN_HEADER },
	{ "unknown kid", JWT_ALG_RS256,
	    "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"x%s\"}", JWT_UNKNOWN_KID },
	{ "duplicate member", JWT_ALG_RS256,
	    "{\"alg\":\"RS256\",\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}",
	    JWT_MALFORMED },
	{ "header an array", JWT_ALG_RS256, "[\"%s\"]", JWT_MALFORMED },
	/* the full media type RFC 9068 also allows */
	{ "typ application/at+jwt", JWT_ALG_ES256,
	    "{\"alg\":\"ES256\",\"typ\":\"application/at+jwt\",\"kid\":\"%s\"}", JWT_OK },
	{ "extra harmless member", JWT_ALG_EDDSA,
	    "{\"alg\":\"EdDSA\",\"typ\":\"at+jwt\",\"kid\":\"%s\",\"cty\":\"x\"}", JWT_OK },
};

static void
test_header_rules(void **state)
{
	char *payload = payload_text(F->now, F->now + 900);

	(void)state;
	for (size_t i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]); i++) {
		const struct header_case *hc = &header_cases[i];
		const struct signing_key *key = F->key[hc->key];
		char header[512], *jwt;
		enum jwt_status got;

		snprintf(header, sizeof(header), hc->header, signing_key_kid(key));
		jwt = forge(key, header, payload, NULL);
		got = verify(jwt, NULL);
		if (got != hc->want)
			fail_msg("%s: got %s, want %s", hc->name, jwt_status_name(got),
			    jwt_status_name(hc->want));
		free(jwt);
	}
	free(payload);
}

static void
test_alg_none_unsigned(void **state)
{
	char header[256], *jwt, *payload = payload_text(F->now, F->now + 900);

	(void)state;
	/* The classic: alg none, empty signature, a real kid. */
	snprintf(header, sizeof(header), "{\"alg\":\"none\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}",
	    signing_key_kid(F->key[JWT_ALG_RS256]));
	jwt = forge(NULL, header, payload, "");
	assert_int_equal(verify(jwt, NULL), JWT_ALG_MISMATCH);
	free(jwt);
	free(payload);
}

/* ---- claims ------------------------------------------------------------- */

static void
check_claims_case(const char *name, const char *payload, enum jwt_status want)
{
	char header[256], *jwt;
	enum jwt_status got;

	snprintf(header, sizeof(header), "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}",
	    signing_key_kid(F->key[JWT_ALG_ES256]));
	jwt = forge(F->key[JWT_ALG_ES256], header, payload, NULL);
	got = verify(jwt, NULL);
	if (got != want)
		fail_msg("%s: got %s, want %s", name, jwt_status_name(got), jwt_status_name(want));
	free(jwt);
}

static void
test_claims(void **state)
{
	long long now = (long long)F->now;
	char p[512];

	(void)state;
#define CASE(name, want, fmt, ...) \
	do { snprintf(p, sizeof(p), fmt, __VA_ARGS__); check_claims_case(name, p, want); } while (0)
	CASE("valid", JWT_OK, "{\"iss\":\"%s\",\"aud\":\"%s\",\"iat\":%lld,\"exp\":%lld}",
	    ISS, AUD, now, now + 900);
	CASE("expired beyond the skew", JWT_EXPIRED,
	    "{\"iss\":\"%s\",\"aud\":\"%s\",\"iat\":%lld,\"exp\":%lld}", ISS, AUD, now - 1000,
	    now - IDB_JWT_CLOCK_SKEW_S);
	CASE("expired within the skew", JWT_OK,
	    "{\"iss\":\"%s\",\"aud\":\"%s\",\"iat\":%lld,\"exp\":%lld}", ISS, AUD, now - 1000,
	    now - IDB_JWT_CLOCK_SKEW_S + 1);
	CASE("nbf in the future", JWT_NOT_YET_VALID,
	    "{\"iss\":\"%s\",\"aud\":\"%s\",\"iat\":%lld,\"exp\":%lld,\"nbf\":%lld}", ISS, AUD,
	    now, now + 900, now + IDB_JWT_CLOCK_SKEW_S + 1);
	CASE("nbf within the skew", JWT_OK,
	    "{\"iss\":\"%s\",\"aud\":\"%s\",\"iat\":%lld,\"exp\":%lld,\"nbf\":%lld}", ISS, AUD,
	    now, now + 900, now + IDB_JWT_CLOCK_SKEW_S);
	CASE("iat in the future", JWT_NOT_YET_VALID,
	    "{\"iss\":\"%s\",\"aud\":\"%s\",\"iat\":%lld,\"exp\":%lld}", ISS, AUD,
	    now + IDB_JWT_CLOCK_SKEW_S + 1, now + 900);
	CASE("exp missing", JWT_BAD_CLAIMS, "{\"iss\":\"%s\",\"aud\":\"%s\",\"iat\":%lld}", ISS,
	    AUD, now);
	CASE("exp a string", JWT_BAD_CLAIMS,
	    "{\"iss\":\"%s\",\"aud\":\"%s\",\"iat\":%lld,\"exp\":\"%lld\"}", ISS, AUD, now,
	    now + 900);
	CASE("iat missing", JWT_BAD_CLAIMS, "{\"iss\":\"%s\",\"aud\":\"%s\",\"exp\":%lld}", ISS,
	    AUD, now + 900);
	CASE("nbf a string", JWT_BAD_CLAIMS,
	    "{\"iss\":\"%s\",\"aud\":\"%s\",\"iat\":%lld,\"exp\":%lld,\"nbf\":\"x\"}", ISS, AUD,
	    now, now + 900);
	CASE("wrong issuer", JWT_BAD_ISSUER,
	    "{\"iss\":\"%s/\",\"aud\":\"%s\",\"iat\":%lld,\"exp\":%lld}", ISS, AUD, now, now + 900);
	CASE("issuer missing", JWT_BAD_ISSUER, "{\"aud\":\"%s%s\",\"iat\":%lld,\"exp\":%lld}",
	    AUD, "", now, now + 900);
	CASE("wrong audience", JWT_BAD_AUDIENCE,
	    "{\"iss\":\"%s\",\"aud\":\"%s.evil\",\"iat\":%lld,\"exp\":%lld}", ISS, AUD, now,
	    now + 900);
	CASE("audience missing", JWT_BAD_AUDIENCE,
	    "{\"iss\":\"%s%s\",\"iat\":%lld,\"exp\":%lld}", ISS, "", now, now + 900);
	CASE("audience in an array", JWT_OK,
	    "{\"iss\":\"%s\",\"aud\":[\"x\",\"%s\"],\"iat\":%lld,\"exp\":%lld}", ISS, AUD, now,
	    now + 900);
	CASE("audience array without it", JWT_BAD_AUDIENCE,
	    "{\"iss\":\"%s\",\"aud\":[\"x\",1,\"%s/\"],\"iat\":%lld,\"exp\":%lld}", ISS, AUD, now,
	    now + 900);
	CASE("payload not JSON", JWT_MALFORMED, "{\"iss\":\"%s\",\"aud\":\"%s\",%lld,%lld", ISS,
	    AUD, now, now);
	CASE("payload an array", JWT_MALFORMED, "[\"%s\",\"%s\",%lld,%lld]", ISS, AUD, now, now);
	CASE("duplicate claim", JWT_MALFORMED,
	    "{\"iss\":\"%s\",\"aud\":\"%s\",\"iat\":%lld,\"exp\":%lld,\"exp\":1}", ISS, AUD, now,
	    now + 900);
#undef CASE
}

static void
test_issuer_audience_optional(void **state)
{
	struct jwt_expect want = { .now = F->now };
	json_t *c = json_pack("{s:I,s:I}", "iat", (json_int_t)F->now, "exp",
	    (json_int_t)(F->now + 60));
	char *jwt = NULL;

	(void)state;
	assert_int_equal(jwt_sign_with(F->key[JWT_ALG_EDDSA], c, &jwt), 0);
	assert_int_equal(jwt_verify(F->keys, jwt, &want, NULL), JWT_OK);
	want.issuer = ISS;
	assert_int_equal(jwt_verify(F->keys, jwt, &want, NULL), JWT_BAD_ISSUER);
	free(jwt);
	json_decref(c);
}

/* ---- sizes and garbage -------------------------------------------------- */

static void
test_garbage(void **state)
{
	static const char *const bad[] = {
		"", ".", "..", "...", "abc", "a.b", "a.b.c", "a.b.c.d",
		"eyJhbGciOiJSUzI1NiJ9",                       /* one segment */
		"eyJhbGciOiJSUzI1NiJ9=.e30.AA",               /* padding in the header */
		"!!!!.e30.AA",
		"e30.e30.AA",                                 /* {} header: no typ → */
	};
	static const enum jwt_status want[] = {
		JWT_MALFORMED, JWT_MALFORMED, JWT_MALFORMED, JWT_MALFORMED, JWT_MALFORMED,
		JWT_MALFORMED, JWT_MALFORMED, JWT_MALFORMED, JWT_MALFORMED, JWT_MALFORMED,
		JWT_MALFORMED, JWT_BAD_TYP,
	};
	json_t *claims = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum jwt_status got = verify(bad[i], &claims);

		if (got != want[i])
			fail_msg("\"%s\": got %s", bad[i], jwt_status_name(got));
		assert_null(claims);
	}
}

static void
test_four_segments_and_sizes(void **state)
{
	json_t *c = claims_at(F->now, F->now + 900);
	char *jwt = NULL, *four = NULL, *huge, *longhdr;

	(void)state;
	assert_int_equal(jwt_sign_with(F->key[JWT_ALG_RS256], c, &jwt), 0);
	/* a fourth segment lands in the signature and fails its decoding */
	assert_true(asprintf(&four, "%s.AAAA", jwt) > 0);
	assert_int_equal(verify(four, NULL), JWT_MALFORMED);
	/* over IDB_MAX_JWT_LEN: refused before any parsing */
	huge = malloc(IDB_MAX_JWT_LEN + 2);
	memset(huge, 'A', IDB_MAX_JWT_LEN + 1);
	huge[10] = '.';
	huge[20] = '.';
	huge[IDB_MAX_JWT_LEN + 1] = '\0';
	assert_int_equal(verify(huge, NULL), JWT_TOO_LONG);
	/* a header segment over IDB_MAX_JWT_HEADER_LEN */
	huge[10] = 'A';
	huge[20] = 'A';
	huge[IDB_MAX_JWT_HEADER_LEN + 1] = '.';
	huge[IDB_MAX_JWT_HEADER_LEN + 10] = '.';
	huge[IDB_MAX_JWT_HEADER_LEN + 20] = '\0';
	assert_int_equal(verify(huge, NULL), JWT_TOO_LONG);
	/* exactly at the header limit it is parsed (and is garbage) */
	longhdr = strdup(huge);
	longhdr[IDB_MAX_JWT_HEADER_LEN + 1] = 'A';
	longhdr[IDB_MAX_JWT_HEADER_LEN] = '.';
	assert_int_equal(verify(longhdr, NULL), JWT_MALFORMED);
	/* signing refuses to make a token we would refuse */
	memset(huge, 'A', IDB_MAX_JWT_LEN);
	huge[IDB_MAX_JWT_LEN * 3 / 4] = '\0';  /* base64url makes it longer than the limit */
	json_object_set_new(c, "pad", json_string(huge));
	free(jwt);
	assert_int_equal(jwt_sign_with(F->key[JWT_ALG_EDDSA], c, &jwt), -1);
	assert_null(jwt);
	free(longhdr);
	free(huge);
	free(four);
	json_decref(c);
}

/* ---- ES256 DER ↔ R‖S ---------------------------------------------------- */

static void
test_es256_conversion(void **state)
{
	unsigned char raw[64], back[64], der[80];
	size_t n;

	(void)state;
	/* high bit set in both: DER needs a 0x00 before each 32-byte integer */
	memset(raw, 0xff, 32);
	memset(raw + 32, 0x80, 32);
	assert_int_equal(jws_es256_raw_to_der(raw, 64, der, sizeof(der), &n), 0);
	assert_int_equal(n, 2 + 2 * (2 + 33));
	assert_int_equal(der[0], 0x30);
	assert_int_equal(der[2], 0x02);
	assert_int_equal(der[3], 33);
	assert_int_equal(der[4], 0x00);
	assert_int_equal(jws_es256_der_to_raw(der, n, back), 0);
	assert_memory_equal(raw, back, 64);
	/* short integers: r = 1, s = 0x0100; R‖S is left-padded */
	memset(raw, 0, 64);
	raw[31] = 1;
	raw[62] = 1;
	assert_int_equal(jws_es256_raw_to_der(raw, 64, der, sizeof(der), &n), 0);
	{
		static const unsigned char want[] = { 0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x02,
		    0x01, 0x00 };

		assert_int_equal(n, sizeof(want));
		assert_memory_equal(der, want, sizeof(want));
	}
	memset(back, 0xee, sizeof(back));
	assert_int_equal(jws_es256_der_to_raw(der, n, back), 0);
	assert_memory_equal(raw, back, 64);
	/* wrong raw lengths */
	assert_int_equal(jws_es256_raw_to_der(raw, 63, der, sizeof(der), &n), -1);
	assert_int_equal(jws_es256_raw_to_der(raw, 65, der, sizeof(der), &n), -1);
	/* trailing byte after the DER */
	assert_int_equal(jws_es256_raw_to_der(raw, 64, der, sizeof(der), &n), 0);
	der[n] = 0;
	assert_int_equal(jws_es256_der_to_raw(der, n + 1, back), -1);
	/* an integer over 32 bytes (33 significant bytes) */
	{
		unsigned char big[] = { 0x30, 0x26, 0x02, 0x21, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		    0x02, 0x01, 0x01 };

		assert_int_equal(jws_es256_der_to_raw(big, sizeof(big), back), -1);
	}
	/* garbage and truncation */
	assert_int_equal(jws_es256_der_to_raw((const unsigned char *)"\x30\x00", 2, back), -1);
	assert_int_equal(jws_es256_der_to_raw(der, n - 1, back), -1);
}

static void
test_es256_der_signature_refused(void **state)
{
	/* A JWS carrying OpenSSL's DER instead of R‖S must not verify. */
	const struct signing_key *key = F->key[JWT_ALG_ES256];
	char header[256], *input = NULL, *sig64, *jwt = NULL;
	char *h, *p, *payload = payload_text(F->now, F->now + 900);
	unsigned char raw[JWS_MAX_SIG_LEN], der[80];
	size_t n, dn;

	(void)state;
	snprintf(header, sizeof(header), "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}",
	    signing_key_kid(key));
	h = b64url_encode_alloc((const unsigned char *)header, strlen(header));
	p = b64url_encode_alloc((const unsigned char *)payload, strlen(payload));
	assert_true(asprintf(&input, "%s.%s", h, p) > 0);
	assert_int_equal(signing_key_sign(key, input, strlen(input), raw, &n), 0);
	assert_int_equal(n, 64);
	assert_int_equal(signing_key_verify(key, input, strlen(input), raw, n), 1);
	assert_int_equal(jws_es256_raw_to_der(raw, n, der, sizeof(der), &dn), 0);
	sig64 = b64url_encode_alloc(der, dn);
	assert_true(asprintf(&jwt, "%s.%s", input, sig64) > 0);
	assert_int_equal(verify(jwt, NULL), JWT_BAD_SIGNATURE);
	free(jwt);
	free(sig64);
	free(input);
	free(h);
	free(p);
	free(payload);
}

/* ---- threads ------------------------------------------------------------ */

#define THREADS 4
#define ROUNDS 100

static void *
worker(void *arg)
{
	intptr_t failures = 0;

	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		json_t *c = claims_at(F->now, F->now + 900);
		char *jwt = NULL;

		if (jwt_sign(F->keys, c, &jwt) != 0 || verify(jwt, NULL) != JWT_OK)
			failures++;
		free(jwt);
		jwt = NULL;
		if (jwt_sign_with(F->key[i % 3], c, &jwt) != 0 || verify(jwt, NULL) != JWT_OK)
			failures++;
		free(jwt);
		json_decref(c);
	}
	return (void *)failures;
}

static void
test_threads(void **state)
{
	pthread_t t[THREADS];
	intptr_t total = 0;

	(void)state;
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, NULL), 0);
	for (int i = 0; i < THREADS; i++) {
		void *r;

		pthread_join(t[i], &r);
		total += (intptr_t)r;
	}
	assert_int_equal(total, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url_vectors),
		cmocka_unit_test(test_b64url_strict),
		cmocka_unit_test(test_token_hash),
		cmocka_unit_test(test_round_trip_each_alg),
		cmocka_unit_test(test_jwt_sign_uses_signer),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_header_rules),
		cmocka_unit_test(test_alg_none_unsigned),
		cmocka_unit_test(test_claims),
		cmocka_unit_test(test_issuer_audience_optional),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_four_segments_and_sizes),
		cmocka_unit_test(test_es256_conversion),
		cmocka_unit_test(test_es256_der_signature_refused),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
