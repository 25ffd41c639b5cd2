/*
 * cli_serve.c — `idbridge serve`: start-up in the documented order, the
 * signal loop, and graceful shutdown.
 *
 * Order: read the config and secrets; bind the listen socket; fork the PAM
 * broker (backend = pam); drop to [server] user; open the store; start the backend,
 * the auth pool and libmicrohttpd.  Signals are blocked before any thread
 * exists, so every thread inherits the mask and main alone takes them with
 * sigwait().
 */
#include "autoconfig.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "authpool.h"
#include "backend.h"
#include "cli.h"
#include "clients.h"
#include "config.h"
#include "delayq.h"
#include "http.h"
#include "keys.h"
#include "keyusage.h"
#include "dircache.h"
#include "verifycache.h"
#include "log.h"
#include "pam_backend.h"
#include "privdrop.h"
#include "ratelimit.h"
#include "server.h"
#include "store.h"
#include "store_apikeys.h"
#include "store_oauth.h"
#include "template.h"

static const char serve_usage[] =
    "usage: idbridge serve [-c FILE] [--port-file PATH] [--debug]\n"
    "Run the server in the foreground.  SIGTERM or SIGINT: finish the requests\n"
    "in flight and exit 0.  --port-file writes the bound port to PATH once the\n"
    "server accepts connections (useful with listen = HOST:0).\n";

struct serve_opts {
	const char *port_file;
	bool debug;
};

static int
serve_option(int opt, const char *arg, void *ctx)
{
	struct serve_opts *o = ctx;

	if (opt == OPT_PORT_FILE)
		o->port_file = arg;
	else if (opt == OPT_DEBUG)
		o->debug = true;
	else
		return -1;
	return 0;
}

/* Write the port atomically (temp file + rename), so a reader never sees half. */
static int
write_port_file(const char *path, unsigned short port)
{
	char tmp[4096];
	FILE *f;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp) ||
	    (f = fopen(tmp, "w")) == NULL)
		return -1;
	fprintf(f, "%u\n", port);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		return -1;
	return 0;
}

static void
block_signals(sigset_t *set)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	/* liblber writes with write(2) from worker threads: a closed peer must not kill us. */
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
}

/* SIGHUP: a new template set, or the old one kept with the reason logged. */
static void
reload_templates(const char *dir)
{
	char *err = NULL;

	if (tpl_reload(dir, &err) == 0)
		log_info("SIGHUP: templates reloaded from %s", dir);
	else
		log_err("SIGHUP: templates not reloaded, the old ones stay: %s",
		    err != NULL ? err : "?");
	free(err);
}

/*
 * Housekeeping between signals: expired sessions, codes and tokens are
 * deleted, so the store does not grow with every sign-in forever.
 */
static void
housekeeping(struct server *srv)
{
	if (store_oauth_purge(srv->store, (int64_t)time(NULL)) != STORE_OK)
		log_warn("housekeeping: could not purge expired rows (will retry)");
}

static void
wait_for_stop(const sigset_t *set, struct server *srv)
{
	const struct timespec every = { .tv_sec = IDB_HOUSEKEEPING_S, .tv_nsec = 0 };

	housekeeping(srv);
	for (;;) {
		int sig = sigtimedwait(set, NULL, &every);

		if (sig < 0) {
			if (errno == EAGAIN)
				housekeeping(srv);
			continue;
		}
		if (sig == SIGHUP) {
			reload_templates(srv->cfg->server.templates);
			verifycache_flush(srv->verifycache);
			continue;
		}
		log_info("%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		return;
	}
}

/*
 * Answer every suspended request: close the auth pool first (its running
 * jobs finish and may hand failed sign-ins to the delay queue), then the
 * delay queue (which answers what waits there at once).
 */
static void
answer_suspended(void *arg)
{
	struct server *srv = arg;

	authpool_close(srv->authpool);
	delayq_close(srv->delayq);
}

/* keyusage.h's batch writer: the uses stay queued when the store fails. */
static int
write_key_uses(void *arg, const struct keyusage_entry *v, size_t n)
{
	char *err = NULL;

	if (store_apikeys_touch(arg, v, n, &err) == 0)
		return 0;
	log_err("API keys: cannot record the last use of %zu keys (will retry): %s", n,
	    err != NULL ? err : "out of memory");
	free(err);
	return -1;
}

/* Everything after the privilege drop. */
/* The store's revocation callback: cached /verify results are checked again. */
static void
revoked(void *arg)
{
	verifycache_bump(arg);
}

static int
run_server(const struct config *cfg, int *fd, unsigned short port,
    const struct serve_opts *o, const sigset_t *set)
{
	struct server srv = { .cfg = cfg };
	struct http_daemon *d = NULL;
	char *err = NULL;
	int status = 1;

	health_cache_init(&srv.health);
	srv.backend_ops = backend_find(cfg->auth.backend);
	if ((srv.store = store_open(&cfg->store, &err)) == NULL) {
		log_err("store: %s", err != NULL ? err : "cannot open");
		goto out;
	}
	if (keys_load_or_create(srv.store, cli_signing_alg(cfg), cli_access_ttl(cfg), &srv.keys,
	    &err) != 0) {
		log_err("signing keys: %s", err != NULL ? err : "cannot load");
		goto out;
	}
	if (clients_init(cfg, srv.store, &err) != 0) {
		log_err("stored clients: %s", err != NULL ? err : "cannot load");
		goto out;
	}
	if (tpl_reload(cfg->server.templates, &err) != 0) {
		log_err("templates: %s", err != NULL ? err : "cannot load");
		goto out;
	}
	if ((srv.backend = srv.backend_ops->init(cfg, &err)) == NULL) {
		log_err("backend %s: %s", srv.backend_ops->name, err != NULL ? err : "cannot start");
		goto out;
	}
	if ((srv.ratelimit = ratelimit_new(IDB_THROTTLE_ENTRIES)) == NULL ||
	    (srv.delayq = delayq_new()) == NULL) {
		log_err("cannot start the sign-in throttle: %s", strerror(errno));
		goto out;
	}
	if ((srv.dircache = dircache_new(cfg->tokens.directory_cache_ttl)) == NULL) {
		log_err("cannot allocate the directory cache");
		goto out;
	}
	if ((srv.verifycache = verifycache_new(0, srv.store)) == NULL) {
		log_err("cannot allocate the /verify cache");
		goto out;
	}
	/* This process's revocations count at once; other processes' within a second. */
	store_on_revocation(srv.store, revoked, srv.verifycache);
	if ((srv.keyusage = keyusage_new(0)) == NULL ||
	    keyusage_start(srv.keyusage, cfg->apikeys.last_used_interval, write_key_uses,
	    srv.store) != 0) {
		log_err("cannot start the API key use recorder: %s", strerror(errno));
		goto out;
	}
	if ((srv.authpool = authpool_new(cfg->server.auth_workers, IDB_AUTH_QUEUE_LEN,
	    IDB_AUTH_PER_ADDR_INFLIGHT)) == NULL) {
		log_err("cannot start the auth workers: %s", strerror(errno));
		goto out;
	}
	if ((d = http_start(&srv, *fd, cfg->server.threads, &err)) == NULL) {
		log_err("http: %s", err != NULL ? err : "cannot start");
		goto out;
	}
	*fd = -1;  /* the HTTP daemon owns it now */
	log_info("listening on http://%s%s%s:%u (issuer %s, store schema %d, backend %s)",
	    strchr(cfg->server.listen_host, ':') != NULL ? "[" : "", cfg->server.listen_host,
	    strchr(cfg->server.listen_host, ':') != NULL ? "]" : "", port, cfg->server.issuer,
	    store_schema_version(srv.store), srv.backend_ops->name);
	if (o->port_file != NULL && write_port_file(o->port_file, port) != 0)
		log_warn("cannot write the port file %s: %s", o->port_file, strerror(errno));
	wait_for_stop(set, &srv);
	/* Suspended requests are answered when the auth pool closes, before MHD stops. */
	http_stop(d, answer_suspended, &srv);
	d = NULL;
	keyusage_stop(srv.keyusage);    /* no request notes a use any more: write the rest */
	status = 0;
	log_info("stopped");
out:
	if (d != NULL)
		http_stop(d, answer_suspended, &srv);
	authpool_close(srv.authpool);
	authpool_free(srv.authpool);
	delayq_free(srv.delayq);
	ratelimit_free(srv.ratelimit);
	if (srv.backend != NULL)
		srv.backend_ops->free(srv.backend);
	clients_shutdown();  /* no request thread runs any more */
	keys_free(srv.keys);
	dircache_free(srv.dircache);
	if (srv.store != NULL)
		store_on_revocation(srv.store, NULL, NULL);
	verifycache_free(srv.verifycache);
	keyusage_free(srv.keyusage);
	store_close(srv.store);
	tpl_shutdown();
	health_cache_destroy(&srv.health);
	free(err);
	return status;
}

int
cmd_serve(int argc, char **argv)
{
	struct serve_opts o = { 0 };
	struct broker *broker = NULL;
	struct config *cfg = NULL;
	unsigned short port = 0;
	const char *path;
	char *err = NULL;
	sigset_t set;
	int status = 1, first, fd = -1;

	if ((first = cli_parse_options(argc, argv, serve_usage, &path, serve_option, &o,
	    &status)) < 0)
		return status;
	if (first != argc) {
		fprintf(stderr, "%s", serve_usage);
		return EXIT_USAGE;
	}
	/* No core dump may carry a password or a key. */
	prctl(PR_SET_DUMPABLE, 0);
	umask(077);
	if (o.debug)
		log_set_level(LOG_LVL_DEBUG);
	block_signals(&set);
	if ((cfg = cli_load_config(path)) == NULL)
		return 1;
	fd = listen_socket(cfg->server.listen_host, cfg->server.listen_port, &port, &err);
	if (fd < 0) {
		log_err("%s", err);
		goto out;
	}
	/* The PAM broker keeps root: forked while no thread and no store exist yet. */
	if (pam_backend_broker_start(cfg, &broker, &err) != 0) {
		log_err("%s", err != NULL ? err : "cannot start the PAM broker");
		goto out;
	}
	if (privdrop_apply(cfg, true, &err) != 0) {
		log_err("%s", err);
		goto out;
	}
	/*
	 * Changing uid resets the dumpable flag to fs.suid_dumpable, which some
	 * distributions set to 2: set it again, and make sure it holds.
	 */
	if (prctl(PR_SET_DUMPABLE, 0) != 0 || prctl(PR_GET_DUMPABLE) != 0) {
		log_err("cannot make the process undumpable: %s", strerror(errno));
		goto out;
	}
	status = run_server(cfg, &fd, port, &o, &set);
out:
	pam_backend_broker_stop(broker);  /* after the backend is freed: no request uses it */
	if (fd >= 0)
		close(fd);
	free(err);
	config_free(cfg);
	return status;
}
