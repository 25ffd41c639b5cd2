/*
 * template.c — compile the HTML pages once, render them with escaped values.
 *
 * A page is compiled into a flat list of ops: literal text, a variable, a
 * URL variable, the current list item or a field of the current row, and
 * sections whose body is the ops up to `end`.  While compiling, a small
 * HTML tokenizer follows the literal text so each placeholder knows its
 * context (text, quoted attribute value, tag, comment, <script>…) and the
 * unsafe ones are refused at load time, with FILE:LINE, rather than
 * trusted at render time.  See template.h for the syntax and the rules.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "template.h"

#define MAX_NAME_LEN 32          /* a variable's name */
#define MAX_PLACEHOLDER_LEN 48   /* from "{{" to "}}" */
#define HTML_NAME_BUF 16         /* tag and attribute names we need to recognise */
#define OUT_INITIAL 4096

/* ---- the pages and their variables --------------------------------------- */

enum var_kind { K_TEXT, K_URL, K_LIST, K_ROWS };

struct var_spec {
	const char *name;
	enum var_kind kind;
};

/* The fields of a K_ROWS variable's rows, in the order callers pass them. */
struct rows_spec {
	const char *var;
	const char *const *fields;
	size_t n_fields;
};

struct page_spec {
	const char *file;
	const struct var_spec *vars;
	size_t n_vars;
	const struct rows_spec *rows;
	size_t n_rows;
};

static const struct var_spec login_vars[] = {
	{ "issuer_host", K_TEXT }, { "client_name", K_TEXT }, { "scopes", K_LIST },
	{ "error", K_TEXT }, { "username", K_TEXT }, { "csrf", K_TEXT },
	{ "purpose", K_TEXT }, { "action", K_URL },
};
static const struct var_spec consent_vars[] = {
	{ "issuer_host", K_TEXT }, { "client_name", K_TEXT }, { "scopes", K_LIST },
	{ "user", K_TEXT }, { "csrf", K_TEXT },
};
static const struct var_spec error_vars[] = {
	{ "issuer_host", K_TEXT }, { "title", K_TEXT }, { "message", K_TEXT },
	{ "back_url", K_URL }, { "back_label", K_TEXT },
};
static const struct var_spec keys_vars[] = {
	{ "issuer_host", K_TEXT }, { "user", K_TEXT }, { "csrf", K_TEXT },
	{ "error", K_TEXT }, { "notice", K_TEXT }, { "new_key", K_TEXT },
	{ "new_key_name", K_TEXT }, { "limit_note", K_TEXT }, { "keys", K_ROWS },
	{ "scopes", K_LIST }, { "lifetimes", K_ROWS },
};
static const char *const key_fields[] = {
	"id", "name", "scopes", "created", "last_used", "expires",
};
static const char *const lifetime_fields[] = { "value", "label" };
#define FIELDS(v, f) { v, f, sizeof(f) / sizeof(f[0]) }
static const struct rows_spec keys_rows[] = {
	FIELDS("keys", key_fields), FIELDS("lifetimes", lifetime_fields),
};
#undef FIELDS

#define N_OF(a) (sizeof(a) / sizeof(a[0]))
#define SPEC(f, v) { f, v, N_OF(v), NULL, 0 }
#define SPEC_ROWS(f, v, r) { f, v, N_OF(v), r, N_OF(r) }
static const struct page_spec pages[TPL_N_PAGES] = {
	[TPL_LOGIN] = SPEC("login.html", login_vars),
	[TPL_CONSENT] = SPEC("consent.html", consent_vars),
	[TPL_ERROR] = SPEC("error.html", error_vars),
	[TPL_KEYS] = SPEC_ROWS("keys.html", keys_vars, keys_rows),
};
#undef SPEC
#undef SPEC_ROWS
#undef N_OF

_Static_assert(sizeof(login_vars) / sizeof(login_vars[0]) <= IDB_MAX_TEMPLATE_VARS,
    "login.html has too many variables");
_Static_assert(sizeof(consent_vars) / sizeof(consent_vars[0]) <= IDB_MAX_TEMPLATE_VARS,
    "consent.html has too many variables");
_Static_assert(sizeof(error_vars) / sizeof(error_vars[0]) <= IDB_MAX_TEMPLATE_VARS,
    "error.html has too many variables");
_Static_assert(sizeof(keys_vars) / sizeof(keys_vars[0]) <= IDB_MAX_TEMPLATE_VARS,
    "keys.html has too many variables");

#define STYLESHEET_FILE "style.css"

/* The fields of page's rows variable var (none for any other variable). */
static const struct rows_spec *
rows_of(const struct page_spec *page, const char *var)
{
	static const struct rows_spec none = { NULL, NULL, 0 };

	for (size_t i = 0; i < page->n_rows; i++)
		if (strcmp(page->rows[i].var, var) == 0)
			return &page->rows[i];
	return &none;
}

/* The first field's name, for the hints in error messages. */
static const char *
first_field(const struct page_spec *page, const char *var)
{
	const struct rows_spec *r = rows_of(page, var);

	return r->n_fields > 0 ? r->fields[0] : "field";
}

const char *
tpl_page_file(enum tpl_page_id page)
{
	return page < TPL_N_PAGES ? pages[page].file : NULL;
}

/* ---- compiled form --------------------------------------------------------- */

enum op_type {
	OP_TEXT,     /* text[off, off+len) */
	OP_VAR,      /* escaped value of var */
	OP_URL,      /* escaped value of var if it is a safe URL, else "#" */
	OP_ITEM,     /* escaped current list item, or field `field` of the row */
	OP_EACH,     /* body once per item (row) of list (rows) var */
	OP_IF,       /* body once if var is non-empty */
	OP_UNLESS,   /* body once if var is empty */
};

struct op {
	enum op_type type;
	unsigned var;        /* index into the page's variables */
	unsigned field;      /* OP_ITEM: index into the row; 0 for a list item */
	size_t off, len;     /* OP_TEXT */
	size_t end;          /* sections: the first op after the body */
};

struct tpl {
	const struct page_spec *spec;
	char *text;          /* the source; OP_TEXT points into it */
	struct op *ops;
	size_t n_ops, cap_ops;
};

struct tpl_set {
	atomic_uint refs;
	struct tpl *pages[TPL_N_PAGES];
	char *css;
	size_t css_len;
};

/* ---- UTF-8 ------------------------------------------------------------------ */

/*
 * Length of the valid UTF-8 sequence starting s (at most n bytes), or 0:
 * no overlongs, no surrogates, nothing above U+10FFFF.
 */
static size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
	size_t need;
	unsigned long cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

/* ---- errors ----------------------------------------------------------------- */

static void set_err(char **err_r, const char *fmt, ...) IDB_PRINTF(2, 3);

static void
set_err(char **err_r, const char *fmt, ...)
{
	va_list ap;

	if (err_r == NULL || *err_r != NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(err_r, fmt, ap) < 0)
		*err_r = NULL;
	va_end(ap);
}

/* ---- the compiler ------------------------------------------------------------ */

/* Where the HTML tokenizer stands after the literal text read so far. */
enum html_state {
	S_DATA,            /* text between tags */
	S_LT,              /* text, right after '<' or "</" */
	S_TAG_NAME,        /* <name or </name */
	S_IN_TAG,          /* between attributes */
	S_ATTR_NAME,
	S_AFTER_ATTR_NAME,
	S_BEFORE_VALUE,    /* after '=' */
	S_VALUE_DQ,
	S_VALUE_SQ,
	S_VALUE_UQ,
	S_COMMENT,         /* <!-- … --> */
	S_DECL,            /* <!DOCTYPE …>, <? … > */
	S_RAWTEXT,         /* inside <script>, <style> …: no placeholders */
	S_RCDATA,          /* inside <title>, <textarea>: text, but no tags */
	S_RCDATA_LT,       /* RCDATA right after '<' */
};

struct section {
	enum op_type type;
	unsigned var;
	size_t op;
	unsigned line;
};

struct compiler {
	struct tpl *t;
	const char *file;
	const char *text;
	size_t len, pos, run_start;
	unsigned line;
	char **err_r;
	enum html_state st;
	char tag[HTML_NAME_BUF];     /* lower case; "" when too long to matter */
	size_t tag_len;
	bool end_tag;
	char attr[HTML_NAME_BUF];
	size_t attr_len;
	size_t value_len;            /* bytes and placeholders in the value so far */
	char raw_end[HTML_NAME_BUF]; /* RAWTEXT/RCDATA: the element that ends it */
	struct section stack[IDB_MAX_TEMPLATE_DEPTH];
	size_t depth;
};

static void compile_error(struct compiler *c, unsigned line, const char *fmt, ...)
    IDB_PRINTF(3, 4);

static void
compile_error(struct compiler *c, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	set_err(c->err_r, "%s:%u: %s", c->file, line, msg != NULL ? msg : "out of memory");
	free(msg);
}

static int
add_op(struct compiler *c, const struct op *op)
{
	struct tpl *t = c->t;

	if (t->n_ops == t->cap_ops) {
		size_t cap = t->cap_ops != 0 ? t->cap_ops * 2 : 64;
		struct op *n = realloc(t->ops, cap * sizeof(*n));

		if (n == NULL) {
			compile_error(c, c->line, "out of memory");
			return -1;
		}
		t->ops = n;
		t->cap_ops = cap;
	}
	t->ops[t->n_ops++] = *op;
	return 0;
}

static int
flush_text(struct compiler *c)
{
	struct op op = { .type = OP_TEXT, .off = c->run_start, .len = c->pos - c->run_start };

	if (op.len == 0)
		return 0;
	return add_op(c, &op);
}

static bool
is_alpha(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool
is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f';
}

static char
lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* Append to a tag or attribute name; names too long for us are emptied
 * out for good (tag_len past the buffer), so they never match a known one. */
static void
name_push(char *buf, size_t *len, char ch)
{
	if (*len + 1 < HTML_NAME_BUF)
		buf[*len] = lower(ch);
	else
		buf[0] = '\0';
	(*len)++;
	if (*len < HTML_NAME_BUF)
		buf[*len] = '\0';
}

static bool
name_in(const char *name, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(name, *list) == 0)
			return true;
	return false;
}

static const char *const rawtext_tags[] = {
	"script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext",
	NULL
};
static const char *const rcdata_tags[] = { "title", "textarea", NULL };
/* No placeholder in any attribute of these. */
static const char *const sealed_tags[] = {
	"script", "style", "meta", "link", "base", "iframe", "object", "embed", "frame",
	NULL
};
/* Attributes that hold a URL: only {{url:name}}, and only at the start. */
static const char *const url_attrs[] = {
	"href", "src", "action", "formaction", "poster", "cite", "data", "srcset",
	"background", "ping", "codebase", "longdesc", "icon", "manifest", "usemap",
	"xlink:href", "lowsrc", "dynsrc", "archive", "classid", "profile",
	NULL
};

static bool
is_script_attr(const char *attr, size_t len)
{
	/* An attribute name we cut (len past the buffer) might be anything. */
	return len >= HTML_NAME_BUF || (attr[0] == 'o' && attr[1] == 'n') ||
	    strcmp(attr, "style") == 0 || strcmp(attr, "srcdoc") == 0;
}

/* '>' of a start tag: raw text, RCDATA or plain text follows. */
static void
tag_closed(struct compiler *c)
{
	c->st = S_DATA;
	if (c->end_tag || c->tag_len >= HTML_NAME_BUF)
		return;
	if (name_in(c->tag, rawtext_tags))
		c->st = S_RAWTEXT;
	else if (name_in(c->tag, rcdata_tags))
		c->st = S_RCDATA;
	else
		return;
	memcpy(c->raw_end, c->tag, sizeof(c->raw_end));
}

static bool
starts_with(const struct compiler *c, size_t at, const char *s)
{
	size_t n = strlen(s);

	return at + n <= c->len && memcmp(c->text + at, s, n) == 0;
}

/* "</name" followed by space, '/' or '>' at `at` closes the raw element. */
static bool
raw_end_at(const struct compiler *c, size_t at)
{
	size_t n = strlen(c->raw_end);

	if (at + 2 + n >= c->len || c->text[at] != '<' || c->text[at + 1] != '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(c->text[at + 2 + i]) != c->raw_end[i])
			return false;
	return is_space(c->text[at + 2 + n]) || c->text[at + 2 + n] == '/' ||
	    c->text[at + 2 + n] == '>';
}

static void
start_tag(struct compiler *c, char first, bool end)
{
	c->end_tag = end;
	c->tag_len = 0;
	c->tag[0] = '\0';
	name_push(c->tag, &c->tag_len, first);
	c->st = S_TAG_NAME;
}

static void
start_attr(struct compiler *c, char first)
{
	c->attr_len = 0;
	c->attr[0] = '\0';
	name_push(c->attr, &c->attr_len, first);
	c->st = S_ATTR_NAME;
}

/* Feed the literal byte at c->pos; returns how many bytes it consumed. */
static size_t
html_step(struct compiler *c)
{
	char ch = c->text[c->pos];

	switch (c->st) {
	case S_DATA:
		if (ch == '<') {
			if (starts_with(c, c->pos, "<!--")) {
				c->st = S_COMMENT;
				return 4;
			}
			if (starts_with(c, c->pos, "<!") || starts_with(c, c->pos, "<?")) {
				c->st = S_DECL;
				return 2;
			}
			c->st = S_LT;
			if (starts_with(c, c->pos, "</"))
				return 2;
		}
		return 1;
	case S_LT:
		/*
		 * "<a" opens a tag, "</a" closes one; "</" + anything else is a
		 * bogus comment up to '>', "<" + anything else is text.
		 */
		if (is_alpha(ch))
			start_tag(c, ch, c->text[c->pos - 1] == '/');
		else {
			c->st = c->text[c->pos - 1] == '/' ? S_DECL : S_DATA;
			return 0;
		}
		return 1;
	case S_TAG_NAME:
		if (is_space(ch) || ch == '/')
			c->st = S_IN_TAG;
		else if (ch == '>')
			tag_closed(c);
		else
			name_push(c->tag, &c->tag_len, ch);
		return 1;
	case S_IN_TAG:
		if (ch == '>')
			tag_closed(c);
		else if (!is_space(ch) && ch != '/')
			start_attr(c, ch);
		return 1;
	case S_ATTR_NAME:
		if (is_space(ch))
			c->st = S_AFTER_ATTR_NAME;
		else if (ch == '=')
			c->st = S_BEFORE_VALUE;
		else if (ch == '>')
			tag_closed(c);
		else if (ch == '/')
			c->st = S_IN_TAG;
		else
			name_push(c->attr, &c->attr_len, ch);
		return 1;
	case S_AFTER_ATTR_NAME:
		if (ch == '=')
			c->st = S_BEFORE_VALUE;
		else if (ch == '>')
			tag_closed(c);
		else if (ch == '/')
			c->st = S_IN_TAG;
		else if (!is_space(ch))
			start_attr(c, ch);
		return 1;
	case S_BEFORE_VALUE:
		c->value_len = 0;
		if (ch == '"')
			c->st = S_VALUE_DQ;
		else if (ch == '\'')
			c->st = S_VALUE_SQ;
		else if (ch == '>')
			tag_closed(c);
		else if (!is_space(ch))
			c->st = S_VALUE_UQ;
		return 1;
	case S_VALUE_DQ:
	case S_VALUE_SQ:
		if (ch == (c->st == S_VALUE_DQ ? '"' : '\''))
			c->st = S_IN_TAG;
		else
			c->value_len++;
		return 1;
	case S_VALUE_UQ:
		if (is_space(ch))
			c->st = S_IN_TAG;
		else if (ch == '>')
			tag_closed(c);
		return 1;
	case S_COMMENT:
		if (starts_with(c, c->pos, "-->")) {
			c->st = S_DATA;
			return 3;
		}
		return 1;
	case S_DECL:
		if (ch == '>')
			c->st = S_DATA;
		return 1;
	case S_RAWTEXT:
	case S_RCDATA:
		if (raw_end_at(c, c->pos)) {
			start_tag(c, c->text[c->pos + 2], true);
			return 3;
		}
		if (ch == '<' && c->st == S_RCDATA) {
			c->st = S_RCDATA_LT;
			if (starts_with(c, c->pos, "</"))
				return 2;
		}
		return 1;
	case S_RCDATA_LT:
		c->st = S_RCDATA;
		return 0;
	}
	return 1;
}

static int
find_var(const struct compiler *c, const char *name)
{
	for (size_t i = 0; i < c->t->spec->n_vars; i++)
		if (strcmp(c->t->spec->vars[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* The {{#list}} or {{#rows}} section around c->pos (they never nest), or NULL. */
static const struct var_spec *
enclosing_each(const struct compiler *c)
{
	for (size_t i = 0; i < c->depth; i++)
		if (c->stack[i].type == OP_EACH)
			return &c->t->spec->vars[c->stack[i].var];
	return NULL;
}

/* Why a placeholder cannot stand here (NULL: it can).  url: {{url:name}}. */
static const char *
context_problem(const struct compiler *c, bool url)
{
	switch (c->st) {
	case S_DATA:
	case S_RCDATA:
		return url ? "{{url:…}} outside an href/src/action value" : NULL;
	case S_VALUE_DQ:
	case S_VALUE_SQ:
		break;
	case S_LT:
	case S_RCDATA_LT:
		return "placeholder right after '<'";
	case S_BEFORE_VALUE:
	case S_VALUE_UQ:
		return "placeholder in an unquoted attribute value";
	case S_TAG_NAME:
		return "placeholder in a tag name";
	case S_IN_TAG:
	case S_ATTR_NAME:
	case S_AFTER_ATTR_NAME:
		return "placeholder in an attribute name";
	case S_COMMENT:
		return "placeholder in an HTML comment";
	case S_DECL:
		return "placeholder in <!…>";
	case S_RAWTEXT:
		return "placeholder inside <script>, <style> or another raw-text element";
	}
	if (c->tag_len >= HTML_NAME_BUF || name_in(c->tag, sealed_tags))
		return "placeholder in an attribute of this element";
	if (is_script_attr(c->attr, c->attr_len))
		return "placeholder in an on*, style or srcdoc attribute";
	if (name_in(c->attr, url_attrs)) {
		if (!url)
			return "placeholder in a URL attribute: use {{url:name}} at its start";
		if (c->value_len != 0)
			return "{{url:…}} must start the attribute value";
		return NULL;
	}
	return url ? "{{url:…}} outside an href/src/action value" : NULL;
}

static int
open_section(struct compiler *c, char sigil, const char *name, int var)
{
	enum var_kind kind = c->t->spec->vars[var].kind;
	struct op op = { .var = (unsigned)var };

	if (c->st != S_DATA) {
		compile_error(c, c->line, "{{%c%s}} outside text between tags", sigil, name);
		return -1;
	}
	if (c->depth == IDB_MAX_TEMPLATE_DEPTH) {
		compile_error(c, c->line, "sections nested deeper than %d",
		    IDB_MAX_TEMPLATE_DEPTH);
		return -1;
	}
	if (sigil == '^')
		op.type = OP_UNLESS;
	else if (sigil == '#' && (kind == K_LIST || kind == K_ROWS))
		op.type = OP_EACH;
	else
		op.type = OP_IF;
	if (op.type == OP_EACH && enclosing_each(c) != NULL) {
		compile_error(c, c->line, "{{#%s}} inside another list", name);
		return -1;
	}
	c->stack[c->depth++] = (struct section){ op.type, op.var, c->t->n_ops, c->line };
	return add_op(c, &op);
}

static int
close_section(struct compiler *c, const char *name, int var)
{
	struct section *s;

	if (c->depth == 0) {
		compile_error(c, c->line, "{{/%s}} closes nothing", name);
		return -1;
	}
	s = &c->stack[c->depth - 1];
	if (s->var != (unsigned)var) {
		compile_error(c, c->line, "{{/%s}} closes the section of line %u (%s)", name,
		    s->line, c->t->spec->vars[s->var].name);
		return -1;
	}
	if (c->st != S_DATA) {
		compile_error(c, c->line, "{{/%s}} outside text between tags", name);
		return -1;
	}
	c->t->ops[s->op].end = c->t->n_ops;
	c->depth--;
	return 0;
}

/* {{.}} or {{.field}}: the item or row of the enclosing {{#list}} / {{#rows}}. */
static int
item_op(struct compiler *c, bool url, const char *name, struct op *op)
{
	const struct var_spec *each = enclosing_each(c);
	const struct rows_spec *rows;

	op->type = OP_ITEM;
	if (name[1] == '\0') {
		if (url || each == NULL) {
			compile_error(c, c->line, "{{%s.}} outside a {{#list}}", url ? "url:" : "");
			return -1;
		}
		if (each->kind == K_ROWS) {
			compile_error(c, c->line, "{{.}} inside {{#%s}}, whose rows have fields: "
			    "use {{.%s}}", each->name, first_field(c->t->spec, each->name));
			return -1;
		}
		return 0;
	}
	if (url) {
		compile_error(c, c->line, "{{url:%s}} is not a URL variable", name);
		return -1;
	}
	if (each == NULL) {
		compile_error(c, c->line, "{{%s}} outside a {{#rows}} section", name);
		return -1;
	}
	if (each->kind != K_ROWS) {
		compile_error(c, c->line, "{{%s}} inside the list {{#%s}}: use {{.}}", name,
		    each->name);
		return -1;
	}
	rows = rows_of(c->t->spec, each->name);
	for (op->field = 0; op->field < rows->n_fields; op->field++)
		if (strcmp(rows->fields[op->field], name + 1) == 0)
			return 0;
	compile_error(c, c->line, "unknown field {{%s}} (not a field of %s)", name, each->name);
	return -1;
}

static int
value_placeholder(struct compiler *c, bool url, const char *name, int var)
{
	struct op op = { .type = url ? OP_URL : OP_VAR };
	const char *why = context_problem(c, url);

	if (why != NULL) {
		compile_error(c, c->line, "{{%s%s}}: %s", url ? "url:" : "", name, why);
		return -1;
	}
	if (name[0] == '.') {
		if (item_op(c, url, name, &op) < 0)
			return -1;
	} else {
		const struct var_spec *spec = &c->t->spec->vars[var];

		if (spec->kind == K_LIST || spec->kind == K_ROWS) {
			compile_error(c, c->line, "{{%s}} is a list%s: use {{#%s}}{{.%s}}{{/%s}}",
			    name, spec->kind == K_ROWS ? " of rows" : "", name,
			    spec->kind == K_ROWS ? first_field(c->t->spec, name) : "", name);
			return -1;
		}
		if (url != (spec->kind == K_URL)) {
			compile_error(c, c->line, url ? "{{url:%s}} is not a URL variable" :
			    "{{%s}} is a URL: use {{url:%s}}", name, name);
			return -1;
		}
		op.var = (unsigned)var;
	}
	c->value_len++;
	return add_op(c, &op);
}

/* A variable name, "." or ".field". */
static bool
valid_name(const char *s, size_t n)
{
	if (n == 1 && s[0] == '.')
		return true;
	if (n > 1 && s[0] == '.') {
		s++;
		n--;
	}
	if (n == 0 || n > MAX_NAME_LEN || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/* c->pos is at "{{": parse one placeholder, emit its op, move past "}}". */
static int
placeholder(struct compiler *c)
{
	const char *p = c->text + c->pos + 2;
	const char *close = NULL;
	char sigil[2] = "", name[MAX_NAME_LEN + 2];   /* ".field" and the NUL */
	size_t avail = c->len - c->pos - 2, n;
	bool url = false;
	int var = -1;

	for (size_t i = 0; i + 1 < avail && i < MAX_PLACEHOLDER_LEN; i++)
		if (p[i] == '}' && p[i + 1] == '}') {
			close = p + i;
			break;
		}
	if (close != NULL && *p != '\0' && strchr("#?^/", *p) != NULL)
		sigil[0] = *p++;
	else if (close != NULL && (size_t)(close - p) > 4 && memcmp(p, "url:", 4) == 0) {
		url = true;
		p += 4;
	}
	if (close == NULL || !valid_name(p, (size_t)(close - p)) ||
	    (sigil[0] != '\0' && *p == '.')) {
		compile_error(c, c->line, "malformed placeholder (\"{{\" starts one; "
		    "names are [a-z][a-z0-9_]*)");
		return -1;
	}
	n = (size_t)(close - p);
	memcpy(name, p, n);
	name[n] = '\0';
	if (name[0] != '.' && (var = find_var(c, name)) < 0) {
		compile_error(c, c->line, "unknown placeholder {{%s%s%s}} (not a variable of %s)",
		    sigil, url ? "url:" : "", name,
		    c->t->spec->file);
		return -1;
	}
	c->pos = (size_t)(close - c->text) + 2;
	if (sigil[0] == '/')
		return close_section(c, name, var);
	if (sigil[0] != '\0')
		return open_section(c, sigil[0], name, var);
	return value_placeholder(c, url, name, var);
}

/* NUL bytes and invalid UTF-8 in a template are refused, with the line. */
static int
check_encoding(struct compiler *c)
{
	unsigned line = 1;

	for (size_t i = 0; i < c->len;) {
		size_t n = utf8_seq_len((const unsigned char *)c->text + i, c->len - i);

		if (c->text[i] == '\0' || n == 0) {
			compile_error(c, line, c->text[i] == '\0' ? "NUL byte" : "invalid UTF-8");
			return -1;
		}
		if (c->text[i] == '\n')
			line++;
		i += n;
	}
	return 0;
}

static int
compile_body(struct compiler *c)
{
	while (c->pos < c->len) {
		if (c->text[c->pos] == '{' && c->pos + 1 < c->len && c->text[c->pos + 1] == '{') {
			if (flush_text(c) < 0 || placeholder(c) < 0)
				return -1;
			c->run_start = c->pos;
			continue;
		}
		for (size_t n = html_step(c); n > 0; n--)
			if (c->text[c->pos++] == '\n')
				c->line++;
	}
	if (flush_text(c) < 0)
		return -1;
	if (c->depth != 0) {
		compile_error(c, c->stack[c->depth - 1].line, "{{%s}} section is never closed",
		    c->t->spec->vars[c->stack[c->depth - 1].var].name);
		return -1;
	}
	if (c->st == S_RAWTEXT || c->st == S_RCDATA || c->st == S_RCDATA_LT) {
		compile_error(c, c->line, "the template ends inside <%s>", c->raw_end);
		return -1;
	}
	if (c->st != S_DATA && c->st != S_LT) {
		compile_error(c, c->line, "the template ends inside a %s",
		    c->st == S_COMMENT ? "comment" : c->st == S_DECL ? "<!…>" : "tag");
		return -1;
	}
	return 0;
}

struct tpl *
tpl_compile(enum tpl_page_id page, const char *file, const char *text, size_t len,
    char **err_r)
{
	struct compiler c = { .file = file, .text = text, .len = len, .line = 1,
	    .err_r = err_r, .st = S_DATA };
	struct tpl *t = NULL;

	if (err_r != NULL)
		*err_r = NULL;
	if (page >= TPL_N_PAGES) {
		set_err(err_r, "%s: not a page", file);
		return NULL;
	}
	if (len > IDB_MAX_TEMPLATE_FILE) {
		set_err(err_r, "%s: bigger than %d bytes", file, IDB_MAX_TEMPLATE_FILE);
		return NULL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL || (t->text = malloc(len + 1)) == NULL) {
		set_err(err_r, "%s: out of memory", file);
		goto fail;
	}
	memcpy(t->text, text, len);
	t->text[len] = '\0';
	t->spec = &pages[page];
	c.t = t;
	c.text = t->text;
	if (check_encoding(&c) < 0 || compile_body(&c) < 0)
		goto fail;
	return t;
fail:
	tpl_free(t);
	return NULL;
}

void
tpl_free(struct tpl *t)
{
	if (t == NULL)
		return;
	free(t->ops);
	free(t->text);
	free(t);
}

/* ---- rendering ---------------------------------------------------------------- */

struct out {
	char *buf;
	size_t len, cap;
	int err;             /* 0, E2BIG or ENOMEM: the first failure sticks */
};

static void
out_free(struct out *o)
{
	if (o->buf != NULL)
		explicit_bzero(o->buf, o->len);
	free(o->buf);
	o->buf = NULL;
}

static void
out_put(struct out *o, const char *s, size_t n)
{
	if (o->err != 0 || n == 0)
		return;
	if (n > IDB_MAX_TEMPLATE_OUTPUT - o->len) {
		o->err = E2BIG;
		return;
	}
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap != 0 ? o->cap : OUT_INITIAL;
		char *b;

		while (cap < o->len + n + 1)
			cap *= 2;
		if (cap > IDB_MAX_TEMPLATE_OUTPUT + 1)
			cap = IDB_MAX_TEMPLATE_OUTPUT + 1;
		/* Not realloc: the old buffer may hold a secret and is wiped first. */
		if ((b = malloc(cap)) == NULL) {
			o->err = ENOMEM;
			return;
		}
		if (o->len != 0)
			memcpy(b, o->buf, o->len);
		out_free(o);
		o->buf = b;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

#define REPLACEMENT "\xef\xbf\xbd"   /* U+FFFD */

static const char *
entity(unsigned char ch)
{
	switch (ch) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\'': return "&#39;";
	case '`': return "&#96;";
	case '=': return "&#61;";
	case '\t': case '\n': case '\r': return NULL;
	default:
		return ch < 0x20 || ch == 0x7f ? REPLACEMENT : NULL;
	}
}

/* Write s escaped: runs of plain bytes in one go, the rest one by one. */
static void
out_escaped(struct out *o, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0;

	if (n == 0)
		return;
	for (size_t i = 0; i < n;) {
		const char *e = entity(u[i]);
		size_t seq = u[i] < 0x80 ? 1 : utf8_seq_len(u + i, n - i);

		if (e == NULL && seq != 0) {
			i += seq;
			continue;
		}
		out_put(o, s + run, i - run);
		out_put(o, e != NULL ? e : REPLACEMENT, strlen(e != NULL ? e : REPLACEMENT));
		run = ++i;
	}
	out_put(o, s + run, n - run);
}

/*
 * A path on this site ("/x", but not "//host" or "/\host", which browsers
 * read as another host) or an https URL, in printable ASCII without
 * backslashes (browsers drop tabs and newlines and turn '\' into '/').
 */
static bool
url_is_safe(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e || s[i] == '\\')
			return false;
	if (s[0] == '/')
		return n == 1 || s[1] != '/';
	return n > 8 && strncasecmp(s, "https://", 8) == 0 && s[8] != '/';
}

static size_t
var_len(const struct tpl_var *v)
{
	if (v == NULL || v->str == NULL)
		return 0;
	return v->has_len ? v->len : strlen(v->str);
}

static bool
var_nonempty(const struct tpl_var *v)
{
	if (v == NULL)
		return false;
	if (v->is_rows)
		return v->n_rows > 0;
	return v->is_list ? v->n_items > 0 : var_len(v) > 0;
}

/*
 * cur is the current list item (cur[0]) or row (cur[field]) inside an
 * {{#list}} / {{#rows}} section, NULL outside.
 */
static void
render_ops(struct out *o, const struct tpl *t, size_t from, size_t to,
    const struct tpl_var *const *bound, const char *const *cur)
{
	for (size_t i = from; i < to && o->err == 0;) {
		const struct op *op = &t->ops[i];
		const struct tpl_var *v = op->type != OP_TEXT && op->type != OP_ITEM ?
		    bound[op->var] : NULL;

		switch (op->type) {
		case OP_TEXT:
			out_put(o, t->text + op->off, op->len);
			break;
		case OP_VAR:
			out_escaped(o, v != NULL ? v->str : NULL, var_len(v));
			break;
		case OP_URL:
			if (url_is_safe(v != NULL ? v->str : NULL, var_len(v)))
				out_escaped(o, v->str, var_len(v));
			else
				out_put(o, "#", 1);
			break;
		case OP_ITEM:
			out_escaped(o, cur[op->field], strlen(cur[op->field]));
			break;
		case OP_EACH:
			for (size_t k = 0; v != NULL && v->is_rows && k < v->n_rows; k++)
				render_ops(o, t, i + 1, op->end, bound, v->cells + k * v->n_fields);
			for (size_t k = 0; v != NULL && v->is_list && k < v->n_items; k++)
				render_ops(o, t, i + 1, op->end, bound, v->items + k);
			i = op->end;
			continue;
		case OP_IF:
		case OP_UNLESS:
			if (var_nonempty(v) == (op->type == OP_IF))
				render_ops(o, t, i + 1, op->end, bound, cur);
			i = op->end;
			continue;
		}
		i++;
	}
}

/* Whether v has the kind and shape of page's variable k, and no NULL string. */
static bool
value_fits(const struct page_spec *page, size_t k, const struct tpl_var *v)
{
	const struct var_spec *spec = &page->vars[k];
	const char *const *strings;
	size_t n;

	if (v->is_list && v->is_rows)
		return false;
	if (v->is_rows) {
		if (spec->kind != K_ROWS || v->n_fields == 0 ||
		    v->n_fields != rows_of(page, spec->name)->n_fields ||
		    v->n_rows > SIZE_MAX / v->n_fields)
			return false;
		strings = v->cells;
		n = v->n_rows * v->n_fields;
	} else if (v->is_list) {
		if (spec->kind != K_LIST)
			return false;
		strings = v->items;
		n = v->n_items;
	} else
		return spec->kind == K_TEXT || spec->kind == K_URL;
	for (size_t j = 0; j < n; j++)
		if (strings == NULL || strings[j] == NULL)
			return false;
	return true;
}

/* Match the caller's values to the page's variables; -1 on a caller bug. */
static int
bind_vars(const struct tpl *t, const struct tpl_var *vars, size_t n_vars,
    const struct tpl_var **bound)
{
	for (size_t i = 0; i < n_vars; i++) {
		const struct tpl_var *v = &vars[i];
		size_t k;

		for (k = 0; k < t->spec->n_vars; k++)
			if (v->name != NULL && strcmp(t->spec->vars[k].name, v->name) == 0)
				break;
		if (k == t->spec->n_vars || bound[k] != NULL || !value_fits(t->spec, k, v))
			return -1;
		bound[k] = v;
	}
	return 0;
}

int
tpl_render(const struct tpl *t, const struct tpl_var *vars, size_t n_vars, char **out_r,
    size_t *len_r)
{
	const struct tpl_var *bound[IDB_MAX_TEMPLATE_VARS] = { NULL };
	struct out o = { 0 };

	*out_r = NULL;
	*len_r = 0;
	if (t == NULL || bind_vars(t, vars, n_vars, bound) < 0) {
		errno = EINVAL;
		return -1;
	}
	render_ops(&o, t, 0, t->n_ops, bound, NULL);
	/* A page that rendered to nothing still gets its NUL. */
	if (o.err == 0 && o.buf == NULL && (o.buf = malloc(1)) == NULL)
		o.err = ENOMEM;
	if (o.err != 0) {
		out_free(&o);
		errno = o.err;
		return -1;
	}
	o.buf[o.len] = '\0';
	*out_r = o.buf;
	*len_r = o.len;
	return 0;
}

/* ---- sets ------------------------------------------------------------------ */

/* Read dir/name whole, refusing anything but a regular file within the cap. */
static int
read_file(const char *dir, const char *name, char **buf_r, size_t *len_r, char **path_r,
    char **err_r)
{
	char *path = NULL, *buf = NULL;
	struct stat st;
	size_t len = 0;
	int fd = -1, r = -1;

	if (asprintf(&path, "%s/%s", dir, name) < 0) {
		path = NULL;
		set_err(err_r, "%s/%s: out of memory", dir, name);
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0 || fstat(fd, &st) < 0) {
		set_err(err_r, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		set_err(err_r, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_size > IDB_MAX_TEMPLATE_FILE) {
		set_err(err_r, "%s: bigger than %d bytes", path, IDB_MAX_TEMPLATE_FILE);
		goto out;
	}
	/* Room for one byte past the cap (a file that grew) and the NUL. */
	if ((buf = malloc(IDB_MAX_TEMPLATE_FILE + 2)) == NULL) {
		set_err(err_r, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, IDB_MAX_TEMPLATE_FILE + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			set_err(err_r, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > IDB_MAX_TEMPLATE_FILE) {
			set_err(err_r, "%s: bigger than %d bytes", path, IDB_MAX_TEMPLATE_FILE);
			goto out;
		}
	}
	buf[len] = '\0';
	*buf_r = buf;
	*len_r = len;
	*path_r = path;
	buf = NULL;
	path = NULL;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(path);
	return r;
}

static int
load_page(struct tpl_set *set, const char *dir, enum tpl_page_id page, char **err_r)
{
	char *text = NULL, *path = NULL;
	size_t len;

	if (read_file(dir, pages[page].file, &text, &len, &path, err_r) < 0)
		return -1;
	set->pages[page] = tpl_compile(page, path, text, len, err_r);
	free(text);
	free(path);
	return set->pages[page] != NULL ? 0 : -1;
}

static int
load_stylesheet(struct tpl_set *set, const char *dir, char **err_r)
{
	char *path = NULL;

	if (read_file(dir, STYLESHEET_FILE, &set->css, &set->css_len, &path, err_r) < 0)
		return -1;
	/* Served as text: a NUL byte can only be a mistake. */
	if (memchr(set->css, '\0', set->css_len) != NULL) {
		set_err(err_r, "%s: NUL byte", path);
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

struct tpl_set *
tpl_set_load(const char *dir, char **err_r)
{
	struct tpl_set *set;

	if (err_r != NULL)
		*err_r = NULL;
	if ((set = calloc(1, sizeof(*set))) == NULL) {
		set_err(err_r, "%s: out of memory", dir);
		return NULL;
	}
	atomic_init(&set->refs, 1);
	for (int p = 0; p < TPL_N_PAGES; p++)
		if (load_page(set, dir, (enum tpl_page_id)p, err_r) < 0)
			goto fail;
	if (load_stylesheet(set, dir, err_r) < 0)
		goto fail;
	return set;
fail:
	tpl_set_unref(set);
	return NULL;
}

const struct tpl *
tpl_page(const struct tpl_set *set, enum tpl_page_id page)
{
	return set != NULL && page < TPL_N_PAGES ? set->pages[page] : NULL;
}

const char *
tpl_stylesheet(const struct tpl_set *set, size_t *len_r)
{
	*len_r = set->css_len;
	return set->css;
}

void
tpl_set_ref(struct tpl_set *set)
{
	atomic_fetch_add(&set->refs, 1);
}

void
tpl_set_unref(struct tpl_set *set)
{
	if (set == NULL || atomic_fetch_sub(&set->refs, 1) != 1)
		return;
	for (int p = 0; p < TPL_N_PAGES; p++)
		tpl_free(set->pages[p]);
	free(set->css);
	free(set);
}

/* ---- the current set ----------------------------------------------------------- */

/*
 * Taking the pointer and its reference must be one step, or a reload could
 * free the set in between; a mutex held for those few instructions is
 * simpler than anything lock-free and never contended for long.
 */
static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tpl_set *current;

static void
install(struct tpl_set *set)
{
	struct tpl_set *old;

	pthread_mutex_lock(&current_lock);
	old = current;
	current = set;
	pthread_mutex_unlock(&current_lock);
	tpl_set_unref(old);
}

int
tpl_reload(const char *dir, char **err_r)
{
	struct tpl_set *set = tpl_set_load(dir, err_r);

	if (set == NULL)
		return -1;
	install(set);
	return 0;
}

struct tpl_set *
tpl_current(void)
{
	struct tpl_set *set;

	pthread_mutex_lock(&current_lock);
	if ((set = current) != NULL)
		tpl_set_ref(set);
	pthread_mutex_unlock(&current_lock);
	return set;
}

void
tpl_shutdown(void)
{
	install(NULL);
}
