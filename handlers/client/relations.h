/* Relations, threads, event context and timestamps in myelin-client. */
#ifndef MYELIN_CLIENT_RELATIONS_H
#define MYELIN_CLIENT_RELATIONS_H

#include <stdint.h>
#include <jansson.h>

#include "fcgi/fcgi.h"

/*
 * Adds bundled aggregations (spec: C-S API, "Aggregations of child
 * events") to events, an array of client events of room_id, in place:
 * unsigned["m.relations"] with m.thread, m.replace and m.reference where
 * they have any.  State events get none, as the spec says.  Returns 0, or
 * -1 with the request failed (500).
 */
int	room_bundle(struct mreq *, const char *room_id, json_t *events);

/*
 * Parses a pagination token: "t<N>", a position in the events stream
 * (between the event at N and the next), a place of /messages
 * "t<depth>-<N>" for its N (0 when below 0), or a sync token
 * "s<N>_<M>..." whose first position is the events stream's.  Every number is read
 * whole (mfcgi_num_parse) and nothing may follow the last one, so a
 * token that overflows or carries garbage never stands for some other
 * position.  Returns 0, or -1 with 400 M_INVALID_PARAM.
 */
int	room_token_parse(struct mreq *, const char *tok, int64_t *pos);

/* Stream position pos as a pagination token, "t<pos>": a new JSON string. */
json_t	*room_token(int64_t pos);

int	h_relations(struct mreq *);
int	h_threads(struct mreq *);
int	h_context(struct mreq *);
int	h_timestamp_to_event(struct mreq *);

#endif
