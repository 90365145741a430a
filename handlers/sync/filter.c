/* The filter of a /sync: inline JSON or a stored ID, checked once per request. */
#include <string.h>

#include "json/json.h"
#include "room/filter.h"
#include "store/store.h"
#include "sync.h"

#define FILTER_MAX_DEPTH	16

int
sync_filter_load(struct mreq *req, const char *param, struct syncstate *st)
{
	json_t	*l;
	char	 why[256];
	int	 err;

	if (param[0] == '\0')
		return 0;	/* filter= names none: the defaults, as no filter */
	if (param[0] == '{') {
		/* Spec: "a filter ID or ... a JSON-encoded filter": '{' starts the latter. */
		if ((st->filter = mjson_parse(param, strlen(param), FILTER_MAX_DEPTH)) == NULL)
			return mfcgi_fail(req, MERR_NOT_JSON, "filter is not JSON");
		if (mfilter_check(st->filter, why, sizeof(why)) == -1)
			return mfcgi_fail(req, MERR_BAD_JSON, "Invalid filter: %s", why);
	} else if ((st->filter = mstore_filter_get(req->db, req->auth.user_id, param,
	    &err)) == NULL) {
		if (err)
			return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		/* As Synapse: an unknown ID is a bad parameter of this request. */
		return mfcgi_fail(req, MERR_INVALID_PARAM, "No such filter");
	}
	/* Spec: "Servers should apply a default value, and impose a maximum value". */
	l = json_object_get(json_object_get(json_object_get(st->filter, "room"), "timeline"),
	    "limit");
	if (json_is_number(l) && json_number_value(l) >= 0)
		st->limit = json_number_value(l) > SYNC_MAX_TIMELINE_LIMIT ?
		    SYNC_MAX_TIMELINE_LIMIT : (int64_t)json_number_value(l);
	return 0;
}
