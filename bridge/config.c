/*
 * config.c — idbridge.conf: read once with inih, check everything, collect
 * every problem.
 *
 * Debian's inih 55 gives the handler no line numbers and splits a line
 * longer than its 200-byte buffer silently, so inih reads through
 * config_reader() below: it hands inih one line at a time, counts lines,
 * refuses long ones and remembers the section and indentation of the line
 * inih is working on.  The handler only collects (section, key, value,
 * line) entries, joining indented continuation lines; the checks run
 * afterwards over the entries, so every problem in a file is reported in
 * one go and the cross-key rules see the whole file.
 *
 * The reader mirrors inih's own line classification (comment, continuation,
 * section, key) so both agree on what each line is: see classify_line().
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <ldap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "backend.h"
#include "clients.h"
#include "ldap_filter.h"
#include "log.h"
#include "util.h"

#ifndef IDB_LOCALSTATEDIR
#define IDB_LOCALSTATEDIR "/var"
#endif
#ifndef IDB_PKGDATADIR
#define IDB_PKGDATADIR "/usr/share/idbridge"
#endif

#define ISSUER_SHAPE "https://HOST[:PORT][/PATH]"
#define DEFAULT_LISTEN "127.0.0.1:8080"
#define DEFAULT_STATE_DIR IDB_LOCALSTATEDIR "/lib/idbridge"
#define DEFAULT_TEMPLATES IDB_PKGDATADIR "/templates"
#define DEFAULT_BACKEND "ldap"
#define DEFAULT_USERNAME_CHARS "._-@"
#define DEFAULT_USER_FILTER "(&(objectClass=inetOrgPerson)(uid=%u))"
#define DEFAULT_PAM_SERVICE "idbridge"

/* The only whitespace inih knows is isspace() in the C locale. */
#define INI_SPACE " \t\n\v\f\r"

enum section {
	SEC_NONE,	/* before the first [section] line */
	SEC_SERVER,
	SEC_STORE,
	SEC_AUTH,
	SEC_LDAP,
	SEC_PAM,
	SEC_SCOPES,
	SEC_TOKENS,
	SEC_APIKEYS,
	SEC_CLIENT,	/* [client NAME] */
	SEC_PLUGIN,	/* [plugin NAME] */
	SEC_UNKNOWN,	/* already reported; its keys are skipped */
	SEC_COUNT
};

static const struct {
	const char *name;
	enum section sec;
	bool named;	/* "[client NAME]" */
} section_names[] = {
	{ "server", SEC_SERVER, false },
	{ "store", SEC_STORE, false },
	{ "auth", SEC_AUTH, false },
	{ "ldap", SEC_LDAP, false },
	{ "pam", SEC_PAM, false },
	{ "scopes", SEC_SCOPES, false },
	{ "tokens", SEC_TOKENS, false },
	{ "apikeys", SEC_APIKEYS, false },
	{ "client", SEC_CLIENT, true },
	{ "plugin", SEC_PLUGIN, true },
};

/*
 * One [client NAME] or [plugin NAME].  Sections of the same kind and name
 * are one instance, as repeated [server] sections are one section.
 */
struct instance {
	enum section sec;
	char *name;
	char *label;		/* "client jira", for messages */
	unsigned line;		/* its first header */
	size_t index;		/* in cfg->clients or cfg->plugins */
};

/* One "key = value" of the file, continuation lines already joined. */
struct entry {
	enum section sec;
	char *key;
	char *value;
	size_t value_len;
	unsigned line;
	int inst;		/* index in loader.insts, or -1 */
	bool bad;		/* already reported (e.g. too long): not applied */
};

/* A message and the line it belongs to, so the list can be sorted. */
struct message {
	char *text;
	unsigned line;
};

struct loader {
	const char *path;
	struct config *cfg;
	FILE *f;
	char iobuf[4096];	/* stdio's buffer, ours so it can be wiped */
	char *buf;		/* the current line as read (getline) */
	size_t bufsize;
	int read_errno;
	unsigned lineno;

	/* What the reader knows about the line inih is handling. */
	const char *raw;	/* the line, without BOM and newline */
	bool indented;
	enum section sec;
	int cur_inst;		/* the [client/plugin NAME] of sec, or -1 */
	char section_label[128]; /* for messages: "ldap", "client jira" */
	bool have_prev_key;	/* mirrors inih's prev_name */
	bool skip_continuation;	/* the previous key was refused */

	unsigned header_line[SEC_COUNT]; /* first [section] line of each */
	struct instance *insts;
	size_t n_insts;
	size_t n_named[SEC_COUNT];	/* instances of each kind */
	void *target;		/* what key_def.off is relative to */
	struct entry *entries;
	size_t n_entries;

	struct message *errors, *warnings;
	size_t n_errors, n_warnings;
	bool oom;
};

struct key_def;
typedef void key_apply_fn(struct loader *, const struct entry *,
    const struct key_def *);

/* How one key is checked and where it is stored. */
struct key_def {
	const char *name;
	key_apply_fn *apply;
	size_t off;		/* the field in ld->target (config, client, plugin) */
	unsigned min, max;	/* apply_uint */
	bool repeat;		/* may be given several times (lists) */
	bool allow_empty;
	bool secret;		/* never echoed, any byte allowed */
};

/*
 * Messages
 */

static void
add_message(struct loader *ld, bool warning, unsigned line, const char *fmt,
    va_list ap)
{
	struct message **list = warning ? &ld->warnings : &ld->errors;
	size_t *n = warning ? &ld->n_warnings : &ld->n_errors;
	struct message *grown;
	char *body = NULL, *text = NULL;
	int r;

	if (vasprintf(&body, fmt, ap) < 0) {
		body = NULL;
		goto fail;
	}
	if (line > 0)
		r = asprintf(&text, "%s:%u: %s%s", ld->path, line,
		    warning ? "warning: " : "", body);
	else
		r = asprintf(&text, "%s: %s%s", ld->path,
		    warning ? "warning: " : "", body);
	if (r < 0) {
		text = NULL;
		goto fail;
	}
	if ((grown = realloc(*list, (*n + 1) * sizeof(**list))) == NULL)
		goto fail;
	*list = grown;
	(*list)[*n].text = text;
	(*list)[*n].line = line;
	(*n)++;
	free(body);
	return;
fail:
	ld->oom = true;
	free(body);
	free(text);
}

static void cfg_error(struct loader *, unsigned, const char *, ...)
    IDB_PRINTF(3, 4);
static void cfg_warning(struct loader *, unsigned, const char *, ...)
    IDB_PRINTF(3, 4);
static void key_error(struct loader *, const struct entry *, const char *, ...)
    IDB_PRINTF(3, 4);

static void
cfg_error(struct loader *ld, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_message(ld, false, line, fmt, ap);
	va_end(ap);
}

static void
cfg_warning(struct loader *ld, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_message(ld, true, line, fmt, ap);
	va_end(ap);
}

static const char *
section_name(enum section sec)
{
	for (size_t i = 0; i < sizeof(section_names) / sizeof(section_names[0]); i++)
		if (section_names[i].sec == sec)
			return section_names[i].name;
	return "?";
}

/* "ldap", or "client jira" for an entry of a named section. */
static const char *
entry_section(const struct loader *ld, const struct entry *e)
{
	if (e->inst >= 0)
		return ld->insts[e->inst].label;
	return section_name(e->sec);
}

/* "FILE:LINE: [section] key: message" */
static void
key_error(struct loader *ld, const struct entry *e, const char *fmt, ...)
{
	char *body = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&body, fmt, ap);
	va_end(ap);
	if (r < 0) {
		ld->oom = true;
		return;
	}
	cfg_error(ld, e->line, "[%s] %s: %s", entry_section(ld, e), e->key, body);
	free(body);
}

/* Untrusted text in a message: printable, capped (log_safe). */
#define SAFE(buf, s) log_safe((buf), sizeof(buf), (s))

/*
 * Reading: the inih reader and handler
 */

/* inih's rule: ';' starts a comment only after whitespace. */
static const char *
find_chars_or_comment(const char *s, const char *chars)
{
	bool was_space = false;

	while (*s != '\0' && (chars == NULL || strchr(chars, *s) == NULL) &&
	    !(was_space && *s == ';')) {
		was_space = strchr(INI_SPACE, *s) != NULL;
		s++;
	}
	return s;
}

static const char *
lskip(const char *s)
{
	return s + strspn(s, INI_SPACE);
}

/* Length of s[0..len) without trailing whitespace. */
static size_t
rtrim_len(const char *s, size_t len)
{
	while (len > 0 && strchr(INI_SPACE, s[len - 1]) != NULL)
		len--;
	return len;
}

/* Is s[0..len) a plugin name: it appears in URLs (/plugins/NAME/…). */
static bool
plugin_name_valid(const char *s, size_t len)
{
	if (len == 0 || len > IDB_MAX_PLUGIN_NAME_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || strchr("._-", s[i]) != NULL))
			return false;
	return true;
}

/* Check the NAME of [client NAME] / [plugin NAME]; false: skip its keys. */
static bool
named_name_ok(struct loader *ld, const char *kind, const char *name, size_t len)
{
	char sb[LOG_SAFE_BUF];
	bool client = strcmp(kind, "client") == 0;

	if (len == 0) {
		cfg_error(ld, ld->lineno, "[%s] needs a name: [%s NAME]", kind, kind);
		return false;
	}
	if (client ? client_id_valid(name, len) : plugin_name_valid(name, len))
		return true;
	if (client)
		cfg_error(ld, ld->lineno, "[%s]: the client_id must be 1 to %d "
		    "printable ASCII characters without space, '\"', '\\' or ':'",
		    SAFE(sb, ld->section_label), IDB_MAX_CLIENT_ID_LEN);
	else
		cfg_error(ld, ld->lineno, "[%s]: a plugin name is 1 to %d letters, "
		    "digits, '.', '_' or '-'", SAFE(sb, ld->section_label),
		    IDB_MAX_PLUGIN_NAME_LEN);
	return false;
}

/*
 * The argument of a named section header: find or add its instance and
 * make it current.  False when the name is refused (already reported).
 */
static bool
named_section(struct loader *ld, const char *arg, size_t len)
{
	const char *kind = section_name(ld->sec);
	unsigned max = ld->sec == SEC_CLIENT ? IDB_MAX_CLIENTS : IDB_MAX_PLUGINS;
	struct instance *grown, *in;

	while (len > 0 && strchr(INI_SPACE, *arg) != NULL) {
		arg++;
		len--;
	}
	if (!named_name_ok(ld, kind, arg, len))
		return false;
	for (size_t i = 0; i < ld->n_insts; i++) {
		in = &ld->insts[i];
		if (in->sec == ld->sec && strlen(in->name) == len &&
		    memcmp(in->name, arg, len) == 0) {
			ld->cur_inst = (int)i;
			return true;
		}
	}
	if (ld->n_named[ld->sec] >= max) {
		cfg_error(ld, ld->lineno, "too many [%s] sections (max %u)", kind, max);
		return false;
	}
	if ((grown = realloc(ld->insts, (ld->n_insts + 1) * sizeof(*grown))) == NULL)
		goto oom;
	ld->insts = grown;
	in = &ld->insts[ld->n_insts];
	memset(in, 0, sizeof(*in));
	if ((in->name = strndup(arg, len)) == NULL)
		goto oom;
	if (asprintf(&in->label, "%s %s", kind, in->name) < 0) {
		free(in->name);
		goto oom;
	}
	in->sec = ld->sec;
	in->line = ld->lineno;
	in->index = ld->n_named[ld->sec]++;
	ld->cur_inst = (int)ld->n_insts++;
	return true;
oom:
	ld->oom = true;
	return false;
}

static void
section_header(struct loader *ld, const char *start)
{
	const char *end = find_chars_or_comment(start + 1, "]");
	const char *name, *rest;
	size_t name_len, word_len, arg;
	char sb[LOG_SAFE_BUF];
	bool named = false;

	ld->cur_inst = -1;
	if (*end != ']') {
		/* inih keeps the previous section; skip keys until the next. */
		cfg_error(ld, ld->lineno, "missing ']' after the section name");
		ld->sec = SEC_UNKNOWN;
		ld->skip_continuation = true;
		return;
	}
	ld->have_prev_key = false;
	ld->skip_continuation = false;
	name = lskip(start + 1);
	name_len = rtrim_len(name, (size_t)(end - name));
	/* For messages only: a long name is cut here, never when matching. */
	snprintf(ld->section_label, sizeof(ld->section_label), "%.*s",
	    (int)name_len, name);
	rest = lskip(end + 1);
	if (*rest != '\0' && *rest != ';')
		cfg_error(ld, ld->lineno, "unexpected text after [%s]",
		    SAFE(sb, ld->section_label));

	/* "client jira": the word, then whether an argument follows. */
	for (word_len = 0; word_len < name_len; word_len++)
		if (strchr(INI_SPACE, name[word_len]) != NULL)
			break;
	arg = word_len;
	ld->sec = SEC_UNKNOWN;
	for (size_t i = 0; i < sizeof(section_names) / sizeof(section_names[0]); i++) {
		if (strlen(section_names[i].name) != word_len ||
		    strncmp(section_names[i].name, name, word_len) != 0)
			continue;
		if (section_names[i].named || arg == name_len)
			ld->sec = section_names[i].sec;
		named = section_names[i].named;
		break;
	}
	if (ld->sec == SEC_UNKNOWN) {
		cfg_error(ld, ld->lineno, "unknown section [%s]",
		    SAFE(sb, ld->section_label));
		return;
	}
	if (named && !named_section(ld, name + arg, name_len - arg)) {
		ld->sec = SEC_UNKNOWN;
		return;
	}
	if (ld->header_line[ld->sec] == 0)
		ld->header_line[ld->sec] = ld->lineno;
	if (ld->sec == SEC_LDAP)
		ld->cfg->ldap.present = true;
	if (ld->sec == SEC_PAM)
		ld->cfg->pam.present = true;
}

/*
 * Decide what inih will make of this line, in inih's own order: comment,
 * continuation, section, key.  Sections are tracked here (inih truncates
 * long section names and never reports an empty section); lines inih would
 * reject are reported here, with their number, so that every one is.
 */
static void
classify_line(struct loader *ld, const char *line)
{
	const char *start = lskip(line);

	ld->indented = start > line;
	if (*start == '\0' || *start == ';' || *start == '#')
		return;
	if (ld->indented && ld->have_prev_key)
		return;		/* a continuation: the handler joins it */
	if (*start == '[') {
		section_header(ld, start);
		return;
	}
	if (*find_chars_or_comment(start, "=:") == '\0') {
		cfg_error(ld, ld->lineno, "expected 'key = value' or '[section]'");
		ld->skip_continuation = true;
	}
}

static char *
config_reader(char *str, int num, void *stream)
{
	struct loader *ld = stream;
	size_t limit = IDB_MAX_CONFIG_LINE;
	ssize_t n;
	size_t len;
	char *line;

	errno = 0;
	if ((n = getline(&ld->buf, &ld->bufsize, ld->f)) < 0) {
		if (ferror(ld->f))
			ld->read_errno = errno != 0 ? errno : EIO;
		/* inih's line buffer is on its stack: the last line may be a secret. */
		if (num > 0)
			explicit_bzero(str, (size_t)num);
		return NULL;
	}
	ld->lineno++;
	line = ld->buf;
	len = (size_t)n;
	if (ld->lineno == 1 && len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
		line += 3;
		len -= 3;
	}
	if (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	ld->raw = "";
	ld->indented = false;
	if (num > 0 && (size_t)num - 1 < limit)
		limit = (size_t)num - 1;
	if (memchr(line, '\0', len) != NULL) {
		cfg_error(ld, ld->lineno, "NUL byte in line");
		goto skip;
	}
	if (len > limit) {
		cfg_error(ld, ld->lineno, "line too long (max %zu bytes)", limit);
		goto skip;
	}
	memcpy(str, line, len + 1);
	ld->raw = line;
	classify_line(ld, line);
	return str;
skip:
	/* inih sees a blank line, so its line count stays ours. */
	ld->skip_continuation = true;
	str[0] = '\0';
	return str;
}

static struct entry *
new_entry(struct loader *ld, const char *key, const char *value, size_t value_len)
{
	struct entry *grown, *e;

	grown = realloc(ld->entries, (ld->n_entries + 1) * sizeof(*grown));
	if (grown == NULL)
		goto oom;
	ld->entries = grown;
	e = &ld->entries[ld->n_entries];
	memset(e, 0, sizeof(*e));
	e->sec = ld->sec;
	e->inst = ld->cur_inst;
	e->line = ld->lineno;
	e->value_len = value_len;
	if ((e->key = strdup(key)) == NULL)
		goto oom;
	if ((e->value = strndup(value, value_len)) == NULL) {
		free(e->key);
		goto oom;
	}
	ld->n_entries++;
	ld->skip_continuation = false;
	return e;
oom:
	ld->oom = true;
	return NULL;
}

/*
 * An indented line: joined to the previous value with one space.  Debian's
 * inih 55 does not strip an inline comment from a continuation line (later
 * versions do), so it is stripped here, the same way as on a key line.
 */
static void
continuation(struct loader *ld, const char *value)
{
	struct entry *e;
	size_t len, total;
	char *joined;

	if (ld->skip_continuation || ld->n_entries == 0)
		return;
	e = &ld->entries[ld->n_entries - 1];
	if (e->bad)
		return;
	len = (size_t)(find_chars_or_comment(value, NULL) - value);
	len = rtrim_len(value, len);
	if (len == 0)
		return;
	total = e->value_len + (e->value_len > 0 ? 1 : 0) + len;
	if (total > IDB_MAX_CONFIG_VALUE) {
		cfg_error(ld, ld->lineno, "[%s] %s: value too long (max %d bytes)",
		    entry_section(ld, e), e->key, IDB_MAX_CONFIG_VALUE);
		e->bad = true;
		return;
	}
	/* Not realloc: the old copy may hold a secret and must be wiped. */
	if ((joined = malloc(total + 1)) == NULL) {
		ld->oom = true;
		return;
	}
	memcpy(joined, e->value, e->value_len);
	if (e->value_len > 0)
		joined[e->value_len] = ' ';
	memcpy(joined + total - len, value, len);
	joined[total] = '\0';
	free_secret(e->value, e->value_len);
	e->value = joined;
	e->value_len = total;
}

/*
 * A [scopes] line.  Scope names usually contain ':' ("read:resource"),
 * which inih takes as a key/value separator, so the line is split again
 * here, on the first '='.
 */
static void
scope_line(struct loader *ld)
{
	const char *start = lskip(ld->raw), *eq, *value;
	size_t name_len, value_len;
	char *name;

	eq = find_chars_or_comment(start, "=");
	if (*eq != '=') {
		cfg_error(ld, ld->lineno, "[scopes] expected 'scope = members'");
		return;
	}
	name_len = rtrim_len(start, (size_t)(eq - start));
	/* As inih: "x = ; y" is empty, a ';' right after '=' is text. */
	value_len = (size_t)(find_chars_or_comment(eq + 1, NULL) - (eq + 1));
	value = lskip(eq + 1);
	value_len = rtrim_len(value, value_len - (size_t)(value - (eq + 1)));
	if (name_len == 0) {
		cfg_error(ld, ld->lineno, "[scopes] missing scope name before '='");
		return;
	}
	if ((name = strndup(start, name_len)) == NULL) {
		ld->oom = true;
		return;
	}
	(void)new_entry(ld, name, value, value_len);
	free(name);
}

static int
config_handler(void *user, const char *section IDB_UNUSED, const char *name,
    const char *value)
{
	struct loader *ld = user;
	char kb[LOG_SAFE_BUF];

	if (ld->indented && ld->have_prev_key) {
		continuation(ld, value);
		return 1;
	}
	/* A key line: inih remembers its name for continuations. */
	ld->have_prev_key = name[0] != '\0';
	ld->skip_continuation = true;
	switch (ld->sec) {
	case SEC_NONE:
		cfg_error(ld, ld->lineno, "key '%s' before any [section]",
		    SAFE(kb, name));
		break;
	case SEC_UNKNOWN:
		break;
	case SEC_SCOPES:
		scope_line(ld);
		break;
	default:
		if (name[0] == '\0')
			cfg_error(ld, ld->lineno, "missing key name before '='");
		else
			(void)new_entry(ld, name, value, strlen(value));
		break;
	}
	return 1;
}

/*
 * Values
 */

static bool
parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	unsigned long long v = 0;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > max)
			return false;
	}
	if (v < min)
		return false;
	*out = (unsigned)v;
	return true;
}

static bool
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (ascii_strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (ascii_strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static bool
has_control_char(const char *s)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return true;
	return false;
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* letters, digits and the characters in extra; non-empty */
static bool
only_chars(const char *s, const char *extra)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!is_alpha(*s) && !is_digit(*s) && strchr(extra, *s) == NULL)
			return false;
	return true;
}

static bool
is_ip_address(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1;
}

/* An LDAP attribute description: name[;option...] or a numeric OID. */
static bool
is_attribute_name(const char *s)
{
	if (is_digit(*s)) {
		for (; *s != '\0'; s++)
			if (!is_digit(*s) && !(*s == '.' && is_digit(s[1])))
				return false;
		return true;
	}
	if (!is_alpha(*s))
		return false;
	for (; *s != '\0'; s++)
		if (!is_alpha(*s) && !is_digit(*s) && *s != '-' && *s != ';')
			return false;
	return true;
}

static bool
is_dn(const char *s)
{
	LDAPDN dn = NULL;
	int rc;

	if (*s == '\0' || strchr(s, '=') == NULL)
		return false;
	rc = ldap_str2dn(s, &dn, LDAP_DN_FORMAT_LDAPV3);
	ldap_dnfree(dn);
	return rc == LDAP_SUCCESS;
}

/* Is s[0..len) a port number within [min, 65535]? */
static bool
parse_port(const char *s, size_t len, unsigned min, unsigned short *port_r)
{
	char digits[8];
	unsigned v;

	if (len == 0 || len >= sizeof(digits))
		return false;
	memcpy(digits, s, len);
	digits[len] = '\0';
	if (!parse_uint(digits, min, 65535, &v))
		return false;
	if (port_r != NULL)
		*port_r = (unsigned short)v;
	return true;
}

bool
config_host_is_loopback(const char *host)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct in6_addr a6;
	struct in_addr a4;
	size_t len;

	if (host == NULL)
		return false;
	if (ascii_strcasecmp(host, "localhost") == 0)
		return true;
	len = strlen(host);
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		if (len - 2 >= sizeof(buf))
			return false;
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		host = buf;
	}
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		    (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return false;
}

/* An absolute http(s) URL, split (pointers into the string). */
struct url {
	bool http;		/* http:// rather than https:// */
	bool bracketed;		/* an IPv6 literal */
	const char *host;	/* without brackets */
	size_t host_len;
	unsigned port;		/* 0: none given */
};

/*
 * Split an absolute https:// or http:// URL: a host name or IP literal, an
 * optional port, no user information, and nothing after the authority that
 * would need percent-encoding.  Returns NULL or why not.
 */
static const char *
url_parse(const char *v, struct url *u)
{
	const char *auth, *auth_end, *host_end, *p;
	char buf[INET6_ADDRSTRLEN + 1];
	struct in6_addr a6;
	unsigned short port;

	memset(u, 0, sizeof(*u));
	if (strncmp(v, "https://", 8) == 0)
		auth = v + 8;
	else if (strncmp(v, "http://", 7) == 0) {
		auth = v + 7;
		u->http = true;
	} else
		return "must start with https:// (http:// only for a loopback host)";
	auth_end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(auth_end - auth)) != NULL)
		return "must not contain user information ('@')";
	if (*auth == '[') {
		u->host = auth + 1;
		u->bracketed = true;
		host_end = memchr(u->host, ']', (size_t)(auth_end - u->host));
		if (host_end == NULL)
			return "has no ']' after the IPv6 address";
		p = host_end + 1;
	} else {
		u->host = auth;
		host_end = memchr(auth, ':', (size_t)(auth_end - auth));
		if (host_end == NULL)
			host_end = auth_end;
		for (p = auth; p < host_end; p++)
			if (!is_alpha(*p) && !is_digit(*p) && *p != '.' && *p != '-')
				return "has an invalid host name";
		p = host_end;
	}
	u->host_len = (size_t)(host_end - u->host);
	if (u->host_len == 0)
		return "has no host";
	if (p < auth_end) {
		if (*p != ':' || !parse_port(p + 1, (size_t)(auth_end - p - 1), 1,
		    &port))
			return "has an invalid port (1 to 65535)";
		u->port = port;
	}
	for (p = auth_end; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("\"<>\\^`{|}", *p) != NULL)
			return "has a character that must be percent-encoded";
	if (u->bracketed) {
		if (u->host_len >= sizeof(buf))
			return "has an invalid IPv6 address";
		memcpy(buf, u->host, u->host_len);
		buf[u->host_len] = '\0';
		if (inet_pton(AF_INET6, buf, &a6) != 1)
			return "has an invalid IPv6 address";
	}
	return NULL;
}

static bool
url_host_is_loopback(const struct url *u)
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (u->host_len >= sizeof(buf))
		return false;
	memcpy(buf, u->host, u->host_len);
	buf[u->host_len] = '\0';
	return config_host_is_loopback(buf);
}

/*
 * A URL that names a service (an audience, an API): https, or http only on
 * loopback, where nothing crosses the network.  NULL or why not.
 */
static const char *
service_url_problem(const char *v, struct url *u)
{
	const char *why;

	if ((why = url_parse(v, u)) != NULL)
		return why;
	if (u->http && !url_host_is_loopback(u))
		return "http:// is only allowed for a loopback host (127.0.0.1, "
		    "[::1], localhost); use https://";
	return NULL;
}

/*
 * The issuer is the origin of every URL the daemon prints, so it is held
 * to the RFC 8414 shape: https (http only on loopback), a host, an optional
 * port and path, no user info, query or fragment.  Returns NULL or why not;
 * *host_r is the host without brackets.
 */
static const char *
issuer_problem(const char *v, bool *http_r, char **host_r)
{
	const char *why;
	struct url u;

	*host_r = NULL;
	if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0)
		return "must start with https:// (http:// only for a loopback host)";
	if (strpbrk(v, "?#") != NULL)
		return "must not have a query or fragment";
	if ((why = url_parse(v, &u)) != NULL)
		return why;
	*http_r = u.http;
	if ((*host_r = strndup(u.host, u.host_len)) == NULL)
		return "out of memory";
	return NULL;
}

/*
 * Applying entries to struct config
 */

#define FIELD(ld, def, type) ((type *)(void *)((char *)(ld)->target + (def)->off))

static bool
replace_string(struct loader *ld, char **field, const char *value)
{
	char *copy;

	if ((copy = strdup(value)) == NULL) {
		ld->oom = true;
		return false;
	}
	free(*field);
	*field = copy;
	return true;
}

static void
apply_later(struct loader *ld, const struct entry *e,
    const struct key_def *def IDB_UNUSED)
{
	key_error(ld, e, "not supported yet");
}

static void
apply_string(struct loader *ld, const struct entry *e, const struct key_def *def)
{
	(void)replace_string(ld, FIELD(ld, def, char *), e->value);
}

static void
apply_uint(struct loader *ld, const struct entry *e, const struct key_def *def)
{
	char vb[LOG_SAFE_BUF];

	if (!parse_uint(e->value, def->min, def->max, FIELD(ld, def, unsigned)))
		key_error(ld, e, "'%s' is not a number from %u to %u",
		    SAFE(vb, e->value), def->min, def->max);
}

static void
apply_bool(struct loader *ld, const struct entry *e, const struct key_def *def)
{
	char vb[LOG_SAFE_BUF];

	if (!parse_bool(e->value, FIELD(ld, def, bool)))
		key_error(ld, e, "'%s' is not yes or no", SAFE(vb, e->value));
}

static bool
check_abs_path(struct loader *ld, const struct entry *e)
{
	char vb[LOG_SAFE_BUF];

	if (e->value[0] != '/') {
		key_error(ld, e, "'%s' is not an absolute path", SAFE(vb, e->value));
		return false;
	}
	return true;
}

/* A directory or file the daemon opens later: absolute, no trailing '/'. */
static void
apply_path(struct loader *ld, const struct entry *e, const struct key_def *def)
{
	char **field = FIELD(ld, def, char *);
	size_t len;

	if (!check_abs_path(ld, e) || !replace_string(ld, field, e->value))
		return;
	len = strlen(*field);
	while (len > 1 && (*field)[len - 1] == '/')
		(*field)[--len] = '\0';
}

static void
apply_issuer(struct loader *ld, const struct entry *e, const struct key_def *def)
{
	char **field = FIELD(ld, def, char *);
	char vb[LOG_SAFE_BUF];
	const char *why;
	char *host = NULL;
	bool http = false;
	size_t len;

	if ((why = issuer_problem(e->value, &http, &host)) != NULL) {
		key_error(ld, e, "'%s' %s (expected %s)", SAFE(vb, e->value), why,
		    ISSUER_SHAPE);
		goto out;
	}
	if (http && !config_host_is_loopback(host)) {
		key_error(ld, e, "'%s': http:// is only allowed for a loopback "
		    "host (127.0.0.1, [::1], localhost); use https://",
		    SAFE(vb, e->value));
		goto out;
	}
	if (!replace_string(ld, field, e->value))
		goto out;
	/* Clients compare the issuer byte for byte: store one spelling. */
	len = strlen(*field);
	while (len > 0 && (*field)[len - 1] == '/')
		(*field)[--len] = '\0';
out:
	free(host);
}

static bool
set_listen(struct loader *ld, const char *v, const char **why)
{
	struct config_server *s = &ld->cfg->server;
	const char *host, *host_end, *port;
	struct in6_addr a6;
	struct in_addr a4;
	char *h = NULL;
	bool ok = false;

	if (v[0] == '[') {
		host = v + 1;
		host_end = strchr(host, ']');
		if (host_end == NULL || host_end[1] != ':') {
			*why = "expected [IPV6]:PORT";
			goto out;
		}
		port = host_end + 2;
	} else {
		host = v;
		host_end = strrchr(v, ':');
		if (host_end == NULL) {
			*why = "expected ADDRESS:PORT";
			goto out;
		}
		if (memchr(v, ':', (size_t)(host_end - v)) != NULL) {
			*why = "an IPv6 address needs brackets, e.g. [::1]:8080";
			goto out;
		}
		port = host_end + 1;
	}
	if ((h = strndup(host, (size_t)(host_end - host))) == NULL) {
		ld->oom = true;
		*why = "out of memory";
		goto out;
	}
	if (v[0] == '[' ? inet_pton(AF_INET6, h, &a6) != 1 :
	    inet_pton(AF_INET, h, &a4) != 1) {
		*why = v[0] == '[' ? "invalid IPv6 address" :
		    "the host must be an IPv4 address or a bracketed IPv6 address";
		goto out;
	}
	if (!parse_port(port, strlen(port), 0, &s->listen_port)) {
		*why = "the port must be a number from 0 to 65535";
		goto out;
	}
	if (!replace_string(ld, &s->listen, v)) {
		*why = "out of memory";
		goto out;
	}
	free(s->listen_host);
	s->listen_host = h;
	h = NULL;
	ok = true;
out:
	free(h);
	return ok;
}

static void
apply_listen(struct loader *ld, const struct entry *e,
    const struct key_def *def IDB_UNUSED)
{
	char vb[LOG_SAFE_BUF];
	const char *why = NULL;

	if (!set_listen(ld, e->value, &why))
		key_error(ld, e, "'%s': %s", SAFE(vb, e->value), why);
}

/* Append the words of e to a list field, reporting any refused by ok(). */
static void
apply_list(struct loader *ld, const struct entry *e, struct strlist *list,
    bool (*ok)(struct loader *, const struct entry *, const char *))
{
	struct strlist words = { NULL, 0 };

	if (strlist_add_words(&words, e->value) != 0)
		goto fail;
	for (size_t i = 0; i < words.n; i++) {
		if (ok != NULL && !ok(ld, e, words.items[i]))
			continue;
		if (strlist_add(list, words.items[i]) != 0)
			goto fail;
	}
	strlist_free(&words);
	return;
fail:
	if (errno == E2BIG)
		key_error(ld, e, "too many values (max %d)", IDB_MAX_LIST_ITEMS);
	else
		ld->oom = true;
	strlist_free(&words);
}

static bool
proxy_ok(struct loader *ld, const struct entry *e, const char *word)
{
	char vb[LOG_SAFE_BUF];

	if (is_ip_address(word))
		return true;
	key_error(ld, e, "'%s' is not an IP address", SAFE(vb, word));
	return false;
}

static void
apply_proxies(struct loader *ld, const struct entry *e, const struct key_def *def)
{
	apply_list(ld, e, FIELD(ld, def, struct strlist), proxy_ok);
}

static void
apply_user(struct loader *ld, const struct entry *e, const struct key_def *def)
{
	char vb[LOG_SAFE_BUF];

	if (!only_chars(e->value, "._-") || e->value[0] == '-')
		key_error(ld, e, "'%s' is not a user name", SAFE(vb, e->value));
	else
		apply_string(ld, e, def);
}

static void
apply_driver(struct loader *ld, const struct entry *e,
    const struct key_def *def IDB_UNUSED)
{
	char vb[LOG_SAFE_BUF];

	if (ascii_strcasecmp(e->value, "sqlite") == 0)
		ld->cfg->store.driver = STORE_SQLITE;
	else if (ascii_strcasecmp(e->value, "postgres") == 0)
		key_error(ld, e, "postgres is not supported yet");
	else
		key_error(ld, e, "'%s' is not sqlite or postgres", SAFE(vb, e->value));
}

static void
apply_username_chars(struct loader *ld, const struct entry *e,
    const struct key_def *def)
{
	char vb[LOG_SAFE_BUF];

	for (const char *p = e->value; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == ' ' || c == '\t') {
			key_error(ld, e, "a space is not allowed in user names");
			return;
		}
		if (c < 0x21 || c > 0x7e) {
			key_error(ld, e, "'%s': only printable ASCII punctuation "
			    "may be listed", SAFE(vb, e->value));
			return;
		}
		if (is_alpha(*p) || is_digit(*p)) {
			key_error(ld, e, "'%c': letters and digits are always "
			    "allowed; list only punctuation", c);
			return;
		}
		if (strchr("*()\\", c) != NULL) {
			key_error(ld, e, "'%c' is not allowed: it is special in "
			    "LDAP filters", c);
			return;
		}
	}
	apply_string(ld, e, def);
}

static bool
uri_ok(struct loader *ld, const struct entry *e, const char *uri)
{
	char vb[LOG_SAFE_BUF];
	const char *host;
	size_t host_len;

	if (strncmp(uri, "ldap://", 7) == 0)
		host = uri + 7;
	else if (strncmp(uri, "ldaps://", 8) == 0)
		host = uri + 8;
	else {
		key_error(ld, e, "'%s' is not an ldap:// or ldaps:// URI",
		    SAFE(vb, uri));
		return false;
	}
	host_len = strcspn(host, "/");
	if (host_len == 0 || (host[host_len] == '/' && host[host_len + 1] != '\0')) {
		key_error(ld, e, "'%s' must be SCHEME://HOST[:PORT] (no base DN, "
		    "no empty host)", SAFE(vb, uri));
		return false;
	}
	return true;
}

static void
apply_uris(struct loader *ld, const struct entry *e, const struct key_def *def)
{
	apply_list(ld, e, FIELD(ld, def, struct strlist), uri_ok);
}

static void
apply_dn(struct loader *ld, const struct entry *e, const struct key_def *def)
{
	char vb[LOG_SAFE_BUF];

	if (!is_dn(e->value))
		key_error(ld, e, "'%s' is not a DN", SAFE(vb, e->value));
	else
		apply_string(ld, e, def);
}

static void
apply_attribute(struct loader *ld, const struct entry *e,
    const struct key_def *def)
{
	char vb[LOG_SAFE_BUF];

	if (!is_attribute_name(e->value))
		key_error(ld, e, "'%s' is not an attribute name", SAFE(vb, e->value));
	else
		apply_string(ld, e, def);
}

static void
apply_filter(struct loader *ld, const struct entry *e, const struct key_def *def)
{
	char vb[LOG_SAFE_BUF];
	char *err = NULL;

	if (ldap_filter_template_ok(e->value, &err) != 0)
		key_error(ld, e, "'%s': %s", SAFE(vb, e->value),
		    err != NULL ? err : "invalid filter");
	else
		apply_string(ld, e, def);
	free(err);
}

/*
 * A key whose value is one of a few words: the index of e->value in words
 * (NULL-terminated; exact, or ASCII case-insensitive), or -1 after the
 * error "'v' is not a, b or c".
 */
static int
choose(struct loader *ld, const struct entry *e, const char *const *words, bool exact)
{
	char vb[LOG_SAFE_BUF], list[256] = "";
	size_t n = 0, o = 0;

	for (; words[n] != NULL; n++)
		if ((exact ? strcmp(e->value, words[n]) : ascii_strcasecmp(e->value, words[n])) == 0)
			return (int)n;
	for (size_t i = 0; i < n && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s",
		    i == 0 ? "" : (i + 1 == n ? " or " : ", "), words[i]);
	key_error(ld, e, "'%s' is not %s", SAFE(vb, e->value), list);
	return -1;
}

static void
apply_nested(struct loader *ld, const struct entry *e,
    const struct key_def *def IDB_UNUSED)
{
	static const char *const words[] = { "no", "yes", "ad", NULL };
	static const enum ldap_nested values[] = { LDAP_NESTED_NO, LDAP_NESTED_YES,
	    LDAP_NESTED_AD };
	int i = choose(ld, e, words, false);

	if (i >= 0)
		ld->cfg->ldap.nested_groups = values[i];
}

static void
apply_readable_file(struct loader *ld, const struct entry *e,
    const struct key_def *def)
{
	struct stat st;
	int fd;

	if (!check_abs_path(ld, e))
		return;
	if ((fd = open(e->value, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0 ||
	    fstat(fd, &st) != 0)
		key_error(ld, e, "cannot read %s: %s", e->value, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		key_error(ld, e, "%s is not a regular file", e->value);
	else
		apply_string(ld, e, def);
	if (fd >= 0)
		close(fd);
}

static void
set_password(struct loader *ld, char *pw, size_t len)
{
	struct config_ldap *l = &ld->cfg->ldap;

	free_secret(l->bind_password, l->bind_password_len);
	l->bind_password = pw;
	l->bind_password_len = len;
}

static void
apply_password(struct loader *ld, const struct entry *e,
    const struct key_def *def IDB_UNUSED)
{
	struct stat st;
	char *pw;

	if ((pw = strdup(e->value)) == NULL) {
		ld->oom = true;
		return;
	}
	set_password(ld, pw, e->value_len);
	if (stat(ld->path, &st) == 0 && (st.st_mode & S_IROTH) != 0)
		cfg_warning(ld, e->line, "bind_password is in a file readable by "
		    "everyone: use bind_password_file or chmod 600 %s", ld->path);
}

/*
 * Read a secret file whole, at load time (before privileges are dropped):
 * one trailing newline stripped, empty or oversize refused.
 */
static void
apply_password_file(struct loader *ld, const struct entry *e,
    const struct key_def *def IDB_UNUSED)
{
	const size_t cap = IDB_MAX_SECRET_FILE + 2;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd = -1;

	if (!check_abs_path(ld, e))
		goto out;
	if ((fd = open(e->value, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0 ||
	    fstat(fd, &st) != 0) {
		key_error(ld, e, "cannot read %s: %s", e->value, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		key_error(ld, e, "%s is not a regular file", e->value);
		goto out;
	}
	if ((buf = malloc(cap)) == NULL) {
		ld->oom = true;
		goto out;
	}
	while (len < cap - 1) {
		if ((n = read(fd, buf + len, cap - 1 - len)) < 0) {
			if (errno == EINTR)
				continue;
			key_error(ld, e, "cannot read %s: %s", e->value,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > IDB_MAX_SECRET_FILE) {
		key_error(ld, e, "%s is larger than %d bytes", e->value,
		    IDB_MAX_SECRET_FILE);
		goto out;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (len == 0) {
		key_error(ld, e, "%s is empty", e->value);
		goto out;
	}
	if (memchr(buf, '\0', len) != NULL) {
		key_error(ld, e, "%s contains a NUL byte", e->value);
		goto out;
	}
	buf[len] = '\0';
	if ((st.st_mode & S_IROTH) != 0)
		cfg_warning(ld, e->line, "bind_password_file %s is readable by "
		    "everyone (chmod 600)", e->value);
	set_password(ld, buf, len);
	buf = NULL;
out:
	if (fd >= 0)
		close(fd);
	free_secret(buf, cap);
}

static void
apply_pam_service(struct loader *ld, const struct entry *e,
    const struct key_def *def)
{
	char vb[LOG_SAFE_BUF];

	/* A file name in /etc/pam.d. */
	if (!only_chars(e->value, "._-") || e->value[0] == '.')
		key_error(ld, e, "'%s' is not a PAM service name", SAFE(vb, e->value));
	else
		apply_string(ld, e, def);
}

/*
 * [tokens]
 */

static void
apply_signing_alg(struct loader *ld, const struct entry *e,
    const struct key_def *def IDB_UNUSED)
{
	/* JOSE algorithm names are case-sensitive (RFC 7518). */
	static const char *const words[] = { "RS256", "ES256", "EdDSA", NULL };
	static const enum signing_alg values[] = { SIGNING_RS256, SIGNING_ES256,
	    SIGNING_EDDSA };
	int i = choose(ld, e, words, true);

	if (i >= 0)
		ld->cfg->tokens.signing_alg = values[i];
}

static void
apply_groups_claim(struct loader *ld, const struct entry *e,
    const struct key_def *def IDB_UNUSED)
{
	static const char *const words[] = { "mapped", "none", "all", NULL };
	static const enum groups_claim values[] = { GROUPS_CLAIM_MAPPED, GROUPS_CLAIM_NONE,
	    GROUPS_CLAIM_ALL };
	int i = choose(ld, e, words, false);

	if (i >= 0)
		ld->cfg->tokens.groups_claim = values[i];
}

/*
 * [client NAME]
 */

#define CLIENT(ld) ((struct client_cfg *)(ld)->target)
#define PLUGIN(ld) ((struct plugin_cfg *)(ld)->target)

/* "sha256:<64 hex>" into out; false when it is not that. */
static bool
parse_secret_hash(const char *v, unsigned char out[IDB_SHA256_LEN])
{
	if (strncmp(v, "sha256:", 7) != 0 || strlen(v + 7) != 2 * IDB_SHA256_LEN)
		return false;
	v += 7;
	for (size_t i = 0; i < IDB_SHA256_LEN; i++) {
		int hi = hex_digit_value(v[2 * i]), lo = hex_digit_value(v[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

/*
 * One or two hashes (two while a secret is rotated), space-separated or on
 * repeated lines.  The value is never echoed: an administrator who pasted
 * the secret itself here must not find it in a log.
 */
static void
add_secret_hashes(struct loader *ld, const struct entry *e,
    unsigned char hashes[][IDB_SHA256_LEN], size_t *n)
{
	struct strlist words = { NULL, 0 };
	unsigned char hash[IDB_SHA256_LEN];

	if (strlist_add_words(&words, e->value) != 0) {
		if (errno == E2BIG)
			key_error(ld, e, "at most %d secrets (two while rotating)",
			    IDB_MAX_CLIENT_SECRETS);
		else
			ld->oom = true;
		goto out;
	}
	for (size_t i = 0; i < words.n; i++) {
		if (!parse_secret_hash(words.items[i], hash)) {
			key_error(ld, e, "expected sha256:<64 hex digits>, the second "
			    "line of `idbridge secret` (never the secret itself)");
			continue;
		}
		if (*n >= IDB_MAX_CLIENT_SECRETS) {
			key_error(ld, e, "at most %d secrets (two while rotating)",
			    IDB_MAX_CLIENT_SECRETS);
			break;
		}
		for (size_t j = 0; j < *n; j++)
			if (memcmp(hashes[j], hash, sizeof(hash)) == 0) {
				key_error(ld, e, "the same secret is given twice");
				goto out;
			}
		memcpy(hashes[(*n)++], hash, sizeof(hash));
	}
out:
	explicit_bzero(hash, sizeof(hash));
	strlist_free(&words);
}

static void
apply_client_secret(struct loader *ld, const struct entry *e,
    const struct key_def *def IDB_UNUSED)
{
	struct client_cfg *c = CLIENT(ld);

	add_secret_hashes(ld, e, c->secret_hash, &c->n_secrets);
}

/*
 * Redirect URIs are compared byte for byte, so a bad one can only be found
 * here: absolute https (http only to this machine, RFC 8252 §7.3), no
 * fragment (RFC 6749 §3.1.2), no wildcard, no user information.
 */
static const char *
redirect_uri_problem(const char *v)
{
	const char *why;
	struct url u;

	if (strlen(v) > IDB_MAX_REDIRECT_URI_LEN)
		return "is too long";
	if (strstr(v, "://") == NULL)
		return "is not an absolute URI (https://HOST/PATH)";
	if (strchr(v, '#') != NULL)
		return "must not have a fragment ('#')";
	if (strchr(v, '*') != NULL)
		return "must not contain '*': redirect URIs match exactly, "
		    "without wildcards";
	if ((why = url_parse(v, &u)) != NULL)
		return why;
	if (u.http && !url_host_is_loopback(&u))
		return "http:// is only allowed for a loopback host (127.0.0.1, "
		    "[::1], localhost); use https://";
	return NULL;
}

static void
apply_redirect_uris(struct loader *ld, const struct entry *e,
    const struct key_def *def IDB_UNUSED)
{
	struct client_cfg *c = CLIENT(ld);
	struct strlist words = { NULL, 0 };
	char vb[LOG_SAFE_BUF];
	const char *why;

	if (strlist_add_words(&words, e->value) != 0) {
		if (errno == E2BIG)
			key_error(ld, e, "too many values (max %d)",
			    IDB_MAX_REDIRECT_URIS);
		else
			ld->oom = true;
		goto out;
	}
	for (size_t i = 0; i < words.n; i++) {
		const char *uri = words.items[i];

		if ((why = redirect_uri_problem(uri)) != NULL)
			key_error(ld, e, "'%s' %s", SAFE(vb, uri), why);
		else if (strlist_contains(&c->redirect_uris, uri))
			key_error(ld, e, "'%s' is listed twice", SAFE(vb, uri));
		else if (c->redirect_uris.n >= IDB_MAX_REDIRECT_URIS) {
			key_error(ld, e, "too many redirect URIs (max %d)",
			    IDB_MAX_REDIRECT_URIS);
			break;
		} else if (strlist_add(&c->redirect_uris, uri) != 0) {
			ld->oom = true;
			break;
		}
	}
out:
	strlist_free(&words);
}

static bool is_scope_token(const char *s);

/* Whether each scope exists in [scopes] is checked once the file is read. */
static bool
client_scope_ok(struct loader *ld, const struct entry *e, const char *scope)
{
	char vb[LOG_SAFE_BUF];

	if (!is_scope_token(scope))
		key_error(ld, e, "'%s' is not a scope name", SAFE(vb, scope));
	else if (strlist_contains(&CLIENT(ld)->scopes, scope))
		key_error(ld, e, "'%s' is listed twice", SAFE(vb, scope));
	else
		return true;
	return false;
}

static void
apply_client_scopes(struct loader *ld, const struct entry *e,
    const struct key_def *def IDB_UNUSED)
{
	apply_list(ld, e, &CLIENT(ld)->scopes, client_scope_ok);
}

static void
apply_pkce(struct loader *ld, const struct entry *e,
    const struct key_def *def IDB_UNUSED)
{
	static const char *const words[] = { "required", "optional", NULL };
	int i = choose(ld, e, words, false);

	if (i >= 0)
		CLIENT(ld)->pkce_required = i == 0;
}

static void
apply_consent(struct loader *ld, const struct entry *e,
    const struct key_def *def IDB_UNUSED)
{
	static const char *const words[] = { "ask", "skip", NULL };
	int i = choose(ld, e, words, false);

	if (i >= 0)
		CLIENT(ld)->consent_skip = i == 1;
}

/*
 * [plugin NAME]
 */

static void
apply_plugin_auth(struct loader *ld, const struct entry *e,
    const struct key_def *def IDB_UNUSED)
{
	static const char *const words[] = { "none", "service_http", "user_http", "oauth", NULL };
	static const enum plugin_auth values[] = { PLUGIN_AUTH_NONE, PLUGIN_AUTH_SERVICE_HTTP,
	    PLUGIN_AUTH_USER_HTTP, PLUGIN_AUTH_OAUTH };
	int i = choose(ld, e, words, true);

	if (i >= 0)
		PLUGIN(ld)->auth = values[i];
}

/* Whether the [client] exists is checked once the file is read. */
static void
apply_plugin_client(struct loader *ld, const struct entry *e,
    const struct key_def *def)
{
	char vb[LOG_SAFE_BUF];

	if (!client_id_valid(e->value, e->value_len))
		key_error(ld, e, "'%s' is not a client_id", SAFE(vb, e->value));
	else
		apply_string(ld, e, def);
}

static void
apply_audience(struct loader *ld, const struct entry *e,
    const struct key_def *def)
{
	char vb[LOG_SAFE_BUF];
	const char *why;
	struct url u;

	/* Compared byte for byte by every API: one plain identifier. */
	if ((why = service_url_problem(e->value, &u)) == NULL &&
	    strpbrk(e->value, "?#") != NULL)
		why = "must not have a query or fragment";
	if (why != NULL)
		key_error(ld, e, "'%s' %s", SAFE(vb, e->value), why);
	else
		apply_string(ld, e, def);
}

static void
apply_api_url(struct loader *ld, const struct entry *e, const struct key_def *def)
{
	char vb[LOG_SAFE_BUF];
	const char *why;
	struct url u;

	if ((why = service_url_problem(e->value, &u)) == NULL &&
	    strchr(e->value, '#') != NULL)
		why = "must not have a fragment";
	if (why != NULL)
		key_error(ld, e, "'%s' %s", SAFE(vb, e->value), why);
	else
		apply_string(ld, e, def);
}

/*
 * The manifest's limits are in characters: the number of UTF-8 code points
 * in s, or -1 when s is not valid UTF-8 (the manifest is JSON, which
 * jansson refuses to build from invalid UTF-8).
 */
static long
utf8_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	long n = 0;

	while (*p != '\0') {
		size_t len = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 :
		    (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;

		if (len == 0 || (len == 2 && *p < 0xc2) ||
		    (len == 4 && *p > 0xf4))
			return -1;
		for (size_t i = 1; i < len; i++)
			if ((p[i] & 0xc0) != 0x80)
				return -1;
		/* Overlong 3- and 4-byte forms and UTF-16 surrogates. */
		if ((len == 3 && *p == 0xe0 && p[1] < 0xa0) ||
		    (len == 3 && *p == 0xed && p[1] >= 0xa0) ||
		    (len == 4 && *p == 0xf0 && p[1] < 0x90) ||
		    (len == 4 && *p == 0xf4 && p[1] >= 0x90))
			return -1;
		p += len;
		n++;
	}
	return n;
}

/* A manifest text of at most def->max characters (def->min: warned above). */
static void
apply_manifest_text(struct loader *ld, const struct entry *e,
    const struct key_def *def)
{
	long n = utf8_chars(e->value);

	if (n < 0)
		key_error(ld, e, "not valid UTF-8");
	else if ((unsigned long)n > def->max)
		key_error(ld, e, "%ld characters, at most %u are allowed in the "
		    "manifest", n, def->max);
	else {
		if (def->min > 0 && (unsigned long)n > def->min)
			cfg_warning(ld, e->line, "[%s] %s: %ld characters; at most "
			    "%u are advised", entry_section(ld, e), e->key, n,
			    def->min);
		apply_string(ld, e, def);
	}
}

/* The model calls the plugin by this name: letters, digits, '_'. */
static void
apply_name_for_model(struct loader *ld, const struct entry *e,
    const struct key_def *def)
{
	char vb[LOG_SAFE_BUF];

	if (e->value_len > IDB_MAX_MANIFEST_NAME_MODEL)
		key_error(ld, e, "%zu characters, at most %d are allowed",
		    e->value_len, IDB_MAX_MANIFEST_NAME_MODEL);
	else if (strspn(e->value, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != e->value_len)
		key_error(ld, e, "'%s' may hold only letters, digits and '_'",
		    SAFE(vb, e->value));
	else
		apply_string(ld, e, def);
}

/* logo_url, legal_info_url: shown to users, fetched by the platform. */
static void
apply_manifest_url(struct loader *ld, const struct entry *e,
    const struct key_def *def)
{
	char vb[LOG_SAFE_BUF];
	const char *why;
	struct url u;

	if (e->value_len > IDB_MAX_MANIFEST_URL_LEN)
		why = "is too long";
	else if ((why = service_url_problem(e->value, &u)) == NULL &&
	    strchr(e->value, '#') != NULL)
		why = "must not have a fragment";
	if (why != NULL)
		key_error(ld, e, "'%s' %s", SAFE(vb, e->value), why);
	else
		apply_string(ld, e, def);
}

/*
 * Not a full RFC 5322 parser: one '@' with something printable on each
 * side, a dot-free local part allowed, a domain of letters, digits, '.'
 * and '-' — enough to catch a URL or a name pasted into the wrong key.
 */
static void
apply_contact_email(struct loader *ld, const struct entry *e,
    const struct key_def *def)
{
	const char *v = e->value, *at = strchr(v, '@');
	char vb[LOG_SAFE_BUF];
	bool ok = at != NULL && at != v && strchr(at + 1, '@') == NULL &&
	    at[1] != '\0' && e->value_len <= IDB_MAX_CONTACT_EMAIL_LEN;

	for (const char *p = v; ok && p < at; p++)
		ok = *p > 0x20 && *p < 0x7f && strchr("\"(),:;<>[\\]", *p) == NULL;
	for (const char *p = at != NULL ? at + 1 : v; ok && *p != '\0'; p++)
		ok = is_alpha(*p) || is_digit(*p) || *p == '.' || *p == '-';
	if (ok && (at[1] == '.' || v[e->value_len - 1] == '.'))
		ok = false;
	if (!ok)
		key_error(ld, e, "'%s' is not an e-mail address (one '@', a "
		    "domain of letters, digits, '.' and '-')", SAFE(vb, e->value));
	else
		apply_string(ld, e, def);
}

/* Opaque, published in the manifest: printable ASCII, no space. */
static void
apply_verification_token(struct loader *ld, const struct entry *e,
    const struct key_def *def)
{
	bool ok = e->value_len > 0 &&
	    e->value_len <= IDB_MAX_VERIFICATION_TOKEN_LEN;

	for (size_t i = 0; ok && i < e->value_len; i++)
		ok = e->value[i] > 0x20 && e->value[i] < 0x7f;
	if (!ok)
		key_error(ld, e, "expected 1 to %d printable characters without "
		    "space, as the ChatGPT UI shows it",
		    IDB_MAX_VERIFICATION_TOKEN_LEN);
	else
		apply_string(ld, e, def);
}

static void
apply_content_type(struct loader *ld, const struct entry *e,
    const struct key_def *def IDB_UNUSED)
{
	static const char *const words[] = { "application/json",
	    "application/x-www-form-urlencoded", NULL };
	static const enum plugin_content_type values[] = { PLUGIN_CT_JSON, PLUGIN_CT_FORM };
	int i = choose(ld, e, words, true);

	if (i >= 0)
		PLUGIN(ld)->content_type = values[i];
}

/* Like a client's secret: one or two sha256: hashes, never echoed. */
static void
apply_service_secret(struct loader *ld, const struct entry *e,
    const struct key_def *def IDB_UNUSED)
{
	struct plugin_cfg *p = PLUGIN(ld);

	add_secret_hashes(ld, e, p->service_secret_hash, &p->n_service_secrets);
}

#define F(field) offsetof(struct config, field)
#define C(field) offsetof(struct client_cfg, field)
#define P(field) offsetof(struct plugin_cfg, field)

static const struct key_def server_keys[] = {
	{ .name = "issuer", .apply = apply_issuer, .off = F(server.issuer) },
	{ .name = "listen", .apply = apply_listen },
	{ .name = "threads", .apply = apply_uint, .off = F(server.threads),
	  .min = 0, .max = 64 },
	{ .name = "state_dir", .apply = apply_path, .off = F(server.state_dir) },
	{ .name = "templates", .apply = apply_path, .off = F(server.templates) },
	{ .name = "user", .apply = apply_user, .off = F(server.user) },
	{ .name = "allow_root", .apply = apply_bool, .off = F(server.allow_root) },
	{ .name = "auth_workers", .apply = apply_uint,
	  .off = F(server.auth_workers), .min = 1, .max = 256 },
	{ .name = "trusted_proxies", .apply = apply_proxies,
	  .off = F(server.trusted_proxies), .repeat = true },
	{ .name = "tls_cert", .apply = apply_later, .allow_empty = true },
	{ .name = "tls_key", .apply = apply_later, .allow_empty = true },
	{ .name = NULL },
};

static const struct key_def store_keys[] = {
	{ .name = "driver", .apply = apply_driver },
	{ .name = "path", .apply = apply_path, .off = F(store.path) },
	{ .name = "dsn", .apply = apply_later, .allow_empty = true },
	{ .name = NULL },
};

static const struct key_def auth_keys[] = {
	{ .name = "backend", .apply = apply_string, .off = F(auth.backend) },
	{ .name = "username_max_length", .apply = apply_uint,
	  .off = F(auth.username_max_length), .min = 1,
	  .max = IDB_MAX_USERNAME_LEN },
	{ .name = "username_chars", .apply = apply_username_chars,
	  .off = F(auth.username_chars), .allow_empty = true },
	{ .name = NULL },
};

static const struct key_def ldap_keys[] = {
	{ .name = "uri", .apply = apply_uris, .off = F(ldap.uris), .repeat = true },
	{ .name = "starttls", .apply = apply_bool, .off = F(ldap.starttls) },
	{ .name = "ca_file", .apply = apply_readable_file, .off = F(ldap.ca_file) },
	{ .name = "timeout", .apply = apply_uint, .off = F(ldap.timeout),
	  .min = 1, .max = 300 },
	{ .name = "pool", .apply = apply_uint, .off = F(ldap.pool),
	  .min = 1, .max = 64 },
	{ .name = "bind_dn", .apply = apply_dn, .off = F(ldap.bind_dn) },
	{ .name = "bind_password", .apply = apply_password, .secret = true },
	{ .name = "bind_password_file", .apply = apply_password_file },
	{ .name = "user_base", .apply = apply_dn, .off = F(ldap.user_base) },
	{ .name = "user_filter", .apply = apply_filter, .off = F(ldap.user_filter) },
	{ .name = "group_base", .apply = apply_dn, .off = F(ldap.group_base) },
	{ .name = "group_filter", .apply = apply_filter,
	  .off = F(ldap.group_filter) },
	{ .name = "group_attribute", .apply = apply_attribute,
	  .off = F(ldap.group_attribute) },
	{ .name = "group_name_attribute", .apply = apply_attribute,
	  .off = F(ldap.group_name_attribute) },
	{ .name = "nested_groups", .apply = apply_nested },
	{ .name = "nested_depth", .apply = apply_uint, .off = F(ldap.nested_depth),
	  .min = 1, .max = IDB_MAX_NESTED_DEPTH },
	{ .name = "id_attribute", .apply = apply_attribute,
	  .off = F(ldap.id_attribute) },
	{ .name = "name_attribute", .apply = apply_attribute,
	  .off = F(ldap.name_attribute) },
	{ .name = "mail_attribute", .apply = apply_attribute,
	  .off = F(ldap.mail_attribute) },
	{ .name = "disabled_filter", .apply = apply_filter,
	  .off = F(ldap.disabled_filter) },
	{ .name = NULL },
};

static const struct key_def pam_keys[] = {
	{ .name = "service", .apply = apply_pam_service, .off = F(pam.service) },
	{ .name = "workers", .apply = apply_uint, .off = F(pam.workers),
	  .min = 1, .max = IDB_BROKER_MAX_WORKERS },
	{ .name = NULL },
};

static const struct key_def tokens_keys[] = {
	{ .name = "access_ttl", .apply = apply_uint, .off = F(tokens.access_ttl),
	  .min = 60, .max = 86400 },
	{ .name = "refresh_ttl", .apply = apply_uint, .off = F(tokens.refresh_ttl),
	  .min = 300, .max = IDB_MAX_REFRESH_TTL },
	/* RFC 6749 §4.1.2: a code lives 10 minutes at most. */
	{ .name = "code_ttl", .apply = apply_uint, .off = F(tokens.code_ttl),
	  .min = 10, .max = 600 },
	{ .name = "signing_alg", .apply = apply_signing_alg },
	{ .name = "directory_cache_ttl", .apply = apply_uint,
	  .off = F(tokens.directory_cache_ttl), .min = 0, .max = 3600 },
	{ .name = "refresh_max_ttl", .apply = apply_uint,
	  .off = F(tokens.refresh_max_ttl), .min = 300, .max = IDB_MAX_REFRESH_TTL },
	{ .name = "groups_claim", .apply = apply_groups_claim },
	{ .name = NULL },
};

/* max_lifetime 0: keys may be made without an expiry. */
static const struct key_def apikeys_keys[] = {
	{ .name = "max_per_user", .apply = apply_uint, .off = F(apikeys.max_per_user),
	  .min = 1, .max = IDB_MAX_APIKEYS_PER_USER },
	{ .name = "max_lifetime", .apply = apply_uint, .off = F(apikeys.max_lifetime),
	  .min = 0, .max = IDB_MAX_APIKEY_LIFETIME },
	{ .name = "last_used_interval", .apply = apply_uint,
	  .off = F(apikeys.last_used_interval), .min = 1, .max = IDB_KEYUSAGE_FLUSH_MAX_S },
	{ .name = NULL },
};

static const struct key_def client_keys[] = {
	{ .name = "name", .apply = apply_string, .off = C(name) },
	{ .name = "secret", .apply = apply_client_secret, .repeat = true },
	{ .name = "redirect_uri", .apply = apply_redirect_uris, .repeat = true },
	{ .name = "scopes", .apply = apply_client_scopes },
	{ .name = "pkce", .apply = apply_pkce },
	{ .name = "public", .apply = apply_bool, .off = C(is_public) },
	{ .name = "consent", .apply = apply_consent },
	{ .name = "introspect", .apply = apply_bool, .off = C(introspect) },
	{ .name = NULL },
};

static const struct key_def plugin_keys[] = {
	{ .name = "auth", .apply = apply_plugin_auth },
	{ .name = "client", .apply = apply_plugin_client, .off = P(client) },
	{ .name = "audience", .apply = apply_audience, .off = P(audience) },
	{ .name = "api_url", .apply = apply_api_url, .off = P(api_url) },
	{ .name = "authorization_content_type", .apply = apply_content_type },
	{ .name = "service_secret", .apply = apply_service_secret,
	  .repeat = true, .secret = true },
	{ .name = "verification_token", .apply = apply_verification_token,
	  .off = P(verification_token) },
	/* .min of a manifest text: the advised length, warned above. */
	{ .name = "name_for_human", .apply = apply_manifest_text,
	  .off = P(name_for_human), .min = IDB_MANIFEST_NAME_HUMAN_ADVISED,
	  .max = IDB_MAX_MANIFEST_NAME_HUMAN },
	{ .name = "name_for_model", .apply = apply_name_for_model,
	  .off = P(name_for_model) },
	{ .name = "description_for_human", .apply = apply_manifest_text,
	  .off = P(description_for_human), .max = IDB_MAX_MANIFEST_DESC_HUMAN },
	{ .name = "description_for_model", .apply = apply_manifest_text,
	  .off = P(description_for_model), .max = IDB_MAX_MANIFEST_DESC_MODEL },
	{ .name = "logo_url", .apply = apply_manifest_url, .off = P(logo_url) },
	{ .name = "contact_email", .apply = apply_contact_email,
	  .off = P(contact_email) },
	{ .name = "legal_info_url", .apply = apply_manifest_url,
	  .off = P(legal_info_url) },
	{ .name = NULL },
};

static const struct key_def *const section_keys[SEC_COUNT] = {
	[SEC_SERVER] = server_keys,
	[SEC_STORE] = store_keys,
	[SEC_AUTH] = auth_keys,
	[SEC_LDAP] = ldap_keys,
	[SEC_PAM] = pam_keys,
	[SEC_TOKENS] = tokens_keys,
	[SEC_APIKEYS] = apikeys_keys,
	[SEC_CLIENT] = client_keys,
	[SEC_PLUGIN] = plugin_keys,
};

static const struct key_def *
find_key(enum section sec, const char *name)
{
	const struct key_def *def = section_keys[sec];

	for (; def != NULL && def->name != NULL; def++)
		if (strcmp(def->name, name) == 0)
			return def;
	return NULL;
}

/* The first earlier entry with the same section and key, or NULL. */
static const struct entry *
earlier_entry(const struct loader *ld, size_t i)
{
	const struct entry *e = &ld->entries[i];

	for (size_t j = 0; j < i; j++)
		if (!ld->entries[j].bad && ld->entries[j].sec == e->sec &&
		    ld->entries[j].inst == e->inst &&
		    strcmp(ld->entries[j].key, e->key) == 0)
			return &ld->entries[j];
	return NULL;
}

/* The line of the first (applied) sec/key entry, or 0. */
static unsigned
key_line(const struct loader *ld, enum section sec, const char *key)
{
	for (size_t i = 0; i < ld->n_entries; i++)
		if (!ld->entries[i].bad && ld->entries[i].sec == sec &&
		    ld->entries[i].inst < 0 &&
		    strcmp(ld->entries[i].key, key) == 0)
			return ld->entries[i].line;
	return 0;
}

/* The same within one [client/plugin NAME] instance. */
static unsigned
inst_key_line(const struct loader *ld, size_t inst, const char *key)
{
	for (size_t i = 0; i < ld->n_entries; i++)
		if (!ld->entries[i].bad && ld->entries[i].inst == (int)inst &&
		    strcmp(ld->entries[i].key, key) == 0)
			return ld->entries[i].line;
	return 0;
}

/* RFC 6749 scope-token: %x21 / %x23-5B / %x5D-7E */
static bool
is_scope_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7e || *s == '"' || *s == '\\')
			return false;
	return true;
}

static bool
scope_member_ok(struct loader *ld, const struct entry *e, const char *m)
{
	char vb[LOG_SAFE_BUF];

	if (strcmp(m, "*") == 0)
		return true;
	if (strchr(m, '*') != NULL)
		key_error(ld, e, "'%s': no wildcards ('*' alone means every "
		    "signed-in user)", SAFE(vb, m));
	else if (strncmp(m, "user:", 5) == 0 && m[5] == '\0')
		key_error(ld, e, "'user:' needs a user name");
	else if (strncmp(m, "user:", 5) != 0 && strchr(m, '=') != NULL &&
	    !is_dn(m))
		key_error(ld, e, "'%s' is not a group DN", SAFE(vb, m));
	else
		return true;
	return false;
}

static void
apply_scope(struct loader *ld, size_t i)
{
	const struct entry *e = &ld->entries[i], *first;
	struct config *cfg = ld->cfg;
	struct scope_rule *grown, *rule;
	char kb[LOG_SAFE_BUF];
	size_t errors = ld->n_errors;

	if (!is_scope_token(e->key)) {
		cfg_error(ld, e->line, "[scopes] '%s' is not a scope name (printable "
		    "ASCII without space, '\"' or '\\')", SAFE(kb, e->key));
		return;
	}
	if ((first = earlier_entry(ld, i)) != NULL) {
		cfg_error(ld, e->line, "[scopes] duplicate scope '%s' (first on line "
		    "%u)", e->key, first->line);
		return;
	}
	if (e->value[0] == '\0') {
		key_error(ld, e, "no members (use * for every signed-in user)");
		return;
	}
	if (has_control_char(e->value)) {
		key_error(ld, e, "control character in value");
		return;
	}
	if (cfg->n_scopes >= IDB_MAX_LIST_ITEMS) {
		key_error(ld, e, "too many scopes (max %d)", IDB_MAX_LIST_ITEMS);
		return;
	}
	grown = realloc(cfg->scopes, (cfg->n_scopes + 1) * sizeof(*grown));
	if (grown == NULL) {
		ld->oom = true;
		return;
	}
	cfg->scopes = grown;
	rule = &cfg->scopes[cfg->n_scopes];
	memset(rule, 0, sizeof(*rule));
	rule->line = e->line;
	apply_list(ld, e, &rule->members, scope_member_ok);
	if (ld->n_errors != errors || (rule->scope = strdup(e->key)) == NULL) {
		if (ld->n_errors == errors)
			ld->oom = true;
		strlist_free(&rule->members);
		return;
	}
	cfg->n_scopes++;
}

/* What a key_def's offset is relative to, for this entry. */
static void *
entry_target(struct loader *ld, const struct entry *e)
{
	const struct instance *in;

	if (e->inst < 0)
		return ld->cfg;
	in = &ld->insts[e->inst];
	if (in->sec == SEC_CLIENT)
		return in->index < ld->cfg->n_clients ?
		    &ld->cfg->clients[in->index] : NULL;
	return in->index < ld->cfg->n_plugins ? &ld->cfg->plugins[in->index] : NULL;
}

/* One struct per [client NAME] and [plugin NAME], before keys apply. */
static void
alloc_instances(struct loader *ld)
{
	struct config *cfg = ld->cfg;
	size_t nc = ld->n_named[SEC_CLIENT], np = ld->n_named[SEC_PLUGIN];

	if ((nc > 0 && (cfg->clients = calloc(nc, sizeof(*cfg->clients))) == NULL) ||
	    (np > 0 && (cfg->plugins = calloc(np, sizeof(*cfg->plugins))) == NULL)) {
		ld->oom = true;
		return;
	}
	for (size_t i = 0; i < ld->n_insts; i++) {
		const struct instance *in = &ld->insts[i];
		char *name = strdup(in->name);

		if (name == NULL) {
			ld->oom = true;
			return;
		}
		if (in->sec == SEC_CLIENT) {
			struct client_cfg *c = &cfg->clients[in->index];

			c->id = name;
			c->line = in->line;
			c->pkce_required = true;
			cfg->n_clients++;
		} else {
			struct plugin_cfg *p = &cfg->plugins[in->index];

			p->name = name;
			p->line = in->line;
			cfg->n_plugins++;
		}
	}
}

static void
apply_entries(struct loader *ld)
{
	char kb[LOG_SAFE_BUF];

	for (size_t i = 0; i < ld->n_entries; i++) {
		const struct entry *e = &ld->entries[i], *first;
		const struct key_def *def;

		if (e->bad)
			continue;
		if (e->sec == SEC_SCOPES) {
			apply_scope(ld, i);
			continue;
		}
		if ((def = find_key(e->sec, e->key)) == NULL) {
			cfg_error(ld, e->line, "unknown key '%s' in [%s]",
			    SAFE(kb, e->key), entry_section(ld, e));
			continue;
		}
		if (!def->repeat && (first = earlier_entry(ld, i)) != NULL) {
			cfg_error(ld, e->line, "duplicate key '%s' in [%s] (first "
			    "on line %u)", e->key, entry_section(ld, e), first->line);
			continue;
		}
		if (e->value[0] == '\0' && !def->allow_empty) {
			key_error(ld, e, "empty value");
			continue;
		}
		if (!def->secret && has_control_char(e->value)) {
			key_error(ld, e, "control character in value");
			continue;
		}
		if ((ld->target = entry_target(ld, e)) == NULL)
			continue;	/* out of memory, already noted */
		def->apply(ld, e, def);
		ld->target = ld->cfg;
	}
}

/*
 * Whole-file rules and defaults
 */

static void
set_default(struct loader *ld, char **field, const char *value)
{
	if (*field == NULL && (*field = strdup(value)) == NULL)
		ld->oom = true;
}

static void
finish_server(struct loader *ld)
{
	struct config *cfg = ld->cfg;
	const char *why = NULL;

	if (cfg->server.issuer == NULL && key_line(ld, SEC_SERVER, "issuer") == 0)
		cfg_error(ld, ld->header_line[SEC_SERVER],
		    "[server] issuer is required (e.g. issuer = "
		    "https://sso.example.com)");
	if (cfg->server.listen == NULL && !set_listen(ld, DEFAULT_LISTEN, &why))
		ld->oom = true;
	set_default(ld, &cfg->server.state_dir, DEFAULT_STATE_DIR);
	set_default(ld, &cfg->server.templates, DEFAULT_TEMPLATES);
	if (cfg->store.path == NULL && cfg->server.state_dir != NULL &&
	    asprintf(&cfg->store.path, "%s/idbridge.db",
	    strcmp(cfg->server.state_dir, "/") == 0 ? "" :
	    cfg->server.state_dir) < 0) {
		cfg->store.path = NULL;
		ld->oom = true;
	}
}

/* Returns true when the configured backend is ldap. */
static bool
finish_auth(struct loader *ld)
{
	struct config *cfg = ld->cfg;
	unsigned line = key_line(ld, SEC_AUTH, "backend");
	const struct backend_ops *ops;
	char vb[LOG_SAFE_BUF];

	set_default(ld, &cfg->auth.username_chars, DEFAULT_USERNAME_CHARS);
	if (line != 0 && cfg->auth.backend == NULL)
		return false;	/* refused already */
	set_default(ld, &cfg->auth.backend, DEFAULT_BACKEND);
	if (cfg->auth.backend == NULL)
		return false;
	if ((ops = backend_find(cfg->auth.backend)) == NULL) {
		cfg_error(ld, line, "[auth] backend: unknown backend '%s' (known: "
		    "ldap, pam)", SAFE(vb, cfg->auth.backend));
		return false;
	}
	if (!ops->compiled_in) {
		cfg_error(ld, line, "[auth] backend: backend '%s' is not available "
		    "in this build", ops->name);
		return false;
	}
	return strcmp(ops->name, "ldap") == 0;
}

static bool
any_ldaps(const struct strlist *uris)
{
	for (size_t i = 0; i < uris->n; i++)
		if (strncmp(uris->items[i], "ldaps://", 8) == 0)
			return true;
	return false;
}

/* Does the filter template use %c (not a literal "%%c")? */
static bool
has_placeholder(const char *tmpl, char c)
{
	for (const char *p = tmpl; (p = strchr(p, '%')) != NULL; p += 2) {
		if (p[1] == c)
			return true;
		if (p[1] == '\0')
			break;
	}
	return false;
}

/*
 * Passwords go over plain ldap:// only to this machine, or with StartTLS:
 * anything else would send every employee's password in clear, so it is an
 * error, not a warning.
 */
static void
refuse_cleartext(struct loader *ld, const struct config_ldap *l)
{
	unsigned line = key_line(ld, SEC_LDAP, "uri");
	char host[256], vb[LOG_SAFE_BUF];

	if (l->starttls)
		return;
	for (size_t i = 0; i < l->uris.n; i++) {
		const char *h = l->uris.items[i], *end;

		if (strncmp(h, "ldap://", 7) != 0)
			continue;
		h += 7;
		if (*h == '[')
			end = strchr(++h, ']');
		else
			end = h + strcspn(h, ":/");
		if (end == NULL || (size_t)(end - h) >= sizeof(host))
			continue;
		snprintf(host, sizeof(host), "%.*s", (int)(end - h), h);
		if (!config_host_is_loopback(host))
			cfg_error(ld, line, "[ldap] uri: %s would send passwords "
			    "unencrypted: use ldaps:// or starttls = yes",
			    SAFE(vb, l->uris.items[i]));
	}
}

/* Cross-key rules of a present [ldap] section. */
static void
finish_ldap_keys(struct loader *ld, bool used)
{
	struct config_ldap *l = &ld->cfg->ldap;
	unsigned pw = key_line(ld, SEC_LDAP, "bind_password");
	unsigned pwfile = key_line(ld, SEC_LDAP, "bind_password_file");
	unsigned dn = key_line(ld, SEC_LDAP, "bind_dn");
	unsigned header = ld->header_line[SEC_LDAP];

	if (used && l->uris.n == 0 && key_line(ld, SEC_LDAP, "uri") == 0)
		cfg_error(ld, header, "[ldap] uri is required");
	if (used && l->user_base == NULL && key_line(ld, SEC_LDAP, "user_base") == 0)
		cfg_error(ld, header, "[ldap] user_base is required");
	if (l->starttls && any_ldaps(&l->uris))
		cfg_error(ld, key_line(ld, SEC_LDAP, "starttls"),
		    "[ldap] starttls: cannot be used with an ldaps:// uri");
	if (pw != 0 && pwfile != 0)
		cfg_error(ld, pw > pwfile ? pw : pwfile, "[ldap] bind_password "
		    "(line %u) and bind_password_file (line %u): give only one",
		    pw, pwfile);
	else if (l->bind_dn != NULL && pw == 0 && pwfile == 0)
		cfg_error(ld, dn, "[ldap] bind_dn: needs bind_password_file or "
		    "bind_password");
	else if (dn == 0 && (pw != 0 || pwfile != 0))
		cfg_error(ld, pw != 0 ? pw : pwfile, "[ldap] %s: needs bind_dn",
		    pw != 0 ? "bind_password" : "bind_password_file");
	if (l->user_filter != NULL && !has_placeholder(l->user_filter, 'u'))
		cfg_error(ld, key_line(ld, SEC_LDAP, "user_filter"),
		    "[ldap] user_filter: must contain %%u (the user name)");
	if (l->group_filter != NULL && l->group_base == NULL &&
	    key_line(ld, SEC_LDAP, "group_base") == 0)
		cfg_error(ld, key_line(ld, SEC_LDAP, "group_filter"),
		    "[ldap] group_filter: needs group_base");
	if (l->nested_groups == LDAP_NESTED_AD && l->group_base == NULL &&
	    key_line(ld, SEC_LDAP, "group_base") == 0)
		cfg_error(ld, key_line(ld, SEC_LDAP, "nested_groups"),
		    "[ldap] nested_groups: ad needs group_base (the in-chain "
		    "search runs there)");
	if (used && key_line(ld, SEC_LDAP, "group_filter") == 0 &&
	    key_line(ld, SEC_LDAP, "group_attribute") == 0)
		cfg_warning(ld, header, "[ldap] has neither group_filter nor "
		    "group_attribute: users get no groups");
	refuse_cleartext(ld, l);
}

static void
finish_ldap(struct loader *ld, bool used)
{
	struct config_ldap *l = &ld->cfg->ldap;

	set_default(ld, &l->user_filter, DEFAULT_USER_FILTER);
	set_default(ld, &l->group_name_attribute, "cn");
	set_default(ld, &l->id_attribute, "entryUUID");
	set_default(ld, &l->name_attribute, "displayName");
	set_default(ld, &l->mail_attribute, "mail");
	if (l->present)
		finish_ldap_keys(ld, used);
	else if (used)
		cfg_error(ld, key_line(ld, SEC_AUTH, "backend"),
		    "[auth] backend is ldap but there is no [ldap] section");
}

static void
finish_tokens(struct loader *ld)
{
	const struct config_tokens *t = &ld->cfg->tokens;
	unsigned max_line = key_line(ld, SEC_TOKENS, "refresh_max_ttl");
	unsigned line = key_line(ld, SEC_TOKENS, "refresh_ttl");

	if (t->refresh_max_ttl < t->refresh_ttl)
		cfg_error(ld, max_line != 0 ? max_line : line,
		    "[tokens] refresh_max_ttl (%u) must be at least refresh_ttl "
		    "(%u): a refresh family ends at refresh_max_ttl",
		    t->refresh_max_ttl, t->refresh_ttl);
}

static bool
scope_defined(const struct config *cfg, const char *scope)
{
	for (size_t i = 0; i < cfg->n_scopes; i++)
		if (strcmp(cfg->scopes[i].scope, scope) == 0)
			return true;
	return false;
}

/* A required key of a named section, reported at the section's header. */
static bool
inst_require(struct loader *ld, size_t inst, const char *key, const char *why)
{
	if (inst_key_line(ld, inst, key) != 0)
		return true;	/* given; any problem is reported already */
	cfg_error(ld, ld->insts[inst].line, "[%s] %s is required%s%s",
	    ld->insts[inst].label, key, why[0] != '\0' ? " " : "", why);
	return false;
}

static void
finish_client(struct loader *ld, size_t inst, struct client_cfg *c)
{
	const char *label = ld->insts[inst].label;
	unsigned line, scopes_line = inst_key_line(ld, inst, "scopes");
	char vb[LOG_SAFE_BUF];

	(void)inst_require(ld, inst, "name", "(shown on the login and consent "
	    "pages)");
	(void)inst_require(ld, inst, "redirect_uri", "");
	(void)inst_require(ld, inst, "scopes", "(the scopes it may ask for)");
	for (size_t i = 0; i < c->scopes.n; i++)
		if (!scope_defined(ld->cfg, c->scopes.items[i]))
			cfg_error(ld, scopes_line, "[%s] scopes: '%s' is not "
			    "defined in [scopes]", label,
			    SAFE(vb, c->scopes.items[i]));
	if (c->is_public) {
		if ((line = inst_key_line(ld, inst, "secret")) != 0)
			cfg_error(ld, line, "[%s] secret: a public client has no "
			    "secret (remove it, or set public = no)", label);
		if (!c->pkce_required)
			cfg_error(ld, inst_key_line(ld, inst, "pkce"), "[%s] pkce: "
			    "a public client always requires PKCE", label);
		if (c->introspect)
			cfg_error(ld, inst_key_line(ld, inst, "introspect"),
			    "[%s] introspect: a public client cannot authenticate "
			    "to /introspect", label);
	} else if (inst_key_line(ld, inst, "secret") == 0)
		cfg_error(ld, ld->insts[inst].line, "[%s] needs a secret "
		    "(sha256:… from `idbridge secret`), or public = yes", label);
}

/* The origin of a checked URL ("https://api.example.com:8443"). */
static char *
url_origin(const char *v)
{
	struct url u;
	char *host, *origin = NULL, port[16] = "";

	if (url_parse(v, &u) != NULL || (host = strndup(u.host, u.host_len)) == NULL)
		return NULL;
	for (char *p = host; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	/* RFC 6454 §6.2: the default port is left out. */
	if (u.port != 0 && u.port != (u.http ? 80u : 443u))
		snprintf(port, sizeof(port), ":%u", u.port);
	if (asprintf(&origin, "%s://%s%s%s%s", u.http ? "http" : "https",
	    u.bracketed ? "[" : "", host, u.bracketed ? "]" : "", port) < 0)
		origin = NULL;
	free(host);
	return origin;
}

/* A key that only one strategy uses, given with another: at its line. */
static void
plugin_key_only_for(struct loader *ld, size_t inst, const char *key,
    const char *strategy)
{
	unsigned line = inst_key_line(ld, inst, key);

	if (line != 0)
		cfg_error(ld, line, "[%s] %s: only for auth = %s",
		    ld->insts[inst].label, key, strategy);
}

static void
finish_plugin_strategy(struct loader *ld, size_t inst, struct plugin_cfg *p)
{
	if (p->auth == PLUGIN_AUTH_SERVICE_HTTP)
		(void)inst_require(ld, inst, "service_secret", "with auth = "
		    "service_http (the sha256: line of `idbridge secret`)");
	else
		plugin_key_only_for(ld, inst, "service_secret", "service_http");
	if (p->auth != PLUGIN_AUTH_OAUTH)
		plugin_key_only_for(ld, inst, "authorization_content_type",
		    "oauth");
	if (p->auth != PLUGIN_AUTH_OAUTH && p->auth != PLUGIN_AUTH_SERVICE_HTTP)
		plugin_key_only_for(ld, inst, "verification_token",
		    "service_http or oauth");
}

/*
 * Any manifest key makes the plugin one with a manifest, and a manifest is
 * served only complete.  verification_token is the exception: the ChatGPT
 * UI shows it only after it has read the manifest, so it is warned about,
 * and the manifest goes out without verification_tokens until it is set.
 */
static void
finish_plugin_manifest(struct loader *ld, size_t inst, struct plugin_cfg *p)
{
	static const char *const fields[] = {
		"name_for_human", "name_for_model", "description_for_human",
		"description_for_model", "logo_url", "contact_email",
		"legal_info_url",
	};
	const size_t n = sizeof(fields) / sizeof(fields[0]);
	bool any = false, all = true;

	for (size_t i = 0; i < n; i++)
		any = any || inst_key_line(ld, inst, fields[i]) != 0;
	if (!any)
		return;
	for (size_t i = 0; i < n; i++)
		all = inst_require(ld, inst, fields[i], "for the manifest") && all;
	all = inst_require(ld, inst, "api_url", "for the manifest (its OpenAPI "
	    "document)") && all;
	if ((p->auth == PLUGIN_AUTH_SERVICE_HTTP || p->auth == PLUGIN_AUTH_OAUTH) &&
	    inst_key_line(ld, inst, "verification_token") == 0)
		cfg_warning(ld, ld->insts[inst].line, "[%s] has no "
		    "verification_token: the manifest has no verification_tokens "
		    "until it is set (the ChatGPT UI shows it)",
		    ld->insts[inst].label);
	p->has_manifest = all && p->name_for_human != NULL &&
	    p->name_for_model != NULL && p->description_for_human != NULL &&
	    p->description_for_model != NULL && p->logo_url != NULL &&
	    p->contact_email != NULL && p->legal_info_url != NULL &&
	    p->api_url != NULL;
}

static void
finish_plugin(struct loader *ld, size_t inst, struct plugin_cfg *p)
{
	const struct config *cfg = ld->cfg;
	const char *label = ld->insts[inst].label;
	unsigned client_line = inst_key_line(ld, inst, "client");
	char vb[LOG_SAFE_BUF];
	bool found = false;

	if (!inst_require(ld, inst, "auth", "(none, service_http, user_http or "
	    "oauth)"))
		return;
	if (p->audience == NULL && p->api_url != NULL &&
	    (p->audience = url_origin(p->api_url)) == NULL)
		ld->oom = true;
	finish_plugin_strategy(ld, inst, p);
	finish_plugin_manifest(ld, inst, p);
	if (p->auth != PLUGIN_AUTH_OAUTH) {
		if (client_line != 0)
			cfg_error(ld, client_line, "[%s] client: only for auth = "
			    "oauth", label);
		return;
	}
	if (!inst_require(ld, inst, "client", "with auth = oauth (the [client] "
	    "it uses)") || p->client == NULL)
		return;
	for (size_t i = 0; i < cfg->n_clients && !found; i++)
		found = strcmp(cfg->clients[i].id, p->client) == 0;
	if (!found)
		cfg_error(ld, client_line, "[%s] client: there is no [client %s]",
		    label, SAFE(vb, p->client));
	for (size_t i = 0; i < cfg->n_plugins && &cfg->plugins[i] != p; i++)
		if (cfg->plugins[i].client != NULL &&
		    strcmp(cfg->plugins[i].client, p->client) == 0)
			cfg_error(ld, client_line, "[%s] client: [client %s] is "
			    "already the client of [plugin %s] (line %u): its "
			    "tokens can carry only one audience", label,
			    SAFE(vb, p->client), cfg->plugins[i].name,
			    cfg->plugins[i].line);
	if (p->audience == NULL && inst_key_line(ld, inst, "audience") == 0 &&
	    inst_key_line(ld, inst, "api_url") == 0)
		cfg_error(ld, ld->insts[inst].line, "[%s] needs audience or "
		    "api_url with auth = oauth (the aud of its tokens)", label);
}

/* Cross-key rules of [client] and [plugin] sections, now [scopes] is known. */
static void
finish_named(struct loader *ld)
{
	struct config *cfg = ld->cfg;

	for (size_t i = 0; i < ld->n_insts; i++) {
		const struct instance *in = &ld->insts[i];

		if (in->sec == SEC_CLIENT && in->index < cfg->n_clients)
			finish_client(ld, i, &cfg->clients[in->index]);
	}
	for (size_t i = 0; i < ld->n_insts; i++) {
		const struct instance *in = &ld->insts[i];

		if (in->sec == SEC_PLUGIN && in->index < cfg->n_plugins)
			finish_plugin(ld, i, &cfg->plugins[in->index]);
	}
}

static void
set_numeric_defaults(struct config *cfg)
{
	cfg->server.threads = 0;
	cfg->server.auth_workers = IDB_DEFAULT_AUTH_WORKERS;
	cfg->pam.workers = IDB_BROKER_DEFAULT_WORKERS;
	cfg->store.driver = STORE_SQLITE;
	cfg->auth.username_max_length = IDB_DEFAULT_USERNAME_LEN;
	cfg->ldap.timeout = 5;
	cfg->ldap.pool = 8;
	cfg->ldap.nested_groups = LDAP_NESTED_NO;
	cfg->ldap.nested_depth = 8;
	cfg->tokens.access_ttl = 900;
	cfg->tokens.refresh_ttl = 2592000;
	cfg->tokens.code_ttl = 60;
	cfg->tokens.signing_alg = SIGNING_RS256;
	cfg->tokens.directory_cache_ttl = 300;
	cfg->tokens.refresh_max_ttl = 7776000;
	cfg->tokens.groups_claim = GROUPS_CLAIM_MAPPED;
	cfg->apikeys.max_per_user = 20;
	cfg->apikeys.max_lifetime = 31536000;
	cfg->apikeys.last_used_interval = IDB_KEYUSAGE_FLUSH_S;
}

/*
 * Loading
 */

/* False when the file could not be opened. */
static bool
parse_file(struct loader *ld)
{
	int r;

	if ((ld->f = fopen(ld->path, "re")) == NULL) {
		cfg_error(ld, 0, "cannot open: %s", strerror(errno));
		return false;
	}
	/* Our buffer, so the file's bytes (maybe a password) can be wiped. */
	setvbuf(ld->f, ld->iobuf, _IOFBF, sizeof(ld->iobuf));
	r = ini_parse_stream(config_reader, ld, config_handler, ld);
	if (ld->read_errno != 0)
		cfg_error(ld, 0, "read error: %s", strerror(ld->read_errno));
	else if (r == -2)
		ld->oom = true;
	else if (r != 0 && ld->n_errors == 0)
		cfg_error(ld, r > 0 ? (unsigned)r : 0, "syntax error");
	fclose(ld->f);
	ld->f = NULL;
	explicit_bzero(ld->iobuf, sizeof(ld->iobuf));
	return true;
}

/* The texts, sorted by line; messages on one line keep their order. */
static char **
take_messages(struct message *list, size_t n)
{
	char **out;

	if (n == 0)
		return NULL;
	for (size_t i = 1; i < n; i++) {
		struct message m = list[i];
		size_t j = i;

		while (j > 0 && list[j - 1].line > m.line) {
			list[j] = list[j - 1];
			j--;
		}
		list[j] = m;
	}
	if ((out = calloc(n, sizeof(*out))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		out[i] = list[i].text;
		list[i].text = NULL;
	}
	return out;
}

static void
loader_free(struct loader *ld)
{
	for (size_t i = 0; i < ld->n_entries; i++) {
		free(ld->entries[i].key);
		free_secret(ld->entries[i].value, ld->entries[i].value_len);
	}
	free(ld->entries);
	for (size_t i = 0; i < ld->n_insts; i++) {
		free(ld->insts[i].name);
		free(ld->insts[i].label);
	}
	free(ld->insts);
	if (ld->buf != NULL)
		explicit_bzero(ld->buf, ld->bufsize);
	free(ld->buf);
	for (size_t i = 0; i < ld->n_errors; i++)
		free(ld->errors[i].text);
	for (size_t i = 0; i < ld->n_warnings; i++)
		free(ld->warnings[i].text);
	free(ld->errors);
	free(ld->warnings);
}

static void
report(struct loader *ld, struct config_errors *errs)
{
	if (ld->oom)
		cfg_error(ld, 0, "out of memory");
	if ((errs->msgs = take_messages(ld->errors, ld->n_errors)) != NULL)
		errs->n = ld->n_errors;
	if ((errs->warnings = take_messages(ld->warnings, ld->n_warnings)) != NULL)
		errs->n_warnings = ld->n_warnings;
}

struct config *
config_load(const char *path, struct config_errors *errs)
{
	struct config_errors ignored;
	struct loader *ld = NULL;
	struct config *cfg = NULL;
	bool ldap_used;

	if (errs == NULL)
		errs = &ignored;
	memset(errs, 0, sizeof(*errs));
	/* The loader is big (stdio buffer): keep it off the stack. */
	if ((ld = calloc(1, sizeof(*ld))) == NULL ||
	    (cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    (cfg->path = strdup(path)) == NULL) {
		free(ld);
		config_free(cfg);
		return NULL;
	}
	ld->path = path;
	ld->cfg = cfg;
	ld->target = cfg;
	ld->cur_inst = -1;
	set_numeric_defaults(cfg);
	/* Nothing read, nothing more to say than why. */
	if (parse_file(ld)) {
		alloc_instances(ld);
		apply_entries(ld);
		finish_server(ld);
		finish_tokens(ld);
		finish_named(ld);
		ldap_used = finish_auth(ld);
		finish_ldap(ld, ldap_used);
		set_default(ld, &cfg->pam.service, DEFAULT_PAM_SERVICE);
	}
	report(ld, errs);
	if (ld->n_errors > 0 || ld->oom) {
		config_free(cfg);
		cfg = NULL;
	}
	loader_free(ld);
	free(ld);
	if (errs == &ignored)
		config_errors_free(&ignored);
	return cfg;
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->server.issuer);
	free(cfg->server.listen);
	free(cfg->server.listen_host);
	free(cfg->server.state_dir);
	free(cfg->server.templates);
	free(cfg->server.user);
	strlist_free(&cfg->server.trusted_proxies);
	free(cfg->store.path);
	free(cfg->store.dsn);
	free(cfg->auth.backend);
	free(cfg->auth.username_chars);
	strlist_free(&cfg->ldap.uris);
	free(cfg->ldap.ca_file);
	free(cfg->ldap.bind_dn);
	free_secret(cfg->ldap.bind_password, cfg->ldap.bind_password_len);
	free(cfg->ldap.user_base);
	free(cfg->ldap.user_filter);
	free(cfg->ldap.group_base);
	free(cfg->ldap.group_filter);
	free(cfg->ldap.group_attribute);
	free(cfg->ldap.group_name_attribute);
	free(cfg->ldap.id_attribute);
	free(cfg->ldap.name_attribute);
	free(cfg->ldap.mail_attribute);
	free(cfg->ldap.disabled_filter);
	free(cfg->pam.service);
	for (size_t i = 0; i < cfg->n_scopes; i++) {
		free(cfg->scopes[i].scope);
		strlist_free(&cfg->scopes[i].members);
	}
	free(cfg->scopes);
	for (size_t i = 0; i < cfg->n_clients; i++) {
		struct client_cfg *c = &cfg->clients[i];

		free(c->id);
		free(c->name);
		explicit_bzero(c->secret_hash, sizeof(c->secret_hash));
		strlist_free(&c->redirect_uris);
		strlist_free(&c->scopes);
	}
	free(cfg->clients);
	for (size_t i = 0; i < cfg->n_plugins; i++) {
		struct plugin_cfg *p = &cfg->plugins[i];

		free(p->name);
		free(p->client);
		free(p->audience);
		free(p->api_url);
		free(p->name_for_human);
		free(p->name_for_model);
		free(p->description_for_human);
		free(p->description_for_model);
		free(p->logo_url);
		free(p->contact_email);
		free(p->legal_info_url);
		free(p->verification_token);
		explicit_bzero(p->service_secret_hash,
		    sizeof(p->service_secret_hash));
	}
	free(cfg->plugins);
	free(cfg);
}

const struct plugin_cfg *
config_plugin_by_name(const struct config *cfg, const char *name)
{
	if (cfg == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < cfg->n_plugins; i++)
		if (strcmp(cfg->plugins[i].name, name) == 0)
			return &cfg->plugins[i];
	return NULL;
}

bool
config_plugin_name_valid(const char *name)
{
	return name != NULL && plugin_name_valid(name, strlen(name));
}

const struct plugin_cfg *
config_plugin_for_client(const struct config *cfg, const char *client_id)
{
	if (cfg == NULL || client_id == NULL)
		return NULL;
	for (size_t i = 0; i < cfg->n_plugins; i++)
		if (cfg->plugins[i].auth == PLUGIN_AUTH_OAUTH &&
		    cfg->plugins[i].client != NULL &&
		    strcmp(cfg->plugins[i].client, client_id) == 0)
			return &cfg->plugins[i];
	return NULL;
}

void
config_errors_free(struct config_errors *errs)
{
	if (errs == NULL)
		return;
	for (size_t i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	for (size_t i = 0; i < errs->n_warnings; i++)
		free(errs->warnings[i]);
	free(errs->msgs);
	free(errs->warnings);
	memset(errs, 0, sizeof(*errs));
}

/* The [client] rules for clients kept in the store (config.h). */
const char *
config_redirect_uri_problem(const char *uri)
{
	return redirect_uri_problem(uri);
}

bool
config_scope_token_valid(const char *s)
{
	return is_scope_token(s);
}

bool
config_scope_defined(const struct config *cfg, const char *scope)
{
	return scope_defined(cfg, scope);
}
