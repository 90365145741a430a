/*
 * libFuzzer harness: state resolution (lib/events/stateres.c, v2, and
 * stateres1.c, v1) on any inputs.  The input is JSON
 * {"room_version": V, "events": [PDU, ...], "states": [[event ID, ...], ...]}:
 * each state is the state map of the events it names (type and
 * state_key of each); every event is reachable by its "event_id".  The
 * resolved map must name only events it was given, under their keys.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/events.h"
#include "json/json.h"
#include "fuzz.h"

static const json_t *
ev_get(void *arg, const char *event_id)
{
	return event_id != NULL ? json_object_get(arg, event_id) : NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct mroomver	*ver;
	json_t			*in, *events, *byid = NULL, *states = NULL, *res, *v;
	const json_t		*list, *ev, *id;
	const char		*key, *type, *sk;
	char			*k;
	size_t			 i, j;

	if ((in = mjson_parse((const char *)data, size, 32)) == NULL)
		return 0;
	if ((ver = mroomver_get(mjson_str(in, "room_version") != NULL ?
	    mjson_str(in, "room_version") : "10")) == NULL ||
	    !json_is_array(events = json_object_get(in, "events")) ||
	    !json_is_array(json_object_get(in, "states")) ||
	    json_array_size(events) > 64 || json_array_size(json_object_get(in, "states")) > 8)
		goto out;
	byid = json_object();
	states = json_array();
	json_array_foreach(events, i, ev)
		if (json_is_object(ev) && (id = json_object_get(ev, "event_id")) != NULL &&
		    json_is_string(id))
			json_object_set(byid, json_string_value(id), (json_t *)ev);
	json_array_foreach(json_object_get(in, "states"), i, list) {
		json_t *map = json_object();

		json_array_foreach(list, j, id)
			if ((ev = json_object_get(byid, json_string_value(id))) != NULL &&
			    (type = mjson_str(ev, "type")) != NULL &&
			    (sk = mjson_str(ev, "state_key")) != NULL &&
			    (k = mstate_key_join(type, sk)) != NULL) {
				json_object_set(map, k, (json_t *)id);
				free(k);
			}
		json_array_append_new(states, map);
	}
	res = ver->state_res_v2 ? mstate_resolve(ver, states, ev_get, byid) :
	    mstate_resolve_v1(ver, states, ev_get, byid);
	json_object_foreach(res, key, v) {
		FUZZ_ASSERT(json_is_string(v));
		FUZZ_ASSERT((ev = json_object_get(byid, json_string_value(v))) != NULL);
		FUZZ_ASSERT((k = mstate_key_join(mjson_str(ev, "type"),
		    mjson_str(ev, "state_key"))) != NULL && strcmp(k, key) == 0);
		free(k);
	}
	json_decref(res);
out:
	json_decref(states);
	json_decref(byid);
	json_decref(in);
	return 0;
}
