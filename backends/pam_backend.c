/*
 * pam_backend.c — the `pam` backend on the HTTP side (pam_backend.h): user
 * name and password checks, then one request to the PAM broker.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "config.h"
#include "pam_backend.h"

struct backend {
	struct broker *broker;
	const struct config_auth *ac;  /* the user-name policy */
};

/* The broker forked at start-up; init() takes it (one per process). */
static struct broker *started_broker;

/* What the calling thread's last failed sign-in asked to wait (signin.c reads it). */
static _Thread_local unsigned last_delay_ms;

int
pam_backend_broker_start(const struct config *cfg, struct broker **b_r, char **err_r)
{
	*b_r = NULL;
	*err_r = NULL;
	if (cfg->auth.backend == NULL || strcmp(cfg->auth.backend, "pam") != 0)
		return 0;
	if ((*b_r = broker_start(cfg, err_r)) == NULL)
		return -1;
	started_broker = *b_r;
	return 0;
}

void
pam_backend_broker_stop(struct broker *b)
{
	if (b == NULL)
		return;
	if (started_broker == b)
		started_broker = NULL;
	broker_stop(b);
}

static struct backend *
pam_backend_init(const struct config *cfg, char **err_r)
{
	struct backend *be;

	*err_r = NULL;
	if (started_broker == NULL) {
		*err_r = strdup("the PAM broker is not running");
		return NULL;
	}
	if ((be = calloc(1, sizeof(*be))) == NULL) {
		*err_r = strdup("out of memory");
		return NULL;
	}
	be->broker = started_broker;
	be->ac = &cfg->auth;
	return be;
}

static enum auth_result
pam_authenticate(struct backend *be, const char *user, const char *password,
    size_t password_len, const char *rhost, struct identity *id_r)
{
	unsigned delay_us = 0;
	enum auth_result r;

	memset(id_r, 0, sizeof(*id_r));
	last_delay_ms = 0;
	/* An empty password would sign in an account that has none (pam_unix nullok). */
	if (password_len == 0 || password_len > IDB_MAX_PASSWORD_LEN ||
	    memchr(password, '\0', password_len) != NULL)
		return AUTH_BAD_CREDENTIALS;
	if (!backend_username_ok(user, be->ac->username_max_length, be->ac->username_chars))
		return AUTH_UNKNOWN_USER;
	r = broker_authenticate(be->broker, user, password, password_len, rhost, &delay_us, id_r);
	if (r != AUTH_OK)
		last_delay_ms = (delay_us + 999) / 1000;
	return r;
}

static enum auth_result
pam_lookup(struct backend *be, const char *user, struct identity *id_r)
{
	memset(id_r, 0, sizeof(*id_r));
	if (!backend_username_ok(user, be->ac->username_max_length, be->ac->username_chars))
		return AUTH_UNKNOWN_USER;
	return broker_account(be->broker, user, NULL, id_r);
}

static unsigned
pam_last_fail_delay_ms(void)
{
	return last_delay_ms;
}

static int
pam_health(struct backend *be, char **err_r)
{
	*err_r = NULL;
	if (broker_workers_alive(be->broker) > 0)
		return 0;
	*err_r = strdup("pam: no broker worker is alive");
	return -1;
}

static void
pam_backend_free(struct backend *be)
{
	free(be);  /* the broker belongs to whoever started it */
}

const struct backend_ops pam_backend_ops = {
	.name = "pam",
	.compiled_in = true,
	.init = pam_backend_init,
	.authenticate = pam_authenticate,
	.lookup = pam_lookup,
	.last_fail_delay_ms = pam_last_fail_delay_ms,
	.health = pam_health,
	.free = pam_backend_free,
};
