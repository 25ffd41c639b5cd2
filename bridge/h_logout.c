/*
 * h_logout.c — POST /logout: end the browser session.
 *
 * The form carries `csrf`, the token derived from the session cookie
 * (session_csrf_for): a cross-site page can neither read the cookie nor
 * compute the token, so it cannot sign an employee out (or, worse, make a
 * shared kiosk keep a session the employee thought was ended by a fake
 * "signed out" page).  A valid request deletes the session row — any
 * instance then refuses the cookie at once — and clears the cookie.
 *
 * Without a session cookie there is nothing to end and nothing to forge:
 * the answer is the same "Signed out" page.  With a cookie but without the
 * matching token the answer is 403 and the session stays.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "form.h"
#include "http.h"
#include "log.h"
#include "pages.h"
#include "server.h"
#include "session.h"
#include "store_oauth.h"

/* The error page's layout serves every answer here. */
static void
respond_page(struct http_request *req, unsigned status, const char *title,
    const char *message)
{
	page_error(req, status, title, message, NULL);
}

static void
respond_signed_out(struct http_request *req)
{
	respond_page(req, 200, "Signed out",
	    "You have signed out of the company sign-in. Close this window, or sign in "
	    "again from the application.");
	page_set_cookie(req, COOKIE_SESSION, "", 0);
}

/*
 * Delete the session row named by cookie.  False only when the store
 * failed: the session may still be alive, so the user must not be told
 * otherwise.
 */
static bool
end_session(struct server *srv, const char *cookie)
{
	char safe[LOG_SAFE_BUF];
	unsigned char hash[SESSION_HASH_LEN];
	struct store_session s = { 0 };
	enum store_result r;
	bool known;

	session_hash(cookie, hash);
	/* Only for the log line: who signed out. */
	known = store_session_get(srv->store, hash, (int64_t)time(NULL), &s) == STORE_OK;
	r = store_session_delete(srv->store, hash);
	if (r == STORE_OK || r == STORE_NOT_FOUND) {
		if (known)
			log_info("logout: session of %s ended",
			    log_safe(safe, sizeof(safe), s.username));
	} else {
		log_err("logout: the store could not delete a session: %s",
		    store_result_name(r));
	}
	store_session_free(&s);
	explicit_bzero(hash, sizeof(hash));
	return r == STORE_OK || r == STORE_NOT_FOUND;
}

enum http_outcome
h_logout(struct http_request *req)
{
	struct server *srv = http_server(req);
	char cookie[SESSION_TOKEN_LEN + 1] = "";
	struct form body = { 0 };
	enum form_error fe;
	size_t len;
	const char *raw = http_body(req, &len);

	if ((fe = form_parse(raw, len, &body)) != FORM_OK) {
		respond_page(req, 400, "This form does not work", form_error_text(fe));
		goto out;
	}
	if (!session_cookie_from_header(srv->cfg, COOKIE_SESSION, http_header(req, "Cookie"),
	    cookie, sizeof(cookie))) {
		respond_signed_out(req);
		goto out;
	}
	if (!session_csrf_ok(cookie, form_get(&body, "csrf"))) {
		log_warn("logout: form without a valid CSRF token refused");
		respond_page(req, 403, "This form has expired",
		    "You are still signed in. Reload the page you came from and try again.");
		goto out;
	}
	if (!end_session(srv, cookie)) {
		respond_page(req, 503, "Try again later",
		    "The sign-in service could not end your session: you are still signed in.");
		http_add_header(req, "Retry-After", "5");
		goto out;
	}
	respond_signed_out(req);
out:
	form_free(&body);
	explicit_bzero(cookie, sizeof(cookie));
	return HTTP_DONE;
}
