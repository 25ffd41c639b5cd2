/*
 * test_ratelimit.c — login throttling: free failures, doubling waits, the
 * per-user cap below directory lockout, decay, case folding, and a bounded
 * LRU that forgets the oldest entry instead of growing.
 */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bridge.h"
#include "ratelimit.h"

#define T0 1800000000

enum op { FAIL, OK, WAIT };

struct step {
	enum op op;
	const char *user;
	const char *addr;
	int64_t at;           /* seconds after T0 */
	unsigned expect;      /* WAIT: the seconds to wait */
};

static void
run_steps(const struct step *steps, size_t n)
{
	struct ratelimit *rl = ratelimit_new(64);

	assert_non_null(rl);
	for (size_t i = 0; i < n; i++) {
		const struct step *s = &steps[i];

		switch (s->op) {
		case FAIL:
		case OK:
			/* The steps record outcomes; whether the attempt was allowed is WAIT's. */
			(void)ratelimit_begin(rl, s->user, s->addr, T0 + s->at);
			ratelimit_end(rl, s->user, s->addr, s->op == FAIL ? RATELIMIT_FAILURE :
			    RATELIMIT_SUCCESS, T0 + s->at);
			break;
		case WAIT:
			print_message("step %zu: wait(%s, %s) at +%lld\n", i,
			    s->user != NULL ? s->user : "-", s->addr != NULL ? s->addr : "-",
			    (long long)s->at);
			assert_int_equal(ratelimit_wait(rl, s->user, s->addr, T0 + s->at), s->expect);
			break;
		}
	}
	ratelimit_free(rl);
}

/* Three free failures, then 2 s, 4 s: the wait counts from the last failure. */
static void
test_user_doubling(void **state)
{
	static const struct step steps[] = {
		{ WAIT, "alice", NULL, 0, 0 },
		{ FAIL, "alice", NULL, 0, 0 }, { FAIL, "alice", NULL, 1, 0 },
		{ WAIT, "alice", NULL, 1, 0 },
		{ FAIL, "alice", NULL, 2, 0 },
		{ WAIT, "alice", NULL, 2, 2 }, { WAIT, "alice", NULL, 3, 1 },
		{ WAIT, "alice", NULL, 4, 0 },
		{ FAIL, "alice", NULL, 4, 0 },
		{ WAIT, "alice", NULL, 4, 4 },
		/* Another user is not affected. */
		{ WAIT, "bob", NULL, 4, 0 },
	};

	(void)state;
	run_steps(steps, sizeof(steps) / sizeof(steps[0]));
}

/* At the cap, no more directory binds until the window has passed. */
static void
test_user_cap_and_decay(void **state)
{
	static const struct step steps[] = {
		{ FAIL, "alice", NULL, 0, 0 }, { FAIL, "alice", NULL, 0, 0 },
		{ FAIL, "alice", NULL, 0, 0 }, { FAIL, "alice", NULL, 10, 0 },
		{ FAIL, "alice", NULL, 20, 0 },  /* the 5th: the cap */
		{ WAIT, "alice", NULL, 20, IDB_THROTTLE_WINDOW_S },
		{ WAIT, "alice", NULL, 20 + IDB_THROTTLE_WINDOW_S - 1, 1 },
		{ WAIT, "alice", NULL, 20 + IDB_THROTTLE_WINDOW_S, 0 },
		/* After the window the count starts again from zero. */
		{ FAIL, "alice", NULL, 20 + IDB_THROTTLE_WINDOW_S, 0 },
		{ WAIT, "alice", NULL, 20 + IDB_THROTTLE_WINDOW_S, 0 },
	};

	(void)state;
	run_steps(steps, sizeof(steps) / sizeof(steps[0]));
}

/* The name is trimmed and case-folded: "Alice " is alice. */
static void
test_user_key_folding(void **state)
{
	static const struct step steps[] = {
		{ FAIL, "Alice", NULL, 0, 0 }, { FAIL, " ALICE", NULL, 0, 0 },
		{ FAIL, "alice\t", NULL, 0, 0 },
		{ WAIT, "aLiCe", NULL, 0, 2 },
	};
	char key[32];

	(void)state;
	run_steps(steps, sizeof(steps) / sizeof(steps[0]));
	ratelimit_user_key("  Mixed.Case@EXAMPLE ", key, sizeof(key));
	assert_string_equal(key, "mixed.case@example");
}

/* A success clears the user's count, not the address's. */
static void
test_success_and_address(void **state)
{
	static struct step steps[4 + IDB_THROTTLE_FREE_ADDR + 2];
	size_t n = 0;

	(void)state;
	for (int i = 0; i < IDB_THROTTLE_FREE_ADDR + 1; i++)
		steps[n++] = (struct step){ FAIL, i % 2 ? "u1" : "u2", "192.0.2.7", 0, 0 };
	steps[n++] = (struct step){ OK, "u1", NULL, 0, 0 };
	steps[n++] = (struct step){ WAIT, "u1", NULL, 0, 0 };
	/* The address waits: an office behind NAT gets more free failures, then 4 s. */
	steps[n++] = (struct step){ WAIT, NULL, "192.0.2.7", 0, 2 * IDB_THROTTLE_BASE_S };
	steps[n++] = (struct step){ WAIT, "u1", "192.0.2.7", 0, 2 * IDB_THROTTLE_BASE_S };
	steps[n++] = (struct step){ WAIT, NULL, "192.0.2.8", 0, 0 };
	run_steps(steps, n);
}

/* The wait never exceeds the ceiling, however many failures. */
static void
test_ceiling(void **state)
{
	struct ratelimit *rl = ratelimit_new(8);

	(void)state;
	for (int i = 0; i < 200; i++) {
		(void)ratelimit_begin(rl, NULL, "198.51.100.1", T0);
		ratelimit_end(rl, NULL, "198.51.100.1", RATELIMIT_FAILURE, T0);
	}
	assert_int_equal(ratelimit_wait(rl, NULL, "198.51.100.1", T0), IDB_THROTTLE_MAX_S);
	ratelimit_free(rl);
}

/* Full: the least recently used entry is recycled; memory does not grow. */
static void
test_lru_bounded(void **state)
{
	struct ratelimit *rl = ratelimit_new(4);
	char user[16];

	(void)state;
	for (int i = 0; i < 5; i++) {
		(void)ratelimit_begin(rl, "victim", NULL, T0);
		ratelimit_end(rl, "victim", NULL, RATELIMIT_FAILURE, T0);
	}
	assert_int_not_equal(ratelimit_wait(rl, "victim", NULL, T0), 0);
	/* Three more keys fit beside it; touching victim keeps it newest. */
	for (int i = 0; i < 3; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		(void)ratelimit_begin(rl, user, NULL, T0);
		ratelimit_end(rl, user, NULL, RATELIMIT_FAILURE, T0);
	}
	assert_int_not_equal(ratelimit_wait(rl, "victim", NULL, T0), 0);
	/* Four new keys push everything old out, victim included. */
	for (int i = 3; i < 7; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		(void)ratelimit_begin(rl, user, NULL, T0);
		ratelimit_end(rl, user, NULL, RATELIMIT_FAILURE, T0);
	}
	assert_int_equal(ratelimit_wait(rl, "victim", NULL, T0), 0);
	ratelimit_free(rl);
}

/*
 * Attempts in flight count against the cap: parallel guesses for one name
 * never get more directory binds than the cap, however many addresses
 * they come from.
 */
static void
test_parallel_attempts_cannot_pass_the_cap(void **state)
{
	struct ratelimit *rl = ratelimit_new(64);
	char addr[32];
	int allowed = 0, t = 0;

	(void)state;
	for (int i = 0; i < 8; i++) {
		snprintf(addr, sizeof(addr), "192.0.2.%d", i);
		allowed += ratelimit_begin(rl, "bob", addr, T0) == 0;
	}
	assert_int_equal(allowed, IDB_THROTTLE_USER_CAP);
	/* They fail; the attacker keeps trying in parallel from new addresses. */
	for (int i = 0; i < IDB_THROTTLE_USER_CAP; i++) {
		snprintf(addr, sizeof(addr), "192.0.2.%d", i);
		ratelimit_end(rl, "bob", addr, RATELIMIT_FAILURE, T0);
	}
	for (int round = 0; round < 100; round++) {
		t += IDB_THROTTLE_MAX_S;  /* waits pass, the window does not */
		for (int i = 0; i < 8; i++) {
			snprintf(addr, sizeof(addr), "198.51.100.%d", round * 8 + i);
			if (ratelimit_begin(rl, "bob", addr, T0 + t % IDB_THROTTLE_WINDOW_S) == 0) {
				allowed++;
				ratelimit_end(rl, "bob", addr, RATELIMIT_FAILURE, T0 + t % IDB_THROTTLE_WINDOW_S);
			}
		}
		if (t >= IDB_THROTTLE_WINDOW_S - IDB_THROTTLE_MAX_S)
			break;
	}
	/* Never more directory binds for bob than the cap within the window. */
	assert_true(allowed <= IDB_THROTTLE_USER_CAP);
	assert_int_equal(allowed, IDB_THROTTLE_USER_CAP);
	ratelimit_free(rl);
}

/* A directory outage is neither a failure nor a success. */
static void
test_no_verdict(void **state)
{
	struct ratelimit *rl = ratelimit_new(8);

	(void)state;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ratelimit_begin(rl, "dan", NULL, T0), 0);
		ratelimit_end(rl, "dan", NULL, RATELIMIT_FAILURE, T0);
	}
	assert_int_equal(ratelimit_wait(rl, "dan", NULL, T0), IDB_THROTTLE_BASE_S);
	assert_int_equal(ratelimit_begin(rl, "dan", NULL, T0 + 2), 0);
	ratelimit_end(rl, "dan", NULL, RATELIMIT_NO_VERDICT, T0 + 2);
	/* The count stands: neither cleared nor raised. */
	assert_int_equal(ratelimit_wait(rl, "dan", NULL, T0 + 2), 0);
	assert_int_equal(ratelimit_wait(rl, "dan", NULL, T0 + 1), 1);
	ratelimit_free(rl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user_doubling),
		cmocka_unit_test(test_user_cap_and_decay),
		cmocka_unit_test(test_user_key_folding),
		cmocka_unit_test(test_success_and_address),
		cmocka_unit_test(test_ceiling),
		cmocka_unit_test(test_lru_bounded),
		cmocka_unit_test(test_parallel_attempts_cannot_pass_the_cap),
		cmocka_unit_test(test_no_verdict),
	};

	return cmocka_run_group_tests_name("ratelimit", tests, NULL, NULL);
}
