/* test_apikey.c — API key format: shape, checksum (every one-character typo), uniqueness. */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apikey.h"
#include "token.h"

static const char alphabet[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* Made independently with Python's zlib.crc32 and int-to-base62 (apikey.h layout). */
static const char *const good[] = {
	"idb_00000000000000000000000000000000000000000003rrLjW",        /* body 0 */
	"idb_yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp12DA7jG",        /* body 2^256-1 */
	"idb_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf4ej4xm",        /* bytes 0..31 */
};

static const char *const bad[] = {
	"",
	"idb_",
	"idb_00000000000000000000000000000000000000000003rrLj",         /* one short */
	"idb_00000000000000000000000000000000000000000003rrLjWW",       /* one long */
	"idc_00000000000000000000000000000000000000000003rrLjW",        /* tag */
	"IDB_00000000000000000000000000000000000000000003rrLjW",        /* tag case */
	"idb_0000000000000000000000000000000000000000-003rrLjW",        /* alphabet */
	"idb_00000000000000000000000000000000000000000003rrLj ",
	"idb_00000000000000000000000000000000000000000003rrLjX",        /* checksum */
	"eyJhbGciOiJFUzI1NiJ9.e30.sig",
};

static void
test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(strlen(good[i]), IDB_APIKEY_LEN);
		assert_true(apikey_checksum_ok(good[i]));
		assert_true(apikey_looks_like(good[i]));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(apikey_checksum_ok(bad[i]));
	assert_false(apikey_checksum_ok(NULL));
	assert_false(apikey_looks_like(NULL));
	assert_false(apikey_looks_like("eyJ.x.y"));
}

/* Every key must refuse every one-character substitution and adjacent swap. */
static void
assert_typos_refused(const char *key)
{
	char t[IDB_APIKEY_LEN + 1];

	for (size_t pos = 0; pos < IDB_APIKEY_LEN; pos++) {
		for (const char *c = alphabet; *c != '\0'; c++) {
			if (*c == key[pos])
				continue;
			memcpy(t, key, sizeof(t));
			t[pos] = *c;
			assert_false(apikey_checksum_ok(t));
		}
		if (pos + 1 < IDB_APIKEY_LEN && key[pos] != key[pos + 1]) {
			memcpy(t, key, sizeof(t));
			t[pos] = key[pos + 1];
			t[pos + 1] = key[pos];
			assert_false(apikey_checksum_ok(t));
		}
	}
}

static void
test_typos(void **state)
{
	char key[IDB_APIKEY_LEN + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_typos_refused(good[i]);
	for (int i = 0; i < 50; i++) {
		assert_int_equal(apikey_generate(key), 0);
		assert_typos_refused(key);
	}
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

#define N_GEN 2000

static void
test_generate(void **state)
{
	char (*keys)[IDB_APIKEY_LEN + 1] = calloc(N_GEN, sizeof(*keys));

	(void)state;
	assert_non_null(keys);
	for (size_t i = 0; i < N_GEN; i++) {
		assert_int_equal(apikey_generate(keys[i]), 0);
		assert_int_equal(strlen(keys[i]), IDB_APIKEY_LEN);
		assert_memory_equal(keys[i], "idb_", 4);
		assert_int_equal(strspn(keys[i] + 4, alphabet), IDB_APIKEY_LEN - 4);
		assert_true(apikey_checksum_ok(keys[i]));
	}
	/* Distinct keys, and distinct lookup prefixes too (47 bits each). */
	qsort(keys, N_GEN, sizeof(*keys), cmp);
	for (size_t i = 1; i < N_GEN; i++)
		assert_int_not_equal(memcmp(keys[i - 1] + 4, keys[i] + 4, IDB_APIKEY_PREFIX_LEN), 0);
	/* Fixed width, yet the body's first digit is not always '0'. */
	assert_int_not_equal(keys[N_GEN - 1][4], '0');
	free(keys);
}

static void
test_prefix_hash(void **state)
{
	char p[IDB_APIKEY_PREFIX_LEN + 1];
	unsigned char h1[IDB_SHA256_LEN], h2[IDB_SHA256_LEN], want[IDB_SHA256_LEN];

	(void)state;
	apikey_prefix(good[1], p);
	assert_string_equal(p, "yhjskwdA");
	assert_int_equal(apikey_hash(good[1], h1), 0);
	assert_int_equal(token_hash(good[1], strlen(good[1]), want), 0);
	assert_memory_equal(h1, want, sizeof(want));
	assert_int_equal(apikey_hash(good[0], h2), 0);
	assert_memory_not_equal(h1, h2, sizeof(h1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_typos),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_prefix_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
