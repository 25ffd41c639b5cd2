/*
 * test_manifest.c — ai-plugin.json per strategy: exactly the keys and
 * values PROTOCOLS.md lists, every URL from the issuer and the config.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "config.h"
#include "manifest.h"

#define H1 "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

/* The manifest keys every plugin below shares. */
#define TEXTS(name) \
	"name_for_human = " name " <b>&</b>\n" \
	"name_for_model = " name "_model\n" \
	"description_for_human = For \"humans\".\n" \
	"description_for_model = For the model,\n" \
	"  on two lines.\n" \
	"logo_url = https://" name ".example.com/logo.png\n" \
	"contact_email = it@example.com\n" \
	"legal_info_url = https://example.com/legal\n" \
	"api_url = https://" name ".example.com/openapi.yaml\n"

static const char conf[] =
	"[server]\n"
	"issuer = https://sso.example.com/idp\n"
	"[ldap]\n"
	"uri = ldaps://ldap.example.com\n"
	"user_base = ou=people,dc=example,dc=org\n"
	"group_attribute = memberOf\n"
	"[scopes]\n"
	"read:issues = *\n"
	"write:issues = engineering\n"
	"[client jira]\n"
	"name = Jira\n"
	"secret = " H1 "\n"
	"redirect_uri = https://chat.openai.com/aip/plugin-1/oauth/callback\n"
	"scopes = read:issues write:issues\n"
	"pkce = optional\n"
	"[client wiki]\n"
	"name = Wiki\n"
	"secret = " H1 "\n"
	"redirect_uri = https://chat.openai.com/aip/plugin-2/oauth/callback\n"
	"scopes = read:issues\n"
	"[plugin jira]\n"
	"auth = oauth\n"
	"client = jira\n"
	"verification_token = vt-jira\n"
	TEXTS("jira")
	"[plugin wiki]\n"
	"auth = oauth\n"
	"client = wiki\n"
	"authorization_content_type = application/x-www-form-urlencoded\n"
	"verification_token = vt-wiki\n"
	TEXTS("wiki")
	"[plugin svc]\n"
	"auth = service_http\n"
	"service_secret = " H1 "\n"
	"verification_token = vt-svc\n"
	TEXTS("svc")
	"[plugin keys]\n"
	"auth = user_http\n"
	TEXTS("keys")
	"[plugin open]\n"
	"auth = none\n"
	TEXTS("open")
	"[plugin svc2]\n"
	"auth = service_http\n"
	"service_secret = " H1 "\n"
	TEXTS("svc2")
	"[plugin bare]\n"
	"auth = none\n";

static char path[64];

static int
group_setup(void **state)
{
	struct config_errors errs;
	struct config *cfg;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/tmp/idb-test-manifest-XXXXXX");
	if ((fd = mkstemp(path)) < 0 || (f = fdopen(fd, "w")) == NULL)
		return -1;
	fputs(conf, f);
	if (fclose(f) != 0)
		return -1;
	cfg = config_load(path, &errs);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	config_errors_free(&errs);
	*state = cfg;
	return cfg != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	config_free(*state);
	return unlink(path);
}

/* The shared part of every expected manifest, with auth. */
static json_t *
expected(const char *name, json_t *auth)
{
	char n[64], model[64], logo[128], api[128];

	snprintf(n, sizeof(n), "%s <b>&</b>", name);
	snprintf(model, sizeof(model), "%s_model", name);
	snprintf(logo, sizeof(logo), "https://%s.example.com/logo.png", name);
	snprintf(api, sizeof(api), "https://%s.example.com/openapi.yaml", name);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:{s:s, s:s, s:b}, "
	    "s:s, s:s, s:s}",
	    "schema_version", "v1",
	    "name_for_human", n,
	    "name_for_model", model,
	    "description_for_human", "For \"humans\".",
	    "description_for_model", "For the model, on two lines.",
	    "auth", auth,
	    "api", "type", "openapi", "url", api, "is_user_authenticated", 0,
	    "logo_url", logo,
	    "contact_email", "it@example.com",
	    "legal_info_url", "https://example.com/legal");
}

static void
test_strategies(void **state)
{
	const struct config *cfg = *state;
	const struct {
		const char *plugin;
		json_t *auth;
	} cases[] = {
		{ "jira", json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s}}",
		    "type", "oauth",
		    "client_url", "https://sso.example.com/idp/authorize",
		    "scope", "read:issues write:issues",
		    "authorization_url", "https://sso.example.com/idp/token",
		    "authorization_content_type", "application/json",
		    "verification_tokens", "openai", "vt-jira") },
		{ "wiki", json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s}}",
		    "type", "oauth",
		    "client_url", "https://sso.example.com/idp/authorize",
		    "scope", "read:issues",
		    "authorization_url", "https://sso.example.com/idp/token",
		    "authorization_content_type",
		    "application/x-www-form-urlencoded",
		    "verification_tokens", "openai", "vt-wiki") },
		{ "svc", json_pack("{s:s, s:s, s:{s:s}}", "type", "service_http",
		    "authorization_type", "bearer",
		    "verification_tokens", "openai", "vt-svc") },
		/* No verification_token yet: no verification_tokens. */
		{ "svc2", json_pack("{s:s, s:s}", "type", "service_http",
		    "authorization_type", "bearer") },
		{ "keys", json_pack("{s:s, s:s}", "type", "user_http",
		    "authorization_type", "bearer") },
		{ "open", json_pack("{s:s}", "type", "none") },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct plugin_cfg *p = config_plugin_by_name(cfg,
		    cases[i].plugin);
		enum manifest_error err = MANIFEST_NOMEM;
		json_t *want, *got;
		char *w, *g;

		assert_non_null(cases[i].auth);
		assert_non_null(p);
		want = expected(cases[i].plugin, cases[i].auth);
		got = manifest_build(cfg, p, &err);
		assert_non_null(want);
		assert_non_null(got);
		assert_int_equal(err, MANIFEST_OK);
		if (!json_equal(want, got)) {
			w = json_dumps(want, JSON_SORT_KEYS);
			g = json_dumps(got, JSON_SORT_KEYS);
			fail_msg("%s:\nwant %s\ngot  %s", cases[i].plugin, w, g);
		}
		json_decref(want);
		json_decref(got);
	}
}

/* The text is the object, keys in the order PROTOCOLS.md lists them. */
static void
test_dump(void **state)
{
	static const char *const order[] = {
		"\"schema_version\"", "\"name_for_human\"", "\"name_for_model\"",
		"\"description_for_human\"", "\"description_for_model\"",
		"\"auth\"", "\"api\"", "\"logo_url\"", "\"contact_email\"",
		"\"legal_info_url\"",
	};
	const struct config *cfg = *state;
	enum manifest_error err = MANIFEST_NOMEM;
	const char *prev = NULL, *at;
	char *text = manifest_dump(cfg, "jira", &err);
	json_t *j, *built;
	json_error_t jerr;

	assert_non_null(text);
	assert_int_equal(err, MANIFEST_OK);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		at = strstr(text, order[i]);
		assert_non_null(at);
		assert_true(prev == NULL || at > prev);
		prev = at;
	}
	j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(j);
	built = manifest_build(cfg, config_plugin_by_name(cfg, "jira"), &err);
	assert_true(json_equal(j, built));
	json_decref(j);
	json_decref(built);
	free(text);
}

static void
test_errors(void **state)
{
	const struct config *cfg = *state;
	enum manifest_error err = MANIFEST_OK;

	assert_null(manifest_dump(cfg, "nosuch", &err));
	assert_int_equal(err, MANIFEST_NO_PLUGIN);
	assert_null(manifest_dump(cfg, "JIRA", &err));
	assert_int_equal(err, MANIFEST_NO_PLUGIN);
	/* A plugin without manifest keys (only for /verify) has none. */
	err = MANIFEST_OK;
	assert_null(manifest_dump(cfg, "bare", &err));
	assert_int_equal(err, MANIFEST_NONE);
	assert_non_null(strstr(manifest_strerror(MANIFEST_NONE), "no manifest"));
	assert_string_equal(manifest_strerror(MANIFEST_NO_PLUGIN),
	    "no such [plugin]");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strategies),
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
