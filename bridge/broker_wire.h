/*
 * broker_wire.h — the PAM broker's frames (broker.h), encoded and checked.
 *
 * A frame is [u32 length, big-endian][u8 type][fields], each field a u16
 * big-endian length and that many bytes; the length counts the type and the
 * fields.  Decoders check every length against the limits in bridge.h and
 * refuse (return -1) a short or oversize field, a NUL inside a string, a
 * missing or extra field, trailing bytes, and any type they do not expect.
 * Nothing is cropped.
 *
 * Requests (HTTP process → worker):
 *   AUTHENTICATE  user, password, rhost
 *   ACCOUNT       user, rhost
 *   GROUPS        user
 * The reply (worker → HTTP process):
 *   RESULT        result (1 byte), fail delay µs (4 bytes), and only for
 *                 AUTH_OK: username, id, display name, email, then one
 *                 field per group (an empty name or email is "none").
 */
#ifndef IDBRIDGE_BROKER_WIRE_H
#define IDBRIDGE_BROKER_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "../backends/backend.h"
#include "bridge.h"

#define BROKER_LEN_BYTES 4    /* the u32 that starts every frame */

enum broker_msg {
	BROKER_MSG_AUTHENTICATE = 1,
	BROKER_MSG_ACCOUNT = 2,
	BROKER_MSG_GROUPS = 3,
	BROKER_MSG_RESULT = 0x80,
};

/* The largest request frame, with its length: a stack buffer holds it. */
#define BROKER_MAX_REQUEST (BROKER_LEN_BYTES + 1 + 3 * 2 + IDB_MAX_USERNAME_LEN + \
	IDB_MAX_PASSWORD_LEN + IDB_BROKER_MAX_RHOST_LEN)

/* A decoded request; the strings are NUL-terminated copies.  Wipe it after use. */
struct broker_request {
	enum broker_msg type;
	char user[IDB_MAX_USERNAME_LEN + 1];
	char password[IDB_MAX_PASSWORD_LEN + 1];
	size_t password_len;
	char rhost[IDB_BROKER_MAX_RHOST_LEN + 1];  /* "" when none */
};

/*
 * Encoders write a whole frame (length included) into buf and return its
 * size, or 0 when a field breaks a limit or buf is too small.  rhost may be
 * NULL (none).
 */
size_t broker_encode_authenticate(unsigned char *buf, size_t size, const char *user,
    const char *password, size_t password_len, const char *rhost) IDB_WUR;
size_t broker_encode_account(unsigned char *buf, size_t size, const char *user,
    const char *rhost) IDB_WUR;
size_t broker_encode_groups(unsigned char *buf, size_t size, const char *user) IDB_WUR;
/* id may be NULL unless r is AUTH_OK. */
size_t broker_encode_result(unsigned char *buf, size_t size, enum auth_result r,
    uint32_t fail_delay_us, const struct identity *id) IDB_WUR;

/*
 * The length a frame's first BROKER_LEN_BYTES announce: 0, or -1 when it is
 * 0 or over IDB_BROKER_MAX_FRAME (the channel is then closed).
 */
int broker_frame_length(const unsigned char len_bytes[BROKER_LEN_BYTES], size_t *len_r) IDB_WUR;

/* body, len: what follows the length.  0, or -1 (and *req_r wiped). */
int broker_decode_request(const unsigned char *body, size_t len,
    struct broker_request *req_r) IDB_WUR;
/* 0 with *id_r filled for AUTH_OK (identity_free it), or -1 with *id_r empty. */
int broker_decode_result(const unsigned char *body, size_t len, enum auth_result *r_r,
    uint32_t *fail_delay_us_r, struct identity *id_r) IDB_WUR;

#endif
