/*
 * test_store_stmt.c — the per-connection statement cache behind
 * store_stmt_*: a cached statement runs again with new arguments; a
 * statement in use is never lent twice (a nested use of the same text gets
 * its own); a buffer reused for another text gets that text's statement; a
 * finished statement holds no read transaction and no argument; more texts than the cache
 * has slots still run.
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
#include "store.h"
#include "store_sqlite_int.h"
#include "teststore.h"

static const char SQL_INSERT[] = "INSERT INTO t (k, v) VALUES (?, ?)";
static const char SQL_ALL[] = "SELECT k, v FROM t ORDER BY k";
static const char SQL_SUM[] = "SELECT coalesce(sum(v), 0) FROM t WHERE k >= ?";

static int
setup(void **state)
{
	struct teststore *ts = teststore_new("stmt");

	assert_int_equal(store_stmt_write(ts->st, NULL, NULL,
	    "CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)", ""), 0);
	*state = ts;
	return 0;
}

static void
insert(struct store *st, const char *k, int64_t v)
{
	int changes = 0;

	assert_int_equal(store_stmt_write(st, &changes, NULL, SQL_INSERT, "si", k, v), 0);
	assert_int_equal(changes, 1);
}

static int64_t
sum_from(struct store *st, const char *k)
{
	int64_t v = -1;

	assert_int_equal(store_stmt_int64(st, &v, NULL, SQL_SUM, "s", k), 0);
	return v;
}

/* The same text again: the cached statement with the new arguments bound. */
static void
test_reuse_rebinds(void **state)
{
	struct store *st = ((struct teststore *)*state)->st;

	insert(st, "a", 1);
	insert(st, "b", 10);
	insert(st, "c", 100);
	assert_int_equal(sum_from(st, "a"), 111);
	assert_int_equal(sum_from(st, "b"), 110);
	assert_int_equal(sum_from(st, "c"), 100);
	assert_int_equal(sum_from(st, "d"), 0);
	/* A failed write (the key exists) leaves the statement usable. */
	char *err = NULL;

	assert_int_not_equal(store_stmt_write(st, NULL, &err, SQL_INSERT, "si", "a",
	    (int64_t)5), 0);
	assert_non_null(err);
	assert_non_null(strstr(err, "UNIQUE"));
	free(err);
	insert(st, "d", 1000);
	assert_int_equal(sum_from(st, "a"), 1111);
}

/* A second use of a text while the first is stepping gets its own statement. */
static void
test_nested_use(void **state)
{
	struct store *st = ((struct teststore *)*state)->st;
	struct store_stmt outer, inner, again;
	int outer_rows = 0, inner_rows = 0;

	insert(st, "a", 1);
	insert(st, "b", 2);
	assert_int_equal(store_stmt_prepare(st, &outer, NULL, SQL_ALL, ""), 0);
	assert_non_null(outer.slot);
	while (sqlite3_step(outer.s) == SQLITE_ROW) {
		outer_rows++;
		assert_int_equal(store_stmt_prepare(st, &inner, NULL, SQL_ALL, ""), 0);
		assert_null(inner.slot);
		assert_ptr_not_equal(inner.s, outer.s);
		while (sqlite3_step(inner.s) == SQLITE_ROW)
			inner_rows++;
		store_stmt_finish(&inner);
	}
	store_stmt_finish(&outer);
	assert_int_equal(outer_rows, 2);
	assert_int_equal(inner_rows, 4);
	/* Returned: lent again. */
	assert_int_equal(store_stmt_prepare(st, &again, NULL, SQL_ALL, ""), 0);
	assert_non_null(again.slot);
	store_stmt_finish(&again);
}

/* One buffer, two texts: each run is the text it holds now. */
static void
test_buffer_reused_for_another_text(void **state)
{
	struct store *st = ((struct teststore *)*state)->st;
	char *sql = malloc(64);
	int64_t v = 0;

	assert_non_null(sql);
	insert(st, "a", 7);
	insert(st, "b", 9);
	strcpy(sql, "SELECT count(*) FROM t");
	assert_int_equal(store_stmt_int64(st, &v, NULL, sql, ""), 0);
	assert_int_equal(v, 2);
	strcpy(sql, "SELECT max(v) FROM t");
	assert_int_equal(store_stmt_int64(st, &v, NULL, sql, ""), 0);
	assert_int_equal(v, 9);
	free(sql);
}

/* A statement finished after one row of several keeps no read open. */
static void
test_finish_ends_the_read(void **state)
{
	struct store *st = ((struct teststore *)*state)->st;
	struct store_stmt q;
	sqlite3_stmt *s;

	insert(st, "a", 1);
	insert(st, "b", 2);
	assert_int_equal(store_stmt_prepare(st, &q, NULL, SQL_ALL, ""), 0);
	assert_int_equal(sqlite3_step(q.s), SQLITE_ROW);
	s = q.s;
	assert_true(sqlite3_stmt_busy(s));
	store_stmt_finish(&q);
	assert_null(q.s);
	assert_false(sqlite3_stmt_busy(s));
}

/* A finished statement keeps no argument: the caller's text may be freed. */
static void
test_finish_unbinds(void **state)
{
	struct store *st = ((struct teststore *)*state)->st;
	struct store_stmt q;
	char *arg = strdup("secret-ish");
	char *expanded;
	sqlite3_stmt *s;

	assert_non_null(arg);
	assert_int_equal(store_stmt_prepare(st, &q, NULL, SQL_SUM, "s", arg), 0);
	assert_non_null(q.slot);
	s = q.s;
	assert_int_equal(sqlite3_step(q.s), SQLITE_ROW);
	store_stmt_finish(&q);
	free(arg);
	expanded = sqlite3_expanded_sql(s);
	assert_non_null(expanded);
	assert_non_null(strstr(expanded, ">= NULL"));
	sqlite3_free(expanded);
}

/* More distinct texts than slots: every one still runs, cached or not. */
static void
test_more_texts_than_slots(void **state)
{
	struct store *st = ((struct teststore *)*state)->st;
	enum { N = IDB_STMT_CACHE_SLOTS * 2 };
	static char texts[N][48];

	insert(st, "a", 3);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < N; i++) {
			int64_t v = -1;

			snprintf(texts[i], sizeof(texts[i]), "SELECT v + %d FROM t", i);
			assert_int_equal(store_stmt_int64(st, &v, NULL, texts[i], ""), 0);
			assert_int_equal(v, 3 + i);
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reuse_rebinds, setup, teststore_teardown),
		cmocka_unit_test_setup_teardown(test_nested_use, setup, teststore_teardown),
		cmocka_unit_test_setup_teardown(test_buffer_reused_for_another_text, setup,
		    teststore_teardown),
		cmocka_unit_test_setup_teardown(test_finish_ends_the_read, setup, teststore_teardown),
		cmocka_unit_test_setup_teardown(test_finish_unbinds, setup, teststore_teardown),
		cmocka_unit_test_setup_teardown(test_more_texts_than_slots, setup, teststore_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
