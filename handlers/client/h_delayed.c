/*
 * Delayed events (MSC4140, as Synapse implements it): a send or state
 * PUT with org.matrix.msc4140.delay is kept and sent later by
 * myelin-timerd (lib/room/delayed.c), unless the client cancels it,
 * restarts its timer (a heartbeat: Element Call's "leave the call if I
 * vanish") or sends it at once.  Off unless max_event_delay_ms is set.
 */
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "crypto/crypto.h"
#include "extern.h"
#include "json/json.h"
#include "rooms.h"
#include "store/store.h"

#define DELAY_PARAM		"org.matrix.msc4140.delay"
/* Spec: the limits of an event's type and state key, and of a PDU. */
#define ID_MAX_BYTES		255
#define CONTENT_MAX_BYTES	65536
/* Delayed events one user may keep at once (Synapse sets none; a store needs one). */
#define DELAYED_PER_USER	100

int
room_delay_param(struct mreq *req, int64_t *delay)
{
	char	*v = mreq_query(req, DELAY_PARAM);
	int64_t	 max = req->conf->max_event_delay_ms;

	if (v == NULL)
		return 0;
	free(v);
	if (mreq_query_int(req, DELAY_PARAM, 0, 0, INT64_MAX, delay) == -1)
		return -1;
	/* As Synapse, with its unstable error codes beside M_UNKNOWN. */
	if (max <= 0) {
		mfcgi_fail(req, MERR_UNKNOWN, "Delayed events are not supported on this server");
		return mfcgi_fail_add(req, "org.matrix.msc4140.errcode",
		    json_string("M_MAX_DELAY_UNSUPPORTED"));
	}
	if (*delay > max) {
		mfcgi_fail(req, MERR_UNKNOWN, "The requested delay exceeds the allowed maximum.");
		mfcgi_fail_add(req, "org.matrix.msc4140.errcode",
		    json_string("M_MAX_DELAY_EXCEEDED"));
		return mfcgi_fail_add(req, "org.matrix.msc4140.max_delay",
		    json_integer((json_int_t)max));
	}
	return 1;
}

int
room_delay(struct mreq *req, const char *room_id, const char *type, const char *state_key,
    const json_t *content, int64_t delay)
{
	struct mdelayed	 d;
	char		*js, *rnd;
	size_t		 len;
	int64_t		 n;
	int		 rc;

	/* What the write path would refuse later is refused now, with nothing kept. */
	if (strlen(type) > ID_MAX_BYTES || (state_key != NULL && strlen(state_key) > ID_MAX_BYTES))
		return mfcgi_fail(req, MERR_INVALID_PARAM,
		    "Event type and state key must be at most %d bytes", ID_MAX_BYTES);
	if (!json_is_object(content))
		return mfcgi_fail(req, MERR_BAD_JSON, "Event content must be an object");
	if ((js = mjson_canonical(content, &len)) == NULL)
		return mfcgi_fail(req, MERR_BAD_JSON, "Event content is not canonical JSON: "
		    "no floats, integers within +-(2**53 - 1)");
	if (len > CONTENT_MAX_BYTES) {
		free(js);
		return mfcgi_fail(req, MERR_TOO_LARGE, "Event content is too large");
	}
	if ((n = mstore_delayed_count(req->db, req->auth.user_id)) == -1) {
		free(js);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	}
	if (n >= DELAYED_PER_USER) {
		free(js);
		return mfcgi_fail(req, MERR_UNKNOWN, "Too many delayed events: at most %d",
		    DELAYED_PER_USER);
	}
	if ((rnd = mcrypto_random_string(20)) == NULL) {
		free(js);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	}
	memset(&d, 0, sizeof(d));
	if (asprintf(&d.delay_id, "syd_%s", rnd) == -1)
		d.delay_id = NULL;
	free(rnd);
	d.user_id = (char *)req->auth.user_id;
	d.device_id = (char *)req->auth.device_id;
	d.room_id = (char *)room_id;
	d.type = (char *)type;
	d.state_key = (char *)state_key;
	d.content = js;
	d.delay_ms = delay;
	d.running_since = mclock_now_ms();
	if (d.delay_id == NULL || mstore_delayed_add(req->db, &d) == -1)
		rc = mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	else
		rc = mfcgi_reply(req, 200, json_pack("{s:s}", "delay_id", d.delay_id));
	free(d.delay_id);
	free(js);
	return rc;
}

/* MSC4140: GET /_matrix/client/unstable/org.matrix.msc4140/delayed_events. */
int
h_delayed_list(struct mreq *req)
{
	json_t *list = mstore_delayed_list(req->db, req->auth.user_id);

	if (list == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	return mfcgi_reply(req, 200, json_pack("{s:o}", "delayed_events", list));
}

/*
 * MSC4140: POST /_matrix/client/unstable/org.matrix.msc4140/delayed_events/{delayId}
 * with action cancel, restart or send; 404 M_NOT_FOUND for an ID the
 * user has not (another user's included).  A sent one is made due now:
 * the timer daemon sends it within its poll, through the one write path.
 */
int
h_delayed_update(struct mreq *req)
{
	const char	*action = mjson_str(req->body, "action"), *id = req->params[0];
	int64_t		 now = mclock_now_ms();
	int		 r;

	if (json_object_get(req->body, "action") == NULL)
		return mfcgi_fail(req, MERR_MISSING_PARAM, "Missing action");
	if (action == NULL)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "action must be a string");
	if (strcmp(action, "cancel") == 0)
		r = mstore_delayed_cancel(req->db, id, req->auth.user_id);
	else if (strcmp(action, "restart") == 0)
		r = mstore_delayed_restart(req->db, id, req->auth.user_id, now);
	else if (strcmp(action, "send") == 0)
		r = mstore_delayed_due_now(req->db, id, req->auth.user_id, now);
	else
		return mfcgi_fail(req, MERR_INVALID_PARAM,
		    "action must be one of cancel, restart, send");
	if (r == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	if (r == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Unknown delayed event");
	return mfcgi_reply(req, 200, json_object());
}
