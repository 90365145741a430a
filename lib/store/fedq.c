/* The outbound federation queue: events per destination, and backoff. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/extern.h"

int
mstore_fedq_add(struct mdb *db, const char *destination, const char *event_id, int64_t now)
{
	return mdb_exec(db, MSTMT_FEDQ_ADD, "ssi", destination, event_id, now) < 0 ? -1 : 0;
}

/*
 * The servers of a room, kept by the process under the versions push
 * evaluation keeps its members under (lib/push/event.c): the room's
 * rooms.state_seq, which every change of its current state moves, and
 * push_rules_seq, which a purge of any room moves (a room joined again
 * counts its state_seq from 0 again).  A local send, which read both
 * as it locked the room (mstore_memo_seqs), asks the database only when
 * one moved.  Direct-mapped by room ID.
 */
#define FEDQ_ROOMS	64

struct fedqroom {
	char	*room_id;	/* NULL: empty */
	char	*server_name;
	int64_t	 state_seq, rules_seq;
	json_t	*servers;	/* not changed once here: copied out */
};

static struct fedqroom	fedq_rooms[FEDQ_ROOMS];
static pthread_mutex_t	fedq_mtx = PTHREAD_MUTEX_INITIALIZER;

static json_t	*room_servers(struct mdb *, const char *, const char *);

json_t *
mstore_fedq_room_servers(struct mdb *db, const char *room_id, const char *server_name)
{
	struct fedqroom	*sl = &fedq_rooms[mstore_str_hash(room_id) % FEDQ_ROOMS], n, old;
	int64_t		 state_seq, rules_seq;
	json_t		*out = NULL;

	if (!mstore_memo_seqs(db, room_id, &state_seq, &rules_seq))
		return room_servers(db, room_id, server_name);
	pthread_mutex_lock(&fedq_mtx);
	if (sl->room_id != NULL && sl->state_seq == state_seq && sl->rules_seq == rules_seq &&
	    strcmp(sl->room_id, room_id) == 0 && strcmp(sl->server_name, server_name) == 0)
		out = json_deep_copy(sl->servers);
	pthread_mutex_unlock(&fedq_mtx);
	if (out != NULL)
		return out;
	if ((out = room_servers(db, room_id, server_name)) == NULL)
		return NULL;
	n.room_id = strdup(room_id);
	n.server_name = strdup(server_name);
	n.state_seq = state_seq;
	n.rules_seq = rules_seq;
	n.servers = json_deep_copy(out);
	if (n.room_id == NULL || n.server_name == NULL || n.servers == NULL) {
		free(n.room_id);
		free(n.server_name);
		json_decref(n.servers);
		return out;
	}
	pthread_mutex_lock(&fedq_mtx);
	old = *sl;
	*sl = n;
	pthread_mutex_unlock(&fedq_mtx);
	free(old.room_id);
	free(old.server_name);
	json_decref(old.servers);
	return out;
}

/* mstore_fedq_room_servers from the database. */
static json_t *
room_servers(struct mdb *db, const char *room_id, const char *server_name)
{
	struct mcur	*c;
	json_t		*out, *seen;
	char		*like;
	const char	*sk, *s;
	int		 rc;

	if ((out = json_array()) == NULL)
		return NULL;
	if (asprintf(&like, "%%:%s", server_name) == -1) {
		json_decref(out);
		return NULL;
	}
	c = mdb_query(db, MSTMT_FEDQ_ROOM_REMOTE, "ss", room_id, like);
	free(like);
	if (c == NULL) {
		json_decref(out);
		return NULL;
	}
	rc = mcur_next(c);
	mcur_free(c);
	if (rc != 1) {
		if (rc == -1) {
			json_decref(out);
			return NULL;
		}
		return out;
	}
	if ((seen = json_object()) == NULL ||
	    (c = mdb_query(db, MSTMT_FEDQ_ROOM_JOINED, "s", room_id)) == NULL) {
		json_decref(seen);
		json_decref(out);
		return NULL;
	}
	while ((rc = mcur_next(c)) == 1) {
		if ((sk = mcur_text(c, 0)) == NULL || (s = strchr(sk, ':')) == NULL ||
		    strcmp(++s, server_name) == 0 || json_object_get(seen, s) != NULL)
			continue;
		if (json_object_set_new(seen, s, json_true()) == -1 ||
		    json_array_append_new(out, json_string(s)) == -1) {
			rc = -1;
			break;
		}
	}
	mcur_free(c);
	json_decref(seen);
	if (rc == -1) {
		json_decref(out);
		return NULL;
	}
	return out;
}

json_t *
mstore_fedq_due(struct mdb *db, int64_t now)
{
	struct mcur	*c;
	json_t		*out;
	int		 rc;

	if ((out = json_array()) == NULL)
		return NULL;
	if ((c = mdb_query(db, MSTMT_FEDQ_DUE, "i", now)) == NULL) {
		json_decref(out);
		return NULL;
	}
	while ((rc = mcur_next(c)) == 1)
		if (json_array_append_new(out, json_string(mcur_text(c, 0))) == -1) {
			rc = -1;
			break;
		}
	mcur_free(c);
	if (rc == -1) {
		json_decref(out);
		return NULL;
	}
	return out;
}

int
mstore_fedq_next_retry(struct mdb *db, int64_t now, int64_t *ts)
{
	struct mcur	*c;
	int		 rc;

	if ((c = mdb_query(db, MSTMT_FEDQ_NEXT_RETRY, "i", now)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		if (mcur_text(c, 0) == NULL)
			rc = 0;
		else
			*ts = mcur_int(c, 0);
	}
	mcur_free(c);
	return rc;
}

/*
 * The rows of a queue statement st (id first) for destination as a JSON
 * array, each made by row (NULL: a row that does not parse, which
 * cannot be sent and is skipped; *failed set: out of memory), of IDs up
 * to upto; *last the last row's ID.  A new array, or NULL.
 */
static json_t *
batch(struct mdb *db, enum mstmt st, const char *destination, int64_t limit, int64_t upto,
    int64_t *last, json_t *(*row)(struct mcur *, int *failed))
{
	struct mcur	*c;
	json_t		*out, *v;
	int		 rc, failed = 0;

	*last = 0;
	if ((out = json_array()) == NULL)
		return NULL;
	if ((c = mdb_query(db, st, "sii", destination, limit, upto)) == NULL) {
		json_decref(out);
		return NULL;
	}
	while ((rc = mcur_next(c)) == 1) {
		*last = mcur_int(c, 0);
		if ((v = row(c, &failed)) == NULL && !failed)
			continue;
		if (failed || json_array_append_new(out, v) == -1) {
			rc = -1;
			break;
		}
	}
	mcur_free(c);
	if (rc == -1) {
		json_decref(out);
		return NULL;
	}
	return out;
}

static json_t *
pdu_row(struct mcur *c, int *failed)
{
	(void)failed;
	return json_loads(mcur_text(c, 1), 0, NULL);
}

json_t *
mstore_fedq_batch(struct mdb *db, const char *destination, int64_t limit, int64_t *last)
{
	return batch(db, MSTMT_FEDQ_BATCH, destination, limit, INT64_MAX, last, pdu_row);
}

json_t *
mstore_fedq_batch_upto(struct mdb *db, const char *destination, int64_t limit, int64_t upto,
    int64_t *last)
{
	return batch(db, MSTMT_FEDQ_BATCH, destination, limit, upto, last, pdu_row);
}

int
mstore_fedq_txn_get(struct mdb *db, const char *destination, int64_t *pdu, int64_t *edu)
{
	struct mcur	*c;
	int		 rc;

	*pdu = *edu = 0;
	if ((c = mdb_query(db, MSTMT_FEDQ_TXN_GET, "s", destination)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		*pdu = mcur_int(c, 0);
		*edu = mcur_int(c, 1);
	}
	mcur_free(c);
	return rc == -1 ? -1 : 0;
}

int
mstore_fedq_txn_set(struct mdb *db, const char *destination, int64_t pdu, int64_t edu)
{
	return mdb_exec(db, MSTMT_FEDQ_TXN_SET, "sii", destination, pdu, edu) < 0 ? -1 : 0;
}

int
mstore_fedq_done(struct mdb *db, const char *destination, int64_t last)
{
	return mdb_exec(db, MSTMT_FEDQ_DONE, "si", destination, last) < 0 ? -1 : 0;
}

int64_t
mstore_fedq_backoff(struct mdb *db, const char *destination)
{
	struct mcur	*c;
	int64_t		 v = 0;
	int		 rc;

	if ((c = mdb_query(db, MSTMT_FEDQ_BACKOFF_GET, "s", destination)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1)
		v = mcur_int(c, 0);
	mcur_free(c);
	return rc == -1 ? -1 : v;
}

int
mstore_fedq_backoff_set(struct mdb *db, const char *destination, int64_t retry_at,
    int64_t backoff_ms)
{
	return mdb_exec(db, MSTMT_FEDQ_BACKOFF_SET, "sii", destination, retry_at,
	    backoff_ms) < 0 ? -1 : 0;
}

int
mstore_fedq_edu_add(struct mdb *db, const char *destination, const char *edu_type,
    const char *ekey, const json_t *content, enum mstream stream, int64_t now)
{
	char	*text;
	int	 rc;

	if ((text = json_dumps(content, JSON_COMPACT)) == NULL)
		return -1;
	rc = (ekey == NULL || mdb_exec(db, MSTMT_FEDQ_EDU_REPLACE, "sss", destination,
	    edu_type, ekey) >= 0) && mdb_exec(db, MSTMT_FEDQ_EDU_ADD, "ssssi", destination,
	    edu_type, ekey, text, now) >= 0 ? 0 : -1;
	free(text);
	if (rc == 0)
		mstore_moved(db, stream);
	return rc;
}

static json_t *
edu_row(struct mcur *c, int *failed)
{
	json_t *content = json_loads(mcur_text(c, 2), 0, NULL), *v;

	if (content == NULL)
		return NULL;
	if ((v = json_pack("{s:s,s:o}", "edu_type", mcur_text(c, 1), "content", content)) == NULL)
		*failed = 1;
	return v;
}

json_t *
mstore_fedq_edu_batch(struct mdb *db, const char *destination, int64_t limit, int64_t *last)
{
	return batch(db, MSTMT_FEDQ_EDU_BATCH, destination, limit, INT64_MAX, last, edu_row);
}

json_t *
mstore_fedq_edu_batch_upto(struct mdb *db, const char *destination, int64_t limit,
    int64_t upto, int64_t *last)
{
	return batch(db, MSTMT_FEDQ_EDU_BATCH, destination, limit, upto, last, edu_row);
}

int
mstore_fedq_edu_done(struct mdb *db, const char *destination, int64_t last)
{
	return mdb_exec(db, MSTMT_FEDQ_EDU_DONE, "si", destination, last) < 0 ? -1 : 0;
}
