/* myelin-sync: GET /sync, the long-poll every client keeps open. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "events/events.h"
#include "fcgi/fcgi.h"
#include "json/json.h"
#include "notify/notify.h"
#include "room/room.h"
#include "store/store.h"
#include "sync.h"

#define DEFAULT_TIMELINE_LIMIT	10
#define MAX_TIMEOUT_MS		(5 * 60 * 1000)

static void
syncstate_free(void *p)
{
	struct syncstate *st = p;

	if (st == NULL)
		return;
	json_decref(st->filter);
	free(st);
}

/* Every stream of a sync token, in token order (see sync.h). */
static const struct syncstream *const streams[] = {
	&sync_events,
	&sync_typing,
	&sync_receipts,
	&sync_account_data,
	&sync_presence,
	&sync_todevice,
	&sync_devicelists,
};

int
sync_token_parse(struct mreq *req, const char *tok, struct syncpos *pos)
{
	const char	*p = tok + 1;
	char		*end;
	int		 i;

	memset(pos, 0, sizeof(*pos));
	if (tok[0] != 's')
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid sync token");
	for (i = 0; i < SPOS__MAX; i++) {
		long long n;

		if (*p < '0' || *p > '9')
			return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid sync token");
		errno = 0;
		n = strtoll(p, &end, 10);
		if (errno == ERANGE)
			return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid sync token");
		pos->p[i] = n;
		if (*end == '\0')
			return 0;
		if (*end != '_')
			return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid sync token");
		p = end + 1;
	}
	return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid sync token");
}

void
sync_token_format(const struct syncpos *pos, char *buf, size_t bufsz)
{
	size_t n = (size_t)snprintf(buf, bufsz, "s%lld", (long long)pos->p[0]);

	for (int i = 1; i < SPOS__MAX && n < bufsz; i++)
		n += (size_t)snprintf(buf + n, bufsz - n, "_%lld", (long long)pos->p[i]);
}

int
sync_now(struct mreq *req, struct syncpos *pos)
{
	int64_t all[MSTREAM__MAX];

	if (mstore_stream_positions(req->db, all) == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: stream positions", __func__);
	/* By the token's slots (see MSTREAM_TABLE). */
#define SYNC_SLOT(id, slot, row) pos->p[slot] = all[MSTREAM_##id];
	MSTREAM_TABLE(SYNC_SLOT)
#undef SYNC_SLOT
	return 0;
}

/* Reads the query once, on the first run.  0 or -1 (request failed). */
static int
setup(struct mreq *req, struct syncstate **out)
{
	struct syncstate	*st;
	char			*since = mreq_query(req, "since"), *fs = mreq_query(req, "filter");
	char			*full = mreq_query(req, "full_state");
	int64_t			 timeout;
	int			 rc = -1;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	st->initial = since == NULL;
	st->limit = DEFAULT_TIMELINE_LIMIT;
	if (since != NULL && sync_token_parse(req, since, &st->since) == -1)
		goto out;
	if (mreq_query_int(req, "timeout", 0, 0, INT64_MAX, &timeout) == -1)
		goto out;
	if (timeout > MAX_TIMEOUT_MS)
		timeout = MAX_TIMEOUT_MS;
	st->deadline = mclock_now_ms() + timeout;
	st->full_state = full != NULL && strcmp(full, "true") == 0;
	if (fs != NULL && sync_filter_load(req, fs, st) == -1)
		goto out;
	*out = st;
	st = NULL;
	rc = 0;
out:
	syncstate_free(st);
	free(since);
	free(fs);
	free(full);
	return rc;
}

/* Runs every stream once over (since, now].  Returns the response or NULL. */
static json_t *
run_streams(struct mreq *req, const struct syncstate *st, int *empty, json_t **joined)
{
	struct syncctx	 ctx;
	char		 tok[256];

	memset(&ctx, 0, sizeof(ctx));
	ctx.req = req;
	ctx.st = st;
	ctx.from = st->since;
	ctx.empty = 1;
	ctx.resp = json_pack("{s:{s:{},s:{},s:{},s:{}},s:{s:[]},s:{s:[]}}",
	    "rooms", "join", "invite", "leave", "knock",
	    "account_data", "events", "presence", "events");
	/* Filled by the events stream, or read where asked (sync_joined_rooms). */
	ctx.joined = NULL;
	if (sync_now(req, &ctx.to) == -1)
		goto fail;
	for (size_t i = 0; i < SPOS__MAX; i++) {
		/*
		 * A position past the present (a token from a database since
		 * restored, or made up) is clamped to the present, as Synapse
		 * bounds future tokens: next_batch then names a real position
		 * and the client sees what comes next.  Keeping the larger one
		 * pinned the client, every later sync answering "nothing new"
		 * until the server caught up with a number it may never reach.
		 * Refusing it instead would leave such a client failing every
		 * sync until its user logs in again.
		 */
		if (ctx.from.p[i] > ctx.to.p[i])
			ctx.from.p[i] = ctx.to.p[i];
	}
	/* What an initial sync reads whatever it finds, in the order it reads it. */
	if (st->initial)
		mstore_sync_prefetch_initial(req->db, req->auth.user_id, ctx.to.p[SPOS_EVENTS],
		    st->limit + 1, ctx.to.p[SPOS_PRESENCE]);
	/* What an incremental sync reads whatever it finds: one round trip. */
	if (!st->initial && !st->full_state)
		mstore_sync_prefetch(req->db, req->auth.user_id, req->auth.device_id,
		    ctx.from.p[SPOS_EVENTS], ctx.to.p[SPOS_EVENTS], st->limit + 1,
		    ctx.to.p[SPOS_EVENTS] - ctx.from.p[SPOS_EVENTS] <= SINCE_SCAN_MAX,
		    ctx.from.p[SPOS_TODEVICE]);
	/* The events stream runs first: it learns the user's joined rooms. */
	for (size_t i = 0; i < sizeof(streams) / sizeof(streams[0]); i++)
		if (streams[i]->collect(&ctx) == -1)
			goto fail;
	/* Counts go to every joined room in the response, whichever stream put it there. */
	if (sync_unread(&ctx) == -1)
		goto fail;
	/* What went ahead and was not asked for is not for the next run. */
	mdb_prefetch_drop(req->db);
	sync_token_format(&ctx.to, tok, sizeof(tok));
	json_object_set_new(ctx.resp, "next_batch", json_string(tok));
	json_decref(ctx.moves);
	*joined = ctx.joined;
	*empty = ctx.empty;
	return ctx.resp;
fail:
	json_decref(ctx.moves);
	json_decref(ctx.joined);
	json_decref(ctx.resp);
	return NULL;
}

/*
 * Spec: C-S API, GET /sync.  An incremental sync with nothing new waits
 * (parked, no thread held) until something moves or timeout passes.
 */
int
sync_park_interest(struct mreq *req, const json_t *rooms)
{
	uint64_t	*v;
	size_t		 n = 0, i;
	const char	*k;
	json_t		*e;
	int		 rc;

	if ((v = reallocarray(NULL, (json_is_array(rooms) ? json_array_size(rooms) :
	    json_object_size(rooms)) + 1, sizeof(*v))) == NULL)
		return -1;
	v[n++] = mnotify_topic(req->auth.user_id);
	if (json_is_array(rooms))
		json_array_foreach(rooms, i, e)
			v[n++] = mnotify_topic(json_string_value(e));
	else
		json_object_foreach((json_t *)rooms, k, e)
			v[n++] = mnotify_topic(k);
	rc = mfcgi_park_interest(req, v, n);
	free(v);
	return rc;
}

int
sync_reply(struct mreq *req, json_t *out)
{
	/* How often a commit ran this request again while it waited (tests read it). */
	mfcgi_header(req, "X-Myelin-Wakes", "%d", req->wakes);
	return mfcgi_reply(req, 200, out);
}

static int
h_sync(struct mreq *req)
{
	struct syncstate	*st = req->state;
	json_t			*out, *joined = NULL;
	uint32_t		 seq;
	int			 empty;

	if (st == NULL) {
		if (setup(req, &st) == -1)
			return -1;
		req->state = st;
		req->state_free = syncstate_free;
		/* The presence's read and the positions' in one round trip. */
		mstore_sync_prefetch_start(req->db, req->auth.user_id);
		if (sync_set_presence(req) == -1)
			return -1;
	}
	for (;;) {
		/*
		 * The sequence is read first: a change that lands while the
		 * response is built moves it, and the loop builds again rather
		 * than waiting past an event it did not see.
		 */
		seq = req->srv->notify != NULL ? mnotify_seq(req->srv->notify) : 0;
		if ((out = run_streams(req, st, &empty, &joined)) == NULL)
			return -1;
		if (!empty || st->initial || st->full_state ||
		    req->woken == MWAKE_TIMEOUT || mclock_now_ms() >= st->deadline) {
			json_decref(joined);
			return sync_reply(req, out);
		}
		json_decref(out);
		/*
		 * Filtered wake-ups: commits in the user's joined rooms or
		 * naming the user (and those concerning everyone).  The loop
		 * checks what moved since this run began before it parks.
		 */
		if (req->srv->notify != NULL && joined == NULL &&
		    (joined = mstore_user_rooms(req->db, req->auth.user_id, "join")) == NULL)
			return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		if (req->srv->notify != NULL && sync_park_interest(req, joined) == 0) {
			json_decref(joined);
			return mfcgi_park(req, st->deadline);
		}
		json_decref(joined);
		if (req->srv->notify == NULL || mnotify_seq(req->srv->notify) == seq)
			return mfcgi_park(req, st->deadline);
	}
}

static const struct mroute routes[] = {
	{ MM_GET,	"/_matrix/client/v3/sync",	MAUTH_USER,	h_sync },
	{ MM_POST,	"/_matrix/client/unstable/org.matrix.simplified_msc3575/sync",
							MAUTH_USER,	h_sliding_sync },
	{ MM_GET,	"/_matrix/client/v3/events",	MAUTH_USER,	h_events },
	{ MM_GET,	"/_matrix/client/v3/initialSync", MAUTH_USER,	h_initial_sync },
	{ MM_GET,	"/_matrix/client/v3/rooms/{roomId}/initialSync", MAUTH_USER,
							h_room_initial_sync },
};

/* GET /events/{eventId} is not here: myelin-client answers it. */
static const char *const locations[] = {
	"~ ^/_matrix/client/(v3|r0)/sync$",
	"= /_matrix/client/unstable/org.matrix.simplified_msc3575/sync",
	"~ ^/_matrix/client/(v3|r0)/(events|initialSync)$",
	"~ ^/_matrix/client/(v3|r0)/rooms/[^/]+/initialSync$",
};

static const struct mapp app = {
	.name = "sync",
	.routes = routes,
	.routesz = sizeof(routes) / sizeof(routes[0]),
	.locations = locations,
	.locationsz = sizeof(locations) / sizeof(locations[0]),
	.wait_seconds = MAX_TIMEOUT_MS / 1000,
	/* Nothing beyond the database and the run directory (lib/sandbox). */
	.sandbox = 0,
};

int
main(int argc, char *argv[])
{
	return mfcgi_main_async(&app, argc, argv);
}
