/* teststore.c — the temporary SQLite store the unit tests share. */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "teststore.h"

void
teststore_open(struct teststore *ts, const char *name)
{
	char *err = NULL;

	memset(ts, 0, sizeof(*ts));
	snprintf(ts->dir, sizeof(ts->dir), "/tmp/idb-%s-XXXXXX", name);
	assert_non_null(mkdtemp(ts->dir));
	snprintf(ts->path, sizeof(ts->path), "%s/test.db", ts->dir);
	ts->cs.driver = STORE_SQLITE;
	ts->cs.path = ts->path;
	if ((ts->st = store_open(&ts->cs, &err)) == NULL)
		fail_msg("store_open: %s", err);
}

static void
unlink_suffixed(const char *path, const char *suffix)
{
	char p[128];

	snprintf(p, sizeof(p), "%s%s", path, suffix);
	unlink(p);
}

void
teststore_close(struct teststore *ts)
{
	store_close(ts->st);
	ts->st = NULL;
	unlink_suffixed(ts->path, "");
	unlink_suffixed(ts->path, "-wal");
	unlink_suffixed(ts->path, "-shm");
	rmdir(ts->dir);
}

struct teststore *
teststore_new(const char *name)
{
	struct teststore *ts = malloc(sizeof(*ts));

	assert_non_null(ts);
	teststore_open(ts, name);
	return ts;
}

void
teststore_free(struct teststore *ts)
{
	teststore_close(ts);
	free(ts);
}

int
teststore_teardown(void **state)
{
	teststore_free(*state);
	return 0;
}
