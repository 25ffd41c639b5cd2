/*
 * broker.h — the PAM broker: a separate process, forked by `serve` (and
 * `login-test`) before any thread or store handle exists, that alone calls
 * PAM (backends/pam.h).  When started as root it keeps root; the HTTP
 * process drops to [server] user right after the fork.
 *
 * The broker is a supervisor and a small pool of single-threaded worker
 * processes (PAM modules are not all thread-safe; pam_faildelay sleeps);
 * each worker serves one request at a time over its own socketpair with
 * the HTTP process.  The wire format is framed and size-checked; it allows
 * exactly three requests:
 *   AUTHENTICATE user password rhost  -> result, fail delay, identity
 *   ACCOUNT      user rhost           -> result, identity (pam_acct_mgmt alone)
 *   GROUPS       user                 -> result, identity (NSS alone)
 * Anything else, or a frame over IDB_BROKER_MAX_FRAME, ends that channel.
 * A worker that dies is restarted by the supervisor; the request it held is
 * answered AUTH_UNAVAILABLE, never left hanging.  The broker counts failed
 * sign-ins itself (per user name, bounded), so a compromised HTTP process
 * cannot use it as a password oracle at full speed.
 *
 * The HTTP side (broker_call) is thread-safe: auth pool workers borrow a
 * free channel, one request at a time per channel.
 */
#ifndef IDBRIDGE_BROKER_H
#define IDBRIDGE_BROKER_H

#include <stddef.h>
#include <sys/types.h>

#include "../backends/backend.h"

struct config;
struct broker;

/*
 * Fork the broker for cfg ([pam] service, [pam] workers or the default).
 * Call before any thread exists.  NULL with *err_r on failure.  Logs
 * "pam broker: supervisor pid N, workers pids A B".
 */
struct broker *broker_start(const struct config *cfg, char **err_r);

/* The supervisor's pid and the workers' pids (tests read /proc for them). */
pid_t broker_pid(const struct broker *b);

enum auth_result broker_authenticate(struct broker *b, const char *user, const char *password,
    size_t password_len, const char *rhost, unsigned *fail_delay_us_r, struct identity *id_r);
enum auth_result broker_account(struct broker *b, const char *user, const char *rhost,
    struct identity *id_r);

/*
 * How many workers can take a request now (busy ones count); 0 when the
 * supervisor is gone.  For /healthz.
 */
unsigned broker_workers_alive(struct broker *b);

/* Stop the broker (SIGTERM to the supervisor, wait) and free b.  NULL is fine. */
void broker_stop(struct broker *b);

#endif
