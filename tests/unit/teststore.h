/*
 * teststore.h — a fresh SQLite store in a directory of its own under /tmp,
 * for the unit tests that need a real store file.  Failures fail the
 * running cmocka test.
 */
#ifndef IDBRIDGE_TESTSTORE_H
#define IDBRIDGE_TESTSTORE_H

#include "config.h"
#include "store.h"

struct teststore {
	char dir[64];
	char path[96];
	struct config_store cs;     /* what opened st: opens another handle */
	struct store *st;
};

/* Make /tmp/idb-NAME-XXXXXX and open ts->st on test.db in it. */
void teststore_open(struct teststore *ts, const char *name);

/* Close ts->st and remove the database, its -wal and -shm, and the directory. */
void teststore_close(struct teststore *ts);

/* teststore_open on a new allocation; teststore_free closes and frees it. */
struct teststore *teststore_new(const char *name);
void teststore_free(struct teststore *ts);
/* A cmocka teardown for a state made by teststore_new. */
int teststore_teardown(void **state);

#endif
