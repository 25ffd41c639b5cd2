/*
 * render_page.c — render one page of a template directory to stdout.
 *
 *	render_page DIR PAGE [name=value | name+=item]...
 *
 * PAGE is login, consent or error; name+=item appends to a list.  For
 * looking at the pages (a headless browser screenshot) with any values,
 * hostile ones included.  Exit 0, or 1 with the reason on stderr.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

#define MAX_ITEMS 64

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

int
main(int argc, char **argv)
{
	struct tpl_var vars[IDB_MAX_TEMPLATE_VARS];
	const char *items[IDB_MAX_TEMPLATE_VARS][MAX_ITEMS];
	size_t n_vars = 0, len;
	struct tpl_set *set = NULL;
	enum tpl_page_id page;
	char *err = NULL, *out = NULL;
	int r = 1;

	if (argc < 3 || (page = page_named(argv[2])) == TPL_N_PAGES) {
		fprintf(stderr, "usage: render_page DIR login|consent|error "
		    "[name=value|name+=item]...\n");
		return 1;
	}
	for (int i = 3; i < argc; i++) {
		char *eq = strchr(argv[i], '='), *name = argv[i];
		bool list = eq != NULL && eq > name && eq[-1] == '+';
		size_t k;

		if (eq == NULL) {
			fprintf(stderr, "render_page: %s: not name=value\n", argv[i]);
			goto out;
		}
		*(list ? eq - 1 : eq) = '\0';
		for (k = 0; k < n_vars && strcmp(vars[k].name, name) != 0; k++)
			;
		if (k == n_vars) {
			if (n_vars == IDB_MAX_TEMPLATE_VARS)
				goto out;
			vars[n_vars++] = (struct tpl_var){ .name = name, .is_list = list,
			    .items = items[k] };
		}
		if (!list)
			vars[k].str = eq + 1;
		else if (vars[k].n_items < MAX_ITEMS)
			items[k][vars[k].n_items++] = eq + 1;
	}
	if ((set = tpl_set_load(argv[1], &err)) == NULL) {
		fprintf(stderr, "render_page: %s\n", err != NULL ? err : "cannot load");
		goto out;
	}
	if (tpl_render(tpl_page(set, page), vars, n_vars, &out, &len) < 0) {
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
