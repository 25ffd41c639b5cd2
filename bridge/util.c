/* util.c — string lists, secret wiping, randomness, time. */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <openssl/rand.h>

#include "util.h"

void
strlist_free(struct strlist *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

int
strlist_add(struct strlist *l, const char *s)
{
	char **items;
	char *copy;

	if (l->n >= IDB_MAX_LIST_ITEMS) {
		errno = E2BIG;
		return -1;
	}
	if ((copy = strdup(s)) == NULL)
		return -1;
	if ((items = realloc(l->items, (l->n + 1) * sizeof(*items))) == NULL) {
		free(copy);
		return -1;
	}
	items[l->n++] = copy;
	l->items = items;
	return 0;
}

int
strlist_add_words(struct strlist *l, const char *s)
{
	char word[IDB_MAX_CONFIG_VALUE + 1];

	while (*s != '\0') {
		size_t len;

		s += strspn(s, " \t");
		len = strcspn(s, " \t");
		if (len == 0)
			break;
		if (len >= sizeof(word)) {
			errno = E2BIG;
			return -1;
		}
		memcpy(word, s, len);
		word[len] = '\0';
		if (strlist_add(l, word) != 0)
			return -1;
		s += len;
	}
	return 0;
}

bool
strlist_contains(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i], s) == 0)
			return true;
	return false;
}

char *
strlist_join(const struct strlist *l, const char *sep)
{
	size_t seplen = strlen(sep), total = 1;
	char *out, *p;

	for (size_t i = 0; i < l->n; i++)
		total += strlen(l->items[i]) + (i > 0 ? seplen : 0);
	if ((out = malloc(total)) == NULL)
		return NULL;
	p = out;
	for (size_t i = 0; i < l->n; i++) {
		size_t len = strlen(l->items[i]);

		if (i > 0) {
			memcpy(p, sep, seplen);
			p += seplen;
		}
		memcpy(p, l->items[i], len);
		p += len;
	}
	*p = '\0';
	return out;
}

static int
ascii_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

int
ascii_strcasecmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a;
	const unsigned char *y = (const unsigned char *)b;

	while (*x != '\0' && ascii_lower(*x) == ascii_lower(*y)) {
		x++;
		y++;
	}
	return ascii_lower(*x) - ascii_lower(*y);
}

void
free_secret(void *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

void
free_secret_str(char *s)
{
	if (s != NULL)
		free_secret(s, strlen(s));
}

int
random_bytes(void *buf, size_t n)
{
	return RAND_bytes(buf, (int)n) == 1 ? 0 : -1;
}

void
hex_encode(const unsigned char *buf, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[buf[i] >> 4];
		out[2 * i + 1] = digits[buf[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

int
hex_digit_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t
b64url_encode(const unsigned char *in, size_t n, char *out, size_t out_size)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t need = n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1), o = 0, i;

	if (out_size < need + 1)
		return 0;
	for (i = 0; i + 3 <= n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];

		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		out[o++] = alphabet[in[i] >> 2];
		out[o++] = alphabet[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		unsigned v = (unsigned)in[i] << 8 | in[i + 1];

		out[o++] = alphabet[(v >> 10) & 63];
		out[o++] = alphabet[(v >> 4) & 63];
		out[o++] = alphabet[(v << 2) & 63];
	}
	out[o] = '\0';
	return o;
}

int
b64_digit_value(int c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

json_t *
json_issuer_url(const struct config *cfg, const char *path)
{
	char *url = NULL;
	json_t *j;

	if (asprintf(&url, "%s%s", cfg->server.issuer, path) < 0)
		return NULL;
	j = json_string(url);
	free(url);
	return j;
}

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
