/* privdrop.c — binding the listen socket and dropping root (see privdrop.h). */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "privdrop.h"

static char *
errf(const char *fmt, const char *a, const char *b)
{
	char *s = NULL;

	if (asprintf(&s, fmt, a, b) < 0)
		return NULL;
	return s;
}

static int
lookup_user(const char *name, uid_t *uid_r, gid_t *gid_r, char **err_r)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int rc = getpwnam_r(name, &pw, buf, sizeof(buf), &res);

	if (rc != 0 || res == NULL) {
		*err_r = errf("[server] user %s: %s", name,
		    rc != 0 ? strerror(rc) : "no such user");
		return -1;
	}
	if (pw.pw_uid == 0 || pw.pw_gid == 0) {
		*err_r = errf("[server] user %s%s: is root or in group root; pick an "
		    "unprivileged user", name, "");
		return -1;
	}
	*uid_r = pw.pw_uid;
	*gid_r = pw.pw_gid;
	return 0;
}

/*
 * state_dir belongs to the daemon's user and nobody else may look in.  It
 * is opened without following a symlink before it is handed over, so a
 * link planted there cannot make root chown some other directory.
 */
static int
prepare_state_dir(const char *dir, uid_t uid, gid_t gid, char **err_r)
{
	int fd, r = -1;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		*err_r = errf("cannot create state_dir %s: %s", dir, strerror(errno));
		return -1;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		*err_r = errf("cannot open state_dir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (fchown(fd, uid, gid) != 0 || fchmod(fd, 0700) != 0)
		*err_r = errf("cannot hand state_dir %s to the daemon user: %s", dir,
		    strerror(errno));
	else
		r = 0;
	close(fd);
	return r;
}

/* After the drop: no supplementary group may be root's. */
static bool
in_root_group(void)
{
	int n = getgroups(0, NULL);
	gid_t *groups;
	bool root = true;

	if (n < 0 || (groups = calloc((size_t)n + 1, sizeof(*groups))) == NULL)
		return true;
	if ((n = getgroups(n, groups)) >= 0) {
		root = false;
		for (int i = 0; i < n; i++)
			root = root || groups[i] == 0;
	}
	free(groups);
	return root;
}

static int
become(const char *name, uid_t uid, gid_t gid, char **err_r)
{
	if (initgroups(name, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
		*err_r = errf("cannot become user %s: %s", name, strerror(errno));
		return -1;
	}
	/* The drop must be permanent: getting root back must fail. */
	if (setuid(0) == 0 || seteuid(0) == 0 || getuid() != uid || geteuid() != uid ||
	    getgid() != gid || getegid() != gid || in_root_group()) {
		*err_r = errf("dropping privileges to %s did not stick%s", name, "");
		return -1;
	}
	return 0;
}

int
privdrop_apply(const struct config *cfg, bool prepare_dirs, char **err_r)
{
	const char *user = cfg->server.user;
	uid_t uid;
	gid_t gid;

	*err_r = NULL;
	if (geteuid() != 0) {
		if (prepare_dirs && mkdir(cfg->server.state_dir, 0700) != 0 && errno != EEXIST) {
			*err_r = errf("cannot create state_dir %s: %s", cfg->server.state_dir,
			    strerror(errno));
			return -1;
		}
		return 0;
	}
	if (user == NULL) {
		if (cfg->server.allow_root) {
			log_warn("running as root (allow_root = yes)");
			if (prepare_dirs && mkdir(cfg->server.state_dir, 0700) != 0 &&
			    errno != EEXIST) {
				*err_r = errf("cannot create state_dir %s: %s",
				    cfg->server.state_dir, strerror(errno));
				return -1;
			}
			return 0;
		}
		*err_r = errf("refusing to run as root: set [server] user%s%s "
		    "(or allow_root = yes)", "", "");
		return -1;
	}
	if (lookup_user(user, &uid, &gid, err_r) != 0)
		return -1;
	if (prepare_dirs && prepare_state_dir(cfg->server.state_dir, uid, gid, err_r) != 0)
		return -1;
	if (become(user, uid, gid, err_r) != 0)
		return -1;
	log_info("running as user %s (uid %ld)", user, (long)uid);
	return 0;
}

int
listen_socket(const char *host, unsigned short port, unsigned short *bound_port_r,
    char **err_r)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd = -1, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
		sl = sizeof(struct sockaddr_in6);
	} else if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
		sl = sizeof(struct sockaddr_in);
	} else {
		*err_r = errf("[server] listen: '%s' is not an IP address%s", host, "");
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (ss.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
	    bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 512) != 0) {
		*err_r = errf("cannot listen on %s: %s", host, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		*bound_port_r = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}
