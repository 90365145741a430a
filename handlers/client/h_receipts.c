/* Receipts and read markers: POST /rooms/{roomId}/receipt/..., POST /rooms/{roomId}/read_markers. */
#include <stdlib.h>
#include <string.h>

#include "appsvc/appsvc.h"
#include "clock/clock.h"
#include "fed/fed.h"
#include "json/json.h"
#include "push.h"
#include "push/push.h"
#include "rooms.h"
#include "store/store.h"

/* Where the user moves their markers in one room: NULL leaves one alone. */
struct marks {
	const char	*read;		/* m.read */
	const char	*read_private;	/* m.read.private */
	const char	*fully_read;	/* m.fully_read, in room account data */
	const char	*thread_id;	/* of the receipts; NULL: unthreaded */
};

/*
 * The stream position of event_id when it is an accepted event of
 * room_id: 1 with *stream, 0 when not (the request failed with 404
 * M_NOT_FOUND), -1 (failed with 500).
 */
static int
event_in_room(struct mreq *req, const char *room_id, const char *event_id, int64_t *stream)
{
	struct mevrow	 row;
	int		 rc;

	if ((rc = mstore_event_get(req->db, event_id, &row)) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (rc == 1 && (strcmp(row.room_id, room_id) != 0 || row.rejected != NULL))
		rc = 0;
	if (rc == 1)
		*stream = row.stream;
	mevrow_fini(&row);
	if (rc == 0)
		mfcgi_fail(req, MERR_NOT_FOUND, "Event not found in this room");
	return rc;
}

/*
 * Spec: C-S API, "Fully read markers": m.fully_read lives in the room's
 * account data, set only through these endpoints.  A marker that would
 * move back stays where it is, as Synapse does; the store compares and
 * writes in one transaction, so concurrent requests cannot move it back
 * either.  0, or -1 with the request failed.
 */
static int
fully_read(struct mreq *req, const char *room_id, const char *event_id, int64_t stream)
{
	if (mstore_account_data_marker(req->db, req->auth.user_id, room_id,
	    MPUSH_FULLY_READ, event_id, stream) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return 0;
}

/* The m.receipt of one public read receipt, queued for application services.  0 or -1. */
static int
receipt_to_services(struct mreq *req, const char *room_id, const char *event_id,
    const char *thread_id)
{
	json_t	*r, *edu;
	int	 rc;

	if ((r = json_pack("{s:I}", "ts", (json_int_t)mclock_now_ms())) == NULL)
		return -1;
	if (thread_id != NULL)
		json_object_set_new(r, "thread_id", json_string(thread_id));
	if ((edu = json_pack("{s:s,s:s,s:{s:{s:{s:o}}}}", "type", "m.receipt", "room_id",
	    room_id, "content", event_id, MPUSH_READ, req->auth.user_id, r)) == NULL)
		return -1;
	rc = mappsvc_ephemeral_queue(req->db, req->conf, room_id, edu);
	json_decref(edu);
	return rc;
}

/*
 * Moves the markers of m in room_id: every event is checked first (404
 * M_NOT_FOUND when one is not in the room), then the receipts go in one
 * transaction and wake syncs, then the fully read marker.  Users not
 * joined get 403 M_FORBIDDEN.  Replies {}.
 */
static int
mark(struct mreq *req, const char *room_id, const struct marks *m)
{
	const char	*types[] = { MPUSH_READ, MPUSH_READ_PRIVATE };
	const char	*ids[] = { m->read, m->read_private };
	int64_t		 frstream = 0, s, now;
	int		 any = 0, rc;

	if (room_require_joined(req, room_id) != 1)
		return -1;
	if (m->fully_read != NULL && event_in_room(req, room_id, m->fully_read, &frstream) != 1)
		return -1;
	for (size_t i = 0; i < 2; i++)
		if (ids[i] != NULL) {
			if (event_in_room(req, room_id, ids[i], &s) != 1)
				return -1;
			any = 1;
		}
	if (any) {
		if (mdb_begin(req->db) == -1)
			return mfcgi_fail(req, MERR_INTERNAL, "%s: cannot begin", __func__);
		for (size_t i = 0; i < 2; i++) {
			if (ids[i] == NULL)
				continue;
			now = mclock_now_ms();
			if ((rc = mpush_receipt_put(req->db, room_id, req->auth.user_id, types[i],
			    m->thread_id, ids[i], now)) != 1) {
				mdb_rollback(req->db);
				return rc == 0 ? mfcgi_fail(req, MERR_NOT_FOUND, "Event not found") :
				    mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
			}
			/* Spec: m.read goes to the room's other servers, the private one not. */
			/* MSC2409: public receipts go to the services that ask, with them. */
			if (i == 0 && (mfed_edu_receipt(req->db, req->conf->server_name, room_id,
			    req->auth.user_id, m->thread_id, ids[i], now) == -1 ||
			    (req->conf->appservicesz > 0 &&
			    receipt_to_services(req, room_id, ids[i], m->thread_id) == -1))) {
				mdb_rollback(req->db);
				return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
			}
		}
		if (mdb_commit(req->db) == -1)
			return mfcgi_fail(req, MERR_INTERNAL, "%s: commit failed", __func__);
	}
	if (m->fully_read != NULL && fully_read(req, room_id, m->fully_read, frstream) == -1)
		return -1;
	return mfcgi_reply(req, 200, json_object());
}

/*
 * Spec: C-S API, POST /rooms/{roomId}/receipt/{receiptType}/{eventId}:
 * m.read, m.read.private or m.fully_read (as /read_markers); thread_id
 * a non-empty string, not with m.fully_read (400 M_INVALID_PARAM).
 */
int
h_receipt(struct mreq *req)
{
	const char	*type = req->params[1];
	const json_t	*tid = json_object_get(req->body, "thread_id");
	struct marks	 m;

	memset(&m, 0, sizeof(m));
	if (tid != NULL && (!json_is_string(tid) || *json_string_value(tid) == '\0'))
		return mfcgi_fail(req, MERR_INVALID_PARAM,
		    "thread_id field must be a non-empty string");
	m.thread_id = json_string_value(tid);
	if (strcmp(type, MPUSH_READ) == 0)
		m.read = req->params[2];
	else if (strcmp(type, MPUSH_READ_PRIVATE) == 0)
		m.read_private = req->params[2];
	else if (strcmp(type, MPUSH_FULLY_READ) == 0) {
		if (tid != NULL)
			return mfcgi_fail(req, MERR_INVALID_PARAM,
			    "thread_id is not allowed with m.fully_read");
		m.fully_read = req->params[2];
	} else
		return mfcgi_fail(req, MERR_INVALID_PARAM,
		    "Receipt type must be m.read, m.read.private or m.fully_read");
	return mark(req, req->params[0], &m);
}

/*
 * Spec: C-S API, POST /rooms/{roomId}/read_markers: m.fully_read, m.read
 * and m.read.private, each optional; a value that is not a string is 400
 * M_INVALID_PARAM.
 */
int
h_read_markers(struct mreq *req)
{
	static const char *const keys[] = { MPUSH_FULLY_READ, MPUSH_READ, MPUSH_READ_PRIVATE };
	struct marks	 m;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const json_t *v = json_object_get(req->body, keys[i]);

		if (v != NULL && !json_is_string(v))
			return mfcgi_fail(req, MERR_INVALID_PARAM, "%s must be an event ID", keys[i]);
	}
	memset(&m, 0, sizeof(m));
	m.fully_read = mjson_str(req->body, MPUSH_FULLY_READ);
	m.read = mjson_str(req->body, MPUSH_READ);
	m.read_private = mjson_str(req->body, MPUSH_READ_PRIVATE);
	return mark(req, req->params[0], &m);
}
