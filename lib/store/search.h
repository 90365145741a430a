/* Storage of server-side search (room events) and the user directory. */
#ifndef MYELIN_STORE_SEARCH_H
#define MYELIN_STORE_SEARCH_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "store/room.h"

struct mdb;

/* A stored rank is the engine's score times this, as an integer. */
#define MSEARCH_RANK_SCALE	1000000000.0

/*
 * Indexes the event at stream position stream when it is searchable
 * (spec: C-S API, "Server Side Search"): content.body of m.room.message,
 * content.name of m.room.name, content.topic of m.room.topic (with the
 * text/plain body of content["m.topic"] when it differs).  Call it in
 * the transaction that stores the event.  0 (also when there is nothing
 * to index) or -1.
 */
int	mstore_search_put(struct mdb *, int64_t stream, const char *type,
	    const json_t *content);
/* Drops a redacted event from the index.  0 or -1. */
int	mstore_search_del(struct mdb *, const char *event_id);
/* Drops a room's events from the index; call before purging them.  0 or -1. */
int	mstore_search_purge_room(struct mdb *, const char *room_id);

enum msearch_order { MSEARCH_RANK, MSEARCH_RECENT };

/* What to search: every list is a JSON array of strings. */
struct msearch_query {
	const char		*term;		/* the user's words */
	enum msearch_order	 order;
	const json_t		*rooms;		/* rooms searched */
	const json_t		*types;		/* event types searched */
	const json_t		*senders;	/* NULL: any */
	const json_t		*not_senders;	/* NULL: none left out */
	int			 contains_url;	/* -1 either way, 0 without, 1 with */
	/*
	 * Where the page starts: results strictly after (rank, stream) in
	 * rank order, or below stream in recent order; INT64_MAX for both
	 * starts at the best or newest.
	 */
	int64_t			 after_rank;
	int64_t			 after_stream;
	int64_t			 limit;
};

struct msearch_hit {
	int64_t		 rank;		/* times MSEARCH_RANK_SCALE */
	struct mevrow	 ev;
};

struct msearch_result {
	struct msearch_hit	*hits;		/* in the order asked */
	size_t			 hitsz;
	int64_t			 count;		/* every match, wherever the page starts */
	/*
	 * Per room ID and per sender: {"count": every match, "left": those
	 * from the page's start on}.
	 */
	json_t			*rooms;
	json_t			*senders;
	json_t			*highlights;	/* words the engine matched in the hits */
};

/*
 * Runs a search: up to q->limit hits, the counts and the highlights.  A
 * term without a searchable word finds nothing.  0 with *out (release
 * with msearch_result_fini), or -1.
 */
int	mstore_search(struct mdb *, const struct msearch_query *q, struct msearch_result *out);
void	msearch_result_fini(struct msearch_result *);

/*
 * The profiles of users (a JSON array of user IDs) as their member
 * events in state group give them: a new object of user ID ->
 * {displayname, avatar_url} (each when a string), or NULL.
 */
json_t	*mstore_search_profiles(struct mdb *, int64_t state_group, const json_t *users);

/*
 * The user directory for user_id: up to limit users who share a joined
 * room with user_id or are joined to a public room, whose user ID or
 * display name begins with term (or a word of the display name does),
 * ignoring ASCII case.  A new array of {user_id, display_name,
 * avatar_url}, or NULL.
 */
json_t	*mstore_userdir_search(struct mdb *, const char *user_id, const char *term,
	    int64_t limit);

#endif
