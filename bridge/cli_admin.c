/*
 * cli_admin.c — the commands an administrator runs by hand:
 * check-config, login-test and secret, and the option parsing all
 * commands share.
 */
#include "autoconfig.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "backend.h"
#include "cli.h"
#include "clients.h"
#include "config.h"
#include "log.h"
#include "pam_backend.h"
#include "privdrop.h"
#include "scopes.h"
#include "util.h"

/* longopts[] for getopt_long: -c and --help, then the command's own. */
static int
merge_longopts(struct option *all, const struct option *own)
{
	size_t n = 0;

	all[n++] = (struct option){ "config", required_argument, NULL, 'c' };
	all[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	for (; own != NULL && own->name != NULL; own++) {
		if (n + 1 >= CLI_MAX_LONGOPTS)
			return -1;
		all[n++] = *own;
	}
	all[n] = (struct option){ 0 };
	return 0;
}

int
cli_getopt(int argc, char **argv, const struct cli_options *co, const char **config_r,
    int *status_r)
{
	struct option longopts[CLI_MAX_LONGOPTS];
	int opt, operands;

	if (merge_longopts(longopts, co->longopts) != 0) {
		fprintf(stderr, "idbridge %s: too many options\n", argv[0]);
		*status_r = 1;
		return -1;
	}
	*config_r = IDB_DEFAULT_CONFIG;
	optind = 1;
	opterr = 1;
	while ((opt = getopt_long(argc, argv, co->in_order ? "+c:h" : "c:h", longopts,
	    NULL)) != -1) {
		if (opt == 'c') {
			*config_r = optarg;
		} else if (opt == 'h') {
			printf("%s", co->usage);
			*status_r = 0;
			return -1;
		} else if (opt == '?' || co->extra == NULL || co->extra(opt, optarg, co->ctx) != 0)
			goto usage;
	}
	operands = argc - optind;
	if (operands < co->min_operands ||
	    (co->max_operands >= 0 && operands > co->max_operands))
		goto usage;
	return optind;
usage:
	fprintf(stderr, "%s", co->usage);
	*status_r = EXIT_USAGE;
	return -1;
}

/* cli_parse_options' callback around the caller's: names a refused option. */
struct fixed_extra {
	const char *cmd;
	int (*extra)(int opt, const char *arg, void *ctx);
	void *ctx;
};

static int
fixed_option(int opt, const char *arg, void *vctx)
{
	const struct fixed_extra *fx = vctx;

	if (fx->extra != NULL && fx->extra(opt, arg, fx->ctx) == 0)
		return 0;
	fprintf(stderr, "idbridge %s: unexpected option\n", fx->cmd);
	return -1;
}

int
cli_parse_options(int argc, char **argv, const char *usage, const char **config_r,
    int (*extra)(int opt, const char *arg, void *ctx), void *ctx, int *status_r)
{
	static const struct option longopts[] = {
		{ "port-file", required_argument, NULL, OPT_PORT_FILE },
		{ "debug", no_argument, NULL, OPT_DEBUG },
		{ NULL, 0, NULL, 0 },
	};
	struct fixed_extra fx = { argv[0], extra, ctx };
	const struct cli_options co = {
		.usage = usage, .longopts = longopts, .extra = fixed_option, .ctx = &fx,
		.in_order = true, .min_operands = 0, .max_operands = -1,
	};

	return cli_getopt(argc, argv, &co, config_r, status_r);
}

const char *
cli_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0)
		return "-";
	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "%lld", (long long)t);
	return buf;
}

struct config *
cli_load_config(const char *path)
{
	struct config_errors errs = { 0 };
	struct config *cfg = config_load(path, &errs);

	for (size_t i = 0; i < errs.n_warnings; i++)
		fprintf(stderr, "%s\n", errs.warnings[i]);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	config_errors_free(&errs);
	return cfg;
}

/* ---- check-config ------------------------------------------------------- */

static const char check_usage[] =
    "usage: idbridge check-config [-c FILE]\n"
    "Validate FILE (default " IDB_DEFAULT_CONFIG ") and print every problem as\n"
    "FILE:LINE: message.  Exit 0 when it is valid, 1 when it is not.\n";

int
cmd_check_config(int argc, char **argv)
{
	const char *path;
	struct config *cfg;
	int status, first;

	if ((first = cli_parse_options(argc, argv, check_usage, &path, NULL, NULL,
	    &status)) < 0)
		return status;
	if (first != argc) {
		fprintf(stderr, "%s", check_usage);
		return EXIT_USAGE;
	}
	if ((cfg = cli_load_config(path)) == NULL)
		return 1;
	printf("%s: ok\n", path);
	config_free(cfg);
	return 0;
}

/* ---- login-test --------------------------------------------------------- */

static const char login_usage[] =
    "usage: idbridge login-test [-c FILE] USER\n"
    "Read USER's password from the terminal (or the first line of standard\n"
    "input), authenticate through the configured backend and print the\n"
    "identity, its groups and the scopes it would receive.\n";

/*
 * Read one line into buf without echo when stdin is a terminal.  Returns
 * its length (the password may hold any byte but NUL and newline), -1 when
 * it is longer than the buffer, -2 when it holds a NUL byte.  stdin is
 * unbuffered, so no copy of the password stays behind in stdio.
 */
static long
read_password(const char *user, char *buf, size_t size)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	size_t len = 0;
	long r;
	int c;

	setvbuf(stdin, NULL, _IONBF, 0);
	if (tty) {
		fprintf(stderr, "Password for %s: ", user);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	while ((c = getc(stdin)) != EOF && c != '\n' && len + 1 < size)
		buf[len++] = (char)c;
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if ((c != EOF && c != '\n') || len + 2 > size)
		r = -1;  /* longer than size - 2 bytes: the caller's limit */
	else if (memchr(buf, '\0', len) != NULL)
		r = -2;
	else
		r = (long)len;
	if (r < 0)
		explicit_bzero(buf, size);
	return r;
}

static const char *
failure_message(enum auth_result r)
{
	switch (r) {
	case AUTH_BAD_CREDENTIALS:
	case AUTH_UNKNOWN_USER:
		return "authentication failed: wrong user name or password";
	case AUTH_DISABLED:
		return "account disabled";
	case AUTH_EXPIRED:
		return "password expired: change it, then sign in again";
	case AUTH_UNAVAILABLE:
		return "the directory is unavailable: try again later";
	case AUTH_OK:
	case AUTH_INTERNAL:
		break;
	}
	return "internal error (see the log above)";
}

static void
print_identity(const struct config *cfg, const struct identity *id)
{
	struct strlist scopes = { 0 };

	printf("user: %s\n", id->username);
	printf("id: %s\n", id->id != NULL ? id->id : "");
	if (id->dn != NULL)
		printf("dn: %s\n", id->dn);
	printf("name: %s\n", id->display_name != NULL ? id->display_name : "");
	printf("email: %s\n", id->email != NULL ? id->email : "");
	printf("groups:");
	for (size_t i = 0; i < id->n_groups; i++)
		printf(" %s", id->groups[i]);
	printf("\nscopes:");
	if (scopes_for_identity(cfg, id, &scopes) == 0)
		for (size_t i = 0; i < scopes.n; i++)
			printf(" %s", scopes.items[i]);
	printf("\n");
	strlist_free(&scopes);
}

static int
authenticate_once(const struct config *cfg, const char *user, const char *password,
    size_t len)
{
	const struct backend_ops *ops = backend_find(cfg->auth.backend);
	struct identity id = { 0 };
	struct backend *be;
	enum auth_result r;
	char *err = NULL;

	if ((be = ops->init(cfg, &err)) == NULL) {
		fprintf(stderr, "login-test: backend %s: %s\n", ops->name,
		    err != NULL ? err : "cannot start");
		free(err);
		return 1;
	}
	r = ops->authenticate(be, user, password, len, "local", &id);
	audit_login(ops->name, user, r, "local");
	if (r == AUTH_OK)
		print_identity(cfg, &id);
	else
		fprintf(stderr, "login-test: %s\n", failure_message(r));
	identity_free(&id);
	ops->free(be);
	return r == AUTH_OK ? 0 : 1;
}

int
cmd_login_test(int argc, char **argv)
{
	char password[IDB_MAX_PASSWORD_LEN + 2];
	struct broker *broker = NULL;
	struct config *cfg = NULL;
	const char *path;
	char *err = NULL;
	int status = 1, first;
	long len;

	prctl(PR_SET_DUMPABLE, 0);
	if ((first = cli_parse_options(argc, argv, login_usage, &path, NULL, NULL,
	    &status)) < 0)
		return status;
	if (argc - first != 1) {
		fprintf(stderr, "%s", login_usage);
		return EXIT_USAGE;
	}
	umask(077);
	if ((cfg = cli_load_config(path)) == NULL)
		return 1;
	/* As in serve: PAM runs in the broker, which alone keeps root. */
	if (pam_backend_broker_start(cfg, &broker, &err) != 0) {
		fprintf(stderr, "login-test: %s\n",
		    err != NULL ? err : "cannot start the PAM broker");
		goto out;
	}
	if (privdrop_apply(cfg, false, &err) != 0) {
		fprintf(stderr, "login-test: %s\n", err);
		goto out;
	}
	prctl(PR_SET_DUMPABLE, 0);  /* again: a uid change resets it */
	if ((len = read_password(argv[first], password, sizeof(password))) < 0) {
		if (len == -2)
			fprintf(stderr, "login-test: the password contains a NUL byte\n");
		else
			fprintf(stderr, "login-test: the password is longer than %d bytes\n",
			    IDB_MAX_PASSWORD_LEN);
		goto out;
	}
	status = authenticate_once(cfg, argv[first], password, (size_t)len);
out:
	pam_backend_broker_stop(broker);
	explicit_bzero(password, sizeof(password));
	free(err);
	config_free(cfg);
	return status;
}

/* ---- secret ------------------------------------------------------------- */

static const char secret_usage[] =
    "usage: idbridge secret\n"
    "Print a new 64-character client secret, and on a second line the value\n"
    "to put in the configuration (sha256:<hex>).  Give the secret to the\n"
    "client; keep only the second line.\n";

int
cmd_secret(int argc, char **argv)
{
	unsigned char digest[IDB_SHA256_LEN];
	char secret[IDB_CLIENT_SECRET_GEN_LEN + 1], hex[2 * IDB_SHA256_LEN + 1];
	const char *ignored;
	int status, first;

	if ((first = cli_parse_options(argc, argv, secret_usage, &ignored, NULL, NULL,
	    &status)) < 0)
		return status;
	if (first != argc) {
		fprintf(stderr, "%s", secret_usage);
		return EXIT_USAGE;
	}
	/* The generator lives in clients.c: `client add` makes secrets the same way. */
	if (client_secret_generate(secret) != 0 ||
	    client_secret_hash(secret, IDB_CLIENT_SECRET_GEN_LEN, digest) != 0) {
		fprintf(stderr, "idbridge secret: the random generator failed\n");
		explicit_bzero(secret, sizeof(secret));
		return 1;
	}
	hex_encode(digest, IDB_SHA256_LEN, hex);
	printf("%s\nsha256:%s\n", secret, hex);
	explicit_bzero(secret, sizeof(secret));
	return 0;
}
