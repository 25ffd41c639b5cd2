/*
 * test_broker_throttle.c — the PAM broker's own failure count per user
 * name: the block after IDB_BROKER_THROTTLE_FAILS failures in the window,
 * its end, the window restarting, a success forgetting, case folding, a
 * bounded table that keeps blocked names, and one table shared by every
 * worker process.
 */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "bridge.h"
#include "broker_throttle.h"

#define T0 1800000000
#define BLOCK IDB_BROKER_THROTTLE_BLOCK_S
#define WINDOW IDB_BROKER_THROTTLE_WINDOW_S

enum op { FAIL, OK, BLOCKED, FREE };

struct step {
	enum op op;
	const char *user;
	int64_t at;      /* seconds after T0 */
};

struct scenario {
	const char *name;
	struct step steps[12];
	size_t n;
};

static const struct scenario scenarios[] = {
	{ "five failures block; the sixth is not asked",
	  { { FAIL, "alice", 0 }, { FAIL, "alice", 1 }, { FAIL, "alice", 2 },
	    { FAIL, "alice", 3 }, { FREE, "alice", 3 }, { FAIL, "alice", 4 },
	    { BLOCKED, "alice", 4 }, { FREE, "bob", 4 } }, 8 },
	{ "the block lasts BLOCK seconds after the last failure",
	  { { FAIL, "alice", 0 }, { FAIL, "alice", 0 }, { FAIL, "alice", 0 },
	    { FAIL, "alice", 0 }, { FAIL, "alice", 10 }, { BLOCKED, "alice", 10 + BLOCK - 1 },
	    { FREE, "alice", 10 + BLOCK } }, 7 },
	{ "failures spread over more than the window start again",
	  { { FAIL, "alice", 0 }, { FAIL, "alice", 1 }, { FAIL, "alice", 2 },
	    { FAIL, "alice", 3 }, { FAIL, "alice", WINDOW + 1 }, { FREE, "alice", WINDOW + 1 },
	    { FAIL, "alice", WINDOW + 2 }, { FAIL, "alice", WINDOW + 3 },
	    { FAIL, "alice", WINDOW + 4 }, { FAIL, "alice", WINDOW + 5 },
	    { BLOCKED, "alice", WINDOW + 5 } }, 11 },
	{ "a success forgets the name",
	  { { FAIL, "alice", 0 }, { FAIL, "alice", 1 }, { FAIL, "alice", 2 },
	    { FAIL, "alice", 3 }, { OK, "alice", 4 }, { FAIL, "alice", 5 },
	    { FREE, "alice", 5 } }, 7 },
	{ "names are case-folded",
	  { { FAIL, "Alice", 0 }, { FAIL, "ALICE", 1 }, { FAIL, "alice", 2 },
	    { FAIL, "aLiCe", 3 }, { FAIL, "alicE", 4 }, { BLOCKED, "alice", 5 },
	    { BLOCKED, "ALICE", 5 } }, 7 },
};

static void
test_scenarios(void **state)
{
	(void)state;
	for (size_t s = 0; s < sizeof(scenarios) / sizeof(scenarios[0]); s++) {
		struct broker_throttle *t = broker_throttle_new();

		assert_non_null(t);
		print_message("%s\n", scenarios[s].name);
		for (size_t i = 0; i < scenarios[s].n; i++) {
			const struct step *st = &scenarios[s].steps[i];

			switch (st->op) {
			case FAIL:
			case OK:
				broker_throttle_note(t, st->user, st->op == FAIL, T0 + st->at);
				break;
			case BLOCKED:
			case FREE:
				assert_int_equal(broker_throttle_blocked(t, st->user, T0 + st->at),
				    st->op == BLOCKED);
				break;
			}
		}
		broker_throttle_free(t);
	}
}

static void
block(struct broker_throttle *t, const char *user, int64_t at)
{
	for (int i = 0; i < IDB_BROKER_THROTTLE_FAILS; i++)
		broker_throttle_note(t, user, true, at);
	assert_true(broker_throttle_blocked(t, user, at));
}

/* A full table makes room from names that block nothing, oldest first. */
static void
test_bounded_keeps_blocked(void **state)
{
	struct broker_throttle *t = broker_throttle_new();
	char name[32];

	(void)state;
	assert_non_null(t);
	block(t, "victim", T0);
	for (int i = 0; i < 3 * IDB_BROKER_THROTTLE_SLOTS; i++) {
		snprintf(name, sizeof(name), "churn%d", i);
		broker_throttle_note(t, name, true, T0 + 1 + i / 100);
	}
	assert_true(broker_throttle_blocked(t, "victim", T0 + 40));
	/* The oldest churn names went; the newest are still counted. */
	snprintf(name, sizeof(name), "churn%d", 3 * IDB_BROKER_THROTTLE_SLOTS - 1);
	for (int i = 1; i < IDB_BROKER_THROTTLE_FAILS; i++)
		broker_throttle_note(t, name, true, T0 + 40);
	assert_true(broker_throttle_blocked(t, name, T0 + 40));
	broker_throttle_free(t);
}

/* Every slot blocking: the oldest block goes, and the table does not grow. */
static void
test_bounded_all_blocked(void **state)
{
	struct broker_throttle *t = broker_throttle_new();
	char name[32];

	(void)state;
	assert_non_null(t);
	for (int i = 0; i < IDB_BROKER_THROTTLE_SLOTS; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		block(t, name, T0 + i / 100);
	}
	block(t, "late", T0 + 20);
	assert_false(broker_throttle_blocked(t, "user0", T0 + 20));
	assert_true(broker_throttle_blocked(t, "user1023", T0 + 20));
	broker_throttle_free(t);
}

/* Failures noted by one worker process block the name in every other. */
static void
test_shared_between_processes(void **state)
{
	struct broker_throttle *t = broker_throttle_new();
	int status;
	pid_t pid;

	(void)state;
	assert_non_null(t);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < IDB_BROKER_THROTTLE_FAILS; i++)
			broker_throttle_note(t, "alice", true, T0);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(broker_throttle_blocked(t, "alice", T0 + 1));
	broker_throttle_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenarios),
		cmocka_unit_test(test_bounded_keeps_blocked),
		cmocka_unit_test(test_bounded_all_blocked),
		cmocka_unit_test(test_shared_between_processes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
