/*
 * test_broker_wire.c — the PAM broker's frames: every request and reply
 * survives a round trip; every truncation, every field over its limit, a
 * NUL inside a string, a missing or extra field, a bad frame length and
 * every type a decoder does not expect are refused.
 */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "backend.h"
#include "broker_wire.h"

#define BIG (BROKER_LEN_BYTES + IDB_BROKER_MAX_FRAME)

static unsigned char frame[BIG];

/* ---- a raw frame builder, to make what no encoder would ---------------- */

struct raw {
	unsigned char *p;
	size_t len;
};

static void
raw_begin(struct raw *r, unsigned type)
{
	r->p = frame;
	r->len = BROKER_LEN_BYTES;
	r->p[r->len++] = (unsigned char)type;
}

static void
raw_field(struct raw *r, const void *data, size_t n)
{
	assert_true(r->len + 2 + n <= BIG);
	r->p[r->len++] = (unsigned char)(n >> 8);
	r->p[r->len++] = (unsigned char)n;
	memcpy(r->p + r->len, data, n);
	r->len += n;
}

static void
raw_str(struct raw *r, const char *s)
{
	raw_field(r, s, strlen(s));
}

/* A string of n copies of c (static: a few at a time). */
static const char *
repeat(char c, size_t n)
{
	static char bufs[4][IDB_BROKER_MAX_FRAME / 4];
	static int which;
	char *b = bufs[which++ % 4];

	assert_true(n < sizeof(bufs[0]));
	memset(b, c, n);
	b[n] = '\0';
	return b;
}

/* The body after the length, as decoders take it. */
#define BODY(len) (frame + BROKER_LEN_BYTES), ((len) - BROKER_LEN_BYTES)

/* ---- round trips -------------------------------------------------------- */

static void
test_request_round_trips(void **state)
{
	static const char pw[] = "p\x01\xff w\"d";
	struct broker_request q;
	size_t n;

	(void)state;
	n = broker_encode_authenticate(frame, sizeof(frame), "alice", pw, sizeof(pw) - 1,
	    "2001:db8::1");
	assert_true(n > 0);
	assert_int_equal(broker_decode_request(BODY(n), &q), 0);
	assert_int_equal(q.type, BROKER_MSG_AUTHENTICATE);
	assert_string_equal(q.user, "alice");
	assert_int_equal(q.password_len, sizeof(pw) - 1);
	assert_memory_equal(q.password, pw, sizeof(pw) - 1);
	assert_string_equal(q.rhost, "2001:db8::1");

	/* The limits themselves pass. */
	n = broker_encode_authenticate(frame, sizeof(frame), repeat('u', IDB_MAX_USERNAME_LEN),
	    repeat('p', IDB_MAX_PASSWORD_LEN), IDB_MAX_PASSWORD_LEN,
	    repeat('1', IDB_BROKER_MAX_RHOST_LEN));
	assert_int_equal(n, BROKER_MAX_REQUEST);
	assert_int_equal(broker_decode_request(BODY(n), &q), 0);
	assert_int_equal(strlen(q.user), IDB_MAX_USERNAME_LEN);
	assert_int_equal(q.password_len, IDB_MAX_PASSWORD_LEN);
	assert_int_equal(strlen(q.rhost), IDB_BROKER_MAX_RHOST_LEN);

	n = broker_encode_account(frame, sizeof(frame), "bob", NULL);
	assert_int_equal(broker_decode_request(BODY(n), &q), 0);
	assert_int_equal(q.type, BROKER_MSG_ACCOUNT);
	assert_string_equal(q.user, "bob");
	assert_string_equal(q.rhost, "");
	assert_int_equal(q.password_len, 0);

	n = broker_encode_groups(frame, sizeof(frame), "carol");
	assert_int_equal(broker_decode_request(BODY(n), &q), 0);
	assert_int_equal(q.type, BROKER_MSG_GROUPS);
	assert_string_equal(q.user, "carol");
}

static void
test_result_round_trips(void **state)
{
	struct identity id = { .username = "alice", .id = "1001", .display_name = "Alice A" };
	struct identity got;
	enum auth_result r;
	uint32_t delay;
	size_t n;

	(void)state;
	assert_int_equal(identity_add_group(&id, "engineering", NULL), 0);
	assert_int_equal(identity_add_group(&id, "staff", NULL), 0);
	n = broker_encode_result(frame, sizeof(frame), AUTH_OK, 2000000, &id);
	assert_true(n > 0);
	assert_int_equal(broker_decode_result(BODY(n), &r, &delay, &got), 0);
	assert_int_equal(r, AUTH_OK);
	assert_int_equal(delay, 2000000);
	assert_string_equal(got.username, "alice");
	assert_string_equal(got.id, "1001");
	assert_string_equal(got.display_name, "Alice A");
	assert_null(got.email);
	assert_null(got.dn);
	assert_int_equal(got.n_groups, 2);
	assert_string_equal(got.groups[0], "engineering");
	assert_string_equal(got.groups[1], "staff");
	assert_null(got.group_dns[0]);
	identity_free(&got);

	/* Every other result carries no identity, whatever id says. */
	for (enum auth_result e = AUTH_BAD_CREDENTIALS; e <= AUTH_INTERNAL; e++) {
		n = broker_encode_result(frame, sizeof(frame), e, 7, &id);
		assert_int_equal(broker_decode_result(BODY(n), &r, &delay, &got), 0);
		assert_int_equal(r, e);
		assert_int_equal(delay, 7);
		assert_null(got.username);
		assert_int_equal(got.n_groups, 0);
	}
	/* Strings the caller owns: free only the groups. */
	for (size_t i = 0; i < id.n_groups; i++)
		free(id.groups[i]);
	free(id.groups);
	free(id.group_dns);
}

/* The most groups an identity may carry, each as long as allowed, fits. */
static void
test_result_at_limits(void **state)
{
	struct identity id = { 0 }, got;
	char name[IDB_BROKER_MAX_GROUP_LEN + 1];
	enum auth_result r;
	uint32_t delay;
	size_t n;

	(void)state;
	id.username = strdup(repeat('u', IDB_MAX_USERNAME_LEN));
	id.id = strdup(repeat('9', IDB_MAX_ATTR_VALUE_LEN));
	id.display_name = strdup(repeat('n', IDB_MAX_ATTR_VALUE_LEN));
	id.email = strdup(repeat('e', IDB_MAX_ATTR_VALUE_LEN));
	for (int i = 0; i < IDB_MAX_GROUPS; i++) {
		memset(name, 'g', IDB_BROKER_MAX_GROUP_LEN);
		snprintf(name, sizeof(name), "%d", i);
		name[strlen(name)] = 'g';
		name[IDB_BROKER_MAX_GROUP_LEN] = '\0';
		assert_int_equal(identity_add_group(&id, name, NULL), 0);
	}
	n = broker_encode_result(frame, sizeof(frame), AUTH_OK, 0, &id);
	assert_true(n > 0);
	assert_int_equal(broker_decode_result(BODY(n), &r, &delay, &got), 0);
	assert_int_equal(got.n_groups, IDB_MAX_GROUPS);
	assert_int_equal(strlen(got.groups[IDB_MAX_GROUPS - 1]), IDB_BROKER_MAX_GROUP_LEN);
	identity_free(&got);
	identity_free(&id);
}

/* ---- truncation ---------------------------------------------------------- */

/* Every proper prefix of a valid body is refused. */
static void
refuse_prefixes(size_t n, bool request)
{
	unsigned char *copy = malloc(n);
	struct broker_request q;
	struct identity got;
	enum auth_result r;
	uint32_t delay;

	assert_non_null(copy);
	memcpy(copy, frame, n);
	for (size_t len = 0; len < n - BROKER_LEN_BYTES; len++) {
		int rc = request ? broker_decode_request(copy + BROKER_LEN_BYTES, len, &q) :
		    broker_decode_result(copy + BROKER_LEN_BYTES, len, &r, &delay, &got);

		if (rc != -1)
			print_message("a prefix of %zu bytes was accepted\n", len);
		assert_int_equal(rc, -1);
	}
	free(copy);
}

static void
test_truncations_refused(void **state)
{
	struct identity id = { .username = "alice", .id = "1001", .email = "a@x" };
	size_t n;

	(void)state;
	n = broker_encode_authenticate(frame, sizeof(frame), "alice", "pw", 2, "10.0.0.1");
	refuse_prefixes(n, true);
	n = broker_encode_account(frame, sizeof(frame), "alice", "10.0.0.1");
	refuse_prefixes(n, true);
	n = broker_encode_groups(frame, sizeof(frame), "alice");
	refuse_prefixes(n, true);
	assert_int_equal(identity_add_group(&id, "staff", NULL), 0);
	n = broker_encode_result(frame, sizeof(frame), AUTH_OK, 1, &id);
	/* Cutting the last group off whole is a valid shorter reply: cut inside fields only. */
	{
		unsigned char *copy = malloc(n);
		struct identity got;
		enum auth_result r;
		uint32_t delay;
		size_t last_group = n - BROKER_LEN_BYTES - (2 + strlen("staff"));

		assert_non_null(copy);
		memcpy(copy, frame, n);
		for (size_t len = 0; len < n - BROKER_LEN_BYTES; len++) {
			if (len == last_group)
				continue;
			assert_int_equal(broker_decode_result(copy + BROKER_LEN_BYTES, len, &r,
			    &delay, &got), -1);
		}
		free(copy);
	}
	free(id.groups[0]);
	free(id.groups);
	free(id.group_dns);
	n = broker_encode_result(frame, sizeof(frame), AUTH_BAD_CREDENTIALS, 0, NULL);
	refuse_prefixes(n, false);
}

/* ---- oversize and malformed --------------------------------------------- */

static void
test_encoders_refuse_oversize(void **state)
{
	unsigned char small[16];
	char long_id[IDB_MAX_ATTR_VALUE_LEN + 2];
	struct identity id = { .username = "alice", .id = "1" };

	(void)state;
	assert_int_equal(broker_encode_authenticate(frame, sizeof(frame),
	    repeat('u', IDB_MAX_USERNAME_LEN + 1), "pw", 2, NULL), 0);
	assert_int_equal(broker_encode_authenticate(frame, sizeof(frame), "alice",
	    repeat('p', IDB_MAX_PASSWORD_LEN + 1), IDB_MAX_PASSWORD_LEN + 1, NULL), 0);
	assert_int_equal(broker_encode_authenticate(frame, sizeof(frame), "alice", "pw", 2,
	    repeat('1', IDB_BROKER_MAX_RHOST_LEN + 1)), 0);
	assert_int_equal(broker_encode_authenticate(frame, sizeof(frame), "alice", "p\0w", 3,
	    NULL), 0);
	assert_int_equal(broker_encode_authenticate(frame, sizeof(frame), "", "pw", 2, NULL), 0);
	assert_int_equal(broker_encode_account(frame, sizeof(frame),
	    repeat('u', IDB_MAX_USERNAME_LEN + 1), NULL), 0);
	assert_int_equal(broker_encode_groups(frame, sizeof(frame), ""), 0);
	assert_int_equal(broker_encode_authenticate(small, sizeof(small), "alice", "password", 8,
	    NULL), 0);
	/* A reply: an oversize group, identity field, or no identity at all for OK. */
	assert_int_equal(identity_add_group(&id, repeat('g', IDB_BROKER_MAX_GROUP_LEN + 1),
	    NULL), 0);
	assert_int_equal(broker_encode_result(frame, sizeof(frame), AUTH_OK, 0, &id), 0);
	free(id.groups[0]);
	free(id.groups);
	free(id.group_dns);
	memset(long_id, '9', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	id = (struct identity){ .username = "alice", .id = long_id };
	assert_int_equal(broker_encode_result(frame, sizeof(frame), AUTH_OK, 0, &id), 0);
	id = (struct identity){ .username = "alice", .id = "" };
	assert_int_equal(broker_encode_result(frame, sizeof(frame), AUTH_OK, 0, &id), 0);
	assert_int_equal(broker_encode_result(frame, sizeof(frame), AUTH_OK, 0, NULL), 0);
}

static void
test_frame_length(void **state)
{
	static const struct {
		unsigned char b[4];
		int rc;
		size_t len;
	} rows[] = {
		{ { 0, 0, 0, 0 }, -1, 0 },
		{ { 0, 0, 0, 1 }, 0, 1 },
		{ { 0, 8, 0, 0 }, 0, IDB_BROKER_MAX_FRAME },
		{ { 0, 8, 0, 1 }, -1, 0 },
		{ { 0xff, 0xff, 0xff, 0xff }, -1, 0 },
	};

	(void)state;
	_Static_assert(IDB_BROKER_MAX_FRAME == 0x80000, "rows above");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t len = 0;

		assert_int_equal(broker_frame_length(rows[i].b, &len), rows[i].rc);
		if (rows[i].rc == 0)
			assert_int_equal(len, rows[i].len);
	}
}

enum which { REQ, RES };

struct bad_frame {
	const char *name;
	enum which decoder;
	void (*build)(struct raw *r);
};

static void
b_unknown_0(struct raw *r)
{
	raw_begin(r, 0);
	raw_str(r, "alice");
}

static void
b_unknown_4(struct raw *r)
{
	raw_begin(r, 4);
	raw_str(r, "alice");
}

static void
b_unknown_ff(struct raw *r)
{
	raw_begin(r, 0xff);
	raw_str(r, "alice");
}

static void
b_result_as_request(struct raw *r)
{
	raw_begin(r, BROKER_MSG_RESULT);
	raw_field(r, "\1", 1);
	raw_field(r, "\0\0\0\0", 4);
}

static void
b_request_as_result(struct raw *r)
{
	raw_begin(r, BROKER_MSG_GROUPS);
	raw_str(r, "a");
}

static void
b_no_type(struct raw *r)
{
	r->p = frame;
	r->len = BROKER_LEN_BYTES;
}

static void
groups_for(struct raw *r, const void *user, size_t len)
{
	raw_begin(r, BROKER_MSG_GROUPS);
	raw_field(r, user, len);
}

static void
b_user_long(struct raw *r)
{
	groups_for(r, repeat('u', IDB_MAX_USERNAME_LEN + 1), IDB_MAX_USERNAME_LEN + 1);
}

static void
b_user_empty(struct raw *r)
{
	groups_for(r, "", 0);
}

static void
b_user_nul(struct raw *r)
{
	groups_for(r, "al\0ce", 5);
}

static void
b_password(struct raw *r, const void *pw, size_t len)
{
	raw_begin(r, BROKER_MSG_AUTHENTICATE);
	raw_str(r, "alice");
	raw_field(r, pw, len);
	raw_str(r, "");
}

static void
b_password_long(struct raw *r)
{
	b_password(r, repeat('p', IDB_MAX_PASSWORD_LEN + 1), IDB_MAX_PASSWORD_LEN + 1);
}

static void
b_password_nul(struct raw *r)
{
	b_password(r, "p\0w", 3);
}

static void
b_rhost_long(struct raw *r)
{
	raw_begin(r, BROKER_MSG_ACCOUNT);
	raw_str(r, "alice");
	raw_str(r, repeat('1', IDB_BROKER_MAX_RHOST_LEN + 1));
}

static void
b_field_past_end(struct raw *r)
{
	groups_for(r, "alice", 5);
	r->p[BROKER_LEN_BYTES + 2] = 9;  /* says 9 bytes, 5 follow */
}

static void
b_extra_field(struct raw *r)
{
	groups_for(r, "alice", 5);
	raw_str(r, "x");
}

static void
b_trailing_byte(struct raw *r)
{
	groups_for(r, "alice", 5);
	r->p[r->len++] = 0;
}

static void
b_missing_rhost(struct raw *r)
{
	raw_begin(r, BROKER_MSG_ACCOUNT);
	raw_str(r, "alice");
}

/* A reply's fixed fields: result code and fail delay, of the given sizes. */
static void
reply_head(struct raw *r, const void *code, size_t code_len, size_t delay_len)
{
	raw_begin(r, BROKER_MSG_RESULT);
	raw_field(r, code, code_len);
	raw_field(r, "\0\0\0\0", delay_len);
}

static void
b_result_code(struct raw *r)
{
	reply_head(r, "\7", 1, 4);
}

static void
b_result_code_wide(struct raw *r)
{
	reply_head(r, "\0\1", 2, 4);
}

static void
b_delay_short(struct raw *r)
{
	reply_head(r, "\1", 1, 3);
}

static void
b_identity_on_failure(struct raw *r)
{
	reply_head(r, "\1", 1, 4);
	raw_str(r, "alice");
}

static void
ok_head(struct raw *r, const char *user, const char *id)
{
	reply_head(r, "\0", 1, 4);
	raw_str(r, user);
	raw_str(r, id);
	raw_str(r, "");
	raw_str(r, "");
}

static void
b_ok_no_identity(struct raw *r)
{
	reply_head(r, "\0", 1, 4);
}

static void
b_ok_empty_id(struct raw *r)
{
	ok_head(r, "alice", "");
}

static void
b_ok_long_name(struct raw *r)
{
	ok_head(r, repeat('u', IDB_MAX_USERNAME_LEN + 1), "1");
}

static void
b_ok_long_id(struct raw *r)
{
	ok_head(r, "alice", repeat('9', IDB_MAX_ATTR_VALUE_LEN + 1));
}

static void
b_ok_long_group(struct raw *r)
{
	ok_head(r, "alice", "1");
	raw_str(r, repeat('g', IDB_BROKER_MAX_GROUP_LEN + 1));
}

static void
b_ok_empty_group(struct raw *r)
{
	ok_head(r, "alice", "1");
	raw_str(r, "");
}

static void
b_ok_nul_group(struct raw *r)
{
	ok_head(r, "alice", "1");
	raw_field(r, "st\0ff", 5);
}

static void
b_ok_too_many_groups(struct raw *r)
{
	char name[16];

	ok_head(r, "alice", "1");
	for (int i = 0; i <= IDB_MAX_GROUPS; i++) {
		snprintf(name, sizeof(name), "g%d", i);
		raw_str(r, name);
	}
}

static const struct bad_frame bad_frames[] = {
	{ "type 0", REQ, b_unknown_0 },
	{ "type 4", REQ, b_unknown_4 },
	{ "type 0xff", REQ, b_unknown_ff },
	{ "a reply sent as a request", REQ, b_result_as_request },
	{ "a request sent as a reply", RES, b_request_as_result },
	{ "type 0xff as a reply", RES, b_unknown_ff },
	{ "no type byte (request)", REQ, b_no_type },
	{ "no type byte (reply)", RES, b_no_type },
	{ "user over the limit", REQ, b_user_long },
	{ "empty user", REQ, b_user_empty },
	{ "NUL in the user", REQ, b_user_nul },
	{ "password over the limit", REQ, b_password_long },
	{ "NUL in the password", REQ, b_password_nul },
	{ "rhost over INET6_ADDRSTRLEN", REQ, b_rhost_long },
	{ "a field longer than the frame", REQ, b_field_past_end },
	{ "an extra field", REQ, b_extra_field },
	{ "a trailing byte", REQ, b_trailing_byte },
	{ "ACCOUNT without rhost", REQ, b_missing_rhost },
	{ "result code past the enum", RES, b_result_code },
	{ "result code of two bytes", RES, b_result_code_wide },
	{ "fail delay of three bytes", RES, b_delay_short },
	{ "identity after a failure", RES, b_identity_on_failure },
	{ "OK without an identity", RES, b_ok_no_identity },
	{ "OK with an empty id", RES, b_ok_empty_id },
	{ "user name over the limit", RES, b_ok_long_name },
	{ "id over the limit", RES, b_ok_long_id },
	{ "group over the limit", RES, b_ok_long_group },
	{ "empty group", RES, b_ok_empty_group },
	{ "NUL in a group", RES, b_ok_nul_group },
	{ "more groups than IDB_MAX_GROUPS", RES, b_ok_too_many_groups },
};

static void
test_bad_frames_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_frames) / sizeof(bad_frames[0]); i++) {
		struct raw r = { 0 };
		struct broker_request q;
		struct identity got;
		enum auth_result res;
		uint32_t delay;
		int rc;

		bad_frames[i].build(&r);
		print_message("%s\n", bad_frames[i].name);
		if (bad_frames[i].decoder == REQ)
			rc = broker_decode_request(BODY(r.len), &q);
		else
			rc = broker_decode_result(BODY(r.len), &res, &delay, &got);
		assert_int_equal(rc, -1);
		if (bad_frames[i].decoder == RES) {
			assert_null(got.username);
			assert_null(got.groups);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_round_trips),
		cmocka_unit_test(test_result_round_trips),
		cmocka_unit_test(test_result_at_limits),
		cmocka_unit_test(test_truncations_refused),
		cmocka_unit_test(test_encoders_refuse_oversize),
		cmocka_unit_test(test_frame_length),
		cmocka_unit_test(test_bad_frames_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
