/*
 * pages.c — the browser-facing answers of pages.h.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "http.h"
#include "pages.h"
#include "server.h"
#include "store_oauth.h"

const char *
page_issuer_host(const struct config *cfg)
{
	const char *s = strstr(cfg->server.issuer, "://");

	return s != NULL ? s + 3 : cfg->server.issuer;
}

void
page_respond(struct http_request *req, unsigned status, enum tpl_page_id page,
    const struct tpl_var *vars, size_t n)
{
	struct tpl_set *set = tpl_current();
	char *html = NULL;
	size_t len = 0;

	if (set != NULL && tpl_render(tpl_page(set, page), vars, n, &html, &len) == 0)
		http_respond(req, status, TPL_CONTENT_TYPE, html, len);
	else
		http_respond_error(req, 500, "server_error", "the page could not be shown");
	/* A page may hold a secret shown once (a new API key); http_respond copied it. */
	if (html != NULL)
		explicit_bzero(html, len);
	free(html);
	tpl_set_unref(set);
}

void
page_error(struct http_request *req, unsigned status, const char *title, const char *message,
    const char *back_url)
{
	const struct config *cfg = http_server(req)->cfg;
	const struct tpl_var vars[] = {
		TPL_TEXT("issuer_host", page_issuer_host(cfg)),
		TPL_TEXT("title", title),
		TPL_TEXT("message", message),
		TPL_TEXT("back_label", back_url != NULL ? "Return to the application" : NULL),
		TPL_TEXT("back_url", back_url),
	};

	page_respond(req, status, TPL_ERROR, vars, sizeof(vars) / sizeof(vars[0]));
}

bool
page_refuse_head(struct http_request *req)
{
	if (strcmp(http_method(req), "HEAD") != 0)
		return false;
	http_respond_error(req, 405, "invalid_request", "use GET");
	http_add_header(req, "Allow", "GET, POST");
	return true;
}

void
page_see_other(struct http_request *req, const char *location)
{
	http_respond(req, 303, "text/plain; charset=utf-8", "", 0);
	http_add_header(req, "Location", location);
}

void
page_set_cookie(struct http_request *req, enum session_cookie which, const char *value,
    long max_age)
{
	char *c = session_set_cookie(http_server(req)->cfg, which, value, max_age);

	if (c != NULL)
		http_add_header(req, "Set-Cookie", c);
	free(c);
}

bool
page_session(struct http_request *req, struct store_session *s, char *cookie_r)
{
	struct server *srv = http_server(req);
	char cookie[SESSION_TOKEN_LEN + 1];
	unsigned char hash[SESSION_HASH_LEN];
	bool ok = false;

	if (session_cookie_from_header(srv->cfg, COOKIE_SESSION, http_header(req, "Cookie"),
	    cookie, sizeof(cookie))) {
		session_hash(cookie, hash);
		ok = store_session_get(srv->store, hash, (int64_t)time(NULL), s) == STORE_OK;
		if (ok && cookie_r != NULL)
			memcpy(cookie_r, cookie, sizeof(cookie));
	}
	explicit_bzero(cookie, sizeof(cookie));
	return ok;
}
