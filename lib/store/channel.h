/* PostgreSQL notification channels (LISTEN/NOTIFY), for lib/notify. */
#ifndef MYELIN_STORE_CHANNEL_H
#define MYELIN_STORE_CHANNEL_H

struct mchan;

/*
 * Opens a connection of its own to conninfo; when listen is not NULL it
 * LISTENs on that channel.  NULL on failure (logged as a warning).
 */
struct mchan	*mstore_chan_open(const char *conninfo, const char *listen);
void		 mstore_chan_close(struct mchan *);
/* 1 while the connection is usable. */
int		 mstore_chan_ok(const struct mchan *);
/* NOTIFY channel with payload (bound as parameters).  0 or -1. */
int		 mstore_chan_notify(struct mchan *, const char *channel, const char *payload);
/*
 * Waits up to timeout_ms for notifications on a listening channel and
 * calls fn(arg, payload) for each.  0, or -1 when the connection is lost.
 */
int		 mstore_chan_wait(struct mchan *, int timeout_ms,
		    void (*fn)(void *, const char *), void *arg);

#endif
