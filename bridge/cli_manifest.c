/*
 * cli_manifest.c — `idbridge manifest -c FILE NAME`: print the plugin's
 * ai-plugin.json, the same bytes GET /plugins/NAME/ai-plugin.json serves.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "config.h"
#include "log.h"
#include "manifest.h"

static const char manifest_usage[] =
    "usage: idbridge manifest [-c FILE] NAME\n"
    "Print the ai-plugin.json of [plugin NAME], as the server serves it at\n"
    "/plugins/NAME/ai-plugin.json.  Exit 1 when there is no such plugin or\n"
    "it has no manifest.\n";

int
cmd_manifest(int argc, char **argv)
{
	enum manifest_error err;
	char nb[LOG_SAFE_BUF];
	struct config *cfg;
	const char *path;
	char *text;
	int status, first;

	if ((first = cli_parse_options(argc, argv, manifest_usage, &path, NULL,
	    NULL, &status)) < 0)
		return status;
	if (argc - first != 1) {
		fprintf(stderr, "%s", manifest_usage);
		return EXIT_USAGE;
	}
	if ((cfg = cli_load_config(path)) == NULL)
		return 1;
	if ((text = manifest_dump(cfg, argv[first], &err)) == NULL) {
		fprintf(stderr, "idbridge manifest: %s: %s\n",
		    log_safe(nb, sizeof(nb), argv[first]), manifest_strerror(err));
		config_free(cfg);
		return 1;
	}
	printf("%s\n", text);
	free(text);
	config_free(cfg);
	return fflush(stdout) == 0 ? 0 : 1;
}
