/*
 * log.h — one line per event, to stderr (journald adds the time) or to a
 * file when testing.
 *
 * Every line carries the request id of the calling thread (set by http.c for
 * the duration of a request, by the auth pool for the job it runs), so a
 * sign-in can be followed from the request line to the audit line.
 *
 * Untrusted strings go through log_safe() first: control characters and
 * non-printables are rendered as \xNN and the result is capped at
 * IDB_LOG_STR_MAX bytes.  Secrets never reach this module.
 */
#ifndef IDBRIDGE_LOG_H
#define IDBRIDGE_LOG_H

#include <stddef.h>
#include "bridge.h"

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERR };

void log_set_level(enum log_level level);
/* Program name used as the line prefix ("idbridge"). */
void log_set_ident(const char *ident);

void log_msg(enum log_level level, const char *fmt, ...) IDB_PRINTF(2, 3);
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)

/*
 * The request line of http.c: msg[0..len) (no newline) logged at info
 * level with request id req_id, as log_info would, but without printf.
 * While log_batch_start() is in effect it waits in a buffer of the calling
 * thread that is written whole when the next line would take it past
 * IDB_LOG_BATCH_BYTES, else about IDB_LOG_BATCH_MS after its first line:
 * one write(2) per batch, not per request.  Lines never interleave (a write holds whole
 * lines), but a request line may come after lines logged later by other
 * code, and the lines waiting are lost if the process crashes.
 */
void log_access(const char *req_id, const char *msg, size_t len);
/* Start the thread that writes waiting request lines; 0, or -1 (lines are then written at once). */
int log_batch_start(void);
/* Write every waiting line and stop that thread (once no thread logs requests any more). */
void log_batch_stop(void);

/* The request id of the calling thread ("-" when none). */
void log_set_request_id(const char *id);
const char *log_request_id(void);

/*
 * Render an untrusted string printable and capped into buf (always
 * NUL-terminated).  Returns buf, so it can be used inline in a log call.
 */
const char *log_safe(char *buf, size_t size, const char *s);
#define LOG_SAFE_BUF (IDB_LOG_STR_MAX * 4 + 4)

#endif
