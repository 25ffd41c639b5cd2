/*
 * log.c — line-oriented logging to stderr.
 *
 * One write(2) per line so lines from different threads never interleave;
 * request lines (log_access) are the exception: one write(2) per batch of
 * whole lines.  At tens of thousands of requests a second a write per
 * request was a tenth of the daemon's CPU time on /verify (the file
 * system's or journald's per-call work, not the bytes).
 *
 * Batches: each thread that logs requests owns a buffer (found through a
 * thread-local pointer, so its lock is never contended but by the writer
 * thread).  The owner writes its buffer when the next line would not fit
 * (a busy thread fills one in a few milliseconds); the writer thread,
 * woken when a buffer gets its first line, writes whatever is waiting
 * IDB_LOG_BATCH_MS later, so lines are late by about that much at most
 * and the hot path reads no clock.  A thread's buffer is written and handed back when
 * the thread ends; buffers are reused, never freed.  A batch is at most
 * PIPE_BUF bytes, so even a pipe never splits it among other writers.
 */
#include "autoconfig.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LINE_MAX_LEN 2048

static enum log_level min_level = LOG_LVL_INFO;
static const char *ident = "idbridge";
static __thread char request_id[40];

static const char *const level_names[] = {
	[LOG_LVL_DEBUG] = "debug",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_WARN] = "warning",
	[LOG_LVL_ERR] = "error",
};

void
log_set_level(enum log_level level)
{
	min_level = level;
}

void
log_set_ident(const char *name)
{
	ident = name;
}

void
log_set_request_id(const char *id)
{
	size_t n = id != NULL ? strnlen(id, sizeof(request_id) - 1) : 0;

	memcpy(request_id, id != NULL ? id : "", n);
	request_id[n] = '\0';
}

const char *
log_request_id(void)
{
	return request_id[0] != '\0' ? request_id : "-";
}

/* ---- the process id, read once (getpid is a system call) --------------- */

static atomic_long cached_pid;          /* 0: not read yet, or forked since */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void
forget_pid(void)
{
	atomic_store_explicit(&cached_pid, 0, memory_order_relaxed);
}

static void
install_atfork(void)
{
	(void)pthread_atfork(NULL, NULL, forget_pid);
}

static long
log_pid(void)
{
	long pid;

	pthread_once(&atfork_once, install_atfork);
	if ((pid = atomic_load_explicit(&cached_pid, memory_order_relaxed)) == 0) {
		pid = (long)getpid();
		atomic_store_explicit(&cached_pid, pid, memory_order_relaxed);
	}
	return pid;
}

/* ---- formatting ------------------------------------------------------------ */

/* One whole line, newline included, into line (LINE_MAX_LEN); its length, or 0. */
static size_t
format_line(char *line, enum log_level level, const char *req_id, const char *fmt,
    va_list ap)
{
	int n, m;

	n = snprintf(line, LINE_MAX_LEN, "%s[%ld]: %s req=%s ", ident, log_pid(),
	    level_names[level], req_id);
	if (n < 0 || (size_t)n >= LINE_MAX_LEN)
		return 0;
	m = vsnprintf(line + n, LINE_MAX_LEN - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return 0;
	n += m;
	if ((size_t)n > LINE_MAX_LEN - 2)
		n = LINE_MAX_LEN - 2;
	line[n++] = '\n';
	return (size_t)n;
}

/* All of buf[0..len) to stderr; a short write is continued (a batch is bigger than PIPE_BUF). */
static void
write_all(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(STDERR_FILENO, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		len -= (size_t)w;
	}
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char line[LINE_MAX_LEN];
	va_list ap;
	size_t n;

	if (level < min_level)
		return;
	va_start(ap, fmt);
	n = format_line(line, level, log_request_id(), fmt, ap);
	va_end(ap);
	if (n > 0)
		(void)!write(STDERR_FILENO, line, n);
}

/* ---- request lines, in batches -------------------------------------------- */

_Static_assert(LINE_MAX_LEN <= IDB_LOG_BATCH_BYTES, "a line must fit in an empty batch");

struct batch {
	pthread_mutex_t lock;
	char data[IDB_LOG_BATCH_BYTES];
	size_t len;
	bool owned;                     /* a live thread logs into it */
	struct batch *next;             /* every batch ever made (batches_lock) */
};

static pthread_mutex_t batches_lock = PTHREAD_MUTEX_INITIALIZER;
static struct batch *batches;
static pthread_key_t batch_key;         /* its destructor hands a thread's batch back */
static bool batch_key_made;
static __thread struct batch *my_batch;

/* The writer thread and its wake-up. */
static pthread_mutex_t writer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t writer_cond;
static pthread_t writer;
static atomic_bool batching;            /* the writer runs: lines may wait */
static atomic_bool waiting;             /* some batch has lines the writer was not told of */
static bool writer_stop;

/* Write b's lines now.  Under b->lock. */
static void
batch_write(struct batch *b)
{
	if (b->len > 0)
		write_all(b->data, b->len);
	b->len = 0;
}

static void
batch_release(void *arg)
{
	struct batch *b = arg;

	pthread_mutex_lock(&b->lock);
	batch_write(b);
	pthread_mutex_unlock(&b->lock);
	pthread_mutex_lock(&batches_lock);
	b->owned = false;
	pthread_mutex_unlock(&batches_lock);
}

/* The calling thread's batch (a free one, else a new one), or NULL. */
static struct batch *
batch_mine(void)
{
	struct batch *b;

	if (my_batch != NULL)
		return my_batch;
	pthread_mutex_lock(&batches_lock);
	for (b = batches; b != NULL && b->owned; b = b->next)
		;
	if (b == NULL && (b = calloc(1, sizeof(*b))) != NULL) {
		pthread_mutex_init(&b->lock, NULL);
		b->next = batches;
		batches = b;
	}
	/* Owned only once its thread's exit will hand it back. */
	if (b != NULL && pthread_setspecific(batch_key, b) == 0) {
		b->owned = true;
		my_batch = b;
	}
	pthread_mutex_unlock(&batches_lock);
	return my_batch;
}

/* Append line to the calling thread's batch; false when it must be written at once. */
static bool
batch_add(const char *line, size_t n)
{
	struct batch *b;
	bool was_empty;

	if (!atomic_load_explicit(&batching, memory_order_acquire) || (b = batch_mine()) == NULL)
		return false;
	pthread_mutex_lock(&b->lock);
	if (b->len + n > sizeof(b->data))
		batch_write(b);
	was_empty = b->len == 0;
	memcpy(b->data + b->len, line, n);
	b->len += n;
	pthread_mutex_unlock(&b->lock);
	/* The first line of a batch: make sure the writer will look within IDB_LOG_BATCH_MS. */
	if (was_empty && !atomic_exchange(&waiting, true)) {
		pthread_mutex_lock(&writer_lock);
		pthread_cond_signal(&writer_cond);
		pthread_mutex_unlock(&writer_lock);
	}
	return true;
}

/* "IDENT[PID]: info req=" for the calling process, in buf (64 bytes); its length. */
static size_t
access_prefix(char *buf)
{
	static _Thread_local char cached[64];
	static _Thread_local size_t cached_len;
	static _Thread_local long cached_for;
	long pid = log_pid();
	int n;

	if (cached_len == 0 || cached_for != pid) {
		n = snprintf(cached, sizeof(cached), "%s[%ld]: %s req=", ident, pid,
		    level_names[LOG_LVL_INFO]);
		cached_len = n > 0 && (size_t)n < sizeof(cached) ? (size_t)n : 0;
		cached_for = pid;
	}
	memcpy(buf, cached, cached_len);
	return cached_len;
}

void
log_access(const char *req_id, const char *msg, size_t len)
{
	char line[LINE_MAX_LEN];
	size_t n, id_len;

	if (LOG_LVL_INFO < min_level)
		return;
	if (req_id == NULL || *req_id == '\0')
		req_id = "-";
	id_len = strnlen(req_id, sizeof(request_id) - 1);
	if ((n = access_prefix(line)) == 0)
		return;
	/* As log_msg: a line is cut to LINE_MAX_LEN - 1 bytes and the newline. */
	memcpy(line + n, req_id, id_len);
	n += id_len;
	line[n++] = ' ';
	if (len > LINE_MAX_LEN - 2 - n)
		len = LINE_MAX_LEN - 2 - n;
	memcpy(line + n, msg, len);
	n += len;
	line[n++] = '\n';
	if (!batch_add(line, n))
		(void)!write(STDERR_FILENO, line, n);
}

/* Write every batch's lines. */
static void
write_batches(void)
{
	pthread_mutex_lock(&batches_lock);
	for (struct batch *b = batches; b != NULL; b = b->next) {
		pthread_mutex_lock(&b->lock);
		batch_write(b);
		pthread_mutex_unlock(&b->lock);
	}
	pthread_mutex_unlock(&batches_lock);
}

static void *
writer_main(void *arg)
{
	struct timespec ts;

	(void)arg;
	pthread_mutex_lock(&writer_lock);
	while (!writer_stop) {
		if (!atomic_load(&waiting)) {
			pthread_cond_wait(&writer_cond, &writer_lock);
			continue;
		}
		/* Let the batch fill for IDB_LOG_BATCH_MS; only a stop cuts this short. */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long)IDB_LOG_BATCH_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		while (!writer_stop &&
		    pthread_cond_timedwait(&writer_cond, &writer_lock, &ts) != ETIMEDOUT)
			;
		/* Cleared before writing: a line added meanwhile sets it again. */
		atomic_store(&waiting, false);
		pthread_mutex_unlock(&writer_lock);
		write_batches();
		pthread_mutex_lock(&writer_lock);
	}
	pthread_mutex_unlock(&writer_lock);
	return NULL;
}

int
log_batch_start(void)
{
	pthread_condattr_t ca;

	if (atomic_load(&batching))
		return 0;
	if (!batch_key_made) {
		if (pthread_key_create(&batch_key, batch_release) != 0)
			return -1;
		batch_key_made = true;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&writer_cond, &ca);
	pthread_condattr_destroy(&ca);
	writer_stop = false;
	if (pthread_create(&writer, NULL, writer_main, NULL) != 0) {
		pthread_cond_destroy(&writer_cond);
		return -1;
	}
	atomic_store_explicit(&batching, true, memory_order_release);
	return 0;
}

void
log_batch_stop(void)
{
	if (!atomic_load(&batching))
		return;
	atomic_store(&batching, false);
	pthread_mutex_lock(&writer_lock);
	writer_stop = true;
	pthread_cond_signal(&writer_cond);
	pthread_mutex_unlock(&writer_lock);
	pthread_join(writer, NULL);
	pthread_cond_destroy(&writer_cond);
	/* Lines come one at a time from now on; the batches stay for a later start. */
	write_batches();
}

const char *
log_safe(char *buf, size_t size, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, in = 0;

	if (s == NULL)
		s = "(null)";
	for (; s[in] != '\0' && in < IDB_LOG_STR_MAX && o + 5 < size; in++) {
		unsigned char c = (unsigned char)s[in];

		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
			buf[o++] = (char)c;
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	if (s[in] != '\0' && o + 4 < size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}
