/*
 * libFuzzer harness: what GET /sync takes from the query (handlers/sync):
 * the since token, and an inline filter as sync_filter_load reads it,
 * then the filter's event matching (lib/room/filter.c).  The input is
 * three lines: a token, a filter, a JSON array of events.  A token
 * that parses is written back as the same positions; a filter that
 * passes the check matches any events without harm.
 */
#define main	myelin_sync_main
int	myelin_sync_main(int, char *[]);
#include "../../handlers/sync/main.c"
#undef main

#include "fcgi/extern.h"
#include "room/filter.h"
#include "fuzz.h"

static const struct mconfig	fconf = { .server_name = "example.org", .max_body_bytes = 65536 };
static const struct mserver	fsrv = { .conf = &fconf };

static void
events_match(const json_t *filter, const json_t *evs)
{
	const json_t	*ev, *part;
	const char	*k;
	size_t		 i;

	json_array_foreach(evs, i, ev) {
		(void)mfilter_event_match(filter, "!r:example.org", ev);
		(void)mfilter_event_match(filter, NULL, ev);
		(void)mfilter_room_match(json_object_get(filter, "room"), mjson_str(ev, "room_id") != NULL ?
		    mjson_str(ev, "room_id") : "!r:example.org");
		/* The parts /sync applies: room.timeline, room.state, presence... */
		json_object_foreach((json_t *)json_object_get(filter, "room"), k, part)
			if (json_is_object(part))
				(void)mfilter_event_match(part, "!r:example.org", ev);
		json_object_foreach((json_t *)filter, k, part)
			if (json_is_object(part))
				(void)mfilter_event_match(part, NULL, ev);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mreq	 req;
	struct syncstate st;
	struct syncpos	 pos, again;
	char		*s, *p, *tok, *fs, *evtext, buf[512], why[256];
	json_t		*evs;

	if ((p = s = fuzz_str(data, size)) == NULL)
		return 0;
	tok = fuzz_field(&p);
	fs = fuzz_field(&p);
	evtext = p;
	mfcgi_req_init(&req, &fsrv, NULL);
	if (sync_token_parse(&req, tok, &pos) == 0) {
		sync_token_format(&pos, buf, sizeof(buf));
		FUZZ_ASSERT(sync_token_parse(&req, buf, &again) == 0);
		FUZZ_ASSERT(memcmp(&pos, &again, sizeof(pos)) == 0);
	} else
		FUZZ_ASSERT(req.failed && merr_status(req.err) == 400);
	mfcgi_req_fini(&req);
	if (fs != NULL && fs[0] == '{') {
		memset(&st, 0, sizeof(st));
		st.limit = DEFAULT_TIMELINE_LIMIT;
		mfcgi_req_init(&req, &fsrv, NULL);
		if (sync_filter_load(&req, fs, &st) == 0) {
			FUZZ_ASSERT(st.filter != NULL && st.limit >= 0 &&
			    st.limit <= SYNC_MAX_TIMELINE_LIMIT);
			if (evtext != NULL &&
			    (evs = mjson_parse(evtext, strlen(evtext), 32)) != NULL) {
				events_match(st.filter, evs);
				json_decref(evs);
			}
		} else
			FUZZ_ASSERT(req.failed && merr_status(req.err) == 400);
		(void)mfilter_room_event_check(st.filter, why, sizeof(why));
		json_decref(st.filter);
		mfcgi_req_fini(&req);
	}
	free(s);
	return 0;
}
