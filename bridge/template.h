/*
 * template.h — the HTML pages: a tiny, strict template engine.
 *
 * The pages live in `[server] templates` (login.html, consent.html,
 * keys.html, error.html and style.css).  tpl_set_load() reads and compiles all of them
 * at once; tpl_reload() does that and swaps the new set in as the process's
 * current one (start-up and SIGHUP), so a request sees either the old set or
 * the new one, never half of each.  A handler does:
 *
 *	struct tpl_set *set = tpl_current();
 *	const struct tpl_var vars[] = {
 *		TPL_TEXT("client_name", client->name),
 *		TPL_LIST("scopes", scopes, n_scopes),
 *		TPL_TEXT("csrf", csrf),
 *	};
 *	char *html; size_t len;
 *	if (set != NULL && tpl_render(tpl_page(set, TPL_LOGIN), vars,
 *	    sizeof(vars) / sizeof(vars[0]), &html, &len) == 0) {
 *		http_respond(req, 200, TPL_CONTENT_TYPE, html, len);
 *		free(html);
 *	}
 *	tpl_set_unref(set);
 *
 * A rows variable (a table) is passed flat, row-major: n_rows × n_fields
 * strings, the fields in the order the page declares them (listed below):
 *
 *	const char *const cells[] = {
 *		"value1", "label1",
 *		"value2", "label2",
 *	};
 *	TPL_ROWS("lifetimes", cells, 2, 2)
 *
 * Template syntax (nothing else; a "{{" that is not one of these is a load
 * error, so a page cannot contain a literal "{{"):
 *
 *	{{name}}       the value, HTML-escaped (& < > " ' ` = become entities).
 *	               There is no raw form: every value is escaped.
 *	{{url:name}}   a URL variable, allowed only as the very start of an
 *	               href/src/action/… value.  The value is written (escaped)
 *	               when it is a path ("/x", not "//" nor "/\") or an
 *	               "https://host…" URL made of printable ASCII; anything else
 *	               ("javascript:", "data:", "//evil", spaces…) renders "#".
 *	{{#name}}…{{/name}}
 *	               text variable: shown when non-empty;
 *	               list variable: shown once per item, {{.}} being the item;
 *	               rows variable: shown once per row, {{.field}} being
 *	               that field of the row.
 *	{{?name}}…{{/name}}   shown once when the text/list/rows is non-empty.
 *	{{^name}}…{{/name}}   shown when the text/list/rows is empty or not
 *	               given.
 *	{{.}}          the current list item (only inside {{#list}}…{{/list}}).
 *	{{.field}}     a field of the current row (only inside
 *	               {{#rows}}…{{/rows}}), escaped like {{name}} and allowed
 *	               where {{name}} is (so never in a URL attribute).
 *
 * A {{#list}} or {{#rows}} section cannot open inside another one.
 *
 * Names are [a-z][a-z0-9_]*.  Each page has a fixed set of variables (listed
 * below); a template naming any other is refused at load with FILE:LINE.
 * The loader also knows enough HTML to refuse placeholders where escaping
 * does not make a value safe: outside a quoted attribute value or text (tag
 * or attribute names, unquoted values, comments, <!…>), inside <script> or
 * <style>, in on* / style / srcdoc attributes, in any attribute of
 * script/style/meta/link/base/iframe/object/embed, and — except for
 * {{url:name}} at its start — anywhere in a URL attribute.  Sections may
 * only open and close in text, so showing, hiding or repeating one never
 * changes the HTML context around it.  A template must be valid UTF-8
 * without NUL bytes and end outside any tag.
 *
 * Rendering: a variable the caller does not pass renders as the empty
 * string (and its sections as empty).  Passing a name the page does not
 * have, passing one twice, a value of the wrong kind (text, list, rows),
 * rows whose n_fields is not the page's, or a NULL list item or row cell
 * is a programming error: tpl_render fails with EINVAL.  In values, bytes
 * that are not valid UTF-8, NUL (TPL_TEXTN) and C0 controls other than
 * tab/LF/CR become U+FFFD.  Output over IDB_MAX_TEMPLATE_OUTPUT fails with
 * E2BIG, never a cut page.  The output buffer grows without leaving copies
 * in freed memory, so a page that shows a secret (keys.html's new_key)
 * exists only in the returned buffer: wipe it (explicit_bzero) before free.
 *
 * Compiled templates are read-only: any number of threads may render from
 * the same set at once.  Sets are reference counted.
 *
 * Page variables (kind in brackets):
 *   login.html   issuer_host client_name error username csrf purpose [text],
 *                action [url] (where the form posts: /authorize or /keys),
 *                scopes [list]
 *   consent.html issuer_host client_name user csrf [text], scopes [list]
 *   keys.html    issuer_host user csrf error notice new_key new_key_name
 *                limit_note [text], scopes [list],
 *                keys [rows: id name scopes created last_used expires],
 *                lifetimes [rows: value label]
 *   error.html   issuer_host title message back_label [text],
 *                back_url [url]
 * style.css is not a template: it is served verbatim (tpl_stylesheet).
 */
#ifndef IDBRIDGE_TEMPLATE_H
#define IDBRIDGE_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include "bridge.h"

#define TPL_CONTENT_TYPE "text/html; charset=utf-8"
#define TPL_CSS_CONTENT_TYPE "text/css; charset=utf-8"

enum tpl_page_id { TPL_LOGIN, TPL_CONSENT, TPL_ERROR, TPL_KEYS, TPL_N_PAGES };

/* One value a caller passes: a text (str, or str+len), a list or rows. */
struct tpl_var {
	const char *name;
	const char *str;               /* text; NULL = empty */
	size_t len;                    /* with has_len: str holds len bytes */
	bool has_len;
	bool is_list;
	const char *const *items;      /* list: n_items NUL-terminated strings */
	size_t n_items;
	bool is_rows;
	const char *const *cells;      /* rows: n_rows × n_fields strings, row-major */
	size_t n_rows, n_fields;
};

#define TPL_TEXT(n, s) { .name = (n), .str = (s) }
#define TPL_TEXTN(n, s, l) { .name = (n), .str = (s), .len = (l), .has_len = true }
#define TPL_LIST(n, it, cnt) { .name = (n), .is_list = true, .items = (it), .n_items = (cnt) }
#define TPL_ROWS(n, c, rows, fields) { .name = (n), .is_rows = true, .cells = (c), \
	.n_rows = (rows), .n_fields = (fields) }

struct tpl;       /* one compiled page */
struct tpl_set;   /* every page and the stylesheet of one directory */

/*
 * Compile one page from memory.  file names the source in error messages
 * ("FILE:LINE: message" in *err_r, caller frees).  NULL on error.
 */
struct tpl *tpl_compile(enum tpl_page_id page, const char *file, const char *text,
    size_t len, char **err_r) IDB_WUR;
void tpl_free(struct tpl *t);

/*
 * Render into a new NUL-terminated buffer (*out_r, caller frees; *len_r
 * excludes the NUL).  0, or -1 with errno EINVAL (see above), E2BIG or
 * ENOMEM, and *out_r NULL.
 */
int tpl_render(const struct tpl *t, const struct tpl_var *vars, size_t n_vars,
    char **out_r, size_t *len_r) IDB_WUR;

/* The file name a page is read from ("login.html"). */
const char *tpl_page_file(enum tpl_page_id page);

/* Load every page of dir and style.css.  NULL and *err_r on any error. */
struct tpl_set *tpl_set_load(const char *dir, char **err_r) IDB_WUR;
const struct tpl *tpl_page(const struct tpl_set *set, enum tpl_page_id page);
const char *tpl_stylesheet(const struct tpl_set *set, size_t *len_r);
void tpl_set_ref(struct tpl_set *set);
/* Drop a reference; the last one frees the set.  NULL is fine. */
void tpl_set_unref(struct tpl_set *set);

/*
 * The process's current set.  tpl_reload loads dir and, only when that
 * succeeded, makes it current (0); on failure the old set stays (-1,
 * *err_r).  tpl_current returns a reference the caller drops with
 * tpl_set_unref, or NULL before the first successful load.  tpl_shutdown
 * drops the current set.
 */
int tpl_reload(const char *dir, char **err_r) IDB_WUR;
struct tpl_set *tpl_current(void);
void tpl_shutdown(void);

#endif
