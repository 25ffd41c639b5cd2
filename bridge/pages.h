/*
 * pages.h — answers every browser-facing handler shares (/authorize,
 * /keys, /logout): a rendered page, the error page, a 303, a cookie, and
 * the signed-in employee behind the session cookie.
 */
#ifndef IDBRIDGE_PAGES_H
#define IDBRIDGE_PAGES_H

#include <stdbool.h>
#include <stddef.h>

#include "session.h"
#include "template.h"

struct config;
struct http_request;
struct store_session;

/* The issuer without its scheme ("sso.example.com"), shown on every page. */
const char *page_issuer_host(const struct config *cfg);

/* Render page with vars; a failure to render is a plain 500. */
void page_respond(struct http_request *req, unsigned status, enum tpl_page_id page,
    const struct tpl_var *vars, size_t n);

/* The error page; back_url (may be NULL) gets a "Return to the application" link. */
void page_error(struct http_request *req, unsigned status, const char *title,
    const char *message, const char *back_url);

/*
 * HEAD of a page whose GET has side effects (a pre-auth row): answered
 * 405 (Allow: GET, POST) and true; false for any other method.
 */
bool page_refuse_head(struct http_request *req);

/* 303 See Other to location (a URL we built, never raw input). */
void page_see_other(struct http_request *req, const char *location);

/* Set (or, with max_age 0, delete) one of our cookies. */
void page_set_cookie(struct http_request *req, enum session_cookie which, const char *value,
    long max_age);

/*
 * The signed-in employee: true with *s filled (store_session_free it) when
 * the request carries a live session cookie; its value into cookie_r
 * (SESSION_TOKEN_LEN + 1 bytes) when cookie_r is not NULL.
 */
bool page_session(struct http_request *req, struct store_session *s, char *cookie_r);

#endif
