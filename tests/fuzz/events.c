/*
 * libFuzzer harness: PDU validation and the auth rules (lib/events,
 * lib/room/receive.c's shape check).  The input is JSON
 * {"room_version": V, "pdus": [PDU, ...]}: each PDU that has the
 * version's event format is checked against the state the ones before
 * it built (the harness's small room: every allowed state event joins
 * it), and redacted, hashed and named as the write path would.
 * Redaction must be idempotent and keep the event's format.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/events.h"
#include "json/json.h"
#include "room/room.h"
#include "room/write.h"
#include "fuzz.h"

#define ROOM_ID	"!r:example.org"

static const json_t *
state_get(void *arg, const char *type, const char *state_key)
{
	char		*key;
	const json_t	*ev;

	if ((key = mstate_key_join(type, state_key)) == NULL)
		return NULL;
	ev = json_object_get(arg, key);
	free(key);
	return ev;
}

static void
one(const struct mroomver *ver, json_t *state, const json_t *pdu)
{
	struct mroom_ctx	 ctx;
	struct mstate_key	 keys[64];
	json_t			*red, *red2;
	char			*id, *c1, *c2, *key, why[256], hash[64];
	const char		*type, *sk;
	size_t			 n, l1, l2;
	int			 create;

	memset(&ctx, 0, sizeof(ctx));
	type = mjson_str(pdu, "type");
	create = type != NULL && strcmp(type, "m.room.create") == 0;
	if (mroom_recv_shape(&ctx, ver, pdu, ver->create_room_id && create ? NULL : ROOM_ID) !=
	    MROOM_OK)
		return;
	n = mevent_auth_types(pdu, ver, keys, sizeof(keys) / sizeof(keys[0]));
	FUZZ_ASSERT(n <= sizeof(keys) / sizeof(keys[0]));
	for (size_t i = 0; i < n; i++)
		FUZZ_ASSERT(keys[i].type != NULL && keys[i].state_key != NULL);
	(void)mevent_user_power(ver, state_get, state, mjson_str(pdu, "sender"));
	why[0] = '\0';
	if (mevent_auth_check(pdu, ver, state_get, state, why, sizeof(why)) == 0)
		FUZZ_ASSERT(why[0] != '\0');
	else if ((sk = mjson_str(pdu, "state_key")) != NULL &&
	    (key = mstate_key_join(type, sk)) != NULL) {
		json_object_set_new(state, key, json_deep_copy(pdu));
		free(key);
	}
	if ((red = mevent_redact(pdu, ver)) != NULL) {
		FUZZ_ASSERT(json_is_object(red));
		if ((red2 = mevent_redact(red, ver)) != NULL) {
			c1 = mjson_canonical(red, &l1);
			c2 = mjson_canonical(red2, &l2);
			FUZZ_ASSERT(c1 != NULL && c2 != NULL && l1 == l2 && memcmp(c1, c2, l1) == 0);
			free(c1);
			free(c2);
			json_decref(red2);
		}
		json_decref(red);
	}
	if ((id = mevent_id(pdu, ver)) != NULL) {
		FUZZ_ASSERT(id[0] == '$');
		free(id);
	}
	if (mevent_content_hash(pdu, hash, sizeof(hash)) == 0)
		FUZZ_ASSERT(strlen(hash) == 43);
	(void)mevent_hash_check(pdu);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct mroomver	*ver;
	json_t			*in, *state, *pdus;
	size_t			 i;

	if ((in = mjson_parse((const char *)data, size, 32)) == NULL)
		return 0;
	if ((ver = mroomver_get(mjson_str(in, "room_version") != NULL ?
	    mjson_str(in, "room_version") : "10")) == NULL ||
	    !json_is_array(pdus = json_object_get(in, "pdus")) ||
	    (state = json_object()) == NULL) {
		json_decref(in);
		return 0;
	}
	for (i = 0; i < json_array_size(pdus) && i < 64; i++)
		one(ver, state, json_array_get(pdus, i));
	json_decref(state);
	json_decref(in);
	return 0;
}
