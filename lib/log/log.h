/* Logging: one line per event, untrusted bytes escaped, level tested first. */
#ifndef MYELIN_LOG_H
#define MYELIN_LOG_H

enum mlog_level { MLOG_ERROR, MLOG_WARN, MLOG_INFO, MLOG_DEBUG, MLOG__MAX };

void	mlog_init(const char *ident, enum mlog_level level);
int	mlog_level_parse(const char *s, enum mlog_level *out);
int	mlog_enabled(enum mlog_level level);
void	mlog(enum mlog_level level, const char *reqid, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#define mlog_err(r, ...)	mlog(MLOG_ERROR, (r), __VA_ARGS__)
#define mlog_warn(r, ...)	mlog(MLOG_WARN, (r), __VA_ARGS__)
#define mlog_info(r, ...)	mlog(MLOG_INFO, (r), __VA_ARGS__)
#define mlog_debug(r, ...)	mlog(MLOG_DEBUG, (r), __VA_ARGS__)

#endif
