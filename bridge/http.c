/*
 * http.c — libmicrohttpd glue: request life cycle, limits, route dispatch,
 * responses with security headers, one log line per request, graceful stop.
 *
 * Life of a request:
 *   uri_log_cb        takes a request (MHD calls it with the raw URI,
 *                     before it is unescaped or split), assigns the id and
 *                     checks the URI length;
 *   access_handler    first call: route and header checks; upload calls:
 *                     body accumulated up to IDB_MAX_BODY_LEN; last call:
 *                     the handler runs (or a resumed request's response is
 *                     queued);
 *   completed_cb      logs the request line and frees everything.
 *
 * A request costs no allocation of ours when its URI is short: the struct
 * comes from a small per-thread list of finished ones (a thread pool
 * thread frees what it allocated, so the list needs no lock) and keeps
 * the raw URI inline.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <microhttpd.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "server.h"
#include "util.h"

/* Room for the request line, headers and MHD's own bookkeeping. */
#define CONNECTION_MEMORY (IDB_MAX_HEADER_BLOCK + IDB_MAX_URI_LEN + 16384)

const struct route http_routes[] = {
	{ "GET", "/livez", h_livez },
	{ "GET", "/healthz", h_healthz },
	{ "GET", "/authorize", h_authorize },
	{ "POST", "/authorize", h_authorize },
	{ "GET", "/jwks.json", h_jwks },
	{ "GET", "/.well-known/oauth-authorization-server", h_discovery },
	{ "GET", "/.well-known/openid-configuration", h_discovery },
	{ "GET", "/static/style.css", h_static_css },
	{ "POST", "/token", h_token },
	{ "POST", "/introspect", h_introspect },
	{ "POST", "/revoke", h_revoke },
	{ "POST", "/logout", h_logout },
	{ "GET", "/verify", h_verify },
	{ "GET", "/keys", h_keys },
	{ "POST", "/keys", h_keys },
	{ "GET", "/api/keys", h_api_keys },
	{ "POST", "/api/keys", h_api_keys },
	{ "DELETE", "/api/keys/*", h_api_keys },
	/* /plugins/NAME/ai-plugin.json: h_plugins checks the rest. */
	{ "GET", "/plugins/*", h_plugins },
};
const size_t http_n_routes = sizeof(http_routes) / sizeof(http_routes[0]);

struct http_daemon {
	struct MHD_Daemon *mhd;
	struct server *srv;
	atomic_uint in_flight;       /* requests between uri_log_cb and completed_cb */
	atomic_ulong next_id;
	char id_prefix[9];           /* random per process, so ids differ across restarts */
};

/* Raw URIs up to this long are kept inside the request; longer ones are allocated. */
#define INLINE_URI_LEN 512
/* Finished requests each thread keeps for reuse. */
#define REQUEST_CACHE_MAX 32

struct http_request {
	struct http_daemon *d;
	struct MHD_Connection *conn;
	char id[32];
	char addr[INET6_ADDRSTRLEN];  /* the client: the peer, or X-Forwarded-For via a trusted proxy */
	char peer[INET6_ADDRSTRLEN];  /* the socket's peer */
	char *raw_uri;               /* as received: path and query, still escaped */
	bool uri_too_long;
	const struct route *route;
	const char *method;          /* MHD's string, valid for the request */
	const char *path;            /* MHD's unescaped path */
	char *body;
	size_t body_len;
	bool body_too_large;
	bool handled;                /* the handler has run */
	struct form query;
	bool query_parsed;
	enum form_error query_error;
	struct MHD_Response *response;
	unsigned status;
	size_t response_len;
	uint64_t start_ms;
	void *state;
	void (*state_free)(void *);
	struct http_request *next_free;         /* in the thread's request cache */
	/* Last: a reused request is cleared up to here. */
	char uri_buf[INLINE_URI_LEN + 1];
};

/* The one CSP, split where a sign-in page adds its client's origin to form-action. */
#define CSP_BEFORE_FORM_ACTION "default-src 'none'; style-src 'self'; img-src 'self'; " \
	"form-action "
#define CSP_AFTER_FORM_ACTION "; frame-ancestors 'none'; base-uri 'none'"

static const struct {
	const char *name, *value;
} security_headers[] = {
	{ "X-Content-Type-Options", "nosniff" },
	{ "X-Frame-Options", "DENY" },
	{ "Content-Security-Policy", CSP_BEFORE_FORM_ACTION "'self'" CSP_AFTER_FORM_ACTION },
	{ "Referrer-Policy", "no-referrer" },
	{ "Cache-Control", "no-store" },
	{ "Cross-Origin-Opener-Policy", "same-origin" },
	{ "Cross-Origin-Resource-Policy", "same-origin" },
};

/* ---- accessors ---------------------------------------------------------- */

struct server *
http_server(struct http_request *req)
{
	return req->d->srv;
}

const char *
http_method(const struct http_request *req)
{
	return req->method;
}

const char *
http_path(const struct http_request *req)
{
	return req->path;
}

const char *
http_request_id(const struct http_request *req)
{
	return req->id;
}

const char *
http_client_addr(const struct http_request *req)
{
	return req->addr;
}

const char *
http_body(const struct http_request *req, size_t *len_r)
{
	*len_r = req->body_len;
	return req->body != NULL ? req->body : "";
}

const char *
http_raw_query(const struct http_request *req)
{
	const char *q = req->raw_uri != NULL ? strchr(req->raw_uri, '?') : NULL;

	return q != NULL ? q + 1 : NULL;
}

const char *
http_header(struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

enum form_error
http_query(struct http_request *req, const struct form **form_r)
{
	if (!req->query_parsed) {
		const char *q = req->raw_uri != NULL ? strchr(req->raw_uri, '?') : NULL;

		if (req->raw_uri == NULL)
			req->query_error = FORM_ERR_NOMEM;
		else
			req->query_error = q == NULL ? FORM_OK :
			    form_parse(q + 1, strlen(q + 1), &req->query);
		req->query_parsed = true;
	}
	*form_r = &req->query;
	return req->query_error;
}

void
http_set_state(struct http_request *req, void *state, void (*free_fn)(void *))
{
	req->state = state;
	req->state_free = free_fn;
}

void *
http_state(struct http_request *req)
{
	return req->state;
}

/* ---- responses ---------------------------------------------------------- */

static void
set_response(struct http_request *req, unsigned status, struct MHD_Response *resp,
    size_t len)
{
	if (resp == NULL) {
		log_err("cannot create a response (out of memory)");
		return;
	}
	if (req->response != NULL)
		MHD_destroy_response(req->response);
	for (size_t i = 0; i < sizeof(security_headers) / sizeof(security_headers[0]); i++)
		MHD_add_response_header(resp, security_headers[i].name, security_headers[i].value);
	MHD_add_response_header(resp, "X-Request-Id", req->id);
	/* From the issuer, never the request: behind a TLS proxy we see plain HTTP. */
	if (strncmp(req->d->srv->cfg->server.issuer, "https://", 8) == 0)
		MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
	req->response = resp;
	req->status = status;
	req->response_len = len;
}

void
http_respond(struct http_request *req, unsigned status, const char *content_type,
    const char *body, size_t len)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body,
	    MHD_RESPMEM_MUST_COPY);
	if (resp != NULL && content_type != NULL)
		MHD_add_response_header(resp, "Content-Type", content_type);
	set_response(req, status, resp, len);
}

void
http_respond_json(struct http_request *req, unsigned status, json_t *json)
{
	struct MHD_Response *resp = NULL;
	char *text = NULL;
	size_t len = 0;

	if (json != NULL)
		text = json_dumps(json, JSON_COMPACT);
	json_decref(json);
	if (text == NULL) {
		status = 500;
		text = strdup("{\"error\":\"server_error\"}");
		if (text == NULL)
			return;
	}
	len = strlen(text);
	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL)
		free(text);
	else
		MHD_add_response_header(resp, "Content-Type", "application/json");
	set_response(req, status, resp, len);
}

void
http_respond_error(struct http_request *req, unsigned status, const char *code,
    const char *description)
{
	json_t *j = json_pack("{s:s}", "error", code);

	if (j != NULL && description != NULL)
		json_object_set_new(j, "error_description", json_string(description));
	http_respond_json(req, status, j);
}

void
http_add_header(struct http_request *req, const char *name, const char *value)
{
	if (req->response != NULL)
		MHD_add_response_header(req->response, name, value);
}

void
http_replace_header(struct http_request *req, const char *name, const char *value)
{
	char old[512];
	const char *v;

	if (req->response == NULL)
		return;
	/* MHD deletes by exact value: copy it first, the stored one is freed. */
	while ((v = MHD_get_response_header(req->response, name)) != NULL &&
	    strlen(v) < sizeof(old)) {
		memcpy(old, v, strlen(v) + 1);
		if (MHD_del_response_header(req->response, name, old) != MHD_YES)
			break;
	}
	MHD_add_response_header(req->response, name, value);
}

/*
 * scheme://host[:port] of an http(s) URL into out, refusing any character
 * that could end a CSP source expression.  false when it is not that.
 */
static bool
url_origin(const char *url, char *out, size_t size)
{
	const char *host;
	size_t len;

	if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		return false;
	len = (size_t)(host - url) + strcspn(host, "/?#");
	if (len >= size || host[0] == '\0' || len == (size_t)(host - url))
		return false;
	for (const char *p = host; p < url + len; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr(".-:[]", *p) != NULL))
			return false;
	memcpy(out, url, len);
	out[len] = '\0';
	return true;
}

void
http_allow_form_redirect(struct http_request *req, const char *redirect_uri)
{
	char origin[IDB_MAX_URI_LEN], *csp = NULL;

	if (!url_origin(redirect_uri, origin, sizeof(origin)) ||
	    asprintf(&csp, "%s'self' %s%s", CSP_BEFORE_FORM_ACTION, origin,
	    CSP_AFTER_FORM_ACTION) < 0)
		return;  /* keep 'self' only: the browser stops, nothing leaks */
	http_replace_header(req, "Content-Security-Policy", csp);
	free(csp);
}

void
http_suspend(struct http_request *req)
{
	MHD_suspend_connection(req->conn);
}

void
http_resume(struct http_request *req)
{
	MHD_resume_connection(req->conn);
}

/* ---- request life cycle ------------------------------------------------- */

/* a.b.c.d of an IPv4 address at out (16 bytes); inet_ntop's sprintf costs more. */
static void
ipv4_text(const struct in_addr *in, char *out)
{
	const unsigned char *b = (const unsigned char *)&in->s_addr;
	size_t o = 0;

	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];

		if (i > 0)
			out[o++] = '.';
		if (v >= 100)
			out[o++] = (char)('0' + v / 100);
		if (v >= 10)
			out[o++] = (char)('0' + v / 10 % 10);
		out[o++] = (char)('0' + v % 10);
	}
	out[o] = '\0';
}

static void
client_address(struct MHD_Connection *conn, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	memcpy(out, "-", 2);
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET && size >= INET_ADDRSTRLEN)
		ipv4_text(&((const struct sockaddr_in *)(const void *)sa)->sin_addr, out);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    out, (socklen_t)size);
}

/* ---- the per-thread request cache ----------------------------------------- */

struct request_cache {
	struct http_request *head;
	unsigned n;
	bool registered;                /* its thread's exit empties it */
};

static __thread struct request_cache request_cache;
static pthread_key_t request_cache_key;
static pthread_once_t request_cache_once = PTHREAD_ONCE_INIT;
static bool request_cache_key_ok;

/* Free a cache's requests (its thread ends, or the daemon stops). */
static void
request_cache_empty(void *arg)
{
	struct request_cache *c = arg;
	struct http_request *req;

	while ((req = c->head) != NULL) {
		c->head = req->next_free;
		free(req);
	}
	c->n = 0;
}

static void
request_cache_key_make(void)
{
	request_cache_key_ok = pthread_key_create(&request_cache_key, request_cache_empty) == 0;
}

/* A cleared request: the thread's last finished one, else a new one.  NULL on ENOMEM. */
static struct http_request *
request_new(void)
{
	struct request_cache *c = &request_cache;
	struct http_request *req = c->head;

	if (req == NULL)
		return calloc(1, sizeof(*req));
	c->head = req->next_free;
	c->n--;
	memset(req, 0, offsetof(struct http_request, uri_buf));
	return req;
}

/* Keep req for the thread's next request, or free it. */
static void
request_recycle(struct http_request *req)
{
	struct request_cache *c = &request_cache;

	if (!c->registered) {
		/* Only a thread whose exit will empty the cache may keep requests in it. */
		pthread_once(&request_cache_once, request_cache_key_make);
		c->registered = request_cache_key_ok &&
		    pthread_setspecific(request_cache_key, c) == 0;
	}
	if (!c->registered || c->n >= REQUEST_CACHE_MAX) {
		free(req);
		return;
	}
	req->next_free = c->head;
	c->head = req;
	c->n++;
}

/* "PREFIX-N", N in hex, into out (32 bytes). */
static void
format_id(char out[32], const char *prefix, unsigned long n)
{
	static const char hex[] = "0123456789abcdef";
	char digits[2 * sizeof(n)];
	size_t len = strlen(prefix), k = 0;

	do {
		digits[k++] = hex[n & 15];
		n >>= 4;
	} while (n != 0);
	memcpy(out, prefix, len);
	out[len++] = '-';
	while (k > 0)
		out[len++] = digits[--k];
	out[len] = '\0';
}

static void *
uri_log_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct http_daemon *d = cls;
	struct http_request *req;
	size_t len = strlen(uri);

	if ((req = request_new()) == NULL)
		return NULL;
	req->d = d;
	req->conn = conn;
	req->start_ms = now_ms();
	format_id(req->id, d->id_prefix, atomic_fetch_add(&d->next_id, 1));
	client_address(conn, req->peer, sizeof(req->peer));
	memcpy(req->addr, req->peer, sizeof(req->addr));
	if (len > IDB_MAX_URI_LEN) {
		req->uri_too_long = true;
	} else if (len <= INLINE_URI_LEN) {
		memcpy(req->uri_buf, uri, len + 1);
		req->raw_uri = req->uri_buf;
	} else {
		req->raw_uri = strdup(uri);
	}
	atomic_fetch_add(&d->in_flight, 1);
	return req;
}

static void
request_free(struct http_request *req)
{
	if (req->state_free != NULL)
		req->state_free(req->state);
	if (req->response != NULL)
		MHD_destroy_response(req->response);
	form_free(&req->query);
	free(req->body);
	if (req->raw_uri != req->uri_buf)
		free(req->raw_uri);
	request_recycle(req);
}

/* The request line being built (completed_cb): appends stop at the end of buf. */
struct line {
	char buf[2 * LOG_SAFE_BUF + 3 * INET6_ADDRSTRLEN + 128];
	size_t len;
};

static void
line_str(struct line *l, const char *s)
{
	size_t n = strlen(s);

	if (n > sizeof(l->buf) - l->len)
		n = sizeof(l->buf) - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/* An untrusted string, made printable and capped (log_safe). */
static void
line_safe(struct line *l, const char *s)
{
	char safe[LOG_SAFE_BUF];

	line_str(l, log_safe(safe, sizeof(safe), s));
}

static void
line_uint(struct line *l, unsigned long long v)
{
	char digits[24];
	size_t k = sizeof(digits);

	do {
		digits[--k] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	if (sizeof(digits) - k > sizeof(l->buf) - l->len)
		return;
	memcpy(l->buf + l->len, digits + k, sizeof(digits) - k);
	l->len += sizeof(digits) - k;
}

/*
 * "http: METHOD PATH STATUS SIZEB TIMEms addr=CLIENT[ via=PEER][ (connection
 * closed early)]", built without printf: it is written for every request.
 */
static void
log_request(const struct http_request *req, enum MHD_RequestTerminationCode toe)
{
	struct line l = { .len = 0 };

	line_str(&l, "http: ");
	line_safe(&l, req->method != NULL ? req->method : "-");
	line_str(&l, " ");
	line_safe(&l, req->path != NULL ? req->path : "-");
	line_str(&l, " ");
	line_uint(&l, req->status);
	line_str(&l, " ");
	line_uint(&l, req->response_len);
	line_str(&l, "B ");
	line_uint(&l, now_ms() - req->start_ms);
	line_str(&l, "ms addr=");
	line_str(&l, req->addr);
	if (strcmp(req->addr, req->peer) != 0) {
		line_str(&l, " via=");
		line_str(&l, req->peer);
	}
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		line_str(&l, " (connection closed early)");
	log_access(req->id, l.buf, l.len);
}

static void
completed_cb(void *cls, struct MHD_Connection *conn, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_daemon *d = cls;
	struct http_request *req = *req_cls;

	(void)conn;
	if (req == NULL)
		return;
	log_request(req, toe);
	request_free(req);
	*req_cls = NULL;
	atomic_fetch_sub(&d->in_flight, 1);
}

struct header_sum {
	size_t bytes;
};

static enum MHD_Result
sum_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct header_sum *s = cls;

	(void)kind;
	/* "name: value\r\n" */
	s->bytes += strlen(key) + 4 + (value != NULL ? strlen(value) : 0);
	return MHD_YES;
}

/* A route path is exact, or ends in '*' and matches whatever follows. */
static bool
route_matches(const char *route_path, const char *path)
{
	size_t len = strlen(route_path);

	if (len > 0 && route_path[len - 1] == '*')
		return strncmp(route_path, path, len - 1) == 0;
	return strcmp(route_path, path) == 0;
}

static const struct route *
find_route(const char *method, const char *path, bool *path_known_r)
{
	*path_known_r = false;
	for (size_t i = 0; i < http_n_routes; i++) {
		if (!route_matches(http_routes[i].path, path))
			continue;
		*path_known_r = true;
		if (strcmp(http_routes[i].method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && strcmp(http_routes[i].method, "GET") == 0))
			return &http_routes[i];
	}
	return NULL;
}

/* Is addr (an IP literal) one of the [server] trusted_proxies? */
static bool
trusted_proxy(const struct config *cfg, const char *addr)
{
	unsigned char a[16], b[16];
	int fa = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;

	if (inet_pton(fa, addr, a) != 1)
		return false;
	for (size_t i = 0; i < cfg->server.trusted_proxies.n; i++) {
		const char *p = cfg->server.trusted_proxies.items[i];
		int fp = strchr(p, ':') != NULL ? AF_INET6 : AF_INET;

		if (fp == fa && inet_pton(fp, p, b) == 1 &&
		    memcmp(a, b, fa == AF_INET ? 4 : 16) == 0)
			return true;
	}
	return false;
}

/*
 * Behind trusted proxies the client is the rightmost X-Forwarded-For entry
 * that is not itself a trusted proxy: entries further left were written by
 * the client and prove nothing.  A malformed header leaves the peer as the
 * client, so a bad proxy config can never let a client pick its address.
 */
static void
forwarded_client(struct http_request *req)
{
	const struct config *cfg = req->d->srv->cfg;
	char item[INET6_ADDRSTRLEN];
	unsigned char ignored[16];
	const char *xff;
	size_t end;

	if (!trusted_proxy(cfg, req->peer) ||
	    (xff = http_header(req, "X-Forwarded-For")) == NULL)
		return;
	/* Walk the list right to left: [start, end) is one entry. */
	for (end = strlen(xff); end > 0;) {
		size_t start = end, first, last;

		while (start > 0 && xff[start - 1] != ',')
			start--;
		for (first = start; first < end && xff[first] == ' '; first++)
			;
		for (last = end; last > first && xff[last - 1] == ' '; last--)
			;
		if (last == first || last - first >= sizeof(item))
			return;
		memcpy(item, xff + first, last - first);
		item[last - first] = '\0';
		if (inet_pton(strchr(item, ':') != NULL ? AF_INET6 : AF_INET, item,
		    ignored) != 1)
			return;
		memcpy(req->addr, item, last - first + 1);
		if (!trusted_proxy(cfg, item) || start == 0)
			return;
		end = start - 1;  /* skip the comma */
	}
}

/* RFC 9110 token characters: anything else in a method is refused (and never logged raw). */
static bool
method_ok(const char *m)
{
	static const char tchar_punct[] = "!#$%&'*+-.^_`|~";

	if (*m == '\0' || strlen(m) > 32)
		return false;
	for (; *m != '\0'; m++) {
		unsigned char c = (unsigned char)*m;

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || strchr(tchar_punct, c) != NULL))
			return false;
	}
	return true;
}

/* A declared body over the limit (or a Content-Length that is not a number). */
static bool
content_length_too_large(const char *cl)
{
	size_t digits = strspn(cl, "0123456789");

	/* MHD refuses a malformed value itself; anything odd left is refused too. */
	if (digits == 0 || cl[digits] != '\0' || digits > 12)
		return true;
	return strtoull(cl, NULL, 10) > IDB_MAX_BODY_LEN;
}

/*
 * The first call: everything that can be decided from the request line and
 * headers alone.  Returns false when a response is already set: it is
 * queued at once, so MHD stops reading and never takes in a body we refuse.
 */
static bool
first_call_checks(struct http_request *req)
{
	struct header_sum hs = { 0 };
	const char *cl;
	bool path_known;

	if (req->uri_too_long) {
		http_respond_error(req, 414, "invalid_request", "the request URI is too long");
		return false;
	}
	forwarded_client(req);
	if (!method_ok(req->method)) {
		http_respond_error(req, 400, "invalid_request", "malformed request method");
		return false;
	}
	if (req->raw_uri == NULL) {
		http_respond_error(req, 503, "temporarily_unavailable", "out of memory");
		return false;
	}
	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, sum_header, &hs);
	if (hs.bytes > IDB_MAX_HEADER_BLOCK) {
		http_respond_error(req, 431, "invalid_request", "the request headers are too large");
		return false;
	}
	cl = http_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL && content_length_too_large(cl)) {
		http_respond_error(req, 413, "invalid_request", "the request body is too large");
		return false;
	}
	req->route = find_route(req->method, req->path, &path_known);
	if (req->route == NULL) {
		if (path_known)
			http_respond_error(req, 405, "invalid_request", "method not allowed");
		else
			http_respond_error(req, 404, "not_found", "no such endpoint");
		return false;
	}
	return true;
}

static void
take_upload(struct http_request *req, const char *data, size_t size)
{
	char *body;

	if (req->body_too_large)
		return;
	if (req->body_len + size > IDB_MAX_BODY_LEN) {
		req->body_too_large = true;
		free(req->body);
		req->body = NULL;
		req->body_len = 0;
		return;
	}
	if ((body = realloc(req->body, req->body_len + size + 1)) == NULL) {
		req->body_too_large = true;
		return;
	}
	memcpy(body + req->body_len, data, size);
	req->body_len += size;
	body[req->body_len] = '\0';
	req->body = body;
}

static enum MHD_Result
queue_pending(struct http_request *req)
{
	enum MHD_Result r;

	if (req->response == NULL)
		http_respond_error(req, 500, "server_error", "the server could not answer");
	if (req->response == NULL)
		return MHD_NO;
	r = MHD_queue_response(req->conn, req->status, req->response);
	MHD_destroy_response(req->response);
	req->response = NULL;
	return r;
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct http_request *req = *req_cls;
	enum MHD_Result r = MHD_YES;

	(void)cls;
	(void)conn;
	(void)version;
	if (req == NULL)
		return MHD_NO;  /* uri_log_cb could not allocate: drop the connection */
	log_set_request_id(req->id);
	if (req->method == NULL) {
		req->method = method;
		req->path = url;
		if (!first_call_checks(req)) {
			req->handled = true;
			r = queue_pending(req);
		}
		goto out;
	}
	if (*upload_data_size != 0) {
		take_upload(req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		/*
		 * A body without Content-Length (chunked) that outgrows the limit:
		 * MHD cannot answer mid-body, so the connection is closed rather
		 * than left to read whatever the client keeps sending.
		 */
		if (req->body_too_large) {
			log_warn("http: request body over %d bytes; connection closed",
			    IDB_MAX_BODY_LEN);
			req->status = 413;
			r = MHD_NO;
		}
		goto out;
	}
	if (!req->handled) {
		req->handled = true;
		if (req->route->handler(req) == HTTP_SUSPENDED)
			goto out;  /* a worker answers and resumes */
	}
	r = queue_pending(req);
out:
	log_set_request_id(NULL);
	return r;
}

static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	log_warn("libmicrohttpd: %s", line);
}

struct http_daemon *
http_start(struct server *srv, int listen_fd, unsigned threads, char **err_r)
{
	struct http_daemon *d;
	unsigned char rnd[4];

	*err_r = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->srv = srv;
	if (random_bytes(rnd, sizeof(rnd)) != 0)
		memset(rnd, 0, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), d->id_prefix);
	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		threads = n > 0 ? (unsigned)n : 1;
	}
	if (log_batch_start() != 0)
		log_warn("http: request lines are written one at a time (no writer thread)");
	d->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, access_handler, d,
	    /* First, so MHD's messages about the other options reach our log too. */
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
	    MHD_OPTION_THREAD_POOL_SIZE, threads,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDB_CONNECTION_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)IDB_CONNECTION_LIMIT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
	    MHD_OPTION_URI_LOG_CALLBACK, uri_log_cb, d,
	    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, d,
	    MHD_OPTION_END);
	if (d->mhd == NULL) {
		*err_r = strdup("libmicrohttpd could not start (see the log above)");
		log_batch_stop();
		free(d);
		return NULL;
	}
	return d;
}

void
http_stop(struct http_daemon *d, void (*answer_pending)(void *), void *arg)
{
	MHD_socket listen_fd;
	uint64_t deadline;

	if (d == NULL)
		return;
	/*
	 * Stop accepting.  The listen socket is ours again once quiesced (close
	 * it); if quiescing fails, MHD_stop_daemon closes it itself.
	 */
	listen_fd = MHD_quiesce_daemon(d->mhd);
	if (listen_fd != MHD_INVALID_SOCKET)
		close(listen_fd);
	if (answer_pending != NULL)
		answer_pending(arg);
	deadline = now_ms() + IDB_DRAIN_TIMEOUT_S * 1000u;
	while (atomic_load(&d->in_flight) > 0 && now_ms() < deadline)
		usleep(10000);
	if (atomic_load(&d->in_flight) > 0)
		log_warn("shutdown: %u requests still in flight after %ds; closing them",
		    atomic_load(&d->in_flight), IDB_DRAIN_TIMEOUT_S);
	MHD_stop_daemon(d->mhd);
	/* Connections MHD closed just now were finished on this thread. */
	request_cache_empty(&request_cache);
	log_batch_stop();
	free(d);
}
