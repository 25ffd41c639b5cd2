/*
 * keyusage.h — when each API key was last used, written to the store in
 * batches rather than once per request.
 *
 * /verify notes every use of a valid key here: an in-memory table of key
 * id → latest use (Unix seconds), bounded to IDB_KEYUSAGE_SLOTS slots and
 * safe from any thread.  A flusher thread hands the whole table to a
 * writer (store_apikeys_touch: one transaction) every [apikeys]
 * last_used_interval seconds, sooner when the table is half full, and once
 * more when it stops.  A use that finds the table full (the store has not
 * taken the last batch) is dropped and counted: the key's last use then
 * lags until it is used again, which bookkeeping can afford and memory
 * cannot.
 *
 *	ku = keyusage_new(0);
 *	keyusage_start(ku, interval_s, write, store);     // the flusher thread
 *	...
 *	if (keyusage_note(ku, &result->usage, key_id, now))  // per request
 *		audit the key's first use;
 *	...
 *	keyusage_stop(ku);      // after the HTTP threads stopped: joins, writes the rest
 *	keyusage_free(ku);
 *
 * The per-request cost: keyusage_note allocates nothing, skips the table
 * entirely when the same cached result was already noted in the same
 * second, and otherwise takes one mutex for one hash probe.  A drain swaps
 * the full table for an empty one under the mutex and writes outside it.
 *
 * First use: a key whose stored last use was "never" gets one audit line.
 * The cached result carries that fact in its mark (taken once, atomically,
 * so concurrent hits on one result claim it once), and the table keeps it
 * per key until the batch is written, so a result read again from the store
 * before the write landed does not claim it a second time.
 */
#ifndef IDBRIDGE_KEYUSAGE_H
#define IDBRIDGE_KEYUSAGE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bridge.h"

struct keyusage;

/* One pending use: the key's store id and its latest use. */
struct keyusage_entry {
	int64_t key_id;         /* > 0; 0 marks a free slot */
	int64_t used_at;        /* Unix seconds */
	bool first_logged;      /* its "first used" audit line is written */
};

/* Per cached result: lets repeated uses skip the table's lock. */
struct keyusage_mark {
	_Atomic int64_t noted_at;       /* the second of the last use noted through it */
	atomic_bool never_used;         /* the store said never used, not yet claimed */
};

/* The batch writer: 0, or -1 when nothing was written (the uses are kept for the next try). */
typedef int keyusage_write_fn(void *arg, const struct keyusage_entry *v, size_t n);

/* A table of at least slots slots (0: IDB_KEYUSAGE_SLOTS).  NULL on ENOMEM. */
struct keyusage *keyusage_new(size_t slots) IDB_WUR;
/* Stops the flusher if running (without a last write: call keyusage_stop for that). */
void keyusage_free(struct keyusage *ku);

void keyusage_mark_init(struct keyusage_mark *m, bool never_used);

/*
 * A use of key_id at now through a cached result's mark: true when the
 * caller must write the key's "first used" audit line (once per key).
 */
bool keyusage_note(struct keyusage *ku, struct keyusage_mark *m, int64_t key_id, int64_t now);

/*
 * A use of key_id at now; first: a claim of the key's first use.  true
 * when first and no earlier claim for this key is pending.  Coalesces:
 * the table keeps the latest time per key.
 */
bool keyusage_record(struct keyusage *ku, int64_t key_id, int64_t now, bool first);

/*
 * Hand every pending use to write in one call and empty the table.  When
 * write fails the uses go back (a newer use of the same key wins).  The
 * return value of write, or 0 when nothing was pending.  Drains run one at
 * a time.
 */
int keyusage_drain(struct keyusage *ku, keyusage_write_fn *write, void *arg);

/* Keys pending, and uses dropped since the last drain because the table was full (tests). */
void keyusage_counts(struct keyusage *ku, size_t *pending_r, uint64_t *dropped_r);

/* Start the flusher thread: a drain every interval_s seconds.  0, or -1 with errno. */
int keyusage_start(struct keyusage *ku, unsigned interval_s, keyusage_write_fn *write,
    void *arg) IDB_WUR;
/* Stop the flusher thread (when started) and drain once more. */
void keyusage_stop(struct keyusage *ku);

#endif
