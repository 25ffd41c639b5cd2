/* audit.c — security event lines (see audit.h). */
#include "autoconfig.h"

#include <stdbool.h>
#include <string.h>

#include "audit.h"
#include "log.h"
#include "store_users.h"

void
audit_login(const char *backend, const char *user, enum auth_result result,
    const char *addr)
{
	char u[LOG_SAFE_BUF], a[LOG_SAFE_BUF];

	log_msg(result == AUTH_OK ? LOG_LVL_INFO : LOG_LVL_WARN,
	    "audit: event=login user=\"%s\" outcome=%s addr=%s backend=%s",
	    log_safe(u, sizeof(u), user), auth_result_name(result),
	    log_safe(a, sizeof(a), addr), backend);
}

void
audit_token(const char *event, const char *user, const char *client, const char *outcome,
    const char *addr)
{
	char u[LOG_SAFE_BUF], c[LOG_SAFE_BUF], a[LOG_SAFE_BUF];
	bool ok = strcmp(outcome, "ok") == 0;

	log_msg(ok ? LOG_LVL_INFO : LOG_LVL_WARN,
	    "audit: event=%s user=\"%s\" client=\"%s\" outcome=%s addr=%s", event,
	    log_safe(u, sizeof(u), user != NULL ? user : "-"),
	    log_safe(c, sizeof(c), client != NULL ? client : "-"), outcome,
	    log_safe(a, sizeof(a), addr != NULL ? addr : "-"));
}

void
audit_apikey(const char *event, const char *user, long long key_id, const char *outcome,
    const char *addr)
{
	char u[LOG_SAFE_BUF], a[LOG_SAFE_BUF];

	log_msg(strcmp(outcome, "ok") == 0 ? LOG_LVL_INFO : LOG_LVL_WARN,
	    "audit: event=%s user=\"%s\" key_id=%lld outcome=%s addr=%s", event,
	    log_safe(u, sizeof(u), user != NULL ? user : "-"), key_id, outcome,
	    log_safe(a, sizeof(a), addr != NULL ? addr : "-"));
}

void
audit_user_revoke(const char *user, const struct store_user_revoke_counts *c,
    const char *outcome, const char *addr)
{
	static const struct store_user_revoke_counts none;
	char u[LOG_SAFE_BUF], a[LOG_SAFE_BUF];

	if (c == NULL)
		c = &none;
	log_msg(strcmp(outcome, "ok") == 0 ? LOG_LVL_INFO : LOG_LVL_WARN,
	    "audit: event=user_revoke user=\"%s\" sessions=%d families=%d consents=%d"
	    " api_keys=%d codes=%d outcome=%s addr=%s",
	    log_safe(u, sizeof(u), user != NULL ? user : "-"), c->sessions, c->families,
	    c->consents, c->apikeys, c->codes, outcome,
	    log_safe(a, sizeof(a), addr != NULL ? addr : "-"));
}
