/*
 * manifest.h — a plugin's ai-plugin.json, built from its [plugin NAME].
 *
 * The document depends on the configuration alone: every URL in it comes
 * from the issuer or from the config, never from a request, so the same
 * bytes are printed by `idbridge manifest` and served at
 * /plugins/NAME/ai-plugin.json.  PROTOCOLS.md ("ChatGPT plugin") lists the
 * fields; config.c has already checked every value and limit.
 */
#ifndef IDBRIDGE_MANIFEST_H
#define IDBRIDGE_MANIFEST_H

#include <jansson.h>

#include "bridge.h"
#include "config.h"

enum manifest_error {
	MANIFEST_OK,
	MANIFEST_NO_PLUGIN,     /* no [plugin NAME] */
	MANIFEST_NONE,          /* the plugin has no manifest keys */
	MANIFEST_NOMEM,
};

/*
 * The manifest of plugin p as a JSON object (a new reference), or NULL
 * with *err_r set (MANIFEST_NONE when p has no manifest, MANIFEST_NOMEM).
 */
json_t *manifest_build(const struct config *cfg, const struct plugin_cfg *p,
    enum manifest_error *err_r) IDB_WUR;

/*
 * The manifest of the plugin called name, serialised (two-space indents,
 * keys in the order of PROTOCOLS.md, no final newline); the caller frees
 * it.  NULL with *err_r set.
 */
char *manifest_dump(const struct config *cfg, const char *name,
    enum manifest_error *err_r) IDB_WUR;

/* A sentence for err, for messages. */
const char *manifest_strerror(enum manifest_error err);

#endif
