/* myelin-federation: the federation and key APIs, and its route table. */
#include <stdlib.h>

#include "extern.h"
#include "../media/extern.h"
#include "sandbox/sandbox.h"

#define F1 "/_matrix/federation/v1"
#define F2 "/_matrix/federation/v2"
#define K2 "/_matrix/key/v2"

/*
 * Key requests carry no X-Matrix (MAUTH_NONE): they are how a server
 * gets the keys to check one.  Everything else under /_matrix/federation
 * is signed (MAUTH_SERVER); what is not listed is 404 M_UNRECOGNIZED.
 */
static const struct mroute routes[] = {
	{ MM_GET,	F1 "/version",				MAUTH_NONE,	h_version },
	{ MM_GET,	K2 "/server",				MAUTH_NONE,	h_key_server },
	/* Spec: the key ID segment is deprecated; the answer has every key. */
	{ MM_GET,	K2 "/server/{keyId}",			MAUTH_NONE,	h_key_server },
	{ MM_POST,	K2 "/query",				MAUTH_NONE,	h_key_query_post },
	{ MM_GET,	K2 "/query/{serverName}",		MAUTH_NONE,	h_key_query_get },
	{ MM_GET,	K2 "/query/{serverName}/{keyId}",	MAUTH_NONE,	h_key_query_get },
	{ MM_PUT,	F1 "/send/{txnId}",			MAUTH_SERVER,	h_send },
	{ MM_GET,	F1 "/query/profile",			MAUTH_SERVER,	h_query_profile },
	{ MM_GET,	F1 "/query/directory",			MAUTH_SERVER,	h_query_directory },
	/* Any other query type: 404 M_NOT_FOUND, as Synapse (h_send.c). */
	{ MM_GET,	F1 "/query/{queryType}",		MAUTH_SERVER,	h_query_other },
	{ MM_GET,	F1 "/publicRooms",			MAUTH_SERVER,	h_public_rooms_get },
	{ MM_POST,	F1 "/publicRooms",			MAUTH_SERVER,	h_public_rooms_post },
	{ MM_GET,	F1 "/event/{eventId}",			MAUTH_SERVER,	h_fed_event },
	{ MM_GET,	F1 "/state/{roomId}",			MAUTH_SERVER,	h_fed_state },
	{ MM_GET,	F1 "/state_ids/{roomId}",		MAUTH_SERVER,	h_fed_state_ids },
	{ MM_GET,	F1 "/event_auth/{roomId}/{eventId}",	MAUTH_SERVER,	h_fed_event_auth },
	{ MM_GET,	F1 "/backfill/{roomId}",		MAUTH_SERVER,	h_fed_backfill },
	{ MM_POST,	F1 "/get_missing_events/{roomId}",	MAUTH_SERVER,	h_fed_missing },
	{ MM_GET,	F1 "/hierarchy/{roomId}",		MAUTH_SERVER,	h_fed_hierarchy },
	{ MM_GET,	F1 "/timestamp_to_event/{roomId}",	MAUTH_SERVER,	h_fed_timestamp },
	/* Synapse 1.67 asks and serves it under MSC3030's prefix. */
	{ MM_GET,	"/_matrix/federation/unstable/org.matrix.msc3030/timestamp_to_event/{roomId}",
								MAUTH_SERVER,	h_fed_timestamp },
	{ MM_GET,	F1 "/make_join/{roomId}/{userId}",	MAUTH_SERVER,	h_make_join },
	{ MM_PUT,	F2 "/send_join/{roomId}/{eventId}",	MAUTH_SERVER,	h_send_join },
	{ MM_PUT,	F1 "/send_join/{roomId}/{eventId}",	MAUTH_SERVER,	h_send_join_v1 },
	{ MM_GET,	F1 "/make_leave/{roomId}/{userId}",	MAUTH_SERVER,	h_make_leave },
	{ MM_PUT,	F1 "/send_leave/{roomId}/{eventId}",	MAUTH_SERVER,	h_send_leave_v1 },
	{ MM_PUT,	F2 "/send_leave/{roomId}/{eventId}",	MAUTH_SERVER,	h_send_leave },
	{ MM_GET,	F1 "/user/devices/{userId}",		MAUTH_SERVER,	h_user_devices },
	{ MM_POST,	F1 "/user/keys/query",			MAUTH_SERVER,	h_user_keys_query },
	{ MM_POST,	F1 "/user/keys/claim",			MAUTH_SERVER,	h_user_keys_claim },
	{ MM_GET,	F1 "/media/download/{mediaId}",		MAUTH_SERVER,	h_fed_media_download },
	{ MM_GET,	F1 "/media/thumbnail/{mediaId}",	MAUTH_SERVER,	h_fed_media_thumbnail },
	{ MM_PUT,	F1 "/exchange_third_party_invite/{roomId}", MAUTH_SERVER, h_fed_exchange_3pid },
	{ MM_GET,	F1 "/make_knock/{roomId}/{userId}",	MAUTH_SERVER,	h_make_knock },
	{ MM_PUT,	F1 "/send_knock/{roomId}/{eventId}",	MAUTH_SERVER,	h_send_knock },
	{ MM_PUT,	F1 "/invite/{roomId}/{eventId}",	MAUTH_SERVER,	h_fed_invite_v1 },
	{ MM_PUT,	F2 "/invite/{roomId}/{eventId}",	MAUTH_SERVER,	h_fed_invite },
	/* Called by identity servers, which hold no server keys (h_3pid.c). */
	{ MM_PUT,	F1 "/3pid/onbind",			MAUTH_NONE,	h_3pid_onbind },
	{ MM_POST,	F1 "/3pid/onbind",			MAUTH_NONE,	h_3pid_onbind },
};

static const char *const locations[] = {
	"/_matrix/federation/",
	"/_matrix/key/",
};

static const struct mapp app = {
	.name = "federation",
	.routes = routes,
	.routesz = sizeof(routes) / sizeof(routes[0]),
	.locations = locations,
	.locationsz = sizeof(locations) / sizeof(locations[0]),
	.needs_key = 1,
	.mode = federation_synapse_mode,
	.sandbox = MSANDBOX_NET | MSANDBOX_MEDIA | MSANDBOX_KEY,
};

int
main(int argc, char *argv[])
{
	int rc;

	/* Thumbnails for other servers (h_media.c) are made as myelin-media makes them. */
	media_thumbnailer = thumb_program();
	rc = mfcgi_main(&app, argc, argv);
	free(media_thumbnailer);
	return rc;
}
