/*
 * privdrop.h — start-up as root: bind first, then become [server] user.
 *
 * Order (DESIGN.md): read config and secrets, bind the listen socket, (fork
 * the PAM broker), drop privileges, and only then open the store and start
 * threads.  After the drop, regaining root must be impossible; we check it.
 */
#ifndef IDBRIDGE_PRIVDROP_H
#define IDBRIDGE_PRIVDROP_H

#include <stdbool.h>
#include <sys/types.h>
#include "bridge.h"

struct config;

/*
 * Become the configured user when running as root (initgroups, setgid,
 * setuid, verified).  As root without [server] user, refuse unless
 * allow_root.  Not root: nothing to do.  prepare_dirs: create state_dir
 * (0700) and hand it to the user first.  0, or -1 with *err_r.
 */
int privdrop_apply(const struct config *cfg, bool prepare_dirs, char **err_r) IDB_WUR;

/* Bind and listen on host:port (port 0: any free one).  fd, or -1 with *err_r. */
int listen_socket(const char *host, unsigned short port, unsigned short *bound_port_r,
    char **err_r) IDB_WUR;

#endif
