/*
 * keyusage.c — pending API key uses (see keyusage.h).
 *
 * Two open-addressing tables (linear probing, key ids spread by a
 * Fibonacci multiply), one live and one spare, under one mutex.  Nothing
 * is ever deleted from the live table, so probing needs no tombstones; a
 * drain swaps the tables (constant time under the mutex), compacts the
 * taken one in place, writes it and clears it for the next swap.  The live
 * table is filled to three quarters at most (probe chains stay short); the
 * flusher is woken at half.
 */
#include "autoconfig.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keyusage.h"
#include "log.h"
#include "util.h"

struct ku_table {
	struct keyusage_entry *slots;
	size_t count;
};

struct keyusage {
	pthread_mutex_t lock;           /* the live table, the counters, the flusher's state */
	pthread_cond_t wake_cond;
	struct ku_table tables[2];
	struct ku_table *live, *spare;
	size_t n_slots;                 /* a power of two */
	unsigned shift;                 /* 64 - log2(n_slots) */
	size_t max_fill, wake_fill;
	uint64_t dropped;

	pthread_mutex_t drain_lock;     /* one drain at a time; owns *spare meanwhile */

	pthread_t thread;
	bool started, stopping, wake;
	unsigned interval_s;
	keyusage_write_fn *write;
	void *write_arg;
};

struct keyusage *
keyusage_new(size_t slots)
{
	struct keyusage *ku = calloc(1, sizeof(*ku));
	pthread_condattr_t ca;

	if (ku == NULL)
		return NULL;
	if (slots == 0)
		slots = IDB_KEYUSAGE_SLOTS;
	for (ku->n_slots = 8, ku->shift = 61; ku->n_slots < slots; ku->n_slots *= 2)
		ku->shift--;
	ku->max_fill = ku->n_slots / 4 * 3;
	ku->wake_fill = ku->n_slots / 2;
	for (int i = 0; i < 2; i++) {
		if ((ku->tables[i].slots = calloc(ku->n_slots, sizeof(struct keyusage_entry))) ==
		    NULL) {
			free(ku->tables[0].slots);
			free(ku);
			return NULL;
		}
	}
	ku->live = &ku->tables[0];
	ku->spare = &ku->tables[1];
	pthread_mutex_init(&ku->lock, NULL);
	pthread_mutex_init(&ku->drain_lock, NULL);
	/* Waits are measured on CLOCK_MONOTONIC: a clock step must not stall the writes. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ku->wake_cond, &ca);
	pthread_condattr_destroy(&ca);
	return ku;
}

static void
stop_thread(struct keyusage *ku)
{
	if (!ku->started)
		return;
	pthread_mutex_lock(&ku->lock);
	ku->stopping = true;
	pthread_cond_signal(&ku->wake_cond);
	pthread_mutex_unlock(&ku->lock);
	pthread_join(ku->thread, NULL);
	ku->started = false;
}

void
keyusage_free(struct keyusage *ku)
{
	if (ku == NULL)
		return;
	stop_thread(ku);
	pthread_cond_destroy(&ku->wake_cond);
	pthread_mutex_destroy(&ku->drain_lock);
	pthread_mutex_destroy(&ku->lock);
	free(ku->tables[0].slots);
	free(ku->tables[1].slots);
	free(ku);
}

void
keyusage_mark_init(struct keyusage_mark *m, bool never_used)
{
	atomic_init(&m->noted_at, 0);
	atomic_init(&m->never_used, never_used);
}

/* The slot holding key_id, else the free slot where it belongs.  Under the lock. */
static struct keyusage_entry *
probe(const struct keyusage *ku, struct ku_table *t, int64_t key_id)
{
	size_t i = (size_t)(((uint64_t)key_id * 0x9E3779B97F4A7C15u) >> ku->shift);

	/* Never full (max_fill < n_slots), so a free slot ends every chain. */
	while (t->slots[i].key_id != 0 && t->slots[i].key_id != key_id)
		i = (i + 1) & (ku->n_slots - 1);
	return &t->slots[i];
}

/* Merge one use into the live table: its slot, or NULL when full (counted).  Under the lock. */
static struct keyusage_entry *
merge(struct keyusage *ku, int64_t key_id, int64_t used_at)
{
	struct keyusage_entry *e = probe(ku, ku->live, key_id);

	if (e->key_id == key_id) {
		if (used_at > e->used_at)
			e->used_at = used_at;
		return e;
	}
	if (ku->live->count >= ku->max_fill) {
		ku->dropped++;
		return NULL;
	}
	*e = (struct keyusage_entry){ .key_id = key_id, .used_at = used_at };
	ku->live->count++;
	return e;
}

bool
keyusage_record(struct keyusage *ku, int64_t key_id, int64_t now, bool first)
{
	struct keyusage_entry *e;
	bool log_first = first;
	size_t before;

	if (key_id <= 0)
		return false;
	pthread_mutex_lock(&ku->lock);
	before = ku->live->count;
	if ((e = merge(ku, key_id, now)) != NULL && first) {
		log_first = !e->first_logged;
		e->first_logged = true;
	}
	/* Half full: write early rather than drop uses at three quarters. */
	if (before < ku->wake_fill && ku->live->count == ku->wake_fill) {
		ku->wake = true;
		pthread_cond_signal(&ku->wake_cond);
	}
	pthread_mutex_unlock(&ku->lock);
	return log_first;
}

bool
keyusage_note(struct keyusage *ku, struct keyusage_mark *m, int64_t key_id, int64_t now)
{
	bool first = false;

	if (atomic_load_explicit(&m->never_used, memory_order_relaxed))
		first = atomic_exchange(&m->never_used, false);
	/* Already in the table for this second (or dropped with it): nothing to add. */
	if (!first && atomic_load_explicit(&m->noted_at, memory_order_relaxed) == now)
		return false;
	atomic_store_explicit(&m->noted_at, now, memory_order_relaxed);
	return keyusage_record(ku, key_id, now, first);
}

/* Move t's entries to the front of its slots; their number. */
static size_t
compact(struct keyusage *ku, struct ku_table *t)
{
	size_t n = 0;

	for (size_t i = 0; i < ku->n_slots; i++)
		if (t->slots[i].key_id != 0)
			t->slots[n++] = t->slots[i];
	return n;
}

/* Put back uses whose write failed.  Under the lock. */
static void
restore(struct keyusage *ku, const struct keyusage_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct keyusage_entry *e = merge(ku, v[i].key_id, v[i].used_at);

		if (e != NULL && v[i].first_logged)
			e->first_logged = true;
	}
}

int
keyusage_drain(struct keyusage *ku, keyusage_write_fn *write, void *arg)
{
	struct ku_table *t;
	uint64_t dropped;
	size_t n;
	int r = 0;

	pthread_mutex_lock(&ku->drain_lock);
	pthread_mutex_lock(&ku->lock);
	t = ku->live;
	ku->live = ku->spare;
	ku->spare = t;
	dropped = ku->dropped;
	ku->dropped = 0;
	pthread_mutex_unlock(&ku->lock);
	if (dropped > 0)
		log_warn("API keys: %llu uses not recorded: more keys in use than %zu per write",
		    (unsigned long long)dropped, ku->max_fill);
	if ((n = compact(ku, t)) > 0 && (r = write(arg, t->slots, n)) != 0) {
		pthread_mutex_lock(&ku->lock);
		restore(ku, t->slots, n);
		pthread_mutex_unlock(&ku->lock);
	}
	memset(t->slots, 0, ku->n_slots * sizeof(*t->slots));
	t->count = 0;
	pthread_mutex_unlock(&ku->drain_lock);
	return r;
}

void
keyusage_counts(struct keyusage *ku, size_t *pending_r, uint64_t *dropped_r)
{
	pthread_mutex_lock(&ku->lock);
	*pending_r = ku->live->count;
	*dropped_r = ku->dropped;
	pthread_mutex_unlock(&ku->lock);
}

/* Sleep (the lock held) until interval_s from now, a wake-up or a stop. */
static void
wait_interval(struct keyusage *ku)
{
	uint64_t at = now_ms() + (uint64_t)ku->interval_s * 1000;
	struct timespec ts = { .tv_sec = (time_t)(at / 1000),
			       .tv_nsec = (long)(at % 1000) * 1000000 };

	while (!ku->stopping && !ku->wake &&
	    pthread_cond_timedwait(&ku->wake_cond, &ku->lock, &ts) != ETIMEDOUT)
		;
	ku->wake = false;
}

static void *
flusher_main(void *arg)
{
	struct keyusage *ku = arg;

	pthread_mutex_lock(&ku->lock);
	for (;;) {
		wait_interval(ku);
		if (ku->stopping)
			break;
		pthread_mutex_unlock(&ku->lock);
		(void)keyusage_drain(ku, ku->write, ku->write_arg);  /* failures are kept */
		pthread_mutex_lock(&ku->lock);
	}
	pthread_mutex_unlock(&ku->lock);
	return NULL;
}

int
keyusage_start(struct keyusage *ku, unsigned interval_s, keyusage_write_fn *write, void *arg)
{
	int rc;

	ku->interval_s = interval_s > 0 ? interval_s : 1;
	ku->write = write;
	ku->write_arg = arg;
	ku->stopping = false;
	if ((rc = pthread_create(&ku->thread, NULL, flusher_main, ku)) != 0) {
		errno = rc;
		return -1;
	}
	ku->started = true;
	return 0;
}

void
keyusage_stop(struct keyusage *ku)
{
	if (ku == NULL || ku->write == NULL)
		return;
	stop_thread(ku);
	if (keyusage_drain(ku, ku->write, ku->write_arg) != 0)
		log_err("API keys: the last uses could not be recorded at shutdown");
}
