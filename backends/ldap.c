/*
 * ldap.c — the LDAP / Active Directory backend: search, then bind.
 *
 * A sign-in validates the name, searches user_base with the escaped
 * user_filter on a pooled service connection, and binds with the DN the
 * server returned on a bind connection: one that is only ever used for user
 * binds (a user bind on a search connection would make that connection's
 * next search run as the user).  Then disabled_filter and the groups are
 * read on the service connection, with independent searches pipelined
 * (op_search_many): the disabled check, the group search and AD's in-chain
 * search go out together, a nesting level asks for the parents of up to
 * IDB_LDAP_NEST_BATCH groups in one OR-ed search, and groups named by DN
 * (memberOf) are read that many at a time.  Round trips, not server work,
 * are what a distant directory makes expensive.
 *
 * Pool: at most [ldap] pool service-bound connections.  A caller takes an
 * idle one, opens a new one while under the limit, or waits on a condition
 * variable for at most the timeout.  A connection that reported
 * LDAP_SERVER_DOWN, LDAP_CONNECT_ERROR or LDAP_TIMEOUT is closed, never
 * returned to the pool; so are the idle ones to the same server, which are
 * likely dead too.
 *
 * Bind connections are kept too, up to [ldap] pool idle ones: the next
 * sign-in binds again on the same connection (a simple bind replaces the
 * connection's identity, and a failed one leaves it anonymous), so a
 * sign-in costs no TCP connect, StartTLS handshake or TLS context.  They
 * need no wait: at most one is in use per auth worker.
 *
 * Failover: URIs are tried in config order, skipping for a while those
 * that recently failed to connect or timed out (when all are marked down,
 * the first attempt of an operation probes them again in order, so a
 * restarted directory is used at once).  An operation that fails with one
 * of the three errors above is retried on a fresh connection, at most once
 * per URI plus once more (for a connection that went stale while idle).
 */
#include "autoconfig.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <ldap.h>

#include "backend.h"
#include "config.h"
#include "ldap_backend.h"
#include "ldap_filter.h"
#include "log.h"
#include "util.h"

/* A URI that failed is tried after the others for this long. */
#define LDAP_URI_RETRY_MS 30000
/* TCP keepalive: notice a vanished server or a dropped NAT/firewall entry. */
#define LDAP_KEEPALIVE_IDLE_S 60
#define LDAP_KEEPALIVE_PROBES 3
#define LDAP_KEEPALIVE_INTERVAL_S 10
/* DNs one look-up may collect (user's memberOf values, visited groups). */
#define LDAP_MAX_DNS (4 * IDB_MAX_GROUPS)
/* conn_open() keeps one bit per URI. */
_Static_assert(IDB_MAX_LIST_ITEMS <= 64, "uri list longer than a uint64_t mask");
/* AD's "in chain" matching rule (LDAP_MATCHING_RULE_IN_CHAIN). */
#define AD_IN_CHAIN_OID "1.2.840.113556.1.4.1941"

struct conn {
	LDAP *ld;
	size_t uri;             /* index into cfg->ldap.uris */
	bool proven;            /* an operation succeeded on it (connects are async) */
};

struct backend {
	const struct config_ldap *lc;
	const struct config_auth *ac;
	pthread_mutex_t lock;
	pthread_cond_t freed;   /* a connection went idle or a slot opened */
	struct conn **idle;     /* capacity lc->pool */
	size_t n_idle;
	size_t n_open;          /* idle + in use + being opened */
	struct conn **bind_idle; /* idle bind connections, capacity lc->pool */
	size_t n_bind_idle;
	uint64_t *down_until;   /* per URI: now_ms() before which it is avoided */
	char **user_attrs;      /* attributes requested for a user entry */
	char **group_attrs;     /* attributes requested for a group entry */
};

/* A sequence of searches on one pooled connection, replaced on failure. */
struct op {
	struct backend *be;
	struct conn *c;
	unsigned attempts;      /* connections used so far, for the retry bound */
};

/* One search of a pipelined batch (op_search_many). */
struct ldap_query {
	const char *base;
	int scope;
	const char *filter;
	char **attrs;
	int sizelimit;
};

struct dnlist {
	char **v;
	size_t n;
};

static char no_attrs_1_1[] = "1.1";
static char *no_attrs[] = { no_attrs_1_1, NULL };

/* ---- small helpers ---------------------------------------------------- */

static void
dnlist_free(struct dnlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static bool
dnlist_contains(const struct dnlist *l, const char *dn)
{
	for (size_t i = 0; i < l->n; i++)
		if (ascii_strcasecmp(l->v[i], dn) == 0)
			return true;
	return false;
}

/* Add dn unless present: 1 added, 0 present, -1 ENOMEM or over the cap. */
static int
dnlist_add(struct dnlist *l, const char *dn)
{
	char **v, *copy;

	if (dnlist_contains(l, dn))
		return 0;
	if (l->n >= LDAP_MAX_DNS) {
		errno = E2BIG;
		return -1;
	}
	if ((copy = strdup(dn)) == NULL)
		return -1;
	if ((v = realloc(l->v, (l->n + 1) * sizeof(*v))) == NULL) {
		free(copy);
		return -1;
	}
	v[l->n++] = copy;
	l->v = v;
	return 1;
}

/* Errors after which a connection is dead and another URI should be tried. */
static bool
ldap_err_failover(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT ||
	    rc == LDAP_CONNECT_ERROR;
}

/* Translate an LDAP result code that ended an operation. */
static enum auth_result
ldap_err_result(int rc)
{
	switch (rc) {
	case LDAP_SUCCESS:
		return AUTH_OK;
	case LDAP_SERVER_DOWN:
	case LDAP_TIMEOUT:
	case LDAP_CONNECT_ERROR:
	case LDAP_BUSY:
	case LDAP_UNAVAILABLE:
	case LDAP_TIMELIMIT_EXCEEDED:
	case LDAP_ADMINLIMIT_EXCEEDED:
		return AUTH_UNAVAILABLE;
	default:
		return AUTH_INTERNAL;
	}
}

static const char *
uri_name(const struct backend *be, size_t uri)
{
	return be->lc->uris.items[uri];
}

/* One log line for a failed libldap call, with the server's own message. */
static void
log_ldap(enum log_level level, const struct backend *be, const struct conn *c,
    const char *what, int rc)
{
	char buf[LOG_SAFE_BUF];
	char *diag = NULL;

	if (c != NULL && c->ld != NULL)
		(void)ldap_get_option(c->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	log_msg(level, "ldap: %s on %s failed: %s%s%s%s", what,
	    c != NULL ? uri_name(be, c->uri) : "-", ldap_err2string(rc),
	    diag != NULL && *diag != '\0' ? " (" : "",
	    diag != NULL && *diag != '\0' ? log_safe(buf, sizeof(buf), diag) : "",
	    diag != NULL && *diag != '\0' ? ")" : "");
	ldap_memfree(diag);
}

static void
mark_down(struct backend *be, size_t uri)
{
	pthread_mutex_lock(&be->lock);
	be->down_until[uri] = now_ms() + LDAP_URI_RETRY_MS;
	pthread_mutex_unlock(&be->lock);
}

static bool
is_down(struct backend *be, size_t uri)
{
	bool down;

	pthread_mutex_lock(&be->lock);
	down = be->down_until[uri] > now_ms();
	pthread_mutex_unlock(&be->lock);
	return down;
}

/* ---- connections ------------------------------------------------------ */

static void
conn_close(struct conn *c)
{
	if (c == NULL)
		return;
	if (c->ld != NULL)
		(void)ldap_unbind_ext_s(c->ld, NULL, NULL);
	free(c);
}

/* Set every per-handle option; nothing here talks to the network. */
static int
conn_setup(struct backend *be, struct conn *c)
{
	const struct config_ldap *lc = be->lc;
	struct timeval tv = { .tv_sec = (time_t)lc->timeout, .tv_usec = 0 };
	int version = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND;
	int tls_min = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2, server = 0;
	int idle = LDAP_KEEPALIVE_IDLE_S, probes = LDAP_KEEPALIVE_PROBES;
	int interval = LDAP_KEEPALIVE_INTERVAL_S;
	int rc;

	if ((rc = ldap_initialize(&c->ld, uri_name(be, c->uri))) != LDAP_SUCCESS) {
		log_ldap(LOG_LVL_ERR, be, c, "ldap_initialize", rc);
		return rc;
	}
	/*
	 * Each option is required: a handle half set up is never used.
	 * CONNECT_ASYNC because libldap 2.5 applies NETWORK_TIMEOUT to the TLS
	 * handshake only for asynchronous connects: otherwise an ldaps server
	 * that accepts TCP and never answers keeps it spinning on a
	 * non-blocking socket forever (seen here, 100% CPU).  Synchronous calls
	 * still wait for the connect, bounded by NETWORK_TIMEOUT.
	 */
	if (ldap_set_option(c->ld, LDAP_OPT_PROTOCOL_VERSION, &version) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(c->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(c->ld, LDAP_OPT_RESTART, LDAP_OPT_ON) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(c->ld, LDAP_OPT_CONNECT_ASYNC, LDAP_OPT_ON) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(c->ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(c->ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(c->ld, LDAP_OPT_X_KEEPALIVE_IDLE, &idle) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(c->ld, LDAP_OPT_X_KEEPALIVE_PROBES, &probes) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(c->ld, LDAP_OPT_X_KEEPALIVE_INTERVAL, &interval) != LDAP_OPT_SUCCESS) {
		log_err("ldap: cannot set connection options for %s", uri_name(be, c->uri));
		return LDAP_LOCAL_ERROR;
	}
	if (lc->ca_file != NULL &&
	    ldap_set_option(c->ld, LDAP_OPT_X_TLS_CACERTFILE, lc->ca_file) != LDAP_OPT_SUCCESS) {
		log_err("ldap: cannot use ca_file %s", lc->ca_file);
		return LDAP_LOCAL_ERROR;
	}
	/* Then a TLS context of this handle's own, built from the options above. */
	if (ldap_set_option(c->ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(c->ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tls_min) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(c->ld, LDAP_OPT_X_TLS_NEWCTX, &server) != LDAP_OPT_SUCCESS) {
		log_err("ldap: cannot set up TLS for %s (is ca_file %s a readable PEM file?)",
		    uri_name(be, c->uri), lc->ca_file != NULL ? lc->ca_file : "(none)");
		return LDAP_LOCAL_ERROR;
	}
	return LDAP_SUCCESS;
}

static bool
uri_is_plain_ldap(const char *uri)
{
	return strncasecmp(uri, "ldap://", 7) == 0;
}

/*
 * Open a connection to one URI: connect, StartTLS when configured, and for
 * pooled connections the service bind.  Returns an LDAP result code; the
 * failure is logged here.
 */
static int
conn_open_uri(struct backend *be, size_t uri, bool service, struct conn **conn_r)
{
	const struct config_ldap *lc = be->lc;
	struct conn *c;
	int rc;

	*conn_r = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return LDAP_NO_MEMORY;
	c->uri = uri;
	if ((rc = conn_setup(be, c)) != LDAP_SUCCESS)
		goto out;
	if (lc->starttls && uri_is_plain_ldap(uri_name(be, uri))) {
		if ((rc = ldap_start_tls_s(c->ld, NULL, NULL)) != LDAP_SUCCESS) {
			log_ldap(LOG_LVL_WARN, be, c, "StartTLS", rc);
			goto out;
		}
	} else if ((rc = ldap_connect(c->ld)) != LDAP_SUCCESS) {
		log_ldap(LOG_LVL_WARN, be, c, "connect", rc);
		goto out;
	}
	if (service && lc->bind_dn != NULL) {
		struct berval cred;

		cred.bv_val = lc->bind_password;
		cred.bv_len = lc->bind_password_len;
		rc = ldap_sasl_bind_s(c->ld, lc->bind_dn, LDAP_SASL_SIMPLE, &cred,
		    NULL, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			log_ldap(ldap_err_failover(rc) ? LOG_LVL_WARN : LOG_LVL_ERR,
			    be, c, "service bind (bind_dn)", rc);
			goto out;
		}
		c->proven = true;
	}
	*conn_r = c;
	c = NULL;
out:
	conn_close(c);
	return rc;
}

/*
 * Open a connection to the first URI that answers: those not marked down in
 * config order, then (probe) the marked ones.  A URI that fails to connect
 * is marked down; any other error (bad service password, bad ca_file) ends
 * the attempt at once, since another server would not change it.
 */
static int
conn_open(struct backend *be, bool service, bool probe, struct conn **conn_r)
{
	size_t n = be->lc->uris.n;
	uint64_t down = 0;
	int rc = LDAP_SERVER_DOWN;

	/* Which were down before this attempt: each URI is tried once at most. */
	for (size_t i = 0; i < n; i++)
		if (is_down(be, i))
			down |= UINT64_C(1) << i;
	for (int pass = 0; pass < (probe ? 2 : 1); pass++) {
		for (size_t i = 0; i < n; i++) {
			if (((down >> i) & 1) != (uint64_t)pass)
				continue;
			rc = conn_open_uri(be, i, service, conn_r);
			if (rc == LDAP_SUCCESS || !ldap_err_failover(rc))
				return rc;
			mark_down(be, i);
		}
	}
	return rc;
}

/* ---- the pool --------------------------------------------------------- */

static int
pool_get(struct backend *be, bool probe, struct conn **conn_r)
{
	struct timespec deadline;
	struct conn *c = NULL;
	int rc = LDAP_SUCCESS;

	*conn_r = NULL;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)be->lc->timeout;
	pthread_mutex_lock(&be->lock);
	while (be->n_idle == 0 && be->n_open >= be->lc->pool) {
		if (pthread_cond_timedwait(&be->freed, &be->lock, &deadline) == ETIMEDOUT &&
		    be->n_idle == 0 && be->n_open >= be->lc->pool) {
			pthread_mutex_unlock(&be->lock);
			log_warn("ldap: all %u pooled connections stayed busy for %us",
			    be->lc->pool, be->lc->timeout);
			return LDAP_TIMEOUT;
		}
	}
	if (be->n_idle > 0) {
		*conn_r = be->idle[--be->n_idle];
		pthread_mutex_unlock(&be->lock);
		return LDAP_SUCCESS;
	}
	be->n_open++;   /* reserve the slot; connect without holding the lock */
	pthread_mutex_unlock(&be->lock);
	if ((rc = conn_open(be, true, probe, &c)) != LDAP_SUCCESS) {
		pthread_mutex_lock(&be->lock);
		be->n_open--;
		pthread_cond_signal(&be->freed);
		pthread_mutex_unlock(&be->lock);
	}
	*conn_r = c;
	return rc;
}

static void
pool_put(struct backend *be, struct conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&be->lock);
	be->idle[be->n_idle++] = c;
	pthread_cond_signal(&be->freed);
	pthread_mutex_unlock(&be->lock);
}

/*
 * Move the idle connections to uri from idle[] to doomed[] (NULL: keep
 * them all); the caller holds the lock.  Returns how many moved.
 */
static size_t
idle_take_uri(struct conn **idle, size_t *n_idle, size_t uri, struct conn **doomed)
{
	size_t kept = 0, n_dead = 0;

	for (size_t i = 0; i < *n_idle; i++) {
		if (idle[i]->uri == uri && doomed != NULL)
			doomed[n_dead++] = idle[i];
		else
			idle[kept++] = idle[i];
	}
	*n_idle = kept;
	return n_dead;
}

static void
conn_close_all(struct conn *c, struct conn **doomed, size_t n_dead)
{
	conn_close(c);
	for (size_t i = 0; i < n_dead; i++)
		conn_close(doomed[i]);
	free(doomed);
}

/* Close c and every idle connection to the same server. */
static void
pool_discard(struct backend *be, struct conn *c)
{
	size_t n_dead;
	struct conn **doomed;

	/* At most pool connections exist; collect under the lock, close outside. */
	doomed = calloc(be->lc->pool, sizeof(*doomed));
	pthread_mutex_lock(&be->lock);
	be->n_open--;
	n_dead = idle_take_uri(be->idle, &be->n_idle, c->uri, doomed);
	be->n_open -= n_dead;
	pthread_cond_broadcast(&be->freed);
	pthread_mutex_unlock(&be->lock);
	conn_close_all(c, doomed, n_dead);
}

/*
 * A connection for a user bind: an idle one, else a new one (no service
 * bind).  Never one of the search pool's.
 */
static int
bind_get(struct backend *be, bool probe, struct conn **conn_r)
{
	*conn_r = NULL;
	pthread_mutex_lock(&be->lock);
	if (be->n_bind_idle > 0) {
		*conn_r = be->bind_idle[--be->n_bind_idle];
		pthread_mutex_unlock(&be->lock);
		return LDAP_SUCCESS;
	}
	pthread_mutex_unlock(&be->lock);
	return conn_open(be, false, probe, conn_r);
}

/* Keep a bind connection for the next sign-in, or close it when enough are idle. */
static void
bind_put(struct backend *be, struct conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&be->lock);
	if (be->n_bind_idle < be->lc->pool) {
		be->bind_idle[be->n_bind_idle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&be->lock);
	conn_close(c);
}

/* Close a failed bind connection and the idle ones to the same server. */
static void
bind_discard(struct backend *be, struct conn *c)
{
	struct conn **doomed = calloc(be->lc->pool, sizeof(*doomed));
	size_t n_dead;

	pthread_mutex_lock(&be->lock);
	n_dead = idle_take_uri(be->bind_idle, &be->n_bind_idle, c->uri, doomed);
	pthread_mutex_unlock(&be->lock);
	conn_close_all(c, doomed, n_dead);
}

static void
op_end(struct op *op)
{
	pool_put(op->be, op->c);
	op->c = NULL;
}

/*
 * Log a search error that op_search did not log already (it logs failover
 * errors, and conn_open the failure to get a connection), and translate it.
 */
static enum auth_result
op_failed(struct op *op, const char *what, int rc)
{
	if (op->c != NULL && !ldap_err_failover(rc))
		log_ldap(LOG_LVL_ERR, op->be, op->c, what, rc);
	return ldap_err_result(rc);
}

/* The operation's pooled connection, taken now if it has none: an LDAP result code. */
static int
op_conn(struct op *op)
{
	int rc;

	if (op->c != NULL)
		return LDAP_SUCCESS;
	rc = pool_get(op->be, op->attempts == 0, &op->c);
	op->attempts++;
	return rc;
}

/*
 * After a failover error on the operation's connection: log it, drop the
 * connection, and say whether another server may be tried.
 */
static bool
op_failover(struct op *op, const char *what, int rc)
{
	struct backend *be = op->be;

	log_ldap(LOG_LVL_WARN, be, op->c, what, rc);
	/*
	 * A server that hangs or cannot be reached is avoided for a while;
	 * a connection that worked before may just have gone stale.
	 */
	if (rc == LDAP_TIMEOUT || !op->c->proven)
		mark_down(be, op->c->uri);
	pool_discard(be, op->c);
	op->c = NULL;
	return op->attempts <= be->lc->uris.n;
}

/*
 * Search on the operation's pooled connection, replacing the connection and
 * retrying when it fails with a failover error.  Returns the LDAP result
 * code (failover errors are logged here; the caller logs the others) and
 * always sets *res_r (NULL or a message to ldap_msgfree()).
 */
static int
op_search(struct op *op, const char *base, int scope, const char *filter,
    char **attrs, int sizelimit, LDAPMessage **res_r)
{
	struct backend *be = op->be;
	struct timeval tv = { .tv_sec = (time_t)be->lc->timeout, .tv_usec = 0 };
	int rc;

	*res_r = NULL;
	for (;;) {
		if ((rc = op_conn(op)) != LDAP_SUCCESS)
			return rc;
		rc = ldap_search_ext_s(op->c->ld, base, scope, filter, attrs, 0,
		    NULL, NULL, &tv, sizelimit, res_r);
		if (!ldap_err_failover(rc)) {
			op->c->proven = true;
			return rc;
		}
		ldap_msgfree(*res_r);
		*res_r = NULL;
		if (!op_failover(op, "search", rc))
			return rc;
	}
}

/* Wait for msgid's whole answer: its LDAP result code, or LDAP_TIMEOUT, LDAP_SERVER_DOWN … */
static int
await_result(LDAP *ld, int msgid, struct timeval *tv, LDAPMessage **res_r)
{
	int rc;

	switch (ldap_result(ld, msgid, LDAP_MSG_ALL, tv, res_r)) {
	case 0:
		return LDAP_TIMEOUT;
	case -1:
		if (ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &rc) != LDAP_OPT_SUCCESS ||
		    rc == LDAP_SUCCESS)
			rc = LDAP_SERVER_DOWN;
		return rc;
	default:
		/* The code of the search's final result, after any entries. */
		if (ldap_parse_result(ld, *res_r, &rc, NULL, NULL, NULL, NULL, 0) != LDAP_SUCCESS)
			rc = LDAP_DECODING_ERROR;
		return rc;
	}
}

/*
 * n (at most IDB_LDAP_NEST_BATCH) searches on the operation's connection,
 * pipelined: every request goes out before the first answer is read, so
 * they cost one round trip.  rc[i] and res[i] are what op_search would give
 * for q[i] alone (res[i] NULL or for ldap_msgfree()).  A failover error on
 * any of them retries them all on the next connection, as op_search does;
 * when the servers run out that error is returned (res[] all NULL).
 * Otherwise LDAP_SUCCESS.
 */
static int
op_search_many(struct op *op, const struct ldap_query *q, size_t n, int *rc,
    LDAPMessage **res)
{
	struct backend *be = op->be;
	int msgid[IDB_LDAP_NEST_BATCH], failed;

	for (;;) {
		struct timeval tv = { .tv_sec = (time_t)be->lc->timeout, .tv_usec = 0 };

		memset(res, 0, n * sizeof(*res));
		if ((failed = op_conn(op)) != LDAP_SUCCESS)
			return failed;
		for (size_t i = 0; i < n && failed == LDAP_SUCCESS; i++) {
			rc[i] = ldap_search_ext(op->c->ld, q[i].base, q[i].scope, q[i].filter,
			    q[i].attrs, 0, NULL, NULL, &tv, q[i].sizelimit, &msgid[i]);
			if (rc[i] != LDAP_SUCCESS)
				msgid[i] = -1;
			if (ldap_err_failover(rc[i]))
				failed = rc[i];
		}
		for (size_t i = 0; i < n && failed == LDAP_SUCCESS; i++) {
			if (msgid[i] >= 0)
				rc[i] = await_result(op->c->ld, msgid[i], &tv, &res[i]);
			if (ldap_err_failover(rc[i]))
				failed = rc[i];
		}
		if (failed == LDAP_SUCCESS) {
			op->c->proven = true;
			return LDAP_SUCCESS;
		}
		for (size_t i = 0; i < n; i++) {
			ldap_msgfree(res[i]);
			res[i] = NULL;
		}
		if (!op_failover(op, "search", failed))
			return failed;
	}
}

/* ---- values ----------------------------------------------------------- */

/* A copy of an attribute value as a string; NULL when it holds NUL or is too long. */
static char *
value_string(const struct berval *bv, size_t max)
{
	char *s;

	if (bv->bv_len > max || memchr(bv->bv_val, '\0', bv->bv_len) != NULL)
		return NULL;
	if ((s = malloc(bv->bv_len + 1)) == NULL)
		return NULL;
	memcpy(s, bv->bv_val, bv->bv_len);
	s[bv->bv_len] = '\0';
	return s;
}

/* First value of attr as a string, or NULL (absent, unusable, ENOMEM). */
static char *
first_value(LDAP *ld, LDAPMessage *entry, const char *attr, bool hex)
{
	struct berval **vals;
	char *s = NULL;

	if ((vals = ldap_get_values_len(ld, entry, attr)) == NULL)
		return NULL;
	if (vals[0] != NULL) {
		if (!hex)
			s = value_string(vals[0], IDB_MAX_ATTR_VALUE_LEN);
		else if (vals[0]->bv_len > 0 && vals[0]->bv_len <= IDB_MAX_ATTR_VALUE_LEN / 2 &&
		    (s = malloc(2 * vals[0]->bv_len + 1)) != NULL)
			hex_encode((const unsigned char *)vals[0]->bv_val,
			    vals[0]->bv_len, s);
	}
	ldap_value_free_len(vals);
	return s;
}

/* The value of a DN's first RDN ("cn=eng,ou=groups" → "eng"), or NULL. */
static char *
rdn_value(const char *dn)
{
	LDAPDN parsed = NULL;
	char *s = NULL;

	if (ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		return NULL;
	if (parsed != NULL && parsed[0] != NULL && parsed[0][0] != NULL)
		s = value_string(&parsed[0][0]->la_value, IDB_MAX_ATTR_VALUE_LEN);
	ldap_dnfree(parsed);
	return s;
}

/* dn in LDAPv3 normal form, lower-cased (ASCII), or NULL. */
static char *
normal_dn(const char *dn)
{
	char *out = NULL, *copy;

	if (ldap_dn_normalize(dn, LDAP_DN_FORMAT_LDAPV3, &out, LDAP_DN_FORMAT_LDAPV3) !=
	    LDAP_SUCCESS || out == NULL)
		return NULL;
	copy = strdup(out);
	ldap_memfree(out);
	for (char *p = copy; p != NULL && *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return copy;
}

/*
 * Is dn at or below base?  Compared on whole RDNs after normalising, so
 * "cn=x,ou=groupsfoo" is not under "ou=groups".
 */
static bool
dn_under(const char *dn, const char *base)
{
	char *d = normal_dn(dn), *b = normal_dn(base);
	bool under = false;

	if (d != NULL && b != NULL) {
		size_t dl = strlen(d), bl = strlen(b);

		under = bl == 0 || (dl == bl && strcmp(d, b) == 0) ||
		    (dl > bl && d[dl - bl - 1] == ',' && strcmp(d + dl - bl, b) == 0);
	}
	free(d);
	free(b);
	return under;
}

/* The entry's DN as a malloc'd string, or NULL (ENOMEM or over IDB_MAX_DN_LEN). */
static char *
entry_dn(LDAP *ld, LDAPMessage *entry)
{
	char *dn, *copy = NULL;

	if ((dn = ldap_get_dn(ld, entry)) == NULL)
		return NULL;
	if (strlen(dn) <= IDB_MAX_DN_LEN)
		copy = strdup(dn);
	ldap_memfree(dn);
	return copy;
}

/* Append every value of attr (DNs) to l. 0 or -1. */
static int
collect_dns(LDAP *ld, LDAPMessage *entry, const char *attr, struct dnlist *l)
{
	struct berval **vals;
	int r = 0;

	if ((vals = ldap_get_values_len(ld, entry, attr)) == NULL)
		return 0;
	for (size_t i = 0; vals[i] != NULL && r == 0; i++) {
		char *dn = value_string(vals[i], IDB_MAX_DN_LEN);

		if (dn == NULL || dnlist_add(l, dn) < 0)
			r = -1;
		free(dn);
	}
	ldap_value_free_len(vals);
	return r;
}

/* ---- the user entry --------------------------------------------------- */

/* The login name as the directory spells it, if one of its values matches. */
static char *
stored_username(LDAP *ld, LDAPMessage *entry, const char *user)
{
	static const char *const attrs[] = { "uid", "sAMAccountName" };
	char *s = NULL;

	for (size_t a = 0; a < 2 && s == NULL; a++) {
		struct berval **vals = ldap_get_values_len(ld, entry, attrs[a]);

		for (size_t i = 0; vals != NULL && vals[i] != NULL && s == NULL; i++) {
			char *v = value_string(vals[i], IDB_MAX_USERNAME_LEN);

			if (v != NULL && ascii_strcasecmp(v, user) == 0)
				s = v;
			else
				free(v);
		}
		ldap_value_free_len(vals);
	}
	return s != NULL ? s : strdup(user);
}

/* Fill id (and the user's group_attribute DNs) from the user's entry. */
static enum auth_result
read_user_entry(struct backend *be, LDAP *ld, LDAPMessage *entry,
    const char *user, struct identity *id, struct dnlist *member_of)
{
	const struct config_ldap *lc = be->lc;
	char ubuf[LOG_SAFE_BUF];
	bool guid = ascii_strcasecmp(lc->id_attribute, "objectGUID") == 0;

	if ((id->dn = entry_dn(ld, entry)) == NULL ||
	    (id->username = stored_username(ld, entry, user)) == NULL) {
		log_err("ldap: cannot read the entry of %s (DN too long or out of memory)",
		    log_safe(ubuf, sizeof(ubuf), user));
		return AUTH_INTERNAL;
	}
	if ((id->id = first_value(ld, entry, lc->id_attribute, guid)) == NULL) {
		log_err("ldap: entry of %s has no usable %s (id_attribute)",
		    log_safe(ubuf, sizeof(ubuf), user), lc->id_attribute);
		return AUTH_INTERNAL;
	}
	id->display_name = first_value(ld, entry, lc->name_attribute, false);
	if (id->display_name == NULL)
		id->display_name = first_value(ld, entry, "cn", false);
	id->email = first_value(ld, entry, lc->mail_attribute, false);
	if (lc->group_attribute != NULL &&
	    collect_dns(ld, entry, lc->group_attribute, member_of) != 0) {
		log_err("ldap: cannot read %s of %s (too many values or out of memory)",
		    lc->group_attribute, log_safe(ubuf, sizeof(ubuf), user));
		return AUTH_INTERNAL;
	}
	return AUTH_OK;
}

/* Search for user: exactly one entry, or UNKNOWN_USER / INTERNAL / UNAVAILABLE. */
static enum auth_result
find_user(struct op *op, const char *user, struct identity *id, struct dnlist *member_of)
{
	struct backend *be = op->be;
	LDAPMessage *res = NULL, *entry;
	char *filter = NULL, ubuf[LOG_SAFE_BUF];
	enum auth_result r = AUTH_INTERNAL;
	int rc, n;

	log_safe(ubuf, sizeof(ubuf), user);
	if ((filter = ldap_filter_expand(be->lc->user_filter, user, NULL)) == NULL) {
		log_err("ldap: cannot expand user_filter for %s", ubuf);
		goto out;
	}
	/* Size limit 2: enough to tell "exactly one" from "ambiguous". */
	rc = op_search(op, be->lc->user_base, LDAP_SCOPE_SUBTREE, filter,
	    be->user_attrs, 2, &res);
	if (rc == LDAP_SIZELIMIT_EXCEEDED) {
		log_err("ldap: user_filter matches several entries for %s", ubuf);
		goto out;
	}
	if (rc != LDAP_SUCCESS) {
		r = op_failed(op, "user search", rc);
		goto out;
	}
	if ((n = ldap_count_entries(op->c->ld, res)) == 0) {
		r = AUTH_UNKNOWN_USER;
		goto out;
	}
	if (n != 1) {
		log_err("ldap: user_filter matches %d entries for %s", n, ubuf);
		goto out;
	}
	entry = ldap_first_entry(op->c->ld, res);
	r = read_user_entry(be, op->c->ld, entry, user, id, member_of);
out:
	ldap_msgfree(res);
	free(filter);
	return r;
}

/* What the disabled_filter search of the user's entry answered: OK, DISABLED, or an error. */
static enum auth_result
disabled_result(struct op *op, int rc, LDAPMessage *res)
{
	if (rc == LDAP_NO_SUCH_OBJECT)
		return AUTH_UNKNOWN_USER;  /* removed since the search a moment ago */
	if (rc != LDAP_SUCCESS)
		return op_failed(op, "disabled_filter search", rc);
	return ldap_count_entries(op->c->ld, res) > 0 ? AUTH_DISABLED : AUTH_OK;
}

/* ---- groups ----------------------------------------------------------- */

/* Record one group found in a search result; new DNs also go to next. */
static enum auth_result
add_group_entry(struct backend *be, LDAP *ld, LDAPMessage *entry,
    struct identity *id, struct dnlist *visited, struct dnlist *next)
{
	char *dn = NULL, *name = NULL, buf[LOG_SAFE_BUF], ubuf[LOG_SAFE_BUF];
	enum auth_result r = AUTH_INTERNAL;
	int added;

	if ((dn = entry_dn(ld, entry)) == NULL) {
		log_err("ldap: cannot read a group's DN (too long or out of memory)");
		goto out;
	}
	if ((added = dnlist_add(visited, dn)) < 0)
		goto fail;
	if (added == 0) {
		r = AUTH_OK;
		goto out;
	}
	name = first_value(ld, entry, be->lc->group_name_attribute, false);
	if (name == NULL && (name = rdn_value(dn)) == NULL) {
		log_warn("ldap: group %s has no usable name; ignored",
		    log_safe(buf, sizeof(buf), dn));
		r = AUTH_OK;
		goto out;
	}
	if (identity_add_group(id, name, dn) != 0 ||
	    (next != NULL && dnlist_add(next, dn) < 0))
		goto fail;
	r = AUTH_OK;
	goto out;
fail:
	log_err("ldap: cannot record group %s of %s (over %d groups or out of memory)",
	    log_safe(buf, sizeof(buf), dn), log_safe(ubuf, sizeof(ubuf), id->username),
	    IDB_MAX_GROUPS);
out:
	free(dn);
	free(name);
	return r;
}

/* Record every group entry a group search (rc, res) found. */
static enum auth_result
group_entries(struct op *op, int rc, LDAPMessage *res, struct identity *id,
    struct dnlist *visited, struct dnlist *next)
{
	enum auth_result r = AUTH_OK;

	if (rc != LDAP_SUCCESS)
		return op_failed(op, "group search", rc);
	for (LDAPMessage *e = ldap_first_entry(op->c->ld, res); e != NULL && r == AUTH_OK;
	    e = ldap_next_entry(op->c->ld, e))
		r = add_group_entry(op->be, op->c->ld, e, id, visited, next);
	return r;
}

/* Search group_base with filter and record every group entry found. */
static enum auth_result
search_groups(struct op *op, const char *filter, struct identity *id,
    struct dnlist *visited, struct dnlist *next)
{
	LDAPMessage *res = NULL;
	enum auth_result r;
	int rc;

	rc = op_search(op, op->be->lc->group_base, LDAP_SCOPE_SUBTREE, filter,
	    op->be->group_attrs, IDB_MAX_GROUPS + 1, &res);
	r = group_entries(op, rc, res, id, visited, next);
	ldap_msgfree(res);
	return r;
}

/*
 * Should a group DN be read?  Not when in visited (may be NULL), nor outside
 * group_base: a memberOf value may name a group anywhere in the
 * directory, and only groups under group_base count, or whoever may create
 * a group elsewhere could name it after a privileged one.
 */
static bool
group_dn_wanted(struct backend *be, const char *dn, const struct dnlist *visited)
{
	char buf[LOG_SAFE_BUF];

	if (visited != NULL && dnlist_contains(visited, dn))
		return false;
	if (be->lc->group_base != NULL && !dn_under(dn, be->lc->group_base)) {
		log_debug("ldap: group %s is outside group_base; ignored",
		    log_safe(buf, sizeof(buf), dn));
		return false;
	}
	return true;
}

/*
 * Record one group read by DN (rc and res as its base search answered):
 * under its name (its RDN's value when it has none; its whole DN when it
 * cannot be read), and when parents is set add the groups it is itself a
 * member of (group_attribute) to parents.
 */
static enum auth_result
record_group(struct op *op, const char *dn, int rc, LDAPMessage *res, struct identity *id,
    struct dnlist *visited, struct dnlist *next, struct dnlist *parents)
{
	struct backend *be = op->be;
	LDAPMessage *e = NULL;
	char *name = NULL, buf[LOG_SAFE_BUF], ubuf[LOG_SAFE_BUF];
	enum auth_result r = AUTH_INTERNAL;
	int added;

	if (rc == LDAP_SUCCESS)
		e = ldap_first_entry(op->c->ld, res);
	else if (op->c == NULL || ldap_err_result(rc) == AUTH_UNAVAILABLE)
		return op_failed(op, "group read", rc);
	/* Otherwise (no such object, no access) the DN still names the group. */
	if ((added = dnlist_add(visited, dn)) < 0)
		goto fail;
	if (added > 0) {
		/*
		 * A group we cannot read is recorded under its full DN as its
		 * name, so only a [scopes] rule naming that DN can match it: its
		 * RDN alone proves nothing about which group it is.
		 */
		if (e != NULL)
			name = first_value(op->c->ld, e, be->lc->group_name_attribute, false);
		else
			name = strdup(dn);
		if (name == NULL && e != NULL && (name = rdn_value(dn)) == NULL) {
			log_warn("ldap: group %s has no usable name; ignored",
			    log_safe(buf, sizeof(buf), dn));
		} else if (identity_add_group(id, name, dn) != 0 ||
		    (next != NULL && dnlist_add(next, dn) < 0)) {
			goto fail;
		}
	}
	if (parents != NULL && e != NULL &&
	    collect_dns(op->c->ld, e, be->lc->group_attribute, parents) != 0)
		goto fail;
	r = AUTH_OK;
	goto out;
fail:
	log_err("ldap: cannot record group %s of %s (over %d groups or out of memory)",
	    log_safe(buf, sizeof(buf), dn), log_safe(ubuf, sizeof(ubuf), id->username),
	    IDB_MAX_GROUPS);
out:
	free(name);
	return r;
}

/*
 * Read groups by DN (a memberOf-style list) and record each as
 * record_group does, up to IDB_LDAP_NEST_BATCH at a time with their base
 * searches pipelined (op_search_many): forty groups cost one round trip a
 * batch, not forty.  DNs already visited are skipped unless again is set
 * (to collect the parents of groups recorded before).
 */
static enum auth_result
read_groups(struct op *op, char *const *dns, size_t n, bool again, struct identity *id,
    struct dnlist *visited, struct dnlist *next, struct dnlist *parents)
{
	struct ldap_query q[IDB_LDAP_NEST_BATCH];
	LDAPMessage *res[IDB_LDAP_NEST_BATCH];
	int rc[IDB_LDAP_NEST_BATCH], err;
	enum auth_result r = AUTH_OK;
	size_t i = 0;

	while (i < n && r == AUTH_OK) {
		size_t k = 0;

		for (; i < n && k < IDB_LDAP_NEST_BATCH; i++)
			if (group_dn_wanted(op->be, dns[i], again ? NULL : visited))
				q[k++] = (struct ldap_query){ dns[i], LDAP_SCOPE_BASE,
				    "(objectClass=*)", op->be->group_attrs, 1 };
		if (k == 0)
			break;
		if ((err = op_search_many(op, q, k, rc, res)) != LDAP_SUCCESS)
			return op_failed(op, "group read", err);
		for (size_t j = 0; j < k; j++) {
			if (r == AUTH_OK)
				r = record_group(op, q[j].base, rc[j], res[j], id, visited, next,
				    parents);
			ldap_msgfree(res[j]);
		}
	}
	return r;
}

/*
 * The groups under group_base with any of dns[0..n) as a member, in one
 * search: a user in forty groups costs one search a nesting level, not
 * forty.
 */
static enum auth_result
search_parents(struct op *op, char *const *dns, size_t n, struct identity *id,
    struct dnlist *visited, struct dnlist *next)
{
	char *filter;
	enum auth_result r;

	if ((filter = ldap_filter_any("member", dns, n)) == NULL) {
		log_err("ldap: cannot build the nested group filter (out of memory)");
		return AUTH_INTERNAL;
	}
	r = search_groups(op, filter, id, visited, next);
	free(filter);
	return r;
}

/*
 * One breadth-first level of nesting: the groups that contain any group in
 * level, by member=<DN> under group_base (IDB_LDAP_NEST_BATCH DNs a search)
 * and by the groups' own group_attribute.  New groups go to next.
 */
static enum auth_result
nest_one_level(struct op *op, const struct dnlist *level, struct identity *id,
    struct dnlist *visited, struct dnlist *next)
{
	const struct config_ldap *lc = op->be->lc;
	struct dnlist parents = { NULL, 0 };
	enum auth_result r = AUTH_OK;

	for (size_t i = 0; i < level->n && r == AUTH_OK && lc->group_base != NULL;
	    i += IDB_LDAP_NEST_BATCH) {
		size_t n = level->n - i;

		r = search_parents(op, level->v + i, n < IDB_LDAP_NEST_BATCH ? n :
		    IDB_LDAP_NEST_BATCH, id, visited, next);
	}
	if (r == AUTH_OK && lc->group_attribute != NULL)
		r = read_groups(op, level->v, level->n, true, id, visited, NULL, &parents);
	if (r == AUTH_OK)
		r = read_groups(op, parents.v, parents.n, false, id, visited, next, NULL);
	dnlist_free(&parents);
	return r;
}

/*
 * The searches that need only the user's entry, sent together
 * (op_search_many) so they cost one round trip: disabled_filter, the
 * group_filter search, and AD's in-chain search.  Their answers go to slot
 * Q_DISABLED, Q_GROUPS and Q_AD_CHAIN of rc[] and res[] (rc NOT_ASKED when
 * the configuration has no such query; LDAP's own codes may be negative).
 */
enum { Q_DISABLED, Q_GROUPS, Q_AD_CHAIN, N_FIRST_QUERIES };
#define NOT_ASKED INT_MIN

static enum auth_result
first_queries(struct op *op, const struct identity *id, int rc[N_FIRST_QUERIES],
    LDAPMessage *res[N_FIRST_QUERIES])
{
	const struct config_ldap *lc = op->be->lc;
	const char *tmpl[N_FIRST_QUERIES] = {
		lc->disabled_filter,
		lc->group_base != NULL ? lc->group_filter : NULL,
		lc->group_base != NULL && lc->nested_groups == LDAP_NESTED_AD ?
		    "(member:" AD_IN_CHAIN_OID ":=%d)" : NULL,
	};
	struct ldap_query q[N_FIRST_QUERIES];
	char *filter[N_FIRST_QUERIES] = { NULL, NULL, NULL }, buf[LOG_SAFE_BUF];
	int slot[N_FIRST_QUERIES], got[N_FIRST_QUERIES], err = LDAP_SUCCESS;
	LDAPMessage *answer[N_FIRST_QUERIES];
	enum auth_result r = AUTH_INTERNAL;
	size_t n = 0;

	for (int k = 0; k < N_FIRST_QUERIES; k++) {
		rc[k] = NOT_ASKED;
		res[k] = NULL;
		if (tmpl[k] == NULL)
			continue;
		if ((filter[k] = ldap_filter_expand(tmpl[k], id->username, id->dn)) == NULL) {
			log_err("ldap: cannot expand %s for %s", k == Q_DISABLED ?
			    "disabled_filter" : "a group filter", log_safe(buf, sizeof(buf), id->dn));
			goto out;
		}
		q[n] = k == Q_DISABLED ?
		    (struct ldap_query){ id->dn, LDAP_SCOPE_BASE, filter[k], no_attrs, 1 } :
		    (struct ldap_query){ lc->group_base, LDAP_SCOPE_SUBTREE, filter[k],
		    op->be->group_attrs, IDB_MAX_GROUPS + 1 };
		slot[n++] = k;
	}
	if (n > 0 && (err = op_search_many(op, q, n, got, answer)) != LDAP_SUCCESS) {
		r = op_failed(op, "search", err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		rc[slot[i]] = got[i];
		res[slot[i]] = answer[i];
	}
	r = AUTH_OK;
out:
	for (int k = 0; k < N_FIRST_QUERIES; k++)
		free(filter[k]);
	return r;
}

/* Groups: the first queries' answers, memberOf, then nesting level by level. */
static enum auth_result
collect_groups(struct op *op, struct identity *id, const struct dnlist *member_of,
    const int rc[N_FIRST_QUERIES], LDAPMessage *const res[N_FIRST_QUERIES])
{
	const struct config_ldap *lc = op->be->lc;
	struct dnlist visited = { NULL, 0 }, level = { NULL, 0 }, next = { NULL, 0 };
	enum auth_result r = AUTH_OK;

	if (rc[Q_GROUPS] != NOT_ASKED)
		r = group_entries(op, rc[Q_GROUPS], res[Q_GROUPS], id, &visited, &level);
	if (r == AUTH_OK)
		r = read_groups(op, member_of->v, member_of->n, false, id, &visited, &level, NULL);
	if (r == AUTH_OK && rc[Q_AD_CHAIN] != NOT_ASKED)
		r = group_entries(op, rc[Q_AD_CHAIN], res[Q_AD_CHAIN], id, &visited, NULL);
	for (unsigned depth = 0; r == AUTH_OK && lc->nested_groups == LDAP_NESTED_YES &&
	    depth < lc->nested_depth && level.n > 0; depth++) {
		r = nest_one_level(op, &level, id, &visited, &next);
		dnlist_free(&level);
		level = next;
		next.v = NULL;
		next.n = 0;
	}
	dnlist_free(&visited);
	dnlist_free(&level);
	dnlist_free(&next);
	return r;
}

/* After the user is known (and the password checked): disabled, then groups. */
static enum auth_result
finish_identity(struct op *op, struct identity *id, const struct dnlist *member_of)
{
	LDAPMessage *res[N_FIRST_QUERIES];
	int rc[N_FIRST_QUERIES];
	enum auth_result r;

	if ((r = first_queries(op, id, rc, res)) != AUTH_OK)
		return r;
	if (rc[Q_DISABLED] != NOT_ASKED)
		r = disabled_result(op, rc[Q_DISABLED], res[Q_DISABLED]);
	if (r == AUTH_OK)
		r = collect_groups(op, id, member_of, rc, res);
	for (int k = 0; k < N_FIRST_QUERIES; k++)
		ldap_msgfree(res[k]);
	return r;
}

/* ---- binds ------------------------------------------------------------ */

/*
 * AD explains a refused bind with "data NNN".  532, 773 and 533 come only
 * after the password was found right, so they may be shown.  775 (locked
 * out) comes whatever the password: reporting it would tell anyone that the
 * account exists and is locked, so it stays a plain failure, logged.
 */
static enum auth_result
ad_bind_result(const char *diag)
{
	const char *p;

	if (diag == NULL || (p = strstr(diag, "data ")) == NULL)
		return AUTH_BAD_CREDENTIALS;
	p += 5;
	if (strncmp(p, "532", 3) == 0 || strncmp(p, "773", 3) == 0)
		return AUTH_EXPIRED;    /* password expired / must be changed */
	if (strncmp(p, "533", 3) == 0)
		return AUTH_DISABLED;   /* account disabled */
	if (strncmp(p, "775", 3) == 0)
		log_warn("ldap: the directory reports this account locked out (AD data 775)");
	return AUTH_BAD_CREDENTIALS;
}

/*
 * One simple bind as dn on a bind connection, replacing the connection and
 * retrying when it fails with a failover error, like op_search.  Returns
 * the LDAP result code; *conn_r is the connection that answered (NULL when
 * none did).
 */
static int
bind_on_pool(struct backend *be, const char *dn, struct berval *cred, struct conn **conn_r)
{
	struct conn *c = NULL;
	unsigned attempts = 0;
	int rc;

	for (;;) {
		rc = bind_get(be, attempts == 0, &c);
		attempts++;
		if (rc != LDAP_SUCCESS)
			break;
		rc = ldap_sasl_bind_s(c->ld, dn, LDAP_SASL_SIMPLE, cred, NULL, NULL, NULL);
		if (!ldap_err_failover(rc)) {
			c->proven = true;
			break;
		}
		log_ldap(LOG_LVL_WARN, be, c, "user bind", rc);
		/* As for searches: an idle connection that worked may just be stale. */
		if (rc == LDAP_TIMEOUT || !c->proven)
			mark_down(be, c->uri);
		bind_discard(be, c);
		c = NULL;
		if (attempts > be->lc->uris.n)
			break;
	}
	*conn_r = c;
	return rc;
}

/*
 * Simple bind as dn on a bind connection (kept for the next sign-in when
 * the server answered), failing over to the next URI like the pool does.
 */
static enum auth_result
user_bind(struct backend *be, const char *dn, const char *password,
    size_t password_len)
{
	struct berval cred = { 0, NULL };
	struct conn *c = NULL;
	char *diag = NULL, buf[LOG_SAFE_BUF];
	enum auth_result r = AUTH_INTERNAL;
	bool keep = true;
	int rc;

	/* libldap wants a mutable berval: give it a copy we wipe. */
	if ((cred.bv_val = malloc(password_len + 1)) == NULL)
		goto out;
	memcpy(cred.bv_val, password, password_len);
	cred.bv_val[password_len] = '\0';
	cred.bv_len = password_len;
	rc = bind_on_pool(be, dn, &cred, &c);
	switch (rc) {
	case LDAP_SUCCESS:
		r = AUTH_OK;
		break;
	case LDAP_INVALID_CREDENTIALS:
		(void)ldap_get_option(c->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
		r = ad_bind_result(diag);
		break;
	case LDAP_INAPPROPRIATE_AUTH:
	case LDAP_UNWILLING_TO_PERFORM:
		/* e.g. a server policy refusing this account's simple bind */
		log_ldap(LOG_LVL_WARN, be, c, "user bind", rc);
		r = AUTH_BAD_CREDENTIALS;
		break;
	default:
		/* Anything unexpected: the connection is not trusted again. */
		keep = false;
		r = ldap_err_result(rc);
		if (c != NULL)
			log_ldap(LOG_LVL_ERR, be, c, "user bind", rc);
		else if (!ldap_err_failover(rc))
			log_err("ldap: user bind as %s failed: %s",
			    log_safe(buf, sizeof(buf), dn), ldap_err2string(rc));
		break;
	}
out:
	ldap_memfree(diag);
	if (keep)
		bind_put(be, c);
	else
		conn_close(c);
	free_secret(cred.bv_val, password_len + 1);
	return r;
}

/*
 * An unknown user still costs a bind, against a DN that cannot exist, so
 * the answer takes as long as a wrong password.  The outcome is ignored.
 */
static void
fake_bind(struct backend *be, const char *password, size_t password_len)
{
	unsigned char rnd[16];
	char hex[2 * sizeof(rnd) + 1], *dn = NULL;

	if (random_bytes(rnd, sizeof(rnd)) != 0)
		return;
	hex_encode(rnd, sizeof(rnd), hex);
	if (asprintf(&dn, "cn=idbridge-nonexistent-%s,%s", hex, be->lc->user_base) < 0)
		return;
	(void)user_bind(be, dn, password, password_len);
	free(dn);
}

/* ---- the backend interface --------------------------------------------- */

static int
add_attr(char **attrs, size_t *n, const char *name)
{
	if (name == NULL)
		return 0;
	for (size_t i = 0; i < *n; i++)
		if (ascii_strcasecmp(attrs[i], name) == 0)
			return 0;
	if ((attrs[*n] = strdup(name)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

static void
free_attrs(char **attrs)
{
	for (size_t i = 0; attrs != NULL && attrs[i] != NULL; i++)
		free(attrs[i]);
	free(attrs);
}

static int
build_attr_lists(struct backend *be)
{
	const struct config_ldap *lc = be->lc;
	size_t n = 0;

	/* Named attributes only; entryUUID is operational, so it must be named too. */
	if ((be->user_attrs = calloc(8, sizeof(char *))) == NULL ||
	    (be->group_attrs = calloc(3, sizeof(char *))) == NULL)
		return -1;
	if (add_attr(be->user_attrs, &n, "uid") != 0 ||
	    add_attr(be->user_attrs, &n, "sAMAccountName") != 0 ||
	    add_attr(be->user_attrs, &n, "cn") != 0 ||
	    add_attr(be->user_attrs, &n, lc->id_attribute) != 0 ||
	    add_attr(be->user_attrs, &n, lc->name_attribute) != 0 ||
	    add_attr(be->user_attrs, &n, lc->mail_attribute) != 0 ||
	    add_attr(be->user_attrs, &n, lc->group_attribute) != 0)
		return -1;
	n = 0;
	if (add_attr(be->group_attrs, &n, lc->group_name_attribute) != 0 ||
	    add_attr(be->group_attrs, &n, lc->group_attribute) != 0)
		return -1;
	return 0;
}

static void ldap_backend_free(struct backend *be);

/*
 * liblber writes with write(2), and with asynchronous connects a refused
 * connection shows up as EPIPE on the first write: without this, any
 * command using the backend (login-test) would die of SIGPIPE.  The daemon
 * ignores it already; a caller that installed a handler keeps it.
 */
static void
ignore_sigpipe(void)
{
	struct sigaction sa;

	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigemptyset(&sa.sa_mask);
		(void)sigaction(SIGPIPE, &sa, NULL);
	}
}

static struct backend *
ldap_backend_init(const struct config *cfg, char **err_r)
{
	struct backend *be = NULL;
	struct conn probe = { .ld = NULL };
	pthread_condattr_t cattr;
	int zero = 0, demand = LDAP_OPT_X_TLS_DEMAND, rc;

	*err_r = NULL;
	/* Before libldap's first call: no ldaprc, no LDAPTLS_* from the environment. */
	setenv("LDAPNOINIT", "1", 1);
	ignore_sigpipe();
	if (!cfg->ldap.present || cfg->ldap.uris.n == 0 || cfg->ldap.pool == 0) {
		*err_r = strdup("ldap: the [ldap] section with uri is required");
		goto fail;
	}
	/* Safe process-wide defaults as well: no debug output, certificates checked. */
	(void)ldap_set_option(NULL, LDAP_OPT_DEBUG_LEVEL, &zero);
	(void)ldap_set_option(NULL, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
	if ((be = calloc(1, sizeof(*be))) == NULL)
		goto enomem;
	be->lc = &cfg->ldap;
	be->ac = &cfg->auth;
	pthread_mutex_init(&be->lock, NULL);
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&be->freed, &cattr);
	pthread_condattr_destroy(&cattr);
	if ((be->idle = calloc(cfg->ldap.pool, sizeof(*be->idle))) == NULL ||
	    (be->bind_idle = calloc(cfg->ldap.pool, sizeof(*be->bind_idle))) == NULL ||
	    (be->down_until = calloc(cfg->ldap.uris.n, sizeof(*be->down_until))) == NULL ||
	    build_attr_lists(be) != 0)
		goto enomem;
	/* Build one handle now so a bad ca_file fails at start, not at sign-in. */
	rc = conn_setup(be, &probe);
	if (probe.ld != NULL)
		(void)ldap_unbind_ext_s(probe.ld, NULL, NULL);
	if (rc != LDAP_SUCCESS) {
		*err_r = strdup("ldap: cannot set up a connection handle (see the log)");
		goto fail;
	}
	if (cfg->ldap.nested_groups == LDAP_NESTED_AD && cfg->ldap.group_base == NULL)
		log_warn("ldap: nested_groups = ad needs group_base; nesting disabled");
	return be;
enomem:
	*err_r = strdup("ldap: out of memory");
fail:
	ldap_backend_free(be);
	return NULL;
}

static void
ldap_backend_free(struct backend *be)
{
	if (be == NULL)
		return;
	for (size_t i = 0; i < be->n_idle; i++)
		conn_close(be->idle[i]);
	for (size_t i = 0; i < be->n_bind_idle; i++)
		conn_close(be->bind_idle[i]);
	free(be->idle);
	free(be->bind_idle);
	free(be->down_until);
	free_attrs(be->user_attrs);
	free_attrs(be->group_attrs);
	pthread_cond_destroy(&be->freed);
	pthread_mutex_destroy(&be->lock);
	free(be);
}

static enum auth_result
ldap_authenticate(struct backend *be, const char *user, const char *password,
    size_t password_len, const char *rhost, struct identity *id_r)
{
	struct op op = { be, NULL, 0 };
	struct identity id = { 0 };
	struct dnlist member_of = { NULL, 0 };
	enum auth_result r;

	(void)rhost;   /* the caller's audit line carries it */
	memset(id_r, 0, sizeof(*id_r));
	/* RFC 4513 5.1.2: an empty password is an unauthenticated bind that AD
	 * would call a success; it never reaches the directory. */
	if (password_len == 0 || password_len > IDB_MAX_PASSWORD_LEN ||
	    memchr(password, '\0', password_len) != NULL) {
		r = AUTH_BAD_CREDENTIALS;
		goto out;
	}
	if (!backend_username_ok(user, be->ac->username_max_length,
	    be->ac->username_chars)) {
		fake_bind(be, password, password_len);
		r = AUTH_UNKNOWN_USER;
		goto out;
	}
	r = find_user(&op, user, &id, &member_of);
	/* The password check must not hold a pooled connection. */
	op_end(&op);
	if (r == AUTH_UNKNOWN_USER)
		fake_bind(be, password, password_len);
	if (r != AUTH_OK)
		goto out;
	if ((r = user_bind(be, id.dn, password, password_len)) != AUTH_OK)
		goto out;
	op.attempts = 0;   /* a new phase: it may probe servers marked down again */
	if ((r = finish_identity(&op, &id, &member_of)) != AUTH_OK)
		goto out;
	*id_r = id;
	memset(&id, 0, sizeof(id));
out:
	op_end(&op);
	identity_free(&id);
	dnlist_free(&member_of);
	return r;
}

static enum auth_result
ldap_lookup(struct backend *be, const char *user, struct identity *id_r)
{
	struct op op = { be, NULL, 0 };
	struct identity id = { 0 };
	struct dnlist member_of = { NULL, 0 };
	enum auth_result r;

	memset(id_r, 0, sizeof(*id_r));
	if (!backend_username_ok(user, be->ac->username_max_length,
	    be->ac->username_chars)) {
		r = AUTH_UNKNOWN_USER;
		goto out;
	}
	if ((r = find_user(&op, user, &id, &member_of)) != AUTH_OK)
		goto out;
	if ((r = finish_identity(&op, &id, &member_of)) != AUTH_OK)
		goto out;
	*id_r = id;
	memset(&id, 0, sizeof(id));
out:
	op_end(&op);
	identity_free(&id);
	dnlist_free(&member_of);
	return r;
}

static int
ldap_health(struct backend *be, char **err_r)
{
	struct op op = { be, NULL, 0 };
	LDAPMessage *res = NULL;
	int rc;

	*err_r = NULL;
	/* The root DSE: every server answers it, and "1.1" asks for no attributes. */
	rc = op_search(&op, "", LDAP_SCOPE_BASE, "(objectClass=*)", no_attrs, 1, &res);
	ldap_msgfree(res);
	op_end(&op);
	if (rc == LDAP_SUCCESS)
		return 0;
	if (asprintf(err_r, "ldap: %s", ldap_err2string(rc)) < 0)
		*err_r = NULL;
	return -1;
}

const struct backend_ops ldap_backend_ops = {
	.name = "ldap",
	.compiled_in = true,
	.init = ldap_backend_init,
	.authenticate = ldap_authenticate,
	.lookup = ldap_lookup,
	.health = ldap_health,
	.free = ldap_backend_free,
};
