/*
 * cli.h — the idbridge subcommands.  main.c parses the command word and
 * hands the remaining arguments to one of these; each returns the exit
 * status: 0 ok, 1 failure, 2 usage.
 */
#ifndef IDBRIDGE_CLI_H
#define IDBRIDGE_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <stdbool.h>

#include "token.h"

#define EXIT_USAGE 2

#ifndef IDB_SYSCONFDIR
#define IDB_SYSCONFDIR "/etc"
#endif
#define IDB_DEFAULT_CONFIG IDB_SYSCONFDIR "/idbridge/idbridge.conf"

struct config;

int cmd_serve(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_login_test(int argc, char **argv);
int cmd_secret(int argc, char **argv);
int cmd_signing_key(int argc, char **argv);
int cmd_client(int argc, char **argv);
int cmd_manifest(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_user(int argc, char **argv);

/* [tokens] signing_alg and access_ttl as the key code takes them (cli_keys.c). */
enum jwt_alg cli_signing_alg(const struct config *cfg);
unsigned cli_access_ttl(const struct config *cfg);

/* A Unix time as ISO 8601 UTC for listings ("-" for 0); returns buf. */
const char *cli_time(int64_t t, char *buf, size_t size);

/* Load path and print warnings and errors ("FILE:LINE: message") to stderr. */
struct config *cli_load_config(const char *path);

struct option;

/* The most long options one command has, -c and --help included. */
#define CLI_MAX_LONGOPTS 16

/*
 * One command's options for cli_getopt.  -c/--config FILE and -h/--help
 * are always there; longopts (ending with a NULL name; may be NULL) adds
 * the command's own, and extra (may be NULL) takes them: 0, or -1 for a
 * usage error.  in_order stops at the first operand; otherwise options
 * and operands may be mixed.  Fewer than min_operands or more than
 * max_operands (no limit when negative) operands is a usage error.
 */
struct cli_options {
	const char *usage;
	const struct option *longopts;
	int (*extra)(int opt, const char *arg, void *ctx);
	void *ctx;
	bool in_order;
	int min_operands;
	int max_operands;
};

/*
 * Parse argv (argv[0] is the command word) as co says.  Returns the index
 * of the first operand, or -1 after printing usage (*status_r: 0 for
 * --help, EXIT_USAGE for a usage error).
 */
int cli_getopt(int argc, char **argv, const struct cli_options *co, const char **config_r,
    int *status_r);

/*
 * cli_getopt for serve, check-config, login-test, secret and manifest:
 * -c FILE, --help, --port-file and --debug, stopping at the first operand.
 * extra (may be NULL) sees --port-file and --debug; it returns 0, or -1 for
 * a usage error (then "unexpected option" is printed before the usage).
 * Returns the index of the first operand, or -1 after printing usage
 * (*status_r: 0 for --help, EXIT_USAGE otherwise).
 */
int cli_parse_options(int argc, char **argv, const char *usage, const char **config_r,
    int (*extra)(int opt, const char *arg, void *ctx), void *ctx, int *status_r);

/* Options with values beyond -c (for extra): their getopt codes. */
enum { OPT_PORT_FILE = 1000, OPT_DEBUG };

#endif
