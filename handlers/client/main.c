/* myelin-client: the route table of the client-server API. */
#include "appsvc.h"
#include "directory.h"
#include "e2ee.h"
#include "ephemeral.h"
#include "extern.h"
#include "filter.h"
#include "push.h"
#include "relations.h"
#include "rooms.h"
#include "search.h"
#include "sandbox/sandbox.h"

#define C "/_matrix/client/v3"

static const struct mroute routes[] = {
	{ MM_GET,	"/_matrix/client/versions",		MAUTH_NONE,	h_versions },
	{ MM_GET,	C "/capabilities",			MAUTH_USER,	h_capabilities },
	{ MM_POST,	C "/register",				MAUTH_NONE,	h_register },
	{ MM_GET,	C "/register/available",		MAUTH_NONE,	h_register_available },
	{ MM_GET,	"/_matrix/client/v1/register/m.login.registration_token/validity",
								MAUTH_NONE,	h_regtoken_validity },
	{ MM_GET,	C "/login",				MAUTH_NONE,	h_login_flows },
	{ MM_POST,	C "/login",				MAUTH_NONE,	h_login },
	{ MM_POST,	C "/refresh",				MAUTH_NONE,	h_refresh },
	/* Spec: "Account locking": a locked account may still log out. */
	{ MM_POST,	C "/logout",				MAUTH_LOCKED_OK, h_logout },
	{ MM_POST,	C "/logout/all",			MAUTH_LOCKED_OK, h_logout_all },
	{ MM_POST,	"/_matrix/client/v1/login/get_token",	MAUTH_USER,	h_login_get_token },
	{ MM_GET,	C "/account/whoami",			MAUTH_USER,	h_whoami },
	{ MM_POST,	C "/account/password",			MAUTH_USER,	h_password },
	{ MM_POST,	C "/account/deactivate",		MAUTH_USER,	h_deactivate },
	{ MM_GET,	C "/account/3pid",			MAUTH_USER,	h_3pid_list },
	{ MM_POST,	C "/account/3pid/bind",			MAUTH_USER,	h_3pid_bind },
	{ MM_POST,	"/_matrix/client/unstable/account/3pid/bind", MAUTH_USER,	h_3pid_bind },
	{ MM_POST,	C "/account/3pid/unbind",		MAUTH_USER,	h_3pid_unbind },
	{ MM_POST,	"/_matrix/client/unstable/account/3pid/unbind", MAUTH_USER,	h_3pid_unbind },
	{ MM_POST,	C "/account/3pid/delete",		MAUTH_USER,	h_3pid_delete },
	{ MM_POST,	C "/account/3pid/add",			MAUTH_USER,	h_3pid_add },
	{ MM_POST,	C "/account/3pid/email/requestToken",	MAUTH_NONE,	h_3pid_email_token },
	{ MM_POST,	C "/account/3pid/msisdn/requestToken",	MAUTH_NONE,	h_3pid_msisdn_token },
	{ MM_POST,	C "/account/password/email/requestToken",	MAUTH_NONE,	h_password_email_token },
	{ MM_POST,	C "/account/password/msisdn/requestToken",	MAUTH_NONE,	h_password_msisdn_token },
	{ MM_POST,	C "/register/email/requestToken",	MAUTH_NONE,	h_register_email_token },
	{ MM_POST,	C "/register/msisdn/requestToken",	MAUTH_NONE,	h_register_msisdn_token },
	{ MM_GET,	C "/profile/{userId}",			MAUTH_NONE,	h_profile_get },
	{ MM_GET,	C "/profile/{userId}/displayname",	MAUTH_NONE,	h_displayname_get },
	{ MM_PUT,	C "/profile/{userId}/displayname",	MAUTH_USER,	h_displayname_put },
	{ MM_GET,	C "/profile/{userId}/avatar_url",	MAUTH_NONE,	h_avatar_get },
	{ MM_PUT,	C "/profile/{userId}/avatar_url",	MAUTH_USER,	h_avatar_put },
	{ MM_GET,	C "/profile/{userId}/{keyName}",	MAUTH_NONE,	h_profile_field_get },
	{ MM_PUT,	C "/profile/{userId}/{keyName}",	MAUTH_USER,	h_profile_field_put },
	{ MM_DELETE,	C "/profile/{userId}/{keyName}",	MAUTH_USER,	h_profile_field_delete },
	{ MM_GET,	C "/voip/turnServer",			MAUTH_USER,	h_turn_server },
	{ MM_POST,	C "/user/{userId}/openid/request_token", MAUTH_USER,	h_openid_request_token },
	{ MM_GET,	"/_matrix/federation/v1/openid/userinfo", MAUTH_NONE,	h_openid_userinfo },
	{ MM_GET,	"/.well-known/matrix/support",		MAUTH_NONE,	h_support },
	{ MM_GET,	"/.well-known/matrix/policy_server",	MAUTH_NONE,	h_policy_server },
	{ MM_GET,	"/_matrix/client/unstable/org.matrix.msc4140/delayed_events", MAUTH_USER,
	    h_delayed_list },
	{ MM_POST,	"/_matrix/client/unstable/org.matrix.msc4140/delayed_events/{delayId}",
	    MAUTH_USER, h_delayed_update },
	{ MM_GET,	C "/admin/whois/{userId}",		MAUTH_USER,	h_whois },
	{ MM_GET,	"/_matrix/client/v1/admin/lock/{userId}", MAUTH_ADMIN,	h_lock_get },
	{ MM_PUT,	"/_matrix/client/v1/admin/lock/{userId}", MAUTH_ADMIN,	h_lock_put },
	{ MM_GET,	"/_matrix/client/v1/admin/suspend/{userId}", MAUTH_ADMIN, h_suspend_get },
	{ MM_PUT,	"/_matrix/client/v1/admin/suspend/{userId}", MAUTH_ADMIN, h_suspend_put },
	{ MM_GET,	"/_matrix/client/v1/room_summary/{roomIdOrAlias}", MAUTH_OPTIONAL,
								h_room_summary },
	{ MM_GET,	"/_matrix/client/v1/mutual_rooms",	MAUTH_USER,	h_mutual_rooms },
	{ MM_GET,	"/_matrix/client/unstable/uk.half-shot.msc2666/user/mutual_rooms",
								MAUTH_USER,	h_mutual_rooms },
	{ MM_POST,	C "/users/{userId}/report",		MAUTH_USER,	h_report_user },
	{ MM_GET,	C "/devices",				MAUTH_USER,	h_devices },
	{ MM_GET,	C "/devices/{deviceId}",		MAUTH_USER,	h_device_get },
	{ MM_PUT,	C "/devices/{deviceId}",		MAUTH_USER,	h_device_put },
	{ MM_DELETE,	C "/devices/{deviceId}",		MAUTH_USER,	h_device_delete },
	{ MM_POST,	C "/delete_devices",			MAUTH_USER,	h_delete_devices },
	{ MM_POST,	C "/createRoom",			MAUTH_USER,	h_create_room },
	{ MM_POST,	C "/join/{roomIdOrAlias}",		MAUTH_USER,	h_join_alias },
	{ MM_POST,	C "/rooms/{roomId}/join",		MAUTH_USER,	h_join_room_id },
	{ MM_POST,	C "/rooms/{roomId}/invite",		MAUTH_USER,	h_invite },
	{ MM_POST,	C "/rooms/{roomId}/leave",		MAUTH_USER,	h_leave },
	{ MM_POST,	C "/rooms/{roomId}/kick",		MAUTH_USER,	h_kick },
	{ MM_POST,	C "/rooms/{roomId}/ban",		MAUTH_USER,	h_ban },
	{ MM_POST,	C "/rooms/{roomId}/unban",		MAUTH_USER,	h_unban },
	{ MM_PUT,	C "/rooms/{roomId}/send/{eventType}/{txnId}", MAUTH_USER, h_send },
	{ MM_POST,	C "/rooms/{roomId}/send/{eventType}",	MAUTH_USER,	h_send },
	{ MM_PUT,	C "/rooms/{roomId}/state/{eventType}/{stateKey}", MAUTH_USER, h_state_put },
	{ MM_PUT,	C "/rooms/{roomId}/state/{eventType}/",	MAUTH_USER,	h_state_put },
	{ MM_PUT,	C "/rooms/{roomId}/state/{eventType}",	MAUTH_USER,	h_state_put },
	{ MM_GET,	C "/rooms/{roomId}/state/{eventType}/{stateKey}", MAUTH_USER, h_state_get },
	{ MM_GET,	C "/rooms/{roomId}/state/{eventType}/",	MAUTH_USER,	h_state_get },
	{ MM_GET,	C "/rooms/{roomId}/state/{eventType}",	MAUTH_USER,	h_state_get },
	{ MM_GET,	C "/rooms/{roomId}/state",		MAUTH_USER,	h_state_all },
	{ MM_PUT,	C "/rooms/{roomId}/redact/{eventId}/{txnId}", MAUTH_USER, h_redact },
	/* As Synapse 1.67 (SyTest sends it): POST without a transaction ID. */
	{ MM_POST,	C "/rooms/{roomId}/redact/{eventId}", MAUTH_USER, h_redact },
	{ MM_GET,	C "/rooms/{roomId}/event/{eventId}",	MAUTH_USER,	h_event_get },
	{ MM_GET,	C "/events/{eventId}",			MAUTH_USER,	h_event_get_legacy },
	{ MM_GET,	C "/rooms/{roomId}/messages",		MAUTH_USER,	h_messages },
	{ MM_GET,	C "/rooms/{roomId}/context/{eventId}",	MAUTH_USER,	h_context },
	{ MM_GET,	"/_matrix/client/v1/rooms/{roomId}/relations/{eventId}",
								MAUTH_USER,	h_relations },
	{ MM_GET,	"/_matrix/client/v1/rooms/{roomId}/relations/{eventId}/{relType}",
								MAUTH_USER,	h_relations },
	{ MM_GET,	"/_matrix/client/v1/rooms/{roomId}/relations/{eventId}/{relType}/{eventType}",
								MAUTH_USER,	h_relations },
	{ MM_GET,	"/_matrix/client/v1/rooms/{roomId}/threads", MAUTH_USER,	h_threads },
	{ MM_GET,	"/_matrix/client/v1/rooms/{roomId}/timestamp_to_event",
								MAUTH_USER,	h_timestamp_to_event },
	{ MM_GET,	C "/rooms/{roomId}/members",		MAUTH_USER,	h_members },
	{ MM_GET,	C "/rooms/{roomId}/joined_members",	MAUTH_USER,	h_joined_members },
	{ MM_GET,	C "/rooms/{roomId}/aliases",		MAUTH_USER,	h_room_aliases },
	{ MM_GET,	C "/joined_rooms",			MAUTH_USER,	h_joined_rooms },
	{ MM_PUT,	C "/directory/room/{roomAlias}",	MAUTH_USER,	h_alias_put },
	{ MM_GET,	C "/directory/room/{roomAlias}",	MAUTH_NONE,	h_alias_get },
	{ MM_DELETE,	C "/directory/room/{roomAlias}",	MAUTH_USER,	h_alias_delete },
	{ MM_GET,	C "/directory/list/room/{roomId}",	MAUTH_NONE,	h_dir_visibility_get },
	{ MM_PUT,	C "/directory/list/room/{roomId}",	MAUTH_USER,	h_dir_visibility_put },
	{ MM_POST,	"/_matrix/client/v1/appservice/{appserviceId}/ping", MAUTH_USER, h_as_ping },
	{ MM_PUT,	C "/directory/list/appservice/{networkId}/{roomId}", MAUTH_USER,
								h_as_room_list_put },
	{ MM_DELETE,	C "/directory/list/appservice/{networkId}/{roomId}", MAUTH_USER,
								h_as_room_list_delete },
	{ MM_GET,	C "/thirdparty/protocols",		MAUTH_USER,	h_tp_protocols },
	{ MM_GET,	C "/thirdparty/protocol/{protocol}",	MAUTH_USER,	h_tp_protocol },
	{ MM_GET,	C "/thirdparty/location/{protocol}",	MAUTH_USER,	h_tp_location_p },
	{ MM_GET,	C "/thirdparty/user/{protocol}",	MAUTH_USER,	h_tp_user_p },
	{ MM_GET,	C "/thirdparty/location",		MAUTH_USER,	h_tp_location },
	{ MM_GET,	C "/thirdparty/user",			MAUTH_USER,	h_tp_user },
	{ MM_GET,	C "/publicRooms",			MAUTH_OPTIONAL,	h_public_rooms_get },
	{ MM_POST,	C "/publicRooms",			MAUTH_USER,	h_public_rooms_post },
	{ MM_POST,	C "/knock/{roomIdOrAlias}",		MAUTH_USER,	h_knock },
	{ MM_POST,	C "/rooms/{roomId}/forget",		MAUTH_USER,	h_forget },
	{ MM_POST,	C "/rooms/{roomId}/report/{eventId}",	MAUTH_USER,	h_report_event },
	{ MM_POST,	C "/rooms/{roomId}/report",		MAUTH_USER,	h_report_room },
	{ MM_POST,	C "/rooms/{roomId}/upgrade",		MAUTH_USER,	h_upgrade },
	{ MM_GET,	"/_matrix/client/v1/rooms/{roomId}/hierarchy", MAUTH_USER,	h_hierarchy },
	{ MM_POST,	C "/search",				MAUTH_USER,	h_search },
	{ MM_POST,	C "/user_directory/search",		MAUTH_USER,	h_user_directory_search },
	{ MM_POST,	C "/user/{userId}/filter",		MAUTH_USER,	h_filter_post },
	{ MM_GET,	C "/user/{userId}/filter/{filterId}",	MAUTH_USER,	h_filter_get },
	{ MM_PUT,	C "/rooms/{roomId}/typing/{userId}",	MAUTH_USER,	h_typing },
	{ MM_GET,	C "/user/{userId}/account_data/{type}",	MAUTH_USER,	h_account_data_get },
	{ MM_PUT,	C "/user/{userId}/account_data/{type}",	MAUTH_USER,	h_account_data_put },
	{ MM_GET,	C "/user/{userId}/rooms/{roomId}/account_data/{type}", MAUTH_USER,
								h_room_account_data_get },
	{ MM_PUT,	C "/user/{userId}/rooms/{roomId}/account_data/{type}", MAUTH_USER,
								h_room_account_data_put },
	{ MM_GET,	C "/user/{userId}/rooms/{roomId}/tags",	MAUTH_USER,	h_tags_get },
	{ MM_PUT,	C "/user/{userId}/rooms/{roomId}/tags/{tag}", MAUTH_USER,	h_tag_put },
	{ MM_DELETE,	C "/user/{userId}/rooms/{roomId}/tags/{tag}", MAUTH_USER,	h_tag_delete },
	{ MM_GET,	C "/presence/{userId}/status",		MAUTH_USER,	h_presence_get },
	{ MM_PUT,	C "/presence/{userId}/status",		MAUTH_USER,	h_presence_put },
	{ MM_POST,	C "/rooms/{roomId}/receipt/{receiptType}/{eventId}", MAUTH_USER, h_receipt },
	{ MM_POST,	C "/rooms/{roomId}/read_markers",	MAUTH_USER,	h_read_markers },
	{ MM_GET,	C "/pushrules/",			MAUTH_USER,	h_pushrules },
	{ MM_GET,	C "/pushrules/global/",			MAUTH_USER,	h_pushrules_global },
	{ MM_GET,	C "/pushrules/global/{kind}/{ruleId}",	MAUTH_USER,	h_pushrule_get },
	{ MM_PUT,	C "/pushrules/global/{kind}/{ruleId}",	MAUTH_USER,	h_pushrule_put },
	{ MM_DELETE,	C "/pushrules/global/{kind}/{ruleId}",	MAUTH_USER,	h_pushrule_delete },
	{ MM_GET,	C "/pushrules/global/{kind}/{ruleId}/enabled", MAUTH_USER,
								h_pushrule_enabled_get },
	{ MM_PUT,	C "/pushrules/global/{kind}/{ruleId}/enabled", MAUTH_USER,
								h_pushrule_enabled_put },
	{ MM_GET,	C "/pushrules/global/{kind}/{ruleId}/actions", MAUTH_USER,
								h_pushrule_actions_get },
	{ MM_PUT,	C "/pushrules/global/{kind}/{ruleId}/actions", MAUTH_USER,
								h_pushrule_actions_put },
	{ MM_GET,	C "/pushrules/global/{kind}/",		MAUTH_USER,	h_pushrules_kind },
	/* What is left of /pushrules/: 400 M_UNRECOGNIZED, as Synapse answers. */
	{ MM_GET,	C "/pushrules/{scope}",			MAUTH_USER,	h_pushrules_malformed },
	{ MM_GET,	C "/pushrules/{scope}/",		MAUTH_USER,	h_pushrules_malformed },
	{ MM_GET,	C "/pushrules/{scope}/{kind}",		MAUTH_USER,	h_pushrules_malformed },
	{ MM_GET,	C "/pushrules/{scope}/{kind}/",		MAUTH_USER,	h_pushrules_malformed },
	{ MM_GET,	C "/pushrules/{scope}/{kind}/{ruleId}", MAUTH_USER,	h_pushrules_malformed },
	{ MM_GET,	C "/pushrules/{scope}/{kind}/{ruleId}/{attr}", MAUTH_USER,
								h_pushrules_malformed },
	{ MM_PUT,	C "/pushrules/",			MAUTH_USER,	h_pushrules_malformed },
	{ MM_PUT,	C "/pushrules/{scope}",			MAUTH_USER,	h_pushrules_malformed },
	{ MM_PUT,	C "/pushrules/{scope}/",		MAUTH_USER,	h_pushrules_malformed },
	{ MM_PUT,	C "/pushrules/{scope}/{kind}",		MAUTH_USER,	h_pushrules_malformed },
	{ MM_PUT,	C "/pushrules/{scope}/{kind}/",		MAUTH_USER,	h_pushrules_malformed },
	{ MM_PUT,	C "/pushrules/{scope}/{kind}/{ruleId}", MAUTH_USER,	h_pushrules_malformed },
	{ MM_PUT,	C "/pushrules/{scope}/{kind}/{ruleId}/{attr}", MAUTH_USER,
								h_pushrules_malformed },
	{ MM_GET,	C "/notifications",			MAUTH_USER,	h_notifications },
	{ MM_GET,	C "/pushers",				MAUTH_USER,	h_pushers },
	{ MM_POST,	C "/pushers/set",			MAUTH_USER,	h_pushers_set },
	/* End-to-end encryption (h_keys.c, h_todevice.c). */
	{ MM_POST,	C "/keys/upload",			MAUTH_USER,	h_keys_upload },
	{ MM_POST,	C "/keys/query",			MAUTH_USER,	h_keys_query },
	{ MM_POST,	C "/keys/claim",			MAUTH_USER,	h_keys_claim },
	{ MM_GET,	C "/keys/changes",			MAUTH_USER,	h_keys_changes },
	{ MM_PUT,	C "/sendToDevice/{eventType}/{txnId}",	MAUTH_USER,	h_send_to_device },
	{ MM_POST,	C "/keys/device_signing/upload",	MAUTH_USER,	h_device_signing_upload },
	{ MM_POST,	C "/keys/signatures/upload",		MAUTH_USER,	h_signatures_upload },
	{ MM_POST,	"/_matrix/client/unstable/keys/device_signing/upload", MAUTH_USER,
								h_device_signing_upload },
	{ MM_POST,	"/_matrix/client/unstable/keys/signatures/upload", MAUTH_USER,
								h_signatures_upload },
	{ MM_POST,	C "/room_keys/version",			MAUTH_USER,	h_backup_create },
	{ MM_GET,	C "/room_keys/version",			MAUTH_USER,	h_backup_current },
	{ MM_GET,	C "/room_keys/version/{version}",	MAUTH_USER,	h_backup_get },
	{ MM_PUT,	C "/room_keys/version/{version}",	MAUTH_USER,	h_backup_update },
	{ MM_DELETE,	C "/room_keys/version/{version}",	MAUTH_USER,	h_backup_delete },
	{ MM_PUT,	C "/room_keys/keys",			MAUTH_USER,	h_room_keys_put },
	{ MM_GET,	C "/room_keys/keys",			MAUTH_USER,	h_room_keys_get },
	{ MM_DELETE,	C "/room_keys/keys",			MAUTH_USER,	h_room_keys_delete },
	{ MM_PUT,	C "/room_keys/keys/{roomId}",		MAUTH_USER,	h_room_keys_put },
	{ MM_GET,	C "/room_keys/keys/{roomId}",		MAUTH_USER,	h_room_keys_get },
	{ MM_DELETE,	C "/room_keys/keys/{roomId}",		MAUTH_USER,	h_room_keys_delete },
	{ MM_PUT,	C "/room_keys/keys/{roomId}/{sessionId}", MAUTH_USER,	h_room_keys_put },
	{ MM_GET,	C "/room_keys/keys/{roomId}/{sessionId}", MAUTH_USER,	h_room_keys_get },
	{ MM_DELETE,	C "/room_keys/keys/{roomId}/{sessionId}", MAUTH_USER,	h_room_keys_delete },
};

/*
 * The userinfo route belongs to the federation API; it lives here until
 * a federation handler exists, by its own exact location, which wins
 * over any prefix a federation handler will declare.
 */
static const char *const locations[] = {
	"/_matrix/client/",
	"= /_matrix/federation/v1/openid/userinfo",
	"= /.well-known/matrix/support",
	"= /.well-known/matrix/policy_server",
};

/* Spec: C-S API, the endpoints with no request body: null, {} or none. */
static const mhandler body_optional[] = {
	h_logout, h_logout_all, h_forget, h_alias_delete, h_pushrule_delete, h_tag_delete,
	h_backup_delete, h_room_keys_delete,
};

/*
 * The well-known documents, nginx's own answers; beside Synapse they
 * are the keys group's, written by myelin-federation there.
 */
static void
client_nginx_extra(const struct mconfig *conf, FILE *f)
{
	if (conf->synapse_database == NULL)
		mfcgi_nginx_well_known(conf, f);
}

static const struct mapp app = {
	.name = "client",
	.routes = routes,
	.routesz = sizeof(routes) / sizeof(routes[0]),
	.locations = locations,
	.locationsz = sizeof(locations) / sizeof(locations[0]),
	.needs_key = 1,
	.nginx_extra = client_nginx_extra,
	.body_optional = body_optional,
	.body_optionalsz = sizeof(body_optional) / sizeof(body_optional[0]),
	.mode = client_synapse_mode,
	.sandbox = MSANDBOX_NET,
};

int
main(int argc, char *argv[])
{
	return mfcgi_main(&app, argc, argv);
}
