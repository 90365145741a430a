/* Hashing and signing the PDUs this server builds. */
#include "crypto/crypto.h"
#include "events/events.h"

/*
 * Spec: S-S API, "Adding hashes and signatures to outgoing events": the
 * content hash goes into "hashes", "the event object is then redacted",
 * the redacted object is signed as in "Signing JSON", and "the
 * signature is then copied back to the original event object".
 *
 * Signatures already on ev (other keys, other servers) are kept: the
 * redacted copy carries them, mcrypto_sign_json() leaves them out of
 * what it signs and adds ours beside them, and that whole object goes
 * back on ev, as the spec's example code does.  ev keeps "unsigned".
 * Returns 0, or -1 with ev possibly hashed but not signed (ev is not an
 * object, has no canonical form, or its "signatures" is malformed).
 */
int
mevent_sign(json_t *ev, const struct mroomver *rv, const char *server_name,
    const struct mkey *key)
{
	json_t	*red = NULL, *sigs;
	int	 rc = -1;

	if (rv == NULL || server_name == NULL || key == NULL)
		goto out;
	if (mevent_hash(ev) == -1)
		goto out;
	if ((red = mevent_redact(ev, rv)) == NULL)
		goto out;
	if (mcrypto_sign_json(red, server_name, key) == -1)
		goto out;
	if ((sigs = json_object_get(red, "signatures")) == NULL ||
	    json_object_set(ev, "signatures", sigs) == -1)
		goto out;
	rc = 0;
out:
	json_decref(red);
	return rc;
}
