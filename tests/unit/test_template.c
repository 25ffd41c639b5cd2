/*
 * test_template.c — the HTML template engine: escaping, sections, URL
 * placeholders, the load-time context checks, size limits, the real pages
 * in templates/ and reloading the current set while other threads render.
 */
#include "autoconfig.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "bridge.h"
#include "template.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SRC_TEMPLATES IDB_TEST_SRCDIR "/templates"

/* Compile text as page (file "t.html"), render it with vars, compare. */
static void
expect_render(enum tpl_page_id page, const char *text, const struct tpl_var *vars,
    size_t n, const char *expect)
{
	char *err = NULL, *out = NULL;
	size_t len = 0;
	struct tpl *t = tpl_compile(page, "t.html", text, strlen(text), &err);

	if (t == NULL)
		fail_msg("compile \"%s\": %s", text, err != NULL ? err : "?");
	assert_int_equal(tpl_render(t, vars, n, &out, &len), 0);
	assert_string_equal(out, expect);
	assert_int_equal(len, strlen(expect));
	free(out);
	tpl_free(t);
}

/* ---- escaping ------------------------------------------------------------- */

struct escape_case {
	const char *what;
	const char *value;
	size_t len;              /* nonzero: TPL_TEXTN with this length */
	const char *expect;
};

static const struct escape_case escape_cases[] = {
	{ "plain", "alice", 0, "<p>alice</p>" },
	{ "script tag", "<script>alert(1)</script>", 0,
	  "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>" },
	{ "attribute breakout", "\" onmouseover=alert(1) x=\"", 0,
	  "<p>&quot; onmouseover&#61;alert(1) x&#61;&quot;</p>" },
	{ "single quote and backtick", "it's `x`", 0, "<p>it&#39;s &#96;x&#96;</p>" },
	{ "entity is escaped again", "&amp; &lt;", 0, "<p>&amp;amp; &amp;lt;</p>" },
	{ "C string ends at NUL", "a\0<b>", 0, "<p>a</p>" },
	{ "NUL inside a counted value", "a\0<b>", 5, "<p>a\xef\xbf\xbd&lt;b&gt;</p>" },
	{ "controls become U+FFFD, tab/LF/CR stay", "a\x01\x1b\x7f\t\n\rb", 0,
	  "<p>a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\t\n\rb</p>" },
	{ "valid UTF-8 passes", "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0,
	  "<p>\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80</p>" },
	{ "stray byte", "a\xff" "b", 0, "<p>a\xef\xbf\xbd" "b</p>" },
	{ "overlong '<' is not a '<'", "\xc0\xbc", 0, "<p>\xef\xbf\xbd\xef\xbf\xbd</p>" },
	{ "surrogate", "\xed\xa0\x80", 0, "<p>\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd</p>" },
	{ "above U+10FFFF", "\xf4\x90\x80\x80", 0,
	  "<p>\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd</p>" },
	{ "truncated sequence at the end", "x\xe2\x82", 0,
	  "<p>x\xef\xbf\xbd\xef\xbf\xbd</p>" },
	{ "empty", "", 0, "<p></p>" },
};

static void
test_escaping(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(escape_cases); i++) {
		const struct escape_case *c = &escape_cases[i];
		struct tpl_var v[] = { TPL_TEXT("error", c->value) };

		if (c->len != 0)
			v[0] = (struct tpl_var)TPL_TEXTN("error", c->value, c->len);
		print_message("escape case %zu: %s\n", i, c->what);
		expect_render(TPL_LOGIN, "<p>{{error}}</p>", v, 1, c->expect);
	}
}

/* Inside a quoted attribute the same escaping keeps the value inside it. */
static void
test_escaping_in_attribute(void **state)
{
	const struct tpl_var v[] = { TPL_TEXT("csrf", "x\" autofocus onfocus='alert(1)") };

	(void)state;
	expect_render(TPL_LOGIN, "<input name=\"csrf\" value=\"{{csrf}}\">", v, 1,
	    "<input name=\"csrf\" value=\"x&quot; autofocus onfocus&#61;&#39;alert(1)\">");
	expect_render(TPL_LOGIN, "<input value='{{csrf}}'>", v, 1,
	    "<input value='x&quot; autofocus onfocus&#61;&#39;alert(1)'>");
}

/* ---- sections and lists ---------------------------------------------------- */

static const char *const three[] = { "read", "<b>write</b>", "admin" };
static const char *const none[] = { NULL };

struct section_case {
	const char *what;
	const char *text;
	const char *error;       /* value of "error"; NULL: not passed */
	const char *const *scopes;
	size_t n_scopes;
	bool pass_scopes;
	const char *expect;
};

static const struct section_case section_cases[] = {
	{ "text section shown", "[{{#error}}E:{{error}}{{/error}}]", "bad", NULL, 0, false,
	  "[E:bad]" },
	{ "text section hidden when empty", "[{{#error}}E{{/error}}]", "", NULL, 0, false,
	  "[]" },
	{ "text section hidden when missing", "[{{#error}}E{{/error}}]", NULL, NULL, 0, false,
	  "[]" },
	{ "inverted shown when missing", "[{{^error}}none{{/error}}]", NULL, NULL, 0, false,
	  "[none]" },
	{ "inverted hidden when set", "[{{^error}}none{{/error}}]", "x", NULL, 0, false, "[]" },
	{ "missing value renders empty", "[{{error}}]", NULL, NULL, 0, false, "[]" },
	{ "list repeated per item", "<ul>{{#scopes}}<li>{{.}}</li>{{/scopes}}</ul>", NULL,
	  three, 3, true,
	  "<ul><li>read</li><li>&lt;b&gt;write&lt;/b&gt;</li><li>admin</li></ul>" },
	{ "empty list shows nothing", "<ul>{{#scopes}}<li>{{.}}</li>{{/scopes}}</ul>", NULL,
	  none, 0, true, "<ul></ul>" },
	{ "?list shown once", "{{?scopes}}<ul>{{#scopes}}<li>{{.}}</li>{{/scopes}}</ul>{{/scopes}}",
	  NULL, three + 2, 1, true, "<ul><li>admin</li></ul>" },
	{ "?list hidden when empty", "[{{?scopes}}<ul></ul>{{/scopes}}]", NULL, none, 0, true,
	  "[]" },
	{ "^list when empty", "[{{^scopes}}all{{/scopes}}]", NULL, none, 0, true, "[all]" },
	{ "^list when not passed", "[{{^scopes}}all{{/scopes}}]", NULL, NULL, 0, false, "[all]" },
	{ "^list hidden with items", "[{{^scopes}}all{{/scopes}}]", NULL, three, 1, true, "[]" },
	{ "text section inside a list", "{{#scopes}}{{.}}{{#error}}!{{/error}};{{/scopes}}", "y",
	  three, 2, true, "read!;&lt;b&gt;write&lt;/b&gt;!;" },
	{ "item inside a text section inside a list",
	  "{{#scopes}}{{#error}}<i>{{.}}</i>{{/error}}{{/scopes}}", "y", three, 2, true,
	  "<i>read</i><i>&lt;b&gt;write&lt;/b&gt;</i>" },
	{ "placeholder in <title> (RCDATA)", "<title>{{error}} <x></title>", "<y>", NULL, 0,
	  false, "<title>&lt;y&gt; <x></title>" },
};

static void
test_sections(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(section_cases); i++) {
		const struct section_case *c = &section_cases[i];
		struct tpl_var v[2];
		size_t n = 0;

		if (c->error != NULL)
			v[n++] = (struct tpl_var)TPL_TEXT("error", c->error);
		if (c->pass_scopes)
			v[n++] = (struct tpl_var)TPL_LIST("scopes", c->scopes, c->n_scopes);
		print_message("section case %zu: %s\n", i, c->what);
		expect_render(TPL_LOGIN, c->text, v, n, c->expect);
	}
}

/* ---- rows ------------------------------------------------------------------------- */

/* keys.html's rows: keys (id name scopes created last_used expires), lifetimes (value label). */
static const char *const two_keys[] = {
	"k1", "laptop", "read", "2026-01-02 10:00 UTC", "never", "\xe2\x80\x94",
	"k2", "ci", "read write", "2026-02-03 11:30 UTC", "2026-02-04 08:00 UTC", "never",
};
static const char *const lifetimes[] = { "30", "30 days", "0", "Never" };

struct rows_case {
	const char *what;
	const char *text;
	const char *var;             /* "keys" or "lifetimes"; NULL: not passed */
	const char *const *cells;
	size_t n_rows;
	const char *expect;
};

static const struct rows_case rows_cases[] = {
	{ "one line per row, fields by name", "{{#keys}}{{.id}}={{.name}}/{{.expires}};{{/keys}}",
	  "keys", two_keys, 2, "k1=laptop/\xe2\x80\x94;k2=ci/never;" },
	{ "every field", "{{#keys}}[{{.id}}|{{.name}}|{{.scopes}}|{{.created}}|{{.last_used}}|"
	  "{{.expires}}]{{/keys}}", "keys", two_keys + 6, 1,
	  "[k2|ci|read write|2026-02-03 11:30 UTC|2026-02-04 08:00 UTC|never]" },
	{ "options of a select",
	  "<select>{{#lifetimes}}<option value=\"{{.value}}\">{{.label}}</option>{{/lifetimes}}"
	  "</select>", "lifetimes", lifetimes, 2,
	  "<select><option value=\"30\">30 days</option><option value=\"0\">Never</option>"
	  "</select>" },
	{ "fields in quoted attributes",
	  "{{#keys}}<tr data-key-id=\"{{.id}}\" title='{{.name}}'></tr>{{/keys}}", "keys",
	  two_keys, 1, "<tr data-key-id=\"k1\" title='laptop'></tr>" },
	{ "no rows", "[{{#keys}}{{.id}}{{/keys}}]", "keys", two_keys, 0, "[]" },
	{ "no rows, no cells", "[{{#keys}}{{.id}}{{/keys}}]", "keys", NULL, 0, "[]" },
	{ "not passed", "[{{#keys}}{{.id}}{{/keys}}]", NULL, NULL, 0, "[]" },
	{ "?rows shown once", "{{?keys}}<table>{{#keys}}<tr>{{/keys}}</table>{{/keys}}", "keys",
	  two_keys, 2, "<table><tr><tr></table>" },
	{ "?rows hidden when empty", "[{{?keys}}<table>{{/keys}}]", "keys", two_keys, 0, "[]" },
	{ "^rows when empty", "[{{^keys}}none{{/keys}}]", "keys", two_keys, 0, "[none]" },
	{ "^rows when not passed", "[{{^keys}}none{{/keys}}]", NULL, NULL, 0, "[none]" },
	{ "^rows hidden with rows", "[{{^keys}}none{{/keys}}]", "keys", two_keys, 1, "[]" },
	{ "text variable inside rows", "{{#keys}}{{csrf}}:{{.id}} {{/keys}}", "keys", two_keys, 2,
	  "tok:k1 tok:k2 " },
	{ "field inside a text section inside rows",
	  "{{#keys}}{{#csrf}}<i>{{.name}}</i>{{/csrf}}{{/keys}}", "keys", two_keys, 2,
	  "<i>laptop</i><i>ci</i>" },
	{ "rows then a list", "{{#lifetimes}}{{.label}},{{/lifetimes}}{{#scopes}}{{.}}{{/scopes}}",
	  "lifetimes", lifetimes, 2, "30 days,Never,read" },
};

static void
test_rows(void **state)
{
	const char *const scopes[] = { "read" };

	(void)state;
	for (size_t i = 0; i < N(rows_cases); i++) {
		const struct rows_case *c = &rows_cases[i];
		struct tpl_var v[3] = { TPL_TEXT("csrf", "tok"), TPL_LIST("scopes", scopes, 1) };
		size_t n = 2;

		if (c->var != NULL)
			v[n++] = (struct tpl_var)TPL_ROWS(c->var, c->cells, c->n_rows,
			    strcmp(c->var, "keys") == 0 ? 6 : 2);
		print_message("rows case %zu: %s\n", i, c->what);
		expect_render(TPL_KEYS, c->text, v, n, c->expect);
	}
}

/* A field value is escaped exactly like any value, in text and in attributes. */
struct field_escape_case {
	const char *value;
	const char *expect;
};

static const struct field_escape_case field_escape_cases[] = {
	{ "\"><script>alert(1)</script>", "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" },
	{ "' onmouseover='alert(1)", "&#39; onmouseover&#61;&#39;alert(1)" },
	{ "a=b&c", "a&#61;b&amp;c" },
	{ "`x`", "&#96;x&#96;" },
	{ "\x01\xff", "\xef\xbf\xbd\xef\xbf\xbd" },
};

static void
test_rows_escaping(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(field_escape_cases); i++) {
		const char *e = field_escape_cases[i].expect;
		const char *cells[] = { field_escape_cases[i].value, field_escape_cases[i].value };
		const struct tpl_var v[] = { TPL_ROWS("lifetimes", cells, 1, 2) };
		char expect[512];

		snprintf(expect, sizeof(expect), "<option value=\"%s\" title='%s'>%s</option>",
		    e, e, e);
		print_message("field escape case %zu: %s\n", i, field_escape_cases[i].value);
		expect_render(TPL_KEYS, "{{#lifetimes}}<option value=\"{{.value}}\" "
		    "title='{{.label}}'>{{.label}}</option>{{/lifetimes}}", v, 1, expect);
	}
}

/* ---- {{url:…}} ---------------------------------------------------------------- */

struct url_case {
	const char *value;
	const char *expect;      /* the href */
};

static const struct url_case url_cases[] = {
	{ "/x", "/x" },
	{ "/", "/" },
	{ "/authorize?a=1&b=\"2\"", "/authorize?a&#61;1&amp;b&#61;&quot;2&quot;" },
	{ "https://app.example/cb?x=1", "https://app.example/cb?x&#61;1" },
	{ "HTTPS://app.example/", "HTTPS://app.example/" },
	{ "javascript:alert(1)", "#" },
	{ " javascript:alert(1)", "#" },
	{ "JaVaScRiPt:alert(1)", "#" },
	{ "//evil.example", "#" },
	{ "/\\evil.example", "#" },
	{ "/\t/evil.example", "#" },
	{ "/\n/evil.example", "#" },
	{ "data:text/html,<script>alert(1)</script>", "#" },
	{ "http://app.example/", "#" },
	{ "https://", "#" },
	{ "https:///evil", "#" },
	{ "vbscript:x", "#" },
	{ "relative/path", "#" },
	{ "/caf\xc3\xa9", "#" },
	{ "", "#" },
	{ NULL, "#" },
};

static void
test_url(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(url_cases); i++) {
		const struct tpl_var v[] = { TPL_TEXT("back_url", url_cases[i].value) };
		char expect[256];

		snprintf(expect, sizeof(expect), "<a href=\"%s\">b</a>", url_cases[i].expect);
		print_message("url case %zu: %s\n", i,
		    url_cases[i].value != NULL ? url_cases[i].value : "(null)");
		expect_render(TPL_ERROR, "<a href=\"{{url:back_url}}\">b</a>", v,
		    url_cases[i].value != NULL ? 1 : 0, expect);
	}
}

/* ---- templates refused at load ---------------------------------------------- */

struct refuse_case {
	enum tpl_page_id page;
	const char *text;
	const char *error;       /* expected in the message; NULL: compiles */
};

static const struct refuse_case refuse_cases[] = {
	{ TPL_LOGIN, "<p>\n\n{{nosuch}}</p>", "t.html:3: unknown placeholder {{nosuch}}" },
	{ TPL_LOGIN, "{{#nosuch}}x{{/nosuch}}", "t.html:1: unknown placeholder {{#nosuch}}" },
	{ TPL_CONSENT, "{{error}}",
	  "unknown placeholder {{error}} (not a variable of consent.html)" },
	{ TPL_LOGIN, "<a href={{csrf}}>",
	  "t.html:1: {{csrf}}: placeholder in an unquoted attribute value" },
	{ TPL_LOGIN, "<input\nvalue={{csrf}}>", "t.html:2: {{csrf}}: placeholder in an unquoted" },
	{ TPL_LOGIN, "<input value=x{{csrf}}>", "unquoted attribute value" },
	{ TPL_LOGIN, "<input {{csrf}}>", "placeholder in an attribute name" },
	{ TPL_LOGIN, "<input x{{csrf}}=1>", "placeholder in an attribute name" },
	{ TPL_LOGIN, "<{{csrf}}>", "placeholder right after '<'" },
	{ TPL_LOGIN, "</{{csrf}}>", "placeholder right after '<'" },
	{ TPL_LOGIN, "<p{{csrf}}>", "placeholder in a tag name" },
	{ TPL_LOGIN, "<!-- {{csrf}} -->", "placeholder in an HTML comment" },
	{ TPL_LOGIN, "<!DOCTYPE {{csrf}}>", "placeholder in <!" },
	{ TPL_LOGIN, "<script>var x = \"{{csrf}}\";</script>", "inside <script>" },
	{ TPL_LOGIN, "<SCRIPT type=x>a</scriptx>{{csrf}}</SCRIPT>", "inside <script>" },
	{ TPL_LOGIN, "<style>p { content: \"{{csrf}}\" }</style>", "inside <script>, <style>" },
	{ TPL_LOGIN, "<p onclick=\"{{csrf}}\">", "on*, style or srcdoc attribute" },
	{ TPL_LOGIN, "<p ONMOUSEOVER='{{csrf}}'>", "on*, style or srcdoc attribute" },
	{ TPL_LOGIN, "<p style=\"color: {{csrf}}\">", "on*, style or srcdoc attribute" },
	{ TPL_LOGIN, "<iframe srcdoc=\"{{csrf}}\">", "attribute of this element" },
	{ TPL_LOGIN, "<meta http-equiv=\"refresh\" content=\"0;{{csrf}}\">",
	  "attribute of this element" },
	{ TPL_LOGIN, "<a href=\"{{csrf}}\">", "URL attribute: use {{url:name}}" },
	{ TPL_LOGIN, "<a href=\"/x?{{csrf}}\">", "URL attribute: use {{url:name}}" },
	{ TPL_LOGIN, "<form action=\"{{csrf}}\">", "URL attribute" },
	{ TPL_LOGIN, "<img src='{{csrf}}'>", "URL attribute" },
	{ TPL_ERROR, "<a href=\"/{{url:back_url}}\">",
	  "{{url:…}} must start the attribute value" },
	{ TPL_ERROR, "<a title=\"{{url:back_url}}\">", "{{url:…}} outside an href/src/action" },
	{ TPL_ERROR, "<p>{{url:back_url}}</p>", "{{url:…}} outside an href/src/action" },
	{ TPL_ERROR, "<a href=\"{{back_url}}\">", "URL attribute: use {{url:name}}" },
	{ TPL_ERROR, "<p>{{back_url}}</p>", "{{back_url}} is a URL: use {{url:back_url}}" },
	{ TPL_ERROR, "<a href=\"{{url:title}}\">", "{{url:title}} is not a URL variable" },
	{ TPL_LOGIN, "{{scopes}}", "{{scopes}} is a list" },
	{ TPL_LOGIN, "{{.}}", "{{.}} outside a {{#list}}" },
	{ TPL_LOGIN, "{{?scopes}}{{.}}{{/scopes}}", "{{.}} outside a {{#list}}" },
	{ TPL_LOGIN, "{{#scopes}}{{#scopes}}x{{/scopes}}{{/scopes}}", "inside another list" },
	{ TPL_LOGIN, "<p {{#error}}x{{/error}}>", "{{#error}} outside text between tags" },
	{ TPL_LOGIN, "<p title=\"{{#error}}\">", "outside text between tags" },
	{ TPL_LOGIN, "{{#error}}<p title=\"{{/error}}\">", "{{/error}} outside text" },
	{ TPL_LOGIN, "{{#error}}<!--{{/error}}-->", "{{/error}} outside text" },
	{ TPL_LOGIN, "{{#error}}\n\nx", "t.html:1: {{error}} section is never closed" },
	{ TPL_LOGIN, "x{{/error}}", "{{/error}} closes nothing" },
	{ TPL_LOGIN, "{{#error}}\n{{#csrf}}{{/error}}",
	  "t.html:2: {{/error}} closes the section of line 2 (csrf)" },
	{ TPL_LOGIN, "{{#error}}{{#error}}{{#error}}{{#error}}{{#error}}{{#error}}{{#error}}"
	  "{{#error}}{{#error}}", "nested deeper than 8" },
	{ TPL_LOGIN, "{{ error }}", "malformed placeholder" },
	{ TPL_LOGIN, "{{Error}}", "malformed placeholder" },
	{ TPL_LOGIN, "{{error}", "malformed placeholder" },
	{ TPL_LOGIN, "{{}}", "malformed placeholder" },
	{ TPL_LOGIN, "{{#.}}{{/.}}", "malformed placeholder" },
	{ TPL_LOGIN, "{{url:}}", "malformed placeholder" },
	{ TPL_LOGIN, "{{{error}}}", "malformed placeholder" },
	{ TPL_KEYS, "{{#keys}}{{.}}{{/keys}}",
	  "t.html:1: {{.}} inside {{#keys}}, whose rows have fields: use {{.id}}" },
	{ TPL_KEYS, "<p>\n{{.id}}</p>", "t.html:2: {{.id}} outside a {{#rows}} section" },
	{ TPL_KEYS, "{{?keys}}{{.id}}{{/keys}}", "t.html:1: {{.id}} outside a {{#rows}} section" },
	{ TPL_KEYS, "{{#scopes}}\n\n{{.id}}{{/scopes}}",
	  "t.html:3: {{.id}} inside the list {{#scopes}}: use {{.}}" },
	{ TPL_LOGIN, "{{#scopes}}{{.name}}{{/scopes}}",
	  "t.html:1: {{.name}} inside the list {{#scopes}}: use {{.}}" },
	{ TPL_KEYS, "{{#keys}}\n{{.nosuch}}{{/keys}}",
	  "t.html:2: unknown field {{.nosuch}} (not a field of keys)" },
	{ TPL_KEYS, "{{#lifetimes}}{{.id}}{{/lifetimes}}",
	  "t.html:1: unknown field {{.id}} (not a field of lifetimes)" },
	{ TPL_KEYS, "{{keys}}", "t.html:1: {{keys}} is a list of rows: use {{#keys}}{{.id}}{{/keys}}" },
	{ TPL_KEYS, "{{#keys}}{{#lifetimes}}{{/lifetimes}}{{/keys}}",
	  "t.html:1: {{#lifetimes}} inside another list" },
	{ TPL_KEYS, "{{#scopes}}{{#keys}}{{/keys}}{{/scopes}}", "{{#keys}} inside another list" },
	{ TPL_KEYS, "{{#keys}}{{#scopes}}{{/scopes}}{{/keys}}", "{{#scopes}} inside another list" },
	{ TPL_KEYS, "{{#keys}}<a href=\"{{.id}}\">x</a>{{/keys}}",
	  "{{.id}}: placeholder in a URL attribute: use {{url:name}}" },
	{ TPL_KEYS, "{{#keys}}<form action=\"/keys/{{.id}}\"></form>{{/keys}}", "URL attribute" },
	{ TPL_KEYS, "{{#keys}}<a href=\"{{url:.id}}\">x</a>{{/keys}}",
	  "{{url:.id}} is not a URL variable" },
	{ TPL_KEYS, "{{#keys}}<p title={{.id}}>{{/keys}}",
	  "{{.id}}: placeholder in an unquoted attribute value" },
	{ TPL_KEYS, "{{#keys}}<p onclick=\"{{.name}}\">{{/keys}}", "on*, style or srcdoc" },
	{ TPL_KEYS, "{{#keys}}<p {{.name}}>{{/keys}}", "placeholder in an attribute name" },
	{ TPL_KEYS, "{{#keys}}<script>{{.name}}</script>{{/keys}}", "inside <script>" },
	{ TPL_KEYS, "{{#keys}}<!-- {{.name}} -->{{/keys}}", "placeholder in an HTML comment" },
	{ TPL_KEYS, "{{#.id}}{{/.id}}", "malformed placeholder" },
	{ TPL_KEYS, "{{#keys}}{{.Id}}{{/keys}}", "malformed placeholder" },
	{ TPL_KEYS, "{{#keys}}{{..}}{{/keys}}", "malformed placeholder" },
	{ TPL_KEYS, "{{#keys}}{{.id.name}}{{/keys}}", "malformed placeholder" },
	{ TPL_KEYS, "{{#keys}}{{.1d}}{{/keys}}", "malformed placeholder" },
	{ TPL_KEYS, "{{#keys}}{{.abcdefghijklmnopqrstuvwxyzabcdefg}}{{/keys}}",
	  "malformed placeholder" },
	{ TPL_LOGIN, "a\n\xff", "t.html:2: invalid UTF-8" },
	{ TPL_LOGIN, "<p title=\"x", "t.html:1: the template ends inside a tag" },
	{ TPL_LOGIN, "<script>", "ends inside <script>" },
	{ TPL_LOGIN, "<!-- x", "ends inside a comment" },
	{ TPL_LOGIN, "<title>x", "ends inside <title>" },
	/* What stays allowed. */
	{ TPL_LOGIN, "<p class=\"{{csrf}}\" title='{{error}}'>{{username}}</p>", NULL },
	{ TPL_LOGIN, "<input value=\"{{csrf}}\"/><br/>{{csrf}}", NULL },
	{ TPL_LOGIN, "a < b {{csrf}} <3 {{csrf}}", NULL },
	{ TPL_LOGIN, "<script src=\"/a.js\"></script>{{csrf}}<style>p{}</style >{{csrf}}", NULL },
	{ TPL_LOGIN, "<textarea>{{csrf}}</textarea>", NULL },
	{ TPL_LOGIN, "<!-- {x} -->{{csrf}}<p data-x=\"{{csrf}}\">", NULL },
	{ TPL_ERROR, "<a href=\"{{url:back_url}}#top\">{{title}}</a>", NULL },
	{ TPL_ERROR, "<a href='{{url:back_url}}'>", NULL },
	{ TPL_LOGIN, "{ single braces } {{csrf}}", NULL },
	{ TPL_KEYS, "{{#keys}}<tr data-key-id=\"{{.id}}\"><td title='{{.name}}'>{{.scopes}}</td>"
	  "</tr>{{/keys}}", NULL },
	{ TPL_KEYS, "{{#keys}}{{#error}}{{.id}}{{/error}}{{^notice}}{{.name}}{{/notice}}{{/keys}}",
	  NULL },
	{ TPL_KEYS, "{{#scopes}}{{.}}{{/scopes}}{{#lifetimes}}{{.value}}{{/lifetimes}}", NULL },
	{ TPL_KEYS, "{{#keys}}<textarea>{{.name}}</textarea><title>{{.id}}</title>{{/keys}}", NULL },
};

static void
test_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(refuse_cases); i++) {
		const struct refuse_case *c = &refuse_cases[i];
		char *err = NULL;
		struct tpl *t = tpl_compile(c->page, "t.html", c->text, strlen(c->text), &err);

		print_message("refuse case %zu: %s -> %s\n", i, c->text, err != NULL ? err : "ok");
		if (c->error == NULL) {
			assert_non_null(t);
			assert_null(err);
		} else {
			assert_null(t);
			assert_non_null(err);
			assert_non_null(strstr(err, c->error));
			assert_true(strncmp(err, "t.html:", 7) == 0);
		}
		tpl_free(t);
		free(err);
	}
}

static void
test_nul_in_template(void **state)
{
	static const char text[] = "ab\ncd\0ef";
	char *err = NULL;
	struct tpl *t = tpl_compile(TPL_LOGIN, "t.html", text, sizeof(text) - 1, &err);

	(void)state;
	assert_null(t);
	assert_string_equal(err, "t.html:2: NUL byte");
	free(err);
}

/* ---- render-time caller errors -------------------------------------------- */

static void
test_render_errors(void **state)
{
	const char *const items[] = { "read" };
	const struct {
		const char *what;
		struct tpl_var v[2];
		size_t n;
	} cases[] = {
		{ "unknown name", { TPL_TEXT("nosuch", "x") }, 1 },
		{ "a name of another page", { TPL_TEXT("title", "x") }, 1 },
		{ "given twice", { TPL_TEXT("error", "x"), TPL_TEXT("error", "y") }, 2 },
		{ "list for a text", { TPL_LIST("error", items, 1) }, 1 },
		{ "text for a list", { TPL_TEXT("scopes", "read") }, 1 },
		{ "list without items", { TPL_LIST("scopes", NULL, 1) }, 1 },
		{ "NULL name", { TPL_TEXT(NULL, "x") }, 1 },
	};
	char *err = NULL, *out = NULL;
	size_t len = 99;
	struct tpl *t = tpl_compile(TPL_LOGIN, "t.html", "{{error}}", 9, &err);

	(void)state;
	assert_non_null(t);
	for (size_t i = 0; i < N(cases); i++) {
		print_message("render error case %zu: %s\n", i, cases[i].what);
		errno = 0;
		assert_int_equal(tpl_render(t, cases[i].v, cases[i].n, &out, &len), -1);
		assert_int_equal(errno, EINVAL);
		assert_null(out);
		assert_int_equal(len, 0);
	}
	tpl_free(t);
}

/* Rows of the wrong shape, NULL cells or the wrong kind: EINVAL, nothing read. */
static void
test_rows_render_errors(void **state)
{
	const char *const six[] = { "k1", "laptop", "read", "c", "u", "e" };
	const char *const null_cell[] = { "k1", "laptop", "read", "c", NULL, "e" };
	const char *const second_row_null[] = { "30", "30 days", "0", NULL };
	const char *const items[] = { "read" };
	const struct {
		const char *what;
		struct tpl_var v[2];
		size_t n;
	} cases[] = {
		{ "one field too few", { TPL_ROWS("keys", six, 1, 5) }, 1 },
		{ "one field too many", { TPL_ROWS("keys", six, 1, 7) }, 1 },
		{ "no fields", { TPL_ROWS("keys", six, 0, 0) }, 1 },
		{ "another rows variable's width", { TPL_ROWS("lifetimes", six, 1, 6) }, 1 },
		{ "a NULL cell", { TPL_ROWS("keys", null_cell, 1, 6) }, 1 },
		{ "a NULL cell in the last row", { TPL_ROWS("lifetimes", second_row_null, 2, 2) }, 1 },
		{ "rows without cells", { TPL_ROWS("keys", NULL, 1, 6) }, 1 },
		{ "rows count that overflows", { TPL_ROWS("keys", six, SIZE_MAX / 6 + 1, 6) }, 1 },
		{ "rows for a list", { TPL_ROWS("scopes", items, 1, 1) }, 1 },
		{ "rows for a text", { TPL_ROWS("csrf", six, 1, 6) }, 1 },
		{ "a list for rows", { TPL_LIST("keys", items, 1) }, 1 },
		{ "a text for rows", { TPL_TEXT("keys", "k1") }, 1 },
		{ "both a list and rows", { { .name = "keys", .is_list = true, .items = items,
		  .n_items = 1, .is_rows = true, .cells = six, .n_rows = 1, .n_fields = 6 } }, 1 },
		{ "rows given twice", { TPL_ROWS("keys", six, 1, 6), TPL_ROWS("keys", six, 1, 6) },
		  2 },
	};
	char *err = NULL, *out = NULL;
	size_t len = 99;
	struct tpl *t = tpl_compile(TPL_KEYS, "t.html", "{{#keys}}{{.id}}{{/keys}}",
	    strlen("{{#keys}}{{.id}}{{/keys}}"), &err);

	(void)state;
	assert_non_null(t);
	for (size_t i = 0; i < N(cases); i++) {
		print_message("rows render error case %zu: %s\n", i, cases[i].what);
		errno = 0;
		assert_int_equal(tpl_render(t, cases[i].v, cases[i].n, &out, &len), -1);
		assert_int_equal(errno, EINVAL);
		assert_null(out);
		assert_int_equal(len, 0);
	}
	/* The same template renders the well-formed value. */
	{
		const struct tpl_var ok[] = { TPL_ROWS("keys", six, 1, 6) };

		assert_int_equal(tpl_render(t, ok, 1, &out, &len), 0);
		assert_string_equal(out, "k1");
		free(out);
	}
	tpl_free(t);
}

/* ---- sizes --------------------------------------------------------------------- */

static void
test_template_too_big(void **state)
{
	size_t n = IDB_MAX_TEMPLATE_FILE + 1;
	char *text = malloc(n);
	char *err = NULL;
	struct tpl *t;

	(void)state;
	assert_non_null(text);
	memset(text, 'x', n);
	t = tpl_compile(TPL_LOGIN, "t.html", text, n, &err);
	assert_null(t);
	assert_non_null(strstr(err, "t.html: bigger than"));
	free(err);
	err = NULL;
	/* Exactly at the limit is fine. */
	t = tpl_compile(TPL_LOGIN, "t.html", text, n - 1, &err);
	assert_non_null(t);
	tpl_free(t);
	free(text);
}

static void
test_output_too_big(void **state)
{
	enum { ITEM = 1000 };
	/* Each "<" becomes "&lt;": an item renders to ITEM * 4 bytes. */
	size_t n_items = IDB_MAX_TEMPLATE_OUTPUT / (ITEM * 4) + 1;
	const char **items = calloc(n_items, sizeof(*items));
	char *item = malloc(ITEM + 1), *err = NULL, *out = NULL;
	size_t len = 0;
	struct tpl *t = tpl_compile(TPL_LOGIN, "t.html", "{{#scopes}}{{.}}{{/scopes}}", 27, &err);

	(void)state;
	assert_non_null(items);
	assert_non_null(item);
	assert_non_null(t);
	memset(item, '<', ITEM);
	item[ITEM] = '\0';
	for (size_t i = 0; i < n_items; i++)
		items[i] = item;
	{
		const struct tpl_var v[] = { TPL_LIST("scopes", items, n_items) };

		errno = 0;
		assert_int_equal(tpl_render(t, v, 1, &out, &len), -1);
		assert_int_equal(errno, E2BIG);
		assert_null(out);
	}
	{
		/* One item fewer fits. */
		const struct tpl_var v[] = { TPL_LIST("scopes", items, n_items - 1) };

		assert_int_equal(tpl_render(t, v, 1, &out, &len), 0);
		assert_int_equal(len, (n_items - 1) * ITEM * 4);
		free(out);
	}
	tpl_free(t);
	free(item);
	free(items);
}

/* ---- sets on disk --------------------------------------------------------------- */

static void
write_file(const char *dir, const char *name, const char *text, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static const char *const files[] = { "login.html", "consent.html", "keys.html",
	"error.html", "style.css" };

static void
copy_real_templates(const char *dir)
{
	for (size_t i = 0; i < N(files); i++) {
		char path[512], *buf = malloc(IDB_MAX_TEMPLATE_FILE + 1);
		size_t len;
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", SRC_TEMPLATES, files[i]);
		assert_non_null(buf);
		assert_non_null(f = fopen(path, "r"));
		len = fread(buf, 1, IDB_MAX_TEMPLATE_FILE + 1, f);
		fclose(f);
		write_file(dir, files[i], buf, len);
		free(buf);
	}
}

static void
remove_dir(const char *dir)
{
	char path[512];

	for (size_t i = 0; i < N(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

static char *
make_dir(void)
{
	char *dir = strdup("/tmp/idb-test-template-XXXXXX");

	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	copy_real_templates(dir);
	return dir;
}

static void
test_set_errors(void **state)
{
	static const char bad_keys[] = "<table>\n{{#keys}}<tr>{{.}}</tr>{{/keys}}</table>\n";
	char *dir = make_dir(), *err = NULL, expect[600];
	struct tpl_set *set;
	char *big = malloc(IDB_MAX_TEMPLATE_FILE + 1);

	(void)state;
	/* A bad page names the file and the line. */
	write_file(dir, "consent.html", "<p>\n<a href={{csrf}}>\n", 22);
	set = tpl_set_load(dir, &err);
	assert_null(set);
	snprintf(expect, sizeof(expect), "%s/consent.html:2: {{csrf}}: placeholder in an "
	    "unquoted attribute value", dir);
	assert_string_equal(err, expect);
	free(err);
	/* An oversize file is refused before it is read. */
	copy_real_templates(dir);
	assert_non_null(big);
	memset(big, ' ', IDB_MAX_TEMPLATE_FILE + 1);
	write_file(dir, "error.html", big, IDB_MAX_TEMPLATE_FILE + 1);
	assert_null(tpl_set_load(dir, &err));
	snprintf(expect, sizeof(expect), "%s/error.html: bigger than %d bytes", dir,
	    IDB_MAX_TEMPLATE_FILE);
	assert_string_equal(err, expect);
	free(err);
	/* So is an oversize stylesheet. */
	copy_real_templates(dir);
	write_file(dir, "style.css", big, IDB_MAX_TEMPLATE_FILE + 1);
	assert_null(tpl_set_load(dir, &err));
	assert_non_null(strstr(err, "/style.css: bigger than"));
	free(err);
	/* A missing page. */
	copy_real_templates(dir);
	snprintf(expect, sizeof(expect), "%s/login.html", dir);
	unlink(expect);
	assert_null(tpl_set_load(dir, &err));
	assert_non_null(strstr(err, "/login.html: No such file"));
	free(err);
	/* keys.html is a page like the others: without it the set does not load. */
	copy_real_templates(dir);
	snprintf(expect, sizeof(expect), "%s/keys.html", dir);
	unlink(expect);
	assert_null(tpl_set_load(dir, &err));
	snprintf(expect, sizeof(expect), "%s/keys.html: No such file or directory", dir);
	assert_string_equal(err, expect);
	free(err);
	/* A bad keys.html names its line. */
	write_file(dir, "keys.html", bad_keys, strlen(bad_keys));
	assert_null(tpl_set_load(dir, &err));
	snprintf(expect, sizeof(expect), "%s/keys.html:2: {{.}} inside {{#keys}}, whose rows "
	    "have fields: use {{.id}}", dir);
	assert_string_equal(err, expect);
	free(err);
	/* All good again. */
	copy_real_templates(dir);
	set = tpl_set_load(dir, &err);
	assert_non_null(set);
	assert_null(err);
	tpl_set_unref(set);
	free(big);
	remove_dir(dir);
	free(dir);
}

/* ---- the real pages ------------------------------------------------------------- */

#define HOSTILE "<script>alert(1)</script>\"'`=&amp;<img src=x onerror=alert(2)>"

static const char *const hostile_items[] = { HOSTILE, "read", "<b>" };
static const char *const benign_items[] = { "a", "b", "c" };
/* Two keys rows (6 fields) and two lifetimes rows (2 fields) of each. */
static const char *const hostile_cells[] = {
	HOSTILE, HOSTILE, HOSTILE, HOSTILE, HOSTILE, HOSTILE,
	"k2", HOSTILE, "read", "<b>", "\"", "'",
};
static const char *const benign_cells[] = {
	"k1", "a", "b", "c", "d", "e", "k2", "f", "g", "h", "i", "j",
};

/* Every page, with each value either benign or hostile. */
static char *
render_page(const struct tpl_set *set, enum tpl_page_id page, bool hostile, size_t *len)
{
	const char *s = hostile ? HOSTILE : "x";
	const char *const *items = hostile ? hostile_items : benign_items;
	const struct tpl_var login[] = {
		TPL_TEXT("issuer_host", s), TPL_TEXT("client_name", s),
		TPL_LIST("scopes", items, 3), TPL_TEXT("error", s), TPL_TEXT("username", s),
		TPL_TEXT("csrf", s),
	};
	const struct tpl_var consent[] = {
		TPL_TEXT("issuer_host", s), TPL_TEXT("client_name", s),
		TPL_LIST("scopes", items, 3), TPL_TEXT("user", s), TPL_TEXT("csrf", s),
	};
	const struct tpl_var error[] = {
		TPL_TEXT("issuer_host", s), TPL_TEXT("title", s), TPL_TEXT("message", s),
		TPL_TEXT("back_url", hostile ? "javascript:alert(1)" : "/x"),
		TPL_TEXT("back_label", s),
	};
	const char *const *cells = hostile ? hostile_cells : benign_cells;
	const struct tpl_var keys[] = {
		TPL_TEXT("issuer_host", s), TPL_TEXT("user", s), TPL_TEXT("csrf", s),
		TPL_TEXT("error", s), TPL_TEXT("notice", s), TPL_TEXT("new_key", s),
		TPL_TEXT("new_key_name", s), TPL_TEXT("limit_note", s),
		TPL_ROWS("keys", cells, 2, 6), TPL_LIST("scopes", items, 3),
		TPL_ROWS("lifetimes", cells, 2, 2),
	};
	const struct {
		const struct tpl_var *v;
		size_t n;
	} by_page[TPL_N_PAGES] = {
		[TPL_LOGIN] = { login, N(login) }, [TPL_CONSENT] = { consent, N(consent) },
		[TPL_ERROR] = { error, N(error) }, [TPL_KEYS] = { keys, N(keys) },
	};
	char *out = NULL;

	assert_int_equal(tpl_render(tpl_page(set, page), by_page[page].v, by_page[page].n, &out,
	    len), 0);
	return out;
}

static size_t
count(const char *s, char ch)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == ch;
	return n;
}

static void
test_real_pages(void **state)
{
	char *err = NULL;
	struct tpl_set *set = tpl_set_load(SRC_TEMPLATES, &err);
	size_t css_len = 0;

	(void)state;
	if (set == NULL)
		fail_msg("%s", err != NULL ? err : "?");
	assert_non_null(tpl_stylesheet(set, &css_len));
	assert_true(css_len > 100);
	for (int p = 0; p < TPL_N_PAGES; p++) {
		size_t blen, hlen;
		char *benign = render_page(set, (enum tpl_page_id)p, false, &blen);
		char *hostile = render_page(set, (enum tpl_page_id)p, true, &hlen);

		print_message("page %s: %zu / %zu bytes\n", tpl_page_file((enum tpl_page_id)p),
		    blen, hlen);
		/* The values added no markup: the same number of structural characters. */
		assert_int_equal(count(hostile, '<'), count(benign, '<'));
		assert_int_equal(count(hostile, '>'), count(benign, '>'));
		assert_int_equal(count(hostile, '"'), count(benign, '"'));
		assert_int_equal(count(hostile, '\''), count(benign, '\''));
		assert_int_equal(count(hostile, '`'), count(benign, '`'));
		assert_null(strstr(hostile, "<script"));
		assert_null(strstr(hostile, "<img"));
		assert_null(strstr(hostile, "javascript:"));
		assert_non_null(strstr(hostile, "&lt;script&gt;alert(1)&lt;/script&gt;"
		    "&quot;&#39;&#96;&#61;&amp;amp;&lt;img src&#61;x onerror&#61;alert(2)&gt;"));
		/* Pages follow the rules the pages promise. */
		assert_non_null(strstr(benign, "<html lang=\"en\">"));
		assert_non_null(strstr(benign, "<main>"));
		assert_non_null(strstr(benign, "href=\"/static/style.css\""));
		free(benign);
		free(hostile);
	}
	tpl_set_unref(set);
}

/* The login page's form fields, as the handlers and the browser test need them. */
static void
test_login_form(void **state)
{
	static const char *const must[] = {
		"<form method=\"post\" action=\"/authorize\">",
		"<input type=\"hidden\" name=\"csrf\" value=\"tok\">",
		"<label for=\"username\">", "id=\"username\" name=\"username\"",
		"autocomplete=\"username\"", "<label for=\"password\">",
		"name=\"password\" type=\"password\" autocomplete=\"current-password\"",
		"role=\"alert\">wrong user name or password</p>",
		"value=\"alice\"", "<code>read</code>", "<strong class=\"app\">Plugin</strong>",
	};
	const char *const scopes[] = { "read" };
	const struct tpl_var v[] = {
		TPL_TEXT("issuer_host", "id.example"), TPL_TEXT("client_name", "Plugin"),
		TPL_LIST("scopes", scopes, 1), TPL_TEXT("error", "wrong user name or password"),
		TPL_TEXT("username", "alice"), TPL_TEXT("csrf", "tok"),
		TPL_TEXT("action", "/authorize"),
	};
	char *err = NULL, *out = NULL;
	size_t len;
	struct tpl_set *set = tpl_set_load(SRC_TEMPLATES, &err);

	(void)state;
	assert_non_null(set);
	assert_int_equal(tpl_render(tpl_page(set, TPL_LOGIN), v, N(v), &out, &len), 0);
	for (size_t i = 0; i < N(must); i++) {
		print_message("login page has: %s\n", must[i]);
		assert_non_null(strstr(out, must[i]));
	}
	assert_null(strstr(out, "<script"));
	free(out);
	/* Without an error there is no alert. */
	assert_int_equal(tpl_render(tpl_page(set, TPL_LOGIN), v, 3, &out, &len), 0);
	assert_null(strstr(out, "role=\"alert\""));
	free(out);
	tpl_set_unref(set);
}

static void
test_consent_form(void **state)
{
	static const char *const must[] = {
		"<form method=\"post\" action=\"/authorize\">",
		"name=\"csrf\" value=\"tok\"",
		"name=\"decision\" value=\"allow\"", "name=\"decision\" value=\"deny\"",
		"<code>read</code>", "<code>write</code>", "<strong class=\"user\">alice</strong>",
	};
	const char *const scopes[] = { "read", "write" };
	const struct tpl_var v[] = {
		TPL_TEXT("client_name", "Plugin"), TPL_LIST("scopes", scopes, 2),
		TPL_TEXT("user", "alice"), TPL_TEXT("csrf", "tok"),
	};
	char *err = NULL, *out = NULL;
	size_t len;
	struct tpl_set *set = tpl_set_load(SRC_TEMPLATES, &err);

	(void)state;
	assert_non_null(set);
	assert_int_equal(tpl_render(tpl_page(set, TPL_CONSENT), v, N(v), &out, &len), 0);
	for (size_t i = 0; i < N(must); i++) {
		print_message("consent page has: %s\n", must[i]);
		assert_non_null(strstr(out, must[i]));
	}
	free(out);
	tpl_set_unref(set);
}

/* The API key portal: what h_keys.c and the browser test rely on. */
static const char *const keys_page_must[] = {
	"<h1>Your API keys</h1>",
	"Signed in as <strong class=\"user\" id=\"keys-user\">Alice Example</strong>",
	"<form method=\"post\" action=\"/logout\">\n"
	"<input type=\"hidden\" name=\"csrf\" value=\"tok\">",
	"<p class=\"error\" id=\"keys-error\" role=\"alert\">Name taken</p>",
	"<p class=\"notice\" id=\"keys-notice\" role=\"status\">Key revoked</p>",
	"id=\"new-key-box\"",
	"Copy your new key <strong>laptop</strong> now: it will not be shown again.",
	"<input id=\"new-key\" type=\"text\" readonly value=\"idb_SECRET\" autocomplete=\"off\"",
	"spellcheck=\"false\"",
	"<table id=\"keys-table\">",
	"<th scope=\"col\">Name</th><th scope=\"col\">Scopes</th><th scope=\"col\">Created</th>"
	"<th scope=\"col\">Last used</th><th scope=\"col\">Expires</th>",
	"<tr data-key-id=\"k1\">\n<th scope=\"row\">laptop</th>\n<td>read</td>\n"
	"<td>2026-01-02 10:00 UTC</td>\n<td>never</td>\n<td>\xe2\x80\x94</td>",
	"<form method=\"post\" action=\"/keys\">\n<input type=\"hidden\" name=\"csrf\" "
	"value=\"tok\">\n<input type=\"hidden\" name=\"action\" value=\"revoke\">\n"
	"<input type=\"hidden\" name=\"id\" value=\"k2\">",
	"aria-label=\"Revoke laptop\">Revoke</button>",
	"aria-label=\"Revoke ci\">Revoke</button>",
	"<form method=\"post\" action=\"/keys\" id=\"create-key\"",
	"<input type=\"hidden\" name=\"action\" value=\"create\">",
	"<label for=\"key-name\">Name</label>",
	"id=\"key-name\" name=\"name\" type=\"text\" maxlength=\"64\" required",
	"<input type=\"checkbox\" name=\"scope.read\" value=\"on\"> <code>read</code>",
	"<input type=\"checkbox\" name=\"scope.write\" value=\"on\"> <code>write</code>",
	"<select id=\"key-lifetime\" name=\"lifetime\">\n<option value=\"30\">30 days</option>\n"
	"<option value=\"0\">Never</option>",
	"<p class=\"note\" id=\"key-limit\">2 of 10 keys</p>",
	"<button type=\"submit\" class=\"primary\">Create key</button>",
};

/* What the page must not show when a value is missing, and what it shows instead. */
struct keys_page_case {
	const char *what;
	const char *skip;        /* the variable left out */
	const char *absent;
	const char *present;     /* NULL: nothing instead */
};

static const struct keys_page_case keys_page_cases[] = {
	{ "no error", "error", "role=\"alert\"", NULL },
	{ "no notice", "notice", "role=\"status\"", NULL },
	{ "no new key", "new_key", "new-key", NULL },
	{ "no keys", "keys", "keys-table", "<p id=\"no-keys\">You have no API keys yet.</p>" },
	{ "no scopes, no create form", "scopes", "create-key",
	  "Your groups allow no scopes on API keys, so you cannot create keys." },
	{ "no limit note", "limit_note", "key-limit", NULL },
};

static size_t
count_str(const char *s, const char *what)
{
	size_t n = 0;

	for (; (s = strstr(s, what)) != NULL; s += strlen(what))
		n++;
	return n;
}

static void
test_keys_page(void **state)
{
	const char *const scopes[] = { "read", "write" };
	const struct tpl_var all[] = {
		TPL_TEXT("issuer_host", "id.example"), TPL_TEXT("user", "Alice Example"),
		TPL_TEXT("csrf", "tok"), TPL_TEXT("error", "Name taken"),
		TPL_TEXT("notice", "Key revoked"), TPL_TEXT("new_key", "idb_SECRET"),
		TPL_TEXT("new_key_name", "laptop"), TPL_TEXT("limit_note", "2 of 10 keys"),
		TPL_ROWS("keys", two_keys, 2, 6), TPL_LIST("scopes", scopes, 2),
		TPL_ROWS("lifetimes", lifetimes, 2, 2),
	};
	char *err = NULL, *out = NULL;
	size_t len;
	struct tpl_set *set = tpl_set_load(SRC_TEMPLATES, &err);

	(void)state;
	if (set == NULL)
		fail_msg("%s", err != NULL ? err : "?");
	assert_int_equal(tpl_render(tpl_page(set, TPL_KEYS), all, N(all), &out, &len), 0);
	for (size_t i = 0; i < N(keys_page_must); i++) {
		print_message("keys page has: %s\n", keys_page_must[i]);
		assert_non_null(strstr(out, keys_page_must[i]));
	}
	/* One revoke form per key, and no script at all. */
	assert_int_equal(count_str(out, "value=\"revoke\""), 2);
	assert_int_equal(count_str(out, "<tr data-key-id="), 2);
	assert_null(strstr(out, "<script"));
	assert_null(strstr(out, "You have no API keys yet."));
	free(out);
	for (size_t i = 0; i < N(keys_page_cases); i++) {
		const struct keys_page_case *c = &keys_page_cases[i];
		struct tpl_var v[N(all)];
		size_t n = 0;

		for (size_t k = 0; k < N(all); k++)
			if (strcmp(all[k].name, c->skip) != 0)
				v[n++] = all[k];
		print_message("keys page case %zu: %s\n", i, c->what);
		assert_int_equal(n, N(all) - 1);
		assert_int_equal(tpl_render(tpl_page(set, TPL_KEYS), v, n, &out, &len), 0);
		assert_null(strstr(out, c->absent));
		if (c->present != NULL)
			assert_non_null(strstr(out, c->present));
		free(out);
	}
	tpl_set_unref(set);
}

static void
test_error_page_back_link(void **state)
{
	const struct tpl_var with[] = {
		TPL_TEXT("title", "Too many attempts"),
		TPL_TEXT("message", "Try again in 30 seconds."),
		TPL_TEXT("back_url", "/authorize?x=1"),
	};
	char *err = NULL, *out = NULL;
	size_t len;
	struct tpl_set *set = tpl_set_load(SRC_TEMPLATES, &err);

	(void)state;
	assert_non_null(set);
	assert_int_equal(tpl_render(tpl_page(set, TPL_ERROR), with, N(with), &out, &len), 0);
	assert_non_null(strstr(out, "<h1>Too many attempts</h1>"));
	assert_non_null(strstr(out, "role=\"alert\">Try again in 30 seconds.</p>"));
	assert_non_null(strstr(out, "href=\"/authorize?x&#61;1\">Back</a>"));
	free(out);
	/* No back_url, no link. */
	assert_int_equal(tpl_render(tpl_page(set, TPL_ERROR), with, 2, &out, &len), 0);
	assert_null(strstr(out, "<a "));
	free(out);
	tpl_set_unref(set);
}

/* ---- the current set, reloaded while others render ------------------------------- */

#define RENDER_THREADS 4
#define RENDERS_PER_THREAD 300
#define RELOADS 40

static void *
render_loop(void *arg)
{
	size_t *failures = arg;

	for (int i = 0; i < RENDERS_PER_THREAD; i++) {
		struct tpl_set *set = tpl_current();
		const struct tpl_var v[] = { TPL_TEXT("title", "t"), TPL_TEXT("message", "<m>") };
		char *out = NULL;
		size_t len;

		if (set == NULL || tpl_render(tpl_page(set, TPL_ERROR), v, 2, &out, &len) != 0 ||
		    strstr(out, "&lt;m&gt;") == NULL)
			(*failures)++;
		free(out);
		tpl_set_unref(set);
	}
	return NULL;
}

static void
test_reload(void **state)
{
	char *dir = make_dir(), *err = NULL;
	struct tpl_set *held, *now;
	pthread_t th[RENDER_THREADS];
	size_t failures[RENDER_THREADS] = { 0 };
	size_t len;

	(void)state;
	assert_null(tpl_current());
	/* A failed first load leaves no set. */
	assert_int_equal(tpl_reload("/nonexistent-idbridge-templates", &err), -1);
	assert_non_null(err);
	free(err);
	assert_null(tpl_current());
	assert_int_equal(tpl_reload(dir, &err), 0);
	held = tpl_current();
	assert_non_null(held);
	/* A failed reload keeps the current set. */
	write_file(dir, "login.html", "{{nosuch}}", 10);
	assert_int_equal(tpl_reload(dir, &err), -1);
	assert_non_null(strstr(err, "/login.html:1: unknown placeholder {{nosuch}}"));
	free(err);
	now = tpl_current();
	assert_ptr_equal(now, held);
	tpl_set_unref(now);
	/* A good reload swaps; the old set lives on while someone holds it. */
	copy_real_templates(dir);
	for (int i = 0; i < RENDER_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, render_loop, &failures[i]), 0);
	for (int i = 0; i < RELOADS; i++) {
		assert_int_equal(tpl_reload(dir, &err), 0);
		assert_null(err);
	}
	for (int i = 0; i < RENDER_THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(failures[i], 0);
	}
	now = tpl_current();
	assert_ptr_not_equal(now, held);
	assert_non_null(tpl_stylesheet(held, &len));
	tpl_set_unref(now);
	tpl_set_unref(held);
	tpl_shutdown();
	assert_null(tpl_current());
	remove_dir(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_escaping_in_attribute),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_rows_escaping),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_nul_in_template),
		cmocka_unit_test(test_render_errors),
		cmocka_unit_test(test_rows_render_errors),
		cmocka_unit_test(test_template_too_big),
		cmocka_unit_test(test_output_too_big),
		cmocka_unit_test(test_set_errors),
		cmocka_unit_test(test_real_pages),
		cmocka_unit_test(test_login_form),
		cmocka_unit_test(test_consent_form),
		cmocka_unit_test(test_keys_page),
		cmocka_unit_test(test_error_page_back_link),
		cmocka_unit_test(test_reload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
