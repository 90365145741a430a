/* myelin-sync: the streams a sync token spans, and what each adds to a response. */
#ifndef MYELIN_SYNC_H
#define MYELIN_SYNC_H

#include <stdint.h>
#include <jansson.h>

#include "fcgi/fcgi.h"

/*
 * A sync token is "s" and one position per stream, in this order, joined
 * by "_" ("s42_7_3_0_0_0_0").  Positions live in the database, so tokens
 * survive restarts; a token with fewer positions (an older myelin) reads
 * the missing ones as 0.
 */
enum spos {
	SPOS_EVENTS,
	SPOS_TYPING,
	SPOS_RECEIPTS,
	SPOS_ACCOUNT_DATA,
	SPOS_PRESENCE,
	SPOS_TODEVICE,
	SPOS_DEVICE_LISTS,
	SPOS__MAX
};

struct syncpos {
	int64_t		 p[SPOS__MAX];
};

/* What one request keeps between wakes. */
struct syncstate {
	int		 initial;	/* no since: everything */
	struct syncpos	 since;
	int64_t		 deadline;
	int		 full_state;
	int64_t		 limit;		/* timeline events per room */
	json_t		*filter;	/* the filter object, or NULL */
};

/* One run of the streams over (from, to]. */
struct syncctx {
	struct mreq		*req;
	const struct syncstate	*st;
	struct syncpos		 from, to;
	json_t			*resp;		/* the response being built */
	json_t			*joined;	/* room IDs the user is joined to (array) */
	int			 empty;		/* nothing new for the user yet */
};

struct syncstream {
	enum spos	 pos;
	const char	*name;
	/* The stream's newest position, or -1 on failure. */
	int64_t		(*current)(struct mreq *);
	/*
	 * Adds the stream's news in (from, to] to ctx->resp, clearing
	 * ctx->empty when it added anything.  0, or -1 with the request failed.
	 */
	int		(*collect)(struct syncctx *);
};

/* The events stream: rooms, membership, timelines, state (rooms.c). */
extern const struct syncstream sync_events;

/* The response's section of room_id under rooms.join (created when absent). */
json_t	*sync_joined_room(struct syncctx *, const char *room_id);

#endif
