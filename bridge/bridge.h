/*
 * bridge.h — limits and small shared helpers for the whole daemon.
 *
 * Every size limit idbridge enforces is a named constant here, so a reviewer
 * can read the whole attack surface in one screen.  Oversize input is always
 * rejected, never cropped (see DESIGN.md, "Invariants").
 */
#ifndef IDBRIDGE_BRIDGE_H
#define IDBRIDGE_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>

#define IDB_WUR __attribute__((warn_unused_result))
#define IDB_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define IDB_UNUSED __attribute__((unused))

/* HTTP request limits. */
#define IDB_MAX_URI_LEN 4096          /* request line target; over → 414 */
#define IDB_MAX_HEADER_BLOCK 16384    /* all request headers; over → 431 */
#define IDB_MAX_BODY_LEN 65536        /* any request body; over → 413 */
#define IDB_MAX_FORM_FIELD_LEN 8192   /* one form/query value; over → 400 */
#define IDB_MAX_FORM_FIELDS 64        /* distinct form fields in one body */
#define IDB_MAX_JSON_DEPTH 8          /* nesting of a JSON request body */

/* Connection handling. */
#define IDB_CONNECTION_TIMEOUT_S 30   /* idle keep-alive connection */
#define IDB_CONNECTION_LIMIT 1024     /* simultaneous connections */
#define IDB_DRAIN_TIMEOUT_S 10        /* SIGTERM: wait this long for requests */

/* Identity limits. */
#define IDB_MAX_USERNAME_LEN 256      /* hard cap; [auth] username_max_length ≤ this */
#define IDB_DEFAULT_USERNAME_LEN 64
#define IDB_MAX_PASSWORD_LEN 1024     /* longer passwords are refused, not cut */
#define IDB_MAX_GROUPS 1024           /* groups one identity may carry */
#define IDB_MAX_DN_LEN 2048
#define IDB_MAX_ATTR_VALUE_LEN 1024   /* uid, display name, mail, id */
#define IDB_MAX_NESTED_DEPTH 16       /* cap for [ldap] nested_depth */

/* Config limits. */
#define IDB_MAX_CONFIG_LINE 199       /* Debian's inih buffer is 200 bytes */
#define IDB_MAX_CONFIG_VALUE 8192     /* a value joined from continuation lines */
#define IDB_MAX_SECRET_FILE 4096      /* a *_file secret */
#define IDB_MAX_LIST_ITEMS 64         /* values of one list key (uri, scopes …) */

/* Auth worker pool. */
#define IDB_AUTH_QUEUE_LEN 256        /* queued sign-ins before 503 */
#define IDB_AUTH_PER_ADDR_INFLIGHT 8  /* one client address's queued jobs */
#define IDB_DEFAULT_AUTH_WORKERS 8

/* Login throttling (ratelimit.c). */
#define IDB_THROTTLE_ENTRIES 16384      /* LRU of counters, users and addresses together */
#define IDB_THROTTLE_WINDOW_S 900       /* a count decays this long after its last failure */
#define IDB_THROTTLE_FREE_USER 3        /* failures before a user name waits */
#define IDB_THROTTLE_FREE_ADDR 10       /* an address may be a whole office behind NAT */
#define IDB_THROTTLE_BASE_S 2           /* the first wait; each failure doubles it */
#define IDB_THROTTLE_MAX_S 300          /* the longest wait between attempts */
#define IDB_THROTTLE_USER_CAP 5         /* then no directory bind until the window passes */

/* Health. */
#define IDB_HEALTH_CACHE_S 3          /* /healthz directory probe is cached this long */

/* Log lines never carry more than this many bytes of an untrusted string. */
#define IDB_LOG_STR_MAX 100

#endif
