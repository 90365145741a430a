/* Logging to stderr, one escaped line per event. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log/log.h"

static const char *const levels[MLOG__MAX] = { "ERROR", "WARN", "INFO", "DEBUG" };
static const char *ident = "myelin";
static enum mlog_level maxlevel = MLOG_INFO;

void
mlog_init(const char *id, enum mlog_level level)
{
	ident = id;
	maxlevel = level;
}

int
mlog_level_parse(const char *s, enum mlog_level *out)
{
	static const char *const names[MLOG__MAX] = { "error", "warn", "info", "debug" };
	for (int i = 0; i < MLOG__MAX; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum mlog_level)i;
			return 0;
		}
	return -1;
}

int
mlog_enabled(enum mlog_level level)
{
	return level <= maxlevel;
}

/*
 * Writes "time ident reqid LEVEL message".  Bytes outside printable ASCII
 * are escaped, because messages may carry untrusted input such as paths.
 */
void
mlog(enum mlog_level level, const char *reqid, const char *fmt, ...)
{
	char		 buf[1024], out[4096], ts[32];
	va_list		 ap;
	size_t		 j = 0;
	time_t		 now = time(NULL);
	struct tm	 tm;

	if (!mlog_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (const unsigned char *p = (const unsigned char *)buf;
	    *p != '\0' && j + 5 < sizeof(out); p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\')
			out[j++] = (char)*p;
		else
			j += (size_t)snprintf(out + j, sizeof(out) - j,
			    "\\x%02x", *p);
	}
	out[j] = '\0';
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s %s %s %s %s\n", ts, ident,
	    reqid != NULL ? reqid : "-", levels[level], out);
}
