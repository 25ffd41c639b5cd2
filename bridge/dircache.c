/* dircache.c — short-lived cache of identities (see dircache.h). */
#include "autoconfig.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "dircache.h"
#include "util.h"

struct dircache_slot {
	struct identity id;     /* id.username NULL: empty */
	uint64_t stored_ms;     /* when the directory said so */
	uint64_t expires_ms;
};

struct dircache {
	pthread_mutex_t lock;
	unsigned ttl_s;
	struct dircache_slot slots[IDB_DIRCACHE_SLOTS];
};

struct dircache *
dircache_new(unsigned ttl_s)
{
	struct dircache *dc = calloc(1, sizeof(*dc));

	if (dc == NULL)
		return NULL;
	pthread_mutex_init(&dc->lock, NULL);
	dc->ttl_s = ttl_s;
	return dc;
}

void
dircache_free(struct dircache *dc)
{
	if (dc == NULL)
		return;
	for (size_t i = 0; i < IDB_DIRCACHE_SLOTS; i++)
		identity_free(&dc->slots[i].id);
	pthread_mutex_destroy(&dc->lock);
	free(dc);
}

/* FNV-1a over the ASCII-folded name: a direct-mapped slot. */
static size_t
slot_of(const char *name)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		unsigned char c = *p >= 'A' && *p <= 'Z' ? (unsigned char)(*p + 32) : *p;

		h = (h ^ c) * 16777619u;
	}
	return h % IDB_DIRCACHE_SLOTS;
}

static int
identity_copy(const struct identity *src, struct identity *dst)
{
	memset(dst, 0, sizeof(*dst));
#define DUP(f) do { if (src->f != NULL && (dst->f = strdup(src->f)) == NULL) goto fail; } while (0)
	DUP(username);
	DUP(id);
	DUP(dn);
	DUP(display_name);
	DUP(email);
#undef DUP
	for (size_t i = 0; i < src->n_groups; i++)
		if (identity_add_group(dst, src->groups[i],
		    src->group_dns != NULL ? src->group_dns[i] : NULL) != 0)
			goto fail;
	return 0;
fail:
	identity_free(dst);
	return -1;
}

void
dircache_put(struct dircache *dc, const struct identity *id)
{
	struct identity copy;
	struct dircache_slot *s;

	if (dc == NULL || dc->ttl_s == 0 || id->username == NULL)
		return;
	/* Copy outside the lock; a failed copy just means no caching. */
	if (identity_copy(id, &copy) != 0)
		return;
	s = &dc->slots[slot_of(id->username)];
	pthread_mutex_lock(&dc->lock);
	identity_free(&s->id);
	s->id = copy;
	s->stored_ms = now_ms();
	s->expires_ms = s->stored_ms + (uint64_t)dc->ttl_s * 1000u;
	pthread_mutex_unlock(&dc->lock);
}

/* A copy of username's identity if the directory gave it at most max_age_ms ago. */
static bool
get_younger(struct dircache *dc, const char *username, uint64_t max_age_ms,
    struct identity *id_r)
{
	struct dircache_slot *s;
	bool hit = false;
	uint64_t now;

	memset(id_r, 0, sizeof(*id_r));
	if (dc == NULL || dc->ttl_s == 0 || username == NULL)
		return false;
	s = &dc->slots[slot_of(username)];
	pthread_mutex_lock(&dc->lock);
	if (s->id.username != NULL && ascii_strcasecmp(s->id.username, username) == 0) {
		now = now_ms();
		if (now >= s->expires_ms)
			identity_free(&s->id);
		else if (now - s->stored_ms <= max_age_ms)
			hit = identity_copy(&s->id, id_r) == 0;
	}
	pthread_mutex_unlock(&dc->lock);
	return hit;
}

bool
dircache_get(struct dircache *dc, const char *username, struct identity *id_r)
{
	return get_younger(dc, username, UINT64_MAX, id_r);
}

bool
dircache_get_fresh(struct dircache *dc, const char *username, unsigned max_age_ms,
    struct identity *id_r)
{
	return get_younger(dc, username, max_age_ms, id_r);
}

void
dircache_forget(struct dircache *dc, const char *username)
{
	struct dircache_slot *s;

	if (dc == NULL || username == NULL)
		return;
	s = &dc->slots[slot_of(username)];
	pthread_mutex_lock(&dc->lock);
	if (s->id.username != NULL && ascii_strcasecmp(s->id.username, username) == 0)
		identity_free(&s->id);
	pthread_mutex_unlock(&dc->lock);
}
