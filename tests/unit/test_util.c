/* test_util.c — base64url (RFC 4648 §10 vectors) and string lists. */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util.h"

static const struct {
	const char *in;
	size_t len;
	const char *out;
} vectors[] = {
	{ "", 0, "" }, { "f", 1, "Zg" }, { "fo", 2, "Zm8" }, { "foo", 3, "Zm9v" },
	{ "foob", 4, "Zm9vYg" }, { "fooba", 5, "Zm9vYmE" }, { "foobar", 6, "Zm9vYmFy" },
	/* The two characters that differ from base64: '-' and '_'. */
	{ "\xfb\xff", 2, "-_8" }, { "\xfb\xef\xbe", 3, "----" }, { "\xff\xff\xff", 3, "____" },
	{ "\0\0", 2, "AAA" },
};

static void
test_b64url(void **state)
{
	char out[16];

	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		size_t n = b64url_encode((const unsigned char *)vectors[i].in, vectors[i].len,
		    out, sizeof(out));

		assert_int_equal(n, strlen(vectors[i].out));
		assert_string_equal(out, vectors[i].out);
	}
	/* No room for the NUL: refused, not cut. */
	assert_int_equal(b64url_encode((const unsigned char *)"foobar", 6, out, 8), 0);
	assert_int_equal(b64url_encode((const unsigned char *)"foobar", 6, out, 9), 8);
}

static void
test_strlist(void **state)
{
	struct strlist l = { 0 };
	char *j;

	(void)state;
	assert_int_equal(strlist_add_words(&l, "  a b\tc  "), 0);
	assert_int_equal(l.n, 3);
	assert_true(strlist_contains(&l, "b"));
	assert_false(strlist_contains(&l, "d"));
	j = strlist_join(&l, ",");
	assert_string_equal(j, "a,b,c");
	free(j);
	strlist_free(&l);
	for (int i = 0; i < IDB_MAX_LIST_ITEMS; i++)
		assert_int_equal(strlist_add(&l, "x"), 0);
	assert_int_equal(strlist_add(&l, "one too many"), -1);
	strlist_free(&l);
	assert_int_equal(ascii_strcasecmp("Engineering", "engINEERING"), 0);
	assert_int_not_equal(ascii_strcasecmp("\xc3\x89", "\xc3\xa9"), 0);  /* ASCII only */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_strlist),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
