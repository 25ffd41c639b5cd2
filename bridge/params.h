/*
 * params.h — the parameters of a POST to /token, /introspect or /revoke.
 *
 * Clients send them as application/x-www-form-urlencoded (RFC 6749) or,
 * like ChatGPT plugins, as a JSON object.  Either way the handler reads
 * one struct form (form.h), with the same rules: a parameter given twice
 * or holding a NUL byte, an over-long value or too many fields is an
 * error, never cropped.  A JSON body must be one object whose values are
 * all strings; anything else (numbers, arrays, nesting) is refused.
 */
#ifndef IDBRIDGE_PARAMS_H
#define IDBRIDGE_PARAMS_H

#include <stddef.h>
#include "bridge.h"
#include "form.h"

enum params_error {
	PARAMS_OK,
	PARAMS_NOMEM,
	PARAMS_CONTENT_TYPE,   /* missing, or neither form nor JSON */
	PARAMS_FORM,           /* form_parse refused it (see form_error) */
	PARAMS_JSON,           /* not JSON, or not one object */
	PARAMS_NOT_STRING,     /* a JSON value that is not a string */
	PARAMS_DUPLICATE,      /* a JSON member given twice */
	PARAMS_NUL,            /* a NUL byte in a JSON name or value */
	PARAMS_TOO_LONG,       /* a JSON name or value over IDB_MAX_FORM_FIELD_LEN */
	PARAMS_TOO_MANY,       /* more than IDB_MAX_FORM_FIELDS members */
};

/*
 * Parse body[0..len) according to content_type (the request's header, may
 * be NULL) into out (zeroed by the caller).  On error out is empty and, for
 * PARAMS_FORM, *form_err_r (may be NULL) says why.
 */
enum params_error params_parse(const char *content_type, const char *body, size_t len,
    struct form *out, enum form_error *form_err_r) IDB_WUR;

/* For error_description. */
const char *params_error_text(enum params_error e, enum form_error fe);

struct http_request;
/*
 * The request's parameters (its body, by its Content-Type) into out
 * (zeroed).  NULL when they parse, else why not (for a 400 invalid_request).
 */
const char *params_from_request(struct http_request *req, struct form *out) IDB_WUR;

#endif
