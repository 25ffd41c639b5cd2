/*
 * server.h — the running daemon's shared state, handed to every handler.
 *
 * Built once by cli_serve.c in the documented start-up order; read-only
 * afterwards except for the fields that carry their own lock.
 */
#ifndef IDBRIDGE_SERVER_H
#define IDBRIDGE_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct config;
struct store;
struct backend;
struct backend_ops;
struct authpool;
struct keys;
struct dircache;
struct ratelimit;
struct delayq;
struct verifycache;
struct keyusage;

/* The directory's last health probe, shared by /healthz requests. */
struct health_cache {
	pthread_mutex_t lock;
	uint64_t checked_ms;     /* now_ms() of the last probe; 0 = never */
	bool ok;
	bool probing;            /* one probe at a time: others get the last result */
};

struct server {
	const struct config *cfg;
	struct store *store;
	const struct backend_ops *backend_ops;
	struct backend *backend;
	struct authpool *authpool;
	struct health_cache health;
	struct keys *keys;           /* JWT signing keys (keys.h) */
	struct dircache *dircache;   /* identities fresh from the directory (dircache.h) */
	struct ratelimit *ratelimit; /* login throttling (ratelimit.h) */
	struct delayq *delayq;       /* resumes failed sign-ins after the minimum time */
	struct verifycache *verifycache; /* /verify results by token hash (verifycache.h) */
	struct keyusage *keyusage;   /* API key uses awaiting their batched write (keyusage.h) */
};

/* Answers a directory health probe, cached for IDB_HEALTH_CACHE_S. */
void health_cache_init(struct health_cache *hc);
void health_cache_destroy(struct health_cache *hc);

#endif
