/*
 * log.c — line-oriented logging to stderr.
 *
 * One write(2) per line so lines from different threads never interleave.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

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
	if (id == NULL)
		request_id[0] = '\0';
	else
		snprintf(request_id, sizeof(request_id), "%s", id);
}

const char *
log_request_id(void)
{
	return request_id[0] != '\0' ? request_id : "-";
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n, m;

	if (level < min_level)
		return;
	n = snprintf(line, sizeof(line), "%s[%ld]: %s req=%s ", ident,
	    (long)getpid(), level_names[level], log_request_id());
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
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
