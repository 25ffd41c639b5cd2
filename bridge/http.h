/*
 * http.h — the HTTP core: libmicrohttpd, the route table, limits, responses.
 *
 * A handler gets a struct http_request whose body is complete and within
 * IDB_MAX_BODY_LEN.  It answers with one of the http_respond* calls and
 * returns HTTP_DONE — or, for work that may block (the directory), it calls
 * http_suspend(), hands the request to the auth pool and returns
 * HTTP_SUSPENDED; the worker answers with http_respond* and then calls
 * http_resume(), its last touch of the request.
 *
 * Every response gets the security headers and X-Request-Id here, so no
 * handler can forget them.  One log line per request is written when the
 * request completes.
 */
#ifndef IDBRIDGE_HTTP_H
#define IDBRIDGE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "bridge.h"
#include "form.h"

struct server;
struct http_request;
struct http_daemon;

enum http_outcome { HTTP_DONE, HTTP_SUSPENDED };

typedef enum http_outcome http_handler(struct http_request *req);

struct route {
	const char *method;     /* "GET", "POST" */
	const char *path;       /* exact path; ending in '*': a prefix */
	http_handler *handler;
};

/*
 * Start libmicrohttpd on an already bound, listening socket.  On success the
 * daemon owns listen_fd (http_stop closes it); on failure the caller does.
 */
struct http_daemon *http_start(struct server *srv, int listen_fd, unsigned threads,
    char **err_r) IDB_WUR;
/*
 * Graceful stop: stop accepting, let the caller answer suspended requests
 * (via answer_pending, e.g. closing the auth pool), wait up to
 * IDB_DRAIN_TIMEOUT_S for in-flight requests, then stop the daemon.
 */
void http_stop(struct http_daemon *d, void (*answer_pending)(void *), void *arg);

/* Request accessors. */
struct server *http_server(struct http_request *req);
const char *http_method(const struct http_request *req);
const char *http_path(const struct http_request *req);
const char *http_request_id(const struct http_request *req);
const char *http_client_addr(const struct http_request *req);
const char *http_body(const struct http_request *req, size_t *len_r);
/* The raw query string (after '?', still percent-encoded), or NULL when there is none. */
const char *http_raw_query(const struct http_request *req);
/* A request header (first value), or NULL. */
const char *http_header(struct http_request *req, const char *name);
/*
 * The query string parsed strictly (see form.h): a parameter given twice or
 * carrying a NUL byte is an error.  The form belongs to the request.
 */
enum form_error http_query(struct http_request *req, const struct form **form_r);

/* Per-handler state that lives until the request completes. */
void http_set_state(struct http_request *req, void *state, void (*free_fn)(void *));
void *http_state(struct http_request *req);

/* Answers (call exactly one per request). */
void http_respond(struct http_request *req, unsigned status, const char *content_type,
    const char *body, size_t len);
/* Serialises and consumes json (steals the reference). */
void http_respond_json(struct http_request *req, unsigned status, json_t *json);
/* {"error": code, "error_description": description} */
void http_respond_error(struct http_request *req, unsigned status, const char *code,
    const char *description);
/* Extra header on the pending response; call after http_respond*. */
void http_add_header(struct http_request *req, const char *name, const char *value);
/*
 * Replace every value of header name on the pending response (call after
 * http_respond*).  For the few responses that must differ from a default
 * header, e.g. the JWKS's "Cache-Control: public, max-age=…" instead of
 * no-store; every other response keeps the defaults.
 */
void http_replace_header(struct http_request *req, const char *name, const char *value);
/*
 * A page whose form ends in a redirect to redirect_uri (the sign-in and
 * consent pages): browsers apply CSP form-action to every hop of the
 * redirect chain, so that URI's origin is added to form-action.  Call after
 * http_respond*; a URI that is not a plain http(s) origin adds nothing.
 */
void http_allow_form_redirect(struct http_request *req, const char *redirect_uri);

void http_suspend(struct http_request *req);
void http_resume(struct http_request *req);

/* The route table (routes.c-style, defined in http.c from the h_*.c handlers). */
extern const struct route http_routes[];
extern const size_t http_n_routes;

/* Handlers (one h_<group>.c per endpoint group). */
enum http_outcome h_livez(struct http_request *req);
enum http_outcome h_authorize(struct http_request *req);
enum http_outcome h_healthz(struct http_request *req);
enum http_outcome h_jwks(struct http_request *req);
enum http_outcome h_discovery(struct http_request *req);
enum http_outcome h_plugins(struct http_request *req);
enum http_outcome h_static_css(struct http_request *req);
enum http_outcome h_token(struct http_request *req);
enum http_outcome h_introspect(struct http_request *req);
enum http_outcome h_revoke(struct http_request *req);
enum http_outcome h_logout(struct http_request *req);
enum http_outcome h_verify(struct http_request *req);
enum http_outcome h_keys(struct http_request *req);
enum http_outcome h_api_keys(struct http_request *req);

#endif
