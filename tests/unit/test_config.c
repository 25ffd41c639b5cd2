/*
 * test_config.c — idbridge.conf parsing: every error with its line, the
 * defaults, continuation lines, long lines, secret files, a complete file.
 *
 * Each case's text is written to a file in a private directory under /tmp
 * ("@DIR@" in a text stands for that directory, where the fixture files
 * below live) and loaded with config_load(), as the daemon does.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "backend.h"
#include "util.h"

#ifndef IDB_LOCALSTATEDIR
#define IDB_LOCALSTATEDIR "/var"
#endif
#ifndef IDB_PKGDATADIR
#define IDB_PKGDATADIR "/usr/share/idbridge"
#endif

/* A valid file of 6 lines; cases append to it from line 7, in [ldap]. */
#define BASE \
	"[server]\n" \
	"issuer = https://sso.example.com\n" \
	"[ldap]\n" \
	"uri = ldaps://ldap.example.com\n" \
	"user_base = ou=people,dc=example,dc=org\n" \
	"group_attribute = memberOf\n"
/* [ldap] with no way to find groups: 3 lines. */
#define LDAP_NO_GROUPS \
	"[ldap]\n" \
	"uri = ldaps://ldap.example.com\n" \
	"user_base = ou=people,dc=example,dc=org\n"
/* The same without [ldap]: 2 lines. */
#define SERVER "[server]\nissuer = https://sso.example.com\n"
/* An [ldap] section of 4 lines, for after SERVER. */
#define LDAP \
	"[ldap]\n" \
	"uri = ldaps://ldap.example.com\n" \
	"user_base = ou=people,dc=example,dc=org\n" \
	"group_attribute = memberOf\n"

/* Secret hashes as `idbridge secret` prints them. */
#define H1 "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define H2 "sha256:FFEEDDCCBBAA99887766554433221100ffeeddccbbaa99887766554433221100"
#define H3 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
/* BASE with two scopes: 9 lines. */
#define SCOPED BASE "[scopes]\nread = *\nwrite = engineering\n"
/* A client without its secret, lines 10 to 13 after SCOPED. */
#define CLIENT_HEAD \
	"[client jira]\n" \
	"name = Jira\n" \
	"redirect_uri = https://chat.openai.com/aip/plugin-1/oauth/callback\n" \
	"scopes = read\n"
/* Cases on a client append from line 14. */
#define CH SCOPED CLIENT_HEAD
/* A complete client: 14 lines; cases append from line 15. */
#define CLIENT_OK SCOPED CLIENT_HEAD "secret = " H1 "\n"
/* CLIENT_OK, then one redirect_uri at line 15. */
#define REDIRECT(uri) CLIENT_OK "redirect_uri = " uri "\n"
/* CLIENT_OK and a plugin header at line 15; its keys from line 16. */
#define PLUGIN CLIENT_OK "[plugin jira]\n"
/* A plugin's manifest keys and api_url, but name_for_human: 9 lines. */
#define MANIFEST_REST \
	"name_for_model = jira\n" \
	"description_for_human = Find and update Jira issues.\n" \
	"description_for_model = Search Jira issues by JQL; create\n" \
	"  and comment on issues for the signed-in employee.\n" \
	"logo_url = https://jira-plugin.example.com/logo.png\n" \
	"contact_email = it-help@example.com\n" \
	"legal_info_url = https://example.com/legal\n" \
	"api_url = https://jira-plugin.example.com/openapi.yaml\n"
/* A whole manifest: 10 lines. */
#define MANIFEST "name_for_human = Jira\n" MANIFEST_REST
/* 121 characters (ä is 2 bytes: 242 bytes, on two lines). */
#define D60 "ääääääääääääääääääääääääääääääääääääääääääääääääääääääääääää"
#define D121 D60 "\n  " D60

static char dir[64];
static char path[128];

/* Fixture files in dir; mode and content. */
static const struct {
	const char *name;
	mode_t mode;
	const char *content;
} fixtures[] = {
	{ "secret", 0600, "s3cret\n" },
	{ "secret-crlf", 0600, "s3cret\r\n" },
	{ "secret-world", 0644, "s3cret\n" },
	{ "secret-empty", 0600, "" },
	{ "secret-newline", 0600, "\n" },
	{ "ca.pem", 0644, "-----BEGIN CERTIFICATE-----\n" },
};

static void
write_file(const char *file, const char *text, size_t len, mode_t mode)
{
	FILE *f = fopen(file, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(file, mode), 0);
}

/* text with every "@DIR@" replaced by dir; caller frees. */
static char *
expand(const char *text)
{
	size_t dlen = strlen(dir);
	char *out = malloc(strlen(text) * (dlen + 1) + 1), *o = out;

	assert_non_null(out);
	while (*text != '\0') {
		if (strncmp(text, "@DIR@", 5) == 0) {
			memcpy(o, dir, dlen);
			o += dlen;
			text += 5;
		} else
			*o++ = *text++;
	}
	*o = '\0';
	return out;
}

static int
group_setup(void **state)
{
	char file[256];
	char *big;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/idb-test-config-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/idbridge.conf", dir);
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		snprintf(file, sizeof(file), "%s/%s", dir, fixtures[i].name);
		write_file(file, fixtures[i].content, strlen(fixtures[i].content),
		    fixtures[i].mode);
	}
	/* One byte over IDB_MAX_SECRET_FILE, newline included. */
	big = malloc(IDB_MAX_SECRET_FILE + 1);
	memset(big, 'x', IDB_MAX_SECRET_FILE + 1);
	snprintf(file, sizeof(file), "%s/secret-big", dir);
	write_file(file, big, IDB_MAX_SECRET_FILE + 1, 0600);
	/* Exactly IDB_MAX_SECRET_FILE: accepted. */
	snprintf(file, sizeof(file), "%s/secret-max", dir);
	write_file(file, big, IDB_MAX_SECRET_FILE, 0600);
	free(big);
	snprintf(file, sizeof(file), "%s/subdir", dir);
	return mkdir(file, 0700);
}

static int
group_teardown(void **state)
{
	char file[256];

	(void)state;
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		snprintf(file, sizeof(file), "%s/%s", dir, fixtures[i].name);
		unlink(file);
	}
	snprintf(file, sizeof(file), "%s/secret-big", dir);
	unlink(file);
	snprintf(file, sizeof(file), "%s/secret-max", dir);
	unlink(file);
	snprintf(file, sizeof(file), "%s/subdir", dir);
	rmdir(file);
	unlink(path);
	return rmdir(dir);
}

/* Write len bytes of text (after @DIR@ expansion when len is 0) and load. */
static struct config *
load_bytes(const char *text, size_t len, struct config_errors *errs)
{
	char *expanded = NULL;

	if (len == 0) {
		expanded = expand(text);
		text = expanded;
		len = strlen(text);
	}
	write_file(path, text, len, 0600);
	free(expanded);
	return config_load(path, errs);
}

static struct config *
load(const char *text, struct config_errors *errs)
{
	return load_bytes(text, 0, errs);
}

static void
dump(const char *what, const struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		fprintf(stderr, "  %s error: %s\n", what, errs->msgs[i]);
	for (size_t i = 0; i < errs->n_warnings; i++)
		fprintf(stderr, "  %s warning: %s\n", what, errs->warnings[i]);
}

/* Is there a message "PATH:LINE: ...want..." (or "PATH: ...want..." for line 0)? */
static bool
has_message(char **msgs, size_t n, unsigned line, const char *want)
{
	char prefix[256];
	char *w = expand(want);
	bool found = false;

	if (line > 0)
		snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", path);
	for (size_t i = 0; i < n && !found; i++)
		found = strncmp(msgs[i], prefix, strlen(prefix)) == 0 &&
		    strstr(msgs[i] + strlen(prefix), w) != NULL;
	free(w);
	return found;
}

/* A file that loads, with no errors and no warnings. */
static struct config *
load_ok(const char *text)
{
	struct config_errors errs;
	struct config *cfg = load(text, &errs);

	if (cfg == NULL || errs.n_warnings != 0) {
		dump("unexpected", &errs);
		fail_msg("expected a clean load of:\n%s", text);
	}
	config_errors_free(&errs);
	return cfg;
}

struct error_case {
	const char *text;
	unsigned line;          /* 0: a file-level message */
	const char *msg;        /* substring of the message after "FILE:LINE: " */
	size_t n_errors;        /* exactly this many errors; 0: at least one */
};

static const struct error_case error_cases[] = {
	/* Syntax */
	{ BASE "just some words\n", 7, "expected 'key = value' or '[section]'", 1 },
	{ BASE "[server\nissuer = x\n", 7, "missing ']' after the section name", 1 },
	{ BASE "[server] junk\n", 7, "unexpected text after [server]", 1 },
	{ BASE "= value\n", 7, "missing key name before '='", 1 },
	{ "issuer = https://a.example.com\n" BASE, 1,
	  "key 'issuer' before any [section]", 1 },
	{ BASE "[frobnicate]\nx = 1\n  continued\n", 7,
	  "unknown section [frobnicate]", 1 },
	{ BASE "[server extra]\n", 7, "unknown section [server extra]", 1 },
	{ BASE "colour = blue\n", 7, "unknown key 'colour' in [ldap]", 1 },
	{ BASE "Timeout = 5\n", 7, "unknown key 'Timeout' in [ldap]", 1 },
	{ BASE "timeout = 5\x01\n", 7, "[ldap] timeout: control character in value", 1 },
	/* Keys that are designed but not built; a refused key's continuation
	 * line is not taken for a key. */
	{ BASE "[server]\ntls_cert = /etc/ssl/a.pem\n  more\ntls_key = x\n", 10,
	  "[server] tls_key: not supported yet", 2 },
	{ BASE "[server]\ntls_cert = /etc/ssl/a.pem\n", 8,
	  "[server] tls_cert: not supported yet", 1 },
	{ BASE "[server]\ntls_key = /etc/ssl/a.key\n", 8,
	  "[server] tls_key: not supported yet", 1 },
	{ BASE "[store]\ndsn = postgresql://db/idb\n", 8,
	  "[store] dsn: not supported yet", 1 },
	{ BASE "[store]\ndriver = postgres\n", 8,
	  "[store] driver: postgres is not supported yet", 1 },
	/* Duplicates name both lines */
	{ BASE "[server]\nissuer = https://b.example.com\n", 8,
	  "duplicate key 'issuer' in [server] (first on line 2)", 1 },
	{ BASE "timeout = 5\ntimeout = 6\n", 8,
	  "duplicate key 'timeout' in [ldap] (first on line 7)", 1 },
	{ BASE "[scopes]\nread = a\nread = b\n", 9,
	  "[scopes] duplicate scope 'read' (first on line 8)", 1 },

	/* [server] */
	{ "[server]\nlisten = 127.0.0.1:0\n" LDAP, 1,
	  "[server] issuer is required", 1 },
	{ LDAP, 0, "[server] issuer is required", 1 },
	{ "[server]\nissuer = http://sso.example.com\n" LDAP, 2,
	  "[server] issuer: 'http://sso.example.com': http:// is only allowed "
	  "for a loopback host", 1 },
	{ "[server]\nissuer = http://10.0.0.1:8080\n" LDAP, 2,
	  "http:// is only allowed for a loopback host", 1 },
	{ "[server]\nissuer = https://sso.example.com/?a=b\n" LDAP, 2,
	  "must not have a query or fragment", 1 },
	{ "[server]\nissuer = https://sso.example.com/#x\n" LDAP, 2,
	  "must not have a query or fragment", 1 },
	{ "[server]\nissuer = ftp://sso.example.com\n" LDAP, 2,
	  "must start with https://", 1 },
	{ "[server]\nissuer = HTTPS://sso.example.com\n" LDAP, 2,
	  "must start with https://", 1 },
	{ "[server]\nissuer = https://\n" LDAP, 2, "has no host", 1 },
	{ "[server]\nissuer = https://u:p@sso.example.com\n" LDAP, 2,
	  "must not contain user information", 1 },
	{ "[server]\nissuer = https://sso.example.com:99999\n" LDAP, 2,
	  "has an invalid port", 1 },
	{ "[server]\nissuer = https://sso.example.com:\n" LDAP, 2,
	  "has an invalid port", 1 },
	{ "[server]\nissuer = https://sso_example.com\n" LDAP, 2,
	  "has an invalid host name", 1 },
	{ "[server]\nissuer = https://[::1x]\n" LDAP, 2,
	  "has an invalid IPv6 address", 1 },
	{ "[server]\nissuer = https://sso.example.com/a b\n" LDAP, 2,
	  "must be percent-encoded", 1 },
	{ "[server]\nissuer =\n" LDAP, 2, "[server] issuer: empty value", 1 },
	{ SERVER "listen = localhost:8080\n" LDAP, 3,
	  "[server] listen: 'localhost:8080': the host must be an IPv4 address "
	  "or a bracketed IPv6 address", 1 },
	{ SERVER "listen = ::1:8080\n" LDAP, 3, "an IPv6 address needs brackets", 1 },
	{ SERVER "listen = [::1]8080\n" LDAP, 3, "expected [IPV6]:PORT", 1 },
	{ SERVER "listen = [::g]:8080\n" LDAP, 3, "invalid IPv6 address", 1 },
	{ SERVER "listen = 127.0.0.1\n" LDAP, 3, "expected ADDRESS:PORT", 1 },
	{ SERVER "listen = 127.0.0.1:65536\n" LDAP, 3,
	  "the port must be a number from 0 to 65535", 1 },
	{ SERVER "listen = 127.0.0.1:\n" LDAP, 3,
	  "the port must be a number from 0 to 65535", 1 },
	{ SERVER "threads = 65\n" LDAP, 3,
	  "[server] threads: '65' is not a number from 0 to 64", 1 },
	{ SERVER "threads = 4x\n" LDAP, 3,
	  "[server] threads: '4x' is not a number from 0 to 64", 1 },
	{ SERVER "threads = -1\n" LDAP, 3, "'-1' is not a number from 0 to 64", 1 },
	{ SERVER "threads = +1\n" LDAP, 3, "'+1' is not a number from 0 to 64", 1 },
	{ SERVER "threads = 99999999999999999999\n" LDAP, 3,
	  "is not a number from 0 to 64", 1 },
	{ SERVER "auth_workers = 0\n" LDAP, 3,
	  "[server] auth_workers: '0' is not a number from 1 to 256", 1 },
	{ SERVER "auth_workers = 257\n" LDAP, 3, "from 1 to 256", 1 },
	{ SERVER "allow_root = maybe\n" LDAP, 3,
	  "[server] allow_root: 'maybe' is not yes or no", 1 },
	{ SERVER "state_dir = var/lib/idbridge\n" LDAP, 3,
	  "[server] state_dir: 'var/lib/idbridge' is not an absolute path", 1 },
	{ SERVER "templates = templates\n" LDAP, 3, "is not an absolute path", 1 },
	{ SERVER "user = bad user\n" LDAP, 3,
	  "[server] user: 'bad user' is not a user name", 1 },
	{ SERVER "trusted_proxies = 10.0.0.1 proxy.example.com\n" LDAP, 3,
	  "[server] trusted_proxies: 'proxy.example.com' is not an IP address", 1 },
	{ SERVER "trusted_proxies = 10.0.0.0/8\n" LDAP, 3,
	  "'10.0.0.0/8' is not an IP address", 1 },

	/* [store] */
	{ BASE "[store]\ndriver = mysql\n", 8,
	  "[store] driver: 'mysql' is not sqlite or postgres", 1 },
	{ BASE "[store]\npath = idbridge.db\n", 8,
	  "[store] path: 'idbridge.db' is not an absolute path", 1 },

	/* [auth] */
	{ BASE "[auth]\nbackend = kerberos\n", 8,
	  "[auth] backend: unknown backend 'kerberos' (known: ldap, pam)", 1 },
	{ BASE "[auth]\nusername_max_length = 0\n", 8,
	  "[auth] username_max_length: '0' is not a number from 1 to 256", 1 },
	{ BASE "[auth]\nusername_max_length = 257\n", 8, "from 1 to 256", 1 },
	{ BASE "[auth]\nusername_chars = ._*\n", 8,
	  "[auth] username_chars: '*' is not allowed: it is special in LDAP "
	  "filters", 1 },
	{ BASE "[auth]\nusername_chars = (\n", 8, "'(' is not allowed", 1 },
	{ BASE "[auth]\nusername_chars = \\\n", 8, "'\\' is not allowed", 1 },
	{ BASE "[auth]\nusername_chars = ._ -\n", 8,
	  "[auth] username_chars: a space is not allowed", 1 },
	{ BASE "[auth]\nusername_chars = .a\n", 8,
	  "'a': letters and digits are always allowed", 1 },
	{ BASE "[auth]\nusername_chars = .\xc3\xa9\n", 8,
	  "only printable ASCII punctuation", 1 },
	{ SERVER "[auth]\nbackend = ldap\n", 4,
	  "[auth] backend is ldap but there is no [ldap] section", 1 },
	{ SERVER, 0, "[auth] backend is ldap but there is no [ldap] section", 1 },

	/* [ldap] */
	{ SERVER "[ldap]\nuser_base = dc=example,dc=org\n"
	  "group_attribute = memberOf\n", 3, "[ldap] uri is required", 1 },
	{ SERVER "[ldap]\nuri = ldaps://ldap.example.com\n", 3,
	  "[ldap] user_base is required", 1 },
	{ BASE "uri = http://ldap.example.com\n", 7,
	  "[ldap] uri: 'http://ldap.example.com' is not an ldap:// or ldaps:// URI", 1 },
	{ BASE "uri = ldapi://%2fvar%2frun%2fslapd\n", 7,
	  "is not an ldap:// or ldaps:// URI", 1 },
	{ BASE "uri = ldaps:///dc=example,dc=org\n", 7,
	  "must be SCHEME://HOST[:PORT]", 1 },
	{ BASE "uri = ldaps://h/dc=example\n", 7, "must be SCHEME://HOST[:PORT]", 1 },
	{ BASE "starttls = yes\n", 7,
	  "[ldap] starttls: cannot be used with an ldaps:// uri", 1 },
	{ BASE "starttls = sometimes\n", 7,
	  "[ldap] starttls: 'sometimes' is not yes or no", 1 },
	{ BASE "ca_file = @DIR@/missing.pem\n", 7,
	  "[ldap] ca_file: cannot read @DIR@/missing.pem: No such file or "
	  "directory", 1 },
	{ BASE "ca_file = @DIR@/subdir\n", 7,
	  "[ldap] ca_file: @DIR@/subdir is not a regular file", 1 },
	{ BASE "ca_file = ca.pem\n", 7, "is not an absolute path", 1 },
	{ BASE "timeout = abc\n", 7,
	  "[ldap] timeout: 'abc' is not a number from 1 to 300", 1 },
	{ BASE "timeout = 0\n", 7, "'0' is not a number from 1 to 300", 1 },
	{ BASE "timeout = 301\n", 7, "'301' is not a number from 1 to 300", 1 },
	{ BASE "timeout = 5 s\n", 7, "'5 s' is not a number from 1 to 300", 1 },
	{ BASE "pool = 65\n", 7, "[ldap] pool: '65' is not a number from 1 to 64", 1 },
	{ BASE "bind_dn = cn=svc,dc=example,dc=org\n", 7,
	  "[ldap] bind_dn: needs bind_password_file or bind_password", 1 },
	{ BASE "bind_dn = svc\n", 7, "[ldap] bind_dn: 'svc' is not a DN", 1 },
	{ BASE "bind_password_file = @DIR@/secret\n", 7,
	  "[ldap] bind_password_file: needs bind_dn", 1 },
	{ BASE "bind_dn = cn=svc,dc=example,dc=org\nbind_password = pw\n"
	  "bind_password_file = @DIR@/secret\n", 9,
	  "[ldap] bind_password (line 8) and bind_password_file (line 9): give "
	  "only one", 1 },
	{ BASE "bind_dn = cn=svc,dc=example,dc=org\n"
	  "bind_password_file = @DIR@/missing\n", 8,
	  "[ldap] bind_password_file: cannot read @DIR@/missing: No such file or "
	  "directory", 1 },
	{ BASE "bind_dn = cn=svc,dc=example,dc=org\n"
	  "bind_password_file = @DIR@/subdir\n", 8,
	  "[ldap] bind_password_file: @DIR@/subdir is not a regular file", 1 },
	{ BASE "bind_dn = cn=svc,dc=example,dc=org\n"
	  "bind_password_file = @DIR@/secret-empty\n", 8,
	  "[ldap] bind_password_file: @DIR@/secret-empty is empty", 1 },
	{ BASE "bind_dn = cn=svc,dc=example,dc=org\n"
	  "bind_password_file = @DIR@/secret-newline\n", 8, "is empty", 1 },
	{ BASE "bind_dn = cn=svc,dc=example,dc=org\n"
	  "bind_password_file = @DIR@/secret-big\n", 8,
	  "[ldap] bind_password_file: @DIR@/secret-big is larger than 4096 bytes", 1 },
	{ BASE "bind_dn = cn=svc,dc=example,dc=org\n"
	  "bind_password_file = secret\n", 8, "is not an absolute path", 1 },
	{ BASE "bind_dn = cn=svc,dc=example,dc=org\nbind_password =\n", 8,
	  "[ldap] bind_password: empty value", 1 },
	{ BASE "user_filter = (objectClass=person)\n", 7,
	  "[ldap] user_filter: must contain %u", 1 },
	{ BASE "user_filter = (cn=100%%u)\n", 7, "must contain %u", 1 },
	{ BASE "user_filter = uid=%u\n", 7,
	  "[ldap] user_filter: 'uid=%u': filter must start with '('", 1 },
	{ BASE "user_filter = (uid=%x)\n", 7, "unknown placeholder", 1 },
	{ BASE "user_filter = (&(uid=%u)\n", 7, "unbalanced", 1 },
	{ BASE "disabled_filter = (a\n", 7, "[ldap] disabled_filter:", 1 },
	{ BASE "group_filter = (member=%d)\n", 7,
	  "[ldap] group_filter: needs group_base", 1 },
	{ BASE "group_filter = member=%d\n", 7, "[ldap] group_filter: 'member=%d'", 1 },
	{ BASE "nested_groups = maybe\n", 7,
	  "[ldap] nested_groups: 'maybe' is not no, yes or ad", 1 },
	{ BASE "nested_groups = ad\n", 7,
	  "[ldap] nested_groups: ad needs group_base", 1 },
	{ BASE "nested_depth = 17\n", 7,
	  "[ldap] nested_depth: '17' is not a number from 1 to 16", 1 },
	{ BASE "nested_depth = 0\n", 7, "from 1 to 16", 1 },
	{ BASE "id_attribute = object GUID\n", 7,
	  "[ldap] id_attribute: 'object GUID' is not an attribute name", 1 },
	{ BASE "mail_attribute = -mail\n", 7, "is not an attribute name", 1 },
	{ SERVER "[ldap]\nuri = ldaps://ldap.example.com\nuser_base = people\n"
	  "group_attribute = memberOf\n", 5,
	  "[ldap] user_base: 'people' is not a DN", 1 },
	{ BASE "group_base = ou=groups,,\n", 7,
	  "[ldap] group_base: 'ou=groups,,' is not a DN", 1 },

	/* [pam] */
	{ BASE "[pam]\nservice = ../etc/shadow\n", 8,
	  "[pam] service: '../etc/shadow' is not a PAM service name", 1 },
	{ BASE "[pam]\nservice =\n", 8, "[pam] service: empty value", 1 },
	{ BASE "[pam]\nsvc = x\n", 8, "unknown key 'svc' in [pam]", 1 },
	{ BASE "[pam]\nworkers = 0\n", 8,
	  "[pam] workers: '0' is not a number from 1 to 16", 1 },
	{ BASE "[pam]\nworkers = 17\n", 8, "from 1 to 16", 1 },

	/* [scopes] */
	{ BASE "[scopes]\nread:resource =\n", 8,
	  "[scopes] read:resource: no members (use * for every signed-in user)", 1 },
	{ BASE "[scopes]\nread:resource = ; nobody\n", 8, "no members", 1 },
	{ BASE "[scopes]\nre\"ad = eng\n", 8,
	  "[scopes] 're\\x22ad' is not a scope name", 1 },
	{ BASE "[scopes]\nread:resource\n", 8,
	  "[scopes] expected 'scope = members'", 1 },
	{ BASE "[scopes]\nread resource\n", 8,
	  "expected 'key = value' or '[section]'", 1 },
	{ BASE "[scopes]\n= eng\n", 8, "[scopes] missing scope name before '='", 1 },
	{ BASE "[scopes]\nread = eng*\n", 8,
	  "[scopes] read: 'eng*': no wildcards", 1 },
	{ BASE "[scopes]\nread = user:\n", 8,
	  "[scopes] read: 'user:' needs a user name", 1 },
	{ BASE "[scopes]\nread = cn=eng,,dc=x\n", 8,
	  "[scopes] read: 'cn=eng,,dc=x' is not a group DN", 1 },

	/* [tokens] */
	{ BASE "[tokens]\naccess_ttl = 59\n", 8,
	  "[tokens] access_ttl: '59' is not a number from 60 to 86400", 1 },
	{ BASE "[tokens]\naccess_ttl = 86401\n", 8, "from 60 to 86400", 1 },
	{ BASE "[tokens]\nrefresh_ttl = 299\n", 8,
	  "[tokens] refresh_ttl: '299' is not a number from 300 to 31536000", 1 },
	{ BASE "[tokens]\ncode_ttl = 601\n", 8,
	  "[tokens] code_ttl: '601' is not a number from 10 to 600", 1 },
	{ BASE "[tokens]\ncode_ttl = 9\n", 8, "from 10 to 600", 1 },
	{ BASE "[tokens]\nsigning_alg = HS256\n", 8,
	  "[tokens] signing_alg: 'HS256' is not RS256, ES256 or EdDSA", 1 },
	{ BASE "[tokens]\nsigning_alg = none\n", 8, "'none' is not RS256", 1 },
	{ BASE "[tokens]\nsigning_alg = rs256\n", 8, "'rs256' is not RS256", 1 },
	{ BASE "[tokens]\ndirectory_cache_ttl = 3601\n", 8,
	  "[tokens] directory_cache_ttl: '3601' is not a number from 0 to 3600", 1 },
	/* [apikeys] last_used_interval: 0 would write on every use; an hour at most. */
	{ BASE "[apikeys]\nlast_used_interval = 0\n", 8,
	  "[apikeys] last_used_interval: '0' is not a number from 1 to 3600", 1 },
	{ BASE "[apikeys]\nlast_used_interval = 3601\n", 8,
	  "[apikeys] last_used_interval: '3601' is not a number from 1 to 3600", 1 },
	{ BASE "[apikeys]\nlast_used_interval = 5s\n", 8,
	  "[apikeys] last_used_interval: '5s' is not a number", 1 },
	{ BASE "[tokens]\nrefresh_max_ttl = 31536001\n", 8,
	  "[tokens] refresh_max_ttl: '31536001' is not a number", 1 },
	{ BASE "[tokens]\nrefresh_max_ttl = 86400\n", 8,
	  "[tokens] refresh_max_ttl (86400) must be at least refresh_ttl (2592000)",
	  1 },
	{ BASE "[tokens]\nrefresh_ttl = 8000000\n", 8,
	  "[tokens] refresh_max_ttl (7776000) must be at least refresh_ttl "
	  "(8000000)", 1 },
	{ BASE "[tokens]\nrefresh_max_ttl = 3600\nrefresh_ttl = 7200\n", 8,
	  "refresh_max_ttl (3600) must be at least refresh_ttl (7200)", 1 },
	{ BASE "[tokens]\ngroups_claim = some\n", 8,
	  "[tokens] groups_claim: 'some' is not mapped, none or all", 1 },
	{ BASE "[tokens]\nid_ttl = 5\n", 8, "unknown key 'id_ttl' in [tokens]", 1 },
	{ BASE "[tokens]\naccess_ttl = 900\n[tokens]\naccess_ttl = 600\n", 10,
	  "duplicate key 'access_ttl' in [tokens] (first on line 8)", 1 },

	/* [client NAME]: the name is the client_id */
	{ SCOPED "[client]\nname = x\n", 10, "[client] needs a name: [client NAME]", 1 },
	{ SCOPED "[client a:b]\nname = x\n", 10,
	  "[client a:b]: the client_id must be 1 to 64 printable ASCII characters "
	  "without space", 1 },
	{ SCOPED "[client a\"b]\n", 10, "the client_id must be", 1 },
	{ SCOPED "[client a\\b]\n", 10, "the client_id must be", 1 },
	{ SCOPED "[client a b]\n", 10, "the client_id must be", 1 },
	{ SCOPED "[client j\xc3\xafra]\n", 10, "the client_id must be", 1 },
	{ SCOPED "[client "
	  "x123456789x123456789x123456789x123456789x123456789x123456789xxxxx]\n",
	  10, "the client_id must be", 1 },
	/* The keys of a refused section are skipped, not reported again. */
	{ SCOPED "[client a:b]\nname = x\nbogus = 1\n", 10, "the client_id", 1 },
	/* Required keys, reported at the section header */
	{ SCOPED "[client jira]\nsecret = " H1 "\n"
	  "redirect_uri = https://a.example/cb\nscopes = read\n", 10,
	  "[client jira] name is required", 1 },
	{ SCOPED "[client jira]\nname = J\nsecret = " H1 "\nscopes = read\n", 10,
	  "[client jira] redirect_uri is required", 1 },
	{ SCOPED "[client jira]\nname = J\nsecret = " H1 "\n"
	  "redirect_uri = https://a.example/cb\n", 10,
	  "[client jira] scopes is required", 1 },
	{ CH, 10, "[client jira] needs a secret (sha256:", 1 },
	{ SCOPED "[client jira]\nname =\nsecret = " H1 "\n"
	  "redirect_uri = https://a.example/cb\nscopes = read\n", 11,
	  "[client jira] name: empty value", 1 },
	{ CLIENT_OK "colour = red\n", 15, "unknown key 'colour' in [client jira]", 1 },
	{ CLIENT_OK "name = Other\n", 15,
	  "duplicate key 'name' in [client jira] (first on line 11)", 1 },
	/* A repeated section is the same client. */
	{ CLIENT_OK "[client jira]\nname = Other\n", 16,
	  "duplicate key 'name' in [client jira] (first on line 11)", 1 },
	/* secret */
	{ CH "secret = s3cret-value\n", 14,
	  "[client jira] secret: expected sha256:<64 hex digits>, the second line "
	  "of `idbridge secret` (never the secret itself)", 1 },
	{ CH "secret = sha256:0011\n", 14, "expected sha256:<64 hex digits>", 1 },
	{ CH "secret = sha256:g0112233445566778899aabbccddeeff00112233445566778899"
	  "aabbccddeeff\n", 14, "expected sha256:<64 hex digits>", 1 },
	{ CH "secret = SHA256:00112233445566778899aabbccddeeff00112233445566778899"
	  "aabbccddeeff\n", 14, "expected sha256:<64 hex digits>", 1 },
	{ CH "secret = " H1 " " H2 "\nsecret = " H3 "\n", 15,
	  "[client jira] secret: at most 2 secrets (two while rotating)", 1 },
	{ CH "secret = " H1 "\nsecret = " H1 "\n", 15,
	  "[client jira] secret: the same secret is given twice", 1 },
	/* public, pkce, consent, introspect */
	{ CH "public = yes\nsecret = " H1 "\n", 15,
	  "[client jira] secret: a public client has no secret", 1 },
	{ CH "public = yes\npkce = optional\n", 15,
	  "[client jira] pkce: a public client always requires PKCE", 1 },
	{ CH "public = yes\nintrospect = yes\n", 15,
	  "[client jira] introspect: a public client cannot authenticate", 1 },
	{ CH "public = maybe\n", 14, "[client jira] public: 'maybe' is not yes or no",
	  0 },
	{ CLIENT_OK "pkce = sometimes\n", 15,
	  "[client jira] pkce: 'sometimes' is not required or optional", 1 },
	{ CLIENT_OK "consent = never\n", 15,
	  "[client jira] consent: 'never' is not ask or skip", 1 },
	{ CLIENT_OK "introspect = perhaps\n", 15,
	  "[client jira] introspect: 'perhaps' is not yes or no", 1 },
	/* scopes: defined in [scopes], wherever that section is */
	{ SCOPED "[client jira]\nname = J\nsecret = " H1 "\n"
	  "redirect_uri = https://a.example/cb\nscopes = read nope\n", 14,
	  "[client jira] scopes: 'nope' is not defined in [scopes]", 1 },
	{ SCOPED "[client jira]\nname = J\nsecret = " H1 "\n"
	  "redirect_uri = https://a.example/cb\nscopes = read\n  write read\n", 14,
	  "[client jira] scopes: 'read' is listed twice", 1 },
	{ SCOPED "[client jira]\nname = J\nsecret = " H1 "\n"
	  "redirect_uri = https://a.example/cb\nscopes = re\"ad\n", 14,
	  "[client jira] scopes: 're\\x22ad' is not a scope name", 0 },
	/* redirect_uri: exact strings, so every bad shape is refused here */
	{ REDIRECT("http://example.com/cb"), 15,
	  "[client jira] redirect_uri: 'http://example.com/cb' http:// is only "
	  "allowed for a loopback host", 1 },
	{ REDIRECT("http://127.0.0.1.nip.io/cb"), 15,
	  "http:// is only allowed for a loopback host", 1 },
	{ REDIRECT("http://10.0.0.1:8080/cb"), 15,
	  "http:// is only allowed for a loopback host", 1 },
	{ REDIRECT("https://example.com/cb#top"), 15,
	  "'https://example.com/cb#top' must not have a fragment ('#')", 1 },
	{ REDIRECT("https://example.com/cb#"), 15, "must not have a fragment", 1 },
	{ REDIRECT("https://*.example.com/cb"), 15,
	  "must not contain '*': redirect URIs match exactly", 1 },
	{ REDIRECT("https://example.com/*"), 15, "must not contain '*'", 1 },
	{ REDIRECT("/oauth/callback"), 15,
	  "'/oauth/callback' is not an absolute URI", 1 },
	{ REDIRECT("example.com/cb"), 15, "is not an absolute URI", 1 },
	{ REDIRECT("com.example.app:/cb"), 15, "is not an absolute URI", 1 },
	{ REDIRECT("ftp://example.com/cb"), 15, "must start with https://", 1 },
	{ REDIRECT("HTTPS://example.com/cb"), 15, "must start with https://", 1 },
	{ REDIRECT("https://user:pw@example.com/cb"), 15,
	  "must not contain user information ('@')", 1 },
	{ REDIRECT("https://evil.example@example.com/cb"), 15,
	  "must not contain user information", 1 },
	{ REDIRECT("https:///cb"), 15, "has no host", 1 },
	{ REDIRECT("https://example.com:0/cb"), 15, "has an invalid port", 1 },
	{ REDIRECT("https://example.com:/cb"), 15, "has an invalid port", 1 },
	{ REDIRECT("https://exa_mple.com/cb"), 15, "has an invalid host name", 1 },
	{ REDIRECT("https://[::g]/cb"), 15, "has an invalid IPv6 address", 1 },
	{ REDIRECT("https://example.com/a<b"), 15, "must be percent-encoded", 1 },
	{ REDIRECT("https://chat.openai.com/aip/plugin-1/oauth/callback"), 15,
	  "is listed twice", 1 },
	{ CLIENT_OK "redirect_uri = https://a.example/1 https://a.example/2 "
	  "https://a.example/3 https://a.example/4 https://a.example/5\n"
	  "redirect_uri = https://a.example/6 https://a.example/7 "
	  "https://a.example/8 https://a.example/9 https://a.example/10\n"
	  "redirect_uri = https://a.example/11 https://a.example/12 "
	  "https://a.example/13 https://a.example/14 https://a.example/15\n"
	  "redirect_uri = https://a.example/16\n", 18,
	  "[client jira] redirect_uri: too many redirect URIs (max 16)", 1 },

	/* [plugin NAME] */
	{ CLIENT_OK "[plugin]\nauth = none\n", 15, "[plugin] needs a name", 1 },
	{ CLIENT_OK "[plugin a/b]\nauth = none\n", 15,
	  "[plugin a/b]: a plugin name is 1 to 64 letters, digits, '.', '_' or '-'",
	  1 },
	{ CLIENT_OK "[plugin a:b]\n", 15, "a plugin name is", 1 },
	{ PLUGIN "client = jira\n", 15,
	  "[plugin jira] auth is required (none, service_http, user_http or oauth)",
	  1 },
	{ PLUGIN "auth = basic\n", 16,
	  "[plugin jira] auth: 'basic' is not none, service_http, user_http or oauth",
	  1 },
	{ PLUGIN "auth = OAuth\n", 16, "'OAuth' is not none", 1 },
	{ PLUGIN "auth = oauth\napi_url = https://api.example.com/openapi.yaml\n",
	  15, "[plugin jira] client is required with auth = oauth", 1 },
	{ PLUGIN "auth = oauth\nclient = nosuch\naudience = https://a.example\n",
	  17, "[plugin jira] client: there is no [client nosuch]", 1 },
	{ PLUGIN "auth = oauth\nclient = a:b\naudience = https://a.example\n",
	  17, "[plugin jira] client: 'a:b' is not a client_id", 1 },
	{ PLUGIN "auth = service_http\nservice_secret = " H1 "\nclient = jira\n",
	  18, "[plugin jira] client: only for auth = oauth", 1 },
	{ PLUGIN "auth = oauth\nclient = jira\n", 15,
	  "[plugin jira] needs audience or api_url with auth = oauth", 1 },
	{ PLUGIN "auth = oauth\nclient = jira\naudience = http://api.example.com\n",
	  18, "[plugin jira] audience: 'http://api.example.com' http:// is only "
	  "allowed for a loopback host", 1 },
	{ PLUGIN "auth = oauth\nclient = jira\naudience = https://a.example/?x\n",
	  18, "[plugin jira] audience: 'https://a.example/?x' must not have a query "
	  "or fragment", 1 },
	{ PLUGIN "auth = oauth\nclient = jira\naudience = jira-api\n", 18,
	  "[plugin jira] audience: 'jira-api' must start with https://", 1 },
	{ PLUGIN "auth = oauth\nclient = jira\naudience = https://u@a.example\n",
	  18, "must not contain user information", 1 },
	{ PLUGIN "auth = oauth\nclient = jira\napi_url = https://a.example/#x\n",
	  18, "[plugin jira] api_url: 'https://a.example/#x' must not have a "
	  "fragment", 1 },
	{ PLUGIN "auth = oauth\nclient = jira\napi_url = openapi.yaml\n", 18,
	  "[plugin jira] api_url: 'openapi.yaml' must start with https://", 1 },
	{ PLUGIN "auth = none\napi_url = http://api.example.com/openapi.yaml\n", 17,
	  "http:// is only allowed for a loopback host", 1 },
	{ CLIENT_OK "[plugin a]\nauth = oauth\nclient = jira\n"
	  "audience = https://a.example\n[plugin b]\nauth = oauth\n"
	  "client = jira\naudience = https://b.example\n", 21,
	  "[plugin b] client: [client jira] is already the client of [plugin a] "
	  "(line 15)", 1 },
	/* The manifest keys (a plugin with one needs them all: MANIFEST). */
	{ PLUGIN "auth = none\nname_for_human = "
	  "123456789012345678901234567890123456789012345678901\n" MANIFEST_REST, 17,
	  "[plugin jira] name_for_human: 51 characters, at most 50 are allowed", 1 },
	{ PLUGIN "auth = none\nname_for_human = Jira\xff\n" MANIFEST_REST, 17,
	  "[plugin jira] name_for_human: not valid UTF-8", 1 },
	{ PLUGIN "auth = none\nname_for_human = \xc0\xaf\n" MANIFEST_REST, 17,
	  "[plugin jira] name_for_human: not valid UTF-8", 1 },
	{ PLUGIN "auth = none\nname_for_human = \xed\xa0\x80\n" MANIFEST_REST, 17,
	  "[plugin jira] name_for_human: not valid UTF-8", 1 },
	{ PLUGIN "auth = none\nname_for_model = jira-issues\n", 17,
	  "[plugin jira] name_for_model: 'jira-issues' may hold only letters, "
	  "digits and '_'", 0 },
	{ PLUGIN "auth = none\nname_for_model = "
	  "a12345678901234567890123456789012345678901234567890\n", 17,
	  "[plugin jira] name_for_model: 51 characters, at most 50", 0 },
	{ PLUGIN "auth = none\ndescription_for_human = " D121 "\n", 17,
	  "[plugin jira] description_for_human: 121 characters, at most 120", 0 },
	{ PLUGIN "auth = none\nlogo_url = http://jira.example.com/logo.png\n", 17,
	  "[plugin jira] logo_url: 'http://jira.example.com/logo.png' http:// is "
	  "only allowed for a loopback host", 0 },
	{ PLUGIN "auth = none\nlogo_url = logo.png\n", 17,
	  "[plugin jira] logo_url: 'logo.png' must start with https://", 0 },
	{ PLUGIN "auth = none\nlegal_info_url = https://a.example/#terms\n", 17,
	  "[plugin jira] legal_info_url: 'https://a.example/#terms' must not have "
	  "a fragment", 0 },
	{ PLUGIN "auth = none\ncontact_email = it.example.com\n", 17,
	  "[plugin jira] contact_email: 'it.example.com' is not an e-mail "
	  "address", 0 },
	{ PLUGIN "auth = none\ncontact_email = a@b@example.com\n", 17,
	  "[plugin jira] contact_email: 'a@b@example.com' is not an e-mail", 0 },
	{ PLUGIN "auth = none\ncontact_email = @example.com\n", 17,
	  "is not an e-mail address", 0 },
	{ PLUGIN "auth = none\ncontact_email = it@\n", 17,
	  "is not an e-mail address", 0 },
	{ PLUGIN "auth = none\ncontact_email = it@exa/mple.com\n", 17,
	  "is not an e-mail address", 0 },
	{ PLUGIN "auth = none\ncontact_email = i<t>@example.com\n", 17,
	  "is not an e-mail address", 0 },
	/* Any manifest key makes the plugin one with a manifest: all needed. */
	{ PLUGIN "auth = none\nname_for_human = Jira\n", 15,
	  "[plugin jira] name_for_model is required for the manifest", 7 },
	{ PLUGIN "auth = none\nname_for_human = Jira\n", 15,
	  "[plugin jira] legal_info_url is required for the manifest", 7 },
	{ PLUGIN "auth = none\nname_for_human = Jira\n", 15,
	  "[plugin jira] api_url is required for the manifest (its OpenAPI "
	  "document)", 7 },
	{ PLUGIN "auth = none\n" MANIFEST_REST, 15,
	  "[plugin jira] name_for_human is required for the manifest", 1 },
	/* Strategy keys */
	{ PLUGIN "auth = oauth\nclient = jira\napi_url = https://a.example/x\n"
	  "verification_token = abc def\n", 19,
	  "[plugin jira] verification_token: expected 1 to 512 printable "
	  "characters without space", 1 },
	{ PLUGIN "auth = none\nverification_token = abc\n", 17,
	  "[plugin jira] verification_token: only for auth = service_http or "
	  "oauth", 1 },
	{ PLUGIN "auth = user_http\nverification_token = abc\n", 17,
	  "[plugin jira] verification_token: only for auth = service_http", 1 },
	{ PLUGIN "auth = oauth\nclient = jira\napi_url = https://a.example/x\n"
	  "authorization_content_type = text/plain\n", 19,
	  "[plugin jira] authorization_content_type: 'text/plain' is not "
	  "application/json or application/x-www-form-urlencoded", 1 },
	{ PLUGIN "auth = oauth\nclient = jira\napi_url = https://a.example/x\n"
	  "authorization_content_type = Application/JSON\n", 19,
	  "'Application/JSON' is not application/json", 1 },
	{ PLUGIN "auth = none\nauthorization_content_type = application/json\n",
	  17, "[plugin jira] authorization_content_type: only for auth = oauth", 1 },
	{ PLUGIN "auth = service_http\n", 15,
	  "[plugin jira] service_secret is required with auth = service_http", 1 },
	{ PLUGIN "auth = service_http\nservice_secret = s3cret\n", 17,
	  "[plugin jira] service_secret: expected sha256:<64 hex digits>", 1 },
	{ PLUGIN "auth = service_http\nservice_secret = " H1 " " H2 "\n"
	  "service_secret = " H3 "\n", 18,
	  "[plugin jira] service_secret: at most 2 secrets (two while rotating)",
	  1 },
	{ PLUGIN "auth = service_http\nservice_secret = " H1 "\n"
	  "service_secret = " H1 "\n", 18,
	  "[plugin jira] service_secret: the same secret is given twice", 1 },
	{ PLUGIN "auth = none\nservice_secret = " H1 "\n", 17,
	  "[plugin jira] service_secret: only for auth = service_http", 1 },
	{ PLUGIN "auth = oauth\nclient = jira\napi_url = https://a.example/x\n"
	  "service_secret = " H1 "\n", 19,
	  "[plugin jira] service_secret: only for auth = service_http", 1 },
	{ PLUGIN "auth = none\nbogus = 1\n", 17,
	  "unknown key 'bogus' in [plugin jira]", 1 },

	/* Every error is reported, in line order. */
	{ BASE "timeout = x\npool = 0\n[nope]\n[server]\nthreads = 100\n", 7,
	  "[ldap] timeout", 4 },
	{ BASE "timeout = x\npool = 0\n[nope]\n[server]\nthreads = 100\n", 8,
	  "[ldap] pool", 4 },
	{ BASE "timeout = x\npool = 0\n[nope]\n[server]\nthreads = 100\n", 9,
	  "unknown section [nope]", 4 },
	{ BASE "timeout = x\npool = 0\n[nope]\n[server]\nthreads = 100\n", 11,
	  "[server] threads", 4 },
};

static void
test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct error_case *c = &error_cases[i];
		struct config_errors errs;
		struct config *cfg = load(c->text, &errs);
		bool ok = cfg == NULL && errs.n > 0 &&
		    has_message(errs.msgs, errs.n, c->line, c->msg) &&
		    (c->n_errors == 0 || errs.n == c->n_errors);

		if (!ok) {
			dump("got", &errs);
			fail_msg("error case %zu: want %zu error(s) incl. line %u: "
			    "\"%s\"", i, c->n_errors, c->line, c->msg);
		}
		config_free(cfg);
		config_errors_free(&errs);
	}
}

/* The PAM backend is built in: backend = pam loads, with its worker count. */
static void
test_backend_pam(void **state)
{
	const struct backend_ops *pam = backend_find("pam");
	struct config *cfg;

	(void)state;
	assert_non_null(pam);
	assert_true(pam->compiled_in);
	cfg = load_ok(BASE "[auth]\nbackend = pam\n");
	assert_string_equal(cfg->auth.backend, "pam");
	assert_int_equal(cfg->pam.workers, IDB_BROKER_DEFAULT_WORKERS);
	config_free(cfg);
	cfg = load_ok(BASE "[auth]\nbackend = pam\n[pam]\nworkers = 16\n");
	assert_int_equal(cfg->pam.workers, 16);
	config_free(cfg);
}

static void
test_cannot_open(void **state)
{
	struct config_errors errs;
	struct config *cfg;
	char want[512];

	(void)state;
	unlink(path);
	cfg = config_load(path, &errs);
	assert_null(cfg);
	assert_int_equal(errs.n, 1);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory",
	    path);
	assert_string_equal(errs.msgs[0], want);
	config_errors_free(&errs);
}

static void
test_defaults(void **state)
{
	struct config *cfg = load_ok(BASE);

	(void)state;
	assert_string_equal(cfg->path, path);
	assert_string_equal(cfg->server.issuer, "https://sso.example.com");
	assert_string_equal(cfg->server.listen, "127.0.0.1:8080");
	assert_string_equal(cfg->server.listen_host, "127.0.0.1");
	assert_int_equal(cfg->server.listen_port, 8080);
	assert_int_equal(cfg->server.threads, 0);
	assert_string_equal(cfg->server.state_dir, IDB_LOCALSTATEDIR "/lib/idbridge");
	assert_string_equal(cfg->server.templates, IDB_PKGDATADIR "/templates");
	assert_null(cfg->server.user);
	assert_false(cfg->server.allow_root);
	assert_int_equal(cfg->server.auth_workers, IDB_DEFAULT_AUTH_WORKERS);
	assert_int_equal(cfg->server.trusted_proxies.n, 0);
	assert_int_equal(cfg->store.driver, STORE_SQLITE);
	assert_string_equal(cfg->store.path,
	    IDB_LOCALSTATEDIR "/lib/idbridge/idbridge.db");
	assert_null(cfg->store.dsn);
	assert_string_equal(cfg->auth.backend, "ldap");
	assert_int_equal(cfg->auth.username_max_length, IDB_DEFAULT_USERNAME_LEN);
	assert_string_equal(cfg->auth.username_chars, "._-@");
	assert_true(cfg->ldap.present);
	assert_int_equal(cfg->ldap.uris.n, 1);
	assert_string_equal(cfg->ldap.uris.items[0], "ldaps://ldap.example.com");
	assert_false(cfg->ldap.starttls);
	assert_null(cfg->ldap.ca_file);
	assert_int_equal(cfg->ldap.timeout, 5);
	assert_int_equal(cfg->ldap.pool, 8);
	assert_null(cfg->ldap.bind_dn);
	assert_null(cfg->ldap.bind_password);
	assert_int_equal(cfg->ldap.bind_password_len, 0);
	assert_string_equal(cfg->ldap.user_base, "ou=people,dc=example,dc=org");
	assert_string_equal(cfg->ldap.user_filter,
	    "(&(objectClass=inetOrgPerson)(uid=%u))");
	assert_null(cfg->ldap.group_base);
	assert_null(cfg->ldap.group_filter);
	assert_string_equal(cfg->ldap.group_attribute, "memberOf");
	assert_string_equal(cfg->ldap.group_name_attribute, "cn");
	assert_int_equal(cfg->ldap.nested_groups, LDAP_NESTED_NO);
	assert_int_equal(cfg->ldap.nested_depth, 8);
	assert_string_equal(cfg->ldap.id_attribute, "entryUUID");
	assert_string_equal(cfg->ldap.name_attribute, "displayName");
	assert_string_equal(cfg->ldap.mail_attribute, "mail");
	assert_null(cfg->ldap.disabled_filter);
	assert_false(cfg->pam.present);
	assert_string_equal(cfg->pam.service, "idbridge");
	assert_int_equal(cfg->n_scopes, 0);
	assert_int_equal(cfg->tokens.access_ttl, 900);
	assert_int_equal(cfg->tokens.refresh_ttl, 2592000);
	assert_int_equal(cfg->tokens.code_ttl, 60);
	assert_int_equal(cfg->tokens.signing_alg, SIGNING_RS256);
	assert_int_equal(cfg->tokens.directory_cache_ttl, 300);
	assert_int_equal(cfg->tokens.refresh_max_ttl, 7776000);
	assert_int_equal(cfg->tokens.groups_claim, GROUPS_CLAIM_MAPPED);
	assert_int_equal(cfg->apikeys.last_used_interval, IDB_KEYUSAGE_FLUSH_S);
	assert_int_equal(cfg->n_clients, 0);
	assert_null(cfg->clients);
	assert_int_equal(cfg->n_plugins, 0);
	assert_null(cfg->plugins);
	config_free(cfg);
}

/* Every key given; comments, continuations and list keys on several lines. */
static const char complete[] =
	"; idbridge test configuration\n"                              /* 1 */
	"# both comment styles\n"
	"[server]\n"
	"issuer = https://sso.example.com:8443/idb/   ; trailing slash dropped\n"
	"listen = [::1]:0\n"                                           /* 5 */
	"threads = 4\n"
	"state_dir = /srv/idbridge/\n"
	"templates = /srv/idbridge/templates\n"
	"user = idbridge\n"
	"allow_root = Off\n"                                           /* 10 */
	"auth_workers = 16\n"
	"trusted_proxies = 127.0.0.1 ::1\n"
	"trusted_proxies = 10.1.2.3\n"
	"    192.168.0.1 ; continued list\n"
	"\n"                                                           /* 15 */
	"[store]\n"
	"driver = SQLite\n"
	"path = /srv/db/idbridge.db\n"
	"\n"
	"[auth]\n"                                                     /* 20 */
	"backend = ldap\n"
	"username_max_length = 32\n"
	"username_chars = .-_@+\n"
	"\n"
	"[ldap]\n"                                                     /* 25 */
	"uri = ldap://127.0.0.1:3890 ldap://[::1]:3890\n"
	"uri = ldap://ldap2.example.com\n"
	"starttls = TRUE\n"
	"ca_file = @DIR@/ca.pem\n"
	"timeout = 300\n"                                              /* 30 */
	"pool = 64\n"
	"bind_dn = cn=idbridge , ou=services, dc=example,dc=org\n"
	"bind_password_file = @DIR@/secret\n"
	"user_base = ou=people,dc=example,dc=org\n"
	"user_filter = (&(objectClass=inetOrgPerson)\n"                /* 35 */
	"\t(uid=%u))\n"
	"group_base = ou=groups,dc=example,dc=org\n"
	"group_filter = (|(member=%d)(memberUid=%u))\n"
	"group_attribute = memberOf\n"
	"group_name_attribute = cn\n"                                  /* 40 */
	"nested_groups = ad\n"
	"nested_depth = 16\n"
	"id_attribute = objectGUID\n"
	"name_attribute = displayName\n"
	"mail_attribute = mail;lang-en\n"                              /* 45 */
	"disabled_filter = (userAccountControl:1.2.840.113556.1.4.803:=2)\n"
	"\n"
	"[pam]\n"
	"service = idbridge-test\n"
	"\n"                                                           /* 50 */
	"[scopes]\n"
	"read:resource = engineering support ; two groups\n"
	"write:resource = cn=Admins,ou=groups,dc=example,dc=org\n"
	"    user:alice\n"
	"  ; a comment inside the list\n"                              /* 55 */
	"    user:bob\n"
	"profile = *\n"
	"odd;name = a;b\n";

static void
test_complete(void **state)
{
	struct config *cfg = load_ok(complete);
	const struct config_ldap *l = &cfg->ldap;

	(void)state;
	assert_string_equal(cfg->server.issuer, "https://sso.example.com:8443/idb");
	assert_string_equal(cfg->server.listen, "[::1]:0");
	assert_string_equal(cfg->server.listen_host, "::1");
	assert_int_equal(cfg->server.listen_port, 0);
	assert_int_equal(cfg->server.threads, 4);
	assert_string_equal(cfg->server.state_dir, "/srv/idbridge");
	assert_string_equal(cfg->server.templates, "/srv/idbridge/templates");
	assert_string_equal(cfg->server.user, "idbridge");
	assert_false(cfg->server.allow_root);
	assert_int_equal(cfg->server.auth_workers, 16);
	assert_int_equal(cfg->server.trusted_proxies.n, 4);
	assert_string_equal(cfg->server.trusted_proxies.items[3], "192.168.0.1");
	assert_int_equal(cfg->store.driver, STORE_SQLITE);
	assert_string_equal(cfg->store.path, "/srv/db/idbridge.db");
	assert_string_equal(cfg->auth.backend, "ldap");
	assert_int_equal(cfg->auth.username_max_length, 32);
	assert_string_equal(cfg->auth.username_chars, ".-_@+");
	assert_int_equal(l->uris.n, 3);
	assert_string_equal(l->uris.items[1], "ldap://[::1]:3890");
	assert_string_equal(l->uris.items[2], "ldap://ldap2.example.com");
	assert_true(l->starttls);
	assert_non_null(strstr(l->ca_file, "/ca.pem"));
	assert_int_equal(l->timeout, 300);
	assert_int_equal(l->pool, 64);
	assert_string_equal(l->bind_dn,
	    "cn=idbridge , ou=services, dc=example,dc=org");
	assert_string_equal(l->bind_password, "s3cret");
	assert_int_equal(l->bind_password_len, 6);
	assert_string_equal(l->user_filter,
	    "(&(objectClass=inetOrgPerson) (uid=%u))");
	assert_string_equal(l->group_base, "ou=groups,dc=example,dc=org");
	assert_string_equal(l->group_filter, "(|(member=%d)(memberUid=%u))");
	assert_int_equal(l->nested_groups, LDAP_NESTED_AD);
	assert_int_equal(l->nested_depth, 16);
	assert_string_equal(l->id_attribute, "objectGUID");
	assert_string_equal(l->mail_attribute, "mail;lang-en");
	assert_string_equal(l->disabled_filter,
	    "(userAccountControl:1.2.840.113556.1.4.803:=2)");
	assert_true(cfg->pam.present);
	assert_string_equal(cfg->pam.service, "idbridge-test");

	assert_int_equal(cfg->n_scopes, 4);
	assert_string_equal(cfg->scopes[0].scope, "read:resource");
	assert_int_equal(cfg->scopes[0].line, 52);
	assert_int_equal(cfg->scopes[0].members.n, 2);
	assert_string_equal(cfg->scopes[0].members.items[1], "support");
	assert_string_equal(cfg->scopes[1].scope, "write:resource");
	assert_int_equal(cfg->scopes[1].line, 53);
	assert_int_equal(cfg->scopes[1].members.n, 3);
	assert_string_equal(cfg->scopes[1].members.items[0],
	    "cn=Admins,ou=groups,dc=example,dc=org");
	assert_string_equal(cfg->scopes[1].members.items[1], "user:alice");
	assert_string_equal(cfg->scopes[1].members.items[2], "user:bob");
	assert_string_equal(cfg->scopes[2].scope, "profile");
	assert_string_equal(cfg->scopes[2].members.items[0], "*");
	/* ';' not after a space is part of the text. */
	assert_string_equal(cfg->scopes[3].scope, "odd;name");
	assert_string_equal(cfg->scopes[3].members.items[0], "a;b");
	config_free(cfg);
}

/* [tokens], clients and plugins with every key, in an order that makes
 * [client] refer to scopes defined after it. */
static const char oauth_sections[] =
	SERVER LDAP                                                    /* 1-6 */
	"[tokens]\n"
	"access_ttl = 60\n"
	"refresh_ttl = 86400\n"
	"code_ttl = 600\n"                                             /* 10 */
	"signing_alg = EdDSA\n"
	"directory_cache_ttl = 0\n"
	"refresh_max_ttl = 86400\n"
	"groups_claim = All\n"
	"[client chatgpt-plugin]\n"                                    /* 15 */
	"name = Jira (internal) ; shown on the login page\n"
	"secret = " H1 "\n"
	"secret = " H2 "\n"
	"redirect_uri = https://chat.openai.com/aip/plugin-1/oauth/callback\n"
	"redirect_uri = https://chat.openai.com/aip/g-2/oauth/callback\n" /* 20 */
	"    https://chatgpt.com/aip/g-2/oauth/callback?x=1\n"
	"scopes = read:resource\n"
	"  write:resource\n"
	"pkce = optional\n"
	"consent = skip\n"                                             /* 25 */
	"introspect = yes\n"
	"[client native]\n"
	"name = CLI\n"
	"public = yes\n"
	"redirect_uri = http://127.0.0.1/cb http://[::1]:8080/cb\n"   /* 30 */
	"redirect_uri = http://localhost/cb https://[2001:db8::1]/cb\n"
	"scopes = read:resource\n"
	"[client urn:x]\n"
	"[client also:refused]\n"
	"[plugin jira]\n"                                              /* 35 */
	"auth = oauth\n"
	"client = chatgpt-plugin\n"
	"api_url = https://API.Example.com:443/openapi.yaml\n"
	"[plugin Native_1.x-y]\n"
	"auth = oauth\n"                                               /* 40 */
	"client = native\n"
	"audience = https://native.example.com/api\n"
	"api_url = https://native.example.com:8443/openapi.yaml\n"
	"[plugin alt]\n"
	"auth = user_http\n"                                           /* 45 */
	"api_url = http://[::1]:8080/openapi.yaml\n"
	"[plugin open]\n"
	"auth = none\n"
	"[scopes]\n"
	"read:resource = *\n"                                          /* 50 */
	"write:resource = engineering\n";

static void
test_oauth_sections(void **state)
{
	struct config_errors errs;
	struct config *cfg;

	(void)state;
	/* The two client_ids with ':' are refused; everything else loads. */
	cfg = load(oauth_sections, &errs);
	assert_null(cfg);
	if (errs.n != 2 ||
	    !has_message(errs.msgs, errs.n, 33, "[client urn:x]: the client_id") ||
	    !has_message(errs.msgs, errs.n, 34, "the client_id must be")) {
		dump("got", &errs);
		fail();
	}
	config_errors_free(&errs);
	config_free(cfg);
}

static void
test_oauth_complete(void **state)
{
	static const unsigned char h2_first[] = { 0xff, 0xee, 0xdd, 0xcc };
	char *text = strdup(oauth_sections), *p1, *p2;
	const struct client_cfg *c;
	const struct plugin_cfg *p;
	struct config *cfg;

	(void)state;
	/* Drop the two refused client sections (lines 33 and 34). */
	assert_non_null(text);
	p1 = strstr(text, "[client urn:x]\n");
	p2 = strstr(text, "[plugin jira]\n");
	assert_non_null(p1);
	assert_non_null(p2);
	memmove(p1, p2, strlen(p2) + 1);
	cfg = load_ok(text);
	free(text);

	assert_int_equal(cfg->tokens.access_ttl, 60);
	assert_int_equal(cfg->tokens.refresh_ttl, 86400);
	assert_int_equal(cfg->tokens.code_ttl, 600);
	assert_int_equal(cfg->tokens.signing_alg, SIGNING_EDDSA);
	assert_int_equal(cfg->tokens.directory_cache_ttl, 0);
	assert_int_equal(cfg->tokens.refresh_max_ttl, 86400);
	assert_int_equal(cfg->tokens.groups_claim, GROUPS_CLAIM_ALL);

	assert_int_equal(cfg->n_clients, 2);
	c = &cfg->clients[0];
	assert_string_equal(c->id, "chatgpt-plugin");
	assert_string_equal(c->name, "Jira (internal)");
	assert_int_equal(c->line, 15);
	assert_int_equal(c->n_secrets, 2);
	assert_int_equal(c->secret_hash[0][0], 0x00);
	assert_int_equal(c->secret_hash[0][1], 0x11);
	assert_int_equal(c->secret_hash[0][31], 0xff);
	assert_memory_equal(c->secret_hash[1], h2_first, sizeof(h2_first));
	assert_int_equal(c->redirect_uris.n, 3);
	assert_string_equal(c->redirect_uris.items[0],
	    "https://chat.openai.com/aip/plugin-1/oauth/callback");
	assert_string_equal(c->redirect_uris.items[2],
	    "https://chatgpt.com/aip/g-2/oauth/callback?x=1");
	assert_int_equal(c->scopes.n, 2);
	assert_string_equal(c->scopes.items[1], "write:resource");
	assert_false(c->pkce_required);
	assert_false(c->is_public);
	assert_true(c->consent_skip);
	assert_true(c->introspect);

	c = &cfg->clients[1];
	assert_string_equal(c->id, "native");
	assert_int_equal(c->n_secrets, 0);
	assert_true(c->is_public);
	assert_true(c->pkce_required);
	assert_false(c->consent_skip);
	assert_false(c->introspect);
	assert_int_equal(c->redirect_uris.n, 4);
	assert_string_equal(c->redirect_uris.items[1], "http://[::1]:8080/cb");

	assert_int_equal(cfg->n_plugins, 4);
	p = &cfg->plugins[0];
	assert_string_equal(p->name, "jira");
	assert_int_equal(p->auth, PLUGIN_AUTH_OAUTH);
	assert_string_equal(p->client, "chatgpt-plugin");
	/* The origin of api_url: host lower-cased, the default port dropped. */
	assert_string_equal(p->audience, "https://api.example.com");
	assert_string_equal(p->api_url, "https://API.Example.com:443/openapi.yaml");
	p = &cfg->plugins[1];
	assert_string_equal(p->name, "Native_1.x-y");
	assert_string_equal(p->audience, "https://native.example.com/api");
	p = &cfg->plugins[2];
	assert_int_equal(p->auth, PLUGIN_AUTH_USER_HTTP);
	assert_null(p->client);
	assert_string_equal(p->audience, "http://[::1]:8080");
	p = &cfg->plugins[3];
	assert_int_equal(p->auth, PLUGIN_AUTH_NONE);
	assert_null(p->audience);
	assert_null(p->api_url);

	assert_ptr_equal(config_plugin_for_client(cfg, "chatgpt-plugin"),
	    &cfg->plugins[0]);
	assert_ptr_equal(config_plugin_for_client(cfg, "native"), &cfg->plugins[1]);
	assert_null(config_plugin_for_client(cfg, "nobody"));
	assert_null(config_plugin_for_client(cfg, NULL));
	config_free(cfg);
}

/* The origin keeps a port that is not the scheme's default. */
static void
test_audience_origin(void **state)
{
	static const struct {
		const char *api_url, *audience;
	} cases[] = {
		{ "https://a.example.com/x.yaml", "https://a.example.com" },
		{ "https://a.example.com:8443/x", "https://a.example.com:8443" },
		{ "https://A.EXAMPLE.com", "https://a.example.com" },
		{ "https://a.example.com?q", "https://a.example.com" },
		{ "http://127.0.0.1:80/x", "http://127.0.0.1" },
		{ "http://localhost:443/x", "http://localhost:443" },
		{ "https://[2001:DB8::1]:443/", "https://[2001:db8::1]" },
	};
	char text[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg;

		snprintf(text, sizeof(text), CLIENT_OK "[plugin p]\nauth = oauth\n"
		    "client = jira\napi_url = %s\n", cases[i].api_url);
		cfg = load_ok(text);
		assert_string_equal(cfg->plugins[0].audience, cases[i].audience);
		config_free(cfg);
	}
}

/* Redirect URIs that load, stored exactly as written. */
static void
test_good_redirect_uris(void **state)
{
	static const char punctuation[] = SCOPED
	    "[client a!#$%&'()*+,-./;<=>?@[^_`{|}~]\nname = P\nsecret = " H1 "\n"
	    "redirect_uri = https://a.example/cb\nscopes = read\n";
	struct config *punct;
	static const char *const uris[] = {
		"https://example.com",
		"https://example.com/",
		"https://example.com/cb?client=1&x=%20y",
		"https://example.com:8443/cb",
		"https://[2001:db8::1]/cb",
		"https://claude.ai/api/mcp/auth_callback",
		"https://chatgpt.com/connector/oauth/abc123",
		"http://127.0.0.1/cb",
		"http://127.0.0.1:61000/cb",
		"http://127.9.9.9/cb",
		"http://[::1]/cb",
		"http://[::1]:9/cb",
		"http://localhost/cb",
		"http://LOCALHOST:1234/",
	};
	char text[1024];

	(void)state;
	/* Any printable ASCII but space, '"', '\\' and ':' is a client_id. */
	punct = load_ok(punctuation);
	assert_string_equal(punct->clients[0].id, "a!#$%&'()*+,-./;<=>?@[^_`{|}~");
	config_free(punct);
	for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
		struct config *cfg;

		snprintf(text, sizeof(text), REDIRECT("%s"), uris[i]);
		cfg = load_ok(text);
		assert_int_equal(cfg->clients[0].redirect_uris.n, 2);
		assert_string_equal(cfg->clients[0].redirect_uris.items[1], uris[i]);
		config_free(cfg);
	}
}

/* A pasted secret must not reach the messages (they end up in logs). */
static void
test_secret_not_echoed(void **state)
{
	struct config_errors errs;
	struct config *cfg;

	(void)state;
	cfg = load(CH "secret = Xy7pQ2rS9tUvW3\n", &errs);
	assert_null(cfg);
	assert_int_equal(errs.n, 1);
	assert_null(strstr(errs.msgs[0], "Xy7pQ2rS9tUvW3"));
	config_errors_free(&errs);
}

/* IDB_MAX_CLIENTS sections load; one more is refused at its header. */
static void
test_client_limit(void **state)
{
	size_t cap = strlen(SCOPED) + (IDB_MAX_CLIENTS + 1) * 256;
	char *text = malloc(cap), *p;
	struct config_errors errs;
	struct config *cfg;
	unsigned line;

	(void)state;
	assert_non_null(text);
	p = text + sprintf(text, "%s", SCOPED);
	line = 10;
	for (unsigned i = 0; i < IDB_MAX_CLIENTS; i++) {
		p += sprintf(p, "[client c%u]\nname = C\nsecret = " H1 "\n"
		    "redirect_uri = https://a.example/cb\nscopes = read\n", i);
		line += 5;
	}
	cfg = load_ok(text);
	assert_int_equal(cfg->n_clients, IDB_MAX_CLIENTS);
	config_free(cfg);

	sprintf(p, "[client one-more]\nname = C\n");
	cfg = load(text, &errs);
	assert_null(cfg);
	if (errs.n != 1 || !has_message(errs.msgs, errs.n, line,
	    "too many [client] sections (max 256)")) {
		dump("got", &errs);
		fail();
	}
	config_errors_free(&errs);
	free(text);
}

static void
test_booleans(void **state)
{
	static const struct {
		const char *word;
		bool value;
	} words[] = {
		{ "yes", true }, { "YES", true }, { "true", true }, { "On", true },
		{ "1", true }, { "no", false }, { "False", false }, { "off", false },
		{ "0", false },
	};
	char text[512];

	(void)state;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		struct config *cfg;

		snprintf(text, sizeof(text), SERVER "allow_root = %s\n" LDAP,
		    words[i].word);
		cfg = load_ok(text);
		assert_int_equal(cfg->server.allow_root, words[i].value);
		config_free(cfg);
	}
}

/* [apikeys] last_used_interval: the accepted range, ends included. */
static void
test_last_used_interval(void **state)
{
	static const unsigned seconds[] = { 1, 30, 3600 };
	char text[512];

	(void)state;
	for (size_t i = 0; i < sizeof(seconds) / sizeof(seconds[0]); i++) {
		struct config *cfg;

		snprintf(text, sizeof(text), BASE "[apikeys]\nlast_used_interval = %u\n",
		    seconds[i]);
		cfg = load_ok(text);
		assert_int_equal(cfg->apikeys.last_used_interval, seconds[i]);
		config_free(cfg);
	}
}

/* Issuers and listen addresses that are accepted, and how they are stored. */
static void
test_good_addresses(void **state)
{
	static const struct {
		const char *issuer, *stored;
	} issuers[] = {
		{ "https://sso.example.com", "https://sso.example.com" },
		{ "https://sso.example.com/", "https://sso.example.com" },
		{ "https://sso.example.com:443/a/b//", "https://sso.example.com:443/a/b" },
		{ "https://[2001:db8::1]:8443", "https://[2001:db8::1]:8443" },
		{ "http://127.0.0.1:8080", "http://127.0.0.1:8080" },
		{ "http://127.1.2.3", "http://127.1.2.3" },
		{ "http://[::1]:8080/", "http://[::1]:8080" },
		{ "http://localhost:8080/idb", "http://localhost:8080/idb" },
	};
	static const struct {
		const char *listen, *host;
		unsigned short port;
	} listens[] = {
		{ "0.0.0.0:443", "0.0.0.0", 443 },
		{ "[::]:8080", "::", 8080 },
		{ "127.0.0.1:0", "127.0.0.1", 0 },
		{ "[::1]:65535", "::1", 65535 },
	};
	char text[512];

	(void)state;
	for (size_t i = 0; i < sizeof(issuers) / sizeof(issuers[0]); i++) {
		struct config *cfg;

		snprintf(text, sizeof(text), "[server]\nissuer = %s\n" LDAP,
		    issuers[i].issuer);
		cfg = load_ok(text);
		assert_string_equal(cfg->server.issuer, issuers[i].stored);
		config_free(cfg);
	}
	for (size_t i = 0; i < sizeof(listens) / sizeof(listens[0]); i++) {
		struct config *cfg;

		snprintf(text, sizeof(text), SERVER "listen = %s\n" LDAP,
		    listens[i].listen);
		cfg = load_ok(text);
		assert_string_equal(cfg->server.listen, listens[i].listen);
		assert_string_equal(cfg->server.listen_host, listens[i].host);
		assert_int_equal(cfg->server.listen_port, listens[i].port);
		config_free(cfg);
	}
}

/* A line of len bytes: "; xxx…" */
static char *
comment_line(size_t len)
{
	char *line = malloc(len + 2);

	assert_non_null(line);
	memset(line, 'x', len);
	line[0] = ';';
	line[len] = '\n';
	line[len + 1] = '\0';
	return line;
}

static void
test_long_lines(void **state)
{
	struct config_errors errs;
	struct config *cfg;
	char *ok = comment_line(IDB_MAX_CONFIG_LINE);
	char *too_long = comment_line(IDB_MAX_CONFIG_LINE + 1);
	char *huge = comment_line(5000);
	char *text;

	(void)state;
	/* 199 bytes: fine, also as a key line. */
	assert_int_equal(asprintf(&text, BASE "%s", ok), (int)strlen(BASE) + 200);
	cfg = load_ok(text);
	config_free(cfg);
	free(text);

	/* 200 bytes: refused with its number; later lines keep theirs. */
	assert_true(asprintf(&text, BASE "%stimeout = 0\n%sbogus = 1\n",
	    too_long, huge) > 0);
	cfg = load(text, &errs);
	assert_null(cfg);
	if (errs.n != 4 ||
	    !has_message(errs.msgs, errs.n, 7, "line too long (max 199 bytes)") ||
	    !has_message(errs.msgs, errs.n, 8, "[ldap] timeout: '0'") ||
	    !has_message(errs.msgs, errs.n, 9, "line too long (max 199 bytes)") ||
	    !has_message(errs.msgs, errs.n, 10, "unknown key 'bogus' in [ldap]")) {
		dump("got", &errs);
		fail();
	}
	config_errors_free(&errs);
	free(text);

	/* A key line that is too long: its continuation is not joined elsewhere. */
	assert_true(asprintf(&text, BASE "user_filter = (uid=%%u)%s  (cn=x)\n",
	    too_long + 1) > 0);
	cfg = load(text, &errs);
	assert_null(cfg);
	if (errs.n != 1 || !has_message(errs.msgs, errs.n, 7, "line too long")) {
		dump("got", &errs);
		fail();
	}
	config_errors_free(&errs);
	free(text);
	free(ok);
	free(too_long);
	free(huge);
}

static void
test_continuation(void **state)
{
	struct config_errors errs;
	struct config *cfg;
	char *text, *p;
	size_t n;

	(void)state;
	/* Joined with one space; comments stripped; an indented line after a
	 * section header is a key, not a continuation. */
	cfg = load_ok(SERVER "trusted_proxies =\n  10.0.0.1  ; first\n"
	    "\t10.0.0.2\n[auth]\n  username_chars = ._\n" LDAP);
	assert_int_equal(cfg->server.trusted_proxies.n, 2);
	assert_string_equal(cfg->auth.username_chars, "._");
	config_free(cfg);

	cfg = load_ok(BASE "group_base = ou=groups,\n   dc=example,dc=org\n"
	    "group_filter = (&(objectClass=groupOfNames)\n   (member=%d))\n");
	assert_string_equal(cfg->ldap.group_base, "ou=groups, dc=example,dc=org");
	assert_string_equal(cfg->ldap.group_filter,
	    "(&(objectClass=groupOfNames) (member=%d))");
	config_free(cfg);

	/* A joined value past IDB_MAX_CONFIG_VALUE is refused at the line that
	 * crosses the limit. */
	n = IDB_MAX_CONFIG_VALUE / 100 + 2;
	text = malloc(strlen(BASE) + 64 + n * 104);
	assert_non_null(text);
	p = text + sprintf(text, BASE "[scopes]\nbig = g\n");
	for (size_t i = 0; i < n; i++) {
		p += sprintf(p, "  ");
		memset(p, 'g', 99);
		p += 99;
		*p++ = '\n';
	}
	*p = '\0';
	cfg = load(text, &errs);
	assert_null(cfg);
	/* 1 (g) + 82 * 100 = 8201 > 8192: the 82nd continuation, line 8 + 82. */
	if (errs.n != 1 || !has_message(errs.msgs, errs.n, 90,
	    "[scopes] big: value too long (max 8192 bytes)")) {
		dump("got", &errs);
		fail();
	}
	config_errors_free(&errs);
	free(text);
}

static void
test_bytes(void **state)
{
	static const char nul[] = BASE "timeout = 5\0 6\npool = 0\n";
	static const char crlf[] =
	    "[server]\r\nissuer = https://sso.example.com\r\n[ldap]\r\n"
	    "uri = ldaps://ldap.example.com\r\n"
	    "user_base = ou=people,dc=example,dc=org\r\n"
	    "group_filter = (member=%d)\r\n"
	    "group_base = ou=groups,dc=example,dc=org\r\n";
	static const char bom[] = "\xef\xbb\xbf" BASE;
	struct config_errors errs;
	struct config *cfg;

	(void)state;
	cfg = load_bytes(nul, sizeof(nul) - 1, &errs);
	assert_null(cfg);
	if (errs.n != 2 || !has_message(errs.msgs, errs.n, 7, "NUL byte in line") ||
	    !has_message(errs.msgs, errs.n, 8, "[ldap] pool")) {
		dump("got", &errs);
		fail();
	}
	config_errors_free(&errs);

	cfg = load_bytes(crlf, sizeof(crlf) - 1, &errs);
	assert_non_null(cfg);
	assert_string_equal(cfg->ldap.group_base, "ou=groups,dc=example,dc=org");
	config_free(cfg);
	config_errors_free(&errs);

	cfg = load_bytes(bom, sizeof(bom) - 1, &errs);
	assert_non_null(cfg);
	assert_int_equal(errs.n_warnings, 0);
	config_free(cfg);
	config_errors_free(&errs);
}

static void
test_secret_files(void **state)
{
	struct config_errors errs;
	struct config *cfg;
	char want[512];

	(void)state;
	cfg = load_ok(BASE "bind_dn = cn=svc,dc=example,dc=org\n"
	    "bind_password_file = @DIR@/secret-crlf\n");
	assert_string_equal(cfg->ldap.bind_password, "s3cret");
	assert_int_equal(cfg->ldap.bind_password_len, 6);
	config_free(cfg);

	cfg = load_ok(BASE "bind_dn = cn=svc,dc=example,dc=org\n"
	    "bind_password_file = @DIR@/secret-max\n");
	assert_int_equal(cfg->ldap.bind_password_len, IDB_MAX_SECRET_FILE);
	config_free(cfg);

	/* Inline: the bytes after '=' as inih trims them. */
	cfg = load_ok(BASE "bind_dn = cn=svc,dc=example,dc=org\n"
	    "bind_password = p;w d#\n");
	assert_string_equal(cfg->ldap.bind_password, "p;w d#");
	assert_int_equal(cfg->ldap.bind_password_len, 6);
	config_free(cfg);

	/* World-readable: loads, with a warning that names file and line. */
	cfg = load(BASE "bind_dn = cn=svc,dc=example,dc=org\n"
	    "bind_password_file = @DIR@/secret-world\n", &errs);
	assert_non_null(cfg);
	assert_int_equal(errs.n, 0);
	assert_int_equal(errs.n_warnings, 1);
	snprintf(want, sizeof(want), "%s:8: warning: bind_password_file "
	    "%s/secret-world is readable by everyone (chmod 600)", path, dir);
	assert_string_equal(errs.warnings[0], want);
	config_free(cfg);
	config_errors_free(&errs);
}

/*
 * head, then a value of chars characters: 'x' in lines of at most 100,
 * each line after the first a continuation (joined with one space).
 */
static char *
long_value_text(const char *head, size_t chars)
{
	char *text = malloc(strlen(head) + 2 * chars + 2), *o;

	assert_non_null(text);
	o = text + sprintf(text, "%s", head);
	for (size_t i = 0; i < chars; i++) {
		if (i % 100 == 99 && i + 1 < chars)
			o += sprintf(o, "\n  ");	/* the joined space */
		else
			*o++ = 'x';
	}
	*o++ = '\n';
	*o = '\0';
	return text;
}

static void
test_plugin_manifest(void **state)
{
	static const unsigned char h2_first[] = { 0xff, 0xee, 0xdd, 0xcc };
	struct config_errors errs;
	const struct plugin_cfg *p;
	struct config *cfg;
	char *text;

	(void)state;
	/* Every strategy with a complete manifest, in one file. */
	cfg = load_ok(CLIENT_OK
	    "[plugin jira]\n" "auth = oauth\n" "client = jira\n"
	    "authorization_content_type = application/x-www-form-urlencoded\n"
	    "verification_token = 8c1a2b3c4d+/=_-.~!\n" MANIFEST
	    "[plugin svc]\n" "auth = service_http\n"
	    "service_secret = " H1 "\n" "service_secret = " H2 "\n"
	    "verification_token = svc-token\n" MANIFEST
	    "[plugin keys]\n" "auth = user_http\n" MANIFEST
	    "[plugin open]\n" "auth = none\n" "api_url = https://o.example/x\n"
	    "name_for_human = Zwanzig Zeichen: äöü\n"
	    "name_for_model = open_1\n"
	    "description_for_human = d\n"
	    "description_for_model = m\n"
	    "logo_url = http://127.0.0.1:8080/logo.png\n"
	    "contact_email = first.last+it@mail.example-corp.com\n"
	    "legal_info_url = https://example.com/legal?lang=de\n"
	    "[plugin bare]\n" "auth = none\n");
	assert_int_equal(cfg->n_plugins, 5);
	p = &cfg->plugins[0];
	assert_true(p->has_manifest);
	assert_int_equal(p->content_type, PLUGIN_CT_FORM);
	assert_string_equal(p->verification_token, "8c1a2b3c4d+/=_-.~!");
	assert_string_equal(p->name_for_human, "Jira");
	assert_string_equal(p->name_for_model, "jira");
	assert_string_equal(p->description_for_human, "Find and update Jira issues.");
	/* The continuation line is joined with one space. */
	assert_string_equal(p->description_for_model, "Search Jira issues by JQL; "
	    "create and comment on issues for the signed-in employee.");
	assert_string_equal(p->logo_url, "https://jira-plugin.example.com/logo.png");
	assert_string_equal(p->contact_email, "it-help@example.com");
	assert_string_equal(p->legal_info_url, "https://example.com/legal");
	assert_int_equal(p->n_service_secrets, 0);
	p = &cfg->plugins[1];
	assert_int_equal(p->auth, PLUGIN_AUTH_SERVICE_HTTP);
	assert_int_equal(p->n_service_secrets, 2);
	assert_int_equal(p->service_secret_hash[0][1], 0x11);
	assert_memory_equal(p->service_secret_hash[1], h2_first, sizeof(h2_first));
	assert_int_equal(p->content_type, PLUGIN_CT_JSON);	/* the default */
	p = &cfg->plugins[2];
	assert_true(p->has_manifest);
	assert_null(p->verification_token);
	p = &cfg->plugins[3];
	assert_true(p->has_manifest);
	assert_string_equal(p->name_for_human, "Zwanzig Zeichen: äöü");
	assert_string_equal(p->logo_url, "http://127.0.0.1:8080/logo.png");
	p = &cfg->plugins[4];
	assert_false(p->has_manifest);
	assert_null(p->name_for_human);
	assert_ptr_equal(config_plugin_by_name(cfg, "svc"), &cfg->plugins[1]);
	assert_null(config_plugin_by_name(cfg, "SVC"));
	assert_null(config_plugin_by_name(cfg, "nosuch"));
	config_free(cfg);

	assert_true(config_plugin_name_valid("Native_1.x-y"));
	assert_false(config_plugin_name_valid(""));
	assert_false(config_plugin_name_valid("a/b"));
	assert_false(config_plugin_name_valid(".."
	    "/x"));

	/* Over 20 characters in name_for_human: advised against, warned. */
	cfg = load(PLUGIN "auth = none\n"
	    "name_for_human = 123456789012345678901\n" MANIFEST_REST, &errs);
	assert_non_null(cfg);
	if (errs.n_warnings != 1 || !has_message(errs.warnings, 1, 17,
	    "warning: [plugin jira] name_for_human: 21 characters; at most 20 "
	    "are advised")) {
		dump("got", &errs);
		fail();
	}
	config_free(cfg);
	config_errors_free(&errs);

	/* A manifest with service_http or oauth but no verification_token. */
	cfg = load(PLUGIN "auth = service_http\nservice_secret = " H1 "\n"
	    MANIFEST, &errs);
	assert_non_null(cfg);
	if (errs.n_warnings != 1 || !has_message(errs.warnings, 1, 15,
	    "warning: [plugin jira] has no verification_token: the manifest has "
	    "no verification_tokens until it is set")) {
		dump("got", &errs);
		fail();
	}
	config_free(cfg);
	config_errors_free(&errs);

	/* description_for_model: 8000 characters load, 8001 do not. */
	text = long_value_text(PLUGIN "auth = none\nname_for_human = Long\n"
	    "name_for_model = long\n" "description_for_human = d\n"
	    "logo_url = https://a.example/l.png\n" "contact_email = a@b.example\n"
	    "legal_info_url = https://a.example/legal\n"
	    "api_url = https://a.example/openapi.yaml\n"
	    "description_for_model = ", 8000);
	cfg = load_ok(text);
	assert_int_equal(strlen(cfg->plugins[0].description_for_model), 8000);
	config_free(cfg);
	free(text);
	text = long_value_text(PLUGIN "auth = none\nname_for_human = Long\n"
	    "name_for_model = long\n" "description_for_human = d\n"
	    "logo_url = https://a.example/l.png\n" "contact_email = a@b.example\n"
	    "legal_info_url = https://a.example/legal\n"
	    "api_url = https://a.example/openapi.yaml\n"
	    "description_for_model = ", 8001);
	cfg = load(text, &errs);
	assert_null(cfg);
	if (errs.n != 1 || !has_message(errs.msgs, errs.n, 24,
	    "[plugin jira] description_for_model: 8001 characters, at most 8000 "
	    "are allowed in the manifest")) {
		dump("got", &errs);
		fail();
	}
	config_errors_free(&errs);
	free(text);
}

static void
test_warnings(void **state)
{
	struct config_errors errs;
	struct config *cfg;

	(void)state;
	/* No way to find groups. */
	cfg = load(SERVER LDAP_NO_GROUPS, &errs);
	assert_non_null(cfg);
	if (errs.n_warnings != 1 || !has_message(errs.warnings, errs.n_warnings, 3,
	    "warning: [ldap] has neither group_filter nor group_attribute: users "
	    "get no groups")) {
		dump("got", &errs);
		fail();
	}
	config_free(cfg);
	config_errors_free(&errs);

	/* Passwords in clear text to another machine: refused, not warned. */
	cfg = load(BASE "uri = ldap://ldap2.example.com ldap://127.0.0.1\n", &errs);
	assert_null(cfg);
	if (errs.n != 1 || !has_message(errs.msgs, errs.n, 4,
	    "[ldap] uri: ldap://ldap2.example.com would send passwords "
	    "unencrypted")) {
		dump("got", &errs);
		fail();
	}
	config_errors_free(&errs);

	/* The same with StartTLS, or to this machine only, is fine. */
#define LDAP_PLAIN(uris, extra) SERVER "[ldap]\nuri = " uris "\n" extra \
	"user_base = ou=people,dc=example,dc=org\ngroup_attribute = memberOf\n"
	cfg = load_ok(LDAP_PLAIN("ldap://ldap2.example.com", "starttls = yes\n"));
	config_free(cfg);
	cfg = load_ok(LDAP_PLAIN("ldap://127.0.0.1 ldap://[::1]", ""));
	config_free(cfg);
#undef LDAP_PLAIN

	/* [ldap] may be there while another backend is used; [pam] while
	 * ldap is: neither is an error. */
	cfg = load_ok(BASE "[pam]\nservice = login\n");
	assert_true(cfg->pam.present);
	config_free(cfg);
}

static void
test_loopback(void **state)
{
	static const struct {
		const char *host;
		bool loopback;
	} hosts[] = {
		{ "127.0.0.1", true }, { "127.255.0.9", true }, { "::1", true },
		{ "[::1]", true }, { "localhost", true }, { "LocalHost", true },
		{ "::ffff:127.0.0.1", true },
		{ "128.0.0.1", false }, { "10.0.0.1", false }, { "::2", false },
		{ "localhost.example.com", false }, { "", false }, { "[", false },
		{ "0x7f.1", false }, { "127.1", false }, { NULL, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
		if (config_host_is_loopback(hosts[i].host) != hosts[i].loopback)
			fail_msg("config_host_is_loopback(%s) != %d",
			    hosts[i].host != NULL ? hosts[i].host : "NULL",
			    hosts[i].loopback);
}

/* The shipped example must load: it is what administrators start from. */
static void
test_example(void **state)
{
	struct config_errors errs;
	struct config *cfg;

	(void)state;
	cfg = config_load(IDB_TEST_SRCDIR "/config/idbridge.conf.example", &errs);
	if (cfg == NULL || errs.n_warnings != 0) {
		dump("example", &errs);
		fail();
	}
	assert_true(cfg->n_scopes > 0);
	config_free(cfg);
	config_errors_free(&errs);
}

/*
 * The example's commented client and plugin sections load once the
 * administrator removes one ';' from each line between the markers.
 */
static void
test_example_clients(void **state)
{
	static const char begin[] = "; ---- begin example: clients and plugins ----\n";
	static const char end[] = "; ---- end example ----\n";
	FILE *f = fopen(IDB_TEST_SRCDIR "/config/idbridge.conf.example", "r");
	char *text, *out, *o, *b, *e;
	struct config *cfg;
	long size;

	(void)state;
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size > 0);
	rewind(f);
	text = calloc(1, (size_t)size + 1);
	out = calloc(1, (size_t)size + 1);
	assert_non_null(text);
	assert_non_null(out);
	assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	b = strstr(text, begin);
	e = strstr(text, end);
	assert_non_null(b);
	assert_non_null(e);
	assert_true(b < e);
	b += strlen(begin);
	o = out;
	memcpy(o, text, (size_t)(b - text));
	o += b - text;
	while (b < e) {
		char *nl = strchr(b, '\n');

		assert_int_equal(*b, ';');
		b++;
		memcpy(o, b, (size_t)(nl + 1 - b));
		o += nl + 1 - b;
		b = nl + 1;
	}
	strcpy(o, e);
	/* Written where load_ok reads from (the example has no @DIR@). */
	cfg = load_ok(out);
	assert_int_equal(cfg->n_clients, 2);
	assert_string_equal(cfg->clients[0].id, "jira");
	assert_int_equal(cfg->clients[0].n_secrets, 1);
	assert_int_equal(cfg->clients[0].redirect_uris.n, 3);
	assert_false(cfg->clients[0].pkce_required);
	assert_true(cfg->clients[1].is_public);
	assert_int_equal(cfg->n_plugins, 2);
	assert_string_equal(cfg->plugins[0].audience,
	    "https://jira-plugin.example.com");
	assert_true(cfg->plugins[0].has_manifest);
	assert_int_equal(cfg->plugins[1].auth, PLUGIN_AUTH_SERVICE_HTTP);
	assert_int_equal(cfg->plugins[1].n_service_secrets, 1);
	assert_true(cfg->plugins[1].has_manifest);
	config_free(cfg);
	free(text);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_backend_pam),
		cmocka_unit_test(test_cannot_open),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_complete),
		cmocka_unit_test(test_oauth_sections),
		cmocka_unit_test(test_oauth_complete),
		cmocka_unit_test(test_audience_origin),
		cmocka_unit_test(test_good_redirect_uris),
		cmocka_unit_test(test_secret_not_echoed),
		cmocka_unit_test(test_client_limit),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_last_used_interval),
		cmocka_unit_test(test_good_addresses),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_continuation),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_secret_files),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_plugin_manifest),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_example_clients),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
