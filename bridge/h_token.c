/*
 * h_token.c — POST /token: the authorization_code and refresh_token grants.
 *
 * Both grants need the user's groups (the refresh to narrow its scopes,
 * both for the groups claim).  They come from the directory cache, else a
 * directory lookup on the auth pool with the connection suspended; the
 * rest of the grant then finishes on that worker.
 *
 * The code grant claims the code before the lookup (the claim is what
 * makes a code single-use), so a directory outage at that moment answers
 * 503 and the client must start a new authorization: the code is spent.
 * The claim also records the family the code will issue, so a replay,
 * even one that comes while the first exchange waits on the directory,
 * revokes that family or bars it from being created (store_family_bar).
 * Tokens are signed before the store changes, and the store writes the
 * refresh token and the access token's record in one transaction: a
 * failure spends nothing a retry would need.
 * With groups_claim = none no lookup is needed for a code at all.  A
 * refresh looks the user up before rotating, so an outage leaves the
 * refresh token valid (503 with Retry-After, never invalid_grant).
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "authpool.h"
#include "backend.h"
#include "clientauth.h"
#include "clients.h"
#include "commitq.h"
#include "config.h"
#include "dircache.h"
#include "http.h"
#include "log.h"
#include "oauth.h"
#include "params.h"
#include "scopes.h"
#include "server.h"
#include "whois.h"
#include "store_oauth.h"
#include "token.h"
#include "util.h"

#define RETRY_AFTER_STR2(x) #x
#define RETRY_AFTER_STR(x) RETRY_AFTER_STR2(x)

/* An access token signed for a grant, not yet recorded in the store. */
struct access {
	char *jti;
	char *jwt;
	unsigned ttl;
	int64_t expires_at;
};

struct token_job;
typedef void answer_fn(struct token_job *j, enum store_result r);

struct token_job {
	struct http_request *req;
	struct form params;
	const struct client_cfg *client;
	bool refresh;                       /* the grant type */
	unsigned char old_hash[STORE_HASH_LEN]; /* the code's, or the old refresh token's */
	struct store_grant g;
	struct strlist requested;           /* refresh: the scope asked for */
	struct identity id;
	bool have_id;
	/* What the grant issues, kept until its write committed (commitq.h). */
	int64_t now;
	struct access a;
	char *refresh_token;
	unsigned char new_hash[STORE_HASH_LEN];
	char *scope;                        /* refresh: what this one grants */
	struct store_issue iss;
	enum store_result bar;              /* a code replayed meanwhile: its family's fate */
	struct commitq_op op;
	answer_fn *answer;                  /* answers with the committed outcome */
};

/*
 * Set while a handler runs on an HTTP thread.  A grant that finishes there
 * queues its write and suspends the request (queued), since an HTTP thread
 * must not wait for a commit; one that finishes on an auth-pool worker
 * waits for its commit there.
 */
static _Thread_local struct {
	const struct token_job *job;
	bool queued;
} on_http;

static void access_free(struct access *a);

static void
token_job_free(void *arg)
{
	struct token_job *j = arg;

	form_free(&j->params);
	clients_release(j->client);
	store_grant_free(&j->g);
	strlist_free(&j->requested);
	identity_free(&j->id);
	explicit_bzero(j->old_hash, sizeof(j->old_hash));
	explicit_bzero(j->new_hash, sizeof(j->new_hash));
	free_secret_str(j->refresh_token);
	access_free(&j->a);
	free(j->scope);
	free(j);
}

static void
http_thread_enter(const struct token_job *j)
{
	on_http.job = j;
	on_http.queued = false;
}

/* out, or HTTP_SUSPENDED when a write was queued meanwhile (j may be gone already). */
static enum http_outcome
http_thread_leave(enum http_outcome out)
{
	bool queued = on_http.queued;

	on_http.job = NULL;
	on_http.queued = false;
	return queued ? HTTP_SUSPENDED : out;
}

/* RFC 6749 §5.1: no-store (on every response already) and Pragma: no-cache. */
static void
token_error(struct http_request *req, unsigned status, const char *code, const char *desc)
{
	if (status == 401 && strcmp(code, "invalid_client") == 0)
		clientauth_respond_invalid(req, desc);
	else
		http_respond_error(req, status, code, desc);
	http_add_header(req, "Pragma", "no-cache");
	if (status == 503)
		http_add_header(req, "Retry-After", RETRY_AFTER_STR(IDB_TOKEN_RETRY_AFTER_S));
}

/* A new random base64url string of n bytes, or NULL. */
static char *
random_b64(size_t n)
{
	unsigned char buf[64];
	char *s;

	if (n > sizeof(buf) || random_bytes(buf, n) != 0)
		return NULL;
	s = b64url_encode_alloc(buf, n);
	explicit_bzero(buf, sizeof(buf));
	return s;
}

static json_t *
groups_claim(const struct config *cfg, const struct token_job *j)
{
	struct strlist mapped = { 0 };
	json_t *a = json_array();

	if (a == NULL)
		return NULL;
	if (cfg->tokens.groups_claim == GROUPS_CLAIM_ALL) {
		for (size_t i = 0; i < j->id.n_groups; i++)
			json_array_append_new(a, json_string(j->id.groups[i]));
	} else if (scopes_mapped_groups(cfg, &j->id, &mapped) == 0) {
		for (size_t i = 0; i < mapped.n; i++)
			json_array_append_new(a, json_string(mapped.items[i]));
	} else {
		json_decref(a);
		a = NULL;
	}
	strlist_free(&mapped);
	return a;
}

static void
access_free(struct access *a)
{
	free_secret_str(a->jwt);
	free(a->jti);
	memset(a, 0, sizeof(*a));
}

/*
 * Sign an access token for the job's grant with scope.  It is signed
 * before the store is changed, so a failure here leaves the old code or
 * refresh token state untouched.  0, or -1 (nothing answered).
 */
static int
sign_access(struct token_job *j, const char *scope, struct access *a)
{
	struct server *srv = http_server(j->req);
	const struct config *cfg = srv->cfg;
	int64_t now = time(NULL);
	json_t *claims = NULL, *groups;
	int r = -1;

	memset(a, 0, sizeof(*a));
	a->ttl = cfg->tokens.access_ttl != 0 ? cfg->tokens.access_ttl : IDB_DEFAULT_ACCESS_TTL;
	a->expires_at = now + a->ttl;
	if ((a->jti = random_b64(IDB_JTI_BYTES)) == NULL)
		goto out;
	claims = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:s}",
	    "iss", cfg->server.issuer, "sub", j->g.user_id,
	    "aud", client_audience(cfg, j->client), "exp", (json_int_t)a->expires_at,
	    "iat", (json_int_t)now, "jti", a->jti, "client_id", j->client->id, "scope", scope);
	if (claims == NULL)
		goto out;
	if (j->have_id && cfg->tokens.groups_claim != GROUPS_CLAIM_NONE) {
		if ((groups = groups_claim(cfg, j)) == NULL)
			goto out;
		json_object_set_new(claims, "groups", groups);
	}
	if (jwt_sign(srv->keys, claims, &a->jwt) != 0)
		goto out;
	r = 0;
out:
	json_decref(claims);
	if (r != 0)
		access_free(a);
	return r;
}

/* Answer with a recorded access token, refresh_token and the scope they carry. */
static void
respond_tokens(struct token_job *j, const struct access *a, const char *scope,
    const char *refresh_token)
{
	struct http_request *req = j->req;

	http_respond_json(req, 200, json_pack("{s:s,s:s,s:I,s:s,s:s}", "access_token", a->jwt,
	    "token_type", "bearer", "expires_in", (json_int_t)a->ttl,
	    "refresh_token", refresh_token, "scope", scope));
	http_add_header(req, "Pragma", "no-cache");
}

/* A new refresh token and its hash. 0 or -1. */
static int
new_refresh(char **token_r, unsigned char hash[STORE_HASH_LEN])
{
	if ((*token_r = random_b64(IDB_REFRESH_TOKEN_BYTES)) == NULL)
		return -1;
	if (token_hash(*token_r, strlen(*token_r), hash) != 0) {
		free_secret_str(*token_r);
		*token_r = NULL;
		return -1;
	}
	return 0;
}

/*
 * Sign the access token (scope: what it grants) and make the refresh token
 * this grant issues, before the store changes: a failure here spends
 * nothing.  0, or -1 (answered).
 */
static int
prepare_issue(struct token_job *j, const char *scope)
{
	const struct config *cfg = http_server(j->req)->cfg;

	j->now = time(NULL);
	if (new_refresh(&j->refresh_token, j->new_hash) != 0 || sign_access(j, scope, &j->a) != 0) {
		token_error(j->req, 500, "server_error", "cannot issue a token");
		return -1;
	}
	j->iss.refresh_hash = j->new_hash;
	j->iss.refresh_expires_at = j->now + cfg->tokens.refresh_ttl;
	j->iss.jti = j->a.jti;
	j->iss.access_expires_at = j->a.expires_at;
	return 0;
}

/* The group commit's callback: answer, then resume (the writer's last touch of req). */
static void
committed(void *arg, enum store_result r)
{
	struct token_job *j = arg;
	struct http_request *req = j->req;

	log_set_request_id(http_request_id(req));
	j->answer(j, r);
	log_set_request_id(NULL);
	http_resume(req);
}

/*
 * Write what the grant issues in the next group commit and answer with the
 * committed outcome: from the writer when on an HTTP thread (the request is
 * suspended meanwhile), else here once committed.
 */
static void
commit_then(struct token_job *j, commitq_run_fn *run, answer_fn *answer)
{
	struct commitq *q = store_commitq(http_server(j->req)->store);

	j->answer = answer;
	j->op.run = run;
	j->op.done = committed;
	j->op.arg = j;
	if (q == NULL) {
		answer(j, STORE_ERROR);
	} else if (on_http.job == j) {
		on_http.queued = true;
		http_suspend(j->req);
		commitq_submit(q, &j->op);  /* j may be freed from here on */
	} else {
		answer(j, commitq_run(q, &j->op));
	}
}

/* What store_family_bar's outcome means, for the audit line. */
static const char *
bar_outcome(enum store_result r)
{
	switch (r) {
	case STORE_OK:
		return "revoked";
	case STORE_NOT_FOUND:
		return "barred";
	case STORE_REVOKED:
		return "already_revoked";
	case STORE_EXPIRED:
		return "none";
	default:
		log_err("token: cannot revoke the family of a replayed code");
		return "revoke_failed";
	}
}

static void
respond_issued(struct token_job *j, const char *scope)
{
	respond_tokens(j, &j->a, scope, j->refresh_token);
	audit_token(j->refresh ? "refresh" : "token", j->g.username, j->client->id, "ok",
	    http_client_addr(j->req));
}

static enum store_result
issue_run(struct store *st, void *arg)
{
	struct token_job *j = arg;

	return store_family_issue_in(st, j->g.family_id, &j->g, &j->iss, j->now);
}

static void
issued(struct token_job *j, enum store_result r)
{
	switch (r) {
	case STORE_OK:
		respond_issued(j, j->g.scope);
		return;
	case STORE_REVOKED:
		/* The code was replayed while this exchange waited: its family is barred. */
		audit_token("token", j->g.username, j->client->id, "code_replayed",
		    http_client_addr(j->req));
		token_error(j->req, 400, "invalid_grant", "the code was already used");
		return;
	default:
		token_error(j->req, 503, "temporarily_unavailable", "the store does not answer");
		return;
	}
}

/* The code is claimed and checked, the identity (if needed) known: issue. */
static void
finish_code(struct token_job *j)
{
	if (prepare_issue(j, j->g.scope) != 0)
		return;
	/* The family id was recorded with the claim (grant_code); it ends at refresh_max_ttl. */
	j->g.expires_at = j->now + http_server(j->req)->cfg->tokens.refresh_max_ttl;
	commit_then(j, issue_run, issued);
}

/* A rotated refresh token was presented again: revoke its whole family (DESIGN.md, Tokens). */
static void
refresh_reused(struct token_job *j, const char *addr)
{
	struct server *srv = http_server(j->req);
	const char *outcome = "revoked";

	if (store_family_revoke(srv->store, j->g.family_id, time(NULL)) != STORE_OK) {
		log_err("token: cannot revoke the family of a reused refresh token");
		outcome = "revoke_failed";
	}
	audit_token("refresh_reuse", j->g.username, j->client->id, outcome, addr);
	token_error(j->req, 400, "invalid_grant", "the refresh token was already used");
}

static enum store_result
rotate_run(struct store *st, void *arg)
{
	struct token_job *j = arg;

	return store_refresh_rotate_in(st, j->old_hash, j->g.family_id, &j->iss, j->now);
}

static void
rotated(struct token_job *j, enum store_result r)
{
	const char *addr = http_client_addr(j->req);

	switch (r) {
	case STORE_OK:
		respond_issued(j, j->scope);
		return;
	case STORE_REPLAY:
		/*
		 * A concurrent redemption of the same token won: two clients
		 * hold it, which is exactly the reuse rotation exists to catch.
		 * The rotation revoked the family in its own transaction.
		 */
		audit_token("refresh_reuse", j->g.username, j->client->id, "revoked", addr);
		token_error(j->req, 400, "invalid_grant", "the refresh token was already used");
		return;
	case STORE_REVOKED:
		/* The family was revoked meanwhile. */
		audit_token("refresh", j->g.username, j->client->id, "lost_race", addr);
		token_error(j->req, 400, "invalid_grant", "the refresh token was already used");
		return;
	default:
		token_error(j->req, 503, "temporarily_unavailable", "the store does not answer");
		return;
	}
}

/*
 * The refresh token is valid and the user's current groups are known:
 * rotate.  The grant is the family's original scope ∩ the user's current
 * groups ∩ what the client asks for (RFC 6749 §6); the family keeps its
 * original scope, so a narrowed refresh does not narrow the next one.
 */
static void
finish_refresh(struct token_job *j)
{
	struct http_request *req = j->req;
	const struct config *cfg = http_server(req)->cfg;
	struct strlist allowed = { 0 }, family = { 0 }, granted = { 0 };
	bool unknown = false;

	if (scopes_for_identity(cfg, &j->id, &allowed) != 0 ||
	    strlist_add_words(&family, j->g.scope) != 0 ||
	    scope_grant(&j->requested, &family, &allowed, &granted, &unknown) != 0 ||
	    (j->scope = strlist_join(&granted, " ")) == NULL) {
		token_error(req, 500, "server_error", "out of memory");
		goto out;
	}
	if (unknown) {
		token_error(req, 400, "invalid_scope", "a refresh may only narrow the scope");
		goto out;
	}
	if (granted.n == 0) {
		audit_token("refresh", j->g.username, j->client->id, "no_scopes",
		    http_client_addr(req));
		token_error(req, 400, "invalid_grant",
		    "the user no longer holds any of the granted scopes");
		goto out;
	}
	/* Sign first: a failure must not have used up the old token. */
	if (prepare_issue(j, j->scope) == 0)
		commit_then(j, rotate_run, rotated);
out:
	strlist_free(&allowed);
	strlist_free(&family);
	strlist_free(&granted);
}

/* Go on with the identity (or why there is none). */
static void
continue_with(struct token_job *j, enum auth_result ar)
{
	struct http_request *req = j->req;

	/* A name reused by another person inherits nothing (DESIGN.md, Tokens). */
	if (ar == AUTH_OK && (j->id.id == NULL || strcmp(j->id.id, j->g.user_id) != 0))
		ar = AUTH_UNKNOWN_USER;
	switch (ar) {
	case AUTH_OK:
		j->have_id = true;
		if (j->refresh)
			finish_refresh(j);
		else
			finish_code(j);
		return;
	case AUTH_UNAVAILABLE:
		audit_token(j->refresh ? "refresh" : "token", j->g.username, j->client->id,
		    "unavailable", http_client_addr(req));
		token_error(req, 503, "temporarily_unavailable",
		    "the directory does not answer: try again later");
		return;
	case AUTH_INTERNAL:
		token_error(req, 500, "server_error", "the directory lookup failed");
		return;
	default:
		audit_token(j->refresh ? "refresh" : "token", j->g.username, j->client->id,
		    auth_result_name(ar), http_client_addr(req));
		token_error(req, 400, "invalid_grant", "the user is no longer active");
		return;
	}
}

/* Find the user's identity (cache, else the auth pool) and finish the grant. */
static void
with_identity_done(void *arg, enum auth_result r)
{
	continue_with(arg, r);
}

static enum http_outcome
with_identity(struct token_job *j)
{
	http_thread_enter(j);
	return http_thread_leave(whois(j->req, j->g.username, &j->id, with_identity_done, j));
}

/*
 * A replayed code: revoke the family its first exchange recorded, or bar
 * it when that exchange has not created it yet.  The audit outcome.
 */
static const char *
bar_family(struct server *srv, const struct store_grant *g)
{
	if (g->family_id == NULL)
		return "none";
	return bar_outcome(store_family_bar(srv->store, g, time(NULL)));
}

/* Why the code's bindings refuse this exchange (redirect URI, PKCE), or NULL. */
static const char *
code_binding_error(const struct token_job *j, const char *redirect_uri, const char *verifier)
{
	if (strcmp(redirect_uri, j->g.redirect_uri) != 0)
		return "redirect_uri does not match the code's";
	if (j->g.code_challenge != NULL) {
		if (verifier == NULL || !pkce_verifier_ok(verifier) ||
		    !pkce_s256_matches(verifier, j->g.code_challenge))
			return "code_verifier does not match";
	} else if (verifier != NULL || j->client->is_public) {
		/* A verifier without a challenge (RFC 9700 §2.1.1: downgrade). */
		return "the code was issued without PKCE";
	}
	return NULL;
}

static enum store_result
redeem_run(struct store *st, void *arg)
{
	struct token_job *j = arg;

	return store_code_redeem_in(st, j->old_hash, j->g.family_id, &j->g, &j->iss, j->now,
	    &j->bar);
}

static void
redeemed(struct token_job *j, enum store_result r)
{
	switch (r) {
	case STORE_OK:
		respond_issued(j, j->g.scope);
		return;
	case STORE_REPLAY:
		/* Claimed by another exchange since we read it: that one's family ends. */
		audit_token("code_replay", j->g.username, j->client->id, bar_outcome(j->bar),
		    http_client_addr(j->req));
		token_error(j->req, 400, "invalid_grant", "the code was already used");
		return;
	case STORE_ERROR:
		token_error(j->req, 503, "temporarily_unavailable", "the store does not answer");
		return;
	default:
		token_error(j->req, 400, "invalid_grant", "the code is unknown or expired");
		return;
	}
}

/*
 * The common case in one group commit: an unused code whose bindings hold
 * and whose user's identity is cached (or not needed) is read, its tokens
 * signed, and the claim and the family written in one transaction
 * (store_code_redeem_in), so the claim costs no commit of its own.  false
 * when it does not apply and nothing was answered: the claim-first path
 * then handles the code (and spends it on a failed check, as before).
 */
static bool
redeem_at_once(struct token_job *j, const char *redirect_uri, const char *verifier)
{
	struct server *srv = http_server(j->req);
	char *family;

	if (store_code_peek(srv->store, j->old_hash, j->client->id, time(NULL), &j->g) !=
	    STORE_OK)
		goto fallback;
	if (code_binding_error(j, redirect_uri, verifier) != NULL)
		goto fallback;
	if (srv->cfg->tokens.groups_claim != GROUPS_CLAIM_NONE) {
		if (!dircache_get(srv->dircache, j->g.username, &j->id))
			goto fallback;
		if (j->id.id == NULL || strcmp(j->id.id, j->g.user_id) != 0)
			goto fallback;  /* the claim-first path tells why */
		j->have_id = true;
	}
	if ((family = random_b64(IDB_FAMILY_ID_BYTES)) == NULL)
		goto fallback;
	j->g.family_id = family;
	if (prepare_issue(j, j->g.scope) != 0)
		return true;
	j->g.expires_at = j->now + srv->cfg->tokens.refresh_max_ttl;
	commit_then(j, redeem_run, redeemed);
	return true;
fallback:
	store_grant_free(&j->g);
	identity_free(&j->id);
	j->have_id = false;
	return false;
}

static enum http_outcome
grant_code(struct token_job *j)
{
	struct http_request *req = j->req;
	struct server *srv = http_server(req);
	const char *code = form_get(&j->params, "code");
	const char *redirect_uri = form_get(&j->params, "redirect_uri");
	const char *verifier = form_get(&j->params, "code_verifier");
	const char *addr = http_client_addr(req);
	enum store_result res;
	const char *why;
	char *family;

	if (code == NULL || redirect_uri == NULL || code[0] == '\0') {
		token_error(req, 400, "invalid_request", "code and redirect_uri are required");
		return HTTP_DONE;
	}
	if (token_hash(code, strlen(code), j->old_hash) != 0) {
		token_error(req, 500, "server_error", "cannot hash");
		return HTTP_DONE;
	}
	http_thread_enter(j);
	if (redeem_at_once(j, redirect_uri, verifier))
		return http_thread_leave(HTTP_DONE);
	(void)http_thread_leave(HTTP_DONE);
	/* The family is named by the claim itself, so a replay always finds it. */
	if ((family = random_b64(IDB_FAMILY_ID_BYTES)) == NULL) {
		token_error(req, 500, "server_error", "cannot issue a token");
		return HTTP_DONE;
	}
	res = store_code_claim(srv->store, j->old_hash, j->client->id, family, time(NULL), &j->g);
	free(family);
	switch (res) {
	case STORE_OK:
		break;
	case STORE_REPLAY:
		/* RFC 6749 §4.1.2: revoke what the code issued, or is issuing right now. */
		audit_token("code_replay", j->g.username, j->client->id, bar_family(srv, &j->g),
		    addr);
		token_error(req, 400, "invalid_grant", "the code was already used");
		return HTTP_DONE;
	case STORE_ERROR:
		token_error(req, 503, "temporarily_unavailable", "the store does not answer");
		return HTTP_DONE;
	default:
		token_error(req, 400, "invalid_grant", "the code is unknown or expired");
		return HTTP_DONE;
	}
	if ((why = code_binding_error(j, redirect_uri, verifier)) != NULL) {
		token_error(req, 400, "invalid_grant", why);
		return HTTP_DONE;
	}
	if (srv->cfg->tokens.groups_claim == GROUPS_CLAIM_NONE) {
		http_thread_enter(j);
		finish_code(j);
		return http_thread_leave(HTTP_DONE);
	}
	return with_identity(j);
}

static enum http_outcome
grant_refresh(struct token_job *j)
{
	struct http_request *req = j->req;
	struct server *srv = http_server(req);
	const char *token = form_get(&j->params, "refresh_token");
	const char *scope = form_get(&j->params, "scope");
	const char *addr = http_client_addr(req);

	j->refresh = true;
	if (token == NULL || token[0] == '\0') {
		token_error(req, 400, "invalid_request", "refresh_token is required");
		return HTTP_DONE;
	}
	if (scope_parse(scope, &j->requested) != SCOPE_OK) {
		token_error(req, 400, "invalid_scope", "scope is malformed");
		return HTTP_DONE;
	}
	if (token_hash(token, strlen(token), j->old_hash) != 0) {
		token_error(req, 500, "server_error", "cannot hash");
		return HTTP_DONE;
	}
	switch (store_refresh_peek(srv->store, j->old_hash, j->client->id, time(NULL), &j->g)) {
	case STORE_OK:
		break;
	case STORE_REPLAY:
		refresh_reused(j, addr);
		return HTTP_DONE;
	case STORE_ERROR:
		token_error(req, 503, "temporarily_unavailable", "the store does not answer");
		return HTTP_DONE;
	default:
		token_error(req, 400, "invalid_grant",
		    "the refresh token is unknown, expired or revoked");
		return HTTP_DONE;
	}
	return with_identity(j);
}

enum http_outcome
h_token(struct http_request *req)
{
	struct token_job *j = calloc(1, sizeof(*j));
	const char *grant, *why;

	if (j == NULL) {
		token_error(req, 500, "server_error", "out of memory");
		return HTTP_DONE;
	}
	j->req = req;
	http_set_state(req, j, token_job_free);
	if ((why = params_from_request(req, &j->params)) != NULL) {
		token_error(req, 400, "invalid_request", why);
		return HTTP_DONE;
	}
	if (form_get(&j->params, "resource") != NULL) {
		/* RFC 8707 resource indicators come with MCP support. */
		token_error(req, 400, "invalid_target", "resource indicators are not supported");
		return HTTP_DONE;
	}
	if ((j->client = clientauth_request(req, &j->params, true)) == NULL) {
		http_add_header(req, "Pragma", "no-cache");
		return HTTP_DONE;
	}
	if ((grant = form_get(&j->params, "grant_type")) == NULL) {
		token_error(req, 400, "invalid_request", "grant_type is required");
		return HTTP_DONE;
	}
	if (strcmp(grant, "authorization_code") == 0)
		return grant_code(j);
	if (strcmp(grant, "refresh_token") == 0)
		return grant_refresh(j);
	token_error(req, 400, "unsupported_grant_type", "only authorization_code and refresh_token");
	return HTTP_DONE;
}
