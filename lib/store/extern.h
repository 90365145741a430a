/* Shared internals of lib/store: the backend interface. */
#ifndef MYELIN_STORE_EXTERN_H
#define MYELIN_STORE_EXTERN_H

#include "notify/notify.h"
#include "store/stmts.h"
#include "store/store.h"

struct mcur;

struct mparam {
	int		 null;
	const char	*s;	/* text, or NULL when it is an integer */
	int64_t		 i;
};

struct mbackend {
	/* Opens the connection into db->impl. 0 or -1 (logged). */
	int		(*open)(struct mdb *, const char *conninfo);
	void		(*close)(struct mdb *);
	/* Runs SQL text without parameters (migrations, BEGIN...). 0 or -1. */
	int		(*exec_sql)(struct mdb *, const char *sql);
	/* Runs statement st (SQL text sql, $1.. placeholders). */
	int		(*run)(struct mdb *, struct mcur *, enum mstmt st, const char *sql,
			    const struct mparam *, int nparams);
	int		(*next)(struct mcur *);
	const char	*(*text)(struct mcur *, int col);
	int		(*null)(struct mcur *, int col);
	int64_t		(*changes)(struct mcur *);
	void		(*done)(struct mcur *);
	/* Between requests: give back memory a request grew (NULL: none to). */
	void		(*rest)(struct mdb *);
	/* A column as an integer (NULL: its text read as one). */
	int64_t		(*integer)(struct mcur *, int col);
	const char	*begin_sql;
	/*
	 * Sends statement st ahead of the run() that will ask for it with
	 * the same parameters, to share a round trip (NULL: the backend
	 * has none to save; see mdb_prefetch); and forgets what was sent so.
	 */
	void		(*prefetch)(struct mdb *, enum mstmt st, const struct mparam *,
			    int nparams);
	void		(*prefetch_drop)(struct mdb *);
	/* In a transaction, sends a write without waiting (mdb_exec_ahead): 0, or -1 not sent. */
	int		(*exec_ahead)(struct mdb *, enum mstmt st, const struct mparam *,
			    int nparams);
};

#define MDB_TOPICS	32

struct mdb {
	const struct mbackend	*be;
	enum mdb_backend	 kind;
	void			*impl;
	enum mdb_err		 err;
	int			 intx;
	int			 foreign;	/* another's database (Synapse's): no settings of ours */
	struct mnotify		*notify;	/* NULL: nobody to wake */
	unsigned		 moved;		/* 1u << enum mstream, written since begin */
	int			 seq_moved;	/* a push version (mstore_push_seqs) since begin */
	const struct mconfig	*conf;		/* the one mdb_open was given */
	/*
	 * Whom the writes since begin concern (see mstore_topic): topics of
	 * room and user IDs, or everyone (topics_all, also past MDB_TOPICS).
	 */
	uint64_t		 topics[MDB_TOPICS];
	size_t			 ntopics;
	int			 topics_all;
	/*
	 * What this transaction read of a room's versions as it locked it
	 * (mstore_room_get_locked): its state_seq and push_rules_seq, kept
	 * until the transaction writes the room's current state or ends
	 * (mstore_memo_forget); memo_room NULL: nothing kept.
	 */
	char			*memo_room;
	int64_t			 memo_state_seq, memo_rules_seq;
	/*
	 * Answers taken from what went ahead (mdb_prefetch), and of them
	 * those read while the pipeline stayed open for the ones after
	 * (PostgreSQL; the tests read them).
	 */
	uint64_t		 ahead_taken, ahead_early;
};

/* Forgets db's memo of a room's versions. */
void		 mstore_memo_forget(struct mdb *);
/* The versions kept for room_id in this transaction: 1 with them, or 0. */
int		 mstore_memo_seqs(const struct mdb *, const char *room_id, int64_t *state_seq,
		    int64_t *rules_seq);

struct mcur {
	struct mdb	*db;
	void		*impl;		/* backend's statement or result */
	int		 row;		/* current row for backends that buffer */
	int		 nrows;
};

/*
 * The PDU of event_id parsed from its stored text, with "event_id" set:
 * a new reference to an object shared by every thread of the process,
 * which no one may change (pducache.c).  NULL when the text is not a
 * JSON object or memory ran out.
 */
json_t		*mstore_pdu_shared(const char *event_id, const char *text);
/* FNV-1a of s: the slot of a key in the store's direct-mapped caches. */
uint32_t	 mstore_str_hash(const char *s);

extern const struct mbackend mbackend_sqlite;
extern const struct mbackend mbackend_pg;

/*
 * Records that this connection wrote stream s.  In a transaction the
 * stream is announced by mdb_commit once the commit succeeded (nothing
 * on rollback); outside one the write was its own commit and is
 * announced now.  Every store function that takes a stream position
 * calls it, after the write: handlers never bump.
 */
void		 mstore_moved(struct mdb *, enum mstream s);
/*
 * Takes the next position of stream s, one kept in ephemeral_streams,
 * inside the caller's transaction, and records the move.  -1 on failure.
 */
int64_t		 mstore_estream_next(struct mdb *, enum mstream s);
/*
 * Removes what end-to-end encryption keeps of a device (its keys, its
 * pending to-device messages, its transaction IDs) and marks the user's
 * device list changed, inside the caller's transaction (lib/store/e2ee.c,
 * called by device deletion).  0 or -1.
 */
int		 mstore_e2ee_device_gone(struct mdb *, const char *user_id,
		    const char *device_id);
/*
 * Marks user_id's device list changed (a device added or renamed): in
 * the caller's transaction, or in one of its own outside any.  0 or -1.
 */
int		 mstore_e2ee_devlist_changed(struct mdb *, const char *user_id);
/*
 * Sends statement st with the parameters fmt names (as mdb_query) ahead
 * of the mdb_query that will ask for it, so that independent reads share
 * one round trip (PostgreSQL; nothing on SQLite, which has no round trip
 * to save).  An mdb_query of the same statement with the same
 * parameters takes its answer instead of asking again, reading the
 * answers sent before it on the way; another statement reads them all.
 * BEGIN, COMMIT, ROLLBACK and mdb_prefetch_drop forget the answers not
 * taken, so an answer is taken in the transaction it was sent in, or
 * outside any.  Inside a transaction it goes only once the BEGIN has
 * (after the transaction's first statement).  Best effort: what cannot
 * go ahead is asked for when read.  The answer is the database as the
 * statement found it when it ran: send ahead only what the caller does
 * not itself write before reading it.
 */
void		 mdb_prefetch(struct mdb *, enum mstmt st, const char *fmt, ...);
/*
 * Inside a transaction: runs a write whose count the caller does not
 * need and which cannot conflict, sent without waiting for its answer
 * (PostgreSQL: in a pipeline the next command ends; elsewhere, and
 * when it cannot go so, as mdb_exec).  Its failure aborts the
 * transaction: the next statement, or the commit, fails.  0 or -1.
 */
int		 mdb_exec_ahead(struct mdb *, enum mstmt st, const char *fmt, ...);
/*
 * Runs prepared statement st with parameters described by fmt:
 * 's' const char * (NULL binds SQL NULL), 'i' int64_t.
 * mdb_query returns a cursor (free with mcur_free) or NULL on error;
 * mdb_exec returns the number of rows changed, or -1.
 */
struct mcur	*mdb_query(struct mdb *, enum mstmt st, const char *fmt, ...);
int64_t		 mdb_exec(struct mdb *, enum mstmt st, const char *fmt, ...);
/* 1 with a row, 0 at the end, -1 on error. */
int		 mcur_next(struct mcur *);
const char	*mcur_text(struct mcur *, int col);	/* NULL for SQL NULL */
/* A malloc'd copy of mcur_text; NULL for SQL NULL or on failure. */
char		*mcur_dup(struct mcur *, int col);
/*
 * mcur_dup of columns cols[0..n) into *to[0..n) in one allocation, which
 * is returned (free it, not them; a row's readers read thousands); a
 * NULL column leaves NULL.  NULL on failure.
 */
char		*mcur_dup_packed(struct mcur *, const int *cols, size_t n, char **const *to);
int64_t		 mcur_int(struct mcur *, int col);
int		 mcur_null(struct mcur *, int col);
void		 mcur_free(struct mcur *);
/*
 * Appends an element of elemsz bytes for every row of c to the array
 * *out of *outsz elements (NULL and 0 for a new one): zeroed, then
 * filled by row (0 or -1).  Frees c; c NULL (a failed query) is a
 * failure.  0, or -1 with fini run on every element, the array freed,
 * *out NULL and *outsz 0.
 */
int		 mcur_collect(struct mcur *c, size_t elemsz,
		    int (*row)(struct mcur *, void *elem), void (*fini)(void *elem),
		    void **out, size_t *outsz);
/* 1 when PostgreSQL runs statement st with a generic plan (MSTMT_PG_GENERIC). */
int		 mstmt_generic(enum mstmt st);
/* The SQL of statement st for the given backend. */
const char	*mstmt_sql(enum mstmt st, enum mdb_backend);
/*
 * Column 0 of the first row of c as *out; frees c (NULL: a failed
 * query).  1, 0 without a row, or -1.
 */
int		 mcur_first_int(struct mcur *c, int64_t *out);
/*
 * Feeds every row of c to row(c, acc, arg) (0 or -1), which adds it to
 * acc, and frees c.  Returns acc, or NULL with acc released when acc or
 * c is NULL (a failed query) or on failure.
 */
json_t		*mcur_json_fold(struct mcur *c, json_t *acc,
		    int (*row)(struct mcur *, json_t *acc, void *arg), void *arg);
/* obj(c) of every row of c (NULL: failure) as a new JSON array, as mcur_json_fold. */
json_t		*mcur_json_array(struct mcur *c, json_t *(*obj)(struct mcur *));
/* The text of column 0 of every row as a JSON array, as mcur_json_array. */
json_t		*mcur_json_strings(struct mcur *c);
/* The count of rows mdb_exec changed as 1 (some), 0 (none) or -1: for setters. */
int		 mstore_changed(int64_t n);
/*
 * Runs st (bound before and limit; it deletes at most limit rows and
 * returns their ids) and dep (bound each id) in one transaction, the
 * caller's if one is open (lib/store/cleanup.c).  The rows st deleted,
 * or -1.
 */
int64_t		 mstore_clean_with(struct mdb *, enum mstmt st, enum mstmt dep,
		    int64_t before, int64_t limit);
/*
 * The writes of the current transaction concern id (a room or user ID):
 * its waiters wake for them.  A stream moved (mstore_moved) by a write
 * that names no topic wakes everyone; so do the streams other than
 * events and receipts, whatever the topics.
 */
void		 mstore_topic(struct mdb *, const char *id);
/*
 * prefix, then s lowercased (when lower) with the LIKE wildcards % and _
 * and the escape character itself escaped by a backslash (every LIKE in
 * the statements says ESCAPE '\'), then suffix.  malloc'd, or NULL.
 */
char		*mstore_like_pattern(const char *prefix, const char *s, const char *suffix,
		    int lower);
/* Runs fini on each of the n elements of elemsz bytes of v, then frees v (may be NULL). */
void		 mstore_list_free(void *v, size_t n, size_t elemsz, void (*fini)(void *elem));
/* How many columns MEVENT_COLS (and MEVENT_COLS_E) are: extra ones come after. */
#define MEVENT_NCOLS	19
/* Fills e (zeroed by the caller) from the MEVENT_COLS of a row.  0 or -1. */
int		 mstore_evrow_read(struct mcur *, struct mevrow *e);
/*
 * The rows of c (MEVENT_COLS) as *out, *outsz (free with
 * mevrow_list_free), as mcur_collect: frees c.  0 or -1.
 */
int		 mstore_evrows(struct mcur *c, struct mevrow **out, size_t *outsz);
/*
 * The same, each row's PDU and notes kept as text (js, prev_js,
 * redaction_js) and parsed only by mevrow_parse: for readers that
 * mostly write events out again (/sync).
 */
int		 mstore_evrows_lazy(struct mcur *c, struct mevrow **out, size_t *outsz);
/*
 * The state event view (see mstore_cstate_event) of the MEVENT_VIEW
 * columns of a row from column col: the PDU, its ID added as
 * "event_id", the notes in "unsigned".  New reference, or NULL.
 */
json_t		*mstore_event_view(struct mcur *, int col);
/*
 * The same, lazily: for an event not redacted, a stand-in holding its
 * "event_id", "type" and "state_key" (type and state_key given) and
 * the texts of its PDU and notes under keys no parsed JSON can hold;
 * mstore_view_parse turns it into the view, mstore_view_texts reads
 * its texts.  A redacted event gets its view at once.  New reference.
 */
json_t		*mstore_event_view_lazy(struct mcur *, int col, const char *type,
		    const char *state_key);
/* mstore_event_view from column 0. */
json_t		*mstore_json_with_id(struct mcur *);

#endif
