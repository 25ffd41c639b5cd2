/*
 * pam_backend.h — the `pam` backend as the HTTP process sees it: every
 * call goes to the PAM broker (bridge/broker.h), which alone runs PAM.
 *
 * The broker must be forked before any thread exists, long before the
 * backend's init() runs (after the privilege drop and the store): `serve`
 * and `login-test` call pam_backend_broker_start() right after reading the
 * config, and pam_backend_broker_stop() when they end, on every path.
 */
#ifndef IDBRIDGE_PAM_BACKEND_H
#define IDBRIDGE_PAM_BACKEND_H

#include "backend.h"

struct broker;

extern const struct backend_ops pam_backend_ops;

/*
 * When [auth] backend = pam, fork the broker and hand it to the backend;
 * otherwise do nothing.  0 (*b_r NULL for other backends), or -1 with *err_r.
 */
int pam_backend_broker_start(const struct config *cfg, struct broker **b_r, char **err_r) IDB_WUR;
/* Stop it (NULL is fine); the backend must be freed already. */
void pam_backend_broker_stop(struct broker *b);

#endif
