/* myelin-admin-api: the parts of Synapse's admin API myelin serves, and its route table. */
#include "extern.h"
#include "json/json.h"
#include "sandbox/sandbox.h"

#define A1 "/_synapse/admin/v1"
#define A2 "/_synapse/admin/v2"

/* Synapse: GET /_synapse/admin/v1/server_version, open to anyone as there. */
static int
h_server_version(struct mreq *req)
{
	return mfcgi_reply(req, 200, json_pack("{s:s}", "server_version", "myelin 0.1"));
}

/*
 * Every endpoint but the version and shared-secret registration is for
 * server admins (MAUTH_ADMIN: 403 M_FORBIDDEN for anyone else).  Literal
 * segments come before parameters where both could match.
 */
static const struct mroute routes[] = {
	{ MM_GET,	A1 "/server_version",			MAUTH_NONE,	h_server_version },
	{ MM_GET,	A1 "/register",				MAUTH_NONE,	h_register_nonce },
	{ MM_POST,	A1 "/register",				MAUTH_NONE,	h_register_shared },
	/* users */
	{ MM_GET,	A2 "/users",				MAUTH_ADMIN,	h_users_list },
	{ MM_GET,	A2 "/users/{userId}",			MAUTH_ADMIN,	h_user_get },
	{ MM_PUT,	A2 "/users/{userId}",			MAUTH_ADMIN,	h_user_put },
	{ MM_POST,	A1 "/deactivate/{userId}",		MAUTH_ADMIN,	h_user_deactivate },
	{ MM_POST,	A1 "/reset_password/{userId}",		MAUTH_ADMIN,	h_user_reset_password },
	{ MM_GET,	A1 "/whois/{userId}",			MAUTH_ADMIN,	h_user_whois },
	{ MM_GET,	A1 "/users/{userId}/joined_rooms",	MAUTH_ADMIN,	h_user_joined_rooms },
	{ MM_GET,	A1 "/users/{userId}/pushers",		MAUTH_ADMIN,	h_user_pushers },
	{ MM_GET,	A1 "/users/{userId}/admin",		MAUTH_ADMIN,	h_user_admin_get },
	{ MM_PUT,	A1 "/users/{userId}/admin",		MAUTH_ADMIN,	h_user_admin_put },
	{ MM_GET,	A1 "/users/{userId}/media",		MAUTH_ADMIN,	h_user_media },
	{ MM_DELETE,	A1 "/users/{userId}/media",		MAUTH_ADMIN,	h_user_media_delete },
	{ MM_POST,	A1 "/users/{userId}/login",		MAUTH_ADMIN,	h_user_login },
	{ MM_POST,	A1 "/users/{userId}/shadow_ban",	MAUTH_ADMIN,	h_user_shadow_ban },
	{ MM_DELETE,	A1 "/users/{userId}/shadow_ban",	MAUTH_ADMIN,	h_user_shadow_unban },
	{ MM_GET,	A1 "/users/{userId}/override_ratelimit", MAUTH_ADMIN,	h_user_ratelimit_get },
	{ MM_POST,	A1 "/users/{userId}/override_ratelimit", MAUTH_ADMIN,	h_user_ratelimit_set },
	{ MM_DELETE,	A1 "/users/{userId}/override_ratelimit", MAUTH_ADMIN,	h_user_ratelimit_delete },
	/* rooms */
	{ MM_GET,	A1 "/rooms",				MAUTH_ADMIN,	h_rooms_list },
	{ MM_GET,	A1 "/rooms/{roomId}",			MAUTH_ADMIN,	h_room_get },
	{ MM_DELETE,	A1 "/rooms/{roomId}",			MAUTH_ADMIN,	h_room_delete_v1 },
	{ MM_GET,	A1 "/rooms/{roomId}/members",		MAUTH_ADMIN,	h_room_members },
	{ MM_GET,	A1 "/rooms/{roomId}/state",		MAUTH_ADMIN,	h_room_state },
	{ MM_GET,	A1 "/rooms/{roomId}/block",		MAUTH_ADMIN,	h_room_block_get },
	{ MM_PUT,	A1 "/rooms/{roomId}/block",		MAUTH_ADMIN,	h_room_block_put },
	{ MM_GET,	A2 "/rooms/delete_status/{deleteId}",	MAUTH_ADMIN,	h_delete_status },
	{ MM_DELETE,	A2 "/rooms/{roomId}",			MAUTH_ADMIN,	h_room_delete_v2 },
	{ MM_GET,	A2 "/rooms/{roomId}/delete_status",	MAUTH_ADMIN,	h_room_delete_status },
	/* media */
	{ MM_POST,	A1 "/media/delete",			MAUTH_ADMIN,	h_media_delete_before },
	{ MM_POST,	A1 "/media/quarantine/{serverName}/{mediaId}", MAUTH_ADMIN, h_media_quarantine },
	{ MM_POST,	A1 "/media/unquarantine/{serverName}/{mediaId}", MAUTH_ADMIN, h_media_unquarantine },
	{ MM_POST,	A1 "/media/{serverName}/delete",	MAUTH_ADMIN,	h_media_delete_before },
	{ MM_DELETE,	A1 "/media/{serverName}/{mediaId}",	MAUTH_ADMIN,	h_media_delete },
	{ MM_POST,	A1 "/purge_media_cache",		MAUTH_ADMIN,	h_purge_media_cache },
	/* registration tokens */
	{ MM_GET,	A1 "/registration_tokens",		MAUTH_ADMIN,	h_regtokens_list },
	{ MM_POST,	A1 "/registration_tokens/new",		MAUTH_ADMIN,	h_regtoken_new },
	{ MM_GET,	A1 "/registration_tokens/{token}",	MAUTH_ADMIN,	h_regtoken_get },
	{ MM_PUT,	A1 "/registration_tokens/{token}",	MAUTH_ADMIN,	h_regtoken_put },
	{ MM_DELETE,	A1 "/registration_tokens/{token}",	MAUTH_ADMIN,	h_regtoken_delete },
	/* event reports */
	{ MM_GET,	A1 "/event_reports",			MAUTH_ADMIN,	h_reports_list },
	{ MM_GET,	A1 "/event_reports/{reportId}",		MAUTH_ADMIN,	h_report_get },
	{ MM_DELETE,	A1 "/event_reports/{reportId}",		MAUTH_ADMIN,	h_report_delete },
};

static const char *const locations[] = {
	"/_synapse/admin/",
};

/* Synapse reads no body here, or allows an empty one: null, {} or none. */
static const mhandler body_optional[] = {
	h_user_deactivate, h_user_login, h_user_shadow_ban, h_user_shadow_unban,
	h_regtoken_delete, h_report_delete, h_user_media_delete, h_media_delete,
	h_media_delete_before, h_media_quarantine, h_media_unquarantine, h_purge_media_cache,
	h_regtoken_delete, h_report_delete, h_user_ratelimit_set, h_user_ratelimit_delete,
};

/* The key signs the leave events of deactivations and room shutdowns. */
static const struct mapp app = {
	.name = "admin",
	.routes = routes,
	.routesz = sizeof(routes) / sizeof(routes[0]),
	.locations = locations,
	.locationsz = sizeof(locations) / sizeof(locations[0]),
	.needs_key = 1,
	.body_optional = body_optional,
	.body_optionalsz = sizeof(body_optional) / sizeof(body_optional[0]),
	.sandbox = MSANDBOX_NET | MSANDBOX_MEDIA,
};

int
main(int argc, char *argv[])
{
	return mfcgi_main(&app, argc, argv);
}
