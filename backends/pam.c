/*
 * pam.c — Linux-PAM sign-in and NSS identity for the broker's workers
 * (the contract is in pam.h).
 *
 * Every call is one short PAM transaction on the caller's stack: nothing
 * is kept between calls, so a worker process holds no PAM state while it
 * waits for the next request.  The password is never copied except into
 * the one reply PAM asked for, which PAM owns (and wipes) from then on;
 * on a refused conversation that reply is wiped here.
 */
#include "autoconfig.h"

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <security/pam_appl.h>

#include "log.h"
#include "pam.h"
#include "util.h"

/* getgrouplist's first try; it says how many it needs when that is too few. */
#define NSS_FIRST_GROUPS 64

/* What one transaction's conversation knows and learns (its appdata). */
struct pam_txn {
	const char *password;    /* NULL for the account request: any prompt is refused */
	size_t password_len;
	unsigned answered;       /* echo-off prompts answered: at most one */
	bool conv_refused;       /* the conversation refused a message (logged there) */
	unsigned fail_delay_us;  /* what the PAM_FAIL_DELAY callback was told */
};

/* A user name fit to hand to PAM and NSS; the HTTP side checked it more strictly. */
static bool
user_ok(const char *user)
{
	size_t len;

	if (user == NULL)
		return false;
	len = strnlen(user, IDB_MAX_USERNAME_LEN + 1);
	if (len == 0 || len > IDB_MAX_USERNAME_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)user[i] < 0x20 || user[i] == 0x7f)
			return false;
	return true;
}

/*
 * PAM takes the password as a C string: one with a NUL inside would be
 * checked cut short, so it is refused; so are empty and oversize ones.
 */
static bool
password_ok(const char *password, size_t len)
{
	return password != NULL && len > 0 && len <= IDB_MAX_PASSWORD_LEN &&
	    memchr(password, '\0', len) == NULL;
}

/* Text we may keep in an identity: 1..max bytes of UTF-8 (what a token's JSON can carry). */
static bool
text_ok(const char *s, size_t max)
{
	size_t len = strnlen(s, max + 1);
	json_t *j;

	if (len == 0 || len > max)
		return false;
	j = json_stringn(s, len);
	json_decref(j);
	return j != NULL;
}

static void
drop_replies(struct pam_response *resp, int n)
{
	for (int i = 0; i < n; i++)
		free_secret_str(resp[i].resp);
	free(resp);
}

static void
refuse(struct pam_txn *t, const char *why, const char *text)
{
	char buf[LOG_SAFE_BUF];

	t->conv_refused = true;
	log_warn("pam: the conversation refused %s (\"%s\")", why,
	    log_safe(buf, sizeof(buf), text != NULL ? text : ""));
}

/* Answer one message into reply: 0, or -1 when the conversation must fail. */
static int
answer(struct pam_txn *t, const struct pam_message *m, struct pam_response *reply)
{
	char buf[LOG_SAFE_BUF];
	const char *text;

	if (m == NULL) {
		refuse(t, "a missing message", NULL);
		return -1;
	}
	text = m->msg != NULL ? m->msg : "";
	if (strnlen(text, IDB_PAM_MAX_MESSAGE_LEN + 1) > IDB_PAM_MAX_MESSAGE_LEN) {
		refuse(t, "an over-long message", text);
		return -1;
	}
	switch (m->msg_style) {
	case PAM_TEXT_INFO:
	case PAM_ERROR_MSG:
		/* pam_faillock, pam_sss: the HTTP side shows its own messages. */
		log_debug("pam: a module says (%s) \"%s\"",
		    m->msg_style == PAM_TEXT_INFO ? "info" : "error",
		    log_safe(buf, sizeof(buf), text));
		return 0;
	case PAM_PROMPT_ECHO_OFF:
		if (t->password == NULL) {
			refuse(t, "a password prompt in a request without a password", text);
			return -1;
		}
		if (t->answered > 0) {
			/* "New password:" and the like: nobody is there to answer. */
			refuse(t, "a second password prompt", text);
			return -1;
		}
		if ((reply->resp = malloc(t->password_len + 1)) == NULL) {
			refuse(t, "a password prompt (out of memory)", text);
			return -1;
		}
		memcpy(reply->resp, t->password, t->password_len);
		reply->resp[t->password_len] = '\0';
		reply->resp_retcode = 0;
		t->answered++;
		return 0;
	case PAM_PROMPT_ECHO_ON:
		refuse(t, "an echo-on prompt", text);
		return -1;
	default:
		refuse(t, "a message of an unknown style", text);
		return -1;
	}
}

/*
 * The conversation: the replies are a calloc'd array of malloc'd strings,
 * as PAM frees them; when any message is refused every reply made so far
 * is wiped here and PAM gets none.  Some modules pass no resp_r for
 * messages that need no answer: fine, unless one of them is a prompt.
 */
static int
converse(int num_msg, const struct pam_message **msg, struct pam_response **resp_r,
    void *appdata)
{
	struct pam_txn *t = appdata;
	struct pam_response *resp = NULL;
	unsigned answered = t->answered;
	int r = PAM_CONV_ERR;

	if (resp_r != NULL)
		*resp_r = NULL;
	if (msg == NULL || num_msg <= 0 || num_msg > IDB_PAM_MAX_MESSAGES) {
		t->conv_refused = true;
		log_warn("pam: the conversation refused %d messages in one call (at most %d)",
		    num_msg, IDB_PAM_MAX_MESSAGES);
		goto out;
	}
	if ((resp = calloc((size_t)num_msg, sizeof(*resp))) == NULL) {
		r = PAM_BUF_ERR;
		goto out;
	}
	for (int i = 0; i < num_msg; i++)
		if (answer(t, msg[i], &resp[i]) != 0)
			goto out;
	if (resp_r == NULL) {
		if (t->answered != answered)
			refuse(t, "a password prompt with nowhere to put the answer", NULL);
		else
			r = PAM_SUCCESS;
		goto out;
	}
	*resp_r = resp;
	resp = NULL;
	r = PAM_SUCCESS;
out:
	if (resp != NULL)
		drop_replies(resp, num_msg);
	return r;
}

/*
 * PAM_FAIL_DELAY: libpam calls this instead of sleeping after
 * pam_authenticate (on success too, with the delay it would have used).
 * Only a failure's delay is recorded: the HTTP side waits it out.
 */
static void
fail_delay(int status, unsigned delay_us, void *appdata)
{
	struct pam_txn *t = appdata;

	if (t != NULL && status != PAM_SUCCESS)
		t->fail_delay_us = delay_us;
}

/* pam_start for user with t's conversation, PAM_RHOST and the delay callback. */
static int
txn_start(const char *service, const char *user, const char *rhost, const struct pam_conv *conv,
    pam_handle_t **pamh_r)
{
	char buf[LOG_SAFE_BUF];
	int rc;

	*pamh_r = NULL;
	rc = pam_start(service, user, conv, pamh_r);
	if (rc != PAM_SUCCESS) {
		log_err("pam: pam_start(%s) failed: %s", log_safe(buf, sizeof(buf), service),
		    pam_strerror(NULL, rc));
		*pamh_r = NULL;
		return rc;
	}
	if (rhost != NULL && *rhost != '\0' &&
	    (rc = pam_set_item(*pamh_r, PAM_RHOST, rhost)) != PAM_SUCCESS) {
		log_err("pam: cannot set PAM_RHOST: %s", pam_strerror(*pamh_r, rc));
		return rc;
	}
	rc = pam_set_item(*pamh_r, PAM_FAIL_DELAY, (const void *)fail_delay);
	if (rc != PAM_SUCCESS)
		log_err("pam: cannot set PAM_FAIL_DELAY: %s", pam_strerror(*pamh_r, rc));
	return rc;
}

/* A module that maps names (to a canonical or another account) is not followed. */
static bool
same_user(pam_handle_t *pamh, const char *user)
{
	char ubuf[LOG_SAFE_BUF], buf[LOG_SAFE_BUF];
	const void *item = NULL;

	if (pam_get_item(pamh, PAM_USER, &item) == PAM_SUCCESS && item != NULL &&
	    strcmp(item, user) == 0)
		return true;
	log_err("pam: a module changed PAM_USER from %s to %s; refused",
	    log_safe(ubuf, sizeof(ubuf), user),
	    log_safe(buf, sizeof(buf), item != NULL ? item : "(none)"));
	return false;
}

/*
 * PAM's codes as results, by the step that returned them.  The account
 * step reads any refusal as DISABLED: pam_deny and some modules say
 * PAM_AUTH_ERR there, pam_unix says PAM_AUTHTOK_EXPIRED for a password
 * expired past changing; the user cannot fix either.
 */
static const struct {
	int code;
	enum auth_result authenticate;  /* from pam_authenticate */
	enum auth_result account;       /* from pam_acct_mgmt */
} pam_codes[] = {
	{ PAM_SUCCESS, AUTH_OK, AUTH_OK },
	{ PAM_AUTH_ERR, AUTH_BAD_CREDENTIALS, AUTH_DISABLED },
	{ PAM_MAXTRIES, AUTH_BAD_CREDENTIALS, AUTH_INTERNAL },
	{ PAM_USER_UNKNOWN, AUTH_UNKNOWN_USER, AUTH_UNKNOWN_USER },
	{ PAM_AUTHINFO_UNAVAIL, AUTH_UNAVAILABLE, AUTH_UNAVAILABLE },
	{ PAM_NEW_AUTHTOK_REQD, AUTH_INTERNAL, AUTH_EXPIRED },
	{ PAM_ACCT_EXPIRED, AUTH_INTERNAL, AUTH_DISABLED },
	{ PAM_PERM_DENIED, AUTH_INTERNAL, AUTH_DISABLED },
	{ PAM_AUTHTOK_EXPIRED, AUTH_INTERNAL, AUTH_DISABLED },
};

/* The result of rc from step (pam_authenticate or pam_acct_mgmt); INTERNAL is logged. */
static enum auth_result
pam_result(pam_handle_t *pamh, bool account, int rc)
{
	enum auth_result r = AUTH_INTERNAL;

	for (size_t i = 0; i < sizeof(pam_codes) / sizeof(pam_codes[0]); i++)
		if (pam_codes[i].code == rc)
			r = account ? pam_codes[i].account : pam_codes[i].authenticate;
	if (r == AUTH_INTERNAL)
		log_err("pam: %s: %s", account ? "pam_acct_mgmt" : "pam_authenticate",
		    pam_strerror(pamh, rc));
	return r;
}

/*
 * pam_acct_mgmt in an open transaction; *rc_r is PAM's status for
 * pam_end.  A refused conversation is INTERNAL whatever the module said.
 */
static enum auth_result
account_step(pam_handle_t *pamh, const struct pam_txn *t, const char *user, int *rc_r)
{
	enum auth_result r;

	*rc_r = pam_acct_mgmt(pamh, PAM_DISALLOW_NULL_AUTHTOK);
	r = t->conv_refused ? AUTH_INTERNAL : pam_result(pamh, true, *rc_r);
	if (r == AUTH_OK && !same_user(pamh, user)) {
		*rc_r = PAM_PERM_DENIED;
		r = AUTH_INTERNAL;
	}
	return r;
}

enum auth_result
idb_pam_sign_in(const char *service, const char *user, const char *password,
    size_t password_len, const char *rhost, unsigned *fail_delay_us_r, struct identity *id_r)
{
	struct pam_txn t = { .password = password, .password_len = password_len };
	const struct pam_conv conv = { converse, &t };
	pam_handle_t *pamh = NULL;
	enum auth_result r = AUTH_INTERNAL;
	char ubuf[LOG_SAFE_BUF];
	int rc = PAM_ABORT;

	*fail_delay_us_r = 0;
	memset(id_r, 0, sizeof(*id_r));
	if (!user_ok(user)) {
		r = AUTH_UNKNOWN_USER;
		goto out;
	}
	if (!password_ok(password, password_len)) {
		r = AUTH_BAD_CREDENTIALS;
		goto out;
	}
	if ((rc = txn_start(service, user, rhost, &conv, &pamh)) != PAM_SUCCESS)
		goto out;
	rc = pam_authenticate(pamh, PAM_DISALLOW_NULL_AUTHTOK);
	*fail_delay_us_r = t.fail_delay_us;
	r = t.conv_refused ? AUTH_INTERNAL : pam_result(pamh, false, rc);
	if (r == AUTH_OK && !same_user(pamh, user)) {
		rc = PAM_PERM_DENIED;
		r = AUTH_INTERNAL;
	}
	/* Account state only for the right password (backend.h). */
	if (r == AUTH_OK)
		r = account_step(pamh, &t, user, &rc);
	if (r != AUTH_OK)
		goto out;
	r = idb_pam_identity(user, id_r);
	if (r == AUTH_UNKNOWN_USER) {
		/* Not "wrong password": the password was right and nsswitch.conf is not. */
		log_err("pam: PAM accepted %s but NSS does not know the user: check nsswitch.conf",
		    log_safe(ubuf, sizeof(ubuf), user));
		r = AUTH_INTERNAL;
	}
out:
	if (pamh != NULL)
		pam_end(pamh, rc);
	if (r != AUTH_OK)
		identity_free(id_r);
	return r;
}

enum auth_result
idb_pam_account(const char *service, const char *user, const char *rhost,
    struct identity *id_r)
{
	struct pam_txn t = { .password = NULL };
	const struct pam_conv conv = { converse, &t };
	pam_handle_t *pamh = NULL;
	enum auth_result r;
	int rc = PAM_ABORT;

	/* NSS first: a user it no longer knows is gone, whatever the stack says. */
	if ((r = idb_pam_identity(user, id_r)) != AUTH_OK)
		goto out;
	r = AUTH_INTERNAL;
	if ((rc = txn_start(service, user, rhost, &conv, &pamh)) != PAM_SUCCESS)
		goto out;
	r = account_step(pamh, &t, user, &rc);
out:
	if (pamh != NULL)
		pam_end(pamh, rc);
	if (r != AUTH_OK)
		identity_free(id_r);
	return r;
}

/*
 * NSS's *_r calls: a lookup function and its argument, with a buffer
 * sized by sysconf and doubled on ERANGE up to IDB_NSS_MAX_BUF.
 */
struct nss_call {
	int (*lookup)(struct nss_call *c, char *buf, size_t size);
	const char *name;        /* getpwnam_r's key */
	gid_t gid;               /* getgrgid_r's key */
	struct passwd pw;
	struct group gr;
	bool found;
};

static int
lookup_passwd(struct nss_call *c, char *buf, size_t size)
{
	struct passwd *res = NULL;
	int rc = getpwnam_r(c->name, &c->pw, buf, size, &res);

	c->found = rc == 0 && res != NULL;
	return rc;
}

static int
lookup_group(struct nss_call *c, char *buf, size_t size)
{
	struct group *res = NULL;
	int rc = getgrgid_r(c->gid, &c->gr, buf, size, &res);

	c->found = rc == 0 && res != NULL;
	return rc;
}

/*
 * Run c->lookup; *buf_r holds the strings of the answer until freed.
 * Returns 0 (c->found says whether there was an entry) or an errno value.
 */
static int
nss_run(struct nss_call *c, int sysconf_name, char **buf_r)
{
	long hint = sysconf(sysconf_name);
	size_t size = hint > 0 && hint <= IDB_NSS_MAX_BUF ? (size_t)hint : 16384;
	char *buf = NULL;
	int rc;

	*buf_r = NULL;
	for (;;) {
		free(buf);
		if ((buf = malloc(size)) == NULL) {
			rc = ENOMEM;
			break;
		}
		rc = c->lookup(c, buf, size);
		if (rc != ERANGE || size >= IDB_NSS_MAX_BUF)
			break;
		size = size * 2 > IDB_NSS_MAX_BUF ? IDB_NSS_MAX_BUF : size * 2;
	}
	/* Not found is 0 in glibc; other systems' "not found" errors too. */
	if (rc == ENOENT || rc == ESRCH)
		rc = 0;
	if (rc != 0) {
		free(buf);
		buf = NULL;
	}
	*buf_r = buf;
	return rc;
}

/* An NSS failure: a service that may come back is UNAVAILABLE, anything else INTERNAL. */
static enum auth_result
nss_failure(const char *call, const char *key, int rc)
{
	char buf[LOG_SAFE_BUF];

	log_err("pam: %s(%s): %s", call, log_safe(buf, sizeof(buf), key), strerror(rc));
	switch (rc) {
	case EIO:
	case EINTR:
	case EAGAIN:
	case EMFILE:
	case ENFILE:
		return AUTH_UNAVAILABLE;
	default:
		return AUTH_INTERNAL;
	}
}

/* username, id and display_name from a passwd entry. */
static enum auth_result
fill_user(const struct passwd *pw, struct identity *id)
{
	char buf[LOG_SAFE_BUF], num[32];
	const char *gecos = pw->pw_gecos != NULL ? pw->pw_gecos : "";
	size_t name_len = strcspn(gecos, ",");

	if (pw->pw_name == NULL || !text_ok(pw->pw_name, IDB_MAX_USERNAME_LEN)) {
		log_err("pam: NSS names uid %ju \"%s\", not a usable user name",
		    (uintmax_t)pw->pw_uid, log_safe(buf, sizeof(buf), pw->pw_name));
		return AUTH_INTERNAL;
	}
	snprintf(num, sizeof(num), "%ju", (uintmax_t)pw->pw_uid);
	if ((id->username = strdup(pw->pw_name)) == NULL || (id->id = strdup(num)) == NULL)
		return AUTH_INTERNAL;
	if (name_len == 0)
		return AUTH_OK;
	/* GECOS is free text: a full name over the limit or not UTF-8 is left out. */
	if ((id->display_name = strndup(gecos, name_len)) == NULL)
		return AUTH_INTERNAL;
	if (!text_ok(id->display_name, IDB_MAX_ATTR_VALUE_LEN)) {
		log_warn("pam: the GECOS name of %s is over %d bytes or not UTF-8; not used",
		    log_safe(buf, sizeof(buf), id->username), IDB_MAX_ATTR_VALUE_LEN);
		free(id->display_name);
		id->display_name = NULL;
	}
	return AUTH_OK;
}

/*
 * The gids of user (primary included), growing the array as getgrouplist
 * says; more than IDB_MAX_GROUPS is refused as LDAP refuses it.
 */
static enum auth_result
group_ids(const char *user, gid_t primary, gid_t **gids_r, int *n_r)
{
	char buf[LOG_SAFE_BUF];
	gid_t *gids = NULL, *grown;
	int size = NSS_FIRST_GROUPS, n;

	*gids_r = NULL;
	for (;;) {
		if ((grown = realloc(gids, (size_t)size * sizeof(*gids))) == NULL) {
			free(gids);
			return AUTH_INTERNAL;
		}
		gids = grown;
		n = size;
		if (getgrouplist(user, primary, gids, &n) >= 0)
			break;
		/* glibc says how many it needs; be safe with one that does not. */
		size = n > size ? n : size * 2;
		if (size > IDB_MAX_GROUPS + 1) {
			log_err("pam: %s is in over %d groups; refused",
			    log_safe(buf, sizeof(buf), user), IDB_MAX_GROUPS);
			free(gids);
			return AUTH_INTERNAL;
		}
	}
	*gids_r = gids;
	*n_r = n;
	return AUTH_OK;
}

/* Add the name of group gid to id; a gid without a usable name is skipped. */
static enum auth_result
add_group(struct identity *id, gid_t gid)
{
	struct nss_call c = { .lookup = lookup_group, .gid = gid };
	char buf[LOG_SAFE_BUF], key[32];
	enum auth_result r = AUTH_OK;
	char *strings = NULL;
	int rc;

	snprintf(key, sizeof(key), "%ju", (uintmax_t)gid);
	if ((rc = nss_run(&c, _SC_GETGR_R_SIZE_MAX, &strings)) != 0) {
		/* Never a shorter list: a refresh would keep the narrower scopes. */
		r = nss_failure("getgrgid_r", key, rc);
	} else if (!c.found) {
		log_info("pam: group %s of %s has no name; ignored", key,
		    log_safe(buf, sizeof(buf), id->username));
	} else if (c.gr.gr_name == NULL || !text_ok(c.gr.gr_name, IDB_MAX_ATTR_VALUE_LEN)) {
		log_warn("pam: group %s of %s has an unusable name; ignored", key,
		    log_safe(buf, sizeof(buf), id->username));
	} else if (identity_add_group(id, c.gr.gr_name, NULL) != 0) {
		log_err("pam: cannot record group %s of %s (over %d groups or out of memory)",
		    key, log_safe(buf, sizeof(buf), id->username), IDB_MAX_GROUPS);
		r = AUTH_INTERNAL;
	}
	free(strings);
	return r;
}

enum auth_result
idb_pam_identity(const char *user, struct identity *id_r)
{
	struct nss_call c = { .lookup = lookup_passwd, .name = user };
	enum auth_result r = AUTH_UNKNOWN_USER;
	char *strings = NULL;
	gid_t *gids = NULL;
	int rc, n = 0;

	memset(id_r, 0, sizeof(*id_r));
	if (!user_ok(user))
		goto out;
	if ((rc = nss_run(&c, _SC_GETPW_R_SIZE_MAX, &strings)) != 0) {
		r = nss_failure("getpwnam_r", user, rc);
		goto out;
	}
	if (!c.found)
		goto out;
	if ((r = fill_user(&c.pw, id_r)) != AUTH_OK ||
	    (r = group_ids(c.pw.pw_name, c.pw.pw_gid, &gids, &n)) != AUTH_OK)
		goto out;
	for (int i = 0; i < n && r == AUTH_OK; i++)
		r = add_group(id_r, gids[i]);
out:
	free(gids);
	free(strings);
	if (r != AUTH_OK)
		identity_free(id_r);
	return r;
}
