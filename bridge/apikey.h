/*
 * apikey.h — per-employee API keys (issue 4, user_http): format and hashing.
 *
 * A key is "idb_" + BODY + CHECK, 53 characters:
 *   BODY   32 bytes from RAND_bytes as one big-endian number written in
 *          base62 ([0-9A-Za-z], most significant digit first), zero-padded
 *          to a fixed 43 digits (62^43 > 2^256).
 *   CHECK  CRC-32 (IEEE 802.3, the zlib one) over "idb_" + BODY, written
 *          in base62 zero-padded to 6 digits (62^6 > 2^32).
 * CRC-32 detects every error confined to 32 consecutive bits, so any
 * single changed character of the body is caught; a changed checksum
 * character changes the number it decodes to, so that is caught too.  A
 * typo or a string that only looks like a key is therefore refused
 * without reading the store, and secret scanners can match
 * idb_[0-9A-Za-z]{49} and verify the checksum offline.
 *
 * Storage: the store keeps only the SHA-256 of the whole key string and a
 * lookup prefix, the first IDB_APIKEY_PREFIX_LEN characters of BODY
 * (about 47 bits: unique in practice, and useless for guessing the rest).
 */
#ifndef IDBRIDGE_APIKEY_H
#define IDBRIDGE_APIKEY_H

#include <stdbool.h>
#include <stddef.h>

#include "bridge.h"

#define IDB_APIKEY_TAG "idb_"
#define IDB_APIKEY_TAG_LEN 4
#define IDB_APIKEY_RAND_BYTES 32
#define IDB_APIKEY_BODY_LEN 43
#define IDB_APIKEY_CHECK_LEN 6
#define IDB_APIKEY_LEN (IDB_APIKEY_TAG_LEN + IDB_APIKEY_BODY_LEN + IDB_APIKEY_CHECK_LEN)
#define IDB_APIKEY_PREFIX_LEN 8

/* A new key into out (NUL-terminated); 0, or -1 when the CSPRNG fails.  Wipe it after use. */
int apikey_generate(char out[IDB_APIKEY_LEN + 1]) IDB_WUR;
/* Does s have the key's exact shape (tag, length, alphabet) and a matching checksum? */
bool apikey_checksum_ok(const char *s);
/* Does s start with the key tag (so /verify treats it as a key, valid or not)? */
bool apikey_looks_like(const char *s);
/* The lookup prefix of a well-formed key into out (NUL-terminated). */
void apikey_prefix(const char *key, char out[IDB_APIKEY_PREFIX_LEN + 1]);
/* SHA-256 of the key string, as stored; 0 or -1. */
int apikey_hash(const char *key, unsigned char out[IDB_SHA256_LEN]) IDB_WUR;

#endif
