/*
 * Backfill (S-S API, "Backfilling and retrieving missing events"): the
 * history of a room before its backward extremities, asked of the
 * room's other servers with GET /backfill and taken in as history
 * (lib/fed/inbound.c, mfed_receive_history), for /messages when a page
 * reaches the edge of what is stored here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "fed/fed.h"
#include "json/json.h"
#include "log/log.h"
#include "store/store.h"

/* As Synapse: at most this many extremities in one request (the URI's length). */
#define BACKFILL_V_MAX	5
/* And at most this many events asked for. */
#define BACKFILL_LIMIT_MAX	100

/* The path of GET /backfill/{roomId}?v=...&limit=: malloc'd, or NULL. */
static char *
backfill_path(const char *room_id, const json_t *v, int64_t limit)
{
	char	*r, *e, *path = NULL, *next;
	json_t	*id;
	size_t	 i;

	if ((r = mfed_escape(room_id)) == NULL)
		return NULL;
	if (asprintf(&path, "/_matrix/federation/v1/backfill/%s?limit=%lld", r,
	    (long long)limit) == -1)
		path = NULL;
	free(r);
	json_array_foreach(v, i, id) {
		if (path == NULL || i >= BACKFILL_V_MAX)
			break;
		if (!json_is_string(id) || (e = mfed_escape(json_string_value(id))) == NULL)
			continue;
		if (asprintf(&next, "%s&v=%s", path, e) == -1)
			next = NULL;
		free(e);
		free(path);
		path = next;
	}
	return path;
}

int64_t
mfed_backfill(struct mdb *db, const struct mconfig *conf, const struct mkey *key,
    const char *room_id, const json_t *v, int64_t limit)
{
	json_t		*servers, *reply, *pdus, *s;
	char		*path;
	long		 status;
	int64_t		 done = -1;
	size_t		 i;

	if (json_array_size(v) == 0)
		return 0;
	if (limit < 1)
		limit = 1;
	if (limit > BACKFILL_LIMIT_MAX)
		limit = BACKFILL_LIMIT_MAX;
	if ((path = backfill_path(room_id, v, limit)) == NULL)
		return -1;
	if ((servers = mstore_fedq_room_servers(db, room_id, conf->server_name)) == NULL) {
		free(path);
		return -1;
	}
	json_array_foreach(servers, i, s) {
		const char *server = json_string_value(s);

		if (server == NULL)
			continue;
		reply = NULL;
		status = 0;
		if (mfed_request(conf, key, server, "GET", path, NULL, &status, &reply) == -1)
			continue;
		pdus = json_object_get(reply, "pdus");
		if (status != 200 || !json_is_array(pdus)) {
			mlog_info(NULL, "federation: backfill of %s at %s: status %ld", room_id,
			    server, status);
			json_decref(reply);
			continue;
		}
		done = (int64_t)mfed_receive_history(db, conf, key, server, room_id, pdus);
		json_decref(reply);
		break;
	}
	json_decref(servers);
	free(path);
	return done;
}
