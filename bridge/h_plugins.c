/*
 * h_plugins.c — GET /plugins/NAME/ai-plugin.json: a plugin's manifest, for
 * the plugin's own domain to serve (or proxy) at
 * /.well-known/ai-plugin.json.
 *
 * The route is a prefix ("/plugins/"); the rest of the path must be exactly
 * NAME "/ai-plugin.json" with NAME a valid plugin name, else 404.  The
 * documents depend on the configuration alone, so they are serialised
 * once, on the first request, and served from memory; every URL in them
 * comes from the issuer and the config, never from the Host header.
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "manifest.h"
#include "server.h"

#define PREFIX "/plugins/"
#define SUFFIX "/ai-plugin.json"

static pthread_mutex_t docs_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct config *docs_cfg;	/* what docs were built from */
static char **docs;			/* per plugin; NULL: no manifest */
static size_t n_docs;
static bool docs_failed;		/* out of memory while building */

static void
free_docs(void)
{
	for (size_t i = 0; i < n_docs; i++)
		free(docs[i]);
	free(docs);
	docs = NULL;
	n_docs = 0;
}

/* Serialise every plugin's manifest for cfg unless done; docs_lock held. */
static void
ensure_documents(const struct config *cfg)
{
	enum manifest_error err;

	if (docs_cfg == cfg && !docs_failed)
		return;
	free_docs();
	docs_failed = false;
	docs_cfg = cfg;
	if (cfg->n_plugins == 0)
		return;
	if ((docs = calloc(cfg->n_plugins, sizeof(*docs))) == NULL) {
		docs_failed = true;
		return;
	}
	n_docs = cfg->n_plugins;
	for (size_t i = 0; i < n_docs; i++) {
		docs[i] = manifest_dump(cfg, cfg->plugins[i].name, &err);
		if (docs[i] == NULL && err != MANIFEST_NONE)
			docs_failed = true;
	}
}

/* NAME out of "/plugins/NAME/ai-plugin.json" into buf, or false. */
static bool
plugin_name(const char *path, char *buf, size_t size)
{
	size_t plen = strlen(PREFIX), slen = strlen(SUFFIX), len = strlen(path);

	if (len <= plen + slen || strncmp(path, PREFIX, plen) != 0 ||
	    strcmp(path + len - slen, SUFFIX) != 0)
		return false;
	len -= plen + slen;
	if (len >= size)
		return false;
	memcpy(buf, path + plen, len);
	buf[len] = '\0';
	return config_plugin_name_valid(buf);
}

enum http_outcome
h_plugins(struct http_request *req)
{
	const struct config *cfg = http_server(req)->cfg;
	char name[IDB_MAX_PLUGIN_NAME_LEN + 1];
	size_t i = 0;
	bool served = false, failed;

	if (!plugin_name(http_path(req), name, sizeof(name))) {
		http_respond_error(req, 404, "not_found", "no such endpoint");
		return HTTP_DONE;
	}
	pthread_mutex_lock(&docs_lock);
	ensure_documents(cfg);
	failed = docs_failed;
	for (; i < n_docs && strcmp(cfg->plugins[i].name, name) != 0; i++)
		;
	/* http_respond copies, under the lock: the cached text is never shared. */
	if (i < n_docs && docs[i] != NULL) {
		http_respond(req, 200, "application/json", docs[i], strlen(docs[i]));
		served = true;
	}
	pthread_mutex_unlock(&docs_lock);
	if (served)
		return HTTP_DONE;
	if (failed) {
		log_err("plugins: cannot build the manifests (out of memory)");
		http_respond_error(req, 500, "server_error", NULL);
	} else
		http_respond_error(req, 404, "not_found", "no such plugin manifest");
	return HTTP_DONE;
}
