/*
 * test_log.c — request lines (log_access): their format, written at once
 * without batching, every line whole and in order through batches (one
 * thread's overflow included), a batch written when its thread ends and
 * within IDB_LOG_BATCH_MS when nothing else happens, all of it at stop.
 * stderr goes to a temporary file for each test.
 */
#include "autoconfig.h"

#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

static char path[] = "/tmp/idb-test-log.XXXXXX";
static FILE *real_stderr, *saved_stream;

/* fd 2 (what log.c writes to) goes to a file; stdio's stderr, cmocka's messages, does not. */
static int
capture(void **state)
{
	int fd, saved;

	(void)state;
	strcpy(path, "/tmp/idb-test-log.XXXXXX");
	if ((fd = mkstemp(path)) < 0 || (saved = dup(STDERR_FILENO)) < 0 ||
	    (real_stderr = fdopen(saved, "w")) == NULL)
		return -1;
	setvbuf(real_stderr, NULL, _IONBF, 0);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	close(fd);
	saved_stream = stderr;
	stderr = real_stderr;
	return 0;
}

static int
release(void **state)
{
	(void)state;
	log_batch_stop();
	stderr = saved_stream;
	dup2(fileno(real_stderr), STDERR_FILENO);
	fclose(real_stderr);
	unlink(path);
	return 0;
}

/* What stderr holds so far (a new string). */
static char *
captured(void)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
expect_lines(const char *text, const char *tag, int n)
{
	char want[256], pid[64];
	const char *p = text;

	snprintf(pid, sizeof(pid), "idbridge[%ld]: info req=", (long)getpid());
	for (int i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "%sr-%d %s %d\n", pid, i, tag, i);
		if ((p = strstr(p, want)) == NULL)
			fail_msg("line %d of %s missing or out of order in:\n%s", i, tag, text);
		p += strlen(want);
	}
}

static void
log_n(const char *tag, int n)
{
	char id[16], msg[64];

	for (int i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "r-%d", i);
		snprintf(msg, sizeof(msg), "%s %d", tag, i);
		log_access(id, msg, strlen(msg));
	}
}

static void
test_unbatched_at_once(void **state)
{
	char *text, *cut, pid[64];

	(void)state;
	log_n("now", 2);
	text = captured();
	expect_lines(text, "now", 2);
	free(text);
	/* No request id: "-"; a message over a line is cut, newline kept. */
	cut = malloc(5000);
	assert_non_null(cut);
	memset(cut, 'x', 5000);
	log_access(NULL, cut, 5000);
	text = captured();
	snprintf(pid, sizeof(pid), "idbridge[%ld]: info req=- xxx", (long)getpid());
	assert_non_null(strstr(text, pid));
	assert_int_equal(text[strlen(text) - 1], '\n');
	assert_true(strlen(strstr(text, pid)) < 2048);
	free(cut);
	free(text);
}

static void
test_batches_whole_and_ordered(void **state)
{
	char *text;

	(void)state;
	assert_int_equal(log_batch_start(), 0);
	/* Far more than one batch holds. */
	log_n("many", 400);
	log_batch_stop();
	text = captured();
	expect_lines(text, "many", 400);
	free(text);
}

static void *
one_thread(void *arg)
{
	(void)arg;
	log_n("thread", 3);
	return NULL;
}

static void
test_thread_end_writes(void **state)
{
	pthread_t t;
	char *text;

	(void)state;
	assert_int_equal(log_batch_start(), 0);
	assert_int_equal(pthread_create(&t, NULL, one_thread, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	/* Written by the thread's end, not by the stop. */
	text = captured();
	expect_lines(text, "thread", 3);
	free(text);
}

static void
test_quiet_batch_written_soon(void **state)
{
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	char *text = NULL;

	(void)state;
	assert_int_equal(log_batch_start(), 0);
	log_n("quiet", 1);
	/* The writer thread's job; generous for a loaded machine. */
	for (int i = 0; i < 300; i++) {
		free(text);
		text = captured();
		if (strstr(text, "quiet 0\n") != NULL)
			break;
		nanosleep(&pause, NULL);
	}
	expect_lines(text, "quiet", 1);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unbatched_at_once, capture, release),
		cmocka_unit_test_setup_teardown(test_batches_whole_and_ordered, capture, release),
		cmocka_unit_test_setup_teardown(test_thread_end_writes, capture, release),
		cmocka_unit_test_setup_teardown(test_quiet_batch_written_soon, capture, release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
