/*
 * test_keys.c — signing keys on a real SQLite store: the first key is
 * created once and reloaded unchanged; kid is the RFC 7638 thumbprint; the
 * rotation timeline (next key published before it signs, the old one
 * published until its tokens expire, then dropped and deleted) under a
 * test clock; a rotation made through another handle (another process) is
 * noticed; the JWKS has the right members per algorithm and no private
 * ones.
 */
#include "autoconfig.h"

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
#include "teststore.h"

#define TTL 900

struct fixture {
	struct teststore ts;
	int64_t clock;
};

static int64_t
test_clock(void *arg)
{
	return ((struct fixture *)arg)->clock;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	teststore_open(&f->ts, "keys");
	f->clock = (int64_t)time(NULL);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	teststore_close(&f->ts);
	free(f);
	return 0;
}

static struct keys *
load(struct fixture *f, enum jwt_alg alg)
{
	struct keys *k = NULL;
	char *err = NULL;

	if (keys_load_or_create(f->ts.st, alg, TTL, &k, &err) != 0)
		fail_msg("keys_load_or_create: %s", err);
	/*
	 * A first key is created at the wall clock, which may have passed the
	 * test clock while the key was generated: the test clock never lags it.
	 */
	if ((int64_t)time(NULL) > f->clock)
		f->clock = (int64_t)time(NULL);
	keys_set_clock(k, test_clock, f);
	return k;
}

static struct keys_info
rotate(struct fixture *f, enum jwt_alg alg)
{
	struct keys_info info;
	char *err = NULL;

	if (keys_rotate(f->ts.st, alg, TTL, f->clock, &info, &err) != 0)
		fail_msg("keys_rotate: %s", err);
	return info;
}

static char *
signer_kid(struct keys *k)
{
	const struct keyset *ks = keys_acquire(k);
	char *kid = keyset_signer(ks) != NULL ? strdup(signing_key_kid(keyset_signer(ks))) : NULL;

	keyset_release(ks);
	return kid;
}

/* Is kid in the JWKS served now? */
static bool
published(struct keys *k, const char *kid)
{
	const struct keyset *ks = keys_acquire(k);
	size_t len, i;
	json_t *doc = json_loads(keyset_jwks(ks, &len), 0, NULL), *jwk;
	bool found = false;

	assert_non_null(doc);
	json_array_foreach(json_object_get(doc, "keys"), i, jwk)
		if (strcmp(json_string_value(json_object_get(jwk, "kid")), kid) == 0)
			found = true;
	assert_int_equal(found, keyset_find(ks, kid) != NULL);
	json_decref(doc);
	keyset_release(ks);
	return found;
}

static size_t
count(struct keys *k)
{
	const struct keyset *ks = keys_acquire(k);
	size_t n = keyset_count(ks);

	keyset_release(ks);
	return n;
}

/* ---- creation ----------------------------------------------------------- */

static void
test_created_once_and_reloaded(void **state)
{
	struct fixture *f = *state;
	struct store_signing_key *rows = NULL;
	struct keys *k = load(f, JWT_ALG_RS256);
	char *kid = signer_kid(k), *kid2;
	size_t n = 0;
	int64_t gen;
	char *err = NULL;

	assert_non_null(kid);
	assert_int_equal(count(k), 1);
	assert_int_equal(store_signing_keys_load(f->ts.st, f->clock, &rows, &n, &gen, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].kid, kid);
	assert_string_equal(rows[0].alg, "RS256");
	/* PKCS#8, not the traditional RSA format */
	assert_true(strncmp(rows[0].private_pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
	assert_true(rows[0].activate_at <= f->clock);
	assert_int_equal(rows[0].retire_at, 0);
	store_signing_keys_free(rows, n);
	keys_free(k);
	/* A restart (even configured for another alg) keeps the key: no new one. */
	k = load(f, JWT_ALG_ES256);
	kid2 = signer_kid(k);
	assert_string_equal(kid, kid2);
	assert_int_equal(count(k), 1);
	keys_free(k);
	free(kid);
	free(kid2);
}

static void
test_kid_is_thumbprint(void **state)
{
	/* RFC 7638 §3.1 */
	json_t *rfc = json_pack("{s:s,s:s,s:s,s:s}", "kty", "RSA", "n",
	    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
	    "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY"
	    "368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0f"
	    "M4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
	    "e", "AQAB", "alg", "RS256");
	struct fixture *f = *state;
	char tp[KEYS_KID_LEN + 1];

	assert_int_equal(jwk_thumbprint(rfc, tp), 0);
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	json_decref(rfc);
	/* Every key's kid is its own thumbprint, for each algorithm. */
	for (int a = 0; a < 3; a++) {
		struct keys_info info = rotate(f, (enum jwt_alg)a);
		struct keys *k = load(f, JWT_ALG_RS256);
		const struct keyset *ks = keys_acquire(k);
		const struct signing_key *key = keyset_find(ks, info.kid);

		assert_non_null(key);
		assert_int_equal(jwk_thumbprint(signing_key_jwk(key), tp), 0);
		assert_string_equal(tp, info.kid);
		keyset_release(ks);
		keys_free(k);
	}
	/* Members that are not base64url, or an unknown curve, have no thumbprint. */
	rfc = json_pack("{s:s,s:s,s:s}", "kty", "RSA", "n", "a\"b", "e", "AQAB");
	assert_int_equal(jwk_thumbprint(rfc, tp), -1);
	json_decref(rfc);
	rfc = json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-384", "x", "AA", "y", "AA");
	assert_int_equal(jwk_thumbprint(rfc, tp), -1);
	json_decref(rfc);
}

/* ---- rotation timeline -------------------------------------------------- */

static void
test_rotation_timeline(void **state)
{
	struct fixture *f = *state;
	struct keys *k = load(f, JWT_ALG_RS256);
	char *old = signer_kid(k), *now_kid, *err = NULL, *last_old = NULL;
	int64_t t0 = f->clock, last = t0 + IDB_JWKS_MAX_AGE_S - 1;
	json_t *c = json_pack("{s:I,s:I}", "iat", (json_int_t)last, "exp",
	    (json_int_t)(last + TTL));
	struct jwt_expect want = { .now = last + TTL - 1 };
	struct keys_info next;

	next = rotate(f, JWT_ALG_ES256);
	assert_int_equal(next.activate_at, t0 + IDB_JWKS_MAX_AGE_S);
	assert_int_equal(keys_reload(k, &err), 0);
	/* Published at once, not signing yet. */
	assert_true(published(k, next.kid));
	assert_true(published(k, old));
	now_kid = signer_kid(k);
	assert_string_equal(now_kid, old);
	free(now_kid);
	/* One second before max-age has passed: still the old key; its last token. */
	f->clock = last;
	now_kid = signer_kid(k);
	assert_string_equal(now_kid, old);
	free(now_kid);
	assert_int_equal(jwt_sign(k, c, &last_old), 0);
	/* When max-age has passed: the new key signs, the old one stays published. */
	f->clock = t0 + IDB_JWKS_MAX_AGE_S;
	now_kid = signer_kid(k);
	assert_string_equal(now_kid, next.kid);
	free(now_kid);
	assert_true(published(k, old));
	/* Until the old key's last token has expired (plus the skew), it is published. */
	f->clock = t0 + IDB_JWKS_MAX_AGE_S + TTL + IDB_JWT_CLOCK_SKEW_S - 1;
	assert_true(published(k, old));
	assert_int_equal(jwt_verify(k, last_old, &want, NULL), JWT_OK);
	/* Then it is dropped: no longer published, its tokens unknown. */
	f->clock = t0 + IDB_JWKS_MAX_AGE_S + TTL + IDB_JWT_CLOCK_SKEW_S;
	assert_false(published(k, old));
	assert_true(published(k, next.kid));
	assert_int_equal(count(k), 1);
	assert_int_equal(jwt_verify(k, last_old, &want, NULL), JWT_UNKNOWN_KID);
	/* The next rotation deletes the dropped row from the store. */
	{
		struct store_signing_key *rows = NULL;
		struct keys_info third = rotate(f, JWT_ALG_EDDSA);
		size_t n = 0;
		int64_t gen;

		assert_int_equal(third.activate_at, f->clock + IDB_JWKS_MAX_AGE_S);
		assert_int_equal(store_signing_keys_load(f->ts.st, 0, &rows, &n, &gen, &err), 0);
		assert_int_equal(n, 2);
		for (size_t i = 0; i < n; i++)
			assert_string_not_equal(rows[i].kid, old);
		store_signing_keys_free(rows, n);
	}
	free(last_old);
	free(old);
	json_decref(c);
	keys_free(k);
}

static void
test_rotate_on_empty_store_signs_at_once(void **state)
{
	struct fixture *f = *state;
	struct keys_info info = rotate(f, JWT_ALG_EDDSA);
	struct keys *k;
	char *kid;

	/* No JWKS was ever served: nothing to wait for. */
	assert_int_equal(info.activate_at, f->clock);
	k = load(f, JWT_ALG_EDDSA);
	kid = signer_kid(k);
	assert_string_equal(kid, info.kid);
	assert_int_equal(count(k), 1);
	free(kid);
	keys_free(k);
}

static void
test_two_rotations_in_a_row(void **state)
{
	struct fixture *f = *state;
	struct keys *k = load(f, JWT_ALG_RS256);
	char *first = signer_kid(k), *kid, *err = NULL;
	struct keys_info b, c;
	int64_t t0 = f->clock;

	b = rotate(f, JWT_ALG_RS256);
	f->clock = t0 + 100;
	c = rotate(f, JWT_ALG_RS256);
	assert_int_equal(keys_reload(k, &err), 0);
	assert_int_equal(count(k), 3);
	/* b signs between its activation and c's. */
	f->clock = b.activate_at;
	kid = signer_kid(k);
	assert_string_equal(kid, b.kid);
	free(kid);
	f->clock = c.activate_at;
	kid = signer_kid(k);
	assert_string_equal(kid, c.kid);
	free(kid);
	assert_true(published(k, first));
	assert_true(published(k, b.kid));
	free(first);
	keys_free(k);
}

static void
test_other_process_rotation_noticed(void **state)
{
	struct fixture *f = *state;
	struct keys *k = load(f, JWT_ALG_RS256);
	struct keys_info info;

	/* Let the first recheck pass, then rotate as another process would. */
	usleep((IDB_KEYS_RECHECK_MS + 100) * 1000);
	(void)count(k);
	info = rotate(f, JWT_ALG_ES256);
	assert_false(published(k, info.kid));  /* not re-read within the second */
	usleep((IDB_KEYS_RECHECK_MS + 100) * 1000);
	assert_true(published(k, info.kid));
	keys_free(k);
}

/* ---- JWKS shape --------------------------------------------------------- */

static void
check_b64_len(const json_t *jwk, const char *name, size_t bytes)
{
	const char *v = json_string_value(json_object_get(jwk, name));
	unsigned char buf[600];
	size_t n;

	assert_non_null(v);
	assert_int_equal(b64url_decode(v, strlen(v), buf, sizeof(buf), &n), 0);
	assert_int_equal(n, bytes);
}

static void
test_jwks_shape(void **state)
{
	static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "k" };
	struct fixture *f = *state;
	struct keys *k = load(f, JWT_ALG_RS256);
	const struct keyset *ks;
	size_t len, i;
	json_t *doc, *jwk;
	char *err = NULL;
	int seen = 0;

	(void)rotate(f, JWT_ALG_ES256);
	(void)rotate(f, JWT_ALG_EDDSA);
	assert_int_equal(keys_reload(k, &err), 0);
	ks = keys_acquire(k);
	doc = json_loads(keyset_jwks(ks, &len), JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(doc);
	assert_int_equal(strlen(keyset_jwks(ks, &len)), len);
	assert_int_equal(json_object_size(doc), 1);
	assert_int_equal(json_array_size(json_object_get(doc, "keys")), 3);
	json_array_foreach(json_object_get(doc, "keys"), i, jwk) {
		const char *kty = json_string_value(json_object_get(jwk, "kty"));
		const char *alg = json_string_value(json_object_get(jwk, "alg"));

		assert_string_equal(json_string_value(json_object_get(jwk, "use")), "sig");
		assert_int_equal(strlen(json_string_value(json_object_get(jwk, "kid"))), KEYS_KID_LEN);
		for (size_t p = 0; p < sizeof(private_members) / sizeof(private_members[0]); p++)
			assert_null(json_object_get(jwk, private_members[p]));
		if (strcmp(kty, "RSA") == 0) {
			assert_string_equal(alg, "RS256");
			assert_string_equal(json_string_value(json_object_get(jwk, "e")), "AQAB");
			check_b64_len(jwk, "n", 256);
			assert_int_equal(json_object_size(jwk), 6);
			seen |= 1;
		} else if (strcmp(kty, "EC") == 0) {
			assert_string_equal(alg, "ES256");
			assert_string_equal(json_string_value(json_object_get(jwk, "crv")), "P-256");
			check_b64_len(jwk, "x", 32);
			check_b64_len(jwk, "y", 32);
			assert_int_equal(json_object_size(jwk), 7);
			seen |= 2;
		} else {
			assert_string_equal(kty, "OKP");
			assert_string_equal(alg, "EdDSA");
			assert_string_equal(json_string_value(json_object_get(jwk, "crv")), "Ed25519");
			check_b64_len(jwk, "x", 32);
			assert_int_equal(json_object_size(jwk), 6);
			seen |= 4;
		}
	}
	assert_int_equal(seen, 7);
	json_decref(doc);
	keyset_release(ks);
	keys_free(k);
}

static void
test_snapshot_outlives_swap(void **state)
{
	struct fixture *f = *state;
	struct keys *k = load(f, JWT_ALG_RS256);
	const struct keyset *old = keys_acquire(k);
	char *kid = strdup(signing_key_kid(keyset_signer(old))), *err = NULL;
	size_t len;

	(void)rotate(f, JWT_ALG_ES256);
	assert_int_equal(keys_reload(k, &err), 0);
	/* A request holding the old snapshot keeps a consistent view. */
	assert_int_equal(keyset_count(old), 1);
	assert_non_null(strstr(keyset_jwks(old, &len), kid));
	assert_string_equal(signing_key_kid(keyset_signer(old)), kid);
	keyset_release(old);
	assert_int_equal(count(k), 2);
	free(kid);
	keys_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_created_once_and_reloaded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kid_is_thumbprint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_timeline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotate_on_empty_store_signs_at_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_two_rotations_in_a_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_process_rotation_noticed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_jwks_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_outlives_swap, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
