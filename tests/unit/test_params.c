/*
 * test_params.c — /token, /introspect and /revoke parameters: form or JSON
 * into one struct form, with the same strictness either way.
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

#include "bridge.h"
#include "params.h"

struct params_case {
	const char *content_type;
	const char *body;
	size_t len;              /* 0: strlen(body) */
	enum params_error expect;
	const char *name;        /* when OK: this field … */
	const char *value;       /* … has this value (NULL: absent) */
	size_t n_fields;
};

static const struct params_case cases[] = {
	/* Form bodies, with or without parameters on the media type. */
	{ "application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=a%2Bb",
	    0, PARAMS_OK, "refresh_token", "a+b", 2 },
	{ "Application/X-WWW-Form-Urlencoded; charset=UTF-8", "code=x", 0, PARAMS_OK,
	    "code", "x", 1 },
	{ "application/x-www-form-urlencoded", "", 0, PARAMS_OK, "code", NULL, 0 },
	{ "application/x-www-form-urlencoded", "code=1&code=2", 0, PARAMS_FORM, NULL, NULL, 0 },
	{ "application/x-www-form-urlencoded", "code=a%00b", 0, PARAMS_FORM, NULL, NULL, 0 },
	/* JSON bodies (ChatGPT plugins). */
	{ "application/json", "{\"grant_type\":\"authorization_code\",\"code\":\"c\"}", 0,
	    PARAMS_OK, "code", "c", 2 },
	{ "application/json; charset=utf-8", "{\"scope\":\"\"}", 0, PARAMS_OK, "scope", "", 1 },
	{ "application/json", "{}", 0, PARAMS_OK, "code", NULL, 0 },
	{ "application/json", "{\"code\":\"a\",\"code\":\"b\"}", 0, PARAMS_DUPLICATE,
	    NULL, NULL, 0 },
	{ "application/json", "{\"code\":1}", 0, PARAMS_NOT_STRING, NULL, NULL, 0 },
	{ "application/json", "{\"code\":null}", 0, PARAMS_NOT_STRING, NULL, NULL, 0 },
	{ "application/json", "{\"code\":true}", 0, PARAMS_NOT_STRING, NULL, NULL, 0 },
	{ "application/json", "{\"code\":[\"a\"]}", 0, PARAMS_NOT_STRING, NULL, NULL, 0 },
	{ "application/json", "{\"code\":{\"a\":\"b\"}}", 0, PARAMS_NOT_STRING, NULL, NULL, 0 },
	{ "application/json", "{\"code\":\"a\\u0000b\"}", 0, PARAMS_NUL, NULL, NULL, 0 },
	{ "application/json", "{\"co\\u0000de\":\"a\"}", 0, PARAMS_NUL, NULL, NULL, 0 },
	{ "application/json", "[\"code\"]", 0, PARAMS_JSON, NULL, NULL, 0 },
	{ "application/json", "\"code\"", 0, PARAMS_JSON, NULL, NULL, 0 },
	{ "application/json", "{\"code\":\"a\"", 0, PARAMS_JSON, NULL, NULL, 0 },
	{ "application/json", "{\"code\":\"a\"} {}", 0, PARAMS_JSON, NULL, NULL, 0 },
	{ "application/json", "", 0, PARAMS_JSON, NULL, NULL, 0 },
	{ "application/json", "{\"\":\"a\"}", 0, PARAMS_JSON, NULL, NULL, 0 },
	/* Neither form nor JSON. */
	{ NULL, "code=x", 0, PARAMS_CONTENT_TYPE, NULL, NULL, 0 },
	{ "text/plain", "code=x", 0, PARAMS_CONTENT_TYPE, NULL, NULL, 0 },
	{ "multipart/form-data; boundary=x", "code=x", 0, PARAMS_CONTENT_TYPE, NULL, NULL, 0 },
	{ "application/jsonx", "{}", 0, PARAMS_CONTENT_TYPE, NULL, NULL, 0 },
	{ "application/json-patch+json", "{}", 0, PARAMS_CONTENT_TYPE, NULL, NULL, 0 },
};

static void
test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct params_case *c = &cases[i];
		struct form f = { 0 };
		enum params_error r;

		r = params_parse(c->content_type, c->body, c->len ? c->len : strlen(c->body), &f,
		    NULL);
		if (r != c->expect)
			fail_msg("case %zu (%s): got %d, want %d", i, c->body, r, c->expect);
		if (r == PARAMS_OK) {
			const char *v = form_get(&f, c->name);

			assert_int_equal(f.n, c->n_fields);
			if (c->value == NULL)
				assert_null(v);
			else {
				assert_non_null(v);
				assert_string_equal(v, c->value);
			}
		} else
			assert_int_equal(f.n, 0);
		form_free(&f);
	}
}

/* A JSON body with a raw NUL byte inside a string. */
static void
test_raw_nul(void **state)
{
	static const char body[] = "{\"code\":\"a\0b\"}";
	struct form f = { 0 };

	(void)state;
	assert_int_not_equal(params_parse("application/json", body, sizeof(body) - 1, &f, NULL),
	    PARAMS_OK);
	assert_int_equal(f.n, 0);
}

static char *
json_with(size_t n_members, size_t value_len)
{
	size_t size = 32 + n_members * (value_len + 32);
	char *s = malloc(size), *p = s;

	assert_non_null(s);
	*p++ = '{';
	for (size_t i = 0; i < n_members; i++) {
		p += sprintf(p, "%s\"k%zu\":\"", i ? "," : "", i);
		memset(p, 'v', value_len);
		p += value_len;
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	return s;
}

static void
test_json_limits(void **state)
{
	struct form f = { 0 };
	char *s;

	(void)state;
	s = json_with(1, IDB_MAX_FORM_FIELD_LEN);
	assert_int_equal(params_parse("application/json", s, strlen(s), &f, NULL), PARAMS_OK);
	assert_int_equal(form_get(&f, "k0") != NULL ? strlen(form_get(&f, "k0")) : 0,
	    IDB_MAX_FORM_FIELD_LEN);
	form_free(&f);
	free(s);
	s = json_with(1, IDB_MAX_FORM_FIELD_LEN + 1);
	assert_int_equal(params_parse("application/json", s, strlen(s), &f, NULL),
	    PARAMS_TOO_LONG);
	free(s);
	s = json_with(IDB_MAX_FORM_FIELDS, 1);
	assert_int_equal(params_parse("application/json", s, strlen(s), &f, NULL), PARAMS_OK);
	assert_int_equal(f.n, IDB_MAX_FORM_FIELDS);
	form_free(&f);
	free(s);
	s = json_with(IDB_MAX_FORM_FIELDS + 1, 1);
	assert_int_equal(params_parse("application/json", s, strlen(s), &f, NULL),
	    PARAMS_TOO_MANY);
	assert_int_equal(f.n, 0);
	free(s);
}

/* Deep nesting is refused (never a string value) without exhausting anything. */
static void
test_json_nesting(void **state)
{
	size_t depth = 5000;
	char *s = malloc(2 * depth + 16), *p = s;
	struct form f = { 0 };

	(void)state;
	assert_non_null(s);
	p += sprintf(p, "{\"a\":");
	memset(p, '[', depth);
	p += depth;
	memset(p, ']', depth);
	p += depth;
	strcpy(p, "}");
	assert_int_not_equal(params_parse("application/json", s, strlen(s), &f, NULL),
	    PARAMS_OK);
	assert_int_equal(f.n, 0);
	free(s);
}

static void
test_form_error_passed_on(void **state)
{
	struct form f = { 0 };
	enum form_error fe = FORM_OK;

	(void)state;
	assert_int_equal(params_parse("application/x-www-form-urlencoded", "a=1&a=2", 7, &f,
	    &fe), PARAMS_FORM);
	assert_int_equal(fe, FORM_ERR_DUPLICATE);
	assert_string_equal(params_error_text(PARAMS_FORM, fe), form_error_text(fe));
	for (int e = PARAMS_OK; e <= PARAMS_TOO_MANY; e++)
		assert_true(strlen(params_error_text(e, FORM_OK)) > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_raw_nul),
		cmocka_unit_test(test_json_limits),
		cmocka_unit_test(test_json_nesting),
		cmocka_unit_test(test_form_error_passed_on),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
