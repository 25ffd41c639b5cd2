/*
 * test_store_clients.c — clients kept in the store, on a real SQLite file:
 * add, load, remove, the generation counter, the table's own rules, what a
 * removal takes with it, and clients.c serving stored clients beside the
 * config's (config first; a snapshot stays alive while a caller holds a
 * client from it; another writer's change is seen within a second).
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

#include "clients.h"
#include "config.h"
#include "store.h"
#include "store_clients.h"
#include "store_oauth.h"
#include "util.h"
#include "teststore.h"

#define NOW 1800000000

static int
setup(void **state)
{
	*state = teststore_new("clients");
	return 0;
}

static int
teardown(void **state)
{
	clients_shutdown();
	teststore_free(*state);
	return 0;
}

/* A client as `client add` builds it; free with store_client_cfg_clear. */
static struct client_cfg
client(const char *id, const char *uris, const char *scopes, bool is_public)
{
	struct client_cfg c = { 0 };

	c.id = strdup(id);
	c.name = strdup("Name of <b>it</b>");
	assert_int_equal(strlist_add_words(&c.redirect_uris, uris), 0);
	assert_int_equal(strlist_add_words(&c.scopes, scopes), 0);
	c.is_public = is_public;
	c.pkce_required = is_public;
	c.consent_skip = !is_public;
	if (!is_public) {
		assert_int_equal(client_secret_hash(id, strlen(id), c.secret_hash[0]), 0);
		c.n_secrets = 1;
	}
	return c;
}

static void
add(struct store *st, const char *id, const char *uris, const char *scopes, bool is_public)
{
	struct client_cfg c = client(id, uris, scopes, is_public);
	bool exists = true;
	char *err = NULL;

	if (store_client_add(st, &c, NOW, &exists, &err) != 0)
		fail_msg("store_client_add %s: %s", id, err);
	assert_false(exists);
	store_client_cfg_clear(&c);
}

static int64_t
generation(struct store *st)
{
	int64_t gen = -1;
	char *err = NULL;

	if (store_clients_generation(st, &gen, &err) != 0)
		fail_msg("generation: %s", err);
	return gen;
}

static void
test_add_and_load(void **state)
{
	struct teststore *f = *state;
	struct store_client *v = NULL;
	char *err = NULL;
	int64_t gen = -1;
	size_t n = 0;

	assert_int_equal(generation(f->st), 0);
	add(f->st, "wiki", "https://wiki.example.com/cb http://127.0.0.1/cb", "read write", false);
	add(f->st, "cli", "http://127.0.0.1/callback", "read", true);
	assert_int_equal(generation(f->st), 2);
	assert_int_equal(store_clients_load(f->st, &v, &n, &gen, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(gen, 2);
	/* Ordered by client_id: clients.c searches the array with bsearch. */
	assert_string_equal(v[0].c.id, "cli");
	assert_string_equal(v[1].c.id, "wiki");
	assert_true(v[0].c.is_public && v[0].c.pkce_required && !v[0].c.consent_skip);
	assert_int_equal(v[0].c.n_secrets, 0);
	assert_false(v[1].c.is_public || v[1].c.pkce_required || v[1].c.introspect);
	assert_true(v[1].c.consent_skip);
	assert_string_equal(v[1].c.name, "Name of <b>it</b>");
	assert_int_equal(v[1].c.redirect_uris.n, 2);
	assert_string_equal(v[1].c.redirect_uris.items[1], "http://127.0.0.1/cb");
	assert_int_equal(v[1].c.scopes.n, 2);
	assert_int_equal(v[1].c.line, 0);
	assert_null(v[1].c.set);
	assert_int_equal(v[1].created_at, NOW);
	/* The stored hash is the one client_secret_ok checks. */
	assert_int_equal(v[1].c.n_secrets, 1);
	assert_true(client_secret_ok(&v[1].c, "wiki", 4));
	assert_false(client_secret_ok(&v[1].c, "wikI", 4));
	store_clients_free(v, n);
}

static void
test_duplicate_changes_nothing(void **state)
{
	struct teststore *f = *state;
	struct client_cfg c = client("wiki", "https://other.example.com/cb", "other", false);
	bool exists = false;
	char *err = NULL;

	add(f->st, "wiki", "https://wiki.example.com/cb", "read", false);
	assert_int_equal(store_client_add(f->st, &c, NOW, &exists, &err), 0);
	assert_true(exists);
	assert_int_equal(generation(f->st), 1);
	store_client_cfg_clear(&c);
}

static void
test_remove(void **state)
{
	struct teststore *f = *state;
	struct store_client *v = NULL;
	bool removed = false;
	char *err = NULL;
	int64_t gen;
	size_t n = 9;

	add(f->st, "wiki", "https://wiki.example.com/cb", "read", false);
	assert_int_equal(store_client_remove(f->st, "nope", NOW, &removed, &err), 0);
	assert_false(removed);
	assert_int_equal(generation(f->st), 1);
	assert_int_equal(store_client_remove(f->st, "wiki", NOW, &removed, &err), 0);
	assert_true(removed);
	assert_int_equal(generation(f->st), 2);
	assert_int_equal(store_clients_load(f->st, &v, &n, &gen, &err), 0);
	assert_int_equal(n, 0);
	store_clients_free(v, n);
}

/* A removed client's consents go and its refresh families are revoked; others stay. */
static void
test_remove_takes_grants(void **state)
{
	struct teststore *f = *state;
	struct store_grant g = { .user_id = "uuid-a", .username = "alice", .scope = "read",
	    .expires_at = NOW + 1000 };
	unsigned char h1[STORE_HASH_LEN] = { 1 }, h2[STORE_HASH_LEN] = { 2 };
	bool removed = false;
	char *err = NULL, *scope = NULL;

	add(f->st, "wiki", "https://wiki.example.com/cb", "read", false);
	g.client_id = "wiki";
	assert_int_equal(store_family_create(f->st, "fam-wiki", &g, h1, NOW + 100, NOW), STORE_OK);
	assert_int_equal(store_access_put(f->st, "jti-wiki", "fam-wiki", NOW + 900), STORE_OK);
	assert_int_equal(store_consent_put(f->st, "uuid-a", "wiki", "read", NOW), STORE_OK);
	g.client_id = "jira";
	assert_int_equal(store_family_create(f->st, "fam-jira", &g, h2, NOW + 100, NOW), STORE_OK);
	assert_int_equal(store_access_put(f->st, "jti-jira", "fam-jira", NOW + 900), STORE_OK);
	assert_int_equal(store_consent_put(f->st, "uuid-a", "jira", "read", NOW), STORE_OK);

	assert_int_equal(store_client_remove(f->st, "wiki", NOW, &removed, &err), 0);
	assert_true(removed);
	assert_int_equal(store_access_check(f->st, "jti-wiki"), STORE_REVOKED);
	assert_int_equal(store_consent_get(f->st, "uuid-a", "wiki", &scope), STORE_NOT_FOUND);
	assert_int_equal(store_access_check(f->st, "jti-jira"), STORE_OK);
	assert_int_equal(store_consent_get(f->st, "uuid-a", "jira", &scope), STORE_OK);
	free(scope);
}

/* The table refuses what no client may be, whatever the caller checked. */
static void
test_table_rules(void **state)
{
	static const struct {
		const char *what;
		bool is_public;
		size_t n_secrets;
	} cases[] = {
		{ "a public client with a secret", true, 1 },
		{ "a confidential client without one", false, 0 },
	};
	struct teststore *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct client_cfg c = client("bad", "https://x.example.com/cb", "read", false);
		bool exists = false;
		char *err = NULL;

		c.is_public = cases[i].is_public;
		c.n_secrets = cases[i].n_secrets;
		if (store_client_add(f->st, &c, NOW, &exists, &err) == 0)
			fail_msg("stored %s", cases[i].what);
		assert_non_null(err);
		free(err);
		store_client_cfg_clear(&c);
	}
	assert_int_equal(generation(f->st), 0);
}

static void
test_secret_generate(void **state)
{
	char a[IDB_CLIENT_SECRET_GEN_LEN + 1], b[IDB_CLIENT_SECRET_GEN_LEN + 1];

	(void)state;
	assert_int_equal(client_secret_generate(a), 0);
	assert_int_equal(client_secret_generate(b), 0);
	assert_int_equal(strlen(a), IDB_CLIENT_SECRET_GEN_LEN);
	assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789"), IDB_CLIENT_SECRET_GEN_LEN);
	assert_string_not_equal(a, b);
}

/* ---- clients.c serving stored clients ------------------------------------ */

static void
test_find_config_first(void **state)
{
	struct teststore *f = *state;
	struct client_cfg conf[1] = { { .id = "wiki", .name = "Config wiki", .line = 7 } };
	struct config cfg = { .path = "test.conf", .clients = conf, .n_clients = 1 };
	const struct client_cfg *c;
	char *err = NULL;

	add(f->st, "wiki", "https://wiki.example.com/cb", "read", false);
	add(f->st, "cli", "http://127.0.0.1/callback", "read", true);
	/* Before clients_init only the config counts. */
	assert_null(clients_find(&cfg, "cli"));
	if (clients_init(&cfg, f->st, &err) != 0)
		fail_msg("clients_init: %s", err);
	c = clients_find(&cfg, "wiki");
	assert_ptr_equal(c, &conf[0]);
	clients_release(c);
	c = clients_find(&cfg, "cli");
	assert_non_null(c);
	assert_true(c->is_public);
	assert_non_null(c->set);
	assert_true(client_redirect_ok(c, "http://127.0.0.1:5555/callback"));
	clients_release(c);
	assert_null(clients_find(&cfg, "nope"));
	assert_null(clients_find(&cfg, "bad id"));
}

/* A client taken before a reload stays whole until it is released. */
static void
test_snapshot_outlives_reload(void **state)
{
	struct teststore *f = *state;
	struct config cfg = { .path = "test.conf" };
	const struct client_cfg *held, *c;
	bool removed = false;
	char *err = NULL;

	add(f->st, "wiki", "https://wiki.example.com/cb", "read", false);
	if (clients_init(&cfg, f->st, &err) != 0)
		fail_msg("clients_init: %s", err);
	held = clients_find(&cfg, "wiki");
	assert_non_null(held);
	assert_int_equal(store_client_remove(f->st, "wiki", NOW, &removed, &err), 0);
	assert_int_equal(clients_reload(&err), 0);
	assert_null(clients_find(&cfg, "wiki"));
	/* Freed memory here would show under the sanitizer build. */
	assert_string_equal(held->id, "wiki");
	assert_string_equal(held->redirect_uris.items[0], "https://wiki.example.com/cb");
	clients_release(held);
	add(f->st, "jira", "https://jira.example.com/cb", "read", false);
	assert_int_equal(clients_reload(&err), 0);
	c = clients_find(&cfg, "jira");
	assert_non_null(c);
	clients_release(c);
}

/* Another writer's add and remove are served within a second, without a reload call. */
static void
test_generation_recheck(void **state)
{
	struct teststore *f = *state;
	struct config cfg = { .path = "test.conf" };
	const struct client_cfg *c;
	struct store *other;
	bool removed = false;
	char *err = NULL;

	if (clients_init(&cfg, f->st, &err) != 0)
		fail_msg("clients_init: %s", err);
	if ((other = store_open(&f->cs, &err)) == NULL)
		fail_msg("second store_open: %s", err);
	add(other, "wiki", "https://wiki.example.com/cb", "read", false);
	/* Within the recheck interval the snapshot is not re-read. */
	assert_null(clients_find(&cfg, "wiki"));
	usleep((IDB_CLIENTS_RECHECK_MS + 100) * 1000);
	c = clients_find(&cfg, "wiki");
	assert_non_null(c);
	assert_string_equal(c->name, "Name of <b>it</b>");
	clients_release(c);
	assert_int_equal(store_client_remove(other, "wiki", NOW, &removed, &err), 0);
	assert_true(removed);
	usleep((IDB_CLIENTS_RECHECK_MS + 100) * 1000);
	assert_null(clients_find(&cfg, "wiki"));
	store_close(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_and_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_takes_grants, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_rules, setup, teardown),
		cmocka_unit_test(test_secret_generate),
		cmocka_unit_test_setup_teardown(test_find_config_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_outlives_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generation_recheck, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
