/*
 * test_ldap_filter.c — RFC 4515 escaping and filter templates.
 *
 * The escaping is libldap's (ldap_bv2escaped_filter_value), so these
 * vectors also pin down what that library does here:
 * - it writes upper-case hex ("\2A", not RFC 4515's example "\2a"; the RFC
 *   allows either and servers decode both);
 * - it escapes every byte outside printable ASCII, so each byte of a UTF-8
 *   sequence becomes \XX ("Lučić" → "Lu\C4\8Di\C4\87"), as do control
 *   characters and DEL.  Servers decode this back to the same octets, so a
 *   non-ASCII name still matches.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ldap_filter.h"

struct escape_case {
	const char *in;
	size_t len;             /* 0: strlen(in) */
	const char *out;
};

static const struct escape_case escape_cases[] = {
	/* RFC 4515 section 4 examples, in libldap's upper-case hex. */
	{ "Parens R Us (for all your parenthetical needs)", 0,
	  "Parens R Us \\28for all your parenthetical needs\\29" },
	{ "*", 0, "\\2A" },
	{ "C:\\MyFile", 0, "C:\\5CMyFile" },
	{ "\0\0\0\4", 4, "\\00\\00\\00\\04" },
	{ "a\0b", 3, "a\\00b" },
	/* Non-ASCII UTF-8: each byte escaped. */
	{ "Lu\xc4\x8d" "i\xc4\x87", 0, "Lu\\C4\\8Di\\C4\\87" },
	{ "Lučić", 0, "Lu\\C4\\8Di\\C4\\87" },
	{ "\x7f", 0, "\\7F" },
	{ "tab\there", 0, "tab\\09here" },
	/* Nothing to escape. */
	{ "alice", 0, "alice" },
	{ "j.doe@example.com", 0, "j.doe@example.com" },
	{ "", 0, "" },
	{ "x)(uid=*", 0, "x\\29\\28uid=\\2A" },
};

static void
test_escape(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(escape_cases) / sizeof(escape_cases[0]); i++) {
		const struct escape_case *c = &escape_cases[i];
		size_t len = c->len != 0 ? c->len : strlen(c->in);
		char *got = ldap_filter_escape(c->in, len);

		assert_non_null(got);
		assert_string_equal(got, c->out);
		free(got);
	}
}

struct expand_case {
	const char *tmpl;
	const char *user;
	const char *dn;
	const char *out;        /* NULL: expansion must fail */
};

static const struct expand_case expand_cases[] = {
	{ "(uid=%u)", "alice", NULL, "(uid=alice)" },
	{ "(&(objectClass=inetOrgPerson)(uid=%u))", "bob", NULL,
	  "(&(objectClass=inetOrgPerson)(uid=bob))" },
	{ "(|(member=%d)(memberUid=%u))", "alice", "uid=alice,ou=people,dc=example,dc=org",
	  "(|(member=uid=alice,ou=people,dc=example,dc=org)(memberUid=alice))" },
	/* Injection attempts stay one assertion value. */
	{ "(uid=%u)", "x)(uid=*", NULL, "(uid=x\\29\\28uid=\\2A)" },
	{ "(uid=%u)", "*", NULL, "(uid=\\2A)" },
	{ "(uid=%u)", "*)(|(objectClass=*", NULL,
	  "(uid=\\2A\\29\\28|\\28objectClass=\\2A)" },
	{ "(uid=%u)", "a\\2a", NULL, "(uid=a\\5C2a)" },
	{ "(member=%d)", NULL, "cn=R\\2C D,ou=g", "(member=cn=R\\5C2C D,ou=g)" },
	{ "(cn=%u)", "Lučić", NULL, "(cn=Lu\\C4\\8Di\\C4\\87)" },
	/* %% is a literal percent sign, never a placeholder. */
	{ "(cn=100%%)", NULL, NULL, "(cn=100%)" },
	{ "(cn=%%u%u)", "x", NULL, "(cn=%ux)" },
	{ "(description=%u%%%u)", "a", NULL, "(description=a%a)" },
	{ "(objectClass=*)", NULL, NULL, "(objectClass=*)" },
	/* Errors: unknown or trailing placeholder, value missing. */
	{ "(uid=%x)", "alice", NULL, NULL },
	{ "(uid=%U)", "alice", NULL, NULL },
	{ "(uid=%u)%", "alice", NULL, NULL },
	{ "(uid=%u)", NULL, NULL, NULL },
	{ "(member=%d)", "alice", NULL, NULL },
};

static void
test_expand(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(expand_cases) / sizeof(expand_cases[0]); i++) {
		const struct expand_case *c = &expand_cases[i];
		char *got = ldap_filter_expand(c->tmpl, c->user, c->dn);

		if (c->out == NULL) {
			if (got != NULL)
				fail_msg("case %zu: %s expanded to %s, expected an error",
				    i, c->tmpl, got);
		} else {
			if (got == NULL)
				fail_msg("case %zu: %s failed to expand", i, c->tmpl);
			assert_string_equal(got, c->out);
		}
		free(got);
	}
}

/* An expanded injection attempt has the template's structure: same parentheses. */
static void
test_expand_keeps_structure(void **state)
{
	static const char *const evil[] = {
		"x)(uid=*", "*", ")", "(", "\\", "*)(objectClass=*))(|(uid=*",
		"admin)(&", "a\\29b",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		char *got = ldap_filter_expand("(&(objectClass=person)(uid=%u))", evil[i], NULL);
		size_t open = 0, close = 0, star = 0;

		assert_non_null(got);
		for (const char *p = got; *p != '\0'; p++) {
			open += *p == '(';
			close += *p == ')';
			star += *p == '*';
		}
		assert_int_equal(open, 3);
		assert_int_equal(close, 3);
		assert_int_equal(star, 0);
		free(got);
	}
}

struct template_case {
	const char *tmpl;
	int ok;                 /* 0 accepted, -1 refused */
};

static const struct template_case template_cases[] = {
	{ "(uid=%u)", 0 },
	{ "(&(objectClass=inetOrgPerson)(uid=%u))", 0 },
	{ "(|(member=%d)(memberUid=%u))", 0 },
	{ "(pwdAccountLockedTime=*)", 0 },
	{ "(userAccountControl:1.2.840.113556.1.4.803:=2)", 0 },
	{ "(cn=100%%)", 0 },
	{ "(cn=a\\28b\\29)", 0 },       /* escaped parentheses do not count */
	{ "(cn=a\\2ab)", 0 },
	{ "uid=%u", -1 },               /* must start with '(' */
	{ "", -1 },
	{ " (uid=%u)", -1 },
	{ "(uid=%u", -1 },              /* unbalanced */
	{ "(uid=%u))", -1 },
	{ "(&(uid=%u)", -1 },
	{ "(uid=%u)(cn=x)", -1 },       /* two filters */
	{ "(uid=%u) ", -1 },
	{ "(uid=%x)", -1 },             /* unknown placeholder */
	{ "(uid=%)", -1 },
	{ "(uid=%u)%", -1 },
	{ "(cn=a\\(b)", -1 },           /* '\' needs two hex digits */
	{ "(cn=a\\2)", -1 },
	{ "(cn=a\\)", -1 },
	{ "(cn=a\\", -1 },
};

static void
test_template_ok(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(template_cases) / sizeof(template_cases[0]); i++) {
		const struct template_case *c = &template_cases[i];
		char *err = NULL;
		int r = ldap_filter_template_ok(c->tmpl, &err);

		if (r != c->ok)
			fail_msg("case %zu: \"%s\" gave %d, expected %d (%s)", i,
			    c->tmpl, r, c->ok, err != NULL ? err : "no message");
		if (r != 0)
			assert_non_null(err);
		else
			assert_null(err);
		free(err);
	}
}

/* One search for several group DNs: each escaped, OR-ed only when more than one. */
static void
test_any(void **state)
{
	char *one[] = { (char *)"cn=eng,ou=groups,dc=example,dc=org" };
	char *many[] = { (char *)"cn=a,dc=x", (char *)"cn=b)(cn=*,dc=x", (char *)"cn=c\\,d,dc=x" };
	char *with_null[] = { (char *)"cn=a,dc=x", NULL };
	char *f;

	(void)state;
	f = ldap_filter_any("member", one, 1);
	assert_string_equal(f, "(member=cn=eng,ou=groups,dc=example,dc=org)");
	free(f);
	f = ldap_filter_any("member", many, 3);
	/* A DN's parentheses, asterisk and backslash cannot open a clause of their own. */
	assert_string_equal(f, "(|(member=cn=a,dc=x)(member=cn=b\\29\\28cn=\\2A,dc=x)"
	    "(member=cn=c\\5C,d,dc=x))");
	free(f);
	assert_null(ldap_filter_any("member", many, 0));
	assert_null(ldap_filter_any("member", with_null, 2));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_expand_keeps_structure),
		cmocka_unit_test(test_template_ok),
		cmocka_unit_test(test_any),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
