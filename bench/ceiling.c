#include "autoconfig.h"

/*
 * ceiling — the fastest answer libmicrohttpd can give on this machine.
 *
 * bench/run measures each idbridge path against this server: the same
 * libmicrohttpd, the same daemon flags, thread pool, timeouts and limits
 * as idbridge, and the same response headers, but no routing, no store and
 * no logging.  A ratio to the ceiling therefore shows what idbridge's own
 * code costs, independent of how fast the machine is.
 *
 * Usage: ceiling [-t THREADS] [-p PORT] [--port-file PATH]
 * It listens on 127.0.0.1 and runs until SIGTERM or SIGINT.
 */

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "bridge.h"   /* the same connection limits as the daemon */

/* idbridge's /livez answer, byte for byte. */
static const char body[] = "{\"status\":\"ok\",\"store\":\"ok\"}";

/*
 * The headers idbridge's http.c puts on every answer, in the same order,
 * so both servers write the same bytes and the ratio measures code, not
 * header volume.  Keep in step with security_headers[] in http.c.
 */
static const struct {
	const char *name;
	const char *value;
} fixed_headers[] = {
	{ "Content-Type", "application/json" },
	{ "X-Content-Type-Options", "nosniff" },
	{ "X-Frame-Options", "DENY" },
	{ "Content-Security-Policy", "default-src 'none'; style-src 'self'; "
	    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'" },
	{ "Referrer-Policy", "no-referrer" },
	{ "Cache-Control", "no-store" },
	{ "Cross-Origin-Opener-Policy", "same-origin" },
	{ "Cross-Origin-Resource-Policy", "same-origin" },
};

/* As in http.c: it sizes each connection's memory pool, hence the RSS. */
#define CONNECTION_MEMORY (IDB_MAX_HEADER_BLOCK + IDB_MAX_URI_LEN + 16384)

/* X-Request-Id is "PREFIX-COUNTER" in hex, as in idbridge. */
static char id_prefix[9];
static atomic_ulong request_counter;

struct options {
	unsigned threads;
	unsigned short port;
	const char *port_file;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: ceiling [-t THREADS] [-p PORT] [--port-file PATH]\n"
	    "  -t N         thread pool size (default: one per core)\n"
	    "  -p PORT      port on 127.0.0.1 (default 0: a free port)\n"
	    "  --port-file  write the bound port to PATH once listening\n");
}

static int
parse_uint(const char *s, unsigned long max, unsigned long *out_r)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out_r = v;
	return 0;
}

static unsigned
default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

/* 0 ok, 2 usage error (also printed), 1 after --help. */
static int
parse_args(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "port-file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	int c;

	opt->threads = default_threads();
	opt->port = 0;
	opt->port_file = NULL;
	while ((c = getopt_long(argc, argv, "t:p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_uint(optarg, 1024, &v) == -1 || v == 0) {
				fprintf(stderr, "ceiling: bad thread count: %s\n", optarg);
				return 2;
			}
			opt->threads = (unsigned)v;
			break;
		case 'p':
			if (parse_uint(optarg, 65535, &v) == -1) {
				fprintf(stderr, "ceiling: bad port: %s\n", optarg);
				return 2;
			}
			opt->port = (unsigned short)v;
			break;
		case 'f':
			opt->port_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return 0;
}

static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct MHD_Response *resp = NULL;
	enum MHD_Result r = MHD_NO;
	char request_id[32];
	size_t i;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload_data;

	/*
	 * Answer only once the whole request has been read, as idbridge
	 * does: a response queued on the first call (headers only) makes
	 * libmicrohttpd close the connection instead of keeping it alive.
	 */
	if (*req_cls == NULL) {
		*req_cls = &request_counter;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}

	snprintf(request_id, sizeof(request_id), "%s-%lx", id_prefix,
	    (unsigned long)atomic_fetch_add(&request_counter, 1));

	/* The body is static, so the response only points at it. */
	resp = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)(uintptr_t)body,
	    MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		goto out;
	for (i = 0; i < sizeof(fixed_headers) / sizeof(fixed_headers[0]); i++)
		if (MHD_add_response_header(resp, fixed_headers[i].name,
		    fixed_headers[i].value) != MHD_YES)
			goto out;
	if (MHD_add_response_header(resp, "X-Request-Id", request_id) != MHD_YES)
		goto out;
	r = MHD_queue_response(conn, MHD_HTTP_OK, resp);
out:
	if (resp != NULL)
		MHD_destroy_response(resp);
	return r;
}

/* Write the port to a temporary name first, so a reader never sees half a number. */
static int
write_port_file(const char *path, unsigned port)
{
	char tmp[PATH_MAX];
	FILE *f = NULL;
	int r = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		fprintf(stderr, "ceiling: port file path too long\n");
		goto out;
	}
	if ((f = fopen(tmp, "w")) == NULL) {
		fprintf(stderr, "ceiling: %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	fprintf(f, "%u\n", port);
	if (fclose(f) != 0) {
		f = NULL;
		fprintf(stderr, "ceiling: %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	f = NULL;
	if (rename(tmp, path) == -1) {
		fprintf(stderr, "ceiling: %s: %s\n", path, strerror(errno));
		goto out;
	}
	r = 0;
out:
	if (f != NULL)
		fclose(f);
	return r;
}

static struct MHD_Daemon *
start_daemon(const struct options *opt)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(opt->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	/*
	 * Exactly idbridge's flags and options (http_start() in http.c), so
	 * the two differ only in what runs per request.  Suspend/resume is
	 * never used here, but the flag gives every worker the same
	 * inter-thread channel idbridge's have.
	 */
	return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, answer, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
	    MHD_OPTION_THREAD_POOL_SIZE, opt->threads,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDB_CONNECTION_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)IDB_CONNECTION_LIMIT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
	    MHD_OPTION_END);
}

int
main(int argc, char **argv)
{
	struct MHD_Daemon *d = NULL;
	const union MHD_DaemonInfo *info;
	struct options opt;
	sigset_t sigs;
	int r = 1, sig;

	if ((r = parse_args(argc, argv, &opt)) != 0) {
		r = r == 1 ? 0 : r;
		goto out;
	}
	r = 1;

	/* Block before MHD starts its threads, so only sigwait below sees them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &sigs, NULL) != 0) {
		fprintf(stderr, "ceiling: pthread_sigmask failed\n");
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Not a secret, only distinct per run; idbridge uses RAND_bytes. */
	snprintf(id_prefix, sizeof(id_prefix), "%08lx",
	    ((unsigned long)getpid() * 2654435761ul) & 0xfffffffful);

	if ((d = start_daemon(&opt)) == NULL) {
		fprintf(stderr, "ceiling: cannot start libmicrohttpd on 127.0.0.1:%u\n",
		    opt.port);
		goto out;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (info == NULL || info->port == 0) {
		fprintf(stderr, "ceiling: cannot read the bound port\n");
		goto out;
	}
	if (opt.port_file != NULL && write_port_file(opt.port_file, info->port) == -1)
		goto out;

	if (sigwait(&sigs, &sig) != 0) {
		fprintf(stderr, "ceiling: sigwait failed\n");
		goto out;
	}
	r = 0;
out:
	if (d != NULL)
		MHD_stop_daemon(d);
	return r;
}
