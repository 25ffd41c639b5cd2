/*
 * cli.h — the idbridge subcommands.  main.c parses the command word and
 * hands the remaining arguments to one of these; each returns the exit
 * status: 0 ok, 1 failure, 2 usage.
 */
#ifndef IDBRIDGE_CLI_H
#define IDBRIDGE_CLI_H

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

/* [tokens] signing_alg and access_ttl as the key code takes them (cli_keys.c). */
enum jwt_alg cli_signing_alg(const struct config *cfg);
unsigned cli_access_ttl(const struct config *cfg);

/* Load path and print warnings and errors ("FILE:LINE: message") to stderr. */
struct config *cli_load_config(const char *path);

/*
 * Parse the options every command shares: -c FILE and --help.  extra (may
 * be NULL) sees any other option; it returns 0, or -1 for a usage error.
 * Returns the index of the first operand, or -1 after printing usage
 * (*status_r: 0 for --help, EXIT_USAGE otherwise).
 */
int cli_parse_options(int argc, char **argv, const char *usage, const char **config_r,
    int (*extra)(int opt, const char *arg, void *ctx), void *ctx, int *status_r);

/* Options with values beyond -c (for extra): their getopt codes. */
enum { OPT_PORT_FILE = 1000, OPT_DEBUG };

#endif
