/*
 * store_sqlite.c — the embedded default store: SQLite in WAL mode.
 *
 * One connection per thread (SQLITE_OPEN_NOMUTEX), opened on a thread's
 * first use and closed when the thread ends, so threads never contend on
 * a connection mutex.  synchronous=FULL: a write that hands a secret to a
 * client must be durable before the response leaves.  Files are created
 * 0600 (the daemon runs under umask 077; the database file is chmod-ed as
 * well, in case it runs under a laxer umask).
 *
 * Migrations: an ordered list of SQL scripts; PRAGMA user_version holds
 * how many have been applied.  Each is applied in its own BEGIN IMMEDIATE
 * transaction at open, so two processes starting together cannot both
 * apply one.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>

#include "commitq.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "store_sqlite_int.h"

#define BUSY_TIMEOUT_MS 5000
#define WAL_AUTOCHECKPOINT_PAGES 1000   /* SQLite's own default */
/*
 * The busy handler's first waits (µs), then BUSY_STEP_US until
 * BUSY_TIMEOUT_MS.  SQLite's own sleeps 1, 2, 5, 10 … ms, far longer than
 * a write transaction here holds the lock (one fsync, ~0.2 ms).
 */
#define BUSY_FIRST_US 50
#define BUSY_STEP_US 1000

/* A trigger's body: move the revocation generation (migration 6). */
#define REVOCATION_BUMP "BEGIN UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)" \
	" WHERE key = 'revocation_generation'; END;"

static const char *const migrations[] = {
	/* 1: bookkeeping.  Later issues append their tables as new entries. */
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;"
	"CREATE TABLE schema_history (version INTEGER PRIMARY KEY,"
	"  applied_at INTEGER NOT NULL) STRICT;"
	"INSERT INTO meta (key, value) VALUES ('created_at', CAST(unixepoch() AS TEXT));",
	/* 2: OAuth state (store_sqlite_oauth.c).  Secrets are stored as SHA-256 only. */
	"CREATE TABLE sessions (id_hash BLOB PRIMARY KEY, user_id TEXT NOT NULL,"
	"  username TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL) STRICT;"
	"CREATE INDEX sessions_user ON sessions (user_id);"
	"CREATE TABLE preauth (id_hash BLOB PRIMARY KEY, request TEXT NOT NULL,"
	"  expires_at INTEGER NOT NULL) STRICT;"
	"CREATE TABLE consents (user_id TEXT NOT NULL, client_id TEXT NOT NULL,"
	"  scope TEXT NOT NULL, granted_at INTEGER NOT NULL,"
	"  PRIMARY KEY (user_id, client_id)) STRICT;"
	"CREATE TABLE codes (code_hash BLOB PRIMARY KEY, client_id TEXT NOT NULL,"
	"  user_id TEXT NOT NULL, username TEXT NOT NULL, scope TEXT NOT NULL,"
	"  redirect_uri TEXT NOT NULL, code_challenge TEXT, created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0, family_id TEXT) STRICT;"
	"CREATE TABLE refresh_families (family_id TEXT PRIMARY KEY, client_id TEXT NOT NULL,"
	"  user_id TEXT NOT NULL, username TEXT NOT NULL, scope TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, revoked_at INTEGER) STRICT;"
	"CREATE INDEX refresh_families_user ON refresh_families (user_id);"
	"CREATE TABLE refresh_tokens (token_hash BLOB PRIMARY KEY,"
	"  family_id TEXT NOT NULL REFERENCES refresh_families (family_id) ON DELETE CASCADE,"
	"  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
	"  used INTEGER NOT NULL DEFAULT 0) STRICT;"
	"CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);"
	"CREATE TABLE access_tokens (jti TEXT PRIMARY KEY,"
	"  family_id TEXT NOT NULL REFERENCES refresh_families (family_id) ON DELETE CASCADE,"
	"  expires_at INTEGER NOT NULL) STRICT;"
	"CREATE INDEX access_tokens_family ON access_tokens (family_id);",
	/* 3: JWT signing keys (store_sqlite_keys.c). */
	"CREATE TABLE signing_keys (kid TEXT PRIMARY KEY,"
	"  alg TEXT NOT NULL CHECK (alg IN ('RS256', 'ES256', 'EdDSA')),"
	"  private_key TEXT NOT NULL, created_at INTEGER NOT NULL,"
	"  activate_at INTEGER NOT NULL, retire_at INTEGER, drop_at INTEGER) STRICT;"
	"INSERT INTO meta (key, value) VALUES ('signing_keys_generation', '0');",
	/* 4: clients kept in the store (store_sqlite_clients.c); secrets as SHA-256 only. */
	"CREATE TABLE clients (client_id TEXT PRIMARY KEY, name TEXT NOT NULL,"
	"  secret_hash BLOB CHECK (secret_hash IS NULL OR length(secret_hash) = 32),"
	"  secret_hash2 BLOB CHECK (secret_hash2 IS NULL OR length(secret_hash2) = 32),"
	"  redirect_uris TEXT NOT NULL, scopes TEXT NOT NULL,"
	"  pkce_required INTEGER NOT NULL CHECK (pkce_required IN (0, 1)),"
	"  public INTEGER NOT NULL CHECK (public IN (0, 1)),"
	"  consent_skip INTEGER NOT NULL CHECK (consent_skip IN (0, 1)),"
	"  introspect INTEGER NOT NULL CHECK (introspect IN (0, 1)),"
	"  created_at INTEGER NOT NULL,"
	"  CHECK ((public = 1) = (secret_hash IS NULL))) STRICT;"
	"INSERT INTO meta (key, value) VALUES ('clients_generation', '0');",
	/* 5: per-employee API keys (store_sqlite_apikeys.c); the key as SHA-256 only. */
	"CREATE TABLE api_keys (id INTEGER PRIMARY KEY, prefix TEXT NOT NULL,"
	"  hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),"
	"  user_id TEXT NOT NULL, username TEXT NOT NULL, name TEXT NOT NULL,"
	"  scope TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER,"
	"  last_used_at INTEGER, revoked_at INTEGER) STRICT;"
	"CREATE INDEX api_keys_prefix ON api_keys (prefix);"
	"CREATE INDEX api_keys_username ON api_keys (username COLLATE NOCASE);",
	/*
	 * 6: a counter every change that can end a live credential moves, kept
	 * by triggers so that no code path (this daemon, the admin CLI, a
	 * future one) can forget it.  The /verify cache re-reads it once a
	 * second (store_revocation_generation); new rows and last-use updates
	 * leave it alone, so a busy morning does not make every cached result
	 * stale.
	 */
	"INSERT INTO meta (key, value) VALUES ('revocation_generation', '0');"
	"CREATE TRIGGER revocation_family_update AFTER UPDATE OF revoked_at, expires_at"
	"  ON refresh_families " REVOCATION_BUMP
	"CREATE TRIGGER revocation_family_delete AFTER DELETE ON refresh_families "
	REVOCATION_BUMP
	"CREATE TRIGGER revocation_access_update AFTER UPDATE ON access_tokens "
	REVOCATION_BUMP
	"CREATE TRIGGER revocation_access_delete AFTER DELETE ON access_tokens "
	REVOCATION_BUMP
	"CREATE TRIGGER revocation_apikey_update AFTER UPDATE OF revoked_at, expires_at,"
	"  hash, prefix, user_id, username, scope ON api_keys " REVOCATION_BUMP
	"CREATE TRIGGER revocation_apikey_delete AFTER DELETE ON api_keys "
	REVOCATION_BUMP,
};
#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

struct store {
	char *path;
	pthread_key_t conn_key;
	int version;
	/* The group-commit writer (commitq.h), started on first use. */
	pthread_mutex_t cq_lock;
	struct commitq *cq;
	bool cq_failed;
	/* store_on_revocation's callback: set before the threads that commit start. */
	void (*revoked_fn)(void *arg);
	void *revoked_arg;
};

static char *
errorf(const char *what, const char *path, const char *why)
{
	char *s = NULL;

	if (asprintf(&s, "%s %s: %s", what, path, why) < 0)
		return NULL;
	return s;
}

/* A thread's connection and the statements it keeps prepared. */
struct tconn {
	struct store *st;
	sqlite3 *db;
	sqlite3_stmt *ping;
	struct stmt_cache *stmts;
	bool meta_changed;      /* the open transaction moved a generation in meta */
};

static void
close_conn(void *p)
{
	struct tconn *tc = p;

	if (tc == NULL)
		return;
	sqlite3_finalize(tc->ping);
	stmt_cache_free(tc->stmts);
	sqlite3_close_v2(tc->db);
	free(tc);
}

static int
exec_sql(sqlite3 *db, const char *sql, char **err_r)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		*err_r = strdup(msg != NULL ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/*
 * Wait for the write lock in short steps: BUSY_FIRST_US doubling up to
 * BUSY_STEP_US, then BUSY_STEP_US, until about BUSY_TIMEOUT_MS in all.
 */
static int
busy_wait(void *arg, int count)
{
	unsigned us = BUSY_FIRST_US;
	uint64_t waited = 0;

	(void)arg;
	for (int i = 0; i < count && us < BUSY_STEP_US; i++) {
		waited += us;
		us *= 2;
	}
	if (us >= BUSY_STEP_US) {
		us = BUSY_STEP_US;
		waited = (uint64_t)count * BUSY_STEP_US;  /* an upper bound is enough */
	}
	if (waited >= (uint64_t)BUSY_TIMEOUT_MS * 1000)
		return 0;
	usleep(us);
	return 1;
}

static sqlite3 *
open_conn(const char *path, char **err_r)
{
	sqlite3 *db = NULL;
	int rc;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		*err_r = errorf("cannot open", path,
		    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close_v2(db);
		return NULL;
	}
	sqlite3_busy_handler(db, busy_wait, NULL);
	/*
	 * temp_store=MEMORY: the group commit runs each job in a savepoint, and
	 * SQLite journals every statement inside one; on disk that was a file
	 * created, written and unlinked in /var/tmp many times a second.
	 */
	if (exec_sql(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	    "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;", err_r) != 0) {
		sqlite3_close_v2(db);
		return NULL;
	}
	return db;
}

/*
 * Revocations made by this process reach its caches at once: the triggers
 * of migration 6 move a generation in meta, the update hook notes it, and
 * the WAL hook — run after the commit, before the statement that committed
 * returns — calls store_on_revocation's callback.  Other generations in
 * meta (signing keys, clients) call it too: rare, and harmless.
 */
static void
on_update(void *arg, int op, const char *dbname, const char *table, sqlite3_int64 rowid)
{
	struct tconn *tc = arg;

	(void)op;
	(void)dbname;
	(void)rowid;
	if (strcmp(table, "meta") == 0)
		tc->meta_changed = true;
}

static void
on_rollback(void *arg)
{
	((struct tconn *)arg)->meta_changed = false;
}

/* Setting a WAL hook replaces SQLite's auto-checkpoint hook: this does its work too. */
static int
on_commit(void *arg, sqlite3 *db, const char *dbname, int frames)
{
	struct tconn *tc = arg;
	struct store *st = tc->st;

	if (tc->meta_changed) {
		tc->meta_changed = false;
		if (st->revoked_fn != NULL)
			st->revoked_fn(st->revoked_arg);
	}
	if (frames >= WAL_AUTOCHECKPOINT_PAGES)
		(void)sqlite3_wal_checkpoint(db, dbname);
	return SQLITE_OK;
}

void
store_on_revocation(struct store *st, void (*fn)(void *arg), void *arg)
{
	st->revoked_fn = fn;
	st->revoked_arg = arg;
}

/* The calling thread's connection, opened on first use. */
static struct tconn *
tconn(struct store *st, char **err_r)
{
	struct tconn *tc = pthread_getspecific(st->conn_key);

	if (tc != NULL)
		return tc;
	if ((tc = calloc(1, sizeof(*tc))) == NULL || (tc->stmts = stmt_cache_new()) == NULL) {
		free(tc);
		*err_r = strdup("out of memory");
		return NULL;
	}
	if ((tc->db = open_conn(st->path, err_r)) == NULL) {
		stmt_cache_free(tc->stmts);
		free(tc);
		return NULL;
	}
	tc->st = st;
	sqlite3_update_hook(tc->db, on_update, tc);
	sqlite3_rollback_hook(tc->db, on_rollback, tc);
	sqlite3_wal_hook(tc->db, on_commit, tc);
	pthread_setspecific(st->conn_key, tc);
	return tc;
}

sqlite3 *
store_sqlite_db(struct store *st, char **err_r)
{
	struct tconn *tc = tconn(st, err_r);

	return tc != NULL ? tc->db : NULL;
}

sqlite3 *
store_sqlite_conn(struct store *st, struct stmt_cache **cache_r, char **err_r)
{
	struct tconn *tc = tconn(st, err_r);

	*cache_r = tc != NULL ? tc->stmts : NULL;
	return tc != NULL ? tc->db : NULL;
}

static int
user_version(sqlite3 *db)
{
	sqlite3_stmt *stmt = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

/* Apply migration index i (version i + 1) unless another process just did. */
static int
apply_migration(sqlite3 *db, int i, char **err_r)
{
	char tail[160];

	if (exec_sql(db, "BEGIN IMMEDIATE", err_r) != 0)
		return -1;
	if (user_version(db) > i)
		return exec_sql(db, "COMMIT", err_r);
	snprintf(tail, sizeof(tail), "INSERT INTO schema_history VALUES (%d, unixepoch());"
	    "PRAGMA user_version = %d;", i + 1, i + 1);
	if (exec_sql(db, migrations[i], err_r) != 0 || exec_sql(db, tail, err_r) != 0 ||
	    exec_sql(db, "COMMIT", err_r) != 0) {
		char *ignored = NULL;

		(void)exec_sql(db, "ROLLBACK", &ignored);
		free(ignored);
		return -1;
	}
	log_info("store: applied schema migration %d", i + 1);
	return 0;
}

static int
migrate(struct store *st, sqlite3 *db, char **err_r)
{
	int v = user_version(db);

	if (v < 0) {
		*err_r = errorf("cannot read the schema version of", st->path, sqlite3_errmsg(db));
		return -1;
	}
	if (v > N_MIGRATIONS) {
		*err_r = errorf("schema of", st->path,
		    "is newer than this idbridge knows (downgrade refused)");
		return -1;
	}
	for (int i = v; i < N_MIGRATIONS; i++)
		if (apply_migration(db, i, err_r) != 0)
			return -1;
	st->version = user_version(db);
	return 0;
}

/* Create the file 0600 before SQLite does (it would use 0644 under umask 022). */
static int
create_private(const char *path, char **err_r)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0) {
		*err_r = errorf("cannot create", path, strerror(errno));
		return -1;
	}
	close(fd);
	if (chmod(path, 0600) != 0) {
		*err_r = errorf("cannot chmod", path, strerror(errno));
		return -1;
	}
	return 0;
}

struct store *
store_open(const struct config_store *cfg, char **err_r)
{
	struct store *st = NULL;
	struct tconn *tc;

	*err_r = NULL;
	if (cfg->driver != STORE_SQLITE) {
		*err_r = strdup("only the sqlite store is built");
		return NULL;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL || (st->path = strdup(cfg->path)) == NULL)
		goto fail;
	pthread_mutex_init(&st->cq_lock, NULL);
	if (pthread_key_create(&st->conn_key, close_conn) != 0)
		goto fail_key;
	if (create_private(st->path, err_r) != 0 || (tc = tconn(st, err_r)) == NULL ||
	    migrate(st, tc->db, err_r) != 0) {
		store_close(st);
		return NULL;
	}
	return st;
fail_key:
	free(st->path);
	free(st);
	return NULL;
fail:
	if (st != NULL)
		free(st->path);
	free(st);
	*err_r = strdup("out of memory");
	return NULL;
}

void
store_close(struct store *st)
{
	struct tconn *tc;

	if (st == NULL)
		return;
	/* The writer ends first: its connection closes with its thread. */
	commitq_stop(st->cq);
	pthread_mutex_destroy(&st->cq_lock);
	/* Other threads' connections were closed by the key destructor as they ended. */
	if ((tc = pthread_getspecific(st->conn_key)) != NULL) {
		pthread_setspecific(st->conn_key, NULL);
		close_conn(tc);
	}
	pthread_key_delete(st->conn_key);
	free(st->path);
	free(st);
}

int
store_revocation_generation(struct store *st, int64_t *gen_r, char **err_r)
{
	*err_r = NULL;
	return store_generation_read(st, "revocation_generation", gen_r, err_r);
}

struct commitq *
store_commitq(struct store *st)
{
	struct commitq *q;

	pthread_mutex_lock(&st->cq_lock);
	if (st->cq == NULL && !st->cq_failed) {
		if ((st->cq = commitq_start(st)) == NULL) {
			log_err("store: cannot start the group-commit writer: %s", strerror(errno));
			st->cq_failed = true;
		}
	}
	q = st->cq;
	pthread_mutex_unlock(&st->cq_lock);
	return q;
}

int
store_schema_version(struct store *st)
{
	return st->version;
}

int
store_latest_schema_version(void)
{
	return N_MIGRATIONS;
}

int
store_ping(struct store *st, char **err_r)
{
	struct tconn *tc;
	int rc = -1;

	*err_r = NULL;
	if ((tc = tconn(st, err_r)) == NULL)
		return -1;
	/* A real read of the file, not just "SELECT 1", which never touches it. */
	if (tc->ping == NULL && sqlite3_prepare_v2(tc->db,
	    "SELECT value FROM meta WHERE key = 'created_at'", -1, &tc->ping, NULL) != SQLITE_OK) {
		*err_r = strdup(sqlite3_errmsg(tc->db));
		return -1;
	}
	if (sqlite3_step(tc->ping) == SQLITE_ROW)
		rc = 0;
	else
		*err_r = strdup(sqlite3_errmsg(tc->db));
	sqlite3_reset(tc->ping);
	return rc;
}
