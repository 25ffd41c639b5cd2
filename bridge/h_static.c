/*
 * h_static.c — GET /static/style.css, the pages' one stylesheet.
 *
 * The CSP allows styles from this origin only ('self', no inline styles), so
 * the stylesheet is served here, from the current template set: a SIGHUP
 * that reloads the pages reloads it too.  Nothing else is served from disk.
 */
#include "autoconfig.h"

#include "http.h"
#include "template.h"

enum http_outcome
h_static_css(struct http_request *req)
{
	struct tpl_set *set = tpl_current();
	const char *css;
	size_t len;

	if (set == NULL) {
		http_respond_error(req, 503, "temporarily_unavailable", "no templates loaded");
		return HTTP_DONE;
	}
	css = tpl_stylesheet(set, &len);
	http_respond(req, 200, TPL_CSS_CONTENT_TYPE, css, len);
	/* Public and short-lived: a SIGHUP's new stylesheet shows within minutes. */
	http_replace_header(req, "Cache-Control", "public, max-age=300");
	tpl_set_unref(set);
	return HTTP_DONE;
}
