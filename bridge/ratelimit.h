/*
 * ratelimit.h — login throttling per user name and per client address.
 *
 * Each key (the trimmed, ASCII case-folded user name; the client address)
 * has a failure count that decays: IDB_THROTTLE_WINDOW_S after its last
 * failure it starts again from zero.  After a few free failures each
 * further one doubles the wait before the next attempt, up to a ceiling.
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

#include <stddef.h>
#include <stdint.h>
#include "bridge.h"

struct ratelimit;

struct ratelimit *ratelimit_new(size_t capacity) IDB_WUR;
void ratelimit_free(struct ratelimit *rl);

/*
 * May user (may be NULL) from addr try to sign in at now?  0: yes.
 * Otherwise the seconds to wait (for the "try again in N seconds" page).
 */
unsigned ratelimit_wait(struct ratelimit *rl, const char *user, const char *addr,
    int64_t now);
/* Count a failed sign-in (wrong password and unknown user alike). */
void ratelimit_failure(struct ratelimit *rl, const char *user, const char *addr,
    int64_t now);
/* A successful sign-in clears the user's count (not the address's). */
void ratelimit_success(struct ratelimit *rl, const char *user, int64_t now);

/* The key a user name is counted under: trimmed, ASCII case-folded. */
void ratelimit_user_key(const char *user, char *out, size_t size);

#endif
