/* test_store_apikeys.c — the api_keys table: insert, find, list, revoke, count. */
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

#include "apikey.h"
#include "config.h"
#include "keyusage.h"
#include "store.h"
#include "store_apikeys.h"
#include "teststore.h"

#define NOW 1800000000

static int
setup(void **state)
{
	*state = teststore_new("apikeys");
	return 0;
}

struct made {
	char key[IDB_APIKEY_LEN + 1];
	char prefix[IDB_APIKEY_PREFIX_LEN + 1];
	unsigned char hash[IDB_SHA256_LEN];
	int64_t id;
};

static void
make(struct store *st, struct made *m, const char *user, int64_t expires_at)
{
	const struct store_apikey_new k = {
		.prefix = m->prefix, .hash = m->hash, .user_id = "uuid-of-user", .username = user,
		.name = "laptop", .scope = "read:resource write:resource", .expires_at = expires_at,
	};
	char *err = NULL;

	assert_int_equal(apikey_generate(m->key), 0);
	apikey_prefix(m->key, m->prefix);
	assert_int_equal(apikey_hash(m->key, m->hash), 0);
	if (store_apikey_insert(st, &k, NOW, &m->id, &err) != 0)
		fail_msg("insert: %s", err);
}

/* Insert with a limit of max_live live keys: store_apikey_insert's answer. */
static int
make_limited(struct store *st, struct made *m, const char *user_id, unsigned max_live)
{
	const struct store_apikey_new k = {
		.prefix = m->prefix, .hash = m->hash, .user_id = user_id, .username = "bob",
		.name = "ci", .scope = "read:resource", .max_live = max_live,
	};
	char *err = NULL;
	int r;

	assert_int_equal(apikey_generate(m->key), 0);
	apikey_prefix(m->key, m->prefix);
	assert_int_equal(apikey_hash(m->key, m->hash), 0);
	r = store_apikey_insert(st, &k, NOW, &m->id, &err);
	free(err);
	return r;
}

/* max_live counts live keys of that user id only; a revoked key frees a place. */
static void
test_limit(void **state)
{
	struct teststore *f = *state;
	struct made a, b, c;
	char *err = NULL;
	int changes = 0;

	assert_int_equal(make_limited(f->st, &a, "uuid-bob", 2), 0);
	assert_int_equal(make_limited(f->st, &b, "uuid-bob", 2), 0);
	assert_int_equal(make_limited(f->st, &c, "uuid-bob", 2), 1);
	assert_int_equal(make_limited(f->st, &c, "uuid-carol", 2), 0);
	assert_int_equal(store_apikey_revoke(f->st, a.id, NOW, &changes, &err), 0);
	assert_int_equal(make_limited(f->st, &c, "uuid-bob", 2), 0);
	assert_int_equal(make_limited(f->st, &c, "uuid-bob", 2), 1);
	assert_int_equal(make_limited(f->st, &c, "uuid-bob", 0), 0);
}

static void
test_find(void **state)
{
	struct teststore *f = *state;
	struct made a, b;
	struct store_apikey k;
	unsigned char wrong[IDB_SHA256_LEN];

	make(f->st, &a, "alice", 0);
	make(f->st, &b, "alice", NOW + 10);
	assert_int_not_equal(a.id, b.id);
	assert_int_equal(store_apikey_find(f->st, a.prefix, a.hash, NOW, &k), STORE_OK);
	assert_int_equal(k.id, a.id);
	assert_string_equal(k.user_id, "uuid-of-user");
	assert_string_equal(k.username, "alice");
	assert_string_equal(k.name, "laptop");
	assert_string_equal(k.scope, "read:resource write:resource");
	assert_string_equal(k.prefix, a.prefix);
	assert_int_equal(k.created_at, NOW);
	assert_int_equal(k.expires_at, 0);
	assert_int_equal(k.revoked_at, 0);
	store_apikey_clear(&k);
	/* The right prefix with another hash, or another key's prefix: not found. */
	memcpy(wrong, a.hash, sizeof(wrong));
	wrong[31] ^= 1;
	assert_int_equal(store_apikey_find(f->st, a.prefix, wrong, NOW, &k), STORE_NOT_FOUND);
	assert_int_equal(store_apikey_find(f->st, b.prefix, a.hash, NOW, &k), STORE_NOT_FOUND);
	/* Expiry. */
	assert_int_equal(store_apikey_find(f->st, b.prefix, b.hash, NOW + 9, &k), STORE_OK);
	store_apikey_clear(&k);
	assert_int_equal(store_apikey_find(f->st, b.prefix, b.hash, NOW + 10, &k), STORE_EXPIRED);
	store_apikey_clear(&k);
}

static void
test_revoke_list_count(void **state)
{
	struct teststore *f = *state;
	struct made a, b, c;
	struct store_apikey k, *l = NULL;
	char *err = NULL;
	int64_t n = -1;
	size_t nl = 0;
	int changes = -1;

	make(f->st, &a, "alice", 0);
	make(f->st, &b, "Alice", NOW + 5);
	make(f->st, &c, "bob", 0);
	assert_int_equal(store_apikeys_count(f->st, "alice", NOW, &n, &err), 0);
	assert_int_equal(n, 2);         /* names compare case-insensitively */
	assert_int_equal(store_apikeys_count(f->st, "alice", NOW + 5, &n, &err), 0);
	assert_int_equal(n, 1);         /* b expired */
	assert_int_equal(store_apikeys_list(f->st, "alice", &l, &nl, &err), 0);
	assert_int_equal(nl, 2);
	assert_int_equal(l[0].id, a.id);
	assert_int_equal(l[1].id, b.id);
	assert_int_equal(l[1].expires_at, NOW + 5);
	store_apikeys_free(l, nl);
	assert_int_equal(store_apikeys_list(f->st, NULL, &l, &nl, &err), 0);
	assert_int_equal(nl, 3);
	store_apikeys_free(l, nl);

	assert_int_equal(store_apikey_revoke(f->st, a.id, NOW + 1, &changes, &err), 0);
	assert_int_equal(changes, 1);
	assert_int_equal(store_apikey_revoke(f->st, a.id, NOW + 2, &changes, &err), 0);
	assert_int_equal(changes, 0);   /* already revoked: the first time stays */
	assert_int_equal(store_apikey_find(f->st, a.prefix, a.hash, NOW, &k), STORE_REVOKED);
	assert_int_equal(k.revoked_at, NOW + 1);
	store_apikey_clear(&k);

	assert_int_equal(store_apikeys_revoke_user(f->st, "ALICE", NOW + 3, &changes, &err), 0);
	assert_int_equal(changes, 1);   /* b only: a was revoked already */
	assert_int_equal(store_apikey_find(f->st, b.prefix, b.hash, NOW, &k), STORE_REVOKED);
	store_apikey_clear(&k);
	assert_int_equal(store_apikeys_count(f->st, "alice", NOW, &n, &err), 0);
	assert_int_equal(n, 0);
	/* bob's key is untouched. */
	assert_int_equal(store_apikey_find(f->st, c.prefix, c.hash, NOW, &k), STORE_OK);
	store_apikey_clear(&k);
	assert_int_equal(store_apikeys_count(f->st, "bob", NOW, &n, &err), 0);
	assert_int_equal(n, 1);
}

/* The time a key's row says it was last used. */
static int64_t
last_used(struct store *st, const struct made *m)
{
	struct store_apikey k;
	int64_t t;

	assert_int_equal(store_apikey_find(st, m->prefix, m->hash, NOW, &k), STORE_OK);
	t = k.last_used_at;
	store_apikey_clear(&k);
	return t;
}

/* A batch of uses: each key's last use only moves forward; an id no longer stored is skipped. */
static void
test_touch(void **state)
{
	struct teststore *f = *state;
	struct made a, b;
	char *err = NULL;

	make(f->st, &a, "alice", 0);
	make(f->st, &b, "bob", 0);
	assert_int_equal(last_used(f->st, &a), 0);      /* never used */
	{
		const struct keyusage_entry v[] = {
			{ .key_id = a.id, .used_at = NOW + 5 }, { .key_id = 9999, .used_at = NOW },
		};

		if (store_apikeys_touch(f->st, v, 2, &err) != 0)
			fail_msg("touch: %s", err);
	}
	assert_int_equal(last_used(f->st, &a), NOW + 5);
	assert_int_equal(last_used(f->st, &b), 0);
	{
		/* An older batch (written late) never moves a's time back. */
		const struct keyusage_entry v[] = {
			{ .key_id = a.id, .used_at = NOW + 1 }, { .key_id = b.id, .used_at = NOW + 2 },
		};

		if (store_apikeys_touch(f->st, v, 2, &err) != 0)
			fail_msg("touch: %s", err);
	}
	assert_int_equal(last_used(f->st, &a), NOW + 5);
	assert_int_equal(last_used(f->st, &b), NOW + 2);
	assert_int_equal(store_apikeys_touch(f->st, NULL, 0, &err), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_find, setup, teststore_teardown),
		cmocka_unit_test_setup_teardown(test_revoke_list_count, setup, teststore_teardown),
		cmocka_unit_test_setup_teardown(test_limit, setup, teststore_teardown),
		cmocka_unit_test_setup_teardown(test_touch, setup, teststore_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
