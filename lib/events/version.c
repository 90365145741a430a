/* The room versions table: what each spec room version changes. */
#include <string.h>

#include "events/events.h"

/*
 * Spec: "Room Versions", "Complete list of room versions": versions 1
 * to 12, all stable.  Each flag is set from the version that introduces
 * it on, as every later version "builds on" the one before:
 *
 *  2: state resolution v2.
 *  3: event IDs are the reference hash in unpadded base64.
 *  4: the same in URL-safe unpadded base64.
 *  6: m.room.aliases loses its auth rule (rule 4) and, in the same
 *     version, its protected "aliases" key under redaction; canonical
 *     JSON is enforced; "notifications" joins the power levels rules.
 *  7: knocking.
 *  8: the "restricted" join rule; redaction keeps join_rules "allow".
 *  9: redaction keeps member "join_authorised_via_users_server".
 * 10: "knock_restricted"; power levels must be integers.
 * 11: create content has no "creator"; the v11 redaction algorithm.
 * 12: room IDs from the create event's hash, creators above PLs.
 */
static const struct mroomver versions[] = {
	{ .id = "1", .stable = 1, .evid = MEVID_V1,
	  .special_aliases_auth = 1, .redaction = MREDACT_V1 },
	{ .id = "2", .stable = 1, .evid = MEVID_V1, .state_res_v2 = 1,
	  .special_aliases_auth = 1, .redaction = MREDACT_V1 },
	{ .id = "3", .stable = 1, .evid = MEVID_V3, .state_res_v2 = 1,
	  .special_aliases_auth = 1, .redaction = MREDACT_V1 },
	{ .id = "4", .stable = 1, .evid = MEVID_V4, .state_res_v2 = 1,
	  .special_aliases_auth = 1, .redaction = MREDACT_V1 },
	{ .id = "5", .stable = 1, .evid = MEVID_V4, .state_res_v2 = 1,
	  .special_aliases_auth = 1, .redaction = MREDACT_V1 },
	{ .id = "6", .stable = 1, .evid = MEVID_V4, .state_res_v2 = 1,
	  .strict_canonicaljson = 1, .limit_notifications_pl = 1,
	  .redaction = MREDACT_V1 },
	{ .id = "7", .stable = 1, .evid = MEVID_V4, .state_res_v2 = 1,
	  .strict_canonicaljson = 1, .limit_notifications_pl = 1,
	  .knock = 1, .redaction = MREDACT_V1 },
	{ .id = "8", .stable = 1, .evid = MEVID_V4, .state_res_v2 = 1,
	  .strict_canonicaljson = 1, .limit_notifications_pl = 1,
	  .knock = 1, .restricted = 1, .redaction = MREDACT_V1 },
	{ .id = "9", .stable = 1, .evid = MEVID_V4, .state_res_v2 = 1,
	  .strict_canonicaljson = 1, .limit_notifications_pl = 1,
	  .knock = 1, .restricted = 1, .restricted_fix = 1,
	  .redaction = MREDACT_V1 },
	{ .id = "10", .stable = 1, .evid = MEVID_V4, .state_res_v2 = 1,
	  .strict_canonicaljson = 1, .limit_notifications_pl = 1,
	  .knock = 1, .restricted = 1, .restricted_fix = 1,
	  .knock_restricted = 1, .int_power_levels = 1,
	  .redaction = MREDACT_V1 },
	{ .id = "11", .stable = 1, .evid = MEVID_V4, .state_res_v2 = 1,
	  .strict_canonicaljson = 1, .limit_notifications_pl = 1,
	  .knock = 1, .restricted = 1, .restricted_fix = 1,
	  .knock_restricted = 1, .int_power_levels = 1,
	  .implicit_creator = 1, .redaction = MREDACT_V11 },
	{ .id = "12", .stable = 1, .evid = MEVID_V4, .state_res_v2 = 1,
	  .strict_canonicaljson = 1, .limit_notifications_pl = 1,
	  .knock = 1, .restricted = 1, .restricted_fix = 1,
	  .knock_restricted = 1, .int_power_levels = 1,
	  .implicit_creator = 1, .redaction = MREDACT_V11,
	  .create_room_id = 1 },
};

#define NVERSIONS	(sizeof(versions) / sizeof(versions[0]))

/*
 * Spec: "Room Versions": "Servers SHOULD use room version 12 as the
 * default room version when creating new rooms."
 */
#define DEFAULT_VERSION	"12"

/* Returns the entry for id, or NULL for NULL or an unknown version. */
const struct mroomver *
mroomver_get(const char *id)
{
	size_t	 i;

	if (id == NULL)
		return NULL;
	for (i = 0; i < NVERSIONS; i++)
		if (strcmp(versions[i].id, id) == 0)
			return &versions[i];
	return NULL;
}

const struct mroomver *
mroomver_default(void)
{
	return mroomver_get(DEFAULT_VERSION);
}

/* Returns the table, versions 1 to 12 in order, with its size in *n. */
const struct mroomver *
mroomver_all(size_t *n)
{
	if (n != NULL)
		*n = NVERSIONS;
	return versions;
}
