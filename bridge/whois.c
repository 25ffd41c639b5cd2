/* whois.c — identity from the cache or the directory (see whois.h). */
#include "autoconfig.h"

#include <stdlib.h>

#include "authpool.h"
#include "dircache.h"
#include "server.h"
#include "whois.h"

struct whois_job {
	struct http_request *req;
	const char *username;       /* the caller's, alive until done runs */
	struct identity *id;
	whois_done *done;
	void *arg;
};

static void
lookup_job(void *p, bool cancelled)
{
	struct whois_job *w = p;
	struct http_request *req = w->req;
	struct server *srv = http_server(req);
	enum auth_result r = AUTH_UNAVAILABLE;

	if (!cancelled) {
		r = srv->backend_ops->lookup(srv->backend, w->username, w->id);
		if (r == AUTH_OK)
			dircache_put(srv->dircache, w->id);
	}
	w->done(w->arg, r);
	free(w);
	http_resume(req);  /* last touch of req */
}

enum http_outcome
whois(struct http_request *req, const char *username, struct identity *id,
    whois_done *done, void *arg)
{
	struct server *srv = http_server(req);
	struct whois_job *w;

	if (dircache_get(srv->dircache, username, id)) {
		done(arg, AUTH_OK);
		return HTTP_DONE;
	}
	if ((w = malloc(sizeof(*w))) == NULL) {
		done(arg, AUTH_INTERNAL);
		return HTTP_DONE;
	}
	*w = (struct whois_job){ req, username, id, done, arg };
	http_suspend(req);
	if (authpool_submit(srv->authpool, http_client_addr(req), http_request_id(req),
	    lookup_job, w) == AUTHPOOL_QUEUED)
		return HTTP_SUSPENDED;
	free(w);
	done(arg, AUTH_UNAVAILABLE);
	http_resume(req);
	return HTTP_SUSPENDED;
}
