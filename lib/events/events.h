/*
 * Events as PDUs: room versions, hashes, event IDs, signatures,
 * redaction, auth rules and state resolution.  An event is a jansson
 * object holding the PDU exactly as federation carries it.
 */
#ifndef MYELIN_EVENTS_H
#define MYELIN_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct mkey;

enum mevid_format {
	MEVID_V1,		/* "$opaque:origin" chosen by the sender (v1, v2) */
	MEVID_V3,		/* "$" + unpadded base64 of the reference hash (v3) */
	MEVID_V4,		/* "$" + URL-safe unpadded base64 of it (v4 on) */
};

enum mredact_rules {
	MREDACT_V1,		/* v1-v10 as each differs: see the flags below */
	MREDACT_V11,		/* v11 and later */
};

/* What differs between room versions (spec: "Room Versions"). */
struct mroomver {
	const char		*id;			/* "1" .. "12" */
	int			 stable;
	enum mevid_format	 evid;
	int			 state_res_v2;		/* v2 on; v1 uses state res v1 */
	int			 special_aliases_auth;	/* v1-v5: m.room.aliases auth quirk */
	int			 strict_canonicaljson;	/* v6 on: ints in range, no floats */
	int			 limit_notifications_pl;/* v6 on */
	int			 knock;			/* v7 on */
	int			 restricted;		/* v8 on */
	int			 restricted_fix;	/* v9 on: join_authorised_via_users_server kept by redaction */
	int			 knock_restricted;	/* v10 on */
	int			 int_power_levels;	/* v10 on: power levels must be integers */
	int			 implicit_creator;	/* v11 on: create content has no "creator" */
	enum mredact_rules	 redaction;
	int			 create_room_id;	/* v12: room ID from the create event's hash, creators above PLs */
};

/* The version with this ID, or NULL when unsupported. */
const struct mroomver	*mroomver_get(const char *id);
/* The spec's recommended default for new rooms. */
const struct mroomver	*mroomver_default(void);
/* Every supported version, in order; *n gets the count. */
const struct mroomver	*mroomver_all(size_t *n);

/*
 * Spec: S-S API, "Calculating the content hash": SHA-256 of the canonical
 * JSON of the event without unsigned, signatures and hashes.  Writes
 * unpadded base64 into out (at least 44 bytes).  0 or -1.
 */
int	mevent_content_hash(const json_t *ev, char *out, size_t outsz);
/* Sets hashes.sha256 on ev from its content.  0 or -1. */
int	mevent_hash(json_t *ev);
/* 1 when hashes.sha256 matches the content, 0 when not or absent. */
int	mevent_hash_check(const json_t *ev);

/*
 * Spec: room version's "Redactions".  Returns a new event stripped to
 * what redaction keeps (unsigned dropped), or NULL.
 */
json_t	*mevent_redact(const json_t *ev, const struct mroomver *);

/*
 * Event ID of ev for v3+ rooms: "$" + base64 of the reference hash
 * (SHA-256 of the canonical JSON of the redacted event without
 * signatures, unsigned and age_ts).  malloc'd or NULL.  For v1/v2 rooms
 * the ID is ev["event_id"], duplicated.
 */
char	*mevent_id(const json_t *ev, const struct mroomver *);

/*
 * Finishes a PDU built by the server: sets hashes, then signs the
 * redacted form and copies the signature onto ev (spec: "Signing
 * events").  0 or -1.
 */
int	mevent_sign(json_t *ev, const struct mroomver *, const char *server_name,
	    const struct mkey *);

/* Looks up a state event by (type, state_key) for the auth rules. NULL: absent. */
typedef const json_t *(*mstate_get_fn)(void *arg, const char *type, const char *state_key);

/*
 * Spec: room version's "Authorization rules".  Checks ev against the
 * state get() describes (the state before ev, or the auth events).
 * Returns 1 when allowed; 0 when refused, with a reason in why (whysz).
 */
int	mevent_auth_check(const json_t *ev, const struct mroomver *, mstate_get_fn get,
	    void *arg, char *why, size_t whysz);

/* The power level of user_id under the state get() describes. */
int64_t	mevent_user_power(const struct mroomver *, mstate_get_fn get, void *arg,
	    const char *user_id);

/*
 * The (type, state_key) pairs whose current events must be an event's
 * auth_events (spec: "Auth events selection").  Fills out with up to
 * outmax pairs and returns the count.
 */
struct mstate_key {
	const char	*type;
	const char	*state_key;	/* borrowed from ev or static */
};
size_t	mevent_auth_types(const json_t *ev, const struct mroomver *,
	    struct mstate_key *out, size_t outmax);

/*
 * A state map: (type, state_key) -> event ID.  Sets are JSON objects
 * keyed "type\x1fstate_key" with event ID string values, which keeps
 * state maps cheap to build, copy and compare with jansson.
 */
char	*mstate_key_join(const char *type, const char *state_key);	/* malloc'd */

/* Fetches an event by ID for state resolution; borrowed, NULL if unknown. */
typedef const json_t *(*mevent_get_fn)(void *arg, const char *event_id);

/*
 * Spec: "State resolution v2" (room versions 2 on).  states is a JSON
 * array of state maps (see mstate_key_join); get() returns any event
 * referenced, including every event in their auth chains.  Returns the
 * resolved state map (new reference) or NULL on failure.
 */
json_t	*mstate_resolve(const struct mroomver *, const json_t *states, mevent_get_fn get,
	    void *arg);
/*
 * Spec: room version 1, "State resolution" (versions 1 and 2' own
 * predecessor, used by room version 1): the unconflicted state, then
 * the conflicted power levels, join rules, memberships and the rest,
 * each resolved in turn on what was resolved before.  As mstate_resolve.
 */
json_t	*mstate_resolve_v1(const struct mroomver *, const json_t *states, mevent_get_fn get,
	    void *arg);

#endif
