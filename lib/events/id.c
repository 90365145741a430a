/* Event IDs: the sender's choice in v1/v2, the reference hash from v3 on. */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "events/events.h"
#include "json/json.h"

/*
 * Spec: S-S API, "Calculating the reference hash for an event": the
 * event is redacted, "signatures" and "unsigned" are removed, and the
 * SHA-256 of its canonical JSON is the hash.  Redaction has dropped
 * "unsigned" and any top-level "age_ts" already; removing "unsigned"
 * again costs nothing and does not depend on that.  A v3+ PDU carries
 * no "event_id"; one that does is hashed with it, as the algorithm
 * says.  0, or -1 if ev cannot be redacted or canonicalised.
 */
static int
reference_hash(const json_t *ev, const struct mroomver *rv,
    unsigned char md[32])
{
	json_t	*red;
	char	*canon;
	size_t	 len;

	if ((red = mevent_redact(ev, rv)) == NULL)
		return -1;
	json_object_del(red, "signatures");
	json_object_del(red, "unsigned");
	canon = mjson_canonical(red, &len);
	json_decref(red);
	if (canon == NULL)
		return -1;
	mcrypto_sha256(canon, len, md);
	free(canon);
	return 0;
}

/*
 * Returns the event ID of ev under rv, malloc'd, or NULL.
 * Spec: rooms v1 "Event IDs": "$opaque_id:domain" chosen by its sender,
 * so v1 and v2 events carry it in "event_id" (NULL when they do not).
 * Spec: rooms v3 "Event IDs": "the reference hash of the event encoded
 * using Unpadded Base64, prefixed with $"; rooms v4 "Event IDs": the
 * same with "URL-safe unpadded Base64".
 */
char *
mevent_id(const json_t *ev, const struct mroomver *rv)
{
	unsigned char	 md[32];
	const char	*s;
	char		*b64, *id;
	size_t		 len;

	if (!json_is_object(ev) || rv == NULL)
		return NULL;
	if (rv->evid == MEVID_V1) {
		if ((s = mjson_str(ev, "event_id")) == NULL)
			return NULL;
		return strdup(s);
	}
	if (reference_hash(ev, rv, md) == -1)
		return NULL;
	b64 = rv->evid == MEVID_V3 ? mcrypto_b64_encode(md, sizeof(md)) :
	    mcrypto_b64url_encode(md, sizeof(md));
	if (b64 == NULL)
		return NULL;
	len = strlen(b64);
	if ((id = malloc(len + 2)) != NULL) {
		id[0] = '$';
		memcpy(id + 1, b64, len + 1);
	}
	free(b64);
	return id;
}
