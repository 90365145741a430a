/* Storage of event relations: relations pages, threads, aggregations, context. */
#ifndef MYELIN_STORE_RELATIONS_H
#define MYELIN_STORE_RELATIONS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "store/room.h"

struct mdb;

/* Which children of an event a relations page holds. */
struct mrel_query {
	const char	*room_id;
	const char	*parent;	/* the parent's event ID */
	const char	*rel_type;	/* NULL: any */
	const char	*event_type;	/* NULL: any */
	int		 backwards;
	int64_t		 from, to;	/* stream positions, as mstore_events_page */
	int64_t		 limit;
	int		 depth;		/* 1: direct children; more: their children too */
};

/*
 * Up to q->limit accepted, unredacted children of q->parent in stream
 * order (newest first when backwards).  0 with *out (free with
 * mevrow_list_free), or -1.
 */
int	mstore_rel_page(struct mdb *, const struct mrel_query *q, struct mevrow **out,
	    size_t *outsz);

/* A thread's summary (spec: "Server-side aggregation of m.thread relationships"). */
struct mthread {
	char		*root;		/* the thread root's event ID */
	int64_t		 count;		/* live m.thread children */
	int		 participated;	/* the viewer sent one of them */
	struct mevrow	 latest;	/* the most recent one */
};

/*
 * Summaries of the threads rooted at roots[0..n) in room_id, one per root
 * that has any, for viewer user_id.  0 with *out (free with
 * mthread_list_free), or -1.
 */
int	mstore_rel_threads(struct mdb *, const char *room_id, const char *user_id,
	    const char *const *roots, size_t n, struct mthread **out, size_t *outsz);
void	mthread_list_free(struct mthread *, size_t);

/* A child event with the parent it was found for. */
struct mrelchild {
	char		*parent;
	struct mevrow	 ev;
};

/*
 * Candidate replacements of parents[0..n) in room_id: children by
 * m.replace with the parent's sender and type, neither a state event,
 * whose content seems to hold m.new_content, from the two most recent
 * origin_server_ts of each parent; grouped by parent, newest first.  The
 * caller checks m.new_content and breaks ties by event ID.  0 with *out
 * (free with mrelchild_list_free), or -1.
 */
int	mstore_rel_edits(struct mdb *, const char *room_id, const char *const *parents,
	    size_t n, struct mrelchild **out, size_t *outsz);
void	mrelchild_list_free(struct mrelchild *, size_t);

/*
 * Live m.reference children of parents[0..n) in room_id: a new JSON
 * object of parent ID -> array of child IDs in stream order, or NULL.
 */
json_t	*mstore_rel_refs(struct mdb *, const char *room_id, const char *const *parents,
	    size_t n);

/* A thread root and the stream position of its latest activity. */
struct mthreadroot {
	struct mevrow	 ev;
	int64_t		 latest;
};

/*
 * Up to limit thread roots of room_id whose latest activity is at or
 * below stream position from, most recently active first; participated:
 * only threads user_id started or sent to.  0 with *out (free with
 * mthreadroot_list_free), or -1.
 */
int	mstore_rel_thread_roots(struct mdb *, const char *room_id, const char *user_id,
	    int participated, int64_t from, int64_t limit, struct mthreadroot **out,
	    size_t *outsz);
void	mthreadroot_list_free(struct mthreadroot *, size_t);

#endif
