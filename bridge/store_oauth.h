/*
 * store_oauth.h — the OAuth state in the store: browser sessions, pre-auth
 * requests, consents, authorization codes, refresh-token families and the
 * access tokens each family issued.
 *
 * Every secret (session id, code, refresh token) is stored only as its
 * SHA-256 (STORE_HASH_LEN bytes); callers hash before they ask.  Codes and
 * refresh tokens are claimed by one conditional UPDATE whose change count
 * must be 1, so of two concurrent redemptions exactly one wins.  Writes
 * that hand a secret to a client are committed (synchronous=FULL) before
 * the function returns, i.e. before the response can leave.
 *
 * Times are Unix seconds, passed in by the caller (tests control the clock).
 */
#ifndef IDBRIDGE_STORE_OAUTH_H
#define IDBRIDGE_STORE_OAUTH_H

#include <stdbool.h>
#include <stdint.h>
#include "bridge.h"

struct store;

#define STORE_HASH_LEN 32
/* How long a used code is remembered after it expired, to recognise its replay. */
#define STORE_CODE_REPLAY_WINDOW_S 86400
/* How long a placeholder that bars a replayed code's family is kept (purge). */
#define STORE_FAMILY_BAR_S STORE_CODE_REPLAY_WINDOW_S

enum store_result {
	STORE_OK,
	STORE_NOT_FOUND,   /* no such row (or wrong client) */
	STORE_EXPIRED,
	STORE_REPLAY,      /* already used: the caller revokes the family */
	STORE_REVOKED,     /* its family was revoked */
	STORE_ERROR,       /* the store failed: "try again", never "invalid" */
};

const char *store_result_name(enum store_result r);

/* What a code or a refresh family grants.  Strings are owned; store_grant_free(). */
struct store_grant {
	char *client_id;
	char *user_id;          /* immutable directory id (entryUUID, objectGUID, uid number) */
	char *username;
	char *scope;            /* space-separated, granted */
	char *redirect_uri;     /* codes: bound at /authorize */
	char *code_challenge;   /* codes: S256 challenge, or NULL */
	char *family_id;        /* codes: the family it issues (named at claim); refresh: its own */
	int64_t created_at;
	int64_t expires_at;     /* code/token expiry; for a family, refresh_max_ttl's end */
};

void store_grant_free(struct store_grant *g);

/* ---- browser sessions and pre-auth requests ---------------------------- */

struct store_session {
	char *user_id;
	char *username;
	int64_t created_at;
	int64_t expires_at;
};

void store_session_free(struct store_session *s);

enum store_result store_session_create(struct store *st, const unsigned char *hash,
    const char *user_id, const char *username, int64_t now, int64_t expires_at) IDB_WUR;
/* OK with *s_r filled, NOT_FOUND, EXPIRED (and deleted). */
enum store_result store_session_get(struct store *st, const unsigned char *hash,
    int64_t now, struct store_session *s_r) IDB_WUR;
enum store_result store_session_delete(struct store *st, const unsigned char *hash) IDB_WUR;
/* End every session of a user (user revoke, later). */
enum store_result store_session_delete_user(struct store *st, const char *user_id) IDB_WUR;

/* A validated /authorize request (JSON text), kept until sign-in. */
enum store_result store_preauth_put(struct store *st, const unsigned char *hash,
    const char *request_json, int64_t expires_at) IDB_WUR;
enum store_result store_preauth_get(struct store *st, const unsigned char *hash,
    int64_t now, char **request_json_r) IDB_WUR;
enum store_result store_preauth_delete(struct store *st, const unsigned char *hash) IDB_WUR;

/* ---- consents ----------------------------------------------------------- */

/* The scopes user_id last allowed client_id (NOT_FOUND when never). */
enum store_result store_consent_get(struct store *st, const char *user_id,
    const char *client_id, char **scope_r) IDB_WUR;
enum store_result store_consent_put(struct store *st, const char *user_id,
    const char *client_id, const char *scope, int64_t now) IDB_WUR;

/* ---- authorization codes ------------------------------------------------ */

/* g's client_id, user_id, username, scope, redirect_uri, code_challenge, expires_at. */
enum store_result store_code_put(struct store *st, const unsigned char *hash,
    const struct store_grant *g, int64_t now) IDB_WUR;
/*
 * Claim a code for client_id and record, in the same statement, the
 * family_id its tokens will have (so a replay at any later moment knows
 * what to revoke): OK (first use, unexpired; *g_r filled, family_id set),
 * NOT_FOUND (unknown, or another client's), EXPIRED, or REPLAY (used
 * before; *g_r filled with the family_id the first use recorded, for
 * store_family_bar).
 */
enum store_result store_code_claim(struct store *st, const unsigned char *hash,
    const char *client_id, const char *family_id, int64_t now,
    struct store_grant *g_r) IDB_WUR;

/*
 * Read a code without claiming it: OK (unused, unexpired; *g_r filled),
 * NOT_FOUND, EXPIRED, REPLAY (used before; *g_r as store_code_claim fills
 * it), ERROR.  Only a redemption in the same transaction as the issuance
 * (store_code_redeem_in) may act on what it read.
 */
enum store_result store_code_peek(struct store *st, const unsigned char *hash,
    const char *client_id, int64_t now, struct store_grant *g_r) IDB_WUR;

/* ---- refresh-token families --------------------------------------------- */

/*
 * What one issuance writes: the new refresh token's hash and expiry, and
 * the access token signed with it (jti and its expiry; jti may be NULL
 * for none).  The access token is signed before the store is asked, so a
 * failure anywhere leaves the store as it was and the client may retry.
 */
struct store_issue {
	const unsigned char *refresh_hash;
	int64_t refresh_expires_at;
	const char *jti;
	int64_t access_expires_at;
};

/*
 * Start a family for g (client_id, user_id, username, scope; expires_at =
 * the family's end) with what iss issues, in one transaction.  REVOKED
 * when family_id exists already: a replay of the code barred it
 * (store_family_bar) while its first exchange was still on its way.
 */
enum store_result store_family_issue(struct store *st, const char *family_id,
    const struct store_grant *g, const struct store_issue *iss, int64_t now) IDB_WUR;
/* store_family_issue with only a refresh token (token_hash), no access token. */
enum store_result store_family_create(struct store *st, const char *family_id,
    const struct store_grant *g, const unsigned char *token_hash,
    int64_t token_expires_at, int64_t now) IDB_WUR;
/*
 * Look a refresh token up without using it: OK (*g_r = its family's grant,
 * family_id set, expires_at = the token's), NOT_FOUND (unknown or another
 * client's), EXPIRED (token or family), REVOKED, REPLAY (rotated before:
 * the caller revokes the family).
 */
enum store_result store_refresh_peek(struct store *st, const unsigned char *hash,
    const char *client_id, int64_t now, struct store_grant *g_r) IDB_WUR;
/*
 * Rotate: mark old used (only if still unused) and add what iss issues, in
 * one transaction.  The family keeps its original scope (RFC 6749 §6: a
 * refresh that narrows narrows only what it issues; the next one starts
 * from the original grant again).  REPLAY when old was used meanwhile (a
 * concurrent redemption won: the caller revokes the family, as for any
 * reuse), REVOKED when the family was revoked.
 */
enum store_result store_refresh_rotate(struct store *st, const unsigned char *old_hash,
    const char *family_id, const struct store_issue *iss, int64_t now) IDB_WUR;
/*
 * The group commit's variants (commitq.h): the same work inside the
 * caller's transaction, whose commit is what makes it count.
 *
 * store_family_issue_in: as store_family_issue.
 * store_refresh_rotate_in: as store_refresh_rotate, except that on REPLAY
 * it revokes the family itself, in the same transaction.  Every other
 * outcome but OK writes nothing.
 * store_code_redeem_in: claim the code (change count 1, unexpired, g's
 * client) naming family_id, and start that family for g with what iss
 * issues.  REPLAY when the code was claimed since it was read: the family
 * its first use recorded is then revoked or barred as store_family_bar
 * does, and *bar_r is what that answered (EXPIRED: no family recorded);
 * EXPIRED when it expired or vanished meanwhile; REVOKED as
 * store_family_issue.
 */
enum store_result store_family_issue_in(struct store *st, const char *family_id,
    const struct store_grant *g, const struct store_issue *iss, int64_t now) IDB_WUR;
enum store_result store_refresh_rotate_in(struct store *st, const unsigned char *old_hash,
    const char *family_id, const struct store_issue *iss, int64_t now) IDB_WUR;
enum store_result store_code_redeem_in(struct store *st, const unsigned char *hash,
    const char *family_id, const struct store_grant *g, const struct store_issue *iss,
    int64_t now, enum store_result *bar_r) IDB_WUR;
/* Revoke a family: its refresh tokens and the access tokens it issued. */
enum store_result store_family_revoke(struct store *st, const char *family_id,
    int64_t now) IDB_WUR;
/*
 * Revoke the family a replayed code recorded (g as store_code_claim's
 * REPLAY filled it, g->family_id not NULL), even one that does not exist
 * yet: then a revoked placeholder row under that id (kept
 * STORE_FAMILY_BAR_S) makes the first exchange's store_family_issue fail.
 * OK (a live family was revoked), NOT_FOUND (there was none: the
 * placeholder now bars it; the first exchange is still on its way, or it
 * failed), REVOKED (revoked or barred already), ERROR.
 */
enum store_result store_family_bar(struct store *st, const struct store_grant *g,
    int64_t now) IDB_WUR;

/* ---- access tokens ------------------------------------------------------ */

/* Remember which family issued an access token (jti), for revocation. */
enum store_result store_access_put(struct store *st, const char *jti,
    const char *family_id, int64_t expires_at) IDB_WUR;
/* The family that issued access token jti: OK with a new *family_r, NOT_FOUND, ERROR. */
enum store_result store_access_family(struct store *st, const char *jti,
    char **family_r) IDB_WUR;
/* OK (active), REVOKED (its family was revoked), NOT_FOUND (never issued here). */
enum store_result store_access_check(struct store *st, const char *jti) IDB_WUR;

/* ---- housekeeping --------------------------------------------------------- */

/* Delete what expired before now (sessions, pre-auth, codes, tokens, ended families). */
enum store_result store_oauth_purge(struct store *st, int64_t now) IDB_WUR;

#endif
