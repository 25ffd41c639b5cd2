/*
 * test_verifycache.c — the /verify result cache: what a result keeps of
 * the claims, the header values and introspection answer made once, hits,
 * staleness after the generation moves, expiry, the size bound, and a
 * generation that follows revocations in a real SQLite store (and nothing
 * else), made through any connection, the cache's own process included.
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
#include "keyusage.h"
#include "store_apikeys.h"
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

/* Wait out the recheck interval, then the generation (which reads the store once). */
static uint64_t
generation_after_interval(struct verifycache *vc)
{
	usleep((VERIFYCACHE_RECHECK_MS + 100) * 1000);
	return verifycache_generation(vc);
}

/* A live family with one access token (jti), as a code exchange leaves it. */
static void
family_with_access(struct store *st, const char *family_id, const char *jti, int n)
{
	struct store_grant g = {
		.client_id = (char *)"c", .user_id = (char *)"u", .username = (char *)"alice",
		.scope = (char *)"read", .redirect_uri = (char *)"https://x/cb",
		.expires_at = 4000000000,
	};
	unsigned char h[STORE_HASH_LEN];

	hash_of(h, n);
	assert_int_equal(store_family_create(st, family_id, &g, h, 4000000000, 1), STORE_OK);
	assert_int_equal(store_access_put(st, jti, family_id, 4000000000), STORE_OK);
}

static int64_t
apikey(struct store *st, int n)
{
	unsigned char h[STORE_HASH_LEN];
	char prefix[16];
	struct store_apikey_new k = {
		.prefix = prefix, .hash = h, .user_id = "u", .username = "alice",
		.name = "k", .scope = "read",
	};
	int64_t id = 0;
	char *err = NULL;

	hash_of(h, n);
	snprintf(prefix, sizeof(prefix), "p%d", n);
	assert_int_equal(store_apikey_insert(st, &k, 1, &id, &err), 0);
	return id;
}

/*
 * The generation follows revocations committed through any connection —
 * the cache's own thread's or another handle's, as another process — and
 * nothing else: new sessions, families, keys and last-use updates leave it.
 */
static void
test_generation_follows_revocations(void **state)
{
	char dir[] = "/tmp/idb-vc-XXXXXX", path[96], aux[128];
	struct config_store cs = { .driver = STORE_SQLITE };
	struct store *st, *other;
	struct verifycache *vc;
	unsigned char h[STORE_HASH_LEN];
	struct keyusage_entry use;
	char *err = NULL;
	int changes = 0;
	int64_t key;
	uint64_t g0, g1, g2;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.db", dir);
	cs.path = path;
	if ((st = store_open(&cs, &err)) == NULL || (other = store_open(&cs, &err)) == NULL)
		fail_msg("store_open: %s", err);
	assert_non_null(vc = verifycache_new(0, st));
	g0 = verifycache_generation(vc);
	assert_int_equal(generation_after_interval(vc), g0);
	/* New rows and last-use updates, through both handles: nothing moves. */
	hash_of(h, 7);
	assert_int_equal(store_session_create(st, h, "u", "alice", 1, 100), STORE_OK);
	family_with_access(other, "fam-1", "jti-1", 8);
	family_with_access(st, "fam-2", "jti-2", 9);
	key = apikey(other, 10);
	use = (struct keyusage_entry){ .key_id = key, .used_at = 50 };
	assert_int_equal(store_apikeys_touch(st, &use, 1, &err), 0);
	assert_int_equal(generation_after_interval(vc), g0);
	/* A family revoked by this very thread's connection: not before the interval ... */
	assert_int_equal(store_family_revoke(st, "fam-1", 60), STORE_OK);
	assert_int_equal(verifycache_generation(vc), g0);
	/* ... and then it moves, once. */
	g1 = generation_after_interval(vc);
	assert_true(g1 > g0);
	assert_int_equal(generation_after_interval(vc), g1);
	/* An API key revoked through another handle, seen by a forced re-read at once. */
	assert_int_equal(store_apikey_revoke(other, key, 70, &changes, &err), 0);
	assert_int_equal(changes, 1);
	verifycache_recheck(vc);
	g2 = verifycache_generation(vc);
	assert_true(g2 > g1);
	/* Without a revocation a forced re-read moves nothing, however often. */
	for (int i = 0; i < 3; i++)
		verifycache_recheck(vc);
	assert_int_equal(verifycache_generation(vc), g2);
	/* Access rows deleted (the purge, past every expiry) count too. */
	assert_int_equal(store_oauth_purge(other, 4000000001), STORE_OK);
	verifycache_recheck(vc);
	assert_true(verifycache_generation(vc) > g2);
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
		cmocka_unit_test(test_generation_follows_revocations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
