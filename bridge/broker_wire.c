/* broker_wire.c — the PAM broker's frames (see broker_wire.h). */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "broker_wire.h"

_Static_assert(IDB_BROKER_MAX_RHOST_LEN == INET6_ADDRSTRLEN - 1,
    "rhost holds any address inet_ntop writes");
/* The largest reply: the fixed fields, four identity fields, every group. */
_Static_assert(1 + 2 + 1 + 2 + 4 + 4 * 2 + IDB_MAX_USERNAME_LEN + 3 * IDB_MAX_ATTR_VALUE_LEN +
    IDB_MAX_GROUPS * (2 + IDB_BROKER_MAX_GROUP_LEN) <= IDB_BROKER_MAX_FRAME,
    "a reply with every group fits one frame");
_Static_assert(BROKER_MAX_REQUEST - BROKER_LEN_BYTES <= IDB_BROKER_MAX_FRAME,
    "a request fits one frame");

#define FIELD_LEN_BYTES 2
#define FIELD_MAX 0xffff

/* Appends to a caller's buffer; any overflow makes finish() fail. */
struct writer {
	unsigned char *buf;
	size_t size, len;
	bool bad;
};

static void
put_bytes(struct writer *w, const void *p, size_t n)
{
	if (w->bad || n > w->size - w->len) {
		w->bad = true;
		return;
	}
	if (n > 0)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void
begin(struct writer *w, unsigned char *buf, size_t size, enum broker_msg type)
{
	unsigned char t = (unsigned char)type;

	*w = (struct writer){ .buf = buf, .size = size };
	w->len = BROKER_LEN_BYTES;
	if (size < BROKER_LEN_BYTES)
		w->bad = true;
	put_bytes(w, &t, 1);
}

/* A field of exactly n bytes, n ≤ max. */
static void
put_field(struct writer *w, const void *p, size_t n, size_t max)
{
	unsigned char len[FIELD_LEN_BYTES];

	if (n > max || n > FIELD_MAX) {
		w->bad = true;
		return;
	}
	len[0] = (unsigned char)(n >> 8);
	len[1] = (unsigned char)n;
	put_bytes(w, len, sizeof(len));
	put_bytes(w, p, n);
}

/* A string field of min..max bytes; NULL is the empty string. */
static void
put_string(struct writer *w, const char *s, size_t min, size_t max)
{
	size_t n = s != NULL ? strnlen(s, max + 1) : 0;

	if (n < min)
		w->bad = true;
	put_field(w, s, n, max);
}

static size_t
finish(struct writer *w)
{
	size_t body = w->len - BROKER_LEN_BYTES;

	if (w->bad || body > IDB_BROKER_MAX_FRAME) {
		if (w->buf != NULL && w->size > 0)
			explicit_bzero(w->buf, w->len <= w->size ? w->len : w->size);
		return 0;
	}
	w->buf[0] = (unsigned char)(body >> 24);
	w->buf[1] = (unsigned char)(body >> 16);
	w->buf[2] = (unsigned char)(body >> 8);
	w->buf[3] = (unsigned char)body;
	return w->len;
}

size_t
broker_encode_authenticate(unsigned char *buf, size_t size, const char *user,
    const char *password, size_t password_len, const char *rhost)
{
	struct writer w;

	begin(&w, buf, size, BROKER_MSG_AUTHENTICATE);
	put_string(&w, user, 1, IDB_MAX_USERNAME_LEN);
	if (password == NULL || memchr(password, '\0', password_len) != NULL)
		w.bad = true;
	else
		put_field(&w, password, password_len, IDB_MAX_PASSWORD_LEN);
	put_string(&w, rhost, 0, IDB_BROKER_MAX_RHOST_LEN);
	return finish(&w);
}

size_t
broker_encode_account(unsigned char *buf, size_t size, const char *user, const char *rhost)
{
	struct writer w;

	begin(&w, buf, size, BROKER_MSG_ACCOUNT);
	put_string(&w, user, 1, IDB_MAX_USERNAME_LEN);
	put_string(&w, rhost, 0, IDB_BROKER_MAX_RHOST_LEN);
	return finish(&w);
}

size_t
broker_encode_groups(unsigned char *buf, size_t size, const char *user)
{
	struct writer w;

	begin(&w, buf, size, BROKER_MSG_GROUPS);
	put_string(&w, user, 1, IDB_MAX_USERNAME_LEN);
	return finish(&w);
}

size_t
broker_encode_result(unsigned char *buf, size_t size, enum auth_result r,
    uint32_t fail_delay_us, const struct identity *id)
{
	unsigned char code = (unsigned char)r;
	unsigned char delay[4] = { (unsigned char)(fail_delay_us >> 24),
	    (unsigned char)(fail_delay_us >> 16), (unsigned char)(fail_delay_us >> 8),
	    (unsigned char)fail_delay_us };
	struct writer w;

	begin(&w, buf, size, BROKER_MSG_RESULT);
	put_field(&w, &code, 1, 1);
	put_field(&w, delay, sizeof(delay), sizeof(delay));
	if (r == AUTH_OK) {
		if (id == NULL || id->n_groups > IDB_MAX_GROUPS) {
			w.bad = true;
			return finish(&w);
		}
		put_string(&w, id->username, 1, IDB_MAX_USERNAME_LEN);
		put_string(&w, id->id, 1, IDB_MAX_ATTR_VALUE_LEN);
		put_string(&w, id->display_name, 0, IDB_MAX_ATTR_VALUE_LEN);
		put_string(&w, id->email, 0, IDB_MAX_ATTR_VALUE_LEN);
		for (size_t i = 0; i < id->n_groups; i++)
			put_string(&w, id->groups[i], 1, IDB_BROKER_MAX_GROUP_LEN);
	}
	return finish(&w);
}

int
broker_frame_length(const unsigned char b[BROKER_LEN_BYTES], size_t *len_r)
{
	uint32_t n = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];

	if (n == 0 || n > IDB_BROKER_MAX_FRAME)
		return -1;
	*len_r = n;
	return 0;
}

/* Reads fields from a frame's body, after its type byte. */
struct reader {
	const unsigned char *p;
	size_t len, off;
};

static int
open_body(struct reader *rd, const unsigned char *body, size_t len, unsigned char *type_r)
{
	if (body == NULL || len < 1 || len > IDB_BROKER_MAX_FRAME)
		return -1;
	*type_r = body[0];
	*rd = (struct reader){ .p = body, .len = len, .off = 1 };
	return 0;
}

static bool
at_end(const struct reader *rd)
{
	return rd->off == rd->len;
}

/* The next field, min..max bytes. */
static int
get_field(struct reader *rd, const unsigned char **p_r, size_t *n_r, size_t min, size_t max)
{
	size_t n;

	if (rd->len - rd->off < FIELD_LEN_BYTES)
		return -1;
	n = (size_t)rd->p[rd->off] << 8 | rd->p[rd->off + 1];
	rd->off += FIELD_LEN_BYTES;
	if (n < min || n > max || n > rd->len - rd->off)
		return -1;
	*p_r = rd->p + rd->off;
	*n_r = n;
	rd->off += n;
	return 0;
}

/* The next field as a NUL-terminated string in out (size > max). */
static int
get_string(struct reader *rd, char *out, size_t min, size_t max)
{
	const unsigned char *p;
	size_t n;

	if (get_field(rd, &p, &n, min, max) != 0 || memchr(p, '\0', n) != NULL)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int
broker_decode_request(const unsigned char *body, size_t len, struct broker_request *req_r)
{
	struct reader rd;
	const unsigned char *pw;
	unsigned char type;
	int r = -1;

	memset(req_r, 0, sizeof(*req_r));
	if (open_body(&rd, body, len, &type) != 0)
		goto out;
	if (type != BROKER_MSG_AUTHENTICATE && type != BROKER_MSG_ACCOUNT &&
	    type != BROKER_MSG_GROUPS)
		goto out;
	req_r->type = (enum broker_msg)type;
	if (get_string(&rd, req_r->user, 1, IDB_MAX_USERNAME_LEN) != 0)
		goto out;
	if (type == BROKER_MSG_AUTHENTICATE) {
		if (get_field(&rd, &pw, &req_r->password_len, 0, IDB_MAX_PASSWORD_LEN) != 0 ||
		    memchr(pw, '\0', req_r->password_len) != NULL)
			goto out;
		memcpy(req_r->password, pw, req_r->password_len);
	}
	if (type != BROKER_MSG_GROUPS &&
	    get_string(&rd, req_r->rhost, 0, IDB_BROKER_MAX_RHOST_LEN) != 0)
		goto out;
	if (at_end(&rd))
		r = 0;
out:
	if (r != 0)
		explicit_bzero(req_r, sizeof(*req_r));
	return r;
}

/* A copy of the next string field (NULL for an empty optional one). */
static int
dup_string(struct reader *rd, char **out_r, size_t min, size_t max)
{
	const unsigned char *p;
	size_t n;

	*out_r = NULL;
	if (get_field(rd, &p, &n, min, max) != 0 || memchr(p, '\0', n) != NULL)
		return -1;
	if (n == 0)
		return 0;
	if ((*out_r = malloc(n + 1)) == NULL)
		return -1;
	memcpy(*out_r, p, n);
	(*out_r)[n] = '\0';
	return 0;
}

static int
decode_identity(struct reader *rd, struct identity *id)
{
	char group[IDB_BROKER_MAX_GROUP_LEN + 1];

	if (dup_string(rd, &id->username, 1, IDB_MAX_USERNAME_LEN) != 0 ||
	    dup_string(rd, &id->id, 1, IDB_MAX_ATTR_VALUE_LEN) != 0 ||
	    dup_string(rd, &id->display_name, 0, IDB_MAX_ATTR_VALUE_LEN) != 0 ||
	    dup_string(rd, &id->email, 0, IDB_MAX_ATTR_VALUE_LEN) != 0)
		return -1;
	while (!at_end(rd)) {
		/* identity_add_group refuses a group past IDB_MAX_GROUPS. */
		if (get_string(rd, group, 1, IDB_BROKER_MAX_GROUP_LEN) != 0 ||
		    identity_add_group(id, group, NULL) != 0)
			return -1;
	}
	return 0;
}

int
broker_decode_result(const unsigned char *body, size_t len, enum auth_result *r_r,
    uint32_t *fail_delay_us_r, struct identity *id_r)
{
	struct reader rd;
	const unsigned char *code, *delay;
	unsigned char type;
	size_t n;
	int r = -1;

	memset(id_r, 0, sizeof(*id_r));
	if (open_body(&rd, body, len, &type) != 0 || type != BROKER_MSG_RESULT ||
	    get_field(&rd, &code, &n, 1, 1) != 0 || code[0] > AUTH_INTERNAL ||
	    get_field(&rd, &delay, &n, 4, 4) != 0)
		goto out;
	*r_r = (enum auth_result)code[0];
	*fail_delay_us_r = (uint32_t)delay[0] << 24 | (uint32_t)delay[1] << 16 |
	    (uint32_t)delay[2] << 8 | delay[3];
	if (*r_r == AUTH_OK && decode_identity(&rd, id_r) != 0)
		goto out;
	if (at_end(&rd))
		r = 0;
out:
	if (r != 0)
		identity_free(id_r);
	return r;
}
