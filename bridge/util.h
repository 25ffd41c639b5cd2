/*
 * util.h — small helpers every file uses: string lists, secrets, time.
 */
#ifndef IDBRIDGE_UTIL_H
#define IDBRIDGE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bridge.h"
#include "config.h"   /* struct strlist */

void strlist_free(struct strlist *l);
/* Append a copy of s. 0, or -1 on ENOMEM or past IDB_MAX_LIST_ITEMS. */
int strlist_add(struct strlist *l, const char *s) IDB_WUR;
/* Split s on ASCII spaces/tabs and append each word. 0 or -1. */
int strlist_add_words(struct strlist *l, const char *s) IDB_WUR;
bool strlist_contains(const struct strlist *l, const char *s);
/* Items joined by sep into a new string (caller frees); NULL on ENOMEM. */
char *strlist_join(const struct strlist *l, const char *sep);

/* ASCII-only case folding compare (directories compare names this way). */
int ascii_strcasecmp(const char *a, const char *b);

/* Wipe and free; NULL is fine. */
void free_secret(void *p, size_t len);
/* Wipe and free a NUL-terminated secret string; NULL is fine. */
void free_secret_str(char *s);

/* n random bytes from the OpenSSL CSPRNG; 0 or -1. */
int random_bytes(void *buf, size_t n) IDB_WUR;
/* Lower-case hex of buf into out (2n+1 bytes). */
void hex_encode(const unsigned char *buf, size_t n, char *out);
/* The value of one ASCII hex digit (either case), or -1 for any other c. */
int hex_digit_value(int c);

/*
 * base64url (RFC 4648 §5) of n bytes, without padding, into out.  Returns
 * the length written, or 0 when out (with its NUL) is too small.
 */
size_t b64url_encode(const unsigned char *in, size_t n, char *out, size_t out_size);

/* The 6-bit value of a base64 digit (url: the URL-safe alphabet's - and _), or -1. */
int b64_digit_value(int c, bool url);

struct config;
/* issuer + path (the issuer has no trailing '/') as a new JSON string, or NULL. */
struct json_t *json_issuer_url(const struct config *cfg, const char *path);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t now_ms(void);

/* Allocation that aborts the daemon on failure is not used: callers handle NULL. */

#endif
