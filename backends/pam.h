/*
 * pam.h — Linux-PAM sign-in and NSS identity, called only inside the
 * broker's worker processes (bridge/broker.c): never in the HTTP process,
 * never from a thread.
 *
 * Each call is a whole PAM transaction: pam_start(service, user) with a
 * conversation that caps message count and length (IDB_PAM_MAX_MESSAGES,
 * IDB_PAM_MAX_MESSAGE_LEN), answers exactly one PAM_PROMPT_ECHO_OFF per
 * transaction with the password (a second one, from another module or a
 * "new password" prompt, is refused: later modules need use_first_pass),
 * ignores PAM_TEXT_INFO and PAM_ERROR_MSG (logged at debug level), and
 * fails on anything else (PAM_PROMPT_ECHO_ON included); replies are wiped.
 * A refused conversation makes the call INTERNAL even when the stack
 * still succeeded.  PAM_RHOST is the client address.  A PAM_FAIL_DELAY
 * callback records the delay modules ask for instead of sleeping, so the
 * worker is free at once and the HTTP side applies the delay with its
 * resume timer (recorded after a failed pam_authenticate only; libpam
 * randomises it to 0.5-1.5 times the largest delay asked).  Never
 * pam_setcred or pam_open_session.
 *
 * Refused before PAM is asked: an empty password, one over
 * IDB_MAX_PASSWORD_LEN or holding a NUL (PAM would check it cut short) →
 * BAD_CREDENTIALS; a user name that is empty, over IDB_MAX_USERNAME_LEN or
 * holds a control character → UNKNOWN_USER.
 *
 * Results (enum auth_result, backend.h):
 *   PAM_SUCCESS                          OK (then account state, then identity)
 *   PAM_AUTH_ERR, PAM_MAXTRIES           BAD_CREDENTIALS
 *   PAM_USER_UNKNOWN                     UNKNOWN_USER (shown as BAD_CREDENTIALS)
 *   PAM_NEW_AUTHTOK_REQD                 EXPIRED        (after the password was right)
 *   PAM_ACCT_EXPIRED, PAM_PERM_DENIED    DISABLED       (after the password was right)
 *   pam_acct_mgmt's PAM_AUTH_ERR (pam_deny) and PAM_AUTHTOK_EXPIRED (pam_unix:
 *     expired past changing)             DISABLED       (the user cannot fix either)
 *   PAM_AUTHINFO_UNAVAIL                 UNAVAILABLE
 *   PAM_USER changed by a module, a conversation failure, anything else
 *                                        INTERNAL (logged)
 *   PAM accepted the password but NSS does not know the user
 *                                        INTERNAL (logged: nsswitch.conf is wrong,
 *                                        the password was not; never "wrong password")
 *
 * Identity from NSS: username as getpwnam_r spells it, id = the uid number
 * in decimal, display_name = the GECOS full name (before the first ','),
 * groups = getgrouplist + getgrgid_r names, so [scopes] maps Unix groups
 * exactly as it maps LDAP groups.  group_dns stay NULL.  A gid without a
 * group entry is skipped; a GECOS name over IDB_MAX_ATTR_VALUE_LEN or not
 * UTF-8 is left out; more than IDB_MAX_GROUPS groups is INTERNAL (as for
 * LDAP).  A transient NSS error (EIO, EAGAIN, EINTR, EMFILE, ENFILE) is
 * UNAVAILABLE, never a shorter group list.
 */
#ifndef IDBRIDGE_PAM_H
#define IDBRIDGE_PAM_H

#include <stddef.h>
#include "backend.h"

/*
 * pam_authenticate then pam_acct_mgmt for user; *id_r filled on OK.
 * *fail_delay_us_r: the delay PAM asked for (0 if none), whatever the result.
 */
enum auth_result idb_pam_sign_in(const char *service, const char *user, const char *password,
    size_t password_len, const char *rhost, unsigned *fail_delay_us_r, struct identity *id_r);

/*
 * The account request (refreshes, API keys): the user's identity from NSS
 * and pam_acct_mgmt alone (no password): OK, UNKNOWN_USER, DISABLED,
 * EXPIRED, UNAVAILABLE, INTERNAL.  NSS first: a user it does not know is
 * UNKNOWN_USER (gone) whatever the stack would say.
 */
enum auth_result idb_pam_account(const char *service, const char *user, const char *rhost,
    struct identity *id_r);

/* The identity of user from NSS alone: OK, UNKNOWN_USER, UNAVAILABLE or INTERNAL. */
enum auth_result idb_pam_identity(const char *user, struct identity *id_r);

#endif
