/*
 * test_form.c — the strict form/query parser and the size limits it enforces.
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
#include "form.h"

struct parse_case {
	const char *input;
	enum form_error expect;
	const char *name;        /* when FORM_OK: this field … */
	const char *value;       /* … has this value (NULL: absent) */
	size_t n_fields;
};

static const struct parse_case cases[] = {
	{ "", FORM_OK, "a", NULL, 0 },
	{ "a=1", FORM_OK, "a", "1", 1 },
	{ "a=1&b=2", FORM_OK, "b", "2", 2 },
	{ "a=1&&b=2&", FORM_OK, "b", "2", 2 },
	{ "a=", FORM_OK, "a", "", 1 },
	{ "a", FORM_OK, "a", "", 1 },
	{ "scope=read%3Aresource+write", FORM_OK, "scope", "read:resource write", 1 },
	{ "redirect_uri=https%3A%2F%2Fx.example%2Fcb%3Fq%3D1", FORM_OK, "redirect_uri",
	    "https://x.example/cb?q=1", 1 },
	{ "u=%C3%A9", FORM_OK, "u", "\xc3\xa9", 1 },
	{ "a%3D=1", FORM_OK, "a=", "1", 1 },
	{ "a=1&a=2", FORM_ERR_DUPLICATE, NULL, NULL, 0 },
	{ "a=1&b=2&a=1", FORM_ERR_DUPLICATE, NULL, NULL, 0 },
	{ "a%00=1", FORM_ERR_NUL, NULL, NULL, 0 },
	{ "a=x%00y", FORM_ERR_NUL, NULL, NULL, 0 },
	{ "a=%zz", FORM_ERR_ENCODING, NULL, NULL, 0 },
	{ "a=%4", FORM_ERR_ENCODING, NULL, NULL, 0 },
	{ "a=%", FORM_ERR_ENCODING, NULL, NULL, 0 },
	{ "=1", FORM_ERR_ENCODING, NULL, NULL, 0 },
};

static void
test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct parse_case *c = &cases[i];
		struct form f = { 0 };
		enum form_error e = form_parse(c->input, strlen(c->input), &f);

		print_message("case %zu: \"%s\"\n", i, c->input);
		assert_int_equal(e, c->expect);
		if (e == FORM_OK) {
			assert_int_equal(f.n, c->n_fields);
			if (c->value == NULL)
				assert_null(form_get(&f, c->name));
			else
				assert_string_equal(form_get(&f, c->name), c->value);
		} else {
			assert_int_equal(f.n, 0);  /* nothing half-parsed survives an error */
		}
		form_free(&f);
	}
}

/* A value of exactly the limit passes; one byte more is refused, never cut. */
static void
test_field_length_limit(void **state)
{
	size_t n = IDB_MAX_FORM_FIELD_LEN;
	char *buf = malloc(n + 16);
	struct form f = { 0 };

	(void)state;
	assert_non_null(buf);
	memcpy(buf, "v=", 2);
	memset(buf + 2, 'x', n);
	assert_int_equal(form_parse(buf, n + 2, &f), FORM_OK);
	assert_int_equal(f.fields[0].value_len, n);
	form_free(&f);
	buf[n + 2] = 'x';
	assert_int_equal(form_parse(buf, n + 3, &f), FORM_ERR_TOO_LONG);
	assert_int_equal(f.n, 0);
	free(buf);
}

/* Percent-encoding must not smuggle a long value past the decoded-length check. */
static void
test_encoded_length_limit(void **state)
{
	size_t n = IDB_MAX_FORM_FIELD_LEN + 1;
	char *buf = malloc(3 * n + 3);
	struct form f = { 0 };

	(void)state;
	assert_non_null(buf);
	memcpy(buf, "v=", 2);
	for (size_t i = 0; i < n; i++)
		memcpy(buf + 2 + 3 * i, "%41", 3);
	assert_int_equal(form_parse(buf, 2 + 3 * n, &f), FORM_ERR_TOO_LONG);
	free(buf);
}

static void
test_field_count_limit(void **state)
{
	char buf[IDB_MAX_FORM_FIELDS * 8 + 16];
	size_t o = 0;
	struct form f = { 0 };

	(void)state;
	for (int i = 0; i < IDB_MAX_FORM_FIELDS; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "f%d=1&", i);
	assert_int_equal(form_parse(buf, o, &f), FORM_OK);
	assert_int_equal(f.n, IDB_MAX_FORM_FIELDS);
	form_free(&f);
	o += (size_t)snprintf(buf + o, sizeof(buf) - o, "one=more");
	assert_int_equal(form_parse(buf, o, &f), FORM_ERR_TOO_MANY);
}

/* A value may carry bytes the parser must not mistake for the end of input. */
static void
test_length_not_nul(void **state)
{
	const char input[] = "a=1&b=2";
	struct form f = { 0 };

	(void)state;
	/* Only the first three bytes are the form. */
	assert_int_equal(form_parse(input, 3, &f), FORM_OK);
	assert_int_equal(f.n, 1);
	assert_null(form_get(&f, "b"));
	form_free(&f);
}

static void
test_error_texts(void **state)
{
	(void)state;
	for (int e = FORM_OK; e <= FORM_ERR_ENCODING; e++)
		assert_true(strlen(form_error_text((enum form_error)e)) > 0);
	assert_string_equal(form_error_text(FORM_ERR_DUPLICATE),
	    "a parameter was given more than once");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_field_length_limit),
		cmocka_unit_test(test_encoded_length_limit),
		cmocka_unit_test(test_field_count_limit),
		cmocka_unit_test(test_length_not_nul),
		cmocka_unit_test(test_error_texts),
	};

	return cmocka_run_group_tests_name("form", tests, NULL, NULL);
}
