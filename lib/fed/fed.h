/* Federation's edge: server names, discovery, server keys, X-Matrix, signed requests. */
#ifndef MYELIN_FED_H
#define MYELIN_FED_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

struct mconfig;
struct mdb;
struct mkey;

/*
 * A server name split per the spec's grammar (Appendices, "Server
 * Name"): server_name = hostname [ ":" port ], hostname an IPv4
 * literal, a bracketed IPv6 literal or a DNS name of 1 to 255 of
 * [A-Za-z0-9.-], port 1 to 5 digits.
 */
struct mfed_name {
	char	 host[256];	/* as written: "[::1]" keeps its brackets */
	int	 port;		/* 0: none given */
	int	 ip;		/* 4 or 6 for an IP literal, else 0 */
};

/* 0 with *out filled, or -1 when s is not a server name. */
int	mfed_name_parse(const char *s, struct mfed_name *out);

/*
 * Where to send requests for a server name (S-S API, "Resolving server
 * names").  The URL is https://authority/...: its host is the name the
 * certificate must carry (SNI) and authority the Host header; the
 * connection goes to connect_host:connect_port.
 */
struct mfed_dest {
	char	 authority[300];
	char	 tls_host[256];
	char	 connect_host[256];
	int	 connect_port;
};

/* The lookups discovery makes, replaceable for tests. */
struct mfed_lookup {
	/*
	 * GET https://hostname/.well-known/matrix/server: 1 with *server
	 * set (malloc'd, the m.server value), 0 when there is none or it
	 * is invalid (discovery goes on without delegation).
	 */
	int	(*well_known)(void *ctx, const char *hostname, char **server);
	/* SRV lookup of name: 1 with target and port set, 0 when none. */
	int	(*srv)(void *ctx, const char *name, char *target, size_t targetsz,
		    int *port);
	void	*ctx;
};

/*
 * Resolves server_name with lk.  0 with *out filled, or -1 when the
 * name (or the delegated one) is not a server name.
 */
int	mfed_resolve(const struct mfed_lookup *lk, const char *server_name,
	    struct mfed_dest *out);
/*
 * The real lookups: .well-known over HTTPS with conf's CA file and
 * address allowlist, cached per process (a day when found, an hour
 * when not, as Synapse caches), and SRV with res_query.
 */
void	mfed_lookup_init(struct mfed_lookup *, const struct mconfig *);
/* Forgets every cached .well-known answer (tests). */
void	mfed_well_known_flush(void);

/*
 * A signed federation request to destination: method, path (with its
 * query, as sent), and body (NULL for none).  0 when an answer came,
 * with *status and *reply (a JSON object, or an array as v1 send_join
 * answers, or NULL; a new reference);
 * -1 when none came (logged with why).
 */
int	mfed_request(const struct mconfig *, const struct mkey *, const char *destination,
	    const char *method, const char *path, const json_t *body, long *status,
	    json_t **reply);

/*
 * s percent-encoded for a path segment or query value (every byte but
 * RFC 3986's unreserved ones), malloc'd, or NULL.
 */
char	*mfed_escape(const char *s);

/*
 * X-Matrix (S-S API, "Request Authentication").
 */
struct mfed_authz {
	char	 origin[256];
	char	 destination[256];	/* "" when the header had none */
	char	 key_id[64];
	char	 sig[128];
};

/*
 * The Authorization header value for a request from origin to
 * destination, signed with key: malloc'd "X-Matrix origin=...", or NULL.
 */
char	*mfed_xmatrix_sign(const struct mkey *, const char *origin, const char *destination,
	    const char *method, const char *uri, const json_t *content);
/*
 * Parses an Authorization header value.  0, or -1 when it is not
 * X-Matrix or lacks origin, key or sig (S-S API: params may be quoted,
 * the scheme and names are case-insensitive).
 */
int	mfed_xmatrix_parse(const char *header, struct mfed_authz *out);
/*
 * Checks a's signature over (method, uri, content) to us with public
 * key pk, content's floats as mjson_canonical_lax writes them.  0 when
 * it verifies, -1 when not.
 */
int	mfed_xmatrix_verify(const struct mfed_authz *a, const char *us, const char *method,
	    const char *uri, const json_t *content, const unsigned char pk[32]);

/*
 * Server keys (S-S API, "Retrieving server keys").
 */

/* How long our published keys are valid: a day, as Synapse publishes. */
#define MFED_KEY_VALID_MS	(24LL * 60 * 60 * 1000)

/*
 * Our GET /_matrix/key/v2/server answer, signed with key, valid until
 * now + MFED_KEY_VALID_MS, old_verify_keys from signing_key_path.old.
 * A new reference, or NULL.
 */
json_t	*mfed_keys_own(const struct mconfig *, const struct mkey *);
/*
 * Checks a server's key answer obj as fetched for server_name: it
 * names server_name, every verify key is well-formed, the answer is
 * signed by each of its verify keys, and valid_until_ts is in the
 * future (now_ms).  0, or -1 with *why.
 */
int	mfed_keys_check(const json_t *obj, const char *server_name, int64_t now_ms,
	    const char **why);
/*
 * Public key key_id of server_name, valid at ts (ms): from the store,
 * else fetched from the server itself and then from trusted_key_servers,
 * checked and stored.  Returns 1 with pk filled, 0 when none was found
 * or it is not valid at ts, -1 on failure of the store.
 */
int	mfed_key_get(struct mdb *, const struct mconfig *, const struct mkey *,
	    const char *server_name, const char *key_id, int64_t ts, unsigned char pk[32]);
/*
 * The key answers known for server_name's keys key_ids (a JSON array of
 * key ID strings; NULL or empty: all), as a JSON array of the server's
 * own signed objects with our signature added, for a notary's answer.
 * Fetched from the server first (when fetch is 1) when one is missing
 * or valid until before min_valid_ts; the stored ones are answered
 * whatever the fetch gave.  NULL on failure.
 */
json_t	*mfed_keys_query(struct mdb *, const struct mconfig *, const struct mkey *,
	    const char *server_name, const json_t *key_ids, int64_t min_valid_ts, int fetch);
/*
 * Fetches at once, from each server itself, the keys of the n servers
 * for which mfed_keys_query would fetch (key_ids[i] and min_valid_ts[i]
 * as it takes them), and stores what checks: a notary asked for several
 * servers waits for the slowest, not for their sum.  mfed_keys_query
 * with fetch 0 then answers from the store.
 */
void	mfed_keys_prefetch(struct mdb *, const struct mconfig *, const char *const *servers,
	    const json_t *const *key_ids, const int64_t *min_valid_ts, size_t n);

/*
 * Received PDUs (PUT /send/{txnId}).  The write path (lib/room) gives
 * the function that checks and persists one PDU from origin, whose room
 * has room_version and whose ID by that version is event_id: it returns
 * NULL when the PDU was accepted (or was known already), else a malloc'd
 * reason, the per-PDU error of the transaction's answer.
 */
typedef char *(*mfed_pdu_fn)(struct mdb *, const struct mconfig *, const char *origin,
	    const json_t *pdu, const char *room_version, const char *event_id);
/* Sets the function PDUs go to (none before: every PDU gets an error). */
void	mfed_receive_set(mfed_pdu_fn);
/* Hands one PDU to that function.  NULL, or a malloc'd reason. */
char	*mfed_receive_pdu(struct mdb *, const struct mconfig *, const char *origin,
	    const json_t *pdu, const char *room_version, const char *event_id);

/*
 * A local user's membership through another server (lib/fed/join.c):
 * membership "join" (make_join, send_join v2: the room's auth chain and
 * state are received as outliers, the create event making the room
 * here, and the join on the state the answer gave), "leave"
 * (make_leave, send_leave v2: a remote invite rejected, or a room left
 * whose resident servers must hear of it; stored on the state known
 * here, when the room is known, else out of band) or "knock"
 * (make_knock, send_knock v1: stored out of band when the room's DAG is
 * not here, with the knock_room_state answered, for /sync).  The servers are tried in order until
 * one answers; each is asked with its own transaction.
 */
struct mfed_member {
	const char	*room_id;		/* in */
	const char	*user_id;		/* in: a local user */
	const char	*membership;		/* in: "join", "leave" or "knock" */
	const json_t	*content;		/* in: the member event's content */
	const json_t	*servers;		/* in: a JSON array of server names */
	char		*event_id;		/* out, malloc'd */
	/* out, on failure: the client's error (a 403 of the remote passed on) */
	int		 status;
	char		 errcode[64];
	char		 error[256];
	char		 room_version[32];	/* M_INCOMPATIBLE_ROOM_VERSION's, or "" */
};
/*
 * 0 with m->event_id, the event stored and committed; -1 with m's
 * error: 404 M_NOT_FOUND when no server answered, the remote's 4xx as
 * it gave it, 400 M_INCOMPATIBLE_ROOM_VERSION for a room version not
 * supported here, 502 when the room's state did not check.
 */
int	mfed_member(struct mdb *, const struct mconfig *, const struct mkey *,
	    struct mfed_member *);
void	mfed_member_fini(struct mfed_member *);

/*
 * The sender (lib/fed/sender.c, run by myelin-sender): every destination
 * of shard shard of nshards (mfed_shard_of) with queued events and no
 * backoff running at now gets them, oldest first, in PUT
 * /_matrix/federation/v1/send transactions of at most 50 PDUs and 100
 * EDUs; one answered with a 2xx (or refused with a 4xx) leaves the
 * queue, one not answered starts or doubles the destination's backoff
 * (from MFED_BACKOFF_MIN_MS to MFED_BACKOFF_MAX_MS), stored so that it
 * survives a restart.  Returns the milliseconds until it wants to run
 * again (a new event moves the events stream, which runs it at once).
 */
#define MFED_BACKOFF_MIN_MS	(2 * 1000)
#define MFED_BACKOFF_MAX_MS	(60 * 60 * 1000)
#define MFED_SENDER_GUARD_MS	(60 * 1000)
/* The most senders --shard may name. */
#define MFED_SHARDS_MAX		64
int64_t	mfed_send_due(struct mdb *, const struct mconfig *, const struct mkey *, int64_t now,
	    unsigned shard, unsigned nshards);
/*
 * The shard of nshards (at least 1) that sends to destination: FNV-1a
 * (32 bits) of the name's bytes as queued, modulo nshards.  Stable
 * across hosts, builds and restarts, so every sender agrees.
 */
unsigned mfed_shard_of(const char *destination, unsigned nshards);
/*
 * The sender's counters since the process started, per destination it
 * sent to: transactions by result, PDUs and EDUs delivered (Prometheus
 * text, myelin(7) "Metrics").
 */
void	mfed_sender_metrics(FILE *);
/* The backoff after one of prev ms (0: none) failed. */
int64_t	mfed_backoff_next(int64_t prev);

/*
 * The inbound path (lib/fed/inbound.c).  mfed_inbound_init registers
 * its PDU function, with key as ours for the requests it makes: each
 * PDU in its own transaction through mroom_receive; missing auth events
 * fetched from the origin (/event_auth) as outliers, a gap before a
 * live event with get_missing_events (limit 10), and when it stays, the
 * state after the first unknown prev event (/state_ids, /event) given
 * as the state before.  Nothing is fetched inside a transaction.
 */
void	mfed_inbound_init(const struct mkey *key);
/*
 * EDUs (lib/fed/edu.c).  One EDU from origin to us (m.typing,
 * m.receipt, m.presence, m.direct_to_device, m.device_list_update,
 * m.signing_key_update), into the stores, each in its own transaction:
 * only for users of origin, joined to the room (presence and device
 * lists: sharing some room here; to-device: for our users, once per
 * sender and message_id).  A device-list update whose prev_id is not
 * the last one taken fetches the whole list (GET /user/devices) from
 * origin.  Anything else is ignored.
 */
void	mfed_receive_edu(struct mdb *, const struct mconfig *, const struct mkey *,
	    const char *origin, const json_t *edu);
/*
 * Outbound EDUs of a local user, queued for the sender (in the
 * caller's transaction when one is open), us our server name.  Each
 * goes to the other servers with a member joined to the room (presence:
 * to a room the user is joined to); typing, a receipt (m.read) and
 * presence replace the one of their kind queued before.  0 or -1.
 */
int	mfed_edu_typing(struct mdb *, const char *us, const char *room_id,
	    const char *user_id, int typing);
int	mfed_edu_receipt(struct mdb *, const char *us, const char *room_id,
	    const char *user_id, const char *thread_id, const char *event_id, int64_t ts);
/* The user's presence as stored now. */
int	mfed_edu_presence(struct mdb *, const char *us, const char *user_id);
/*
 * m.direct_to_device from sender: messages, {user_id: {device_id or
 * "*": content}} of other servers' users (checked by the caller), one
 * EDU per server, kept until that server takes it.
 */
int	mfed_edu_todevice(struct mdb *, const char *sender, const char *type,
	    const char *message_id, const json_t *messages);
/*
 * A local user's device list changed (device_id's keys or name, or
 * deleted): an m.device_list_update to the servers sharing a room,
 * stream_id the change's position and prev_id the last one sent; kept
 * until taken.  Nothing when nothing changed since the last one sent.
 * In the caller's transaction when one is open.  0 or -1.
 */
int	mfed_edu_devices(struct mdb *, const char *us, const char *user_id,
	    const char *device_id, int deleted);
/* A local user's cross-signing keys changed: an m.signing_key_update, as above. */
int	mfed_edu_signing(struct mdb *, const char *us, const char *user_id);

/*
 * Other servers' users' devices (lib/fed/user.c).  _resync fetches
 * user_id's whole device list from its server into the cache (marked
 * stale when it cannot).  0 or -1.
 */
int	mfed_devices_resync(struct mdb *, const struct mconfig *, const struct mkey *,
	    const char *user_id);
/*
 * POST /_matrix/federation/v1/user/keys/{what} ("query" or "claim") of
 * server with body: its 200 answer (an object, new reference), else
 * NULL with *status (0: no answer).
 */
json_t	*mfed_user_keys(const struct mconfig *, const struct mkey *, const char *server,
	    const char *what, const json_t *body, long timeout_ms, long *status);

/*
 * One event from origin taken in as a PDU of /send is (fetching what it
 * lacks), for send_join and send_leave: what mroom_receive returned,
 * with *fate and why.
 */
enum mroom_err;
enum mroom_fate;
enum mroom_err	mfed_receive_event(struct mdb *, const struct mconfig *, const char *origin,
		    const json_t *pdu, enum mroom_fate *fate, char *why, size_t whysz);
/*
 * History from origin (a /backfill answer's PDUs) taken into room_id,
 * lowest depth first, each through mroom_receive with
 * MROOM_RECV_HISTORY in its own transaction, fetching from origin what
 * it lacks as a PDU of get_missing_events is (its auth events, the
 * state after an unknown prev event); another room's events are not
 * taken, nor those mroom_receive refuses; at most 500 events fetched
 * for the whole answer.  How many were stored.
 */
size_t	mfed_receive_history(struct mdb *, const struct mconfig *, const struct mkey *,
	    const char *origin, const char *room_id, const json_t *pdus);
/*
 * Backfill (S-S API, "Backfilling and retrieving missing events",
 * lib/fed/backfill.c): GET /backfill of room_id from v (a JSON array of
 * event IDs: backward extremities), at most limit events, from the
 * room's other servers (the servers of its joined members, ours aside)
 * in turn until one answers; its events taken by
 * mfed_receive_history.  How many were stored, or -1 when no server
 * answered.
 */
int64_t	mfed_backfill(struct mdb *, const struct mconfig *, const struct mkey *,
	    const char *room_id, const json_t *v, int64_t limit);

/*
 * An invite from origin (PUT /invite, lib/fed/join.c) of room_version,
 * co-signed by the caller: into a room whose DAG is here as any PDU
 * (mfed_receive_event), else as an out-of-band membership
 * (mroom_receive_invite) with irs (invite_room_state, a JSON array, or
 * NULL) kept for /sync.  Its own transaction; what mroom_receive
 * returned, with *fate and why.
 */
enum mroom_err	mfed_receive_invite(struct mdb *, const struct mconfig *, const struct mkey *,
		    const char *origin, const json_t *pdu, const char *room_version,
		    const json_t *irs, enum mroom_fate *fate, char *why, size_t whysz);
/*
 * Sends stored invite event_id (of a user of another server) to that
 * server (PUT /v2/invite with the room's stripped state, v1 when v2 is
 * not served), after it was committed here (a third-party invite made
 * by exchange_third_party_invite); its signature from the answer is
 * kept.  0 when it took the invite, -1 when not (logged).
 */
int	mfed_invite_send(struct mdb *, const struct mconfig *, const struct mkey *,
	    const char *event_id);
/*
 * Spec: m.room.server_acl: 1 when the room's current ACL (none: any)
 * lets server in (its host, port dropped, matching allow and no deny;
 * an IP literal only with allow_ip_literals), 0 not, -1 on failure.
 */
int	mfed_acl_allows(struct mdb *, const char *room_id, const char *server);
/* 1 when a user of server is joined to room_id now, 0 not, -1 on failure. */
int	mfed_server_in_room(struct mdb *, const char *room_id, const char *server);

/*
 * Other servers' media (lib/fed/media.c): GET
 * /_matrix/federation/v1/media/download/{mediaId} (or /thumbnail with
 * thumb_query, "width=..&height=..&method=..") signed, its multipart
 * answer read (the bytes, or those at the URL of its Location part);
 * a server without it (404 or 400 M_UNRECOGNIZED) is asked the legacy
 * /_matrix/media/v3/download/{origin}/{mediaId}?allow_remote=false.
 * 0 when an answer came: status 200 with the bytes (at most max_bytes)
 * and their type, or the other server's status; -1 when none came.
 */
struct mfed_media {
	long	 status;
	char	*content_type;		/* malloc'd, or NULL */
	char	*body;			/* malloc'd, NUL-terminated */
	size_t	 bodysz;
};
int	mfed_media_get(const struct mconfig *, const struct mkey *, const char *origin,
	    const char *media_id, const char *thumb_query, size_t max_bytes,
	    struct mfed_media *out);
void	mfed_media_fini(struct mfed_media *);

#endif
