/*
 * form.h — strict application/x-www-form-urlencoded parsing.
 *
 * Used for request bodies and query strings alike.  Unlike a lenient
 * parser it refuses, with a reason, everything a security reviewer would
 * want refused: a field given twice (parameter pollution), a NUL byte
 * (%00), bad percent escapes, a value over IDB_MAX_FORM_FIELD_LEN and more
 * than IDB_MAX_FORM_FIELDS fields.  Nothing is ever truncated.
 */
#ifndef IDBRIDGE_FORM_H
#define IDBRIDGE_FORM_H

#include <stddef.h>
#include "bridge.h"

struct form_field {
	char *name;
	char *value;
	size_t value_len;
};

struct form {
	struct form_field *fields;
	size_t n;
};

enum form_error {
	FORM_OK,
	FORM_ERR_NOMEM,
	FORM_ERR_TOO_MANY,     /* more than IDB_MAX_FORM_FIELDS */
	FORM_ERR_TOO_LONG,     /* one name or value over IDB_MAX_FORM_FIELD_LEN */
	FORM_ERR_DUPLICATE,    /* a name given twice */
	FORM_ERR_NUL,          /* %00 in a name or value */
	FORM_ERR_ENCODING,     /* a bad %XX escape, or an empty name */
};

/* Parse len bytes of s into form (which must be zeroed).  On error form is emptied. */
enum form_error form_parse(const char *s, size_t len, struct form *form) IDB_WUR;
/* A field's value, or NULL when absent. */
const char *form_get(const struct form *form, const char *name);
void form_free(struct form *form);
/* Human-readable reason, for error_description. */
const char *form_error_text(enum form_error e);

/* Decode one percent-encoded component ('+' → space). Returns the length or -1 (bad escape, NUL). */
long form_decode(const char *in, size_t len, char *out, size_t out_size);

#endif
