/*
 * test_session.c — cookie names and attributes per issuer, strict cookie
 * parsing (duplicates and malformed values count as absent), CSRF tokens.
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

#include "config.h"
#include "session.h"

static struct config https_cfg = { .server = { .issuer = (char *)"https://sso.example.com" } };
static struct config http_cfg = { .server = { .issuer = (char *)"http://127.0.0.1:8080" } };

#define TOK_A "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define TOK_B "abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE"

static void
test_names_and_attributes(void **state)
{
	char *c;

	(void)state;
	assert_string_equal(session_cookie_name(&https_cfg, COOKIE_SESSION), "__Host-idb_session");
	assert_string_equal(session_cookie_name(&https_cfg, COOKIE_PREAUTH), "__Host-idb_preauth");
	assert_string_equal(session_cookie_name(&http_cfg, COOKIE_SESSION), "idb_session");

	c = session_set_cookie(&https_cfg, COOKIE_SESSION, TOK_A, 3600);
	assert_string_equal(c, "__Host-idb_session=" TOK_A
	    "; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax; Secure");
	free(c);
	c = session_set_cookie(&http_cfg, COOKIE_PREAUTH, TOK_A, 600);
	assert_string_equal(c, "idb_preauth=" TOK_A "; Path=/; Max-Age=600; HttpOnly; SameSite=Lax");
	free(c);
	/* Deleting sends no value. */
	c = session_set_cookie(&https_cfg, COOKIE_PREAUTH, TOK_A, 0);
	assert_string_equal(c, "__Host-idb_preauth=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure");
	free(c);
}

static const struct {
	const char *header;
	const char *want;   /* NULL: absent */
} parse_cases[] = {
	{ "__Host-idb_session=" TOK_A, TOK_A },
	{ "a=1; __Host-idb_session=" TOK_A "; b=2", TOK_A },
	{ "a=1;__Host-idb_session=" TOK_A "  ", TOK_A },
	{ "__Host-idb_session=" TOK_A "; __Host-idb_session=" TOK_B, NULL },  /* tossing */
	{ "__Host-idb_session=short", NULL },
	{ "__Host-idb_session=" TOK_A "x", NULL },
	{ "__Host-idb_session=" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA*", NULL },
	{ "idb_session=" TOK_A, NULL },              /* the unprefixed name on https */
	{ "x__Host-idb_session=" TOK_A, NULL },
	{ "__Host-idb_session_old=" TOK_A, NULL },
	{ "", NULL },
	{ "__Host-idb_preauth=" TOK_B, NULL },       /* the other cookie */
};

static void
test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		char out[SESSION_TOKEN_LEN + 1] = "";
		bool got = session_cookie_from_header(&https_cfg, COOKIE_SESSION,
		    parse_cases[i].header, out, sizeof(out));

		print_message("case %zu: %s\n", i, parse_cases[i].header);
		assert_int_equal(got, parse_cases[i].want != NULL);
		if (got)
			assert_string_equal(out, parse_cases[i].want);
	}
	assert_false(session_cookie_from_header(&https_cfg, COOKIE_SESSION, NULL, NULL, 0));
}

static void
test_tokens(void **state)
{
	char a[SESSION_TOKEN_LEN + 1], b[SESSION_TOKEN_LEN + 1];
	char out[SESSION_TOKEN_LEN + 1];
	char *hdr = NULL;

	(void)state;
	assert_int_equal(session_new_token(a, sizeof(a)), 0);
	assert_int_equal(session_new_token(b, sizeof(b)), 0);
	assert_int_equal(strlen(a), SESSION_TOKEN_LEN);
	assert_string_not_equal(a, b);
	assert_int_equal(session_new_token(a, SESSION_TOKEN_LEN), -1);  /* no room for NUL */
	/* A fresh token parses back. */
	assert_int_equal(session_new_token(a, sizeof(a)), 0);
	assert_true(asprintf(&hdr, "idb_session=%s", a) > 0);
	assert_true(session_cookie_from_header(&http_cfg, COOKIE_SESSION, hdr, out, sizeof(out)));
	assert_string_equal(out, a);
	free(hdr);
}

static void
test_hash_known_answer(void **state)
{
	unsigned char h[SESSION_HASH_LEN];
	static const unsigned char abc[SESSION_HASH_LEN] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde,
		0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
		0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};

	(void)state;
	session_hash("abc", h);
	assert_memory_equal(h, abc, sizeof(abc));
}

static void
test_csrf(void **state)
{
	char c1[SESSION_TOKEN_LEN + 1], c2[SESSION_TOKEN_LEN + 1];

	(void)state;
	session_csrf_for(TOK_A, c1, sizeof(c1));
	session_csrf_for(TOK_B, c2, sizeof(c2));
	assert_int_equal(strlen(c1), SESSION_TOKEN_LEN);
	assert_string_not_equal(c1, c2);
	/* Not the cookie itself, nor its plain hash. */
	assert_string_not_equal(c1, TOK_A);
	assert_true(session_csrf_ok(TOK_A, c1));
	assert_false(session_csrf_ok(TOK_A, c2));
	assert_false(session_csrf_ok(TOK_B, c1));
	c1[5] ^= 1;
	assert_false(session_csrf_ok(TOK_A, c1));
	assert_false(session_csrf_ok(TOK_A, ""));
	assert_false(session_csrf_ok(TOK_A, NULL));
	assert_false(session_csrf_ok(NULL, c2));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_attributes),
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_hash_known_answer),
		cmocka_unit_test(test_csrf),
	};

	return cmocka_run_group_tests_name("session", tests, NULL, NULL);
}
