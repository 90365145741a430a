/* Rooms in the store: events, state groups, current state, extremities, aliases. */
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "events/events.h"
#include "json/json.h"
#include "store/extern.h"

/* State group chains longer than this end in a full snapshot. */
#define SGROUP_MAX_CHAIN	32

int
mstore_room_add(struct mdb *db, const char *room_id, const char *version,
    const char *creator)
{
	int64_t n = mdb_exec(db, MSTMT_ROOM_ADD, "sssi", room_id, version, creator,
	    mclock_now_ms());

	return n < 0 ? -1 : n == 0 ? MSTORE_CONFLICT : 0;
}

void
mroom_fini(struct mroom *r)
{
	if (r == NULL)
		return;
	free(r->room_id);
	free(r->version);
	free(r->creator);
	memset(r, 0, sizeof(*r));
}

/*
 * The next row of c, (room_id, room_version, creator, is_public,
 * created_ts), into r.  1, 0 (none) or -1.
 */
static int
room_row(struct mcur *c, struct mroom *r)
{
	int rc;

	if ((rc = mcur_next(c)) == 1) {
		r->room_id = mcur_dup(c, 0);
		r->version = mcur_dup(c, 1);
		r->creator = mcur_dup(c, 2);
		r->is_public = mcur_int(c, 3) != 0;
		r->created_ts = mcur_int(c, 4);
		if (r->room_id == NULL || r->version == NULL) {
			mroom_fini(r);
			rc = -1;
		}
	}
	return rc;
}

int
mstore_room_get(struct mdb *db, const char *room_id, struct mroom *r)
{
	struct mcur	*c;
	int		 rc;

	memset(r, 0, sizeof(*r));
	if ((c = mdb_query(db, MSTMT_ROOM_GET, "s", room_id)) == NULL)
		return -1;
	rc = room_row(c, r);
	mcur_free(c);
	return rc;
}

int
mstore_room_lock(struct mdb *db, const char *room_id)
{
	/*
	 * SQLite's BEGIN IMMEDIATE holds the database's write lock already:
	 * the row's update would only cost the rooms page in every commit.
	 */
	if (db->kind != MDB_POSTGRES)
		return 0;
	return mdb_exec(db, MSTMT_ROOM_LOCK, "s", room_id) < 0 ? -1 : 0;
}

int
mstore_room_get_locked(struct mdb *db, const char *room_id, struct mroom *r)
{
	struct mcur	*c;
	int		 rc;

	memset(r, 0, sizeof(*r));
	mstore_memo_forget(db);
	/* SQLite: the write lock is the database's (mstore_room_lock). */
	if ((c = mdb_query(db, db->kind == MDB_POSTGRES ? MSTMT_ROOM_GET_LOCK :
	    MSTMT_ROOM_GET_SEQS, "s", room_id)) == NULL)
		return -1;
	/* The room's versions, for this transaction's later readers of them. */
	if ((rc = room_row(c, r)) == 1 && db->intx && !mcur_null(c, 6) &&
	    (db->memo_room = strdup(room_id)) != NULL) {
		db->memo_state_seq = mcur_int(c, 5);
		db->memo_rules_seq = mcur_int(c, 6);
	}
	mcur_free(c);
	return rc;
}

void
mstore_room_lock_ahead(struct mdb *db, const char *room_id)
{
	if (db->kind != MDB_POSTGRES)
		return;
	mdb_prefetch(db, MSTMT_ROOM_GET_LOCK, "s", room_id);
	mdb_prefetch(db, MSTMT_FWD_LIST, "s", room_id);
}

int
mstore_room_set_public(struct mdb *db, const char *room_id, int is_public)
{
	return mstore_changed(mdb_exec(db, MSTMT_ROOM_SET_PUBLIC, "si", room_id,
	    (int64_t)is_public));
}

/*
 * The position is taken from the events_position row, whose lock the
 * transaction keeps to its end: writers of other rooms queue here, so
 * this is the last lock an event's transaction may take (a writer that
 * goes on to lock another room would deadlock with one of that room's
 * writers: lock every room first).  A rolled back transaction gives its
 * position back with the row.
 */
int
mstore_event_add(struct mdb *db, const struct mevrow *e, int64_t *stream)
{
	char	*js;
	int64_t	 n;

	if ((js = json_dumps(e->json, JSON_COMPACT)) == NULL)
		return -1;
	if (mcur_first_int(mdb_query(db, e->history ? MSTMT_EVENTS_BACKPOS_NEXT :
	    MSTMT_EVENTS_POS_NEXT, ""), stream) != 1) {
		free(js);
		return -1;
	}
	if (e->deoutlier) {
		free(js);
		n = mdb_exec(db, MSTMT_EVENT_DEOUTLIER, "siiis", e->event_id, e->state_before,
		    e->state_after, *stream, e->replaces_state);
		return n == 1 ? 0 : n == 0 ? MSTORE_CONFLICT : -1;
	}
	n = mdb_exec(db, MSTMT_EVENT_ADD, "sssssiiiissssssisii", e->event_id, e->room_id,
	    e->type, e->state_key, e->sender, e->depth, e->origin_server_ts,
	    e->state_before, e->state_after, e->rejected, e->txn_user, e->txn_device,
	    e->txn_id, js, e->txn_scope, *stream, e->replaces_state, (int64_t)e->outlier,
	    (int64_t)e->soft_failed);
	free(js);
	if (n < 0)
		return mdb_error(db) == MDB_ERR_CONSTRAINT ? MSTORE_CONFLICT : -1;
	if (n != 1)
		return -1;
	/* History from elsewhere is below every token: nothing to wake. */
	if (!e->history) {
		/* Whom it concerns: the room's members, and a membership's target. */
		mstore_topic(db, e->room_id);
		if (e->state_key != NULL && strcmp(e->type, "m.room.member") == 0)
			mstore_topic(db, e->state_key);
		mstore_moved(db, MSTREAM_EVENTS);
	}
	return 0;
}

int
mstore_event_flags(struct mdb *db, const char *event_id, struct mevflags *f)
{
	struct mcur	*c;
	int		 rc;

	memset(f, 0, sizeof(*f));
	if ((c = mdb_query(db, MSTMT_EVENT_FLAGS, "s", event_id)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		f->state_after = mcur_null(c, 0) ? 0 : mcur_int(c, 0);
		f->rejected = !mcur_null(c, 1);
		f->outlier = mcur_int(c, 2) != 0;
		f->soft_failed = mcur_int(c, 3) != 0;
		if ((f->room_id = mcur_dup(c, 4)) == NULL)
			rc = -1;
	}
	mcur_free(c);
	return rc;
}

void
mevrow_fini(struct mevrow *e)
{
	if (e == NULL)
		return;
	if (e->texts != NULL)
		free(e->texts);
	else {
		free(e->event_id);
		free(e->room_id);
		free(e->type);
		free(e->state_key);
		free(e->sender);
		free(e->rejected);
		free(e->redacted_by);
		free(e->txn_user);
		free(e->txn_device);
		free(e->txn_id);
		free(e->replaces_state);
	}
	json_decref(e->json);
	json_decref(e->prev_content);
	free(e->prev_sender);
	json_decref(e->redaction);
	free(e->js);
	free(e->prev_js);
	free(e->redaction_js);
	memset(e, 0, sizeof(*e));
}

static void
evrow_fini(void *e)
{
	mevrow_fini(e);
}

void
mevrow_list_free(struct mevrow *v, size_t n)
{
	mstore_list_free(v, n, sizeof(*v), evrow_fini);
}

/*
 * The notes from their texts (NULL: none): the replaced event's content
 * and sender from its PDU prev_js, and the redaction's PDU.  0, or -1
 * when one that is there could not be read.
 */
static int
notes_parse(const char *prev_js, const char *redaction_js, json_t **prev_content,
    char **prev_sender, json_t **redaction)
{
	json_t		*prev;
	const char	*who;

	/* A replaced event this server no longer has: no prev_content, as Synapse. */
	if (prev_js != NULL) {
		if ((prev = json_loads(prev_js, 0, NULL)) == NULL)
			return -1;
		*prev_content = json_incref(json_object_get(prev, "content"));
		who = mjson_str(prev, "sender");
		*prev_sender = who != NULL ? strdup(who) : NULL;
		json_decref(prev);
		if (who != NULL && *prev_sender == NULL)
			return -1;
	}
	if (redaction_js != NULL && (*redaction = json_loads(redaction_js, 0, NULL)) == NULL)
		return -1;
	return 0;
}

/*
 * The notes of MEVENT_NOTES from column col (see stmts-room.h): the
 * replaced event's ID, then as notes_parse.  0 or -1.
 */
static int
notes_read(struct mcur *c, int col, char **replaces, json_t **prev_content,
    char **prev_sender, json_t **redaction)
{
	if (!mcur_null(c, col) && (*replaces = mcur_dup(c, col)) == NULL)
		return -1;
	return notes_parse(mcur_text(c, col + 1), mcur_text(c, col + 2), prev_content,
	    prev_sender, redaction);
}

/* The columns of an event row but its PDU and notes' JSON (see mstore_evrow_read). */
static void
evrow_cols(struct mcur *c, struct mevrow *e)
{
	e->stream = mcur_int(c, 0);
	e->event_id = mcur_dup(c, 1);
	e->room_id = mcur_dup(c, 2);
	e->type = mcur_dup(c, 3);
	e->state_key = mcur_dup(c, 4);
	e->sender = mcur_dup(c, 5);
	e->depth = mcur_int(c, 6);
	e->origin_server_ts = mcur_int(c, 7);
	e->state_before = mcur_int(c, 8);
	e->state_after = mcur_int(c, 9);
	e->rejected = mcur_dup(c, 10);
	e->redacted_by = mcur_dup(c, 11);
	e->txn_user = mcur_dup(c, 12);
	e->txn_device = mcur_dup(c, 13);
	e->txn_id = mcur_dup(c, 14);
}

/*
 * mstore_evrow_read keeping the JSON as text (mstore_evrows_lazy), the
 * short texts in one allocation (e->texts): an initial /sync reads
 * thousands of rows, eight or so texts each.  0 or -1.
 */
static int
evrow_read_lazy(struct mcur *c, struct mevrow *e)
{
	static const int	 cols[] = { 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 16 };
	char			**to[] = { &e->event_id, &e->room_id, &e->type, &e->state_key,
				    &e->sender, &e->rejected, &e->redacted_by, &e->txn_user,
				    &e->txn_device, &e->txn_id, &e->replaces_state };

	if ((e->texts = mcur_dup_packed(c, cols, sizeof(cols) / sizeof(cols[0]), to)) == NULL)
		return -1;
	e->stream = mcur_int(c, 0);
	e->depth = mcur_int(c, 6);
	e->origin_server_ts = mcur_int(c, 7);
	e->state_before = mcur_int(c, 8);
	e->state_after = mcur_int(c, 9);
	e->js = mcur_dup(c, 15);
	if ((!mcur_null(c, 17) && (e->prev_js = mcur_dup(c, 17)) == NULL) ||
	    (!mcur_null(c, 18) && (e->redaction_js = mcur_dup(c, 18)) == NULL))
		return -1;
	return e->event_id == NULL || e->room_id == NULL || e->type == NULL ||
	    e->sender == NULL || e->js == NULL ? -1 : 0;
}

int
mevrow_parse(struct mevrow *e)
{
	if (e->json != NULL)
		return 0;
	if (e->js == NULL || (e->json = json_loads(e->js, 0, NULL)) == NULL)
		return -1;
	return notes_parse(e->prev_js, e->redaction_js, &e->prev_content, &e->prev_sender,
	    &e->redaction);
}

/*
 * Fills e from a row of MEVENT_COLS (see extern.h).  The columns the
 * schema makes NOT NULL must be there: 0, or -1 when one is missing or
 * could not be copied.
 */
int
mstore_evrow_read(struct mcur *c, struct mevrow *e)
{
	const char *js;

	evrow_cols(c, e);
	js = mcur_text(c, 15);
	e->json = js != NULL ? json_loads(js, 0, NULL) : NULL;
	if (notes_read(c, 16, &e->replaces_state, &e->prev_content, &e->prev_sender,
	    &e->redaction) == -1)
		return -1;
	return e->event_id == NULL || e->room_id == NULL || e->type == NULL ||
	    e->sender == NULL || e->json == NULL ? -1 : 0;
}

static int
evrow_row(struct mcur *c, void *e)
{
	return mstore_evrow_read(c, e);
}

static int
evrow_row_lazy(struct mcur *c, void *e)
{
	return evrow_read_lazy(c, e);
}

/* Every row of c read by row into *out, as mcur_collect (frees c).  0 or -1. */
static int
evrows_collect(struct mcur *c, int (*row)(struct mcur *, void *), struct mevrow **out,
    size_t *outsz)
{
	void	*v = NULL;
	int	 rc;

	*outsz = 0;
	rc = mcur_collect(c, sizeof(**out), row, evrow_fini, &v, outsz);
	*out = v;
	return rc;
}

int
mstore_evrows(struct mcur *c, struct mevrow **out, size_t *outsz)
{
	return evrows_collect(c, evrow_row, out, outsz);
}

int
mstore_evrows_lazy(struct mcur *c, struct mevrow **out, size_t *outsz)
{
	return evrows_collect(c, evrow_row_lazy, out, outsz);
}

int
mstore_event_get(struct mdb *db, const char *event_id, struct mevrow *e)
{
	struct mcur	*c;
	int		 rc;

	memset(e, 0, sizeof(*e));
	if ((c = mdb_query(db, MSTMT_EVENT_GET, "s", event_id)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1 && mstore_evrow_read(c, e) == -1) {
		mevrow_fini(e);
		rc = -1;
	}
	mcur_free(c);
	return rc;
}

int
mstore_event_by_txn(struct mdb *db, const char *room_id, const char *user,
    const char *device, const char *txn_id, const char *scope, char **event_id)
{
	struct mcur	*c;
	int		 rc;

	*event_id = NULL;
	if ((c = mdb_query(db, MSTMT_EVENT_BY_TXN, "sssss", room_id, user, device,
	    txn_id, scope)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1 && (*event_id = mcur_dup(c, 0)) == NULL)
		rc = -1;
	mcur_free(c);
	return rc;
}

int
mstore_event_redact(struct mdb *db, const char *event_id, const json_t *redacted,
    const char *redacted_by)
{
	char	*js = json_dumps(redacted, JSON_COMPACT);
	int	 rc;

	if (js == NULL)
		return -1;
	rc = mstore_changed(mdb_exec(db, MSTMT_EVENT_REDACT, "sss", event_id, js, redacted_by));
	free(js);
	/* A redacted member event loses its display name: what push rules read. */
	mstore_memo_forget(db);
	if (rc == 1 && mdb_exec(db, MSTMT_ROOM_STATE_BUMP_EVENT, "s", event_id) == -1)
		rc = -1;
	db->seq_moved = 1;
	return rc;
}

int
mstore_event_json_set(struct mdb *db, const char *event_id, const json_t *ev)
{
	char	*js = json_dumps(ev, JSON_COMPACT);
	int	 rc;

	if (js == NULL)
		return -1;
	rc = mdb_exec(db, MSTMT_EVENT_JSON_SET, "ss", event_id, js) < 0 ? -1 : 0;
	free(js);
	return rc;
}

int
mstore_invite_state_put(struct mdb *db, const char *event_id, const char *room_id,
    const json_t *state)
{
	char	*js = json_dumps(state, JSON_COMPACT);
	int	 rc;

	if (js == NULL)
		return -1;
	rc = mdb_exec(db, MSTMT_INVITE_STATE_PUT, "sss", event_id, room_id, js) < 0 ? -1 : 0;
	free(js);
	return rc;
}

json_t *
mstore_invite_state_get(struct mdb *db, const char *event_id, int *err)
{
	struct mcur	*c;
	json_t		*out = NULL;
	const char	*js;
	int		 rc;

	*err = 0;
	if ((c = mdb_query(db, MSTMT_INVITE_STATE_GET, "s", event_id)) == NULL) {
		*err = 1;
		return NULL;
	}
	if ((rc = mcur_next(c)) == 1 && (js = mcur_text(c, 0)) != NULL)
		out = json_loads(js, 0, NULL);
	else if (rc == -1)
		*err = 1;
	mcur_free(c);
	if (out != NULL && !json_is_array(out)) {
		json_decref(out);
		out = NULL;
	}
	return out;
}

int
mstore_events_page(struct mdb *db, const char *room_id, int backwards, int64_t from,
    int64_t to, int64_t limit, struct mevrow **out, size_t *outsz)
{
	return mstore_evrows(mdb_query(db, backwards ? MSTMT_EVENTS_BACK : MSTMT_EVENTS_FWD,
	    "siii", room_id, from, to, limit), out, outsz);
}

int
mstore_events_topo_page(struct mdb *db, const char *room_id, int backwards,
    const struct mtopo *from, const struct mtopo *to, int64_t limit, struct mevrow **out,
    size_t *outsz)
{
	return mstore_evrows(mdb_query(db, backwards ? MSTMT_EVENTS_TOPO_BACK :
	    MSTMT_EVENTS_TOPO_FWD, "siiiii", room_id, from->depth, from->stream, to->depth,
	    to->stream, limit), out, outsz);
}

int
mstore_topo_at(struct mdb *db, const char *room_id, int64_t pos, struct mtopo *t)
{
	struct mcur	*c;
	int		 rc;

	t->depth = 0;
	t->stream = pos;
	if ((c = mdb_query(db, MSTMT_EVENTS_TOPO_AT, "si", room_id, pos)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		t->depth = mcur_int(c, 0);
		t->stream = mcur_int(c, 1);
	}
	mcur_free(c);
	return rc;
}

int64_t
mstore_events_max_stream(struct mdb *db)
{
	int64_t n;

	return mcur_first_int(mdb_query(db, MSTMT_EVENTS_MAX_STREAM, ""), &n) == 1 ? n : -1;
}

int64_t
mstore_room_state_at(struct mdb *db, const char *room_id, int64_t pos)
{
	int64_t group = 0;

	if (mcur_first_int(mdb_query(db, MSTMT_ROOM_STATE_AT, "si", room_id, pos), &group) == -1)
		return -1;
	return group;
}

/* Adds a row (type, state key, event ID) to a state map.  0 or -1. */
static int
sgroup_row(struct mcur *c, json_t *map, void *arg)
{
	char	*k = mstate_key_join(mcur_text(c, 0), mcur_text(c, 1));
	int	 rc;

	(void)arg;
	rc = k == NULL || json_object_set_new(map, k, json_string(mcur_text(c, 2))) == -1 ?
	    -1 : 0;
	free(k);
	return rc;
}

json_t *
mstore_sgroup_state(struct mdb *db, int64_t group)
{
	json_t *map;

	if ((map = json_object()) == NULL || group == 0)
		return map;
	return mcur_json_fold(mdb_query(db, MSTMT_SGROUP_STATE, "i", group), map, sgroup_row,
	    NULL);
}

/* Splits a state map key into type and state key (in place copy). */
static int
key_split(const char *key, char **type, const char **sk)
{
	const char *sep = strchr(key, '\x1f');

	if (sep == NULL || (*type = strndup(key, (size_t)(sep - key))) == NULL)
		return -1;
	*sk = sep + 1;
	return 0;
}

int
mstore_sgroup_add(struct mdb *db, const char *room_id, int64_t prev_group,
    const json_t *delta, int64_t *id)
{
	struct mcur	*c;
	json_t		*full = NULL;
	const json_t	*entries = delta;
	const char	*key;
	json_t		*val;
	int64_t		 chain = 0;
	int		 rc = -1;

	if (prev_group != 0) {
		if ((c = mdb_query(db, MSTMT_SGROUP_GET, "i", prev_group)) == NULL)
			return -1;
		if (mcur_next(c) == 1)
			chain = mcur_int(c, 2) + 1;
		mcur_free(c);
	}
	if (chain > SGROUP_MAX_CHAIN) {
		/* Snapshot: the previous group's whole state plus the delta. */
		if ((full = mstore_sgroup_state(db, prev_group)) == NULL ||
		    json_object_update(full, (json_t *)delta) == -1)
			goto out;
		entries = full;
		prev_group = 0;
		chain = 0;
	}
	if (prev_group != 0)
		c = mdb_query(db, MSTMT_SGROUP_ADD, "sii", room_id, prev_group, chain);
	else
		c = mdb_query(db, MSTMT_SGROUP_ADD, "ssi", room_id, (const char *)NULL, chain);
	if (c == NULL)
		goto out;
	if (mcur_next(c) == 1)
		*id = mcur_int(c, 0);
	else {
		mcur_free(c);
		goto out;
	}
	mcur_free(c);
	json_object_foreach((json_t *)entries, key, val) {
		char		*type;
		const char	*sk;
		int64_t		 n;

		if (key_split(key, &type, &sk) == -1)
			goto out;
		n = mdb_exec(db, MSTMT_SGROUP_ENTRY_ADD, "isss", *id, type, sk,
		    json_string_value(val));
		free(type);
		if (n < 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(full);
	return rc;
}

json_t *
mstore_cstate_map(struct mdb *db, const char *room_id)
{
	return mcur_json_fold(mdb_query(db, MSTMT_CSTATE_MAP, "s", room_id), json_object(),
	    sgroup_row, NULL);
}

int
mstore_cstate_del(struct mdb *db, const char *room_id, const char *type,
    const char *state_key)
{
	db->seq_moved = 1;
	return mdb_exec(db, MSTMT_CSTATE_DEL, "sss", room_id, type, state_key) < 0 ||
	    mdb_exec(db, MSTMT_ROOM_STATE_BUMP, "s", room_id) < 0 ? -1 : 0;
}

int
mstore_cstate_put(struct mdb *db, const char *room_id, const char *type,
    const char *state_key, const char *event_id, const char *membership)
{
	db->seq_moved = 1;
	return mdb_exec(db, MSTMT_CSTATE_PUT, "sssss", room_id, type, state_key, event_id,
	    membership) < 0 || mdb_exec(db, MSTMT_ROOM_STATE_BUMP, "s", room_id) < 0 ? -1 : 0;
}

/*
 * A stored PDU (its text js) with its event ID added as "event_id": room
 * versions 3 on leave it out of the PDU, and every reader of state wants
 * it.  The notes (redacted_by, the replaced event's ID and PDU, the
 * redaction's PDU: NULL when none) go into "unsigned" as a client is
 * shown them, in this copy only: the stored PDU has none.  NULL on failure.
 */
static json_t *
view_from_texts(const char *js, const char *event_id, const char *redacted_by,
    const char *replaces, const char *prev_js, const char *redaction_js)
{
	json_t	*ev, *u = NULL, *prev_content = NULL, *redaction = NULL;
	char	*prev_sender = NULL;
	int	 rc = -1;

	if (js == NULL || event_id == NULL || (ev = json_loads(js, 0, NULL)) == NULL)
		return NULL;
	if (json_object_set_new(ev, "event_id", json_string(event_id)) == -1 ||
	    notes_parse(prev_js, redaction_js, &prev_content, &prev_sender, &redaction) == -1)
		goto out;
	if (redaction != NULL && json_object_set_new(redaction, "event_id",
	    json_string(redacted_by)) == -1)
		goto out;
	if (replaces == NULL && prev_content == NULL && redaction == NULL) {
		rc = 0;
		goto out;
	}
	if ((u = json_object()) == NULL ||
	    (replaces != NULL && json_object_set_new(u, "replaces_state",
	    json_string(replaces)) == -1) ||
	    (prev_content != NULL && json_object_set(u, "prev_content", prev_content) == -1) ||
	    (prev_sender != NULL && json_object_set_new(u, "prev_sender",
	    json_string(prev_sender)) == -1) ||
	    (redaction != NULL && json_object_set(u, "redacted_because", redaction) == -1) ||
	    json_object_set(ev, "unsigned", u) == -1)
		goto out;
	rc = 0;
out:
	json_decref(u);
	json_decref(prev_content);
	json_decref(redaction);
	free(prev_sender);
	if (rc == -1) {
		json_decref(ev);
		ev = NULL;
	}
	return ev;
}

/*
 * The PDU at column col, its event ID at col + 1, redacted_by at col + 2,
 * then MEVENT_NOTES: see view_from_texts.
 */
json_t *
mstore_event_view(struct mcur *c, int col)
{
	return view_from_texts(mcur_text(c, col), mcur_text(c, col + 1), mcur_text(c, col + 2),
	    mcur_text(c, col + 3), mcur_text(c, col + 4), mcur_text(c, col + 5));
}

/*
 * The keys of a lazy view's texts: each holds a NUL byte, which no
 * parsed JSON's key can (jansson refuses "\u0000" in keys), so no event
 * passes for a lazy view.
 */
#define LAZY_PDU	"\0pdu"
#define LAZY_PREV	"\0prev"
#define LAZY_REPL	"\0replaces"

/* Sets a key holding a NUL byte (klen bytes) to the text s when not NULL.  0 or -1. */
static int
lazy_set(json_t *o, const char *k, size_t klen, const char *s)
{
	json_t *v;

	if (s == NULL)
		return 0;
	/* Stored JSON, written by jansson: UTF-8 already, not checked again. */
	if ((v = json_stringn_nocheck(s, strlen(s))) == NULL)
		return -1;
	return json_object_setn_new_nocheck(o, k, klen, v);
}

/* A lazy view of event_id (type, state_key) from its texts.  New reference, or NULL. */
static json_t *
lazy_view(const char *event_id, const char *type, const char *state_key, const char *js,
    const char *replaces, const char *prev_js)
{
	json_t *o;

	if ((o = json_pack("{s:s?,s:s,s:s}", "event_id", event_id, "type", type,
	    "state_key", state_key)) == NULL ||
	    json_object_get(o, "event_id") == NULL ||
	    lazy_set(o, LAZY_PDU, sizeof(LAZY_PDU) - 1, js) == -1 ||
	    lazy_set(o, LAZY_REPL, sizeof(LAZY_REPL) - 1, replaces) == -1 ||
	    lazy_set(o, LAZY_PREV, sizeof(LAZY_PREV) - 1, prev_js) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
mstore_event_view_lazy(struct mcur *c, int col, const char *type, const char *state_key)
{
	if (!mcur_null(c, col + 2) || mcur_null(c, col) || type == NULL || state_key == NULL)
		return mstore_event_view(c, col);
	return lazy_view(mcur_text(c, col + 1), type, state_key, mcur_text(c, col),
	    mcur_text(c, col + 3), mcur_text(c, col + 4));
}

json_t *
mstore_event_view_row(const struct mevrow *e)
{
	if (e->redacted_by != NULL || e->js == NULL || e->state_key == NULL)
		return NULL;
	return lazy_view(e->event_id, e->type, e->state_key, e->js, e->replaces_state,
	    e->prev_js);
}

/* The text under a key holding a NUL byte, or NULL. */
static const char *
lazy_get(const json_t *o, const char *k, size_t klen)
{
	const json_t *v = json_object_getn(o, k, klen);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

int
mstore_view_texts(const json_t *v, struct mviewtext *out)
{
	if (!json_is_object(v) || (out->js = lazy_get(v, LAZY_PDU,
	    sizeof(LAZY_PDU) - 1)) == NULL)
		return 0;
	out->event_id = mjson_str(v, "event_id");
	out->type = mjson_str(v, "type");
	out->state_key = mjson_str(v, "state_key");
	out->replaces = lazy_get(v, LAZY_REPL, sizeof(LAZY_REPL) - 1);
	out->prev_js = lazy_get(v, LAZY_PREV, sizeof(LAZY_PREV) - 1);
	return out->event_id != NULL && out->type != NULL && out->state_key != NULL;
}

json_t *
mstore_view_parse(json_t *v)
{
	struct mviewtext t;

	if (!mstore_view_texts(v, &t))
		return json_incref(v);
	return view_from_texts(t.js, t.event_id, NULL, t.replaces, t.prev_js, NULL);
}

json_t *
mstore_json_with_id(struct mcur *c)
{
	return mstore_event_view(c, 0);
}

json_t *
mstore_cstate_event(struct mdb *db, const char *room_id, const char *type,
    const char *state_key, int *err)
{
	struct mcur	*c;
	json_t		*ev = NULL;
	int		 rc;

	*err = 0;
	if ((c = mdb_query(db, MSTMT_CSTATE_GET_JSON, "sss", room_id, type, state_key)) == NULL) {
		*err = 1;
		return NULL;
	}
	if ((rc = mcur_next(c)) == 1)
		ev = mstore_json_with_id(c);
	if (rc == -1 || (rc == 1 && ev == NULL))
		*err = 1;
	mcur_free(c);
	return ev;
}

json_t *
mstore_cstate_pdu(struct mdb *db, const char *room_id, const char *type,
    const char *state_key, int *err)
{
	struct mcur	*c;
	const char	*js, *id;
	json_t		*ev = NULL;
	int		 rc;

	*err = 0;
	if ((c = mdb_query(db, MSTMT_CSTATE_GET_PDU, "sss", room_id, type, state_key)) == NULL) {
		*err = 1;
		return NULL;
	}
	if ((rc = mcur_next(c)) == 1 && (js = mcur_text(c, 0)) != NULL &&
	    (id = mcur_text(c, 1)) != NULL)
		ev = mstore_pdu_shared(id, js);
	if (rc == -1 || (rc == 1 && ev == NULL))
		*err = 1;
	mcur_free(c);
	return ev;
}

/* Adds a row (type, state_key, PDU text, event ID) to arr as [type, state_key, PDU].  0 or -1. */
static int
cstate_pdu_row(struct mcur *c, json_t *arr, void *arg)
{
	const char	*js = mcur_text(c, 2), *id = mcur_text(c, 3);
	json_t		*ev;

	(void)arg;
	if (js == NULL || id == NULL || (ev = mstore_pdu_shared(id, js)) == NULL)
		return -1;
	return json_array_append_new(arr, json_pack("[sso]", mcur_text(c, 0), mcur_text(c, 1),
	    ev));
}

json_t *
mstore_cstate_pdus(struct mdb *db, const char *room_id, const char *const *keys, size_t n)
{
	const char	*k[2 * MSTORE_CSTATE_PDUS];
	size_t		 i;

	if (n > MSTORE_CSTATE_PDUS)
		return NULL;
	for (i = 0; i < 2 * MSTORE_CSTATE_PDUS; i++)
		k[i] = i < 2 * n ? keys[i] : NULL;
	return mcur_json_fold(mdb_query(db, MSTMT_CSTATE_GET_PDUS, "sssssssss", room_id, k[0],
	    k[1], k[2], k[3], k[4], k[5], k[6], k[7]), json_array(), cstate_pdu_row, NULL);
}

json_t *
mstore_cstate_all(struct mdb *db, const char *room_id)
{
	return mcur_json_array(mdb_query(db, MSTMT_CSTATE_ALL, "s", room_id),
	    mstore_json_with_id);
}

json_t *
mstore_user_rooms(struct mdb *db, const char *user_id, const char *membership)
{
	return mcur_json_strings(mdb_query(db, MSTMT_CSTATE_USER_ROOMS, "ss", user_id,
	    membership));
}

int
mstore_expiry_add(struct mdb *db, const char *event_id, int64_t expiry_ts)
{
	return mdb_exec(db, MSTMT_EXPIRY_ADD, "si", event_id, expiry_ts) < 0 ? -1 : 0;
}

json_t *
mstore_expiry_due(struct mdb *db, int64_t now, int64_t limit)
{
	return mcur_json_strings(mdb_query(db, MSTMT_EXPIRY_DUE, "ii", now, limit));
}

int
mstore_expiry_next(struct mdb *db, int64_t *ts)
{
	struct mcur	*c;
	int		 r;

	if ((c = mdb_query(db, MSTMT_EXPIRY_NEXT, "")) == NULL)
		return -1;
	if ((r = mcur_next(c)) == 1) {
		if (mcur_null(c, 0))
			r = 0;
		else
			*ts = mcur_int(c, 0);
	}
	mcur_free(c);
	return r;
}

int
mstore_expiry_del(struct mdb *db, const char *event_id)
{
	return mdb_exec(db, MSTMT_EXPIRY_DEL, "s", event_id) < 0 ? -1 : 0;
}

json_t *
mstore_room_guests(struct mdb *db, const char *room_id)
{
	return mcur_json_strings(mdb_query(db, MSTMT_CSTATE_GUESTS, "s", room_id));
}

/* What a read of the extremities gathers beside their IDs. */
struct fwd_fold {
	int64_t	 maxdepth;
	json_t	*groups;	/* the states after them, or NULL: not asked */
};

/*
 * Adds a row (event ID, depth, state after) to the extremities, the
 * depth to the highest and the state to the groups (arg).  0 or -1.
 */
static int
fwd_row(struct mcur *c, json_t *arr, void *arg)
{
	struct fwd_fold *f = arg;

	if (mcur_int(c, 1) > f->maxdepth)
		f->maxdepth = mcur_int(c, 1);
	if (f->groups != NULL &&
	    json_array_append_new(f->groups, json_integer(mcur_int(c, 2))) == -1)
		return -1;
	return json_array_append_new(arr, json_string(mcur_text(c, 0)));
}

json_t *
mstore_fwd_tip(struct mdb *db, const char *room_id, int64_t *maxdepth, json_t **groups)
{
	struct fwd_fold	 f = { 0, NULL };
	json_t		*ids;

	if (groups != NULL && (*groups = f.groups = json_array()) == NULL)
		return NULL;
	ids = mcur_json_fold(mdb_query(db, MSTMT_FWD_LIST, "s", room_id), json_array(), fwd_row,
	    &f);
	*maxdepth = f.maxdepth;
	if (ids == NULL && groups != NULL) {
		json_decref(*groups);
		*groups = NULL;
	}
	return ids;
}

json_t *
mstore_fwd_list(struct mdb *db, const char *room_id, int64_t *maxdepth)
{
	return mstore_fwd_tip(db, room_id, maxdepth, NULL);
}

/* Adds column 0 of a row, an integer, to arr.  0 or -1. */
static int
int_row(struct mcur *c, json_t *arr, void *arg)
{
	(void)arg;
	return json_array_append_new(arr, json_integer(mcur_int(c, 0)));
}

json_t *
mstore_fwd_groups(struct mdb *db, const char *room_id)
{
	return mcur_json_fold(mdb_query(db, MSTMT_FWD_GROUPS, "s", room_id), json_array(),
	    int_row, NULL);
}

int
mstore_fwd_advance(struct mdb *db, const char *room_id, const json_t *prev_events,
    const char *event_id)
{
	size_t	 i;
	json_t	*p;
	int64_t	 n;

	/* The common case, a message after the room's one extremity. */
	if (json_array_size(prev_events) == 1 && json_is_string(json_array_get(prev_events, 0))) {
		if ((n = mdb_exec(db, MSTMT_FWD_MOVE, "sss", room_id,
		    json_string_value(json_array_get(prev_events, 0)), event_id)) < 0)
			return -1;
		if (n > 0)
			return 0;
	}
	json_array_foreach(prev_events, i, p)
		if (json_is_string(p) &&
		    mdb_exec(db, MSTMT_FWD_DEL, "ss", room_id, json_string_value(p)) < 0)
			return -1;
	return mdb_exec(db, MSTMT_FWD_ADD, "ss", room_id, event_id) < 0 ? -1 : 0;
}

int
mstore_bwd_advance(struct mdb *db, const char *room_id, const json_t *prev_events,
    int64_t depth, const char *event_id)
{
	struct mevflags	 f;
	size_t		 i;
	json_t		*p;
	int		 rc;

	if (mdb_exec(db, MSTMT_BWD_DEL, "s", event_id) < 0)
		return -1;
	json_array_foreach(prev_events, i, p) {
		if (!json_is_string(p))
			continue;
		if ((rc = mstore_event_flags(db, json_string_value(p), &f)) == -1)
			return -1;
		if (rc == 1) {
			free(f.room_id);
			if (!f.outlier)
				continue;
		}
		if (mdb_exec(db, MSTMT_BWD_ADD, "ssi", room_id, json_string_value(p), depth) < 0)
			return -1;
	}
	return 0;
}

/* Adds [column 0, column 1] of a row, a string and an integer, to arr.  0 or -1. */
static int
bwd_row(struct mcur *c, json_t *arr, void *arg)
{
	(void)arg;
	return json_array_append_new(arr, json_pack("[sI]", mcur_text(c, 0),
	    (json_int_t)mcur_int(c, 1)));
}

json_t *
mstore_bwd_list(struct mdb *db, const char *room_id, int64_t hi, int64_t lo, int64_t limit)
{
	return mcur_json_fold(mdb_query(db, MSTMT_BWD_LIST, "siii", room_id, hi, lo, limit),
	    json_array(), bwd_row, NULL);
}

int
mstore_alias_add(struct mdb *db, const char *alias, const char *room_id, const char *creator)
{
	int64_t n = mdb_exec(db, MSTMT_ALIAS_ADD, "sss", alias, room_id, creator);

	return n < 0 ? -1 : n == 0 ? MSTORE_CONFLICT : 0;
}

int
mstore_alias_get(struct mdb *db, const char *alias, char **room_id, char **creator)
{
	struct mcur	*c;
	int		 rc;

	*room_id = NULL;
	if (creator != NULL)
		*creator = NULL;
	if ((c = mdb_query(db, MSTMT_ALIAS_GET, "s", alias)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		*room_id = mcur_dup(c, 0);
		if (creator != NULL)
			*creator = mcur_dup(c, 1);
		if (*room_id == NULL)
			rc = -1;
	}
	mcur_free(c);
	return rc;
}

int
mstore_alias_del(struct mdb *db, const char *alias)
{
	return mstore_changed(mdb_exec(db, MSTMT_ALIAS_DEL, "s", alias));
}

json_t *
mstore_alias_list(struct mdb *db, const char *room_id)
{
	return mcur_json_strings(mdb_query(db, MSTMT_ALIAS_LIST, "s", room_id));
}

int
mstore_relation_add(struct mdb *db, const char *event_id, const char *relates_to,
    const char *rel_type, const char *key, const char *room_id, int64_t stream)
{
	return mdb_exec(db, MSTMT_RELATION_ADD, "sssssi", event_id, relates_to, rel_type, key,
	    room_id, stream) < 0 ? -1 : 0;
}
