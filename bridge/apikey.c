/*
 * apikey.c — API key format (see apikey.h for the layout and why CRC-32).
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <openssl/rand.h>

#include "apikey.h"
#include "token.h"      /* token_hash */

static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static int
b62_value(char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(b62, c)) == NULL)
		return -1;
	return (int)(p - b62);
}

/*
 * Write the big-endian number in num (n bytes, destroyed) as exactly width
 * base62 digits, most significant first.  Schoolbook division by 62.
 */
static void
b62_encode(unsigned char *num, size_t n, char *out, size_t width)
{
	for (size_t d = width; d > 0; d--) {
		unsigned rem = 0;

		for (size_t i = 0; i < n; i++) {
			unsigned cur = (rem << 8) | num[i];

			num[i] = (unsigned char)(cur / 62);
			rem = cur % 62;
		}
		out[d - 1] = b62[rem];
	}
}

/* CRC-32, reflected polynomial 0xEDB88320, bitwise: a key is short. */
static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

/* CRC-32 (IEEE 802.3, reflected 0xEDB88320) of each byte value. */
static void
crc_table_build(void)
{
	for (uint32_t b = 0; b < 256; b++) {
		uint32_t crc = b;

		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
		crc_table[b] = crc;
	}
}

static uint32_t
crc32_ieee(const char *s, size_t n)
{
	uint32_t crc = 0xFFFFFFFFu;

	/* A byte at a time from a table: /verify checks every key it sees. */
	pthread_once(&crc_once, crc_table_build);
	for (size_t i = 0; i < n; i++)
		crc = crc_table[(crc ^ (unsigned char)s[i]) & 0xFFu] ^ (crc >> 8);
	return ~crc;
}

/* The checksum digits of the first TAG+BODY characters of key. */
static void
checksum(const char *key, char out[IDB_APIKEY_CHECK_LEN])
{
	uint32_t crc = crc32_ieee(key, IDB_APIKEY_TAG_LEN + IDB_APIKEY_BODY_LEN);
	unsigned char be[4] = { crc >> 24, crc >> 16, crc >> 8, crc };

	b62_encode(be, sizeof(be), out, IDB_APIKEY_CHECK_LEN);
}

int
apikey_generate(char out[IDB_APIKEY_LEN + 1])
{
	unsigned char r[IDB_APIKEY_RAND_BYTES];
	int rc = -1;

	if (RAND_bytes(r, sizeof(r)) != 1)
		goto out;
	memcpy(out, IDB_APIKEY_TAG, IDB_APIKEY_TAG_LEN);
	b62_encode(r, sizeof(r), out + IDB_APIKEY_TAG_LEN, IDB_APIKEY_BODY_LEN);
	checksum(out, out + IDB_APIKEY_TAG_LEN + IDB_APIKEY_BODY_LEN);
	out[IDB_APIKEY_LEN] = '\0';
	rc = 0;
out:
	explicit_bzero(r, sizeof(r));
	return rc;
}

bool
apikey_looks_like(const char *s)
{
	return s != NULL && strncmp(s, IDB_APIKEY_TAG, IDB_APIKEY_TAG_LEN) == 0;
}

bool
apikey_checksum_ok(const char *s)
{
	char want[IDB_APIKEY_CHECK_LEN];

	if (!apikey_looks_like(s) || strlen(s) != IDB_APIKEY_LEN)
		return false;
	for (size_t i = IDB_APIKEY_TAG_LEN; i < IDB_APIKEY_LEN; i++)
		if (b62_value(s[i]) < 0)
			return false;
	checksum(s, want);
	/* Not secret (it is derived from the key's public shape), but cheap to do right. */
	return memcmp(want, s + IDB_APIKEY_TAG_LEN + IDB_APIKEY_BODY_LEN, IDB_APIKEY_CHECK_LEN) == 0;
}

void
apikey_prefix(const char *key, char out[IDB_APIKEY_PREFIX_LEN + 1])
{
	memcpy(out, key + IDB_APIKEY_TAG_LEN, IDB_APIKEY_PREFIX_LEN);
	out[IDB_APIKEY_PREFIX_LEN] = '\0';
}

int
apikey_hash(const char *key, unsigned char out[IDB_SHA256_LEN])
{
	return token_hash(key, strlen(key), out);
}
