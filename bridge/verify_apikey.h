/*
 * verify_apikey.h — /verify for an API key (idb_…), and the answers of
 * h_verify.c it shares.
 *
 * verify_apikey() answers the request itself: it may suspend it to ask the
 * directory for the owner's current groups on the auth pool (when the
 * dircache has no fresh copy), so the caller returns its outcome as is.
 */
#ifndef IDBRIDGE_VERIFY_APIKEY_H
#define IDBRIDGE_VERIFY_APIKEY_H

#include <stdbool.h>

#include "http.h"

struct plugin_cfg;
struct strlist;
struct verify_result;

/* token starts with "idb_"; want the ?scope= values; plugin the ?plugin= one or NULL. */
enum http_outcome verify_apikey(struct http_request *req, const char *token,
    const struct strlist *want, const struct plugin_cfg *plugin);

/* h_verify.c's answers: 200 with the X-Idbridge-* headers of r; 401 invalid_token; 403. */
void verify_respond_ok(struct http_request *req, const struct verify_result *r);
void verify_respond_invalid(struct http_request *req);
void verify_respond_scope(struct http_request *req, const struct strlist *want);

#endif
