/* form.c — strict x-www-form-urlencoded parsing (see form.h). */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "util.h"

long
form_decode(const char *in, size_t len, char *out, size_t out_size)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)in[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return -1;
			hi = hex_digit_value((unsigned char)in[i + 1]);
			lo = hex_digit_value((unsigned char)in[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c == 0 || o + 1 >= out_size)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (long)o;
}

const char *
form_get(const struct form *form, const char *name)
{
	for (size_t i = 0; i < form->n; i++)
		if (strcmp(form->fields[i].name, name) == 0)
			return form->fields[i].value;
	return NULL;
}

void
form_free(struct form *form)
{
	for (size_t i = 0; i < form->n; i++) {
		free(form->fields[i].name);
		/* Values may be passwords: wipe before freeing. */
		explicit_bzero(form->fields[i].value, form->fields[i].value_len);
		free(form->fields[i].value);
	}
	free(form->fields);
	form->fields = NULL;
	form->n = 0;
}

/* Decode one component into a new string; classify a failure. */
static enum form_error
decode_component(const char *s, size_t len, char **out_r, size_t *len_r)
{
	char *buf;
	long n;

	if (len > 3 * (size_t)IDB_MAX_FORM_FIELD_LEN)
		return FORM_ERR_TOO_LONG;
	if ((buf = malloc(len + 1)) == NULL)
		return FORM_ERR_NOMEM;
	n = form_decode(s, len, buf, len + 1);
	if (n < 0) {
		/* Tell a NUL apart from a malformed escape: both are refused. */
		enum form_error e = memmem(s, len, "%00", 3) != NULL ?
		    FORM_ERR_NUL : FORM_ERR_ENCODING;

		free(buf);
		return e;
	}
	if ((size_t)n > IDB_MAX_FORM_FIELD_LEN) {
		explicit_bzero(buf, (size_t)n);
		free(buf);
		return FORM_ERR_TOO_LONG;
	}
	*out_r = buf;
	*len_r = (size_t)n;
	return FORM_OK;
}

static enum form_error
add_pair(struct form *form, const char *pair, size_t len)
{
	const char *eq = memchr(pair, '=', len);
	size_t name_len = eq != NULL ? (size_t)(eq - pair) : len;
	const char *val = eq != NULL ? eq + 1 : pair + len;
	size_t val_len = eq != NULL ? len - name_len - 1 : 0;
	struct form_field f = { 0 }, *fields;
	size_t ignored;
	enum form_error e;

	if (name_len == 0)
		return FORM_ERR_ENCODING;
	if (form->n >= IDB_MAX_FORM_FIELDS)
		return FORM_ERR_TOO_MANY;
	if ((e = decode_component(pair, name_len, &f.name, &ignored)) != FORM_OK)
		return e;
	if (form_get(form, f.name) != NULL) {
		free(f.name);
		return FORM_ERR_DUPLICATE;
	}
	if ((e = decode_component(val, val_len, &f.value, &f.value_len)) != FORM_OK) {
		free(f.name);
		return e;
	}
	if ((fields = realloc(form->fields, (form->n + 1) * sizeof(*fields))) == NULL) {
		free(f.name);
		explicit_bzero(f.value, f.value_len);
		free(f.value);
		return FORM_ERR_NOMEM;
	}
	fields[form->n++] = f;
	form->fields = fields;
	return FORM_OK;
}

enum form_error
form_parse(const char *s, size_t len, struct form *form)
{
	size_t start = 0;

	while (start < len) {
		const char *amp = memchr(s + start, '&', len - start);
		size_t end = amp != NULL ? (size_t)(amp - s) : len;
		enum form_error e;

		/* "a=1&&b=2" and a trailing '&' carry no field: skip empty pairs. */
		if (end > start && (e = add_pair(form, s + start, end - start)) != FORM_OK) {
			form_free(form);
			return e;
		}
		start = end + 1;
	}
	return FORM_OK;
}

const char *
form_error_text(enum form_error e)
{
	switch (e) {
	case FORM_OK:
		return "ok";
	case FORM_ERR_NOMEM:
		return "out of memory";
	case FORM_ERR_TOO_MANY:
		return "too many parameters";
	case FORM_ERR_TOO_LONG:
		return "a parameter is too long";
	case FORM_ERR_DUPLICATE:
		return "a parameter was given more than once";
	case FORM_ERR_NUL:
		return "a parameter contains a NUL byte";
	case FORM_ERR_ENCODING:
		return "malformed parameter encoding";
	}
	return "invalid";
}
