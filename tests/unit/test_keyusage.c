/*
 * test_keyusage.c — the batched API key last-use table: uses coalesce to
 * the latest time per key, a drain hands everything over in one call and
 * empties the table, a failed write keeps the uses, the table never grows
 * past its bound, the first use is claimed once, and the flusher thread
 * writes on its interval, early when half full, and once more at stop.
 */
#include "autoconfig.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "keyusage.h"
#include "util.h"

#define MAX_SEEN 64

/* What the writer was handed, over all its calls. */
struct seen {
	pthread_mutex_t lock;
	struct keyusage_entry e[MAX_SEEN];
	size_t n;
	int calls;
	bool fail;      /* refuse the batch (a store that does not answer) */
};

static int
capture(void *arg, const struct keyusage_entry *v, size_t n)
{
	struct seen *s = arg;
	int r = 0;

	pthread_mutex_lock(&s->lock);
	s->calls++;
	if (s->fail)
		r = -1;
	for (size_t i = 0; r == 0 && i < n && s->n < MAX_SEEN; i++)
		s->e[s->n++] = v[i];
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int
calls(struct seen *s)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->calls;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* The time the writer was handed for id; -1 when it was not handed over. */
static int64_t
seen_at(struct seen *s, int64_t id)
{
	int64_t t = -1;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++)
		if (s->e[i].key_id == id) {
			assert_int_equal(t, -1);        /* once per batch at most */
			t = s->e[i].used_at;
		}
	pthread_mutex_unlock(&s->lock);
	return t;
}

#define SEEN_INIT { .lock = PTHREAD_MUTEX_INITIALIZER }

/* Assert how many keys are pending and how many uses were dropped. */
static void
expect_counts(struct keyusage *ku, size_t want_pending, uint64_t want_dropped)
{
	size_t n;
	uint64_t d;

	keyusage_counts(ku, &n, &d);
	assert_int_equal(n, want_pending);
	assert_int_equal(d, want_dropped);
}

/* Uses in order (at 0 ends the list), and the time each key must be written with. */
static const struct {
	const char *name;
	struct { int64_t id, at; } uses[6];
	struct { int64_t id, at; } want[4];
} coalesce_cases[] = {
	{ "one use", { { 7, 100 } }, { { 7, 100 } } },
	{ "later wins", { { 7, 100 }, { 7, 105 } }, { { 7, 105 } } },
	{ "an earlier use (clock step) never moves it back", { { 7, 105 }, { 7, 100 } },
	  { { 7, 105 } } },
	{ "keys kept apart", { { 1, 10 }, { 2, 20 }, { 1, 11 }, { 3, 30 }, { 2, 19 } },
	  { { 1, 11 }, { 2, 20 }, { 3, 30 } } },
	{ "ids that share a slot (1, 9, 17 of 8 slots)",
	  { { 1, 1 }, { 9, 9 }, { 17, 17 }, { 1, 2 } }, { { 1, 2 }, { 9, 9 }, { 17, 17 } } },
	{ "id 0 and negatives are no keys", { { 0, 5 }, { -3, 5 }, { 4, 5 } }, { { 4, 5 } } },
};

static void
test_coalesce_and_drain(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(coalesce_cases) / sizeof(coalesce_cases[0]); c++) {
		struct keyusage *ku = keyusage_new(8);
		struct seen s = SEEN_INIT;
		size_t want_n = 0;

		assert_non_null(ku);
		for (size_t i = 0; i < 6 && coalesce_cases[c].uses[i].at != 0; i++)
			(void)keyusage_record(ku, coalesce_cases[c].uses[i].id,
			    coalesce_cases[c].uses[i].at, false);
		for (; want_n < 4 && coalesce_cases[c].want[want_n].at != 0; want_n++)
			;
		expect_counts(ku, want_n, 0);
		assert_int_equal(keyusage_drain(ku, capture, &s), 0);
		assert_int_equal(s.calls, 1);           /* one batch */
		if (s.n != want_n)
			fail_msg("%s: %zu written, want %zu", coalesce_cases[c].name, s.n, want_n);
		for (size_t i = 0; i < want_n; i++) {
			int64_t id = coalesce_cases[c].want[i].id;

			if (seen_at(&s, id) != coalesce_cases[c].want[i].at)
				fail_msg("%s: key %lld", coalesce_cases[c].name, (long long)id);
		}
		/* Drained: empty, and an empty drain does not call the writer. */
		expect_counts(ku, 0, 0);
		assert_int_equal(keyusage_drain(ku, capture, &s), 0);
		assert_int_equal(s.calls, 1);
		keyusage_free(ku);
	}
}

/* A table of 8 slots takes 6 keys; more are dropped and counted, known keys still move. */
static void
test_bounded(void **state)
{
	struct keyusage *ku = keyusage_new(5);  /* rounded up to 8 */
	struct seen s = SEEN_INIT;

	(void)state;
	assert_non_null(ku);
	for (int64_t id = 1; id <= 10; id++)
		(void)keyusage_record(ku, id, 100 + id, false);
	expect_counts(ku, 6, 4);
	(void)keyusage_record(ku, 2, 500, false);       /* full, but key 2 has its slot */
	expect_counts(ku, 6, 4);
	assert_int_equal(keyusage_drain(ku, capture, &s), 0);
	assert_int_equal(s.n, 6);
	assert_int_equal(seen_at(&s, 2), 500);
	assert_int_equal(seen_at(&s, 6), 106);
	assert_int_equal(seen_at(&s, 7), -1);
	/* The drain reset the count (it was logged) and made room again. */
	expect_counts(ku, 0, 0);
	(void)keyusage_record(ku, 9, 900, false);
	expect_counts(ku, 1, 0);
	keyusage_free(ku);
}

/* A failed write keeps the uses; a newer use of the same key wins when they come back. */
static void
test_failed_write_keeps_uses(void **state)
{
	struct keyusage *ku = keyusage_new(16);
	struct seen bad = SEEN_INIT, good = SEEN_INIT;

	(void)state;
	bad.fail = true;
	(void)keyusage_record(ku, 1, 100, false);
	(void)keyusage_record(ku, 2, 200, true);
	assert_int_equal(keyusage_drain(ku, capture, &bad), -1);
	expect_counts(ku, 2, 0);
	(void)keyusage_record(ku, 1, 150, false);
	/* Key 2's first use was claimed before the failure: it stays claimed. */
	assert_false(keyusage_record(ku, 2, 210, true));
	assert_int_equal(keyusage_drain(ku, capture, &good), 0);
	assert_int_equal(seen_at(&good, 1), 150);
	assert_int_equal(seen_at(&good, 2), 210);
	keyusage_free(ku);
}

/* First use: claimed once per key while pending; a mark claims once, and skips its second. */
static void
test_first_use_once(void **state)
{
	struct keyusage *ku = keyusage_new(16);
	struct keyusage_mark a, b, old;
	struct seen s = SEEN_INIT;

	(void)state;
	keyusage_mark_init(&a, true);
	keyusage_mark_init(&b, true);           /* the same key's row read again before the write */
	keyusage_mark_init(&old, false);
	assert_true(keyusage_note(ku, &a, 5, 100));
	assert_false(keyusage_note(ku, &a, 5, 100));
	assert_false(keyusage_note(ku, &a, 5, 101));
	assert_false(keyusage_note(ku, &b, 5, 101));    /* the table remembers the claim */
	assert_false(keyusage_note(ku, &old, 6, 101));  /* used before: no line */
	assert_int_equal(keyusage_drain(ku, capture, &s), 0);
	assert_int_equal(seen_at(&s, 5), 101);
	assert_int_equal(seen_at(&s, 6), 101);
	/* After the write the mark alone remembers: still no second line. */
	assert_false(keyusage_note(ku, &a, 5, 102));
	/* Same second through the same mark: the table is not touched at all. */
	assert_false(keyusage_note(ku, &old, 6, 102));
	assert_int_equal(keyusage_drain(ku, capture, &s), 0);
	expect_counts(ku, 0, 0);
	assert_false(keyusage_note(ku, &old, 6, 102));
	expect_counts(ku, 0, 0);
	assert_false(keyusage_note(ku, &old, 6, 103));
	expect_counts(ku, 1, 0);
	keyusage_free(ku);
}

/* Wait up to ms for the writer's call count to reach n. */
static bool
wait_calls(struct seen *s, int n, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (calls(s) >= n)
			return true;
		usleep(10000);
	}
	return calls(s) >= n;
}

static void
test_flusher_interval(void **state)
{
	struct keyusage *ku = keyusage_new(64);
	struct seen s = SEEN_INIT;
	uint64_t t0 = now_ms();

	(void)state;
	assert_int_equal(keyusage_start(ku, 1, capture, &s), 0);
	(void)keyusage_record(ku, 3, 300, false);
	assert_true(wait_calls(&s, 1, 3000));
	assert_true(now_ms() - t0 >= 900);      /* not before its interval */
	assert_int_equal(seen_at(&s, 3), 300);
	keyusage_stop(ku);
	keyusage_free(ku);
}

static void
test_flusher_early_when_half_full(void **state)
{
	struct keyusage *ku = keyusage_new(8);
	struct seen s = SEEN_INIT;

	(void)state;
	assert_int_equal(keyusage_start(ku, 3600, capture, &s), 0);
	for (int64_t id = 1; id <= 3; id++)
		(void)keyusage_record(ku, id, id, false);
	usleep(100000);
	assert_int_equal(calls(&s), 0);
	(void)keyusage_record(ku, 4, 4, false);         /* half of 8 */
	assert_true(wait_calls(&s, 1, 2000));
	assert_int_equal(seen_at(&s, 4), 4);
	keyusage_stop(ku);
	keyusage_free(ku);
}

static void
test_stop_writes_the_rest(void **state)
{
	struct keyusage *ku = keyusage_new(64);
	struct seen s = SEEN_INIT;

	(void)state;
	assert_int_equal(keyusage_start(ku, 3600, capture, &s), 0);
	(void)keyusage_record(ku, 11, 1100, false);
	keyusage_stop(ku);
	assert_int_equal(calls(&s), 1);
	assert_int_equal(seen_at(&s, 11), 1100);
	expect_counts(ku, 0, 0);
	keyusage_free(ku);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_coalesce_and_drain),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_failed_write_keeps_uses),
		cmocka_unit_test(test_first_use_once),
		cmocka_unit_test(test_flusher_interval),
		cmocka_unit_test(test_flusher_early_when_half_full),
		cmocka_unit_test(test_stop_writes_the_rest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
