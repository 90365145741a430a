/* Parsed state PDUs shared by the threads of a process: the write path's reads of state. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/extern.h"

/*
 * Every local send reads the same few state events (the room's create
 * event, its power levels, the sender's membership) for the auth rules,
 * and parsing their JSON was a tenth of a send's time.  The cache keeps
 * the parse of the last text seen for an event ID, in a direct-mapped
 * table: a hit needs the stored text to be byte for byte the one
 * parsed, so a redaction or a PDU given more signatures (the only ways
 * a stored PDU changes) is parsed anew, and no invalidation is needed
 * across processes.  PDU_SLOTS bounds the memory: each slot holds one
 * PDU's text and parse.
 */
#define PDU_SLOTS	256

struct pduslot {
	char	*event_id;
	char	*text;
	size_t	 textsz;
	json_t	*pdu;		/* immutable once here: shared by every taker */
};

static struct pduslot	slots[PDU_SLOTS];
static pthread_mutex_t	slots_mtx = PTHREAD_MUTEX_INITIALIZER;

uint32_t
mstore_str_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

json_t *
mstore_pdu_shared(const char *event_id, const char *text)
{
	struct pduslot	*sl = &slots[mstore_str_hash(event_id) % PDU_SLOTS];
	size_t		 n = strlen(text);
	json_t		*pdu = NULL, *oldpdu = NULL;
	char		*id = NULL, *t = NULL, *oldid = NULL, *oldt = NULL;

	pthread_mutex_lock(&slots_mtx);
	if (sl->pdu != NULL && sl->textsz == n && strcmp(sl->event_id, event_id) == 0 &&
	    memcmp(sl->text, text, n) == 0)
		pdu = json_incref(sl->pdu);
	pthread_mutex_unlock(&slots_mtx);
	if (pdu != NULL)
		return pdu;
	if ((pdu = json_loads(text, 0, NULL)) == NULL)
		return NULL;
	if (!json_is_object(pdu) ||
	    json_object_set_new(pdu, "event_id", json_string(event_id)) == -1) {
		json_decref(pdu);
		return NULL;
	}
	/* Out of memory for the copy: the caller still gets its parse. */
	if ((id = strdup(event_id)) == NULL || (t = malloc(n + 1)) == NULL) {
		free(id);
		return pdu;
	}
	memcpy(t, text, n + 1);
	pthread_mutex_lock(&slots_mtx);
	oldid = sl->event_id;
	oldt = sl->text;
	oldpdu = sl->pdu;
	sl->event_id = id;
	sl->text = t;
	sl->textsz = n;
	sl->pdu = json_incref(pdu);
	pthread_mutex_unlock(&slots_mtx);
	free(oldid);
	free(oldt);
	json_decref(oldpdu);
	return pdu;
}
