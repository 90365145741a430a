/* myelin-sync: the streams a sync token spans, and what each adds to a response. */
#ifndef MYELIN_SYNC_H
#define MYELIN_SYNC_H

#include <stdint.h>
#include <jansson.h>

#include "fcgi/fcgi.h"
#include "store/streams.h"

/*
 * A sync token is "s" and one position per stream, in the order of the
 * streams' slots in MSTREAM_TABLE (store/streams.h), joined by "_"
 * ("s42_7_3_0_0_0_0").  Positions live in the database, so tokens
 * survive restarts; a token with fewer positions (an older myelin) reads
 * the missing ones as 0.
 */
enum spos {
#define SPOS_ENUM(id, slot, row) SPOS_##id = (slot),
	MSTREAM_TABLE(SPOS_ENUM)
#undef SPOS_ENUM
	SPOS__MAX = MSTREAM__MAX
};

struct syncpos {
	int64_t		 p[SPOS__MAX];
};

/*
 * Parses a sync token "s<p0>_<p1>..." into pos (main.c).  Returns 0, or
 * -1 with 400 M_INVALID_PARAM, also for a position too large for int64
 * (no server ever gave one).
 */
int	sync_token_parse(struct mreq *, const char *tok, struct syncpos *pos);
/* Writes pos as a sync token into buf (main.c). */
void	sync_token_format(const struct syncpos *pos, char *buf, size_t bufsz);
/* Every stream's newest position into pos (main.c).  0, or -1 with the request failed. */
int	sync_now(struct mreq *, struct syncpos *pos);

/* Timeline events per room a filter may ask for. */
#define SYNC_MAX_TIMELINE_LIMIT	100

/*
 * An incremental sync reads the events stream from its token (what
 * changed, whatever the number of rooms) when it spans at most this
 * many events; past that (an initial sync, a client back after long),
 * each room's window is read on its own (mstore_sync_timelines_bounded).
 */
#define SINCE_SCAN_MAX	20000

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
	/*
	 * Room IDs the user is joined to (array): filled by an initial
	 * sync's events stream, else NULL until a stream needs them
	 * (sync_joined_rooms reads them then).
	 */
	json_t			*joined;
	/* sync_member_moves's, owned; NULL until a stream asks. */
	json_t			*moves;
	int			 empty;		/* nothing new for the user yet */
};

/*
 * What a stream has for the user in (from, to], computed before any JSON
 * of a response is written (issue 14): /sync v2's collect writes it into
 * its sections, sliding sync into its extensions.
 */
struct syncnews {
	json_t		*global;	/* events outside rooms (account data): array */
	json_t		*rooms;		/* {room_id: [event...]}, joined rooms only */
	json_t		*extra;		/* the stream's other members (to_device...) */
	int		 any;		/* something new for the user */
};

struct syncstream {
	enum spos	 pos;
	const char	*name;
	/*
	 * Adds the stream's news in (from, to] to ctx->resp, clearing
	 * ctx->empty when it added anything.  0, or -1 with the request failed.
	 */
	int		(*collect)(struct syncctx *);
	/*
	 * The news alone, into *news (syncnews_fini frees it), without
	 * touching ctx->resp; NULL for the events and presence streams.
	 * 0, or -1 with the request failed.
	 */
	int		(*compute)(struct syncctx *, struct syncnews *);
};

/* Starts news empty (global, rooms and extra new and empty).  0 or -1. */
int	syncnews_init(struct syncnews *);
void	syncnews_fini(struct syncnews *);
/* Appends ev (stolen) to room_id's events in news.  0 or -1. */
int	syncnews_room_add(struct syncnews *, const char *room_id, json_t *ev);
/*
 * The v2 half of collect: news's global events to account_data.events,
 * each room's to rooms.join[room][section].events; ctx->empty cleared
 * when news has any.
 */
void	sync_news_write(struct syncctx *, const struct syncnews *, const char *section);

/* The events stream: rooms, membership, timelines, state (rooms.c). */
extern const struct syncstream sync_events;
/* m.typing in rooms' ephemeral events (typing.c). */
extern const struct syncstream sync_typing;
/* m.receipt in rooms' ephemeral events (receipts.c). */
extern const struct syncstream sync_receipts;
/* Global and per-room account data, tags among them (account_data.c). */
extern const struct syncstream sync_account_data;
/* m.presence of the user and of those sharing a room (presence.c). */
extern const struct syncstream sync_presence;
/* Messages sent to the requesting device (todevice.c). */
extern const struct syncstream sync_todevice;
/* device_lists and the device's key counts (devicelists.c). */
extern const struct syncstream sync_devicelists;

/*
 * Applies the query's set_presence to the user, once per request, before
 * the streams run (presence.c).  0, or -1 with the request failed.
 */
int	sync_set_presence(struct mreq *);
/*
 * ctx->joined, read first if it is not yet (an incremental sync reads
 * only its changed memberships): a borrowed reference, or NULL with the
 * request failed.  Call it before sync_joined.
 */
json_t	*sync_joined_rooms(struct syncctx *);
/*
 * ctx->moves, read first if it is not yet: the membership moves of the
 * events range (from, to] that concern the user (mstore_member_moves),
 * which the device lists and the presence of an incremental sync both
 * start from.  A borrowed reference, or NULL with the request failed.
 */
json_t	*sync_member_moves(struct syncctx *);
/* 1 when room_id is in ctx->joined, the user's joined rooms (ephemeral.c). */
int	sync_joined(const struct syncctx *, const char *room_id);
/*
 * 1 when the EventFilter filter (NULL passes) lets ev, an event without
 * a sender (m.typing, account data), into room_id (NULL: no room), the
 * way Synapse matches them (ephemeral.c).
 */
int	sync_filter_nosender(const json_t *filter, const char *room_id, const json_t *ev);

/*
 * Reads the query's filter, inline JSON or a stored filter's ID, into
 * st->filter, and its room.timeline.limit into st->limit (filter.c).
 * 0, or -1 with the request failed: 400 M_NOT_JSON or M_BAD_JSON for a
 * bad inline filter, 400 M_INVALID_PARAM for an unknown ID.
 */
int	sync_filter_load(struct mreq *, const char *param, struct syncstate *st);
/*
 * 1 when the filter's room.rooms and room.not_rooms let room_id into the
 * response: streams that add to rooms' sections ask first (rooms.c).
 */
int	sync_room_allowed(const struct syncctx *, const char *room_id);

/*
 * Sets unread_notifications (and unread_thread_notifications when the
 * filter asks) in every joined room of the response, after the streams
 * ran (receipts.c).  0, or -1 with the request failed.
 */
int	sync_unread(struct syncctx *);

/*
 * The stripped state of an invite or knock to room_id, own the user's
 * membership event, last (rooms.c).  New reference.
 */
json_t	*sync_stripped_state(struct mreq *, const char *room_id, const json_t *own);

/*
 * Before a park: wake for commits naming the user or one of rooms (an
 * array of room IDs, or an object keyed by them), or everyone (main.c).
 * 0, or -1 (then every commit wakes it).
 */
int	sync_park_interest(struct mreq *, const json_t *rooms);
/* A 200 answer of a long-poll, with X-Myelin-Wakes: the times it was woken (main.c). */
int	sync_reply(struct mreq *, json_t *out);

/* POST .../org.matrix.simplified_msc3575/sync (sliding.c). */
int	h_sliding_sync(struct mreq *);

/* The response's section of room_id under rooms.join (created when absent). */
json_t	*sync_joined_room(struct syncctx *, const char *room_id);

/* The deprecated endpoints (legacy.c): GET /events, /initialSync, /rooms/{roomId}/initialSync. */
int	h_events(struct mreq *);
int	h_initial_sync(struct mreq *);
int	h_room_initial_sync(struct mreq *);

#endif
