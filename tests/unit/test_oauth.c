/*
 * test_oauth.c — PKCE (RFC 7636, with its Appendix B vector) and the scope
 * rules: parsing, and requested ∩ client ∩ allowed.
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

#include "oauth.h"
#include "util.h"

#define RFC_VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define RFC_CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

static void
test_pkce(void **state)
{
	char v128[129], v129[130];

	(void)state;
	assert_true(pkce_s256_matches(RFC_VERIFIER, RFC_CHALLENGE));
	assert_false(pkce_s256_matches(RFC_VERIFIER "x", RFC_CHALLENGE));
	assert_false(pkce_s256_matches(RFC_VERIFIER, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"));
	/* "plain" would compare the verifier itself: never accepted. */
	assert_false(pkce_s256_matches(RFC_VERIFIER, RFC_VERIFIER));
	assert_false(pkce_s256_matches(NULL, RFC_CHALLENGE));
	assert_false(pkce_s256_matches(RFC_VERIFIER, NULL));

	memset(v128, 'a', 128);
	v128[128] = '\0';
	memset(v129, 'a', 129);
	v129[129] = '\0';
	assert_true(pkce_verifier_ok(v128));
	assert_false(pkce_verifier_ok(v129));
	assert_true(pkce_verifier_ok("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-._~012"));  /* 43 */
	assert_false(pkce_verifier_ok("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-._~01"));  /* 42 */
	assert_false(pkce_verifier_ok("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-._~01+"));
	assert_false(pkce_verifier_ok("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-._~01 "));
	assert_true(pkce_challenge_ok(RFC_CHALLENGE));
	assert_false(pkce_challenge_ok(RFC_CHALLENGE "="));
	assert_false(pkce_challenge_ok("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"));
}

static const struct {
	const char *param;
	enum scope_parse expect;
	const char *joined;  /* the parsed list, space-joined */
} parse_cases[] = {
	{ NULL, SCOPE_OK, "" },
	{ "", SCOPE_OK, "" },
	{ "read:resource", SCOPE_OK, "read:resource" },
	{ "a b  c ", SCOPE_OK, "a b c" },
	{ "a b a", SCOPE_OK, "a b" },
	{ "a \"b\"", SCOPE_BAD_SYNTAX, "" },
	{ "a\\b", SCOPE_BAD_SYNTAX, "" },
	{ "a\tb", SCOPE_BAD_SYNTAX, "" },
	{ "caf\xc3\xa9", SCOPE_BAD_SYNTAX, "" },
	{ "<script>", SCOPE_OK, "<script>" },  /* legal syntax; unknown to every client */
};

static void
test_scope_parse(void **state)
{
	char longs[OAUTH_MAX_SCOPE_LEN + 2], many[OAUTH_MAX_SCOPES * 4 + 8];
	struct strlist l = { 0 };
	size_t o = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		char *j;

		print_message("case %zu\n", i);
		assert_int_equal(scope_parse(parse_cases[i].param, &l), parse_cases[i].expect);
		j = strlist_join(&l, " ");
		assert_string_equal(j, parse_cases[i].joined);
		free(j);
	}
	memset(longs, 'x', OAUTH_MAX_SCOPE_LEN + 1);
	longs[OAUTH_MAX_SCOPE_LEN + 1] = '\0';
	assert_int_equal(scope_parse(longs, &l), SCOPE_TOO_LONG);
	for (int i = 0; i <= OAUTH_MAX_SCOPES; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "s%d ", i);
	assert_int_equal(scope_parse(many, &l), SCOPE_TOO_MANY);
	assert_int_equal(l.n, 0);
}

static void
list(struct strlist *l, const char *words)
{
	strlist_free(l);
	assert_int_equal(strlist_add_words(l, words), 0);
}

static const struct {
	const char *requested, *client, *allowed, *granted;
	bool unknown;
} grant_cases[] = {
	/* An empty request: every client scope the user may have. */
	{ "", "read write admin", "read write", "read write", false },
	{ "write", "read write admin", "read write", "write", false },
	/* Asked for, allowed to the client, but not to this user: left out. */
	{ "admin read", "read write admin", "read write", "read", false },
	/* Not the client's: flagged, never granted, even if the user may. */
	{ "read other", "read write", "read other", "read", true },
	/* Nothing the user may have. */
	{ "admin", "read admin", "read", "", false },
	/* The client's order, not the request's. */
	{ "write read", "read write", "write read", "read write", false },
};

static void
test_scope_grant(void **state)
{
	struct strlist req = { 0 }, client = { 0 }, allowed = { 0 }, out = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(grant_cases) / sizeof(grant_cases[0]); i++) {
		bool unknown;
		char *j;

		print_message("case %zu\n", i);
		list(&req, grant_cases[i].requested);
		list(&client, grant_cases[i].client);
		list(&allowed, grant_cases[i].allowed);
		assert_int_equal(scope_grant(&req, &client, &allowed, &out, &unknown), 0);
		j = strlist_join(&out, " ");
		assert_string_equal(j, grant_cases[i].granted);
		free(j);
		assert_int_equal(unknown, grant_cases[i].unknown);
	}
	strlist_free(&req);
	strlist_free(&client);
	strlist_free(&allowed);
	strlist_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkce),
		cmocka_unit_test(test_scope_parse),
		cmocka_unit_test(test_scope_grant),
	};

	return cmocka_run_group_tests_name("oauth", tests, NULL, NULL);
}
