/*
 * Message retention (m.room.retention, lib/store/retention.c): the rooms
 * and their policies, and the purge of old message events.
 */
#ifndef MYELIN_STORE_RETENTION_H
#define MYELIN_STORE_RETENTION_H

/*
 * Every room as [room_id, content] pairs in a JSON array (new
 * reference), content the object of its m.room.retention event or null
 * when it has none; NULL on failure.
 */
json_t	*mstore_retention_rooms(struct mdb *);
/*
 * The policies of the rooms of the JSON array rooms (room IDs): a new
 * object of room_id: m.room.retention content, for the rooms that have
 * one; NULL on failure.
 */
json_t	*mstore_retention_policies(struct mdb *, const json_t *rooms);
/*
 * Deletes at most limit of room_id's message events sent before
 * before_ts (origin_server_ts), oldest first, with their search index,
 * relation and push action rows and their places in the outbound
 * federation queue, in the caller's transaction.  State
 * events, the room's latest event and its forward extremities stay.
 * Returns the number of events deleted (0: none left), or -1.
 */
int64_t	mstore_retention_purge(struct mdb *, const char *room_id, int64_t before_ts,
	    int64_t limit);

#endif
