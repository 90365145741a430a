/* The keys endpoints: device keys, one-time and fallback keys, device-list changes. */
#include <stdlib.h>
#include <string.h>

#include "e2ee.h"
#include "fcgi/fcgi.h"
#include "fed/fed.h"
#include "json/json.h"
#include "log/log.h"
#include "room/room.h"
#include "store/store.h"

/* Synapse's bound on identifiers, for key IDs and algorithms alike. */
#define MAX_ID_LEN	255

int
e2ee_user_local(const struct mreq *req, const char *user_id)
{
	const char *colon = strchr(user_id, ':');

	return colon != NULL && strcmp(colon + 1, req->conf->server_name) == 0;
}

/* The server name of a checked user ID. */
static const char *
user_server(const char *user_id)
{
	return strchr(user_id, ':') + 1;
}

/*
 * 1 when keys is an object of "<algorithm>:<key id>" names, both parts
 * non-empty, each a string or an object (a signed key).
 */
static int
keys_check(const json_t *keys)
{
	const char	*name, *colon;
	json_t		*v;

	if (!json_is_object(keys))
		return 0;
	json_object_foreach((json_t *)keys, name, v) {
		if ((colon = strchr(name, ':')) == NULL || colon == name || colon[1] == '\0' ||
		    strlen(name) > MAX_ID_LEN || (!json_is_string(v) && !json_is_object(v)))
			return 0;
	}
	return 1;
}

/* {algorithm: count} of the caller's device, signed_curve25519 always there.  NULL: failed. */
static json_t *
otk_counts(struct mreq *req)
{
	json_t *counts = mstore_otk_counts(req->db, req->auth.user_id, req->auth.device_id);

	if (counts != NULL && json_object_get(counts, "signed_curve25519") == NULL)
		json_object_set_new(counts, "signed_curve25519", json_integer(0));
	return counts;
}

/*
 * Spec: C-S API, POST /keys/upload: device_keys, one_time_keys and
 * fallback_keys of the caller's device.  400 M_INVALID_PARAM when the
 * device keys name another user or device, or without a device; 400
 * M_BAD_JSON for another shape (device keys without algorithms, keys
 * and signatures among them), or for a one-time key ID stored with
 * other content (Synapse: 400); nothing is stored then.  Answers
 * one_time_key_counts.
 */
int
h_keys_upload(struct mreq *req)
{
	json_t	*dk = json_object_get(req->body, "device_keys");
	json_t	*otk = json_object_get(req->body, "one_time_keys");
	json_t	*fb = json_object_get(req->body, "fallback_keys"), *counts;
	char	*conflict = NULL;
	int	 rc;

	if (req->auth.device_id == NULL)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "This session has no device");
	if (fb == NULL)
		fb = json_object_get(req->body, "org.matrix.msc2732.fallback_keys");
	if (json_is_null(dk))
		dk = NULL;
	if (json_is_null(otk))
		otk = NULL;
	if (json_is_null(fb))
		fb = NULL;
	if (dk != NULL) {
		if (!json_is_object(dk) || !json_is_string(json_object_get(dk, "user_id")) ||
		    !json_is_string(json_object_get(dk, "device_id")))
			return mfcgi_fail(req, MERR_BAD_JSON,
			    "device_keys must be an object with user_id and device_id");
		if (strcmp(mjson_str(dk, "user_id"), req->auth.user_id) != 0 ||
		    strcmp(mjson_str(dk, "device_id"), req->auth.device_id) != 0)
			return mfcgi_fail(req, MERR_INVALID_PARAM,
			    "device_keys must be for the caller's user and device");
		/* Spec: DeviceKeys, algorithms, keys and signatures are required. */
		if (!json_is_array(json_object_get(dk, "algorithms")) ||
		    !json_is_object(json_object_get(dk, "keys")) ||
		    !json_is_object(json_object_get(dk, "signatures")))
			return mfcgi_fail(req, MERR_BAD_JSON,
			    "device_keys needs algorithms, keys and signatures");
	}
	if ((otk != NULL && !keys_check(otk)) || (fb != NULL && !keys_check(fb)))
		return mfcgi_fail(req, MERR_BAD_JSON,
		    "Keys must map <algorithm>:<key id> to a key");
	rc = mstore_keys_upload(req->db, req->auth.user_id, req->auth.device_id, dk, otk, fb,
	    &conflict);
	if (rc == 1) {
		rc = mfcgi_fail(req, MERR_BAD_JSON, "One time key %s already exists", conflict);
		free(conflict);
		return rc;
	}
	if (rc == -1 || (counts = otk_counts(req)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	/* New or changed device keys: the servers sharing a room hear of them. */
	if (dk != NULL && mfed_edu_devices(req->db, req->conf->server_name, req->auth.user_id,
	    req->auth.device_id, 0) == -1)
		mlog_warn(req->id, "device list update of %s not queued", req->auth.user_id);
	return mfcgi_reply(req, 200, json_pack("{s:o}", "one_time_key_counts", counts));
}

/* Records in failures that server did not answer (or refused with status). */
static void
remote_failure(json_t *failures, const char *server, long status)
{
	json_object_set_new(failures, server, json_pack("{s:i,s:s}", "status",
	    status >= 400 ? (int)status : 503, "message", status >= 400 ?
	    "The server refused the request" : "The server did not answer"));
}

/* Synapse: other servers get 10 s unless the client says otherwise, never more than a minute. */
#define REMOTE_TIMEOUT_MS	10000
#define REMOTE_TIMEOUT_MAX_MS	60000

static long
remote_timeout(struct mreq *req)
{
	json_t	*t = json_object_get(req->body, "timeout");
	double	 ms;

	if (!json_is_number(t))
		return REMOTE_TIMEOUT_MS;
	ms = json_number_value(t);
	if (ms < 1000)
		return 1000;
	return ms > REMOTE_TIMEOUT_MAX_MS ? REMOTE_TIMEOUT_MAX_MS : (long)ms;
}

/* 1 when user_id shares a room with one of ours (its device list is followed), 0 not, -1. */
static int
shares_room(struct mreq *req, const char *user_id)
{
	return mstore_rdl_shared(req->db, user_id, req->conf->server_name);
}

/* Copies the members of from whose keys are users of server into to. */
static void
merge_server(json_t *to, const json_t *from, const char *server)
{
	const char	*k;
	json_t		*v;

	if (!json_is_object(from) || !json_is_object(to))
		return;
	json_object_foreach((json_t *)from, k, v)
		if (mroom_user_id_check(k) && strcmp(user_server(k), server) == 0 &&
		    json_is_object(v))
			json_object_set(to, k, v);
}

/* 0 when timeout is absent or a number, else -1 with 400 M_BAD_JSON. */
static int
timeout_check(struct mreq *req)
{
	json_t *t = json_object_get(req->body, "timeout");

	if (t != NULL && !json_is_null(t) && !json_is_number(t))
		return mfcgi_fail(req, MERR_BAD_JSON, "timeout must be a number");
	return 0;
}

/*
 * Adds user_id's cross-signing keys to xs's master_keys and
 * self_signing_keys, and its user_signing_key to user_signing_keys when
 * user_id is the caller (spec: no one else sees it).  0 or -1.
 */
static int
xsign_add(struct mreq *req, const char *user_id, json_t *xs)
{
	static const char *const usages[][2] = {
		{ "master", "master_keys" },
		{ "self_signing", "self_signing_keys" },
		{ "user_signing", "user_signing_keys" },
	};
	json_t	*key;
	int	 rc;

	for (size_t i = 0; i < sizeof(usages) / sizeof(usages[0]); i++) {
		if (i == 2 && strcmp(user_id, req->auth.user_id) != 0)
			break;
		if ((rc = mstore_xsign_get(req->db, user_id, usages[i][0], req->auth.user_id,
		    &key)) == -1)
			return -1;
		if (rc == 1)
			json_object_set_new(json_object_get(xs, usages[i][1]), user_id, key);
	}
	return 0;
}

/*
 * Spec: C-S API, POST /keys/query: device_keys {user_id: [device_id]}
 * (an empty list: all devices).  A local user without keys gives {}.
 * Another server's user sharing a room with one of ours is answered
 * from the device list followed here (fetched whole when it is not
 * yet); the others are asked of their servers (POST /user/keys/query,
 * at once per server, waiting at most timeout ms, 10 s by default),
 * a server that does not answer listed in failures.
 * master_keys and self_signing_keys of the users asked for, and the
 * caller's own user_signing_keys, carry the signatures by their owner
 * and by the caller.
 * 400 M_BAD_JSON for another shape, 400 M_INVALID_PARAM for a bad user ID.
 */
int
h_keys_query(struct mreq *req)
{
	json_t		*q = json_object_get(req->body, "device_keys"), *devs, *v, *out, *fail;
	json_t		*keys, *xs, *remote = NULL;
	const char	*user_id, *server;
	size_t		 i;
	int		 shared, rc = 0;

	if (timeout_check(req) == -1)
		return -1;
	if (!json_is_object(q))
		return mfcgi_fail(req, MERR_BAD_JSON, "device_keys must be an object");
	json_object_foreach(q, user_id, devs) {
		if (!mroom_user_id_check(user_id))
			return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid user ID");
		if (!json_is_array(devs) && !json_is_null(devs))
			return mfcgi_fail(req, MERR_BAD_JSON, "device_keys must map to lists");
		json_array_foreach(devs, i, v)
			if (!json_is_string(v))
				return mfcgi_fail(req, MERR_BAD_JSON, "Device IDs must be strings");
	}
	out = json_object();
	fail = json_object();
	xs = json_pack("{s:{},s:{},s:{}}", "master_keys", "self_signing_keys",
	    "user_signing_keys");
	remote = json_object();
	json_object_foreach(q, user_id, devs) {
		int64_t sid;

		if (!e2ee_user_local(req, user_id)) {
			/*
			 * A user sharing a room: the device list followed
			 * here, fetched whole first when it is not (yet).
			 * Anyone else: asked of their server below.
			 */
			if ((shared = shares_room(req, user_id)) == -1 ||
			    (shared && (rc = mstore_rdl_get(req->db, user_id, &sid)) == -1))
				goto fail;
			if (shared && rc == 0 && mfed_devices_resync(req->db, req->conf,
			    req->srv->key, user_id) == 0)
				rc = 1;
			if (!shared || rc != 1) {
				json_t *m = json_object_get(remote, user_server(user_id));

				if (m == NULL)
					json_object_set_new(remote, user_server(user_id),
					    m = json_object());
				json_object_set_new(m, user_id, json_is_array(devs) ?
				    json_incref(devs) : json_array());
				continue;
			}
			keys = mstore_rdl_query(req->db, user_id, devs);
		} else
			keys = mstore_keys_query(req->db, user_id, devs, req->auth.user_id);
		if (keys == NULL || xsign_add(req, user_id, xs) == -1) {
			json_decref(keys);
			goto fail;
		}
		json_object_set_new(out, user_id, keys);
	}
	json_object_foreach(remote, server, v) {
		json_t	*body = json_pack("{s:O}", "device_keys", v), *r;
		long	 status;

		r = mfed_user_keys(req->conf, req->srv->key, server, "query", body,
		    remote_timeout(req), &status);
		json_decref(body);
		if (r == NULL) {
			remote_failure(fail, server, status);
			continue;
		}
		merge_server(out, json_object_get(r, "device_keys"), server);
		merge_server(json_object_get(xs, "master_keys"), json_object_get(r, "master_keys"),
		    server);
		merge_server(json_object_get(xs, "self_signing_keys"),
		    json_object_get(r, "self_signing_keys"), server);
		json_decref(r);
	}
	json_decref(remote);
	json_object_set_new(xs, "device_keys", out);
	json_object_set_new(xs, "failures", fail);
	return mfcgi_reply(req, 200, xs);
fail:
	json_decref(remote);
	json_decref(out);
	json_decref(fail);
	json_decref(xs);
	return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
}

/*
 * Spec: C-S API, POST /keys/claim: one_time_keys {user_id: {device_id:
 * algorithm}}; one key per device, each handed out once (else the
 * device's fallback key).  Unknown users and devices are left out of
 * the answer; users of other servers are claimed from their servers
 * (POST /user/keys/claim, once per server, within timeout), those that
 * do not answer listed in failures.  400 M_BAD_JSON
 * for another shape, 400 M_INVALID_PARAM for a bad user ID.
 */
int
h_keys_claim(struct mreq *req)
{
	json_t		*q = json_object_get(req->body, "one_time_keys"), *devs, *alg;
	json_t		*local, *fail, *out, *remote, *m;
	const char	*user_id, *device_id, *server;

	if (timeout_check(req) == -1)
		return -1;
	if (!json_is_object(q))
		return mfcgi_fail(req, MERR_BAD_JSON, "one_time_keys must be an object");
	json_object_foreach(q, user_id, devs) {
		if (!mroom_user_id_check(user_id))
			return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid user ID");
		if (!json_is_object(devs))
			return mfcgi_fail(req, MERR_BAD_JSON, "one_time_keys must map to objects");
		json_object_foreach(devs, device_id, alg)
			if (!json_is_string(alg) || strlen(json_string_value(alg)) > MAX_ID_LEN)
				return mfcgi_fail(req, MERR_BAD_JSON, "Algorithms must be strings");
	}
	local = json_object();
	fail = json_object();
	remote = json_object();
	json_object_foreach(q, user_id, devs) {
		if (e2ee_user_local(req, user_id)) {
			json_object_set(local, user_id, devs);
			continue;
		}
		if ((m = json_object_get(remote, user_server(user_id))) == NULL)
			json_object_set_new(remote, user_server(user_id), m = json_object());
		json_object_set(m, user_id, devs);
	}
	out = mstore_keys_claim(req->db, local);
	json_decref(local);
	if (out == NULL) {
		json_decref(fail);
		json_decref(remote);
		return mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
	}
	json_object_foreach(remote, server, m) {
		json_t	*body = json_pack("{s:O}", "one_time_keys", m), *r;
		long	 status;

		r = mfed_user_keys(req->conf, req->srv->key, server, "claim", body,
		    remote_timeout(req), &status);
		json_decref(body);
		if (r == NULL)
			remote_failure(fail, server, status);
		else
			merge_server(out, json_object_get(r, "one_time_keys"), server);
		json_decref(r);
	}
	json_decref(remote);
	return mfcgi_reply(req, 200, json_pack("{s:o,s:o}", "one_time_keys", out,
	    "failures", fail));
}

/* Each stream's slot in a sync token, from MSTREAM_TABLE (store/streams.h). */
enum token_slot {
#define TOKEN_SLOT(id, slot, row) TSLOT_##id = (slot),
	MSTREAM_TABLE(TOKEN_SLOT)
#undef TOKEN_SLOT
};

/*
 * The events and device-list positions of sync token tok ("s" and the
 * positions by slot, see handlers/sync: a shorter token reads the
 * missing ones as 0).  0, or -1 with 400 M_INVALID_PARAM.
 */
static int
token_parse(struct mreq *req, const char *tok, int64_t *events, int64_t *devlists)
{
	const char	*p, *end;
	int64_t		 n;

	*events = *devlists = 0;
	if (tok[0] != 's')
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid token");
	p = tok + 1;
	for (int slot = 0; slot < MSTREAM__MAX; slot++) {
		if (mfcgi_num_parse(p, 0, INT64_MAX, &end, &n) == -1 ||
		    (*end != '\0' && *end != '_'))
			return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid token");
		if (slot == TSLOT_EVENTS)
			*events = n;
		else if (slot == TSLOT_DEVICE_LISTS)
			*devlists = n;
		if (*end == '\0')
			return 0;
		p = end + 1;
	}
	return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid token");
}

/*
 * Spec: C-S API, GET /keys/changes?from=&to=: the users sharing a room
 * with the caller whose device lists changed between two sync tokens
 * (changed), and those who stopped sharing one (left).  from is
 * required (400 M_MISSING_PARAM); without to, up to now, as Synapse.
 */
int
h_keys_changes(struct mreq *req)
{
	char	*from = mreq_query(req, "from"), *to = mreq_query(req, "to");
	int64_t	 ev_from, dl_from, ev_to, dl_to;
	json_t	*changed, *left, *moves = NULL;
	int	 rc = -1;

	if (from == NULL) {
		mfcgi_fail(req, MERR_MISSING_PARAM, "from is required");
		goto out;
	}
	if (token_parse(req, from, &ev_from, &dl_from) == -1)
		goto out;
	if (to != NULL && *to != '\0') {
		if (token_parse(req, to, &ev_to, &dl_to) == -1)
			goto out;
	} else if ((ev_to = mstore_events_max_stream(req->db)) < 0 ||
	    (dl_to = mstore_estream_pos(req->db, MSTREAM_DEVICE_LISTS)) < 0) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	if ((moves = mstore_member_moves(req->db, req->auth.user_id, ev_from, ev_to)) == NULL ||
	    mstore_devlist_changes(req->db, req->auth.user_id, dl_from, dl_to, moves,
	    &changed, &left) == -1) {
		mfcgi_fail(req, MERR_INTERNAL, "%s: store failed", __func__);
		goto out;
	}
	rc = mfcgi_reply(req, 200, json_pack("{s:o,s:o}", "changed", changed, "left", left));
out:
	json_decref(moves);
	free(from);
	free(to);
	return rc;
}
