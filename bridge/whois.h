/*
 * whois.h — a user's current identity for a request that needs it (a
 * refresh, an API key): the directory cache, else a directory lookup on
 * the auth pool with the connection suspended, never on an HTTP thread.
 *
 * done(arg, result) answers the request: on the calling HTTP thread for a
 * cache hit, or on a worker, which resumes the request right after done
 * returns.  AUTH_OK fills *id; a busy pool or a shutdown is reported as
 * AUTH_UNAVAILABLE (try again later), like an unreachable directory.
 */
#ifndef IDBRIDGE_WHOIS_H
#define IDBRIDGE_WHOIS_H

#include "backend.h"
#include "http.h"

typedef void whois_done(void *arg, enum auth_result result);

enum http_outcome whois(struct http_request *req, const char *username,
    struct identity *id, whois_done *done, void *arg);

#endif
