/*
 * ratelimit.h — login throttling per user name and per client address.
 *
 * Each key (the trimmed, ASCII case-folded user name; the client address)
 * has a failure count that decays: IDB_THROTTLE_WINDOW_S after its last
 * failure it starts again from zero.  After a few free failures each
 * further one doubles the wait before the next attempt, up to a ceiling,
 * and past the free ones only one attempt per key may be in flight.
 * A user name also has a hard cap below typical directory lockout
 * thresholds (Active Directory's is often 5–10): past it, idbridge stops
 * asking the directory at all until the window has passed, so an attacker
 * cannot lock an employee out of the directory through us.
 *
 * Counters live in a bounded LRU (IDB_THROTTLE_ENTRIES): memory stays fixed
 * whatever an attacker sends; evicting an entry only forgets failures.
 * Thread-safe.
 */
#ifndef IDBRIDGE_RATELIMIT_H
#define IDBRIDGE_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bridge.h"

struct ratelimit;

struct ratelimit *ratelimit_new(size_t capacity) IDB_WUR;
void ratelimit_free(struct ratelimit *rl);

/*
 * Before a sign-in: may user (may be NULL) from addr try now?  0: yes, and
 * the attempt is reserved until ratelimit_end() — attempts in flight count
 * against the user cap like failures, so parallel guesses cannot slip past
 * it while the directory is still answering.  Otherwise the seconds to wait (nothing
 * reserved), for the "try again in N seconds" page.
 */
unsigned ratelimit_begin(struct ratelimit *rl, const char *user, const char *addr,
    int64_t now);
/* The wait ratelimit_begin would answer, without reserving anything. */
unsigned ratelimit_wait(struct ratelimit *rl, const char *user, const char *addr,
    int64_t now);
enum ratelimit_outcome {
	RATELIMIT_FAILURE,     /* counts */
	RATELIMIT_SUCCESS,     /* clears the user's count */
	RATELIMIT_NO_VERDICT,  /* e.g. the directory was down: neither */
};

/* End a reserved attempt with its outcome. */
void ratelimit_end(struct ratelimit *rl, const char *user, const char *addr,
    enum ratelimit_outcome outcome, int64_t now);

/* The key a user name is counted under: trimmed, ASCII case-folded. */
void ratelimit_user_key(const char *user, char *out, size_t size);

#endif
