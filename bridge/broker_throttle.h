/*
 * broker_throttle.h — the PAM broker's own count of failed sign-ins per
 * user name, so a compromised HTTP process cannot use the broker as a
 * password oracle at full speed (the HTTP side's ratelimit.c is the first
 * line; this one does not trust it).
 *
 * After IDB_BROKER_THROTTLE_FAILS failures of one name within
 * IDB_BROKER_THROTTLE_WINDOW_S, PAM is not asked about that name until
 * IDB_BROKER_THROTTLE_BLOCK_S have passed since the last failure; the
 * worker answers BAD_CREDENTIALS meanwhile.  Names are compared ASCII
 * case-folded.  The table lives in one shared mapping (MAP_SHARED, made by
 * the supervisor before it forks the workers) behind a process-shared,
 * robust mutex, so every worker counts into the same table and a worker
 * killed while holding the lock does not stop the others.  It is bounded
 * (IDB_BROKER_THROTTLE_SLOTS): when full, the entry whose last failure is
 * oldest goes, preferring entries that block nothing.
 */
#ifndef IDBRIDGE_BROKER_THROTTLE_H
#define IDBRIDGE_BROKER_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

#include "bridge.h"

struct broker_throttle;

/* A new shared table (anonymous MAP_SHARED mapping), or NULL with errno. */
struct broker_throttle *broker_throttle_new(void) IDB_WUR;
void broker_throttle_free(struct broker_throttle *t);

/* Must PAM not be asked about user now (seconds)? */
bool broker_throttle_blocked(struct broker_throttle *t, const char *user, int64_t now);
/* After PAM answered: a failure counts, a success forgets the name. */
void broker_throttle_note(struct broker_throttle *t, const char *user, bool failed,
    int64_t now);

#endif
