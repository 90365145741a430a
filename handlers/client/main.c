/* myelin-client: the route table of the client-server API. */
#include "extern.h"

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
	{ MM_POST,	C "/logout",				MAUTH_USER,	h_logout },
	{ MM_POST,	C "/logout/all",			MAUTH_USER,	h_logout_all },
	{ MM_GET,	C "/account/whoami",			MAUTH_USER,	h_whoami },
	{ MM_POST,	C "/account/password",			MAUTH_USER,	h_password },
	{ MM_POST,	C "/account/deactivate",		MAUTH_USER,	h_deactivate },
	{ MM_GET,	C "/profile/{userId}",			MAUTH_NONE,	h_profile_get },
	{ MM_GET,	C "/profile/{userId}/displayname",	MAUTH_NONE,	h_displayname_get },
	{ MM_PUT,	C "/profile/{userId}/displayname",	MAUTH_USER,	h_displayname_put },
	{ MM_GET,	C "/profile/{userId}/avatar_url",	MAUTH_NONE,	h_avatar_get },
	{ MM_PUT,	C "/profile/{userId}/avatar_url",	MAUTH_USER,	h_avatar_put },
	{ MM_GET,	C "/devices",				MAUTH_USER,	h_devices },
	{ MM_GET,	C "/devices/{deviceId}",		MAUTH_USER,	h_device_get },
	{ MM_PUT,	C "/devices/{deviceId}",		MAUTH_USER,	h_device_put },
	{ MM_DELETE,	C "/devices/{deviceId}",		MAUTH_USER,	h_device_delete },
	{ MM_POST,	C "/delete_devices",			MAUTH_USER,	h_delete_devices },
};

static const char *const locations[] = {
	"/_matrix/client/",
};

static const struct mapp app = {
	"client", routes, sizeof(routes) / sizeof(routes[0]),
	locations, sizeof(locations) / sizeof(locations[0]), 0, client_nginx_extra,
};

int
main(int argc, char *argv[])
{
	return mfcgi_main(&app, argc, argv);
}
