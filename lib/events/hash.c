/* Content hashes of events (S-S API, "Signing Events"). */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "events/events.h"
#include "json/json.h"

/*
 * The SHA-256 content hash of ev into md.  0, or -1 if ev is not an
 * object or has no canonical form (a float, an integer out of range,
 * invalid UTF-8).
 */
static int
content_sha256(const json_t *ev, unsigned char md[32])
{
	json_t	*copy;
	char	*canon;
	size_t	 len;

	if (!json_is_object(ev))
		return -1;
	/* Shallow: the copy shares its members with ev, left untouched. */
	if ((copy = json_copy((json_t *)ev)) == NULL)
		return -1;
	/*
	 * jansson's json_copy drops a member it cannot allocate and still
	 * returns the copy (found by tests/unit/alloc-fail): a hash of
	 * that would be a wrong hash, not an error.
	 */
	if (json_object_size(copy) != json_object_size(ev)) {
		json_decref(copy);
		return -1;
	}
	/*
	 * Spec: S-S API, "Calculating the content hash for an event":
	 * "any existing unsigned, signatures, and hashes properties are
	 * removed", the rest is hashed as canonical JSON.
	 */
	json_object_del(copy, "unsigned");
	json_object_del(copy, "signatures");
	json_object_del(copy, "hashes");
	canon = mjson_canonical(copy, &len);
	json_decref(copy);
	if (canon == NULL)
		return -1;
	mcrypto_sha256(canon, len, md);
	free(canon);
	return 0;
}

/*
 * Writes the unpadded base64 content hash of ev into out (43 characters
 * and a NUL, so outsz must be at least 44).  0 or -1.
 */
int
mevent_content_hash(const json_t *ev, char *out, size_t outsz)
{
	unsigned char	 md[32];
	char		*b64;
	size_t		 len;

	if (out == NULL || content_sha256(ev, md) == -1)
		return -1;
	if ((b64 = mcrypto_b64_encode(md, sizeof(md))) == NULL)
		return -1;
	len = strlen(b64);
	if (len >= outsz) {
		free(b64);
		return -1;
	}
	memcpy(out, b64, len + 1);
	free(b64);
	return 0;
}

/*
 * Spec: S-S API, "Adding hashes and signatures to outgoing events": the
 * hash is "stored in the event object, in a hashes object, under a
 * sha256 key".  As in the spec's example code the whole "hashes" object
 * is replaced, so no stale algorithm is left for the signature to
 * cover.  0 or -1 (ev unchanged).
 */
int
mevent_hash(json_t *ev)
{
	char	 b64[44];
	json_t	*hashes;

	if (mevent_content_hash(ev, b64, sizeof(b64)) == -1)
		return -1;
	if ((hashes = json_pack("{s:s}", "sha256", b64)) == NULL)
		return -1;
	return json_object_set_new(ev, "hashes", hashes);
}

/*
 * Spec: S-S API, "Validating hashes and signatures on received events":
 * "The content hash in the hashes property of the received event is
 * base64-decoded, and the two are compared for equality."  Decoding
 * rather than comparing strings accepts padded base64 too.  Returns 1
 * on a match; 0 when hashes.sha256 is absent, not base64 of 32 bytes,
 * different, or ev cannot be hashed.  A 0 means the caller should use
 * the redacted event instead of the one received.
 */
int
mevent_hash_check(const json_t *ev)
{
	unsigned char	 want[32 + 3], got[32];
	const char	*b64;

	if ((b64 = mjson_str(json_object_get(ev, "hashes"), "sha256")) == NULL)
		return 0;
	/* want has room for more so that a longer value is seen as wrong. */
	if (mcrypto_b64_decode(b64, want, sizeof(want)) != 32)
		return 0;
	if (content_sha256(ev, got) == -1)
		return 0;
	return memcmp(want, got, sizeof(got)) == 0;
}
