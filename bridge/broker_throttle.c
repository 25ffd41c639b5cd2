/* broker_throttle.c — failed sign-ins per user name, shared by the broker's workers. */
#include "autoconfig.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "broker_throttle.h"

struct throttle_entry {
	char user[IDB_MAX_USERNAME_LEN + 1];  /* case-folded; "" = free slot */
	int64_t first_fail, last_fail;
	unsigned fails;
};

struct broker_throttle {
	pthread_mutex_t lock;  /* process-shared and robust */
	struct throttle_entry e[IDB_BROKER_THROTTLE_SLOTS];
};

struct broker_throttle *
broker_throttle_new(void)
{
	pthread_mutexattr_t a;
	struct broker_throttle *t;
	int rc;

	t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		return NULL;
	/* The mapping starts zeroed: every slot is free. */
	if ((rc = pthread_mutexattr_init(&a)) == 0) {
		if ((rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED)) == 0 &&
		    (rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST)) == 0)
			rc = pthread_mutex_init(&t->lock, &a);
		pthread_mutexattr_destroy(&a);
	}
	if (rc != 0) {
		munmap(t, sizeof(*t));
		errno = rc;
		return NULL;
	}
	return t;
}

void
broker_throttle_free(struct broker_throttle *t)
{
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->lock);
	explicit_bzero(t->e, sizeof(t->e));
	munmap(t, sizeof(*t));
}

/* A worker killed while it held the lock leaves at worst one stale entry. */
static void
lock(struct broker_throttle *t)
{
	if (pthread_mutex_lock(&t->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&t->lock);
}

static void
fold(const char *user, char out[IDB_MAX_USERNAME_LEN + 1])
{
	size_t n = strnlen(user, IDB_MAX_USERNAME_LEN);

	for (size_t i = 0; i < n; i++)
		out[i] = (user[i] >= 'A' && user[i] <= 'Z') ? (char)(user[i] - 'A' + 'a') : user[i];
	out[n] = '\0';
}

static bool
entry_blocks(const struct throttle_entry *e, int64_t now)
{
	return e->fails >= IDB_BROKER_THROTTLE_FAILS &&
	    now - e->last_fail < IDB_BROKER_THROTTLE_BLOCK_S;
}

static struct throttle_entry *
find(struct broker_throttle *t, const char *key)
{
	for (size_t i = 0; i < IDB_BROKER_THROTTLE_SLOTS; i++)
		if (t->e[i].user[0] != '\0' && strcmp(t->e[i].user, key) == 0)
			return &t->e[i];
	return NULL;
}

/* A free slot, else the oldest entry that blocks nothing, else the oldest. */
static struct throttle_entry *
take_slot(struct broker_throttle *t, int64_t now)
{
	struct throttle_entry *idle = NULL, *any = NULL;

	for (size_t i = 0; i < IDB_BROKER_THROTTLE_SLOTS; i++) {
		struct throttle_entry *e = &t->e[i];

		if (e->user[0] == '\0')
			return e;
		if (any == NULL || e->last_fail < any->last_fail)
			any = e;
		if (!entry_blocks(e, now) && (idle == NULL || e->last_fail < idle->last_fail))
			idle = e;
	}
	return idle != NULL ? idle : any;
}

bool
broker_throttle_blocked(struct broker_throttle *t, const char *user, int64_t now)
{
	char key[IDB_MAX_USERNAME_LEN + 1];
	struct throttle_entry *e;
	bool blocked;

	fold(user, key);
	lock(t);
	e = find(t, key);
	blocked = e != NULL && entry_blocks(e, now);
	pthread_mutex_unlock(&t->lock);
	return blocked;
}

void
broker_throttle_note(struct broker_throttle *t, const char *user, bool failed, int64_t now)
{
	char key[IDB_MAX_USERNAME_LEN + 1];
	struct throttle_entry *e;

	fold(user, key);
	lock(t);
	e = find(t, key);
	if (!failed) {
		if (e != NULL)
			memset(e, 0, sizeof(*e));
		goto out;
	}
	if (e == NULL) {
		e = take_slot(t, now);
		memset(e, 0, sizeof(*e));
		memcpy(e->user, key, sizeof(key));
	}
	/* A window that passed (and no block running) starts the count again. */
	if (e->fails > 0 && now - e->first_fail >= IDB_BROKER_THROTTLE_WINDOW_S &&
	    !entry_blocks(e, now))
		e->fails = 0;
	if (e->fails == 0)
		e->first_fail = now;
	e->fails++;
	e->last_fail = now;
out:
	pthread_mutex_unlock(&t->lock);
}
