/*
 * test_clients.c — client look-ups: client_id syntax, finding a client,
 * secret checks (two secrets while rotating, public and unknown clients),
 * redirect URI matching (byte for byte; the loopback port rule only for
 * public clients) and the audience of a client's tokens.
 *
 * The clients are built in memory, as config_load() leaves them, so each
 * case states exactly what is registered.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "clients.h"
#include "config.h"
#include "util.h"

static void
sha256(const char *s, unsigned char out[IDB_SHA256_LEN])
{
	unsigned int len = 0;

	assert_int_equal(EVP_Digest(s, strlen(s), out, &len, EVP_sha256(), NULL), 1);
	assert_int_equal(len, IDB_SHA256_LEN);
}

static void
add_uris(struct client_cfg *c, const char *const *uris)
{
	for (; *uris != NULL; uris++)
		assert_int_equal(strlist_add(&c->redirect_uris, *uris), 0);
}

/* A confidential client with secrets "alpha" and "beta". */
static struct client_cfg confidential = { .id = "conf", .pkce_required = false };
/* A confidential client with one secret "alpha"; slot 2 holds a stale "beta". */
static struct client_cfg one_secret = { .id = "one" };
/* A public client: no secret. */
static struct client_cfg public_client = { .id = "pub", .is_public = true,
	.pkce_required = true };

static const char *const confidential_uris[] = {
	"https://a.example/cb",
	"http://127.0.0.1/cb",
	"http://localhost:8080/cb",
	NULL,
};
static const char *const public_uris[] = {
	"http://127.0.0.1/cb",
	"http://[::1]:9000/cb?x=1",
	"http://localhost/cb",
	"https://app.example/cb",
	"http://127.0.0.1",
	NULL,
};

static int
setup(void **state)
{
	(void)state;
	sha256("alpha", confidential.secret_hash[0]);
	sha256("beta", confidential.secret_hash[1]);
	confidential.n_secrets = 2;
	sha256("alpha", one_secret.secret_hash[0]);
	sha256("beta", one_secret.secret_hash[1]);
	one_secret.n_secrets = 1;
	add_uris(&confidential, confidential_uris);
	add_uris(&public_client, public_uris);
	assert_int_equal(strlist_add(&confidential.scopes, "read:resource"), 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	strlist_free(&confidential.redirect_uris);
	strlist_free(&public_client.redirect_uris);
	strlist_free(&confidential.scopes);
	return 0;
}

static void
test_client_id_valid(void **state)
{
	static const struct {
		const char *id;
		bool valid;
	} cases[] = {
		{ "jira", true }, { "a", true }, { "chatgpt-plugin_1.x", true },
		{ "a!#$%&'()*+,-./;<=>?@[]^_`{|}~", true },
		{ "x123456789x123456789x123456789x123456789x123456789x123456789xyzw",
		  true },	/* 64 */
		{ "x123456789x123456789x123456789x123456789x123456789x123456789xyzwv",
		  false },	/* 65 */
		{ "", false }, { "a b", false }, { "a:b", false }, { ":", false },
		{ "a\"b", false }, { "a\\b", false }, { "a\tb", false },
		{ "a\x7f", false }, { "j\xc3\xafra", false }, { "a\nb", false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (client_id_valid(cases[i].id, strlen(cases[i].id)) != cases[i].valid)
			fail_msg("client_id_valid(\"%s\") != %d", cases[i].id,
			    cases[i].valid);
	assert_false(client_id_valid(NULL, 0));
	/* The length is what counts, not a NUL. */
	assert_false(client_id_valid("ab\0cd", 5));
	assert_true(client_id_valid("ab\0cd", 2));
}

static void
test_find(void **state)
{
	struct client_cfg clients[2] = { { .id = "jira" }, { .id = "wiki" } };
	struct config cfg = { .clients = clients, .n_clients = 2 };

	(void)state;
	assert_ptr_equal(clients_find(&cfg, "jira"), &clients[0]);
	assert_ptr_equal(clients_find(&cfg, "wiki"), &clients[1]);
	assert_null(clients_find(&cfg, "JIRA"));
	assert_null(clients_find(&cfg, "jir"));
	assert_null(clients_find(&cfg, "jira "));
	assert_null(clients_find(&cfg, ""));
	assert_null(clients_find(&cfg, NULL));
	assert_null(clients_find(NULL, "jira"));
	clients_release(clients_find(&cfg, "jira"));
	clients_release(NULL);
}

static void
test_secret(void **state)
{
	static const struct {
		const struct client_cfg *client;
		const char *secret;
		bool ok;
	} cases[] = {
		{ &confidential, "alpha", true },
		{ &confidential, "beta", true },	/* the second, while rotating */
		{ &confidential, "gamma", false },
		{ &confidential, "alph", false },
		{ &confidential, "alphaa", false },
		{ &confidential, "Alpha", false },
		{ &confidential, "", false },
		{ &one_secret, "alpha", true },
		{ &one_secret, "beta", false },	/* only n_secrets slots count */
		{ &public_client, "alpha", false },
		{ &public_client, "", false },	/* a public client has no secret */
		{ NULL, "alpha", false },		/* unknown client */
		{ NULL, "", false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *s = cases[i].secret;

		if (client_secret_ok(cases[i].client, s, strlen(s)) != cases[i].ok)
			fail_msg("case %zu: client %s, secret \"%s\": want %d", i,
			    cases[i].client != NULL ? cases[i].client->id : "NULL",
			    s, cases[i].ok);
	}
	/* The length given is what is hashed: a NUL inside counts. */
	assert_false(client_secret_ok(&confidential, "alpha\0", 6));
	assert_true(client_secret_ok(&confidential, "alphabet", 5));
	assert_false(client_secret_ok(&confidential, NULL, 0));
	assert_false(client_secret_ok(NULL, NULL, 0));
}

struct redirect_case {
	const struct client_cfg *client;
	const char *uri;
	bool ok;
};

static const struct redirect_case redirect_cases[] = {
	/* A confidential client: byte for byte, loopback included. */
	{ &confidential, "https://a.example/cb", true },
	{ &confidential, "https://a.example/cb/", false },
	{ &confidential, "https://A.example/cb", false },
	{ &confidential, "https://a.example/CB", false },
	{ &confidential, "https://a.example/cb?x=1", false },
	{ &confidential, "https://a.example/cb#", false },
	{ &confidential, "https://a.example:443/cb", false },
	{ &confidential, "https://a.example/c", false },
	{ &confidential, "https://a.example", false },
	{ &confidential, "", false },
	{ &confidential, "http://127.0.0.1/cb", true },
	{ &confidential, "http://127.0.0.1:5000/cb", false },	/* no port rule */
	{ &confidential, "http://localhost:8080/cb", true },
	{ &confidential, "http://localhost:9090/cb", false },
	{ &confidential, "http://localhost/cb", false },

	/* A public client: the port is free on loopback, nothing else is. */
	{ &public_client, "http://127.0.0.1/cb", true },
	{ &public_client, "http://127.0.0.1:5000/cb", true },
	{ &public_client, "http://127.0.0.1:1/cb", true },
	{ &public_client, "http://127.0.0.1:65535/cb", true },
	{ &public_client, "http://127.0.0.1:65536/cb", false },
	{ &public_client, "http://127.0.0.1:0/cb", false },
	{ &public_client, "http://127.0.0.1:080/cb", false },
	{ &public_client, "http://127.0.0.1:/cb", false },
	{ &public_client, "http://127.0.0.1:123456/cb", false },
	{ &public_client, "http://127.0.0.1:5000/cb2", false },
	{ &public_client, "http://127.0.0.1:5000/cb/", false },
	{ &public_client, "http://127.0.0.1:5000/cb?x", false },
	{ &public_client, "http://127.0.0.1:5000/CB", false },
	{ &public_client, "http://127.0.0.1:5000/cb/../x", false },
	{ &public_client, "http://127.0.0.1:5000@evil.example/cb", false },
	{ &public_client, "http://127.0.0.1@evil.example/cb", false },
	{ &public_client, "http://127.0.0.1.evil.example/cb", false },
	{ &public_client, "http://127.0.0.2:5000/cb", false },
	{ &public_client, "https://127.0.0.1:5000/cb", false },
	{ &public_client, "http://[::1]:1234/cb?x=1", true },
	{ &public_client, "http://[::1]/cb?x=1", true },
	{ &public_client, "http://[::1]:9000/cb?x=1", true },
	{ &public_client, "http://[::1]:1234/cb?x=2", false },
	{ &public_client, "http://[::1]:1234/cb", false },
	{ &public_client, "http://[0:0:0:0:0:0:0:1]:1234/cb?x=1", false },
	{ &public_client, "http://localhost:7/cb", true },
	{ &public_client, "http://localhost/cb", true },
	{ &public_client, "http://LOCALHOST:7/cb", false },
	{ &public_client, "http://localhost.evil.example/cb", false },
	{ &public_client, "http://localhost:7.evil.example/cb", false },
	/* A path-less loopback URI: only the port may differ. */
	{ &public_client, "http://127.0.0.1", true },
	{ &public_client, "http://127.0.0.1:8000", true },
	{ &public_client, "http://127.0.0.1:8000/", false },
	/* Not loopback: exact, even for a public client. */
	{ &public_client, "https://app.example/cb", true },
	{ &public_client, "https://app.example:444/cb", false },
	{ &public_client, "https://app.example:443/cb", false },

	{ NULL, "https://a.example/cb", false },
};

static void
test_redirect(void **state)
{
	char *huge;

	(void)state;
	for (size_t i = 0; i < sizeof(redirect_cases) / sizeof(redirect_cases[0]); i++) {
		const struct redirect_case *c = &redirect_cases[i];

		if (client_redirect_ok(c->client, c->uri) != c->ok)
			fail_msg("case %zu: client %s, \"%s\": want %d", i,
			    c->client != NULL ? c->client->id : "NULL", c->uri, c->ok);
	}
	assert_false(client_redirect_ok(&confidential, NULL));

	/* Over IDB_MAX_REDIRECT_URI_LEN: refused even when it would match. */
	huge = malloc(IDB_MAX_REDIRECT_URI_LEN + 2);
	assert_non_null(huge);
	memset(huge, 'a', IDB_MAX_REDIRECT_URI_LEN + 1);
	memcpy(huge, "https://a.example/", 18);
	huge[IDB_MAX_REDIRECT_URI_LEN + 1] = '\0';
	assert_int_equal(strlist_add(&confidential.redirect_uris, huge), 0);
	assert_false(client_redirect_ok(&confidential, huge));
	huge[IDB_MAX_REDIRECT_URI_LEN] = '\0';
	assert_false(client_redirect_ok(&confidential, huge));	/* not registered */
	free(huge);
}

static void
test_scopes(void **state)
{
	(void)state;
	assert_true(client_scope_allowed(&confidential, "read:resource"));
	assert_false(client_scope_allowed(&confidential, "read"));
	assert_false(client_scope_allowed(&confidential, "write:resource"));
	assert_false(client_scope_allowed(&public_client, "read:resource"));
	assert_false(client_scope_allowed(NULL, "read:resource"));
	assert_false(client_scope_allowed(&confidential, NULL));
}

static void
test_audience(void **state)
{
	struct client_cfg clients[3] = { { .id = "jira" }, { .id = "wiki" },
		{ .id = "svc" } };
	struct plugin_cfg plugins[3] = {
		{ .name = "jira", .auth = PLUGIN_AUTH_OAUTH, .client = "jira",
		  .audience = "https://jira-plugin.example.com" },
		/* A non-oauth plugin naming a client does not count. */
		{ .name = "other", .auth = PLUGIN_AUTH_SERVICE_HTTP, .client = "svc",
		  .audience = "https://svc.example.com" },
		{ .name = "bare", .auth = PLUGIN_AUTH_OAUTH, .client = "wiki" },
	};
	struct config cfg = { .clients = clients, .n_clients = 3,
		.plugins = plugins, .n_plugins = 3 };

	(void)state;
	cfg.server.issuer = "https://sso.example.com";
	assert_string_equal(client_audience(&cfg, &clients[0]),
	    "https://jira-plugin.example.com");
	/* A plugin without an audience (config_load refuses one for oauth). */
	assert_string_equal(client_audience(&cfg, &clients[1]),
	    "https://sso.example.com");
	assert_string_equal(client_audience(&cfg, &clients[2]),
	    "https://sso.example.com");
	assert_string_equal(client_audience(&cfg, NULL), "https://sso.example.com");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_id_valid),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_secret),
		cmocka_unit_test(test_redirect),
		cmocka_unit_test(test_scopes),
		cmocka_unit_test(test_audience),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
