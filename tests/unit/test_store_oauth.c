/*
 * test_store_oauth.c — the OAuth tables on a real SQLite file: single-use
 * codes, replay detection, refresh rotation and reuse, family revocation,
 * sessions and purging.  Two threads race for one code and one refresh
 * token: exactly one may win, and the loser sees a replay.  A code's
 * replay can bar a family its first exchange has not created yet; an
 * issuance (refresh token and access token) is all or nothing.
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
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "store.h"
#include "store_oauth.h"
#include "teststore.h"

#define NOW 1800000000

static void
hash_of(unsigned char *h, int n)
{
	memset(h, 0, STORE_HASH_LEN);
	h[0] = (unsigned char)n;
	h[1] = (unsigned char)(n >> 8);
	h[31] = 0xa5;
}

static int
setup(void **state)
{
	*state = teststore_new("store");
	return 0;
}

static struct store_grant
grant(const char *client, int64_t expires_at)
{
	struct store_grant g = {
		.client_id = (char *)(uintptr_t)client, .user_id = (char *)"uuid-alice",
		.username = (char *)"alice", .scope = (char *)"read write",
		.redirect_uri = (char *)"https://chat.openai.com/aip/plugin-1/oauth/callback",
		.code_challenge = NULL, .expires_at = expires_at,
	};

	return g;
}

static void
test_code_single_use_and_replay(void **state)
{
	struct teststore *f = *state;
	unsigned char h[STORE_HASH_LEN];
	struct store_grant in = grant("jira", NOW + 60), out;

	hash_of(h, 1);
	assert_int_equal(store_code_put(f->st, h, &in, NOW), STORE_OK);
	/* Another client cannot even see it. */
	assert_int_equal(store_code_claim(f->st, h, "other", "fam-0", NOW, &out), STORE_NOT_FOUND);
	assert_int_equal(store_code_claim(f->st, h, "jira", "fam-1", NOW + 1, &out), STORE_OK);
	assert_string_equal(out.scope, "read write");
	assert_string_equal(out.redirect_uri, in.redirect_uri);
	assert_null(out.code_challenge);
	/* The claim names the family at once, before any family exists. */
	assert_string_equal(out.family_id, "fam-1");
	store_grant_free(&out);
	/* The second use is a replay and names the first use's family, not its own. */
	assert_int_equal(store_code_claim(f->st, h, "jira", "fam-2", NOW + 2, &out), STORE_REPLAY);
	assert_string_equal(out.family_id, "fam-1");
	store_grant_free(&out);
}

static void
test_code_expiry(void **state)
{
	struct teststore *f = *state;
	unsigned char h[STORE_HASH_LEN];
	struct store_grant in = grant("jira", NOW + 60), out;

	hash_of(h, 2);
	in.code_challenge = (char *)"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
	assert_int_equal(store_code_put(f->st, h, &in, NOW), STORE_OK);
	assert_int_equal(store_code_claim(f->st, h, "jira", "fam-x", NOW + 60, &out),
	    STORE_EXPIRED);
	/* Expired and unused: still not claimable later. */
	assert_int_equal(store_code_claim(f->st, h, "jira", "fam-x", NOW + 61, &out),
	    STORE_EXPIRED);
	hash_of(h, 3);
	assert_int_equal(store_code_claim(f->st, h, "jira", "fam-x", NOW, &out), STORE_NOT_FOUND);
}

static void
start_family(struct teststore *f, const char *fam, int token)
{
	unsigned char h[STORE_HASH_LEN];
	struct store_grant g = grant("jira", NOW + 1000);

	hash_of(h, token);
	assert_int_equal(store_family_create(f->st, fam, &g, h, NOW + 100, NOW), STORE_OK);
}

/* Rotate old to new in fam, issuing access token jti (or none) with it. */
static enum store_result
rotate(struct teststore *f, const unsigned char *old, const unsigned char *new,
    const char *fam, const char *jti, int64_t new_expires_at, int64_t now)
{
	struct store_issue iss = {
		.refresh_hash = new, .refresh_expires_at = new_expires_at,
		.jti = jti, .access_expires_at = now + 900,
	};

	return store_refresh_rotate(f->st, old, fam, &iss, now);
}

static void
test_refresh_rotation_and_reuse(void **state)
{
	struct teststore *f = *state;
	unsigned char t1[STORE_HASH_LEN], t2[STORE_HASH_LEN], t3[STORE_HASH_LEN];
	struct store_grant g;

	start_family(f, "fam-r", 10);
	hash_of(t1, 10);
	hash_of(t2, 11);
	hash_of(t3, 12);
	assert_int_equal(store_refresh_peek(f->st, t1, "other", NOW, &g), STORE_NOT_FOUND);
	assert_int_equal(store_refresh_peek(f->st, t1, "jira", NOW, &g), STORE_OK);
	assert_string_equal(g.family_id, "fam-r");
	assert_string_equal(g.scope, "read write");
	assert_int_equal(g.expires_at, NOW + 100);
	store_grant_free(&g);
	/*
	 * A rotation never changes the family's grant: a refresh that asked
	 * for less narrowed only what it issued (RFC 6749 §6), so the new
	 * token still carries the original scope.
	 */
	assert_int_equal(rotate(f, t1, t2, "fam-r", NULL, NOW + 200, NOW + 1), STORE_OK);
	assert_int_equal(store_refresh_peek(f->st, t2, "jira", NOW + 2, &g), STORE_OK);
	assert_string_equal(g.scope, "read write");
	/* The family's end caps the token's. */
	assert_int_equal(g.expires_at, NOW + 200);
	store_grant_free(&g);
	/* The old token again: a replay (the caller then revokes the family). */
	assert_int_equal(store_refresh_peek(f->st, t1, "jira", NOW + 3, &g), STORE_REPLAY);
	store_grant_free(&g);
	assert_int_equal(rotate(f, t1, t3, "fam-r", NULL, NOW + 200, NOW + 3), STORE_REPLAY);
	assert_int_equal(store_family_revoke(f->st, "fam-r", NOW + 4), STORE_OK);
	assert_int_equal(store_refresh_peek(f->st, t2, "jira", NOW + 5, &g), STORE_REVOKED);
	store_grant_free(&g);
	/* t3 was never added: the failed rotation left nothing behind. */
	assert_int_equal(store_refresh_peek(f->st, t3, "jira", NOW + 5, &g), STORE_NOT_FOUND);
}

static void
test_refresh_expiry_and_family_end(void **state)
{
	struct teststore *f = *state;
	unsigned char t[STORE_HASH_LEN], t2[STORE_HASH_LEN];
	struct store_grant g;

	start_family(f, "fam-e", 20);
	hash_of(t, 20);
	hash_of(t2, 21);
	assert_int_equal(store_refresh_peek(f->st, t, "jira", NOW + 100, &g), STORE_EXPIRED);
	store_grant_free(&g);
	/* A token that outlives its family ends with the family. */
	assert_int_equal(rotate(f, t, t2, "fam-e", NULL, NOW + 5000, NOW + 1), STORE_OK);
	assert_int_equal(store_refresh_peek(f->st, t2, "jira", NOW + 999, &g), STORE_OK);
	assert_int_equal(g.expires_at, NOW + 1000);
	store_grant_free(&g);
	assert_int_equal(store_refresh_peek(f->st, t2, "jira", NOW + 1000, &g), STORE_EXPIRED);
	store_grant_free(&g);
}

static void
test_access_tokens_follow_family(void **state)
{
	struct teststore *f = *state;

	start_family(f, "fam-a", 30);
	assert_int_equal(store_access_put(f->st, "jti-1", "fam-a", NOW + 900), STORE_OK);
	assert_int_equal(store_access_check(f->st, "jti-1"), STORE_OK);
	assert_int_equal(store_access_check(f->st, "jti-unknown"), STORE_NOT_FOUND);
	assert_int_equal(store_family_revoke(f->st, "fam-a", NOW), STORE_OK);
	assert_int_equal(store_access_check(f->st, "jti-1"), STORE_REVOKED);
}

/* A family issued for a claimed code, with refresh token tok and access token jti. */
static void
issue(struct teststore *f, const char *fam, struct store_grant *g, int tok, const char *jti,
    enum store_result want)
{
	unsigned char t[STORE_HASH_LEN];
	struct store_issue iss = {
		.refresh_hash = t, .refresh_expires_at = NOW + 100,
		.jti = jti, .access_expires_at = NOW + 900,
	};

	hash_of(t, tok);
	g->expires_at = NOW + 1000;
	assert_int_equal(store_family_issue(f->st, fam, g, &iss, NOW), want);
}

static void
test_code_replay_revokes_live_family(void **state)
{
	struct teststore *f = *state;
	unsigned char h[STORE_HASH_LEN], t[STORE_HASH_LEN];
	struct store_grant in = grant("jira", NOW + 60), first, replay, g;

	hash_of(h, 80);
	hash_of(t, 81);
	assert_int_equal(store_code_put(f->st, h, &in, NOW), STORE_OK);
	assert_int_equal(store_code_claim(f->st, h, "jira", "fam-l", NOW, &first), STORE_OK);
	issue(f, first.family_id, &first, 81, "jti-l", STORE_OK);
	store_grant_free(&first);
	assert_int_equal(store_access_check(f->st, "jti-l"), STORE_OK);
	assert_int_equal(store_code_claim(f->st, h, "jira", "fam-l2", NOW + 1, &replay),
	    STORE_REPLAY);
	assert_int_equal(store_family_bar(f->st, &replay, NOW + 1), STORE_OK);
	assert_int_equal(store_refresh_peek(f->st, t, "jira", NOW + 2, &g), STORE_REVOKED);
	store_grant_free(&g);
	assert_int_equal(store_access_check(f->st, "jti-l"), STORE_REVOKED);
	/* A second replay finds nothing left to revoke. */
	assert_int_equal(store_family_bar(f->st, &replay, NOW + 3), STORE_REVOKED);
	store_grant_free(&replay);
}

static void
test_code_replay_bars_pending_family(void **state)
{
	struct teststore *f = *state;
	unsigned char h[STORE_HASH_LEN], t[STORE_HASH_LEN];
	struct store_grant in = grant("jira", NOW + 60), first, replay, g;

	hash_of(h, 82);
	hash_of(t, 83);
	assert_int_equal(store_code_put(f->st, h, &in, NOW), STORE_OK);
	assert_int_equal(store_code_claim(f->st, h, "jira", "fam-b", NOW, &first), STORE_OK);
	/* Replayed while the first exchange still waits on the directory. */
	assert_int_equal(store_code_claim(f->st, h, "jira", "fam-b2", NOW + 1, &replay),
	    STORE_REPLAY);
	assert_non_null(replay.family_id);
	assert_string_equal(replay.family_id, "fam-b");
	assert_int_equal(store_family_bar(f->st, &replay, NOW + 1), STORE_NOT_FOUND);
	assert_int_equal(store_family_bar(f->st, &replay, NOW + 2), STORE_REVOKED);
	/* The first exchange then finds its family barred and issues nothing. */
	issue(f, first.family_id, &first, 83, "jti-b", STORE_REVOKED);
	assert_int_equal(store_refresh_peek(f->st, t, "jira", NOW + 3, &g), STORE_NOT_FOUND);
	assert_int_equal(store_access_check(f->st, "jti-b"), STORE_NOT_FOUND);
	/* The bar outlives any wait on the directory, and purge ends it in time. */
	assert_int_equal(store_oauth_purge(f->st, NOW + STORE_FAMILY_BAR_S), STORE_OK);
	issue(f, first.family_id, &first, 83, "jti-b", STORE_REVOKED);
	assert_int_equal(store_oauth_purge(f->st, NOW + 1 + STORE_FAMILY_BAR_S), STORE_OK);
	assert_int_equal(store_family_bar(f->st, &replay, NOW + 2 + STORE_FAMILY_BAR_S),
	    STORE_NOT_FOUND);
	store_grant_free(&first);
	store_grant_free(&replay);
}

static void
test_issuance_all_or_nothing(void **state)
{
	struct teststore *f = *state;
	unsigned char t1[STORE_HASH_LEN], t2[STORE_HASH_LEN];
	struct store_grant g = grant("jira", NOW + 1000);

	start_family(f, "fam-t", 90);
	hash_of(t1, 90);
	hash_of(t2, 91);
	assert_int_equal(store_access_put(f->st, "jti-dup", "fam-t", NOW + 900), STORE_OK);
	/* The access token's row cannot be written (its jti is taken): nothing is. */
	assert_int_equal(rotate(f, t1, t2, "fam-t", "jti-dup", NOW + 200, NOW + 1), STORE_ERROR);
	assert_int_equal(store_refresh_peek(f->st, t2, "jira", NOW + 2, &g), STORE_NOT_FOUND);
	/* ...so the old token is not used up, and the client's retry succeeds. */
	assert_int_equal(store_refresh_peek(f->st, t1, "jira", NOW + 2, &g), STORE_OK);
	store_grant_free(&g);
	assert_int_equal(rotate(f, t1, t2, "fam-t", "jti-new", NOW + 200, NOW + 3), STORE_OK);
	assert_int_equal(store_access_check(f->st, "jti-new"), STORE_OK);
	assert_int_equal(store_refresh_peek(f->st, t2, "jira", NOW + 4, &g), STORE_OK);
	store_grant_free(&g);
	/* Likewise a new family: a failed issuance leaves no row under its id. */
	g = grant("jira", NOW + 1000);
	issue(f, "fam-t2", &g, 92, "jti-dup", STORE_ERROR);
	issue(f, "fam-t2", &g, 92, "jti-t2", STORE_OK);
	assert_int_equal(store_access_check(f->st, "jti-t2"), STORE_OK);
}

static void
test_sessions_preauth_consent(void **state)
{
	struct teststore *f = *state;
	unsigned char s[STORE_HASH_LEN], p[STORE_HASH_LEN];
	struct store_session sess;
	char *json = NULL, *scope = NULL;

	hash_of(s, 40);
	hash_of(p, 41);
	assert_int_equal(store_session_create(f->st, s, "uuid-bob", "bob", NOW, NOW + 10), STORE_OK);
	assert_int_equal(store_session_get(f->st, s, NOW + 9, &sess), STORE_OK);
	assert_string_equal(sess.username, "bob");
	store_session_free(&sess);
	assert_int_equal(store_session_get(f->st, s, NOW + 10, &sess), STORE_EXPIRED);
	/* An expired session is gone for good. */
	assert_int_equal(store_session_get(f->st, s, NOW, &sess), STORE_NOT_FOUND);
	assert_int_equal(store_session_create(f->st, s, "uuid-bob", "bob", NOW, NOW + 10), STORE_OK);
	assert_int_equal(store_session_delete_user(f->st, "uuid-bob"), STORE_OK);
	assert_int_equal(store_session_get(f->st, s, NOW, &sess), STORE_NOT_FOUND);

	assert_int_equal(store_preauth_put(f->st, p, "{\"client_id\":\"jira\"}", NOW + 5), STORE_OK);
	assert_int_equal(store_preauth_get(f->st, p, NOW, &json), STORE_OK);
	assert_string_equal(json, "{\"client_id\":\"jira\"}");
	free(json);
	assert_int_equal(store_preauth_get(f->st, p, NOW + 5, &json), STORE_EXPIRED);
	assert_int_equal(store_preauth_delete(f->st, p), STORE_OK);
	assert_int_equal(store_preauth_get(f->st, p, NOW, &json), STORE_NOT_FOUND);

	assert_int_equal(store_consent_get(f->st, "uuid-bob", "jira", &scope), STORE_NOT_FOUND);
	assert_int_equal(store_consent_put(f->st, "uuid-bob", "jira", "read", NOW), STORE_OK);
	assert_int_equal(store_consent_put(f->st, "uuid-bob", "jira", "read write", NOW), STORE_OK);
	assert_int_equal(store_consent_get(f->st, "uuid-bob", "jira", &scope), STORE_OK);
	assert_string_equal(scope, "read write");
	free(scope);
}

static void
test_purge(void **state)
{
	struct teststore *f = *state;
	unsigned char used[STORE_HASH_LEN], unused[STORE_HASH_LEN];
	struct store_grant in = grant("jira", NOW + 60), out;

	hash_of(used, 50);
	hash_of(unused, 51);
	assert_int_equal(store_code_put(f->st, used, &in, NOW), STORE_OK);
	assert_int_equal(store_code_put(f->st, unused, &in, NOW), STORE_OK);
	assert_int_equal(store_code_claim(f->st, used, "jira", "fam-pc", NOW, &out), STORE_OK);
	store_grant_free(&out);
	start_family(f, "fam-p", 52);
	assert_int_equal(store_oauth_purge(f->st, NOW + 2000), STORE_OK);
	/* The unused expired code is gone; the used one is kept to spot its replay. */
	assert_int_equal(store_code_claim(f->st, unused, "jira", "fam-pc", NOW, &out),
	    STORE_NOT_FOUND);
	assert_int_equal(store_code_claim(f->st, used, "jira", "fam-pc", NOW, &out), STORE_REPLAY);
	store_grant_free(&out);
	assert_int_equal(store_refresh_peek(f->st, (hash_of(used, 52), used), "jira", NOW, &out),
	    STORE_NOT_FOUND);
	assert_int_equal(store_oauth_purge(f->st, NOW + 60 + STORE_CODE_REPLAY_WINDOW_S), STORE_OK);
	hash_of(used, 50);
	assert_int_equal(store_code_claim(f->st, used, "jira", "fam-pc", NOW, &out),
	    STORE_NOT_FOUND);
}

/* ---- races: two threads, each with its own connection ------------------- */

struct race {
	struct store *st;
	const unsigned char *hash;
	int winner_count;
	int ok[2];
	enum store_result res[2];
	pthread_barrier_t go;
};

static void *
claim_code_thread(void *p)
{
	struct race *r = p;
	struct store_grant g;
	enum store_result res;
	int me = __atomic_fetch_add(&r->winner_count, 1, __ATOMIC_SEQ_CST);

	pthread_barrier_wait(&r->go);
	res = store_code_claim(r->st, r->hash, "jira", me == 0 ? "fam-c0" : "fam-c1", NOW, &g);
	/* A loser must learn the winner's family, to revoke it. */
	if (res == STORE_REPLAY && (g.family_id == NULL ||
	    (strcmp(g.family_id, "fam-c0") != 0 && strcmp(g.family_id, "fam-c1") != 0)))
		res = STORE_ERROR;
	store_grant_free(&g);
	r->ok[me] = res == STORE_OK;
	r->res[me] = res;
	return NULL;
}

static void *
rotate_thread(void *p)
{
	struct race *r = p;
	unsigned char fresh[STORE_HASH_LEN];
	int me = __atomic_fetch_add(&r->winner_count, 1, __ATOMIC_SEQ_CST);
	struct store_issue iss = {
		.refresh_hash = fresh, .refresh_expires_at = NOW + 50,
		.jti = me == 0 ? "jti-race-0" : "jti-race-1", .access_expires_at = NOW + 900,
	};

	hash_of(fresh, 100 + me);
	pthread_barrier_wait(&r->go);
	r->res[me] = store_refresh_rotate(r->st, r->hash, "fam-race", &iss, NOW);
	r->ok[me] = r->res[me] == STORE_OK;
	return NULL;
}

static void
race(struct store *st, const unsigned char *hash, void *(*fn)(void *))
{
	for (int round = 0; round < 20; round++) {
		struct race r = { .st = st, .hash = hash };
		pthread_t t[2];

		pthread_barrier_init(&r.go, NULL, 2);
		pthread_create(&t[0], NULL, fn, &r);
		pthread_create(&t[1], NULL, fn, &r);
		pthread_join(t[0], NULL);
		pthread_join(t[1], NULL);
		pthread_barrier_destroy(&r.go);
		/* Exactly one redemption wins, the first round; none after. */
		assert_int_equal(r.ok[0] + r.ok[1], round == 0 ? 1 : 0);
		/*
		 * Every loser is told REPLAY (so the endpoint revokes the
		 * family), never REVOKED or NOT_FOUND, which it would not.
		 */
		for (int i = 0; i < 2; i++)
			if (!r.ok[i])
				assert_int_equal(r.res[i], STORE_REPLAY);
	}
}

static void
test_concurrent_code_claims_one_wins(void **state)
{
	struct teststore *f = *state;
	unsigned char h[STORE_HASH_LEN];
	struct store_grant in = grant("jira", NOW + 60);

	hash_of(h, 60);
	assert_int_equal(store_code_put(f->st, h, &in, NOW), STORE_OK);
	race(f->st, h, claim_code_thread);
}

static void
test_concurrent_rotations_one_wins(void **state)
{
	struct teststore *f = *state;
	unsigned char h[STORE_HASH_LEN];

	start_family(f, "fam-race", 70);
	hash_of(h, 70);
	race(f->st, h, rotate_thread);
	/* Only the winner's access token was recorded. */
	assert_int_equal((store_access_check(f->st, "jti-race-0") == STORE_OK) +
	    (store_access_check(f->st, "jti-race-1") == STORE_OK), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_code_single_use_and_replay, setup, teststore_teardown),
		cmocka_unit_test_setup_teardown(test_code_expiry, setup, teststore_teardown),
		cmocka_unit_test_setup_teardown(test_refresh_rotation_and_reuse, setup, teststore_teardown),
		cmocka_unit_test_setup_teardown(test_refresh_expiry_and_family_end, setup, teststore_teardown),
		cmocka_unit_test_setup_teardown(test_access_tokens_follow_family, setup, teststore_teardown),
		cmocka_unit_test_setup_teardown(test_code_replay_revokes_live_family, setup,
		    teststore_teardown),
		cmocka_unit_test_setup_teardown(test_code_replay_bars_pending_family, setup,
		    teststore_teardown),
		cmocka_unit_test_setup_teardown(test_issuance_all_or_nothing, setup, teststore_teardown),
		cmocka_unit_test_setup_teardown(test_sessions_preauth_consent, setup, teststore_teardown),
		cmocka_unit_test_setup_teardown(test_purge, setup, teststore_teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_code_claims_one_wins, setup, teststore_teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_rotations_one_wins, setup, teststore_teardown),
	};

	return cmocka_run_group_tests_name("store_oauth", tests, NULL, NULL);
}
