/* Helpers of the streams beside events: joined rooms, filters on events without a sender. */
#include <string.h>

#include "room/filter.h"
#include "sync.h"

int
sync_joined(const struct syncctx *ctx, const char *room_id)
{
	size_t	 i;
	json_t	*v;

	json_array_foreach(ctx->joined, i, v)
		if (strcmp(json_string_value(v), room_id) == 0)
			return 1;
	return 0;
}

/*
 * As Synapse, a missing sender fails a "senders" list and matches no
 * "not_senders": the probe's sender "" does just that, as a checked
 * filter holds only user IDs there.
 */
int
sync_filter_nosender(const json_t *filter, const char *room_id, const json_t *ev)
{
	json_t	*probe;
	int	 rc;

	if (filter == NULL)
		return 1;
	probe = json_pack("{s:O,s:s,s:O*}", "type", json_object_get(ev, "type"), "sender", "",
	    "content", json_object_get(ev, "content"));
	rc = probe != NULL && mfilter_event_match(filter, room_id, probe);
	json_decref(probe);
	return rc;
}
