/* params.c — form or JSON request parameters (see params.h). */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>

#include "http.h"
#include "params.h"

enum body_kind { BODY_OTHER, BODY_FORM, BODY_JSON };

/* The media type before any ";" parameters, compared without case (RFC 9110 §8.3.1). */
static enum body_kind
body_kind(const char *ct)
{
	static const struct { const char *name; enum body_kind kind; } types[] = {
		{ "application/x-www-form-urlencoded", BODY_FORM },
		{ "application/json", BODY_JSON },
	};
	size_t n;

	if (ct == NULL)
		return BODY_OTHER;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, ";");
	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strlen(types[i].name) == n && strncasecmp(ct, types[i].name, n) == 0)
			return types[i].kind;
	return BODY_OTHER;
}

static enum params_error
json_member(struct form *out, const char *name, json_t *v)
{
	struct form_field *f = &out->fields[out->n];
	size_t len;

	if (!json_is_string(v))
		return PARAMS_NOT_STRING;
	len = json_string_length(v);
	/* jansson refuses \u0000 unless asked; check anyway, both sides. */
	if (memchr(json_string_value(v), '\0', len) != NULL)
		return PARAMS_NUL;
	if (strlen(name) > IDB_MAX_FORM_FIELD_LEN || len > IDB_MAX_FORM_FIELD_LEN)
		return PARAMS_TOO_LONG;
	if (name[0] == '\0')
		return PARAMS_JSON;
	f->name = strdup(name);
	f->value = malloc(len + 1);
	if (f->name == NULL || f->value == NULL) {
		free(f->name);
		free(f->value);
		f->name = f->value = NULL;
		return PARAMS_NOMEM;
	}
	memcpy(f->value, json_string_value(v), len + 1);
	f->value_len = len;
	out->n++;
	return PARAMS_OK;
}

static enum params_error
parse_json(const char *body, size_t len, struct form *out)
{
	json_error_t err;
	json_t *root, *v;
	const char *name;
	enum params_error r = PARAMS_OK;

	/* Duplicates are parameter pollution; jansson keeps the last otherwise. */
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL)
		return json_error_code(&err) == json_error_duplicate_key ? PARAMS_DUPLICATE :
		    json_error_code(&err) == json_error_null_character ||
		    json_error_code(&err) == json_error_null_byte_in_key ? PARAMS_NUL :
		    json_error_code(&err) == json_error_out_of_memory ? PARAMS_NOMEM : PARAMS_JSON;
	if (!json_is_object(root)) {
		r = PARAMS_JSON;
		goto out;
	}
	if (json_object_size(root) > IDB_MAX_FORM_FIELDS) {
		r = PARAMS_TOO_MANY;
		goto out;
	}
	if (json_object_size(root) > 0 &&
	    (out->fields = calloc(json_object_size(root), sizeof(*out->fields))) == NULL) {
		r = PARAMS_NOMEM;
		goto out;
	}
	json_object_foreach(root, name, v) {
		if ((r = json_member(out, name, v)) != PARAMS_OK)
			break;
	}
out:
	json_decref(root);
	if (r != PARAMS_OK)
		form_free(out);
	return r;
}

enum params_error
params_parse(const char *content_type, const char *body, size_t len, struct form *out,
    enum form_error *form_err_r)
{
	enum form_error fe;

	if (form_err_r != NULL)
		*form_err_r = FORM_OK;
	switch (body_kind(content_type)) {
	case BODY_FORM:
		if ((fe = form_parse(body, len, out)) == FORM_OK)
			return PARAMS_OK;
		if (form_err_r != NULL)
			*form_err_r = fe;
		return fe == FORM_ERR_NOMEM ? PARAMS_NOMEM : PARAMS_FORM;
	case BODY_JSON:
		return parse_json(body, len, out);
	case BODY_OTHER:
		break;
	}
	return PARAMS_CONTENT_TYPE;
}

const char *
params_error_text(enum params_error e, enum form_error fe)
{
	switch (e) {
	case PARAMS_OK:
		return "ok";
	case PARAMS_NOMEM:
		return "out of memory";
	case PARAMS_CONTENT_TYPE:
		return "the body must be application/x-www-form-urlencoded or application/json";
	case PARAMS_FORM:
		return form_error_text(fe);
	case PARAMS_JSON:
		return "the body must be one JSON object";
	case PARAMS_NOT_STRING:
		return "every parameter must be a JSON string";
	case PARAMS_DUPLICATE:
		return "a parameter was given twice";
	case PARAMS_NUL:
		return "a parameter holds a NUL byte";
	case PARAMS_TOO_LONG:
		return "a parameter is too long";
	case PARAMS_TOO_MANY:
		return "too many parameters";
	}
	return "bad request";
}

const char *
params_from_request(struct http_request *req, struct form *out)
{
	enum form_error fe = FORM_OK;
	enum params_error pe;
	const char *body;
	size_t len;

	body = http_body(req, &len);
	pe = params_parse(http_header(req, "Content-Type"), body, len, out, &fe);
	return pe == PARAMS_OK ? NULL : params_error_text(pe, fe);
}
