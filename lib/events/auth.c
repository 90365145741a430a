/* Authorization rules of room versions 1 to 12 and the auth events selection. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "events/events.h"
#include "json/json.h"

/*
 * Spec: C-S API, m.room.power_levels: the levels used when the event or
 * the property is absent.
 */
#define PL_USERS_DEFAULT	0
#define PL_EVENTS_DEFAULT	0
#define PL_STATE_DEFAULT	50
#define PL_BAN_DEFAULT		50
#define PL_KICK_DEFAULT		50
#define PL_REDACT_DEFAULT	50
#define PL_INVITE_DEFAULT	0
/* Spec: "If the room contains no m.room.power_levels event, the room's
 * creator has a power level of 100" (room versions 1 to 11). */
#define PL_CREATOR_NO_PL	100

/* Spec: appendices, "User Identifiers": at most 255 bytes. */
#define USER_ID_MAX		255

/* One check in progress: the event, its version and the state it sees. */
struct actx {
	const json_t		*ev;
	const json_t		*content;	/* ev["content"], an object */
	const struct mroomver	*ver;
	mstate_get_fn		 get;
	void			*arg;
	const char		*type;
	const char		*sender;
	const json_t		*create;	/* the room's m.room.create */
	char			*why;
	size_t			 whysz;
};

static int	refuse(struct actx *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Writes the reason for a refusal into a->why; returns 0 (refused). */
static int
refuse(struct actx *a, const char *fmt, ...)
{
	va_list	 ap;

	if (a->why != NULL && a->whysz > 0) {
		va_start(ap, fmt);
		vsnprintf(a->why, a->whysz, fmt, ap);
		va_end(ap);
	}
	return 0;
}

/*
 * The ID in one entry of prev_events or auth_events: a string from v3
 * on, an [event_id, hashes] pair in v1 and v2.  Borrowed, or NULL.
 */
static const char *
ref_id(const json_t *ref)
{
	if (json_is_array(ref))
		ref = json_array_get(ref, 0);
	return json_is_string(ref) ? json_string_value(ref) : NULL;
}

/*
 * The event ID of ev, malloc'd, or NULL.  An explicit "event_id" wins:
 * v1/v2 events carry theirs, and callers that already know the ID of a
 * v3+ event may store it there rather than have it hashed again.
 */
static char *
event_id_dup(const json_t *ev, const struct mroomver *ver)
{
	const char	*id;

	if ((id = mjson_str(ev, "event_id")) != NULL)
		return strdup(id);
	return mevent_id(ev, ver);
}

/* The server name after the first ':' of a user, room or event ID, or NULL. */
static const char *
domain_of(const char *id)
{
	const char	*p;

	if (id == NULL || (p = strchr(id, ':')) == NULL || p[1] == '\0')
		return NULL;
	return p + 1;
}

static int
streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/*
 * Spec: appendices, "Server Name": a DNS name, IPv4 literal or
 * bracketed IPv6 literal, then an optional ":port".  Checked loosely:
 * the point is to refuse garbage, not to resolve anything.
 */
static int
server_name_valid(const char *s)
{
	const char	*p = s;

	if (*p == '[') {
		while (*++p != ']')
			if (!isxdigit((unsigned char)*p) && *p != ':' &&
			    *p != '.')
				return 0;
		p++;
	} else {
		if (!isalnum((unsigned char)*p))
			return 0;
		while (isalnum((unsigned char)*p) || *p == '-' || *p == '.')
			p++;
	}
	if (*p == ':') {
		if (!isdigit((unsigned char)*++p))
			return 0;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return *p == '\0';
}

/*
 * Spec: appendices, "User Identifiers" and "Historical User IDs":
 * servers must accept any localpart without ':' or NUL, the empty one
 * included, so only the sigil, the separator, the server name and the
 * 255-byte bound are enforced.
 */
static int
user_id_valid(const char *s)
{
	const char	*colon;

	if (s == NULL || s[0] != '@' || strlen(s) > USER_ID_MAX)
		return 0;
	if ((colon = strchr(s, ':')) == NULL)
		return 0;
	return server_name_valid(colon + 1);
}

/*
 * A power level value.  Integers always; from v10 (strict) nothing
 * else.  Before v10, spec: v1 "m.room.power_levels events accept values
 * as strings" (base 10, optional sign, leading zeroes, surrounding
 * whitespace) and "accept values as floats" (truncated).  0 with *out
 * set, or -1 when v is absent or not a power level.
 */
static int
pl_value(const json_t *v, int strict, int64_t *out)
{
	const char	*s;
	double		 d;
	int64_t		 n = 0;
	int		 neg = 0, digits = 0;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (strict || v == NULL)
		return -1;
	if (json_is_real(v)) {
		/* The conversion truncates toward zero, as the spec asks. */
		d = json_real_value(v);
		if (!isfinite(d) || d <= -9.2e18 || d >= 9.2e18)
			return -1;
		*out = (int64_t)d;
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	for (; isdigit((unsigned char)*s); s++, digits++) {
		if (n > (INT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (*s - '0');
	}
	while (isspace((unsigned char)*s))
		s++;
	if (digits == 0 || *s != '\0')
		return -1;
	*out = neg ? -n : n;
	return 0;
}

/* content[key] as a power level, or def when absent or unusable. */
static int64_t
pl_level(const json_t *content, const char *key, int64_t def, int strict)
{
	int64_t	 v;

	if (pl_value(json_object_get(content, key), strict, &v) == 0)
		return v;
	return def;
}

/* The content of the current power levels event, or NULL. */
static const json_t *
pl_content(mstate_get_fn get, void *arg)
{
	const json_t	*pl;

	if ((pl = get(arg, "m.room.power_levels", "")) == NULL)
		return NULL;
	return json_object_get(pl, "content");
}

/*
 * Whether user is a room creator under create.  Spec: v12 "room
 * creators" are the create event's sender and its content's
 * additional_creators; v11 "the sender of the m.room.create"; v1 to v10
 * the create event's content.creator.
 */
static int
is_creator(const struct mroomver *ver, const json_t *create, const char *user)
{
	const json_t	*content, *extra, *v;
	size_t		 i;

	if (create == NULL || user == NULL)
		return 0;
	content = json_object_get(create, "content");
	if (!ver->implicit_creator)
		return streq(mjson_str(content, "creator"), user);
	if (streq(mjson_str(create, "sender"), user))
		return 1;
	if (!ver->create_room_id)
		return 0;
	extra = json_object_get(content, "additional_creators");
	json_array_foreach(extra, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), user) == 0)
			return 1;
	return 0;
}

/*
 * Spec: C-S API, m.room.power_levels: users[user_id], else
 * users_default; with no power levels event the creator has 100 and
 * everyone else 0.  Spec: v12 "Room creators have infinitely high power
 * level": INT64_MAX, above any integer a power levels event can hold.
 */
int64_t
mevent_user_power(const struct mroomver *ver, mstate_get_fn get, void *arg,
    const char *user_id)
{
	const json_t	*create, *content;
	int64_t		 v;
	int		 strict = ver->int_power_levels;

	create = get(arg, "m.room.create", "");
	if (ver->create_room_id && is_creator(ver, create, user_id))
		return INT64_MAX;
	if (get(arg, "m.room.power_levels", "") != NULL) {
		content = pl_content(get, arg);
		if (user_id != NULL && pl_value(json_object_get(
		    json_object_get(content, "users"), user_id), strict, &v) == 0)
			return v;
		return pl_level(content, "users_default", PL_USERS_DEFAULT,
		    strict);
	}
	if (!ver->create_room_id && is_creator(ver, create, user_id))
		return PL_CREATOR_NO_PL;
	return PL_USERS_DEFAULT;
}

/* The membership of user in the state (borrowed), or NULL if it has none. */
static const char *
membership_of(struct actx *a, const char *user)
{
	const json_t	*m;

	if (user == NULL || (m = a->get(a->arg, "m.room.member", user)) == NULL)
		return NULL;
	return mjson_str(json_object_get(m, "content"), "membership");
}

/* The current join rule (borrowed), or NULL when there is none. */
static const char *
join_rule_of(struct actx *a)
{
	const json_t	*jr;

	if ((jr = a->get(a->arg, "m.room.join_rules", "")) == NULL)
		return NULL;
	return mjson_str(json_object_get(jr, "content"), "join_rule");
}

static int64_t
power_of(struct actx *a, const char *user)
{
	return mevent_user_power(a->ver, a->get, a->arg, user);
}

/* One of the fixed levels (ban, kick, invite, redact) under the current PL. */
static int64_t
level_of(struct actx *a, const char *key, int64_t def)
{
	return pl_level(pl_content(a->get, a->arg), key, def,
	    a->ver->int_power_levels);
}

/*
 * Spec: C-S API, m.room.power_levels: events[type] when set, else
 * state_default for state events and events_default for the others.
 */
static int64_t
required_level(struct actx *a, int is_state)
{
	const json_t	*content;
	int64_t		 v;
	int		 strict = a->ver->int_power_levels;

	content = pl_content(a->get, a->arg);
	if (pl_value(json_object_get(json_object_get(content, "events"),
	    a->type), strict, &v) == 0)
		return v;
	if (is_state)
		return pl_level(content, "state_default", PL_STATE_DEFAULT,
		    strict);
	return pl_level(content, "events_default", PL_EVENTS_DEFAULT, strict);
}

/* Spec: rule 1, "If type is m.room.create". */
static int
auth_create(struct actx *a)
{
	const json_t	*rv, *extra, *v;
	const char	*rd, *sd;
	size_t		 i;

	if (json_array_size(json_object_get(a->ev, "prev_events")) > 0)
		return refuse(a, "m.room.create has prev_events");
	if (a->ver->create_room_id) {
		/* Spec: v12 rule 1.2: the room ID is derived from it. */
		if (json_object_get(a->ev, "room_id") != NULL)
			return refuse(a, "m.room.create has a room_id");
	} else {
		rd = domain_of(mjson_str(a->ev, "room_id"));
		sd = domain_of(a->sender);
		if (!streq(rd, sd))
			return refuse(a, "m.room.create: room_id and sender "
			    "domains differ");
	}
	rv = json_object_get(a->content, "room_version");
	if (rv != NULL && (!json_is_string(rv) ||
	    mroomver_get(json_string_value(rv)) == NULL))
		return refuse(a, "m.room.create: unknown room_version");
	/* Spec: v1-v10 rule 1.4; v11 dropped it. */
	if (!a->ver->implicit_creator &&
	    json_object_get(a->content, "creator") == NULL)
		return refuse(a, "m.room.create: no creator");
	/* Spec: v12 rule 1.4. */
	if (a->ver->create_room_id &&
	    (extra = json_object_get(a->content, "additional_creators")) != NULL) {
		if (!json_is_array(extra))
			return refuse(a, "m.room.create: additional_creators "
			    "is not an array");
		json_array_foreach(extra, i, v)
			if (!json_is_string(v) ||
			    !user_id_valid(json_string_value(v)))
				return refuse(a, "m.room.create: bad user ID "
				    "in additional_creators");
	}
	return 1;
}

/* Whether public_key (standard or URL-safe unpadded base64) signed signed_. */
static int
tpi_key_signed(const json_t *signed_, const char *public_key)
{
	unsigned char	 pk[64];
	const json_t	*sigs, *keys, *v;
	const char	*server, *key_id;
	char		*std, *p;
	int		 n;

	if (public_key == NULL || (std = strdup(public_key)) == NULL)
		return 0;
	for (p = std; *p != '\0'; p++)
		if (*p == '-')
			*p = '+';
		else if (*p == '_')
			*p = '/';
	n = mcrypto_b64_decode(std, pk, sizeof(pk));
	free(std);
	if (n != 32)
		return 0;
	sigs = json_object_get(signed_, "signatures");
	json_object_foreach((json_t *)sigs, server, keys) {
		json_object_foreach((json_t *)keys, key_id, v) {
			if (mcrypto_verify_json(signed_, server, key_id,
			    pk) == 0)
				return 1;
		}
	}
	return 0;
}

/* Spec: rule "If membership is invite", "If content has a third_party_invite". */
static int
auth_third_party_invite(struct actx *a, const char *target,
    const char *target_m)
{
	const json_t	*tpi, *signed_, *tpe, *tc, *keys, *k;
	const char	*mxid, *token;
	size_t		 i;

	if (streq(target_m, "ban"))
		return refuse(a, "third party invite: target is banned");
	tpi = json_object_get(a->content, "third_party_invite");
	if (!json_is_object(signed_ = json_object_get(tpi, "signed")))
		return refuse(a, "third party invite: no signed");
	mxid = mjson_str(signed_, "mxid");
	token = mjson_str(signed_, "token");
	if (mxid == NULL || token == NULL)
		return refuse(a, "third party invite: no mxid or token");
	if (strcmp(mxid, target) != 0)
		return refuse(a, "third party invite: mxid is not state_key");
	if ((tpe = a->get(a->arg, "m.room.third_party_invite", token)) == NULL)
		return refuse(a, "third party invite: no "
		    "m.room.third_party_invite for the token");
	if (!streq(mjson_str(tpe, "sender"), a->sender))
		return refuse(a, "third party invite: sender differs from "
		    "the m.room.third_party_invite sender");
	tc = json_object_get(tpe, "content");
	if (tpi_key_signed(signed_, mjson_str(tc, "public_key")))
		return 1;
	keys = json_object_get(tc, "public_keys");
	json_array_foreach(keys, i, k)
		if (tpi_key_signed(signed_, mjson_str(k, "public_key")))
			return 1;
	return refuse(a, "third party invite: no valid signature by the "
	    "invite's public keys");
}

/* Spec: the m.room.member rule (4 from v6, 5 before; 5 in v12). */
static int
auth_member(struct actx *a)
{
	const json_t	*prev;
	const char	*target, *membership, *target_m, *sender_m, *jr, *via;
	const char	*creator;
	char		*create_id;
	int64_t		 sp, tp;
	int		 only_create;

	target = mjson_str(a->ev, "state_key");
	membership = mjson_str(a->content, "membership");
	if (target == NULL || membership == NULL)
		return refuse(a, "m.room.member without state_key or "
		    "membership");
	/*
	 * XXX Spec: v8 rule 4.2: an event with join_authorised_via_users_server
	 * must be signed by that user's server.  Signatures are checked on
	 * receipt (S-S API, "Checks performed on receipt of a PDU", step 2),
	 * where the keys are; this function has no keys to check with.
	 */
	target_m = membership_of(a, target);
	sender_m = membership_of(a, a->sender);

	if (strcmp(membership, "join") == 0) {
		/*
		 * Spec: v11 rule 4.3.1: the creator's own join right after
		 * the create event; "creator" names them before v11.
		 */
		creator = a->ver->implicit_creator ?
		    mjson_str(a->create, "sender") :
		    mjson_str(json_object_get(a->create, "content"), "creator");
		prev = json_object_get(a->ev, "prev_events");
		if (json_array_size(prev) == 1 && streq(creator, target)) {
			create_id = event_id_dup(a->create, a->ver);
			only_create = streq(create_id,
			    ref_id(json_array_get(prev, 0)));
			free(create_id);
			if (only_create)
				return 1;
		}
		if (strcmp(a->sender, target) != 0)
			return refuse(a, "join: sender is not state_key");
		if (streq(target_m, "ban"))
			return refuse(a, "join: sender is banned");
		/*
		 * No join rules event means no rule below matches, and the
		 * spec's last step refuses.
		 */
		jr = join_rule_of(a);
		if (streq(jr, "invite") || (a->ver->knock && streq(jr, "knock"))) {
			if (streq(target_m, "invite") || streq(target_m, "join"))
				return 1;
			return refuse(a, "join: room is %s only and sender "
			    "is not invited", jr);
		}
		if ((a->ver->restricted && streq(jr, "restricted")) ||
		    (a->ver->knock_restricted && streq(jr, "knock_restricted"))) {
			if (streq(target_m, "invite") || streq(target_m, "join"))
				return 1;
			via = mjson_str(a->content,
			    "join_authorised_via_users_server");
			if (via == NULL)
				return refuse(a, "join: restricted room and no "
				    "join_authorised_via_users_server");
			if (!streq(membership_of(a, via), "join"))
				return refuse(a, "join: authorising user is "
				    "not joined");
			if (power_of(a, via) < level_of(a, "invite",
			    PL_INVITE_DEFAULT))
				return refuse(a, "join: authorising user "
				    "cannot invite");
			return 1;
		}
		if (streq(jr, "public"))
			return 1;
		return refuse(a, "join: join rule %s does not allow it",
		    jr == NULL ? "(none)" : jr);
	}

	if (strcmp(membership, "invite") == 0) {
		if (json_object_get(a->content, "third_party_invite") != NULL)
			return auth_third_party_invite(a, target, target_m);
		if (!streq(sender_m, "join"))
			return refuse(a, "invite: sender is not joined");
		if (streq(target_m, "join") || streq(target_m, "ban"))
			return refuse(a, "invite: target's membership is %s",
			    target_m);
		if (power_of(a, a->sender) >= level_of(a, "invite",
		    PL_INVITE_DEFAULT))
			return 1;
		return refuse(a, "invite: sender is below the invite level");
	}

	if (strcmp(membership, "leave") == 0) {
		if (strcmp(a->sender, target) == 0) {
			if (streq(target_m, "invite") ||
			    streq(target_m, "join") ||
			    (a->ver->knock && streq(target_m, "knock")))
				return 1;
			return refuse(a, "leave: sender is not invited, "
			    "joined or knocking");
		}
		if (!streq(sender_m, "join"))
			return refuse(a, "kick: sender is not joined");
		sp = power_of(a, a->sender);
		tp = power_of(a, target);
		if (streq(target_m, "ban") &&
		    sp < level_of(a, "ban", PL_BAN_DEFAULT))
			return refuse(a, "unban: sender is below the ban level");
		if (sp >= level_of(a, "kick", PL_KICK_DEFAULT) && tp < sp)
			return 1;
		return refuse(a, "kick: sender is below the kick level or "
		    "not above the target");
	}

	if (strcmp(membership, "ban") == 0) {
		if (!streq(sender_m, "join"))
			return refuse(a, "ban: sender is not joined");
		sp = power_of(a, a->sender);
		tp = power_of(a, target);
		if (sp >= level_of(a, "ban", PL_BAN_DEFAULT) && tp < sp)
			return 1;
		return refuse(a, "ban: sender is below the ban level or not "
		    "above the target");
	}

	if (a->ver->knock && strcmp(membership, "knock") == 0) {
		jr = join_rule_of(a);
		if (!streq(jr, "knock") &&
		    !(a->ver->knock_restricted && streq(jr, "knock_restricted")))
			return refuse(a, "knock: join rule does not allow "
			    "knocking");
		if (strcmp(a->sender, target) != 0)
			return refuse(a, "knock: sender is not state_key");
		if (!streq(sender_m, "ban") && !streq(sender_m, "invite") &&
		    !streq(sender_m, "join"))
			return 1;
		return refuse(a, "knock: sender is %s", sender_m);
	}

	return refuse(a, "unknown membership %s", membership);
}

/* Names of the power levels' integer properties (spec: v10 rule 9.1). */
static const char *const pl_props[] = {
	"users_default", "events_default", "state_default", "ban", "redact",
	"kick", "invite",
};

/*
 * Spec: v10 rules 9.6 to 9.9 for one map ("events", "notifications" or
 * "users"), comparing the current content oc with the new nc.  Returns
 * 1 if every change is within the sender's power sp, else 0 with a->why.
 */
static int
pl_map_changes(struct actx *a, const json_t *oc, const json_t *nc,
    const char *name, int64_t sp)
{
	const json_t	*om, *nm, *maps[2], *v;
	const char	*key;
	int64_t		 ov, nv;
	int		 oh, nh, i, users = strcmp(name, "users") == 0;
	int		 strict = a->ver->int_power_levels;

	om = json_object_get(oc, name);
	nm = json_object_get(nc, name);
	maps[0] = json_is_object(om) ? om : NULL;
	maps[1] = json_is_object(nm) ? nm : NULL;
	/* Every key of both maps; keys in both are seen twice, harmlessly. */
	for (i = 0; i < 2; i++) {
		json_object_foreach((json_t *)maps[i], key, v) {
			oh = pl_value(json_object_get(maps[0], key), strict,
			    &ov) == 0;
			nh = pl_value(json_object_get(maps[1], key), strict,
			    &nv) == 0;
			if (oh == nh && (!oh || ov == nv))
				continue;
			/* Changed in, or removed from. */
			if (oh && !(users && strcmp(key, a->sender) == 0) &&
			    (users ? ov >= sp : ov > sp))
				return refuse(a, "power levels: sender may "
				    "not change %s[%s] from %lld", name, key,
				    (long long)ov);
			/* Added to, or changed in. */
			if (nh && nv > sp)
				return refuse(a, "power levels: sender may "
				    "not set %s[%s] to %lld", name, key,
				    (long long)nv);
		}
	}
	return 1;
}

/* Spec: the m.room.power_levels rule (9 from v6, 10 in v1-v5 and v12). */
static int
auth_power_levels(struct actx *a)
{
	const json_t	*c = a->content, *v, *m, *users, *old, *oc;
	const char	*key;
	int64_t		 ov, nv, sp;
	size_t		 i;
	int		 oh, nh, strict = a->ver->int_power_levels;

	if (strict) {
		for (i = 0; i < sizeof(pl_props) / sizeof(pl_props[0]); i++)
			if ((v = json_object_get(c, pl_props[i])) != NULL &&
			    !json_is_integer(v))
				return refuse(a, "power levels: %s is not an "
				    "integer", pl_props[i]);
		for (i = 0; i < 2; i++) {
			key = i == 0 ? "events" : "notifications";
			if ((m = json_object_get(c, key)) == NULL)
				continue;
			if (!json_is_object(m))
				return refuse(a, "power levels: %s is not an "
				    "object", key);
			json_object_foreach((json_t *)m, key, v)
				if (!json_is_integer(v))
					return refuse(a, "power levels: a "
					    "value in %s is not an integer",
					    i == 0 ? "events" : "notifications");
		}
	}
	/*
	 * Spec: v10 rule 9.3: "If the users property in content is not an
	 * object with keys that are valid user IDs with values that are
	 * integers" (or integer strings before v10).  An absent users is
	 * not an object of the wrong shape and passes.
	 */
	if ((users = json_object_get(c, "users")) != NULL) {
		if (!json_is_object(users))
			return refuse(a, "power levels: users is not an object");
		json_object_foreach((json_t *)users, key, v) {
			if (!user_id_valid(key))
				return refuse(a, "power levels: bad user ID in "
				    "users");
			if (pl_value(v, strict, &nv) == -1)
				return refuse(a, "power levels: bad level for "
				    "a user");
			/* Spec: v12 rule 10.4: creators are not listed. */
			if (a->ver->create_room_id &&
			    is_creator(a->ver, a->create, key))
				return refuse(a, "power levels: users lists "
				    "a room creator");
		}
	}
	if ((old = a->get(a->arg, "m.room.power_levels", "")) == NULL)
		return 1;
	oc = json_object_get(old, "content");
	sp = power_of(a, a->sender);
	for (i = 0; i < sizeof(pl_props) / sizeof(pl_props[0]); i++) {
		oh = pl_value(json_object_get(oc, pl_props[i]), strict, &ov) == 0;
		nh = pl_value(json_object_get(c, pl_props[i]), strict, &nv) == 0;
		if (oh == nh && (!oh || ov == nv))
			continue;
		if (oh && ov > sp)
			return refuse(a, "power levels: sender may not change "
			    "%s from %lld", pl_props[i], (long long)ov);
		if (nh && nv > sp)
			return refuse(a, "power levels: sender may not set %s "
			    "to %lld", pl_props[i], (long long)nv);
	}
	if (!pl_map_changes(a, oc, c, "events", sp))
		return 0;
	/* Spec: v6 "the authorisation rules ... now include notifications". */
	if (a->ver->limit_notifications_pl &&
	    !pl_map_changes(a, oc, c, "notifications", sp))
		return 0;
	if (!pl_map_changes(a, oc, c, "users", sp))
		return 0;
	return 1;
}

/*
 * Spec: "Authorization rules" of each room version; rule numbers below
 * are v10's unless said otherwise.  Not checked here, because they need
 * more than the state get() gives:
 *  - signatures (the sender's server's, and the server of
 *    join_authorised_via_users_server): checked on receipt with keys;
 *  - rule 2.1 to 2.3, the shape of auth_events (duplicates, entries the
 *    auth events selection would not pick, rejected entries): the caller
 *    builds get() from the auth events and can see those there.
 * Rule 2.4 (a create event) and 2.5 (same room_id) are checked on the
 * events get() returns.  In v12 the create event is not among the auth
 * events, yet get() must return it: the caller finds it from room_id.
 */
int
mevent_auth_check(const json_t *ev, const struct mroomver *ver,
    mstate_get_fn get, void *arg, char *why, size_t whysz)
{
	struct actx		 a;
	struct mstate_key	 keys[8];
	const json_t		*e;
	const char		*state_key, *room_id, *id, *rd, *ed;
	char			*create_id;
	size_t			 i, n;
	int			 ok;
	int64_t			 sp;

	memset(&a, 0, sizeof(a));
	a.ev = ev;
	a.ver = ver;
	a.get = get;
	a.arg = arg;
	a.why = why;
	a.whysz = whysz;
	if (why != NULL && whysz > 0)
		why[0] = '\0';
	if (!json_is_object(ev) || ver == NULL || get == NULL)
		return refuse(&a, "bad arguments");
	a.type = mjson_str(ev, "type");
	a.sender = mjson_str(ev, "sender");
	a.content = json_object_get(ev, "content");
	if (a.type == NULL || a.sender == NULL || !json_is_object(a.content))
		return refuse(&a, "event without type, sender or content");
	state_key = mjson_str(ev, "state_key");
	room_id = mjson_str(ev, "room_id");

	/* Rule 1. */
	if (strcmp(a.type, "m.room.create") == 0)
		return auth_create(&a);

	/* Rule 2.4; in v12, rule 2. */
	if ((a.create = get(arg, "m.room.create", "")) == NULL)
		return refuse(&a, "no m.room.create in the room state");
	if (room_id == NULL)
		return refuse(&a, "event without room_id");
	if (ver->create_room_id) {
		/* Spec: v12 rule 2: the room ID is "!" + the create's ID. */
		create_id = event_id_dup(a.create, ver);
		ok = create_id != NULL && create_id[0] == '$' &&
		    room_id[0] == '!' && strcmp(create_id + 1, room_id + 1) == 0;
		free(create_id);
		if (!ok)
			return refuse(&a, "room_id is not the m.room.create "
			    "event's ID");
	}
	/* Rule 2.5 on what the auth events selection picks. */
	n = mevent_auth_types(ev, ver, keys, sizeof(keys) / sizeof(keys[0]));
	for (i = 0; i < n; i++)
		if ((e = get(arg, keys[i].type, keys[i].state_key)) != NULL &&
		    !streq(mjson_str(e, "room_id"), room_id))
			return refuse(&a, "auth event %s in another room",
			    keys[i].type);

	/* Rule 3. */
	if (json_is_false(json_object_get(json_object_get(a.create, "content"),
	    "m.federate")) && !streq(domain_of(a.sender),
	    domain_of(mjson_str(a.create, "sender"))))
		return refuse(&a, "room is not federated");

	/* Spec: v1-v5 rule 4, removed in v6. */
	if (ver->special_aliases_auth && strcmp(a.type, "m.room.aliases") == 0) {
		if (state_key == NULL)
			return refuse(&a, "m.room.aliases without state_key");
		if (!streq(domain_of(a.sender), state_key))
			return refuse(&a, "m.room.aliases: state_key is not "
			    "the sender's domain");
		return 1;
	}

	/* Rule 4. */
	if (strcmp(a.type, "m.room.member") == 0)
		return auth_member(&a);

	/* Rule 5. */
	if (!streq(membership_of(&a, a.sender), "join"))
		return refuse(&a, "sender is not joined to the room");

	sp = power_of(&a, a.sender);
	/* Rule 6. */
	if (strcmp(a.type, "m.room.third_party_invite") == 0) {
		if (sp >= level_of(&a, "invite", PL_INVITE_DEFAULT))
			return 1;
		return refuse(&a, "third party invite: sender is below the "
		    "invite level");
	}

	/* Rule 7. */
	if (required_level(&a, json_object_get(ev, "state_key") != NULL) > sp)
		return refuse(&a, "sender's power level is too low for %s",
		    a.type);

	/* Rule 8. */
	if (state_key != NULL && state_key[0] == '@' &&
	    strcmp(state_key, a.sender) != 0)
		return refuse(&a, "state_key is another user's ID");

	/* Rule 9. */
	if (strcmp(a.type, "m.room.power_levels") == 0)
		return auth_power_levels(&a);

	/*
	 * Spec: v1 rule 11, in v1 and v2 only (v3 moved it to "Handling
	 * redactions"): the redact level, or the same domain for both
	 * event IDs, which only those versions' IDs have.
	 */
	if (ver->evid == MEVID_V1 && strcmp(a.type, "m.room.redaction") == 0) {
		if (sp >= level_of(&a, "redact", PL_REDACT_DEFAULT))
			return 1;
		id = mjson_str(ev, "event_id");
		rd = domain_of(mjson_str(ev, "redacts"));
		ed = domain_of(id);
		if (streq(rd, ed))
			return 1;
		return refuse(&a, "redaction: sender is below the redact "
		    "level and the event is from another server");
	}

	/* Rule 10. */
	return 1;
}

/* Appends (type, state_key) to out unless present or full. */
static void
add_key(struct mstate_key *out, size_t outmax, size_t *n, const char *type,
    const char *state_key)
{
	size_t	 i;

	for (i = 0; i < *n; i++)
		if (strcmp(out[i].type, type) == 0 &&
		    strcmp(out[i].state_key, state_key) == 0)
			return;
	if (*n < outmax) {
		out[*n].type = type;
		out[*n].state_key = state_key;
		(*n)++;
	}
}

/*
 * Spec: S-S API, "Auth events selection".  At most six pairs come out;
 * none for m.room.create.  Since v12 ("MUST NOT be selected") the
 * create event is left out.
 */
size_t
mevent_auth_types(const json_t *ev, const struct mroomver *ver,
    struct mstate_key *out, size_t outmax)
{
	const json_t	*content, *tpi;
	const char	*type, *sender, *target, *membership, *s;
	size_t		 n = 0;

	if ((type = mjson_str(ev, "type")) == NULL ||
	    strcmp(type, "m.room.create") == 0)
		return 0;
	if (!ver->create_room_id)
		add_key(out, outmax, &n, "m.room.create", "");
	add_key(out, outmax, &n, "m.room.power_levels", "");
	if ((sender = mjson_str(ev, "sender")) != NULL)
		add_key(out, outmax, &n, "m.room.member", sender);
	if (strcmp(type, "m.room.member") != 0 ||
	    (target = mjson_str(ev, "state_key")) == NULL)
		return n;
	add_key(out, outmax, &n, "m.room.member", target);
	content = json_object_get(ev, "content");
	if ((membership = mjson_str(content, "membership")) == NULL)
		return n;
	if (strcmp(membership, "join") == 0 ||
	    strcmp(membership, "invite") == 0 ||
	    strcmp(membership, "knock") == 0)
		add_key(out, outmax, &n, "m.room.join_rules", "");
	if (strcmp(membership, "invite") == 0 &&
	    (tpi = json_object_get(content, "third_party_invite")) != NULL &&
	    (s = mjson_str(json_object_get(tpi, "signed"), "token")) != NULL)
		add_key(out, outmax, &n, "m.room.third_party_invite", s);
	if (strcmp(membership, "join") == 0 && ver->restricted &&
	    (s = mjson_str(content, "join_authorised_via_users_server")) != NULL)
		add_key(out, outmax, &n, "m.room.member", s);
	return n;
}

/* "type" 0x1f "state_key": the key of a state map.  malloc'd or NULL. */
char *
mstate_key_join(const char *type, const char *state_key)
{
	size_t	 tl, sl;
	char	*s;

	if (type == NULL || state_key == NULL)
		return NULL;
	tl = strlen(type);
	sl = strlen(state_key);
	if ((s = malloc(tl + sl + 2)) == NULL)
		return NULL;
	memcpy(s, type, tl);
	s[tl] = '\x1f';
	memcpy(s + tl + 1, state_key, sl + 1);
	return s;
}
