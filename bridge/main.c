/*
 * main.c — `idbridge COMMAND [options]`: dispatch to the subcommands.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "serve", cmd_serve, "run the server in the foreground" },
	{ "check-config", cmd_check_config, "validate a configuration file" },
	{ "login-test", cmd_login_test, "sign a user in through the backend and show the result" },
	{ "secret", cmd_secret, "make a new client secret and its config value" },
	{ "signing-key", cmd_signing_key, "list or rotate the JWT signing keys" },
	{ "client", cmd_client, "add, list or remove OAuth clients kept in the store" },
	{ "manifest", cmd_manifest, "print a plugin's ai-plugin.json" },
	{ "keys", cmd_keys, "list, issue or revoke per-employee API keys" },
	{ "user", cmd_user, "revoke everything one person holds (offboarding)" },
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: idbridge COMMAND [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'idbridge COMMAND --help' describes each command.\n"
	    "Exit status: 0 ok, 1 failure, 2 usage error.\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("idbridge %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "idbridge: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
