/*
 * ldap_filter.c — filter templates and RFC 4515 escaping.
 *
 * This is the only place where a user name or a DN becomes filter text, and
 * every value goes through libldap's own escaper, so the rules are the
 * library's: '*', '(', ')', '\\', NUL and every byte outside printable ASCII
 * (so each byte of a UTF-8 sequence) become \XX with upper-case hex.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ldap.h>

#include "ldap_filter.h"

/* A growable output buffer for template expansion. */
struct buf {
	char *data;
	size_t len, cap;
};

static int
buf_append(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap == 0 ? 128 : b->cap;
		char *p;

		while (b->len + n + 1 > cap)
			cap *= 2;
		if ((p = realloc(b->data, cap)) == NULL)
			return -1;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

char *
ldap_filter_escape(const char *value, size_t len)
{
	struct berval in, out = { 0, NULL };
	char *r = NULL;

	/* libldap takes a non-const berval but only reads it. */
	in.bv_val = (char *)(uintptr_t)value;
	in.bv_len = len;
	if (ldap_bv2escaped_filter_value(&in, &out) != 0)
		goto out;
	/* Hand back memory the caller can free(), not ber_memfree(). */
	r = strdup(out.bv_val != NULL ? out.bv_val : "");
out:
	ber_memfree(out.bv_val);
	return r;
}

static int
append_escaped(struct buf *b, const char *value)
{
	char *esc;
	int r;

	if (value == NULL || (esc = ldap_filter_escape(value, strlen(value))) == NULL)
		return -1;
	r = buf_append(b, esc, strlen(esc));
	free(esc);
	return r;
}

char *
ldap_filter_any(const char *attr, char *const *values, size_t n)
{
	struct buf b = { NULL, 0, 0 };
	int r = n > 0 ? 0 : -1;

	if (r == 0 && n > 1)
		r = buf_append(&b, "(|", 2);
	for (size_t i = 0; i < n && r == 0; i++)
		if ((r = buf_append(&b, "(", 1)) == 0 &&
		    (r = buf_append(&b, attr, strlen(attr))) == 0 &&
		    (r = buf_append(&b, "=", 1)) == 0 &&
		    (r = append_escaped(&b, values[i])) == 0)
			r = buf_append(&b, ")", 1);
	if (r == 0 && n > 1)
		r = buf_append(&b, ")", 1);
	if (r != 0) {
		free(b.data);
		return NULL;
	}
	return b.data;
}

char *
ldap_filter_expand(const char *tmpl, const char *user, const char *dn)
{
	struct buf b = { NULL, 0, 0 };
	const char *p = tmpl;
	char *r = NULL;

	if (tmpl == NULL) {
		errno = EINVAL;
		goto out;
	}
	while (*p != '\0') {
		size_t plain = strcspn(p, "%");

		if (buf_append(&b, p, plain) != 0)
			goto out;
		p += plain;
		if (*p == '\0')
			break;
		switch (p[1]) {
		case 'u':
			if (append_escaped(&b, user) != 0)
				goto out;
			break;
		case 'd':
			if (append_escaped(&b, dn) != 0)
				goto out;
			break;
		case '%':
			if (buf_append(&b, "%", 1) != 0)
				goto out;
			break;
		default:
			/* An unknown or trailing '%' is a config mistake, not text. */
			errno = EINVAL;
			goto out;
		}
		p += 2;
	}
	if (b.data == NULL && buf_append(&b, "", 0) != 0)
		goto out;
	r = b.data;
	b.data = NULL;
out:
	free(b.data);
	return r;
}

static bool
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static int
template_error(char **err_r, const char *msg, size_t offset)
{
	if (err_r != NULL && asprintf(err_r, "%s (at offset %zu)", msg, offset) < 0)
		*err_r = NULL;
	return -1;
}

int
ldap_filter_template_ok(const char *tmpl, char **err_r)
{
	size_t depth = 0, i;

	if (err_r != NULL)
		*err_r = NULL;
	if (tmpl == NULL || tmpl[0] != '(')
		return template_error(err_r, "filter must start with '('", 0);
	for (i = 0; tmpl[i] != '\0'; i++) {
		/* One filter: nothing may follow its outermost ')'. */
		if (depth == 0 && i > 0)
			return template_error(err_r,
			    "text after the filter's closing ')'", i);
		switch (tmpl[i]) {
		case '(':
			depth++;
			break;
		case ')':
			if (depth == 0)
				return template_error(err_r, "unbalanced ')'", i);
			depth--;
			break;
		case '\\':
			/* RFC 4515: a backslash is always followed by two hex digits. */
			if (!is_hex(tmpl[i + 1]) || !is_hex(tmpl[i + 2]))
				return template_error(err_r,
				    "'\\' must be followed by two hex digits", i);
			i += 2;
			break;
		case '%':
			if (tmpl[i + 1] != 'u' && tmpl[i + 1] != 'd' &&
			    tmpl[i + 1] != '%')
				return template_error(err_r,
				    "unknown placeholder (only %u, %d and %% exist)", i);
			i++;
			break;
		default:
			break;
		}
	}
	if (depth != 0)
		return template_error(err_r, "unbalanced '('", i);
	return 0;
}
