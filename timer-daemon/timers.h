/* myelin-timerd: the timers kept in files of their own. */
#ifndef MYELIN_TIMERD_TIMERS_H
#define MYELIN_TIMERD_TIMERS_H

#include <stdint.h>

#include "daemon/daemon.h"

#define NOMORE	MDAEMON_NOMORE

struct mdb;
struct mnotify;

/*
 * Ends typing notifications whose timeout passed (db's commit wakes the
 * syncs).  Returns the milliseconds until the next one ends.  notify,
 * the segment db was opened with, may be NULL.
 */
int64_t	t_typing(struct mdb *, struct mnotify *, int64_t now);

/*
 * Moves idle users' presence to unavailable, then offline (db's commit
 * wakes the syncs).  Returns the milliseconds until the next look.
 */
int64_t	t_presence(struct mdb *, struct mnotify *, int64_t now);

/*
 * MSC2228: prunes the messages whose self_destruct_after passed.
 * Returns the milliseconds until the next one is due (or a guard).
 */
int64_t	t_expiry(struct mdb *, struct mnotify *, int64_t now);

struct mconfig;
struct mkey;
/*
 * Delayed events (MSC4140, max_event_delay_ms): sends those due, as
 * their users, with the server's signing key given once.  Returns the
 * milliseconds until the next is due (at most a second: new ones are
 * rows, not stream moves), NOMORE when delayed events are off.
 */
void	t_delayed_init(const struct mconfig *, const struct mkey *);
int64_t	t_delayed(struct mdb *, struct mnotify *, int64_t now);

/*
 * Media retention (media_retention_local_lifetime and
 * _remote_lifetime) and expired URL previews, hourly.
 */
void	t_media_init(const struct mconfig *);
int64_t	t_media(struct mdb *, struct mnotify *, int64_t now);

/*
 * Message retention (retention.enabled, off by default): every
 * retention.purge_interval, the messages older than their room's
 * lifetime are deleted.  NOMORE when retention is off.
 */
void	t_retention_init(const struct mconfig *);
int64_t	t_retention(struct mdb *, struct mnotify *, int64_t now);

/*
 * Every five minutes, in batches: expired login and refresh tokens (and
 * the access tokens of the latter), to-device transaction IDs older than
 * a day, idle sliding-sync connections (timer-daemon/cleanup.c).
 */
int64_t	t_cleanup(struct mdb *, struct mnotify *, int64_t now);

#endif
