/*
 * render_page.c — render one page of a template directory to stdout.
 *
 *	render_page DIR PAGE [name=value | name+=item | name:F+=cell]...
 *
 * PAGE is login, consent, keys or error; name+=item appends to a list;
 * name:F+=cell appends a cell to rows of F fields, row by row in the order
 * the page declares the fields (keys:2+=value1 keys:2+=label1 …).  For
 * looking at the pages (a headless browser screenshot) and for the
 * integration tests, with any values, hostile ones included.  Exit 0, or 1
 * with the reason on stderr.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

#define MAX_ITEMS 256   /* list items, or cells of all rows */

static enum tpl_page_id
page_named(const char *name)
{
	for (int p = 0; p < TPL_N_PAGES; p++) {
		const char *file = tpl_page_file((enum tpl_page_id)p);

		if (strncmp(file, name, strlen(name)) == 0 && file[strlen(name)] == '.')
			return (enum tpl_page_id)p;
	}
	return TPL_N_PAGES;
}

struct values {
	struct tpl_var vars[IDB_MAX_TEMPLATE_VARS];
	const char *items[IDB_MAX_TEMPLATE_VARS][MAX_ITEMS];
	size_t n_strings[IDB_MAX_TEMPLATE_VARS];
	size_t n_vars;
};

/* The variable called name, added as rows of fields (0: list, -1: text). */
static struct tpl_var *
var_named(struct values *vals, const char *name, long fields)
{
	size_t k;

	for (k = 0; k < vals->n_vars && strcmp(vals->vars[k].name, name) != 0; k++)
		;
	if (k == vals->n_vars) {
		if (vals->n_vars == IDB_MAX_TEMPLATE_VARS)
			return NULL;
		vals->vars[vals->n_vars++] = (struct tpl_var){ .name = name,
		    .is_list = fields == 0, .items = vals->items[k],
		    .is_rows = fields > 0, .cells = vals->items[k],
		    .n_fields = fields > 0 ? (size_t)fields : 0 };
	}
	/* The same name used as two kinds is a mistake in the command line. */
	if (vals->vars[k].is_list != (fields == 0) || vals->vars[k].is_rows != (fields > 0) ||
	    (fields > 0 && vals->vars[k].n_fields != (size_t)fields))
		return NULL;
	return &vals->vars[k];
}

/* One name=value, name+=item or name:F+=cell argument (arg is changed). */
static int
add_arg(struct values *vals, char *arg)
{
	char *eq = strchr(arg, '='), *colon, *end;
	bool append = eq != NULL && eq > arg && eq[-1] == '+';
	long fields = append ? 0 : -1;
	struct tpl_var *v;
	size_t k;

	if (eq == NULL)
		return -1;
	*(append ? eq - 1 : eq) = '\0';
	if (append && (colon = strchr(arg, ':')) != NULL) {
		*colon = '\0';
		fields = strtol(colon + 1, &end, 10);
		if (*end != '\0' || fields < 1 || fields > MAX_ITEMS)
			return -1;
	}
	if ((v = var_named(vals, arg, fields)) == NULL)
		return -1;
	if (fields < 0) {
		v->str = eq + 1;
		return 0;
	}
	k = (size_t)(v - vals->vars);
	if (vals->n_strings[k] == MAX_ITEMS)
		return -1;
	vals->items[k][vals->n_strings[k]++] = eq + 1;
	v->n_items = v->is_list ? vals->n_strings[k] : 0;
	v->n_rows = v->is_rows ? vals->n_strings[k] / v->n_fields : 0;
	return 0;
}

int
main(int argc, char **argv)
{
	static struct values vals;
	struct tpl_set *set = NULL;
	enum tpl_page_id page;
	char *err = NULL, *out = NULL;
	size_t len;
	int r = 1;

	if (argc < 3 || (page = page_named(argv[2])) == TPL_N_PAGES) {
		fprintf(stderr, "usage: render_page DIR login|consent|keys|error "
		    "[name=value|name+=item|name:F+=cell]...\n");
		return 1;
	}
	for (int i = 3; i < argc; i++) {
		if (add_arg(&vals, argv[i]) < 0) {
			fprintf(stderr, "render_page: argument %d: not name=value, name+=item "
			    "or name:F+=cell, a name used as two kinds, or too many\n", i);
			goto out;
		}
	}
	for (size_t k = 0; k < vals.n_vars; k++)
		if (vals.vars[k].is_rows && vals.n_strings[k] % vals.vars[k].n_fields != 0) {
			fprintf(stderr, "render_page: %s: the last row is not complete\n",
			    vals.vars[k].name);
			goto out;
		}
	if ((set = tpl_set_load(argv[1], &err)) == NULL) {
		fprintf(stderr, "render_page: %s\n", err != NULL ? err : "cannot load");
		goto out;
	}
	if (tpl_render(tpl_page(set, page), vals.vars, vals.n_vars, &out, &len) < 0) {
		fprintf(stderr, "render_page: %s\n", strerror(errno));
		goto out;
	}
	if (fwrite(out, 1, len, stdout) != len)
		goto out;
	r = 0;
out:
	free(out);
	free(err);
	tpl_set_unref(set);
	return r;
}
