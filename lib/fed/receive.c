/* Where PDUs received over federation go: the write path registers itself here. */
#include <stdlib.h>
#include <string.h>

#include "fed/fed.h"

static mfed_pdu_fn	 pdu_fn;

void
mfed_receive_set(mfed_pdu_fn fn)
{
	pdu_fn = fn;
}

char *
mfed_receive_pdu(struct mdb *db, const struct mconfig *conf, const char *origin,
    const json_t *pdu, const char *room_version, const char *event_id)
{
	if (pdu_fn == NULL)
		return strdup("This server does not accept events over federation yet");
	return pdu_fn(db, conf, origin, pdu, room_version, event_id);
}
