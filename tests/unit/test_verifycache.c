/*
 * test_verifycache.c — the /verify result cache: what a result keeps of
 * the claims, the header values and introspection answer made once, hits,
 * staleness after the generation moves, expiry, the size bound, and a generation that follows commits to a real SQLite store
 * made through any connection, the cache's own process included.
 */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "store.h"
#include "store_oauth.h"
#include "verifycache.h"

#define CLAIMS_OK "{\"sub\":\"u-1\",\"client_id\":\"c\",\"jti\":\"j\",\"exp\":1000"

static const struct {
	const char *json;
	bool ok;
	size_t n_aud, n_groups;
} claim_cases[] = {
	{ CLAIMS_OK "}", true, 0, 0 },
	{ CLAIMS_OK ",\"aud\":\"https://a\",\"scope\":\"x y\"}", true, 1, 0 },
	{ CLAIMS_OK ",\"aud\":[\"https://a\",\"https://b\"],\"groups\":[\"g1\",\"g 2\"]}", true, 2, 2 },
	{ CLAIMS_OK ",\"aud\":[\"https://a\",7]}", false, 0, 0 },
	{ CLAIMS_OK ",\"aud\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"]}", false, 0, 0 },
	{ CLAIMS_OK ",\"groups\":\"g1\"}", false, 0, 0 },
	{ CLAIMS_OK ",\"scope\":[\"x\"]}", false, 0, 0 },
	{ "{\"client_id\":\"c\",\"jti\":\"j\",\"exp\":1000}", false, 0, 0 },
	{ "{\"sub\":\"u\",\"jti\":\"j\",\"exp\":1000}", false, 0, 0 },
	{ "{\"sub\":\"u\",\"client_id\":\"c\",\"exp\":1000}", false, 0, 0 },
	{ "{\"sub\":\"u\",\"client_id\":\"c\",\"jti\":\"j\",\"exp\":\"1000\"}", false, 0, 0 },
};

static struct verify_result *
result(const char *json)
{
	json_t *c = json_loads(json, 0, NULL);
	struct verify_result *r;

	assert_non_null(c);
	r = verify_result_from_claims(c);
	json_decref(c);
	return r;
}

static void
test_from_claims(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(claim_cases) / sizeof(claim_cases[0]); i++) {
		struct verify_result *r = result(claim_cases[i].json);

		if (!claim_cases[i].ok) {
			if (r != NULL)
				fail_msg("case %zu: accepted %s", i, claim_cases[i].json);
			continue;
		}
		if (r == NULL)
			fail_msg("case %zu: refused %s", i, claim_cases[i].json);
		assert_int_equal(r->n_aud, claim_cases[i].n_aud);
		assert_int_equal(r->n_groups, claim_cases[i].n_groups);
		assert_string_equal(r->sub, "u-1");
		assert_int_equal(r->exp, 1000);
		verify_result_release(r);
	}
}

static void
test_aud_and_scopes(void **state)
{
	struct verify_result *r = result(CLAIMS_OK ",\"aud\":[\"https://a\",\"https://b\"],"
	    "\"scope\":\"read:x write:x\"}");
	char *both[] = { "write:x", "read:x" }, *other[] = { "read:x", "admin" };
	char *prefix[] = { "read" }, *empty[] = { "" };

	(void)state;
	assert_non_null(r);
	assert_true(verify_result_has_aud(r, "https://b"));
	assert_false(verify_result_has_aud(r, "https://c"));
	assert_false(verify_result_has_aud(r, "https://"));
	assert_true(verify_result_has_scopes(r, both, 2));
	assert_true(verify_result_has_scopes(r, both, 0));
	assert_false(verify_result_has_scopes(r, other, 2));
	assert_false(verify_result_has_scopes(r, prefix, 1));
	assert_false(verify_result_has_scopes(r, empty, 1));
	verify_result_release(r);
}

/* The X-Idbridge-* values a result answers with, made once. */
static const struct {
	const char *json;
	const char *user, *scopes, *groups, *client;
} header_cases[] = {
	{ CLAIMS_OK "}", "u-1", "", "", "c" },
	{ "{\"sub\":\"u 1/\u00e9\",\"client_id\":\"c,d\",\"jti\":\"j\",\"exp\":1000,"
	    "\"scope\":\" read:x  write:x\",\"groups\":[\"g1\",\"g 2\",\"a,b\",\"~ok:@/._-\"]}",
	    "u%201/%C3%A9", "read:x,write:x", "g1,g%202,a%2Cb,~ok:@/._-", "c%2Cd" },
	{ "{\"sub\":\"\\r\\n\",\"client_id\":\"\\\"\",\"jti\":\"j\",\"exp\":1000}",
	    "%0D%0A", "", "", "%22" },
};

static void
test_header_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]); i++) {
		struct verify_result *r = result(header_cases[i].json);

		if (r == NULL)
			fail_msg("case %zu: refused %s", i, header_cases[i].json);
		assert_int_equal(verify_result_finish(r), 0);
		assert_string_equal(r->hdr_user, header_cases[i].user);
		assert_string_equal(r->hdr_scopes, header_cases[i].scopes);
		assert_string_equal(r->hdr_groups, header_cases[i].groups);
		assert_string_equal(r->hdr_client, header_cases[i].client);
		verify_result_release(r);
	}
}

/* A list over VERIFYCACHE_MAX_HEADER keeps whole items only. */
static void
test_header_value_cap(void **state)
{
	size_t each = VERIFYCACHE_MAX_HEADER / 2 - 10;
	char *big = malloc(each + 1), *items[3];
	struct verify_result r = { .sub = "u", .client_id = "c", .scope = "", .jti = "j" };

	(void)state;
	assert_non_null(big);
	memset(big, 'a', each);
	big[each] = '\0';
	items[0] = items[1] = items[2] = big;
	r.groups = items;
	r.n_groups = 3;
	assert_int_equal(verify_result_finish(&r), 0);
	assert_int_equal(strlen(r.hdr_groups), 2 * each + 1);
	assert_int_equal(r.hdr_groups[each], ',');
	free(r.hdr_user);
	free(r.hdr_scopes);
	free(r.hdr_groups);
	free(r.hdr_client);
	free(big);
}

/* /introspect's answer: the claims a resource server needs, as the token has them. */
static void
test_introspection_answer(void **state)
{
	struct verify_result *r;
	json_t *claims = json_loads(CLAIMS_OK ",\"aud\":\"https://a\",\"iss\":\"https://i\","
	    "\"iat\":900,\"scope\":\"x\",\"groups\":[\"g\"],\"nonce\":\"n\",\"typ\":\"t\"}", 0, NULL),
	    *got;

	(void)state;
	assert_non_null(claims);
	r = verify_result_from_claims(claims);
	assert_non_null(r);
	assert_null(r->introspection);
	assert_int_equal(verify_result_set_introspection(r, claims), 0);
	assert_int_equal(r->introspection_len, strlen(r->introspection));
	got = json_loads(r->introspection, 0, NULL);
	assert_non_null(got);
	assert_true(json_is_true(json_object_get(got, "active")));
	assert_string_equal(json_string_value(json_object_get(got, "token_type")), "Bearer");
	assert_string_equal(json_string_value(json_object_get(got, "sub")), "u-1");
	assert_string_equal(json_string_value(json_object_get(got, "aud")), "https://a");
	assert_string_equal(json_string_value(json_object_get(got, "iss")), "https://i");
	assert_int_equal(json_integer_value(json_object_get(got, "exp")), 1000);
	assert_int_equal(json_integer_value(json_object_get(got, "iat")), 900);
	assert_string_equal(json_string_value(json_array_get(json_object_get(got, "groups"), 0)),
	    "g");
	/* Nothing else of the token. */
	assert_null(json_object_get(got, "nonce"));
	assert_null(json_object_get(got, "typ"));
	assert_int_equal(json_object_size(got), 11);
	json_decref(got);
	json_decref(claims);
	verify_result_release(r);
}

static void
hash_of(unsigned char *h, int n)
{
	memset(h, 0x5a, IDB_SHA256_LEN);
	h[0] = (unsigned char)n;
	h[9] = (unsigned char)(n >> 8);
}

static void
test_hit_stale_expiry(void **state)
{
	struct verifycache *vc = verifycache_new(8, NULL);
	struct verify_result *r = result(CLAIMS_OK "}"), *got = NULL;
	unsigned char h[IDB_SHA256_LEN], other[IDB_SHA256_LEN];
	uint64_t gen;

	(void)state;
	assert_non_null(vc);
	assert_non_null(r);
	hash_of(h, 1);
	hash_of(other, 2);
	gen = verifycache_generation(vc);
	assert_int_equal(verifycache_get(vc, h, 500, &got), VC_MISS);
	assert_null(got);
	verifycache_put(vc, h, r, gen);
	assert_int_equal(verifycache_get(vc, other, 500, &got), VC_MISS);
	assert_int_equal(verifycache_get(vc, h, 500, &got), VC_HIT);
	assert_ptr_equal(got, r);
	verify_result_release(got);
	/* The generation moves: the entry must be checked again. */
	verifycache_bump(vc);
	assert_int_equal(verifycache_get(vc, h, 500, &got), VC_STALE);
	verify_result_release(got);
	/* Re-stamped with an old generation it stays stale; with the new one it is a hit. */
	verifycache_put(vc, h, r, gen);
	assert_int_equal(verifycache_get(vc, h, 500, &got), VC_STALE);
	verify_result_release(got);
	verifycache_put(vc, h, r, verifycache_generation(vc));
	assert_int_equal(verifycache_get(vc, h, 500, &got), VC_HIT);
	verify_result_release(got);
	/* Good until exp plus jwt_verify's skew, then gone. */
	assert_int_equal(verifycache_get(vc, h, 1000 + IDB_JWT_CLOCK_SKEW_S - 1, &got), VC_HIT);
	verify_result_release(got);
	assert_int_equal(verifycache_get(vc, h, 1000 + IDB_JWT_CLOCK_SKEW_S, &got), VC_MISS);
	assert_null(got);
	assert_int_equal(verifycache_count(vc), 0);
	verify_result_release(r);
	verifycache_free(vc);
}

/* An API key's result (key_id set) is kept until exp exactly: no clock skew for keys. */
static void
test_key_result_expiry(void **state)
{
	struct verifycache *vc = verifycache_new(8, NULL);
	struct verify_result *r = result(CLAIMS_OK "}"), *got = NULL;
	unsigned char h[IDB_SHA256_LEN];

	(void)state;
	assert_non_null(r);
	r->key_id = 42;
	hash_of(h, 3);
	verifycache_put(vc, h, r, verifycache_generation(vc));
	assert_int_equal(verifycache_get(vc, h, 999, &got), VC_HIT);
	assert_int_equal(got->key_id, 42);
	verify_result_release(got);
	assert_int_equal(verifycache_get(vc, h, 1000, &got), VC_MISS);
	assert_null(got);
	verify_result_release(r);
	verifycache_free(vc);
}

static void
test_bound_lru_remove_flush(void **state)
{
	struct verifycache *vc = verifycache_new(3, NULL);
	struct verify_result *r = result(CLAIMS_OK "}"), *got = NULL;
	unsigned char h[5][IDB_SHA256_LEN];
	uint64_t gen = verifycache_generation(vc);

	(void)state;
	assert_non_null(r);
	for (int i = 0; i < 5; i++)
		hash_of(h[i], 300 + i);
	for (int i = 0; i < 3; i++)
		verifycache_put(vc, h[i], r, gen);
	/* Use 0, so 1 is the least recently used when 3 arrives. */
	assert_int_equal(verifycache_get(vc, h[0], 0, &got), VC_HIT);
	verify_result_release(got);
	verifycache_put(vc, h[3], r, gen);
	assert_int_equal(verifycache_count(vc), 3);
	assert_int_equal(verifycache_get(vc, h[1], 0, &got), VC_MISS);
	assert_int_equal(verifycache_get(vc, h[0], 0, &got), VC_HIT);
	verify_result_release(got);
	verifycache_remove(vc, h[0]);
	assert_int_equal(verifycache_get(vc, h[0], 0, &got), VC_MISS);
	assert_int_equal(verifycache_count(vc), 2);
	verifycache_flush(vc);
	assert_int_equal(verifycache_count(vc), 0);
	assert_int_equal(verifycache_get(vc, h[3], 0, &got), VC_MISS);
	/* The cache held its own references: r is still ours to release. */
	assert_string_equal(r->sub, "u-1");
	verify_result_release(r);
	verifycache_free(vc);
}

/* A commit through the cache's own thread and through another handle both move the generation. */
static void
test_generation_follows_store(void **state)
{
	char dir[] = "/tmp/idb-vc-XXXXXX", path[96], aux[128];
	struct config_store cs = { .driver = STORE_SQLITE };
	struct store *st, *other;
	struct verifycache *vc;
	unsigned char h[STORE_HASH_LEN];
	char *err = NULL;
	uint64_t g0, g1, g2, g3;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.db", dir);
	cs.path = path;
	if ((st = store_open(&cs, &err)) == NULL || (other = store_open(&cs, &err)) == NULL)
		fail_msg("store_open: %s", err);
	assert_non_null(vc = verifycache_new(0, st));
	g0 = verifycache_generation(vc);
	/* Nothing changed: the generation stays, also after the recheck interval. */
	usleep((VERIFYCACHE_RECHECK_MS + 100) * 1000);
	assert_int_equal(verifycache_generation(vc), g0);
	/* A commit by this very thread's connection. */
	hash_of(h, 7);
	assert_int_equal(store_session_create(st, h, "u", "alice", 1, 100), STORE_OK);
	/* Not before the interval: a hit costs no store read. */
	assert_int_equal(verifycache_generation(vc), g0);
	usleep((VERIFYCACHE_RECHECK_MS + 100) * 1000);
	g1 = verifycache_generation(vc);
	assert_true(g1 > g0);
	/* A commit through another handle (another connection, as another process). */
	hash_of(h, 8);
	assert_int_equal(store_session_create(other, h, "u", "alice", 1, 100), STORE_OK);
	usleep((VERIFYCACHE_RECHECK_MS + 100) * 1000);
	g2 = verifycache_generation(vc);
	assert_true(g2 > g1);
	usleep((VERIFYCACHE_RECHECK_MS + 100) * 1000);
	g3 = verifycache_generation(vc);
	assert_int_equal(g3, g2);
	/* A forced re-read (http.c, after a /revoke): a commit counts at once ... */
	hash_of(h, 9);
	assert_int_equal(store_session_create(other, h, "u", "alice", 1, 100), STORE_OK);
	verifycache_recheck(vc);
	g1 = verifycache_generation(vc);
	assert_true(g1 > g3);
	/* ... and without one nothing moves, however often it is asked. */
	for (int i = 0; i < 3; i++)
		verifycache_recheck(vc);
	assert_int_equal(verifycache_generation(vc), g1);
	verifycache_free(vc);
	store_close(other);
	store_close(st);
	unlink(path);
	snprintf(aux, sizeof(aux), "%s-wal", path);
	unlink(aux);
	snprintf(aux, sizeof(aux), "%s-shm", path);
	unlink(aux);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_claims),
		cmocka_unit_test(test_aud_and_scopes),
		cmocka_unit_test(test_header_values),
		cmocka_unit_test(test_header_value_cap),
		cmocka_unit_test(test_introspection_answer),
		cmocka_unit_test(test_hit_stale_expiry),
		cmocka_unit_test(test_key_result_expiry),
		cmocka_unit_test(test_bound_lru_remove_flush),
		cmocka_unit_test(test_generation_follows_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
