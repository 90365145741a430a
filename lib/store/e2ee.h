/* Storage of end-to-end encryption: keys, to-device messages, device lists. */
#ifndef MYELIN_STORE_E2EE_H
#define MYELIN_STORE_E2EE_H

#include <stdint.h>
#include <jansson.h>

struct mdb;

/*
 * Stores what device_id of user_id uploads, in one transaction: dkeys
 * (its signed device keys, or NULL), otks ({"<algorithm>:<key id>": key},
 * or NULL) and fallbacks (the same shape, one per algorithm, or NULL),
 * all checked by the caller.  A one-time key already stored under its ID
 * with the same content is left alone.  New or changed device keys mark
 * the user's device list changed.  Returns 0; 1 when a one-time key ID
 * is stored with other content, nothing stored and *conflict that ID
 * (malloc'd); or -1.
 */
int	 mstore_keys_upload(struct mdb *, const char *user_id, const char *device_id,
	    const json_t *dkeys, const json_t *otks, const json_t *fallbacks,
	    char **conflict);
/* {algorithm: count} of the device's unclaimed one-time keys.  New reference, or NULL. */
json_t	*mstore_otk_counts(struct mdb *, const char *user_id, const char *device_id);
/*
 * In one statement, *counts as mstore_otk_counts and *unused the
 * [algorithm] of the device's fallback keys not claimed yet (new
 * references).  0, or -1 with both NULL.
 */
int	 mstore_key_counts(struct mdb *, const char *user_id, const char *device_id,
	    json_t **counts, json_t **unused);
/*
 * {device_id: keys} of user_id's devices that uploaded keys, only those
 * named in devices (an array of strings) unless it is NULL or empty;
 * each with unsigned.device_display_name when the device has a name.
 * New reference, or NULL.
 */
json_t	*mstore_keys_query(struct mdb *, const char *user_id, const json_t *devices,
	    const char *requester);
/* The stored device keys of one device as *out: 1, 0 when none, -1. */
int	 mstore_dkeys_get(struct mdb *, const char *user_id, const char *device_id,
	    json_t **out);

/*
 * Cross-signing.  usage is "master", "self_signing" or "user_signing".
 * _get: user_id's key of that usage as *out, with the signatures
 * requester may see (those by user_id and by requester; NULL: none
 * added): 1, 0 when none, -1.
 */
int	 mstore_xsign_get(struct mdb *, const char *user_id, const char *usage,
	    const char *requester, json_t **out);
/* The public key a cross-signing key names ("ed25519:<pub>"), borrowed, or NULL. */
const char *mstore_xsign_pub(const json_t *key);
/*
 * Stores keys, {usage: key} (checked by the caller), in one transaction,
 * dropping the signatures of a replaced master key, and marks the
 * user's device list changed (for the user alone when only the
 * user-signing key changed).  0 or -1.
 */
int	 mstore_xsign_put(struct mdb *, const char *user_id, const json_t *keys);
/*
 * Stores signature, by signer's key signer_key ("ed25519:<id>"), of
 * user_id's key key_id (a device ID or a master public key), checked by
 * the caller, and marks user_id's device list changed: for everyone
 * sharing a room when user_id signed it, for signer alone otherwise.
 * 0 or -1.
 */
int	 mstore_sig_add(struct mdb *, const char *user_id, const char *key_id,
	    const char *signer, const char *signer_key, const char *signature);
/*
 * Claims one key per device of query, {user_id: {device_id: algorithm}}
 * (checked by the caller), in one transaction: an unclaimed one-time key
 * of that algorithm, deleted as it is read so that no two claimers get
 * it, else the device's fallback key of that algorithm, marked used.
 * Returns {user_id: {device_id: {"<algorithm>:<key id>": key}}} without
 * the devices that had nothing; new reference, or NULL.
 */
json_t	*mstore_keys_claim(struct mdb *, const json_t *query);

/*
 * Queues a to-device message of type from sender to each target of
 * messages, {user_id: {device_id or "*": content}} (local users, checked
 * by the caller; "*" is every device of the user, an unknown device is
 * skipped), each message at its own position of the to-device stream,
 * in one transaction (the caller's when one is open, else its own),
 * unless sender's device sender_device already used txn_id.  Returns 1
 * queued, 0 for a transaction ID seen before (nothing written), -1.
 */
int	 mstore_todevice_send(struct mdb *, const char *sender, const char *sender_device,
	    const char *txn_id, const char *type, const json_t *messages);
/*
 * Deletes the messages of device_id of user_id at or before ack (the
 * client has them), then returns those in (ack, to], oldest first, at
 * most limit, as [{"sender", "type", "content"}].  *next is the position
 * the client has seen all of: to, or the last one returned when limit
 * cut the list.  New reference, or NULL.
 */
json_t	*mstore_todevice_sync(struct mdb *, const char *user_id, const char *device_id,
	    int64_t ack, int64_t to, int64_t limit, int64_t *next);

/*
 * The membership moves of (from, to] of the events stream that concern
 * user_id: [[room_id, user_id]...] of the membership events of user_id
 * and of those in the rooms user_id is joined to, each pair once, by
 * room then user; no query for an empty range.  /sync reads them once
 * for its device lists and its presence.  New reference, or NULL.
 */
json_t	*mstore_member_moves(struct mdb *, const char *user_id, int64_t from, int64_t to);
/*
 * The users whose device lists user_id must refresh between two
 * positions: *changed those sharing a room with user_id (user_id among
 * them) whose device list changed in (dl_from, dl_to] of the device-list
 * stream, or who started sharing a room with user_id in the moves of
 * mstore_member_moves (NULL: none), and those whose keys changed for
 * user_id alone (signed by user_id's user-signing key, or that key
 * itself); *left those who shared one and share none now.
 * Both new arrays of user IDs.  0 or -1.
 */
int	 mstore_devlist_changes(struct mdb *, const char *user_id, int64_t dl_from,
	    int64_t dl_to, const json_t *moves, json_t **changed, json_t **left);

/*
 * Key backup (lib/store/backup.c).  Versions count from 1 per user and
 * are never reused; the current one is the newest not deleted.
 * _current: its number, 0 when there is none, -1.
 */
int64_t	 mstore_backup_current(struct mdb *, const char *user_id);
/* A new version of algorithm with auth_data (any JSON), in one transaction: its number, or -1. */
int64_t	 mstore_backup_create(struct mdb *, const char *user_id, const char *algorithm,
	    const json_t *auth_data);
/*
 * The spec's version object, {algorithm, auth_data, count, etag,
 * version} (etag and version strings), of a version not deleted as *out.
 * 1, 0 when there is none, -1.
 */
int	 mstore_backup_get(struct mdb *, const char *user_id, int64_t version, json_t **out);
/* Replaces the auth_data of a version not deleted.  1, 0 when none, -1. */
int	 mstore_backup_update(struct mdb *, const char *user_id, int64_t version,
	    const json_t *auth_data);
/* Deletes a version and its keys, in one transaction.  1, 0 when none, -1. */
int	 mstore_backup_delete(struct mdb *, const char *user_id, int64_t version);
/*
 * Stores rooms, {room_id: {"sessions": {session_id: KeyBackupData}}}
 * (checked by the caller), each key only when better than the stored one
 * by the spec's rules, and moves the etag when any was stored; one
 * transaction.  0 or -1.
 */
int	 mstore_backup_keys_put(struct mdb *, const char *user_id, int64_t version,
	    const json_t *rooms);
/*
 * {"rooms": {room_id: {"sessions": {session_id: KeyBackupData}}}} of a
 * version, of one room unless room_id is NULL, of one session unless
 * session_id is NULL.  New reference, or NULL.
 */
json_t	*mstore_backup_keys_get(struct mdb *, const char *user_id, int64_t version,
	    const char *room_id, const char *session_id);
/* Deletes keys as _get selects them, moving the etag when any went.  0 or -1. */
int	 mstore_backup_keys_del(struct mdb *, const char *user_id, int64_t version,
	    const char *room_id, const char *session_id);

/*
 * Device lists over federation (lib/store/devcache.c).  Another
 * server's user is followed once their server gave their whole list:
 * _get is 1 with *stream_id, the last update taken, 0 when the user is
 * not followed or an update was missed (stale), -1.
 */
int	 mstore_rdl_get(struct mdb *, const char *user_id, int64_t *stream_id);
/*
 * Replaces the cached list of user_id with devices (an array of
 * {device_id, keys, device_display_name}, as GET /user/devices answers)
 * and its master and self-signing keys (objects or NULL), at stream_id,
 * and marks the list changed for local syncs; one transaction.  0 or -1.
 */
int	 mstore_rdl_replace(struct mdb *, const char *user_id, int64_t stream_id,
	    const json_t *devices, const json_t *master, const json_t *self_signing);
/* One device updated (keys an object or NULL) or deleted, at stream_id, as _replace. */
int	 mstore_rdl_update(struct mdb *, const char *user_id, const char *device_id,
	    const char *display_name, const json_t *keys, int deleted, int64_t stream_id);
/* An m.signing_key_update: the keys given (objects or NULL) replace the cached ones. */
int	 mstore_rdl_xsign(struct mdb *, const char *user_id, const json_t *master,
	    const json_t *self_signing);
/* The list must be fetched again before it is answered from.  0 or -1. */
int	 mstore_rdl_stale(struct mdb *, const char *user_id);
/* Forgets the cached list (no room shared any more), in the caller's transaction if open.  0 or -1. */
int	 mstore_rdl_forget(struct mdb *, const char *user_id);
/* 1 when user_id is joined to a room where a user of server_name is joined, 0 not, -1. */
int	 mstore_rdl_shared(struct mdb *, const char *user_id, const char *server_name);
/*
 * user_id's membership of room_id is no longer join (in the event's
 * transaction): the device lists of the other servers' users who now
 * share no room with ours are forgotten, so that a room shared again
 * fetches them whole.  0 or -1.
 */
int	 mstore_rdl_left(struct mdb *, const char *room_id, const char *user_id,
	    const char *server_name);
/* {device_id: keys} of the cached devices with keys, as mstore_keys_query; or NULL. */
json_t	*mstore_rdl_query(struct mdb *, const char *user_id, const json_t *devices);
/*
 * For a local user: 1 when the list changed since the last update sent,
 * with *stream_id the change's position (recorded as sent) and *prev_id
 * the last one sent (0: none); 0 when nothing is to be sent; -1.  In
 * the caller's transaction.
 */
int	 mstore_ldl_next(struct mdb *, const char *user_id, int64_t *stream_id,
	    int64_t *prev_id);
/* The position of a local user's last device-list change (0: none), or -1. */
int64_t	 mstore_ldl_stream(struct mdb *, const char *user_id);

#endif
