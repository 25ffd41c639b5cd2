/*
 * ratelimit.c — failure counters in a bounded LRU (see ratelimit.h).
 *
 * A chained hash table finds an entry; a doubly linked list orders entries
 * by last use, and the least recently used one is recycled when the table
 * is full.  One mutex: every operation is a few pointer moves.
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

#define KEY_MAX (IDB_MAX_USERNAME_LEN + 8)

struct entry {
	struct entry *chain;             /* next in the hash bucket */
	struct entry *newer, *older;     /* LRU list */
	char key[KEY_MAX];               /* "u:alice", "a:192.0.2.1" */
	unsigned failures;
	unsigned pending;                /* attempts reserved and not ended yet */
	int64_t last_failure;
};

struct ratelimit {
	pthread_mutex_t lock;
	struct entry **buckets;
	size_t n_buckets;                /* a power of two */
	struct entry *entries;           /* all of them, allocated once */
	size_t capacity, used;
	struct entry *newest, *oldest;
};

static size_t
key_hash(const char *key)
{
	size_t h = 1469598103934665603ull;  /* FNV-1a */

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ull;
	return h;
}

struct ratelimit *
ratelimit_new(size_t capacity)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	if (rl == NULL || capacity == 0)
		goto fail;
	for (rl->n_buckets = 16; rl->n_buckets < capacity; rl->n_buckets *= 2)
		;
	rl->capacity = capacity;
	rl->buckets = calloc(rl->n_buckets, sizeof(*rl->buckets));
	rl->entries = calloc(capacity, sizeof(*rl->entries));
	if (rl->buckets == NULL || rl->entries == NULL)
		goto fail;
	pthread_mutex_init(&rl->lock, NULL);
	return rl;
fail:
	if (rl != NULL) {
		free(rl->buckets);
		free(rl->entries);
		free(rl);
	}
	return NULL;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl->buckets);
	free(rl->entries);
	free(rl);
}

void
ratelimit_user_key(const char *user, char *out, size_t size)
{
	size_t start = 0, end = strlen(user), o = 0;

	while (start < end && (user[start] == ' ' || user[start] == '\t'))
		start++;
	while (end > start && (user[end - 1] == ' ' || user[end - 1] == '\t'))
		end--;
	for (size_t i = start; i < end && o + 1 < size; i++) {
		char c = user[i];

		out[o++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[o] = '\0';
}

static void
lru_unlink(struct ratelimit *rl, struct entry *e)
{
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		rl->newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		rl->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void
lru_push_newest(struct ratelimit *rl, struct entry *e)
{
	e->older = rl->newest;
	e->newer = NULL;
	if (rl->newest != NULL)
		rl->newest->newer = e;
	rl->newest = e;
	if (rl->oldest == NULL)
		rl->oldest = e;
}

static void
bucket_remove(struct ratelimit *rl, struct entry *e)
{
	struct entry **p = &rl->buckets[key_hash(e->key) & (rl->n_buckets - 1)];

	while (*p != NULL && *p != e)
		p = &(*p)->chain;
	if (*p == e)
		*p = e->chain;
	e->chain = NULL;
}

static struct entry *
find(struct ratelimit *rl, const char *key)
{
	struct entry *e = rl->buckets[key_hash(key) & (rl->n_buckets - 1)];

	while (e != NULL && strcmp(e->key, key) != 0)
		e = e->chain;
	return e;
}

/* The entry for key, made (recycling the least recently used) when create is set. */
static struct entry *
lookup(struct ratelimit *rl, const char *key, bool create)
{
	struct entry *e = find(rl, key);
	size_t b;

	if (e != NULL) {
		lru_unlink(rl, e);
		lru_push_newest(rl, e);
		return e;
	}
	if (!create)
		return NULL;
	if (rl->used < rl->capacity) {
		e = &rl->entries[rl->used++];
	} else {
		e = rl->oldest;
		lru_unlink(rl, e);
		bucket_remove(rl, e);
	}
	memset(e, 0, sizeof(*e));
	snprintf(e->key, sizeof(e->key), "%s", key);
	b = key_hash(e->key) & (rl->n_buckets - 1);
	e->chain = rl->buckets[b];
	rl->buckets[b] = e;
	lru_push_newest(rl, e);
	return e;
}

static void
make_key(char *out, size_t size, char kind, const char *value)
{
	char folded[KEY_MAX];

	if (kind == 'u') {
		ratelimit_user_key(value, folded, sizeof(folded));
		value = folded;
	}
	snprintf(out, size, "%c:%s", kind, value);
}

/* Failures that still count at now (the count decays after the window). */
static unsigned
live_failures(const struct entry *e, int64_t now)
{
	if (e == NULL || now - e->last_failure >= IDB_THROTTLE_WINDOW_S)
		return 0;
	return e->failures;
}

/*
 * Seconds before key may try again.  In-flight attempts count against the
 * user cap like failures, so parallel guesses never overrun it; past the
 * free failures attempts go one at a time ("try again in a second" while
 * one is running).
 */
static unsigned
entry_wait(const struct entry *e, unsigned free_failures, bool capped, int64_t now)
{
	unsigned f = live_failures(e, now), p = e != NULL ? e->pending : 0, shift;
	int64_t until, delay = IDB_THROTTLE_MAX_S;

	if (capped && f + p >= IDB_THROTTLE_USER_CAP) {
		if (f < IDB_THROTTLE_USER_CAP)
			return 1;
		until = e->last_failure + IDB_THROTTLE_WINDOW_S;
		return until > now ? (unsigned)(until - now) : 0;
	}
	/* The free failures may run side by side; the cap above still holds. */
	if (f < free_failures)
		return 0;
	if (p > 0)
		return 1;
	shift = f - free_failures;
	if (shift < 16 && ((int64_t)IDB_THROTTLE_BASE_S << shift) < IDB_THROTTLE_MAX_S)
		delay = (int64_t)IDB_THROTTLE_BASE_S << shift;
	until = e->last_failure + delay;
	return until > now ? (unsigned)(until - now) : 0;
}

/* The wait for user and addr together; both entries when reserve is set. */
static unsigned
wait_locked(struct ratelimit *rl, const char *user, const char *addr, int64_t now,
    bool reserve)
{
	char ukey[KEY_MAX + 2], akey[KEY_MAX + 2];
	struct entry *ue = NULL, *ae = NULL;
	unsigned wu = 0, wa = 0;

	if (user != NULL) {
		make_key(ukey, sizeof(ukey), 'u', user);
		wu = entry_wait(ue = lookup(rl, ukey, false), IDB_THROTTLE_FREE_USER, true, now);
	}
	if (addr != NULL) {
		make_key(akey, sizeof(akey), 'a', addr);
		wa = entry_wait(ae = lookup(rl, akey, false), IDB_THROTTLE_FREE_ADDR, false, now);
	}
	if (wu == 0 && wa == 0 && reserve) {
		/* Made only now: a key that never waits costs no entry until it acts. */
		if (user != NULL && (ue = lookup(rl, ukey, true)) != NULL)
			ue->pending++;
		if (addr != NULL && (ae = lookup(rl, akey, true)) != NULL)
			ae->pending++;
	}
	return wu > wa ? wu : wa;
}

unsigned
ratelimit_wait(struct ratelimit *rl, const char *user, const char *addr, int64_t now)
{
	unsigned w;

	pthread_mutex_lock(&rl->lock);
	w = wait_locked(rl, user, addr, now, false);
	pthread_mutex_unlock(&rl->lock);
	return w;
}

unsigned
ratelimit_begin(struct ratelimit *rl, const char *user, const char *addr, int64_t now)
{
	unsigned w;

	pthread_mutex_lock(&rl->lock);
	w = wait_locked(rl, user, addr, now, true);
	pthread_mutex_unlock(&rl->lock);
	return w;
}

/* End a reserved attempt on one key; a failure counts. */
static void
end_attempt(struct ratelimit *rl, char kind, const char *value,
    enum ratelimit_outcome outcome, int64_t now)
{
	bool failed = outcome == RATELIMIT_FAILURE;
	char key[KEY_MAX + 2];
	struct entry *e;

	make_key(key, sizeof(key), kind, value);
	/* An entry evicted meanwhile comes back with nothing pending. */
	if ((e = lookup(rl, key, failed)) == NULL)
		return;
	if (e->pending > 0)
		e->pending--;
	if (failed) {
		e->failures = live_failures(e, now) + 1;
		e->last_failure = now;
	} else if (kind == 'u' && outcome == RATELIMIT_SUCCESS) {
		e->failures = 0;
	}
}

void
ratelimit_end(struct ratelimit *rl, const char *user, const char *addr,
    enum ratelimit_outcome outcome, int64_t now)
{
	pthread_mutex_lock(&rl->lock);
	if (user != NULL)
		end_attempt(rl, 'u', user, outcome, now);
	if (addr != NULL)
		end_attempt(rl, 'a', addr, outcome, now);
	pthread_mutex_unlock(&rl->lock);
}
