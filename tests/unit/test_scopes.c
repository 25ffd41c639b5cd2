/*
 * test_scopes.c — [scopes] matching: group names, group DNs, user:NAME, *.
 *
 * Each case is a set of rules (as they would stand in [scopes]), an
 * identity as a backend returns it, and the scopes and mapped groups
 * expected, space-separated, in config / identity order.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "scopes.h"
#include "backend.h"
#include "util.h"

#define MAX_RULES 6
#define MAX_GROUPS 4

struct scope_case {
	const char *what;
	const char *rules[MAX_RULES];	/* "scope members…", first word is the scope */
	const char *username;
	const char *groups[MAX_GROUPS];
	const char *group_dns[MAX_GROUPS]; /* parallel to groups; NULL entries */
	bool no_dns;			/* group_dns itself is NULL (PAM) */
	const char *scopes;		/* expected, space-separated */
	const char *mapped;		/* expected mapped groups */
};

#define ADMINS_DN "cn=Admins,ou=Groups,dc=example,dc=org"

static const struct scope_case cases[] = {
	{ "group name, ASCII case-insensitive",
	  { "read engineering" }, "alice", { "Engineering" }, { NULL }, false,
	  "read", "Engineering" },
	{ "group name differs",
	  { "read engineering" }, "alice", { "engineers" }, { NULL }, false,
	  "", "" },
	{ "non-ASCII letters are not folded",
	  { "read \xc3\xa9quipe" }, "alice", { "\xc3\x89quipe" }, { NULL }, false,
	  "", "" },
	{ "DN: case and spaces around ',' and '=' normalised",
	  { "write " ADMINS_DN }, "alice", { "admins" },
	  { " CN = admins , OU=groups,DC=Example, DC=ORG " }, false,
	  "write", "admins" },
	{ "DN: spaces inside a value are kept",
	  { "write cn=Domain\\20Users,dc=example,dc=org" }, "bob",
	  { "Domain Users" }, { "CN=domain\\20users, DC=example,DC=org" }, false,
	  "write", "Domain Users" },
	{ "DN: an escaped ',' is not a separator",
	  { "write cn=a\\,b,dc=x" }, "bob", { "a,b" }, { "CN=A\\,B, DC=X" }, false,
	  "write", "a,b" },
	{ "DN: escaped ', ' differs from ','",
	  { "write cn=a\\,b,dc=x" }, "bob", { "a, b" }, { "cn=a\\, b,dc=x" }, false,
	  "", "" },
	{ "DN: different RDN",
	  { "write " ADMINS_DN }, "alice", { "admins" },
	  { "cn=admins,ou=people,dc=example,dc=org" }, false, "", "" },
	{ "DN member never matches a name alone",
	  { "write " ADMINS_DN }, "alice", { "cn=Admins" }, { NULL }, false,
	  "", "" },
	{ "DN member and a backend without DNs (PAM)",
	  { "write " ADMINS_DN, "read admins" }, "alice", { "admins" }, { NULL },
	  true, "read", "admins" },
	{ "name member never matches a DN",
	  { "write admins" }, "alice", { "staff" }, { ADMINS_DN }, false, "", "" },
	{ "user:NAME, case-insensitive",
	  { "profile user:Alice" }, "alice", { NULL }, { NULL }, false,
	  "profile", "" },
	{ "user:NAME is the whole name",
	  { "profile user:alice" }, "alice2", { NULL }, { NULL }, false, "", "" },
	{ "user:NAME is not a group",
	  { "profile user:admins" }, "alice", { "admins" }, { NULL }, false,
	  "", "" },
	{ "a group named like the user is not user:",
	  { "profile alice" }, "alice", { NULL }, { NULL }, false, "", "" },
	{ "* for everyone, even without groups",
	  { "openid *" }, "carol", { NULL }, { NULL }, false, "openid", "" },
	{ "no rules",
	  { NULL }, "alice", { "engineering" }, { NULL }, false, "", "" },
	{ "config order, several members, several groups",
	  { "a nobody", "b support engineering", "c *", "d " ADMINS_DN,
	    "e user:dave", "f user:alice" },
	  "alice", { "Support", "Random", "Engineering", "Admins" },
	  { NULL, NULL, NULL, "CN=Admins,OU=Groups,DC=example,DC=org" }, false,
	  "b c d f", "Support Engineering Admins" },
};

static void
build_config(const struct scope_case *c, struct config *cfg,
    struct scope_rule *rules)
{
	memset(cfg, 0, sizeof(*cfg));
	memset(rules, 0, MAX_RULES * sizeof(*rules));
	cfg->scopes = rules;
	for (size_t i = 0; i < MAX_RULES && c->rules[i] != NULL; i++) {
		struct scope_rule *rule = &cfg->scopes[i];
		const char *members = strchr(c->rules[i], ' ');

		rule->scope = strndup(c->rules[i],
		    (size_t)(members - c->rules[i]));
		assert_non_null(rule->scope);
		assert_int_equal(strlist_add_words(&rule->members, members), 0);
		rule->line = (unsigned)i + 1;
		cfg->n_scopes++;
	}
}

static void
free_rules(struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_scopes; i++) {
		free(cfg->scopes[i].scope);
		strlist_free(&cfg->scopes[i].members);
	}
}

static void
build_identity(const struct scope_case *c, struct identity *id,
    char **groups, char **dns)
{
	memset(id, 0, sizeof(*id));
	id->username = (char *)(uintptr_t)c->username;
	for (size_t i = 0; i < MAX_GROUPS && c->groups[i] != NULL; i++) {
		groups[i] = (char *)(uintptr_t)c->groups[i];
		dns[i] = (char *)(uintptr_t)c->group_dns[i];
		id->n_groups++;
	}
	id->groups = groups;
	id->group_dns = c->no_dns ? NULL : dns;
}

static void
check_list(const char *what, const char *kind, struct strlist *got,
    const char *want)
{
	char *joined = strlist_join(got, " ");

	assert_non_null(joined);
	if (strcmp(joined, want) != 0)
		fail_msg("%s: %s \"%s\", want \"%s\"", what, kind, joined, want);
	free(joined);
}

static void
test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct scope_case *c = &cases[i];
		struct scope_rule rules[MAX_RULES];
		char *groups[MAX_GROUPS], *dns[MAX_GROUPS];
		struct strlist got = { NULL, 0 };
		struct identity id;
		struct config cfg;

		build_config(c, &cfg, rules);
		build_identity(c, &id, groups, dns);

		/* out is emptied first. */
		assert_int_equal(strlist_add(&got, "stale"), 0);
		assert_int_equal(scopes_for_identity(&cfg, &id, &got), 0);
		check_list(c->what, "scopes", &got, c->scopes);
		for (size_t r = 0; r < cfg.n_scopes; r++)
			assert_int_equal(scope_rule_matches(&cfg.scopes[r], &id),
			    strlist_contains(&got, cfg.scopes[r].scope));

		assert_int_equal(strlist_add(&got, "stale"), 0);
		assert_int_equal(scopes_mapped_groups(&cfg, &id, &got), 0);
		check_list(c->what, "mapped groups", &got, c->mapped);
		strlist_free(&got);
		free_rules(&cfg);
	}
}

/* Rules as config.c builds them, through a real file. */
static void
test_from_config(void **state)
{
	static const char text[] =
	    "[server]\nissuer = https://sso.example.com\n"
	    "[ldap]\nuri = ldaps://ldap.example.com\n"
	    "user_base = ou=people,dc=example,dc=org\ngroup_attribute = memberOf\n"
	    "[scopes]\n"
	    "read:resource = engineering support\n"
	    "write:resource = cn=Release\\20Managers,ou=groups,dc=example,dc=org\n"
	    "    user:alice\n";
	char path[] = "/tmp/idb-test-scopes-XXXXXX";
	char *groups[] = { "Support" };
	char *dns[] = { NULL };
	struct identity id = { .username = "bob", .groups = groups,
	    .group_dns = dns, .n_groups = 1 };
	struct strlist got = { NULL, 0 };
	struct config_errors errs;
	struct config *cfg;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	cfg = config_load(path, &errs);
	unlink(path);
	assert_non_null(cfg);
	config_errors_free(&errs);

	assert_int_equal(scopes_for_identity(cfg, &id, &got), 0);
	check_list("from config", "scopes", &got, "read:resource");
	/* The DN as a directory may spell it. */
	groups[0] = "Release Managers";
	dns[0] = "CN=release\\20managers, OU=groups, DC=example, DC=org";
	assert_int_equal(scopes_for_identity(cfg, &id, &got), 0);
	check_list("from config", "scopes", &got, "write:resource");
	groups[0] = "other";
	dns[0] = NULL;
	id.username = "ALICE";
	assert_int_equal(scopes_for_identity(cfg, &id, &got), 0);
	check_list("from config", "scopes", &got, "write:resource");
	id.group_dns = NULL;
	assert_int_equal(scopes_for_identity(cfg, &id, &got), 0);
	check_list("from config", "scopes", &got, "write:resource");
	id.username = "bob";
	assert_int_equal(scopes_for_identity(cfg, &id, &got), 0);
	check_list("from config", "scopes", &got, "");
	strlist_free(&got);
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_from_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
