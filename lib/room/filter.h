/* Event filters (spec: C-S API, "Filtering"): checking a definition, matching events. */
#ifndef MYELIN_ROOM_FILTER_H
#define MYELIN_ROOM_FILTER_H

#include <jansson.h>

/*
 * Checks the shape of a filter definition (POST /user/{userId}/filter,
 * or inline in /sync) as Synapse's schema does: known keys have the
 * types the spec gives them, user and room ID lists hold IDs; unknown
 * keys are allowed, for forward compatibility.  Limits are integers, and
 * the whole definition canonical JSON (no floats, integers within
 * +-(2**53 - 1)), as it is stored in that form.  Returns 0, or -1 with a
 * sentence naming the bad key written to why.
 */
int	mfilter_check(const json_t *filter, char *why, size_t whysz);
/* The same for a RoomEventFilter alone (the filter of /messages, /context). */
int	mfilter_room_event_check(const json_t *filter, char *why, size_t whysz);

/*
 * 1 when ev (an event in client or PDU format: type, sender, content)
 * of room_id passes filter, a RoomEventFilter or an EventFilter: rooms,
 * not_rooms, types, not_types ('*' ends a prefix), senders, not_senders
 * and contains_url.  A "not_" list wins over its positive one.  A NULL
 * filter passes everything; room_id NULL skips the room lists.  As in
 * Synapse, a field the event lacks (account data has no sender) matches
 * no entry: a positive list for it drops the event, a not_ list keeps it.
 */
int	mfilter_event_match(const json_t *filter, const char *room_id, const json_t *ev);

/*
 * 1 when s is in the JSON array l (entries that are not strings are
 * skipped); with wildcard, an entry ending in '*' matches what starts
 * with the rest of it.
 */
int	mfilter_listed(const json_t *l, const char *s, int wildcard);

/* 1 when room_id passes the rooms and not_rooms lists of filter (NULL passes). */
int	mfilter_room_match(const json_t *filter, const char *room_id);

#endif
