/* Versions, capabilities and the well-known documents. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/events.h"
#include "extern.h"

/* Spec: C-S API, GET /_matrix/client/versions (no auth). */
int
h_versions(struct mreq *req)
{
	json_t *unstable = json_pack("{s:b}", "org.matrix.simplified_msc3575", 1);

	/* MSC4186, simplified sliding sync: myelin-sync answers it. */
	/* MSC4140 delayed events, when max_event_delay_ms turns them on. */
	if (req->conf->max_event_delay_ms > 0)
		json_object_set_new(unstable, "org.matrix.msc4140", json_true());
	return mfcgi_reply(req, 200, json_pack("{s:[sssssssssssssss],s:o}",
	    "versions", "r0.5.0", "r0.6.0", "r0.6.1", "v1.1", "v1.2", "v1.3", "v1.4",
	    "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10", "v1.11", "v1.12",
	    "unstable_features", unstable));
}

/*
 * Spec: C-S API, GET /capabilities, with m.room_versions from the
 * versions lib/events understands ("Room versions capability"); the
 * default is the one createRoom uses, default_room_version.  What the
 * config switches is said as it is: m.get_login_token follows
 * login_via_existing_session.  Third-party IDs are not kept at all, so
 * m.3pid_changes is off; every profile field may be set (m.profile_fields,
 * v1.16), and the older unstable name says the same for older clients.
 * m.account_moderation (v1.18): server admins may lock and suspend.
 */
int
h_capabilities(struct mreq *req)
{
	const struct mroomver	*all;
	json_t			*avail = json_object();
	size_t			 n;

	all = mroomver_all(&n);
	for (size_t i = 0; i < n; i++)
		json_object_set_new(avail, all[i].id, json_string(all[i].stable ?
		    "stable" : "unstable"));
	return mfcgi_reply(req, 200, json_pack("{s:{s:{s:b},s:{s:b},s:{s:b},s:{s:b},s:{s:b},"
	    "s:{s:b},s:{s:b},s:{s:b,s:b},s:{s:s,s:o}}}",
	    "capabilities",
	    "m.change_password", "enabled", 1,
	    "m.set_displayname", "enabled", 1,
	    "m.set_avatar_url", "enabled", 1,
	    "m.3pid_changes", "enabled", 0,
	    "m.get_login_token", "enabled", req->conf->login_via_existing_session ? 1 : 0,
	    "m.profile_fields", "enabled", 1,
	    "uk.tcpip.msc4133.profile_fields", "enabled", 1,
	    "m.account_moderation", "lock", req->auth.is_admin, "suspend", req->auth.is_admin,
	    "m.room_versions", "default", req->conf->default_room_version,
	    "available", avail));
}

/*
 * Spec: C-S API, GET /.well-known/matrix/support: {contacts: [{role,
 * matrix_id, email_address}], support_page} from support_contact and
 * support_page; 404 M_NOT_FOUND when neither is configured (the spec:
 * "no support information").  A handler answers rather than nginx, so
 * that the document follows the config that the handler loaded.
 */
int
h_support(struct mreq *req)
{
	const struct mconfig	*c = req->conf;
	json_t			*out, *list, *o;

	if (c->support_contactsz == 0 && c->support_page == NULL)
		return mfcgi_fail(req, MERR_NOT_FOUND, "No support information is configured");
	out = json_object();
	list = json_array();
	for (size_t i = 0; i < c->support_contactsz; i++) {
		o = json_pack("{s:s}", "role", c->support_contacts[i].role);
		if (c->support_contacts[i].matrix_id != NULL)
			json_object_set_new(o, "matrix_id",
			    json_string(c->support_contacts[i].matrix_id));
		if (c->support_contacts[i].email_address != NULL)
			json_object_set_new(o, "email_address",
			    json_string(c->support_contacts[i].email_address));
		json_array_append_new(list, o);
	}
	if (c->support_contactsz > 0)
		json_object_set_new(out, "contacts", list);
	else
		json_decref(list);
	if (c->support_page != NULL)
		json_object_set_new(out, "support_page", json_string(c->support_page));
	return mfcgi_reply(req, 200, out);
}

/*
 * Spec: C-S API v1.18, GET /.well-known/matrix/policy_server: the
 * public_keys of the policy server that runs under this server name, for
 * sysadmins who host one (a Meowlnir or policyserv) beside myelin;
 * 404 M_NOT_FOUND when policy_server_ed25519 is not configured (no
 * policy server here).  The key was checked at start.
 */
int
h_policy_server(struct mreq *req)
{
	const char *k = req->conf->policy_server_ed25519;

	if (k == NULL)
		return mfcgi_fail(req, MERR_NOT_FOUND, "No policy server is configured");
	return mfcgi_reply(req, 200, json_pack("{s:{s:s}}", "public_keys", "ed25519", k));
}

