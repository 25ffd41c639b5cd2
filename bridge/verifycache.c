/*
 * verifycache.c — see verifycache.h.
 *
 * A chained hash table over the token hashes (already uniform: the first
 * eight bytes are the bucket key) and a doubly linked LRU list, under one
 * mutex.  Results are shared by reference, so a hit copies nothing.
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store.h"
#include "util.h"
#include "verifycache.h"

struct vc_entry {
	unsigned char hash[IDB_SHA256_LEN];
	struct verify_result *r;
	uint64_t gen;                   /* generation taken before its store check */
	struct vc_entry *next;          /* bucket chain */
	struct vc_entry *prev_lru, *next_lru;   /* head: most recently used */
};

struct verifycache {
	pthread_mutex_t lock;
	struct vc_entry **buckets;
	size_t n_buckets;               /* a power of two */
	size_t count, max;
	struct vc_entry *lru_head, *lru_tail;

	struct store *st;
	_Atomic uint64_t gen;
	_Atomic uint64_t checked_ms;    /* coarse_ms() of the last revocation generation read */
	pthread_mutex_t check_lock;     /* one reader at a time; guards the two below */
	int64_t store_gen;              /* the store's revocation generation, last read */
	bool have_store_gen;
};

/* ---- results -------------------------------------------------------------- */

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
verify_result_release(struct verify_result *r)
{
	if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	free(r->sub);
	free(r->client_id);
	free(r->scope);
	free(r->jti);
	strv_free(r->aud, r->n_aud);
	strv_free(r->groups, r->n_groups);
	free(r->hdr_user);
	free(r->hdr_scopes);
	free(r->hdr_groups);
	free(r->hdr_client);
	free(r->introspection);
	free(r);
}

static struct verify_result *
result_ref(struct verify_result *r)
{
	atomic_fetch_add(&r->refs, 1);
	return r;
}

static char *
dup_claim(const json_t *claims, const char *name)
{
	const char *s = json_string_value(json_object_get(claims, name));

	return s != NULL ? strdup(s) : NULL;
}

/* A string or an array of at most max strings (array only when !allow_string) into *v_r. */
static int
string_list(const json_t *v, bool allow_string, size_t max, char ***v_r, size_t *n_r)
{
	size_t n = 0, i;
	json_t *x;

	*v_r = NULL;
	*n_r = 0;
	if (v == NULL)
		return 0;
	if (allow_string && json_is_string(v)) {
		if ((*v_r = calloc(1, sizeof(char *))) == NULL ||
		    ((*v_r)[0] = strdup(json_string_value(v))) == NULL)
			return -1;
		*n_r = 1;
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) > max)
		return -1;
	if (json_array_size(v) == 0)
		return 0;
	if ((*v_r = calloc(json_array_size(v), sizeof(char *))) == NULL)
		return -1;
	json_array_foreach(v, i, x) {
		if (!json_is_string(x) || ((*v_r)[n] = strdup(json_string_value(x))) == NULL) {
			strv_free(*v_r, n);
			*v_r = NULL;
			*n_r = 0;
			return -1;
		}
		*n_r = ++n;
	}
	return 0;
}

struct verify_result *
verify_result_from_claims(const json_t *claims)
{
	struct verify_result *r = calloc(1, sizeof(*r));
	json_t *exp = json_object_get(claims, "exp");
	const json_t *scope = json_object_get(claims, "scope");

	if (r == NULL)
		return NULL;
	atomic_init(&r->refs, 1);
	if (!json_is_integer(exp) || (scope != NULL && !json_is_string(scope)))
		goto fail;
	r->exp = json_integer_value(exp);
	r->sub = dup_claim(claims, "sub");
	r->client_id = dup_claim(claims, "client_id");
	r->jti = dup_claim(claims, "jti");
	r->scope = strdup(scope != NULL ? json_string_value(scope) : "");
	if (r->sub == NULL || r->client_id == NULL || r->jti == NULL || r->scope == NULL)
		goto fail;
	if (string_list(json_object_get(claims, "aud"), true, VERIFYCACHE_MAX_AUD,
	    &r->aud, &r->n_aud) != 0 ||
	    string_list(json_object_get(claims, "groups"), false, VERIFYCACHE_MAX_GROUPS,
	    &r->groups, &r->n_groups) != 0)
		goto fail;
	return r;
fail:
	verify_result_release(r);
	return NULL;
}

bool
verify_result_has_aud(const struct verify_result *r, const char *audience)
{
	for (size_t i = 0; i < r->n_aud; i++)
		if (strcmp(r->aud[i], audience) == 0)
			return true;
	return false;
}

/* Is the scope token w (of length len) one of the space-separated scopes in list? */
static bool
scope_in(const char *list, const char *w)
{
	size_t len = strlen(w);

	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, " ");

		if (n == len && memcmp(p, w, len) == 0)
			return true;
		p += n;
		p += strspn(p, " ");
	}
	return false;
}

bool
verify_result_has_scopes(const struct verify_result *r, char *const *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (want[i][0] == '\0' || !scope_in(r->scope, want[i]))
			return false;
	return true;
}

/* ---- what a hit answers, made once --------------------------------------- */

static bool
keep_unencoded(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("-._~:@/", c) != NULL);
}

/* Bytes s takes percent-encoded. */
static size_t
pct_len(const char *s)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		n += keep_unencoded(*p) ? 1 : 3;
	return n;
}

/* s percent-encoded at out; returns the end. */
static char *
pct_put(char *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (keep_unencoded(*p)) {
			*out++ = (char)*p;
		} else {
			*out++ = '%';
			*out++ = hex[*p >> 4];
			*out++ = hex[*p & 15];
		}
	}
	return out;
}

/*
 * The items percent-encoded and joined by ',' (a new string, NULL on
 * ENOMEM).  Items that would take the value past VERIFYCACHE_MAX_HEADER
 * are left out whole, never cut.
 */
static char *
pct_join(char *const *items, size_t n)
{
	size_t len = 0, used = 0;
	char *out, *o;

	for (size_t i = 0; i < n; i++) {
		size_t l = pct_len(items[i]) + (used > 0 ? 1 : 0);

		if (len + l > VERIFYCACHE_MAX_HEADER)
			break;
		len += l;
		used++;
	}
	if ((o = out = malloc(len + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < used; i++) {
		if (i > 0)
			*o++ = ',';
		o = pct_put(o, items[i]);
	}
	*o = '\0';
	return out;
}

int
verify_result_finish(struct verify_result *r)
{
	struct strlist scopes = { 0 };
	char *one[1];
	int rc = -1;

	if (strlist_add_words(&scopes, r->scope) != 0)
		goto out;
	one[0] = r->sub;
	r->hdr_user = pct_join(one, 1);
	one[0] = r->client_id;
	r->hdr_client = pct_join(one, 1);
	r->hdr_scopes = pct_join(scopes.items, scopes.n);
	r->hdr_groups = pct_join(r->groups, r->n_groups);
	if (r->hdr_user != NULL && r->hdr_client != NULL && r->hdr_scopes != NULL &&
	    r->hdr_groups != NULL)
		rc = 0;
out:
	strlist_free(&scopes);
	return rc;
}

json_t *
verify_introspection_answer(const json_t *claims)
{
	static const char *const keep[] = {
		"scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", "groups",
	};
	json_t *a = json_pack("{s:b,s:s}", "active", 1, "token_type", "Bearer");

	for (size_t i = 0; a != NULL && i < sizeof(keep) / sizeof(keep[0]); i++) {
		json_t *v = json_object_get(claims, keep[i]);

		if (v != NULL && json_object_set(a, keep[i], v) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

int
verify_result_set_introspection(struct verify_result *r, const json_t *claims)
{
	json_t *a = verify_introspection_answer(claims);

	if (a != NULL)
		r->introspection = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (r->introspection == NULL)
		return -1;
	r->introspection_len = strlen(r->introspection);
	return 0;
}

/* ---- the cache ------------------------------------------------------------ */

struct verifycache *
verifycache_new(size_t max_entries, struct store *st)
{
	struct verifycache *vc = calloc(1, sizeof(*vc));

	if (vc == NULL)
		return NULL;
	vc->max = max_entries != 0 ? max_entries : VERIFYCACHE_MAX_ENTRIES;
	/* At most half full: chains stay short. */
	for (vc->n_buckets = 16; vc->n_buckets < 2 * vc->max; vc->n_buckets *= 2)
		;
	if ((vc->buckets = calloc(vc->n_buckets, sizeof(*vc->buckets))) == NULL) {
		free(vc);
		return NULL;
	}
	pthread_mutex_init(&vc->lock, NULL);
	vc->st = st;
	atomic_init(&vc->gen, 1);
	atomic_init(&vc->checked_ms, 0);
	pthread_mutex_init(&vc->check_lock, NULL);
	return vc;
}

static size_t
bucket_of(const struct verifycache *vc, const unsigned char *hash)
{
	uint64_t k;

	memcpy(&k, hash, sizeof(k));
	return (size_t)(k & (vc->n_buckets - 1));
}

static void
lru_unlink(struct verifycache *vc, struct vc_entry *e)
{
	if (e->prev_lru != NULL)
		e->prev_lru->next_lru = e->next_lru;
	else
		vc->lru_head = e->next_lru;
	if (e->next_lru != NULL)
		e->next_lru->prev_lru = e->prev_lru;
	else
		vc->lru_tail = e->prev_lru;
	e->prev_lru = e->next_lru = NULL;
}

static void
lru_push_front(struct verifycache *vc, struct vc_entry *e)
{
	e->prev_lru = NULL;
	e->next_lru = vc->lru_head;
	if (vc->lru_head != NULL)
		vc->lru_head->prev_lru = e;
	vc->lru_head = e;
	if (vc->lru_tail == NULL)
		vc->lru_tail = e;
}

/* The entry of hash and the link that points at it, or NULL.  Under the lock. */
static struct vc_entry *
find(struct verifycache *vc, const unsigned char *hash, struct vc_entry ***link_r)
{
	struct vc_entry **link = &vc->buckets[bucket_of(vc, hash)];

	for (; *link != NULL; link = &(*link)->next)
		if (memcmp((*link)->hash, hash, IDB_SHA256_LEN) == 0) {
			*link_r = link;
			return *link;
		}
	return NULL;
}

/* Unlink and free e (its result only loses the cache's reference).  Under the lock. */
static void
drop(struct verifycache *vc, struct vc_entry *e)
{
	struct vc_entry **link;

	if (find(vc, e->hash, &link) == e)
		*link = e->next;
	lru_unlink(vc, e);
	vc->count--;
	verify_result_release(e->r);
	free(e);
}

void
verifycache_free(struct verifycache *vc)
{
	if (vc == NULL)
		return;
	verifycache_flush(vc);
	pthread_mutex_destroy(&vc->lock);
	pthread_mutex_destroy(&vc->check_lock);
	free(vc->buckets);
	free(vc);
}

void
verifycache_flush(struct verifycache *vc)
{
	pthread_mutex_lock(&vc->lock);
	while (vc->lru_head != NULL)
		drop(vc, vc->lru_head);
	pthread_mutex_unlock(&vc->lock);
}

void
verifycache_bump(struct verifycache *vc)
{
	atomic_fetch_add(&vc->gen, 1);
}

/* CLOCK_MONOTONIC_COARSE in ms: cheaper, and fine for a once-a-second check. */
static uint64_t
coarse_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Read the store's revocation generation; move ours when it changed.  Under check_lock. */
static void
read_store_gen(struct verifycache *vc, uint64_t now)
{
	int64_t v;
	char *err = NULL;

	if (store_revocation_generation(vc->st, &v, &err) != 0) {
		log_err("verify cache: cannot read the store's revocation generation: %s",
		    err != NULL ? err : "out of memory");
		free(err);
		vc->have_store_gen = false;
		atomic_fetch_add(&vc->gen, 1);
	} else if (!vc->have_store_gen || v != vc->store_gen) {
		vc->store_gen = v;
		vc->have_store_gen = true;
		atomic_fetch_add(&vc->gen, 1);
	}
	atomic_store(&vc->checked_ms, now);
}

uint64_t
verifycache_generation(struct verifycache *vc)
{
	uint64_t now = coarse_ms();

	/* The others go on with the generation they see while one thread reads. */
	if (vc->st == NULL || now < atomic_load(&vc->checked_ms) + VERIFYCACHE_RECHECK_MS ||
	    pthread_mutex_trylock(&vc->check_lock) != 0)
		return atomic_load(&vc->gen);
	read_store_gen(vc, now);
	pthread_mutex_unlock(&vc->check_lock);
	return atomic_load(&vc->gen);
}

void
verifycache_recheck(struct verifycache *vc)
{
	if (vc->st == NULL)
		return;
	/* Waits for a read in progress: it may have begun before the caller's commit. */
	pthread_mutex_lock(&vc->check_lock);
	read_store_gen(vc, coarse_ms());
	pthread_mutex_unlock(&vc->check_lock);
}

enum vc_lookup
verifycache_get(struct verifycache *vc, const unsigned char hash[IDB_SHA256_LEN], int64_t now,
    struct verify_result **r_r)
{
	struct vc_entry *e, **link;
	enum vc_lookup res = VC_MISS;
	uint64_t gen = atomic_load(&vc->gen);

	*r_r = NULL;
	pthread_mutex_lock(&vc->lock);
	if ((e = find(vc, hash, &link)) == NULL)
		goto out;
	if (now >= e->r->exp + (e->r->key_id != 0 ? 0 : IDB_JWT_CLOCK_SKEW_S)) {
		drop(vc, e);
		goto out;
	}
	/* A hot entry is usually at the head already: then nothing to write. */
	if (vc->lru_head != e) {
		lru_unlink(vc, e);
		lru_push_front(vc, e);
	}
	*r_r = result_ref(e->r);
	res = e->gen == gen ? VC_HIT : VC_STALE;
out:
	pthread_mutex_unlock(&vc->lock);
	return res;
}

void
verifycache_put(struct verifycache *vc, const unsigned char hash[IDB_SHA256_LEN],
    struct verify_result *r, uint64_t gen)
{
	struct vc_entry *e, **link;

	pthread_mutex_lock(&vc->lock);
	if ((e = find(vc, hash, &link)) != NULL) {
		if (e->r != r) {
			verify_result_release(e->r);
			e->r = result_ref(r);
		}
		/* Never move a stamp backwards past a newer check. */
		if (gen > e->gen)
			e->gen = gen;
		lru_unlink(vc, e);
		lru_push_front(vc, e);
		goto out;
	}
	if (vc->count >= vc->max)
		drop(vc, vc->lru_tail);
	if ((e = calloc(1, sizeof(*e))) == NULL)
		goto out;       /* not cached: the next call verifies again */
	memcpy(e->hash, hash, IDB_SHA256_LEN);
	e->r = result_ref(r);
	e->gen = gen;
	e->next = vc->buckets[bucket_of(vc, hash)];
	vc->buckets[bucket_of(vc, hash)] = e;
	lru_push_front(vc, e);
	vc->count++;
out:
	pthread_mutex_unlock(&vc->lock);
}

void
verifycache_remove(struct verifycache *vc, const unsigned char hash[IDB_SHA256_LEN])
{
	struct vc_entry *e, **link;

	pthread_mutex_lock(&vc->lock);
	if ((e = find(vc, hash, &link)) != NULL)
		drop(vc, e);
	pthread_mutex_unlock(&vc->lock);
}

size_t
verifycache_count(struct verifycache *vc)
{
	size_t n;

	pthread_mutex_lock(&vc->lock);
	n = vc->count;
	pthread_mutex_unlock(&vc->lock);
	return n;
}
