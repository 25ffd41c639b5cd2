/*
 * test_clientauth.c — client authentication at /token, /introspect and
 * /revoke: HTTP Basic decoded per RFC 6749 §2.3.1, credentials in the
 * body, both at once, public clients.
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
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "bridge.h"
#include "clientauth.h"
#include "clients.h"
#include "form.h"

/* The real secret holds ':' '%' '+' and a space, all of which Basic must carry. */
#define SECRET "s3:cr%t+x y"

static struct client_cfg clients[2] = {
	{ .id = "conf", .n_secrets = 1 },
	{ .id = "pub", .is_public = true, .pkce_required = true },
};
static struct config cfg = { .clients = clients, .n_clients = 2 };

static int
setup(void **state)
{
	(void)state;
	SHA256((const unsigned char *)SECRET, strlen(SECRET), clients[0].secret_hash[0]);
	return 0;
}

/* "Basic " + base64(s). */
static char *
basic(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(6 + 4 * ((n + 2) / 3) + 1);

	assert_non_null(out);
	memcpy(out, "Basic ", 6);
	EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)s, (int)n);
	return out;
}

struct auth_case {
	const char *basic_plain;    /* encoded into Basic, or NULL */
	const char *authorization;  /* a literal header, or NULL */
	const char *body;           /* form body */
	enum clientauth_extract expect;
	const char *client_id;      /* when OK */
	const char *secret;         /* when OK (NULL: none) */
	bool authenticates;         /* clientauth_check(…, allow_public = true) */
};

static const struct auth_case cases[] = {
	/* §2.3.1: the secret is form-urlencoded before Basic; ':' inside it arrives as %3A. */
	{ "conf:s3%3Acr%25t%2Bx+y", NULL, "", CLIENTAUTH_OK, "conf", SECRET, true },
	{ "conf:s3%3Acr%25t%2Bx%20y", NULL, "", CLIENTAUTH_OK, "conf", SECRET, true },
	/* Split on the first ':' only: a raw ':' in the secret stays in the secret. */
	{ "conf:s3:cr%25t%2Bx+y", NULL, "", CLIENTAUTH_OK, "conf", SECRET, true },
	/* Not decoded: "+" is a space and %25 a '%', so the raw secret fails. */
	{ "conf:s3:cr%t+x y", NULL, "", CLIENTAUTH_MALFORMED, NULL, NULL, false },
	{ "conf:wrong", NULL, "", CLIENTAUTH_OK, "conf", "wrong", false },
	{ "nobody:s3%3Acr%25t%2Bx+y", NULL, "", CLIENTAUTH_OK, "nobody", SECRET, false },
	{ "%63onf:s3%3Acr%25t%2Bx+y", NULL, "", CLIENTAUTH_OK, "conf", SECRET, true },
	{ "pub:", NULL, "", CLIENTAUTH_OK, "pub", "", false },
	/* Same client_id in the body next to Basic is fine; another one is not. */
	{ "conf:s3%3Acr%25t%2Bx+y", NULL, "client_id=conf", CLIENTAUTH_OK, "conf", SECRET, true },
	{ "conf:s3%3Acr%25t%2Bx+y", NULL, "client_id=pub", CLIENTAUTH_MALFORMED, NULL, NULL,
	    false },
	/* Both methods at once. */
	{ "conf:s3%3Acr%25t%2Bx+y", NULL, "client_id=conf&client_secret=x",
	    CLIENTAUTH_MALFORMED, NULL, NULL, false },
	/* Malformed Basic. */
	{ "conf", NULL, "", CLIENTAUTH_MALFORMED, NULL, NULL, false },
	{ ":secret", NULL, "", CLIENTAUTH_MALFORMED, NULL, NULL, false },
	{ NULL, "Basic", "", CLIENTAUTH_MALFORMED, NULL, NULL, false },
	{ NULL, "Basic !!!!", "", CLIENTAUTH_MALFORMED, NULL, NULL, false },
	{ NULL, "Basic Y29uZjp4", "", CLIENTAUTH_OK, "conf", "x", false },
	{ NULL, "Basic Y29uZjp4=", "", CLIENTAUTH_MALFORMED, NULL, NULL, false },
	{ NULL, "Basic Y29uZjp", "", CLIENTAUTH_MALFORMED, NULL, NULL, false },
	{ NULL, "Basic Y29uZjp4eA=", "", CLIENTAUTH_MALFORMED, NULL, NULL, false },
	{ NULL, "Basic Y29uZjp4eB==", "", CLIENTAUTH_MALFORMED, NULL, NULL, false },
	{ NULL, "Basic Y29uZjp4eA==", "", CLIENTAUTH_OK, "conf", "xx", false },
	{ NULL, "basic Y29uZjp4eA==", "", CLIENTAUTH_OK, "conf", "xx", false },
	/* A NUL byte inside the decoded credentials. */
	{ NULL, "Basic Y29uZjp4AHg=", "", CLIENTAUTH_MALFORMED, NULL, NULL, false },
	{ "conf:a%00b", NULL, "", CLIENTAUTH_MALFORMED, NULL, NULL, false },
	/* Another scheme is not client authentication. */
	{ NULL, "Bearer abc", "client_id=pub", CLIENTAUTH_OK, "pub", NULL, true },
	{ NULL, "Basicx Y29uZjp4", "client_id=pub", CLIENTAUTH_OK, "pub", NULL, true },
	/* Body credentials (client_secret_post). */
	{ NULL, NULL, "client_id=conf&client_secret=s3%3Acr%25t%2Bx+y", CLIENTAUTH_OK, "conf",
	    SECRET, true },
	{ NULL, NULL, "client_id=conf&client_secret=nope", CLIENTAUTH_OK, "conf", "nope",
	    false },
	{ NULL, NULL, "client_id=conf", CLIENTAUTH_OK, "conf", NULL, false },
	{ NULL, NULL, "client_id=pub", CLIENTAUTH_OK, "pub", NULL, true },
	{ NULL, NULL, "client_id=pub&client_secret=x", CLIENTAUTH_OK, "pub", "x", false },
	{ NULL, NULL, "client_secret=x", CLIENTAUTH_MALFORMED, NULL, NULL, false },
	{ NULL, NULL, "", CLIENTAUTH_OK, NULL, NULL, false },
};

static void
test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct auth_case *c = &cases[i];
		char *hdr = c->basic_plain != NULL ? basic(c->basic_plain) : NULL;
		struct form f = { 0 };
		struct client_creds cr;
		enum clientauth_extract r;
		const struct client_cfg *cl;

		assert_int_equal(form_parse(c->body, strlen(c->body), &f), FORM_OK);
		r = clientauth_extract(hdr != NULL ? hdr : c->authorization, &f, &cr);
		if (r != c->expect)
			fail_msg("case %zu: got %d, want %d", i, r, c->expect);
		if (r == CLIENTAUTH_OK) {
			if (c->client_id == NULL)
				assert_null(cr.client_id);
			else {
				assert_non_null(cr.client_id);
				assert_string_equal(cr.client_id, c->client_id);
			}
			if (c->secret == NULL)
				assert_null(cr.secret);
			else {
				assert_non_null(cr.secret);
				assert_int_equal(cr.secret_len, strlen(c->secret));
				assert_memory_equal(cr.secret, c->secret, cr.secret_len);
			}
			cl = clientauth_check(&cfg, &cr, true);
			if ((cl != NULL) != c->authenticates)
				fail_msg("case %zu: authenticated %d, want %d", i, cl != NULL,
				    c->authenticates);
			clients_release(cl);
		} else {
			assert_null(cr.client_id);
			assert_null(cr.secret);
		}
		client_creds_free(&cr);
		form_free(&f);
		free(hdr);
	}
}

/* A public client authenticates by client_id only where the endpoint allows it. */
static void
test_public_only_where_allowed(void **state)
{
	struct client_creds cr = { .client_id = "pub" };
	struct client_creds conf_nosecret = { .client_id = "conf" };

	(void)state;
	assert_ptr_equal(clientauth_check(&cfg, &cr, true), &clients[1]);
	assert_null(clientauth_check(&cfg, &cr, false));
	assert_null(clientauth_check(&cfg, &conf_nosecret, true));
	assert_null(clientauth_check(&cfg, &conf_nosecret, false));
}

/* An over-long Basic header is refused, not cut. */
static void
test_long_basic(void **state)
{
	char plain[IDB_MAX_BASIC_AUTH_LEN + 8];
	struct form f = { 0 };
	struct client_creds cr;
	char *hdr;

	(void)state;
	memset(plain, 'a', sizeof(plain) - 1);
	plain[sizeof(plain) - 1] = '\0';
	memcpy(plain, "conf:", 5);
	hdr = basic(plain);
	assert_int_equal(clientauth_extract(hdr, &f, &cr), CLIENTAUTH_MALFORMED);
	free(hdr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_public_only_where_allowed),
		cmocka_unit_test(test_long_basic),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
