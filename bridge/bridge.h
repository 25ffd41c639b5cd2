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
#define IDB_LDAP_NEST_BATCH 32        /* group DNs one nesting search asks for, OR-ed */

/* The PAM conversation and NSS lookups in the broker's workers (backends/pam.c). */
#define IDB_PAM_MAX_MESSAGES 32       /* messages in one conversation call (Linux-PAM's PAM_MAX_NUM_MSG) */
#define IDB_PAM_MAX_MESSAGE_LEN 512   /* one message's text (PAM_MAX_MSG_SIZE); longer fails the call */
#define IDB_NSS_MAX_BUF (16 << 20)    /* getpwnam_r/getgrgid_r buffer: a group lists all its members */

/* Config limits. */
#define IDB_MAX_CONFIG_LINE 199       /* Debian's inih buffer is 200 bytes */
#define IDB_MAX_CONFIG_VALUE 8192     /* a value joined from continuation lines */
#define IDB_MAX_SECRET_FILE 4096      /* a *_file secret */
#define IDB_MAX_LIST_ITEMS 64         /* values of one list key (uri, scopes …) */

/* OAuth clients and plugins ([client NAME], [plugin NAME]). */
#define IDB_MAX_CLIENTS 256           /* [client] sections */
#define IDB_MAX_CLIENT_ID_LEN 64      /* the NAME of [client NAME]: the client_id */
#define IDB_MAX_CLIENT_SECRETS 2      /* secret hashes per client: two while rotating */
#define IDB_MAX_REDIRECT_URIS 16      /* redirect_uri values per client */
#define IDB_MAX_REDIRECT_URI_LEN 1024 /* one redirect URI (config or request) */
#define IDB_MAX_PLUGINS 256           /* [plugin] sections */
#define IDB_MAX_PLUGIN_NAME_LEN 64    /* the NAME of [plugin NAME] */
#define IDB_SHA256_LEN 32             /* a stored secret hash */
/* The manifest (ai-plugin.json) limits, in characters (PROTOCOLS.md). */
#define IDB_MANIFEST_NAME_HUMAN_ADVISED 20  /* name_for_human: longer is warned */
#define IDB_MAX_MANIFEST_NAME_HUMAN 50
#define IDB_MAX_MANIFEST_NAME_MODEL 50
#define IDB_MAX_MANIFEST_DESC_HUMAN 120
#define IDB_MAX_MANIFEST_DESC_MODEL 8000
#define IDB_MAX_MANIFEST_URL_LEN 1024       /* logo_url, legal_info_url */
#define IDB_MAX_CONTACT_EMAIL_LEN 254       /* RFC 5321 path limit */
#define IDB_MAX_VERIFICATION_TOKEN_LEN 512  /* opaque, from the ChatGPT UI */
#define IDB_MAX_STORE_CLIENTS 1024    /* clients kept in the store (`idbridge client add`) */
#define IDB_MAX_CLIENT_NAME_LEN 128   /* a stored client's display name, in bytes */
#define IDB_CLIENT_SECRET_GEN_LEN 64  /* a secret made by `idbridge secret` / `client add` */
#define IDB_CLIENTS_RECHECK_MS 1000   /* stored clients are re-read at most this often */
#define IDB_MAX_REFRESH_TTL 31536000  /* [tokens] refresh_ttl, refresh_max_ttl: a year */
#define IDB_MAX_APIKEYS_PER_USER 1000    /* [apikeys] max_per_user */
#define IDB_MAX_APIKEY_LIFETIME 315360000 /* [apikeys] max_lifetime: ten years */
#define IDB_APIKEY_NAME_MAX 64           /* characters of an API key's name */
#define IDB_KEYUSAGE_FLUSH_S 30          /* [apikeys] last_used_interval default, seconds */
#define IDB_KEYUSAGE_FLUSH_MAX_S 3600    /* [apikeys] last_used_interval maximum */
#define IDB_KEYUSAGE_SLOTS 8192          /* keys whose last use awaits its write (keyusage.c) */

/* Auth worker pool. */
#define IDB_AUTH_QUEUE_LEN 256        /* queued sign-ins before 503 */
#define IDB_AUTH_PER_ADDR_INFLIGHT 8  /* one client address's queued jobs */
#define IDB_DEFAULT_AUTH_WORKERS 8

/* The PAM broker (broker.c, broker_wire.c, broker_throttle.c). */
#define IDB_BROKER_DEFAULT_WORKERS 2      /* [pam] workers */
#define IDB_BROKER_MAX_WORKERS 16
#define IDB_BROKER_MAX_RHOST_LEN 45       /* INET6_ADDRSTRLEN - 1: a client address */
#define IDB_BROKER_MAX_GROUP_LEN 256      /* one group name in a reply */
#define IDB_BROKER_MAX_FRAME 524288       /* one frame after its length; the largest reply ≈ 270 KiB */
#define IDB_BROKER_REPLY_TIMEOUT_S 30     /* a slower PAM call is UNAVAILABLE; its worker is replaced */
#define IDB_BROKER_BORROW_TIMEOUT_MS 10000 /* the longest wait for a free worker */
#define IDB_BROKER_START_TIMEOUT_S 10     /* the workers' first hello at start-up */
#define IDB_BROKER_RESTART_MIN_MS 1000    /* a worker is restarted no sooner after its own start */
#define IDB_BROKER_STOP_TIMEOUT_MS 5000   /* broker_stop waits this long, then SIGKILL */
#define IDB_BROKER_THROTTLE_SLOTS 1024    /* user names whose failures the broker counts */
#define IDB_BROKER_THROTTLE_FAILS 5       /* this many failures of one name within … */
#define IDB_BROKER_THROTTLE_WINDOW_S 60   /* … this window, and PAM is not asked … */
#define IDB_BROKER_THROTTLE_BLOCK_S 300   /* … for this long after the last one */
#define IDB_MAX_FAIL_DELAY_MS 5000        /* the most of a PAM fail delay a failed sign-in waits */

/* Login throttling (ratelimit.c). */
#define IDB_THROTTLE_ENTRIES 16384      /* LRU of counters, users and addresses together */
#define IDB_THROTTLE_WINDOW_S 900       /* a count decays this long after its last failure */
#define IDB_THROTTLE_FREE_USER 3        /* failures before a user name waits */
#define IDB_THROTTLE_FREE_ADDR 10       /* an address may be a whole office behind NAT */
#define IDB_THROTTLE_BASE_S 2           /* the first wait; each failure doubles it */
#define IDB_THROTTLE_MAX_S 300          /* the longest wait between attempts */
#define IDB_THROTTLE_USER_CAP 5         /* then no directory bind until the window passes */

/* The sign-in flow (h_authorize.c). */
#define IDB_PREAUTH_TTL_S 600           /* to sign in after GET /authorize */
#define IDB_SESSION_TTL_S 28800         /* a browser session: one working day */
#define IDB_LOGIN_FAILURE_MIN_MS 800    /* every failed sign-in takes at least this long */
#define IDB_SIGNIN_FRESH_MS 5000        /* GET /authorize reuses an identity this young */

/* Token endpoint, introspection, revocation (params.c, h_token.c, dircache.c). */
#define IDB_MAX_BASIC_AUTH_LEN 1024   /* an Authorization: Basic header value */
#define IDB_MAX_CLIENT_SECRET_LEN 512 /* a client secret as sent */
#define IDB_DIRCACHE_SLOTS 4096       /* users whose fresh identity is cached */
#define IDB_TOKEN_RETRY_AFTER_S 5     /* Retry-After when the directory is down */
#define IDB_REFRESH_TOKEN_BYTES 32    /* random bytes of a refresh token */
#define IDB_FAMILY_ID_BYTES 16        /* random bytes of a refresh family id */
#define IDB_JTI_BYTES 16              /* random bytes of an access token's jti */
#define IDB_COMMIT_BATCH_MAX 256      /* token writes in one group commit (commitq.h) */

/* Expired sessions, codes and tokens are purged this often (cli_serve.c). */
#define IDB_HOUSEKEEPING_S 60

/* Health. */
#define IDB_HEALTH_CACHE_S 3          /* /healthz directory probe is cached this long */

/* HTML templates (template.c). */
#define IDB_MAX_TEMPLATE_FILE 65536   /* one page or style.css; bigger → load error */
#define IDB_MAX_TEMPLATE_OUTPUT 262144 /* one rendered page; bigger → render error */
#define IDB_MAX_TEMPLATE_DEPTH 8      /* nested {{#…}} sections */
#define IDB_MAX_TEMPLATE_VARS 16      /* variables one page may have */

/* JWT access tokens and their signing keys (token.c, keys.c). */
#define IDB_MAX_JWT_LEN 8192          /* a whole compact JWT; longer → refused */
#define IDB_MAX_JWT_HEADER_LEN 1024   /* its header segment, base64url */
#define IDB_JWT_CLOCK_SKEW_S 60       /* tolerance for exp, nbf and iat */
#define IDB_JWKS_MAX_AGE_S 300        /* JWKS Cache-Control max-age; a new key signs only after it */
#define IDB_KEYS_RECHECK_MS 1000      /* the key set is re-read from the store at most this often */
#define IDB_MAX_SIGNING_KEYS 16       /* keys published at once (rotations pending + lingering) */
#define IDB_MAX_KEY_PEM_LEN 8192      /* one stored private key (RSA-2048 PKCS#8 ≈ 1.7 KB) */
#define IDB_DEFAULT_ACCESS_TTL 900    /* access token lifetime when none is given */

/* Log lines never carry more than this many bytes of an untrusted string. */
#define IDB_LOG_STR_MAX 100
/* Request log lines go out in batches (log.c): at most this late, this many bytes a write. */
#define IDB_LOG_BATCH_MS 50
#define IDB_LOG_BATCH_BYTES 4096     /* PIPE_BUF: a pipe writes it whole */

/* Prepared statements each SQLite connection keeps (store_sqlite_stmt.c). */
#define IDB_STMT_CACHE_SLOTS 128      /* the store has about 50 statement texts */
#define IDB_STMT_CACHE_PROBES 8       /* a longer probe run prepares uncached */

#endif
