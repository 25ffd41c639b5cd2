/*
 * h_health.c — GET /livez and GET /healthz.
 *
 * /livez answers from the process and the store alone, so a load balancer
 * in front of /verify keeps sending traffic while the directory is down
 * (validating tokens does not need it).  /healthz also reports the
 * directory.  Its probe may block for the LDAP timeout, so it runs on the
 * auth worker pool with the connection suspended, and its result is cached
 * for IDB_HEALTH_CACHE_S so probes cannot hammer the directory.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "authpool.h"
#include "backend.h"
#include "http.h"
#include "log.h"
#include "server.h"
#include "store.h"
#include "util.h"

void
health_cache_init(struct health_cache *hc)
{
	memset(hc, 0, sizeof(*hc));
	pthread_mutex_init(&hc->lock, NULL);
}

void
health_cache_destroy(struct health_cache *hc)
{
	pthread_mutex_destroy(&hc->lock);
}

/* 0 and a status word for the store. */
static const char *
store_status(struct server *srv, bool *ok_r)
{
	char *err = NULL;

	*ok_r = store_ping(srv->store, &err) == 0;
	if (!*ok_r) {
		log_warn("health: the store does not answer: %s", err != NULL ? err : "?");
		free(err);
		return "unavailable";
	}
	return "ok";
}

enum http_outcome
h_livez(struct http_request *req)
{
	bool ok;
	const char *st = store_status(http_server(req), &ok);

	http_respond_json(req, ok ? 200 : 503, json_pack("{s:s,s:s}",
	    "status", ok ? "ok" : "unavailable", "store", st));
	return HTTP_DONE;
}

static void
respond_health(struct http_request *req, bool dir_ok, const char *detail)
{
	bool store_ok;
	const char *st = store_status(http_server(req), &store_ok);
	bool ok = store_ok && dir_ok;
	json_t *j;

	j = json_pack("{s:s,s:s,s:s}", "status", ok ? "ok" : "unavailable",
	    "store", st, "directory", dir_ok ? "ok" : "unavailable");
	if (j != NULL && !dir_ok && detail != NULL && detail[0] != '\0')
		json_object_set_new(j, "detail", json_string(detail));
	http_respond_json(req, ok ? 200 : 503, j);
	if (!ok)
		http_add_header(req, "Retry-After", "5");
}

/*
 * Decide from the cache: true with *ok_r when the request can be answered
 * now — a fresh result, or, while another request's probe is running, the
 * last one (a probe never runs twice at once, so /healthz cannot occupy the
 * auth workers).  false: the caller must probe, and now owns "probing".
 */
static bool
health_from_cache(struct health_cache *hc, bool *ok_r)
{
	bool answered = true;

	pthread_mutex_lock(&hc->lock);
	if (hc->checked_ms != 0 && now_ms() - hc->checked_ms < IDB_HEALTH_CACHE_S * 1000u)
		*ok_r = hc->ok;
	else if (hc->probing)
		*ok_r = hc->checked_ms != 0 && hc->ok;
	else {
		hc->probing = true;
		answered = false;
	}
	pthread_mutex_unlock(&hc->lock);
	return answered;
}

static void
health_record(struct health_cache *hc, bool probed, bool ok)
{
	pthread_mutex_lock(&hc->lock);
	if (probed) {
		hc->ok = ok;
		hc->checked_ms = now_ms();
	}
	hc->probing = false;
	pthread_mutex_unlock(&hc->lock);
}

static void
probe_directory(void *arg, bool cancelled)
{
	struct http_request *req = arg;
	struct server *srv = http_server(req);
	char *err = NULL;
	bool ok = false;

	if (!cancelled) {
		ok = srv->backend_ops->health(srv->backend, &err) == 0;
		/* The reason stays in the log: it may name hosts and accounts. */
		if (!ok)
			log_warn("health: directory unavailable: %s", err != NULL ? err : "?");
		free(err);
	}
	health_record(&srv->health, !cancelled, ok);
	respond_health(req, ok, cancelled ? "the server is shutting down" :
	    "the directory does not answer");
	http_resume(req);  /* last touch of req */
}

enum http_outcome
h_healthz(struct http_request *req)
{
	struct server *srv = http_server(req);
	bool ok;

	if (health_from_cache(&srv->health, &ok)) {
		respond_health(req, ok, "the directory does not answer");
		return HTTP_DONE;
	}
	http_suspend(req);
	switch (authpool_submit(srv->authpool, http_client_addr(req),
	    http_request_id(req), probe_directory, req)) {
	case AUTHPOOL_QUEUED:
		return HTTP_SUSPENDED;
	case AUTHPOOL_CLOSED:
		respond_health(req, false, "the server is shutting down");
		break;
	default:
		respond_health(req, false, "the directory workers are busy: try again later");
		break;
	}
	health_record(&srv->health, false, false);
	http_resume(req);
	return HTTP_SUSPENDED;
}
