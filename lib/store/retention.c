/* Storage of message retention: see store/retention.h. */
#include <stdlib.h>

#include "json/json.h"
#include "store/extern.h"

static json_t *
room_row(struct mcur *c)
{
	json_t	*ev = NULL, *content = NULL;

	if (mcur_text(c, 1) != NULL && (ev = json_loads(mcur_text(c, 1), 0, NULL)) != NULL &&
	    json_is_object(json_object_get(ev, "content")))
		content = json_incref(json_object_get(ev, "content"));
	json_decref(ev);
	return json_pack("[s,o]", mcur_text(c, 0), content != NULL ? content : json_null());
}

json_t *
mstore_retention_rooms(struct mdb *db)
{
	return mcur_json_array(mdb_query(db, MSTMT_RET_ROOMS, ""), room_row);
}

/* Adds a row (room_id, event JSON) to the object acc as room_id: content.  0 or -1. */
static int
policy_row(struct mcur *c, json_t *acc, void *arg)
{
	json_t	*ev = json_loads(mcur_text(c, 1), 0, NULL);
	json_t	*content = json_object_get(ev, "content");
	int	 rc = 0;

	(void)arg;
	if (json_is_object(content))
		rc = json_object_set(acc, mcur_text(c, 0), content);
	json_decref(ev);
	return rc;
}

json_t *
mstore_retention_policies(struct mdb *db, const json_t *rooms)
{
	char	*js = json_dumps(rooms, JSON_COMPACT);
	json_t	*out;

	if (js == NULL)
		return NULL;
	out = mcur_json_fold(mdb_query(db, MSTMT_RET_POLICIES, "s", js), json_object(),
	    policy_row, NULL);
	free(js);
	return out;
}

int64_t
mstore_retention_purge(struct mdb *db, const char *room_id, int64_t before_ts, int64_t limit)
{
	/* The index and the rows that name an event first: they find it through events. */
	static const enum mstmt steps[] = {
		MSTMT_RET_DEL_SEARCH, MSTMT_RET_DEL_PUSH, MSTMT_RET_DEL_RELATIONS,
		MSTMT_RET_DEL_EXPIRY, MSTMT_RET_DEL_FEDQ, MSTMT_RET_DEL_EVENTS,
	};
	struct mcur	*c;
	int64_t		 bound = 0, n = 0;
	int		 r;

	if ((c = mdb_query(db, MSTMT_RET_BOUND, "sii", room_id, before_ts, limit)) == NULL)
		return -1;
	if ((r = mcur_next(c)) == 1 && !mcur_null(c, 0))
		bound = mcur_int(c, 0);
	mcur_free(c);
	if (r == -1)
		return -1;
	if (bound == 0)
		return 0;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if ((n = mdb_exec(db, steps[i], "sii", room_id, before_ts, bound)) < 0)
			return -1;
	return n;
}
