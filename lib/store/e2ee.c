/* End-to-end encryption in the store: keys, to-device messages, device lists. */
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "log/log.h"
#include "clock/clock.h"
#include "store/extern.h"

/*
 * v as stored text: compact, keys sorted, so that the same value is the
 * same text (canonical JSON would refuse a client's float).  malloc'd, or NULL.
 */
static char *
to_text(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* Stored JSON (written by this file) as a new reference, or NULL. */
static json_t *
stored_json(const char *s)
{
	return s == NULL ? NULL : json_loads(s, JSON_DECODE_ANY, NULL);
}

/* Marks user_id's device list changed, inside the caller's transaction.  0 or -1. */
static int
devlist_mark(struct mdb *db, const char *user_id)
{
	int64_t pos;

	if ((pos = mstore_estream_next(db, MSTREAM_DEVICE_LISTS)) == -1 ||
	    mdb_exec(db, MSTMT_E2EE_DL_MARK, "si", user_id, pos) < 0)
		return -1;
	return 0;
}

/*
 * Marks target's keys changed for user_id alone (a change of what only
 * user_id sees), inside the caller's transaction.  0 or -1.
 */
static int
devlist_mark_private(struct mdb *db, const char *user_id, const char *target)
{
	int64_t pos;

	if ((pos = mstore_estream_next(db, MSTREAM_DEVICE_LISTS)) == -1 ||
	    mdb_exec(db, MSTMT_E2EE_DLP_MARK, "ssi", user_id, target, pos) < 0)
		return -1;
	return 0;
}

/*
 * Splits "<algorithm>:<key id>" into its parts (alg malloc'd); the
 * caller checked that the colon is there.  Key ID or NULL.
 */
static const char *
key_split(const char *name, char **alg)
{
	const char *colon = strchr(name, ':');

	if (colon == NULL || (*alg = strndup(name, (size_t)(colon - name))) == NULL)
		return NULL;
	return colon + 1;
}

/* Stores dkeys when new or changed, then marks the list.  0 or -1. */
static int
upload_dkeys(struct mdb *db, const char *user_id, const char *device_id, const json_t *dkeys)
{
	struct mcur	*c;
	char		*text;
	int		 rc = -1, same = 0;

	if ((text = to_text(dkeys)) == NULL)
		return -1;
	if ((c = mdb_query(db, MSTMT_E2EE_DKEYS_GET, "ss", user_id, device_id)) == NULL)
		goto out;
	if (mcur_next(c) == 1 && mcur_text(c, 0) != NULL && strcmp(mcur_text(c, 0), text) == 0)
		same = 1;
	mcur_free(c);
	if (same) {
		rc = 0;
		goto out;
	}
	if (mdb_exec(db, MSTMT_E2EE_DKEYS_PUT, "sss", user_id, device_id, text) < 0 ||
	    devlist_mark(db, user_id) == -1)
		goto out;
	rc = 0;
out:
	free(text);
	return rc;
}

/* Adds each one-time key of otks.  0, 1 (conflict, *conflict set) or -1. */
static int
upload_otks(struct mdb *db, const char *user_id, const char *device_id, const json_t *otks,
    char **conflict)
{
	const char	*name, *key_id;
	json_t		*key;
	struct mcur	*c;
	char		*alg = NULL, *text = NULL;
	int		 rc = -1, r;

	json_object_foreach((json_t *)otks, name, key) {
		if ((key_id = key_split(name, &alg)) == NULL ||
		    (text = to_text(key)) == NULL)
			goto out;
		if ((c = mdb_query(db, MSTMT_E2EE_OTK_GET, "ssss", user_id, device_id, alg,
		    key_id)) == NULL)
			goto out;
		if ((r = mcur_next(c)) == 1 && strcmp(mcur_text(c, 0), text) != 0) {
			/* Synapse: 400, the key ID is taken by another key. */
			mcur_free(c);
			*conflict = strdup(name);
			rc = *conflict == NULL ? -1 : 1;
			goto out;
		}
		mcur_free(c);
		if (r == -1 || (r == 0 && mdb_exec(db, MSTMT_E2EE_OTK_ADD, "sssss", user_id,
		    device_id, alg, key_id, text) < 0))
			goto out;
		free(alg);
		free(text);
		alg = text = NULL;
	}
	rc = 0;
out:
	free(alg);
	free(text);
	return rc;
}

/* Replaces the fallback key of each algorithm in fallbacks.  0 or -1. */
static int
upload_fallbacks(struct mdb *db, const char *user_id, const char *device_id,
    const json_t *fallbacks)
{
	const char	*name, *key_id;
	json_t		*key;
	struct mcur	*c;
	char		*alg = NULL, *text = NULL;
	int		 rc = -1, same;

	json_object_foreach((json_t *)fallbacks, name, key) {
		if ((key_id = key_split(name, &alg)) == NULL ||
		    (text = to_text(key)) == NULL)
			goto out;
		if ((c = mdb_query(db, MSTMT_E2EE_FB_GET, "sss", user_id, device_id, alg)) == NULL)
			goto out;
		/* The same key again keeps its used mark, as Synapse does. */
		same = mcur_next(c) == 1 && strcmp(mcur_text(c, 0), key_id) == 0 &&
		    strcmp(mcur_text(c, 1), text) == 0;
		mcur_free(c);
		if (!same && mdb_exec(db, MSTMT_E2EE_FB_PUT, "sssss", user_id, device_id, alg,
		    key_id, text) < 0)
			goto out;
		free(alg);
		free(text);
		alg = text = NULL;
	}
	rc = 0;
out:
	free(alg);
	free(text);
	return rc;
}

int
mstore_keys_upload(struct mdb *db, const char *user_id, const char *device_id,
    const json_t *dkeys, const json_t *otks, const json_t *fallbacks, char **conflict)
{
	*conflict = NULL;
	if (mdb_begin(db) == -1)
		return -1;
	if ((dkeys != NULL && upload_dkeys(db, user_id, device_id, dkeys) == -1) ||
	    (otks != NULL && upload_otks(db, user_id, device_id, otks, conflict) != 0) ||
	    (fallbacks != NULL && upload_fallbacks(db, user_id, device_id, fallbacks) == -1)) {
		mdb_rollback(db);
		return *conflict != NULL ? 1 : -1;
	}
	return mdb_commit(db) == -1 ? -1 : 0;
}

/* Adds (algorithm, count) to {algorithm: count}. */
static int
count_row(struct mcur *c, json_t *out, void *arg)
{
	(void)arg;
	return json_object_set_new(out, mcur_text(c, 0), json_integer(mcur_int(c, 1)));
}

json_t *
mstore_otk_counts(struct mdb *db, const char *user_id, const char *device_id)
{
	return mcur_json_fold(mdb_query(db, MSTMT_E2EE_OTK_COUNTS, "ss", user_id, device_id),
	    json_object(), count_row, NULL);
}

/* Adds a row of MSTMT_E2EE_KEY_COUNTS to counts (kind 0) or to the array unused (1). */
static int
key_count_row(struct mcur *c, json_t *counts, void *unused)
{
	if (mcur_int(c, 0) == 0)
		return json_object_set_new(counts, mcur_text(c, 1), json_integer(mcur_int(c, 2)));
	return json_array_append_new(unused, json_string(mcur_text(c, 1)));
}

int
mstore_key_counts(struct mdb *db, const char *user_id, const char *device_id,
    json_t **counts, json_t **unused)
{
	*counts = (*unused = json_array()) == NULL ? NULL : mcur_json_fold(mdb_query(db,
	    MSTMT_E2EE_KEY_COUNTS, "ss", user_id, device_id), json_object(), key_count_row,
	    *unused);
	if (*counts != NULL)
		return 0;
	json_decref(*unused);
	*unused = NULL;
	return -1;
}

/* 1 when devices (NULL or empty: all) names device_id. */
static int
device_wanted(const json_t *devices, const char *device_id)
{
	size_t	 i;
	json_t	*v;

	if (json_array_size(devices) == 0)
		return 1;
	json_array_foreach(devices, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), device_id) == 0)
			return 1;
	return 0;
}

/*
 * The signatures of user_id's keys that requester may see, as rows
 * [[key_id, signer, signer_key, signature]...].  New reference, or NULL.
 */
static json_t *
sigs_load(struct mdb *db, const char *user_id, const char *requester)
{
	struct mcur	*c;
	json_t		*out;
	int		 r;

	if ((c = mdb_query(db, MSTMT_E2EE_SIG_LIST, "ss", user_id, requester)) == NULL)
		return NULL;
	if ((out = json_array()) == NULL) {
		mcur_free(c);
		return NULL;
	}
	while ((r = mcur_next(c)) == 1)
		json_array_append_new(out, json_pack("[ssss]", mcur_text(c, 0), mcur_text(c, 1),
		    mcur_text(c, 2), mcur_text(c, 3)));
	mcur_free(c);
	if (r == -1) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* Adds the rows of sigs for key_id to obj's signatures. */
static void
sigs_merge(const json_t *sigs, const char *key_id, json_t *obj)
{
	json_t	*row, *all, *by;
	size_t	 i;

	json_array_foreach(sigs, i, row) {
		if (strcmp(json_string_value(json_array_get(row, 0)), key_id) != 0)
			continue;
		if ((all = json_object_get(obj, "signatures")) == NULL || !json_is_object(all))
			json_object_set_new(obj, "signatures", all = json_object());
		if ((by = json_object_get(all, json_string_value(json_array_get(row, 1)))) == NULL ||
		    !json_is_object(by))
			json_object_set_new(all, json_string_value(json_array_get(row, 1)),
			    by = json_object());
		json_object_set(by, json_string_value(json_array_get(row, 2)),
		    json_array_get(row, 3));
	}
}

struct query_arg {
	const json_t	*devices;
	const json_t	*sigs;
};

/* Adds a row (device_id, keys, display name) to {device_id: keys}. */
static int
query_row(struct mcur *c, json_t *out, void *arg)
{
	const struct query_arg	*qa = arg;
	json_t			*keys, *uns;

	if (!device_wanted(qa->devices, mcur_text(c, 0)))
		return 0;
	if ((keys = stored_json(mcur_text(c, 1))) == NULL || !json_is_object(keys)) {
		json_decref(keys);
		return -1;
	}
	/* Synapse: unsigned is always there, the name only when there is one. */
	if ((uns = json_object_get(keys, "unsigned")) == NULL || !json_is_object(uns))
		json_object_set_new(keys, "unsigned", uns = json_object());
	if (mcur_text(c, 2) != NULL)
		json_object_set_new(uns, "device_display_name", json_string(mcur_text(c, 2)));
	sigs_merge(qa->sigs, mcur_text(c, 0), keys);
	return json_object_set_new(out, mcur_text(c, 0), keys);
}

json_t *
mstore_keys_query(struct mdb *db, const char *user_id, const json_t *devices,
    const char *requester)
{
	struct query_arg	 qa;
	json_t			*out, *sigs;

	if ((sigs = sigs_load(db, user_id, requester)) == NULL)
		return NULL;
	qa.devices = devices;
	qa.sigs = sigs;
	out = mcur_json_fold(mdb_query(db, MSTMT_E2EE_DKEYS_USER, "s", user_id), json_object(),
	    query_row, &qa);
	json_decref(sigs);
	return out;
}

int
mstore_dkeys_get(struct mdb *db, const char *user_id, const char *device_id, json_t **out)
{
	struct mcur	*c;
	int		 rc;

	*out = NULL;
	if ((c = mdb_query(db, MSTMT_E2EE_DKEYS_GET, "ss", user_id, device_id)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1 && (*out = stored_json(mcur_text(c, 0))) == NULL)
		rc = -1;
	mcur_free(c);
	return rc;
}

/* The public key of a cross-signing key, {"keys": {"ed25519:<pub>": "<pub>"}}, or NULL. */
const char *
mstore_xsign_pub(const json_t *key)
{
	const char	*name;
	json_t		*v;

	json_object_foreach(json_object_get(key, "keys"), name, v)
		if (strncmp(name, "ed25519:", 8) == 0)
			return name + 8;
	return NULL;
}

int
mstore_xsign_get(struct mdb *db, const char *user_id, const char *usage,
    const char *requester, json_t **out)
{
	struct mcur	*c;
	json_t		*sigs;
	int		 rc;

	*out = NULL;
	if ((c = mdb_query(db, MSTMT_E2EE_XSIGN_GET, "ss", user_id, usage)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1 && (*out = stored_json(mcur_text(c, 0))) == NULL)
		rc = -1;
	mcur_free(c);
	if (rc == 1 && requester != NULL && mstore_xsign_pub(*out) != NULL) {
		if ((sigs = sigs_load(db, user_id, requester)) == NULL) {
			json_decref(*out);
			*out = NULL;
			return -1;
		}
		sigs_merge(sigs, mstore_xsign_pub(*out), *out);
		json_decref(sigs);
	}
	return rc;
}

int
mstore_xsign_put(struct mdb *db, const char *user_id, const json_t *keys)
{
	const char	*usage;
	json_t		*key, *old = NULL;
	char		*text;

	if (mdb_begin(db) == -1)
		return -1;
	json_object_foreach((json_t *)keys, usage, key) {
		/* A new master key: the signatures of the old one go with it. */
		if (strcmp(usage, "master") == 0) {
			if (mstore_xsign_get(db, user_id, usage, NULL, &old) == -1)
				goto fail;
			if (old != NULL && mstore_xsign_pub(old) != NULL &&
			    mdb_exec(db, MSTMT_E2EE_SIG_DEL_KEY, "ss", user_id,
			    mstore_xsign_pub(old)) < 0)
				goto fail;
			json_decref(old);
			old = NULL;
		}
		if ((text = to_text(key)) == NULL)
			goto fail;
		if (mdb_exec(db, MSTMT_E2EE_XSIGN_PUT, "sss", user_id, usage, text) < 0) {
			free(text);
			goto fail;
		}
		free(text);
	}
	/*
	 * A user-signing key alone is the user's own business: others see
	 * no change (Synapse; SyTest checks it).
	 */
	if (json_object_get(keys, "master") == NULL &&
	    json_object_get(keys, "self_signing") == NULL) {
		if (devlist_mark_private(db, user_id, user_id) == -1)
			goto fail;
	} else if (devlist_mark(db, user_id) == -1)
		goto fail;
	return mdb_commit(db) == -1 ? -1 : 0;
fail:
	json_decref(old);
	mdb_rollback(db);
	return -1;
}

int
mstore_sig_add(struct mdb *db, const char *user_id, const char *key_id, const char *signer,
    const char *signer_key, const char *signature)
{
	if (mdb_begin(db) == -1)
		return -1;
	/* Another user's key as signer signed it: only signer sees that signature. */
	if (mdb_exec(db, MSTMT_E2EE_SIG_ADD, "sssss", user_id, key_id, signer, signer_key,
	    signature) < 0 || (strcmp(signer, user_id) == 0 ? devlist_mark(db, user_id) :
	    devlist_mark_private(db, signer, user_id)) == -1) {
		mdb_rollback(db);
		return -1;
	}
	return mdb_commit(db) == -1 ? -1 : 0;
}

/*
 * One key of alg for the device: runs st (a claim RETURNING key_id,
 * key_json) and adds "<alg>:<key_id>": key to out.  1 added, 0 none, -1.
 */
static int
claim_one(struct mdb *db, enum mstmt st, const char *user_id, const char *device_id,
    const char *alg, json_t *out)
{
	struct mcur	*c;
	json_t		*key;
	char		*name = NULL;
	int		 rc;

	if ((c = mdb_query(db, st, "sss", user_id, device_id, alg)) == NULL)
		return -1;
	if ((rc = mcur_next(c)) == 1) {
		if ((key = stored_json(mcur_text(c, 1))) == NULL ||
		    asprintf(&name, "%s:%s", alg, mcur_text(c, 0)) == -1 ||
		    json_object_set_new(out, name, key) == -1)
			rc = -1;
		free(name);
	}
	mcur_free(c);
	return rc;
}

json_t *
mstore_keys_claim(struct mdb *db, const json_t *query)
{
	const char	*user_id, *device_id;
	json_t		*devs, *alg, *out, *udevs = NULL, *keys = NULL;
	int		 rc;

	if ((out = json_object()) == NULL || mdb_begin(db) == -1) {
		json_decref(out);
		return NULL;
	}
	json_object_foreach((json_t *)query, user_id, devs) {
		udevs = json_object();
		json_object_foreach(devs, device_id, alg) {
			if ((keys = json_object()) == NULL)
				goto fail;
			rc = claim_one(db, MSTMT_E2EE_OTK_CLAIM, user_id, device_id,
			    json_string_value(alg), keys);
			if (rc == 0)
				rc = claim_one(db, MSTMT_E2EE_FB_CLAIM, user_id, device_id,
				    json_string_value(alg), keys);
			if (rc == -1)
				goto fail;
			if (rc == 1 && json_object_set_new(udevs, device_id, keys) == -1) {
				keys = NULL;
				goto fail;
			}
			if (rc == 0)
				json_decref(keys);
			keys = NULL;
		}
		if (json_object_size(udevs) > 0 && json_object_set(out, user_id, udevs) == -1)
			goto fail;
		json_decref(udevs);
		udevs = NULL;
	}
	if (mdb_commit(db) == -1) {
		json_decref(out);
		return NULL;
	}
	return out;
fail:
	mdb_rollback(db);
	json_decref(keys);
	json_decref(udevs);
	json_decref(out);
	return NULL;
}

/* Queues content for one device at a new position.  0 or -1. */
static int
todevice_one(struct mdb *db, const char *user_id, const char *device_id, const char *sender,
    const char *type, const char *text)
{
	int64_t pos;

	if ((pos = mstore_estream_next(db, MSTREAM_TODEVICE)) == -1 ||
	    mdb_exec(db, MSTMT_E2EE_TD_ADD, "ssisss", user_id, device_id, pos, sender, type,
	    text) < 0)
		return -1;
	return 0;
}

/* Queues content to device_id ("*": every device) of user_id.  0 or -1. */
static int
todevice_user(struct mdb *db, const char *user_id, const char *device_id, const char *sender,
    const char *type, const json_t *content)
{
	json_t		*ids = NULL, *id;
	char		*text;
	int64_t		 n = 0;
	size_t		 i;
	int		 rc = -1;

	if ((text = to_text(content)) == NULL)
		return -1;
	if (strcmp(device_id, "*") == 0) {
		if ((ids = mcur_json_strings(mdb_query(db, MSTMT_E2EE_DEVICE_IDS, "s",
		    user_id))) == NULL)
			goto out;
		json_array_foreach(ids, i, id)
			if (todevice_one(db, user_id, json_string_value(id), sender, type,
			    text) == -1)
				goto out;
	} else {
		/* Synapse: a message for a device that does not exist is dropped. */
		if (mcur_first_int(mdb_query(db, MSTMT_E2EE_DEVICE_EXISTS, "ss", user_id,
		    device_id), &n) == -1)
			goto out;
		if (n > 0 && todevice_one(db, user_id, device_id, sender, type, text) == -1)
			goto out;
	}
	rc = 0;
out:
	json_decref(ids);
	free(text);
	return rc;
}

int
mstore_todevice_send(struct mdb *db, const char *sender, const char *sender_device,
    const char *txn_id, const char *type, const json_t *messages)
{
	const char	*user_id, *device_id;
	json_t		*devs, *content;
	int64_t		 n, now;
	int		 own = !db->intx;

	if (own && mdb_begin(db) == -1)
		return -1;
	/* A login-as token has no device: its transactions are scoped to "". */
	now = mclock_now_ms();
	if ((n = mdb_exec(db, MSTMT_E2EE_TXN_ADD, "sssii", sender,
	    sender_device != NULL ? sender_device : "", txn_id, now,
	    now - MSTORE_TXN_LIFETIME_MS)) < 0)
		goto fail;
	if (n == 0) {
		if (own)
			mdb_rollback(db);
		return 0;
	}
	json_object_foreach((json_t *)messages, user_id, devs)
		json_object_foreach(devs, device_id, content)
			if (todevice_user(db, user_id, device_id, sender, type, content) == -1)
				goto fail;
	if (!own)
		return 1;
	return mdb_commit(db) == -1 ? -1 : 1;
fail:
	if (own)
		mdb_rollback(db);
	return -1;
}

/* A row (stream, sender, type, content) as a to-device event. */
static json_t *
todevice_row(struct mcur *c)
{
	json_t *content = stored_json(mcur_text(c, 3));

	if (content == NULL)
		return NULL;
	return json_pack("{s:s,s:s,s:o}", "sender", mcur_text(c, 1), "type", mcur_text(c, 2),
	    "content", content);
}

json_t *
mstore_todevice_sync(struct mdb *db, const char *user_id, const char *device_id,
    int64_t ack, int64_t to, int64_t limit, int64_t *next)
{
	struct mcur	*c;
	json_t		*out, *ev;
	int64_t		 last = ack, n = 0;
	int		 r;

	*next = to;
	/*
	 * The messages the token acknowledges are deleted, when there are
	 * any: the read goes ahead with an incremental sync's others
	 * (mstore_sync_prefetch), where the DELETE cost a round trip of
	 * every sync of a device that had none.
	 */
	if (ack > 0 && ((r = mcur_first_int(mdb_query(db, MSTMT_E2EE_TD_ACKED, "ssi", user_id,
	    device_id, ack), &n)) == -1 || (r == 1 &&
	    mdb_exec(db, MSTMT_E2EE_TD_ACK, "ssi", user_id, device_id, ack) < 0)))
		return NULL;
	n = 0;
	/* Nothing was sent in (ack, to]: no read. */
	if (ack >= to)
		return json_array();
	if ((c = mdb_query(db, MSTMT_E2EE_TD_GET, "ssiii", user_id, device_id, ack, to,
	    limit)) == NULL)
		return NULL;
	if ((out = json_array()) == NULL) {
		mcur_free(c);
		return NULL;
	}
	while ((r = mcur_next(c)) == 1) {
		if ((ev = todevice_row(c)) == NULL || json_array_append_new(out, ev) == -1) {
			r = -1;
			break;
		}
		last = mcur_int(c, 0);
		n++;
	}
	mcur_free(c);
	if (r == -1) {
		json_decref(out);
		return NULL;
	}
	if (n >= limit)
		*next = last;
	return out;
}

/* The strings of array a as the keys of a new object (a set), or NULL. */
static json_t *
set_of(json_t *a)
{
	json_t	*set, *v;
	size_t	 i;

	if (a == NULL || (set = json_object()) == NULL) {
		json_decref(a);
		return NULL;
	}
	json_array_foreach(a, i, v)
		json_object_set_new(set, json_string_value(v), json_true());
	json_decref(a);
	return set;
}

/* The keys of the object set as a new array, or NULL. */
static json_t *
array_of(const json_t *set)
{
	const char	*k;
	json_t		*a, *v;

	if ((a = json_array()) == NULL)
		return NULL;
	json_object_foreach((json_t *)set, k, v)
		if (json_array_append_new(a, json_string(k)) == -1) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* Adds who to chg when it shares a room with the user (in shared), else to lft. */
static int
sort_user(const json_t *shared, json_t *chg, json_t *lft, const char *who)
{
	return json_object_set_new(json_object_get(shared, who) != NULL ? chg : lft, who,
	    json_true());
}

/*
 * The users sharing a room with user_id into *shared, once: read only
 * when some change is to be sorted (an incremental sync of a user in
 * many rooms with only a message new reads none of them).  0 or -1.
 */
static int
shared_load(struct mdb *db, const char *user_id, json_t **shared)
{
	if (*shared == NULL && (*shared = set_of(mcur_json_strings(mdb_query(db,
	    MSTMT_E2EE_SHARED, "s", user_id)))) == NULL)
		return -1;
	return 0;
}

/* [room_id, user_id] of a row of MSTMT_E2EE_MEMBER_MOVES. */
static json_t *
move_row(struct mcur *c)
{
	return json_pack("[ss]", mcur_text(c, 0), mcur_text(c, 1));
}

json_t *
mstore_member_moves(struct mdb *db, const char *user_id, int64_t from, int64_t to)
{
	/* Nothing moved: no query (most syncs). */
	if (from >= to)
		return json_array();
	return mcur_json_array(mdb_query(db, MSTMT_E2EE_MEMBER_MOVES, "sii", user_id, from, to),
	    move_row);
}

int
mstore_devlist_changes(struct mdb *db, const char *user_id, int64_t dl_from, int64_t dl_to,
    const json_t *moves, json_t **changed, json_t **left)
{
	json_t		*shared = NULL, *users = NULL, *mv, *members, *v;
	json_t		*chg = json_object(), *lft = json_object();
	const char	*k;
	size_t		 i, j;
	int		 rc = -1;

	*changed = *left = NULL;
	if (chg == NULL || lft == NULL)
		goto out;
	/* Nothing moved: no query at all (most syncs). */
	if (dl_from >= dl_to && json_array_size(moves) == 0)
		goto done;
	if (dl_from < dl_to) {
		if ((users = mcur_json_strings(mdb_query(db, MSTMT_E2EE_DL_CHANGED, "ii", dl_from,
		    dl_to))) == NULL ||
		    (json_array_size(users) > 0 && shared_load(db, user_id, &shared) == -1))
			goto out;
		json_array_foreach(users, i, v)
			if ((strcmp(json_string_value(v), user_id) == 0 ||
			    json_object_get(shared, json_string_value(v)) != NULL) &&
			    json_object_set_new(chg, json_string_value(v), json_true()) == -1)
				goto out;
		json_decref(users);
		if ((users = mcur_json_strings(mdb_query(db, MSTMT_E2EE_DLP_CHANGED, "sii",
		    user_id, dl_from, dl_to))) == NULL)
			goto out;
		json_array_foreach(users, i, v)
			if (json_object_set_new(chg, json_string_value(v), json_true()) == -1)
				goto out;
	}
	if (json_array_size(moves) > 0) {
		if (shared_load(db, user_id, &shared) == -1)
			goto out;
		json_array_foreach(moves, i, mv) {
			const char *room_id = json_string_value(json_array_get(mv, 0));
			const char *who = json_string_value(json_array_get(mv, 1));

			if (strcmp(who, user_id) != 0) {
				if (sort_user(shared, chg, lft, who) == -1)
					goto out;
				continue;
			}
			/* The user's own join or leave: everyone in that room. */
			if ((members = mcur_json_strings(mdb_query(db, MSTMT_E2EE_ROOM_JOINED, "s",
			    room_id))) == NULL)
				goto out;
			json_array_foreach(members, j, v) {
				if (strcmp(json_string_value(v), user_id) == 0)
					continue;
				if (sort_user(shared, chg, lft, json_string_value(v)) == -1) {
					json_decref(members);
					goto out;
				}
			}
			json_decref(members);
		}
	}
	/* Someone who left one room but still shares another is only changed. */
	json_object_foreach(chg, k, v)
		json_object_del(lft, k);
done:
	if ((*changed = array_of(chg)) == NULL || (*left = array_of(lft)) == NULL)
		goto out;
	rc = 0;
out:
	json_decref(shared);
	json_decref(users);
	json_decref(chg);
	json_decref(lft);
	if (rc == -1) {
		json_decref(*changed);
		json_decref(*left);
		*changed = *left = NULL;
	}
	return rc;
}

int
mstore_e2ee_devlist_changed(struct mdb *db, const char *user_id)
{
	if (db->intx)
		return devlist_mark(db, user_id);
	/* The device's own write was its own commit: so is the mark, after it. */
	if (mdb_begin(db) == -1)
		return -1;
	if (devlist_mark(db, user_id) == -1) {
		mdb_rollback(db);
		return -1;
	}
	return mdb_commit(db) == -1 ? -1 : 0;
}

int
mstore_e2ee_device_gone(struct mdb *db, const char *user_id, const char *device_id)
{
	if (mdb_exec(db, MSTMT_E2EE_DKEYS_DEL, "ss", user_id, device_id) < 0 ||
	    mdb_exec(db, MSTMT_E2EE_OTK_DEL_DEVICE, "ss", user_id, device_id) < 0 ||
	    mdb_exec(db, MSTMT_E2EE_FB_DEL_DEVICE, "ss", user_id, device_id) < 0 ||
	    mdb_exec(db, MSTMT_E2EE_TD_DEL_DEVICE, "ss", user_id, device_id) < 0 ||
	    mdb_exec(db, MSTMT_E2EE_TXN_DEL_DEVICE, "ss", user_id, device_id) < 0 ||
	    mdb_exec(db, MSTMT_E2EE_SIG_DEL_KEY, "ss", user_id, device_id) < 0 ||
	    devlist_mark(db, user_id) == -1)
		return -1;
	return 0;
}
