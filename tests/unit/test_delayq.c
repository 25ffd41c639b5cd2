/*
 * test_delayq.c — the timer that answers failed sign-ins: nothing runs
 * early, things run in due order, and closing runs what still waits (and
 * anything added afterwards) at once, so shutdown never strands a request.
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

#include "delayq.h"
#include "util.h"

struct record {
	pthread_mutex_t lock;
	int order[8];
	uint64_t at[8];
	int n;
};

struct tag {
	struct record *r;
	int id;
};

static void
note(void *arg)
{
	struct tag *t = arg;

	pthread_mutex_lock(&t->r->lock);
	t->r->order[t->r->n] = t->id;
	t->r->at[t->r->n] = now_ms();
	t->r->n++;
	pthread_mutex_unlock(&t->r->lock);
}

static int
count(struct record *r)
{
	int n;

	pthread_mutex_lock(&r->lock);
	n = r->n;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static void
test_due_order_and_never_early(void **state)
{
	struct record r = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct tag t[3] = { { &r, 0 }, { &r, 1 }, { &r, 2 } };
	struct delayq *q = delayq_new();
	uint64_t start = now_ms();

	(void)state;
	assert_non_null(q);
	delayq_add(q, start + 300, note, &t[0]);
	delayq_add(q, start + 100, note, &t[1]);
	delayq_add(q, start + 200, note, &t[2]);
	for (int i = 0; i < 200 && count(&r) < 3; i++)
		usleep(10000);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.order[0], 1);
	assert_int_equal(r.order[1], 2);
	assert_int_equal(r.order[2], 0);
	assert_true(r.at[0] >= start + 100);
	assert_true(r.at[1] >= start + 200);
	assert_true(r.at[2] >= start + 300);
	delayq_free(q);
}

static void
test_close_runs_everything_at_once(void **state)
{
	struct record r = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct tag t[3] = { { &r, 0 }, { &r, 1 }, { &r, 2 } };
	struct delayq *q = delayq_new();
	uint64_t start = now_ms();

	(void)state;
	delayq_add(q, start + 60000, note, &t[0]);
	delayq_add(q, start + 30000, note, &t[1]);
	delayq_close(q);
	/* Both ran, long before they were due, in due order. */
	assert_int_equal(r.n, 2);
	assert_int_equal(r.order[0], 1);
	assert_true(now_ms() - start < 10000);
	/* Added after close: run inline, not stranded. */
	delayq_add(q, start + 60000, note, &t[2]);
	assert_int_equal(r.n, 3);
	delayq_free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_due_order_and_never_early),
		cmocka_unit_test(test_close_runs_everything_at_once),
	};

	return cmocka_run_group_tests_name("delayq", tests, NULL, NULL);
}
