/*
 * test_store_users.c — store_user_revoke on a real SQLite file: what it
 * ends is found by login name (any case) and by every directory id
 * recorded under that name (an old login name of the same id; a former
 * holder of the name); another user's rows are untouched; the counts are
 * exact and a second run finds nothing live; a code claimed but not yet
 * exchanged can no longer start its family.
 */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "store.h"
#include "store_oauth.h"
#include "store_sqlite_int.h"
#include "store_users.h"
#include "teststore.h"

#define NOW 1800000000
#define LATER (NOW + 3600)

/* Hashes of the seeded secrets, by number. */
enum {
	H_SESSION_A1 = 1, H_SESSION_A2, H_SESSION_B,
	H_REFRESH_A1, H_REFRESH_A2, H_REFRESH_A3, H_REFRESH_B,
	H_CODE_A, H_CODE_A_CLAIMED, H_CODE_B,
	H_KEY_A, H_KEY_A0, H_KEY_A_EXPIRED, H_KEY_A_REVOKED, H_KEY_B,
	H_REFRESH_INFLIGHT,
};

static void
hash_of(unsigned char *h, int n)
{
	memset(h, 0x5a, STORE_HASH_LEN);
	h[0] = (unsigned char)n;
}

static struct store_grant
grant_for(const char *client, const char *user_id, const char *username)
{
	struct store_grant g = {
		.client_id = (char *)(uintptr_t)client, .user_id = (char *)(uintptr_t)user_id,
		.username = (char *)(uintptr_t)username, .scope = (char *)"read:resource",
		.redirect_uri = (char *)"https://chat.openai.com/aip/p/oauth/callback",
		.expires_at = LATER,
	};

	return g;
}

static void
session(struct store *st, int h, const char *user_id, const char *username)
{
	unsigned char hash[STORE_HASH_LEN];

	hash_of(hash, h);
	assert_int_equal(store_session_create(st, hash, user_id, username, NOW, LATER), STORE_OK);
}

/* A live family with one refresh token (h) and, when jti is not NULL, an access token. */
static void
family(struct store *st, const char *fam, int h, const char *jti, const char *user_id,
    const char *username)
{
	unsigned char hash[STORE_HASH_LEN];
	struct store_grant g = grant_for("jira", user_id, username);
	struct store_issue iss = {
		.refresh_hash = hash, .refresh_expires_at = LATER, .jti = jti,
		.access_expires_at = NOW + 900,
	};

	hash_of(hash, h);
	assert_int_equal(store_family_issue(st, fam, &g, &iss, NOW), STORE_OK);
}

static void
code(struct store *st, int h, const char *user_id, const char *username)
{
	unsigned char hash[STORE_HASH_LEN];
	struct store_grant g = grant_for("jira", user_id, username);

	hash_of(hash, h);
	assert_int_equal(store_code_put(st, hash, &g, NOW), STORE_OK);
}

/* An api_keys row as migration 5 defines it (revoked_at, expires_at 0: NULL). */
static void
apikey(struct store *st, int h, const char *user_id, const char *username, int64_t expires_at,
    int64_t revoked_at)
{
	unsigned char hash[STORE_HASH_LEN];
	char *err = NULL;

	hash_of(hash, h);
	if (store_stmt_write(st, NULL, &err, "INSERT INTO api_keys (prefix, hash, user_id,"
	    " username, name, scope, created_at, expires_at, revoked_at) VALUES ('abcdefgh', ?,"
	    " ?, ?, 'laptop', 'read:resource', ?, nullif(?, 0), nullif(?, 0))", "hssiii", hash,
	    user_id, username, (int64_t)NOW, expires_at, revoked_at) != 0)
		fail_msg("insert api key: %s", err);
}

/*
 * alice is uuid-a now, was "ali" before a rename, and "alice" once
 * belonged to uuid-a0, who left a key and a consent.  bob has one of
 * everything.
 */
static int
setup(void **state)
{
	struct teststore *ts = teststore_new("users");
	struct store *st = ts->st;
	unsigned char h[STORE_HASH_LEN];
	struct store_grant g = grant_for("jira", "uuid-a", "alice"), out;

	session(st, H_SESSION_A1, "uuid-a", "alice");
	session(st, H_SESSION_A2, "uuid-a", "ALICE");
	session(st, H_SESSION_B, "uuid-b", "bob");
	family(st, "fam-a1", H_REFRESH_A1, "jti-a1", "uuid-a", "alice");
	family(st, "fam-a2", H_REFRESH_A2, "jti-a2", "uuid-a", "ali");
	family(st, "fam-a3", H_REFRESH_A3, NULL, "uuid-a", "alice");
	assert_int_equal(store_family_revoke(st, "fam-a3", NOW), STORE_OK);
	family(st, "fam-b", H_REFRESH_B, "jti-b", "uuid-b", "bob");
	code(st, H_CODE_A, "uuid-a", "alice");
	code(st, H_CODE_B, "uuid-b", "bob");
	/* Claimed, its exchange still waiting for the directory: no family yet. */
	hash_of(h, H_CODE_A_CLAIMED);
	assert_int_equal(store_code_put(st, h, &g, NOW), STORE_OK);
	assert_int_equal(store_code_claim(st, h, "jira", "fam-inflight", NOW, &out), STORE_OK);
	store_grant_free(&out);
	assert_int_equal(store_consent_put(st, "uuid-a", "jira", "read:resource", NOW), STORE_OK);
	assert_int_equal(store_consent_put(st, "uuid-a", "wiki", "read:resource", NOW), STORE_OK);
	assert_int_equal(store_consent_put(st, "uuid-a0", "jira", "read:resource", NOW), STORE_OK);
	assert_int_equal(store_consent_put(st, "uuid-b", "jira", "read:resource", NOW), STORE_OK);
	apikey(st, H_KEY_A, "uuid-a", "alice", 0, 0);
	apikey(st, H_KEY_A0, "uuid-a0", "Alice", 0, 0);
	apikey(st, H_KEY_A_EXPIRED, "uuid-a", "alice", NOW - 1, 0);
	apikey(st, H_KEY_A_REVOKED, "uuid-a", "alice", 0, NOW - 1);
	apikey(st, H_KEY_B, "uuid-b", "bob", 0, 0);
	*state = ts;
	return 0;
}

static void
assert_counts(const struct store_user_revoke_counts *got,
    const struct store_user_revoke_counts *want, const char *what)
{
	if (memcmp(got, want, sizeof(*got)) != 0)
		fail_msg("%s: ids %d sessions %d families %d consents %d keys %d codes %d; want "
		    "%d %d %d %d %d %d", what, got->user_ids, got->sessions, got->families,
		    got->consents, got->apikeys, got->codes, want->user_ids, want->sessions,
		    want->families, want->consents, want->apikeys, want->codes);
}

/* Runs in order on one seeded store. */
static const struct {
	const char *name;
	struct store_user_revoke_counts want;
} runs[] = {
	/* Never seen: nothing, and no error. */
	{ "carol", { 0 } },
	/* Any case; the old name "ali" goes by id, uuid-a0's key and consent by name. */
	{ "ALICE", { .user_ids = 2, .sessions = 2, .families = 2, .consents = 3, .apikeys = 2,
	    .codes = 1 } },
	/* Again: the ids are still on record, nothing live is left. */
	{ "alice", { .user_ids = 2 } },
};

static void
test_counts(void **state)
{
	struct teststore *ts = *state;

	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		struct store_user_revoke_counts c;
		char *err = NULL;

		if (store_user_revoke(ts->st, runs[i].name, NOW + 10, &c, &err) != 0)
			fail_msg("%s: %s", runs[i].name, err);
		assert_counts(&c, &runs[i].want, runs[i].name);
	}
}

static int64_t
count(struct store *st, const char *sql)
{
	char *err = NULL;
	int64_t n = -1;

	if (store_stmt_int64(st, &n, &err, sql, "") != 0)
		fail_msg("%s: %s", sql, err);
	return n;
}

static void
test_effects(void **state)
{
	struct teststore *ts = *state;
	struct store *st = ts->st;
	struct store_user_revoke_counts c;
	struct store_session s;
	struct store_grant g, in = grant_for("jira", "uuid-a", "alice"), out;
	unsigned char h[STORE_HASH_LEN], rh[STORE_HASH_LEN];
	struct store_issue iss = { .refresh_hash = rh, .refresh_expires_at = LATER };
	char *scope = NULL, *err = NULL;

	if (store_user_revoke(st, "alice", NOW + 10, &c, &err) != 0)
		fail_msg("revoke: %s", err);
	/* alice: sessions gone, tokens of every family refused, consents forgotten. */
	hash_of(h, H_SESSION_A2);
	assert_int_equal(store_session_get(st, h, NOW + 20, &s), STORE_NOT_FOUND);
	assert_int_equal(store_access_check(st, "jti-a1"), STORE_REVOKED);
	assert_int_equal(store_access_check(st, "jti-a2"), STORE_REVOKED);
	hash_of(h, H_REFRESH_A2);
	assert_int_equal(store_refresh_peek(st, h, "jira", NOW + 20, &g), STORE_REVOKED);
	store_grant_free(&g);
	assert_int_equal(store_consent_get(st, "uuid-a", "wiki", &scope), STORE_NOT_FOUND);
	assert_int_equal(store_consent_get(st, "uuid-a0", "jira", &scope), STORE_NOT_FOUND);
	hash_of(h, H_CODE_A);
	assert_int_equal(store_code_claim(st, h, "jira", "fam-late", NOW + 20, &out),
	    STORE_NOT_FOUND);
	/* The exchange that was on its way cannot start its family now. */
	hash_of(rh, H_REFRESH_INFLIGHT);
	assert_int_equal(store_family_issue(st, "fam-inflight", &in, &iss, NOW + 20),
	    STORE_REVOKED);
	assert_int_equal(count(st, "SELECT count(*) FROM api_keys WHERE revoked_at IS NULL"
	    " AND user_id != 'uuid-b'"), 1);   /* only the expired one, left as it was */
	assert_int_equal(count(st, "SELECT count(*) FROM api_keys WHERE revoked_at IS NULL"
	    " AND expires_at IS NULL AND username != 'bob'"), 0);
	/* bob: all still there. */
	hash_of(h, H_SESSION_B);
	assert_int_equal(store_session_get(st, h, NOW + 20, &s), STORE_OK);
	store_session_free(&s);
	assert_int_equal(store_access_check(st, "jti-b"), STORE_OK);
	hash_of(h, H_REFRESH_B);
	assert_int_equal(store_refresh_peek(st, h, "jira", NOW + 20, &g), STORE_OK);
	store_grant_free(&g);
	assert_int_equal(store_consent_get(st, "uuid-b", "jira", &scope), STORE_OK);
	free(scope);
	assert_int_equal(count(st, "SELECT count(*) FROM api_keys WHERE username = 'bob'"
	    " AND revoked_at IS NULL"), 1);
	hash_of(h, H_CODE_B);
	assert_int_equal(store_code_claim(st, h, "jira", "fam-bob", NOW + 20, &out), STORE_OK);
	store_grant_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counts, setup, teststore_teardown),
		cmocka_unit_test_setup_teardown(test_effects, setup, teststore_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
