/*
 * myelin-client beside a running Synapse (docs/beside-synapse.md): the
 * read-only client endpoints where serving from Synapse's tables is
 * safe, with Synapse's access tokens.  Nothing is written to Synapse's
 * database.  Chosen by synapse_database in the config; each endpoint is
 * its own route group, so that a sysadmin gives nginx exactly the ones
 * wanted (myelin-stack nginx-layout --groups profile,...).
 *
 * Answered as Synapse 1.67 answers with its default configuration
 * (its homeserver.yaml is not read): require_auth_for_profile_requests
 * and limit_profile_requests_to_users_who_share_rooms off,
 * allow_public_rooms_without_auth off, enable_room_list_search on.
 *
 * What needs another server (a remote user's profile, a remote alias,
 * another server's directory) is Synapse's: the answer is an
 * X-Accel-Redirect to the layout's @synapse location, where nginx
 * passes the request on to Synapse as it came.
 */
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "fed/fed.h"
#include "log/log.h"
#include "store/store.h"

#define C "/_matrix/client/v3"
#define ELSEWHERE "@synapse"

/* Hands the request to Synapse through nginx (the layout's ELSEWHERE). */
static int
to_synapse(struct mreq *req, const char *why)
{
	mlog_info(req->id, "%s: passed to Synapse", why);
	if (mfcgi_header(req, "X-Accel-Redirect", "%s", ELSEWHERE) == -1)
		return -1;
	return mfcgi_reply_empty(req, 200);
}

/*
 * An identifier as Synapse's is_valid takes it: the sigil, then a
 * localpart (anything, as Synapse 1.67 accepts) up to the first colon,
 * then a valid server name.  The server name, or NULL.
 */
static const char *
id_server(const char *id, char sigil)
{
	const char		*colon;
	struct mfed_name	 n;

	if (id[0] != sigil || (colon = strchr(id, ':')) == NULL ||
	    mfed_name_parse(colon + 1, &n) == -1)
		return NULL;
	return colon + 1;
}

enum field { F_ALL, F_DISPLAYNAME, F_AVATAR };

/*
 * Spec: C-S API, GET /profile/{userId}[/displayname|/avatar_url], as
 * Synapse's ProfileRestServlet: 400 M_INVALID_PARAM for an ID that is
 * none, 404 M_NOT_FOUND without a profiles row; unset fields are
 * omitted.  A remote user's is asked over federation by Synapse.
 */
static int
syn_profile(struct mreq *req, enum field f)
{
	const char	*user = req->params[0], *server = id_server(user, '@');
	char		*local, *dn, *av;
	json_t		*out;
	int		 rc;

	if (server == NULL)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid user id");
	if (strcmp(server, req->conf->server_name) != 0)
		return to_synapse(req, "profile of a remote user");
	if ((local = strndup(user + 1, (size_t)(server - 1 - (user + 1)))) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
	rc = msyn_profile_get(req->db, local, &dn, &av);
	free(local);
	if (rc == -1)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: cannot read profiles", __func__);
	if (rc == 0)
		return mfcgi_fail(req, MERR_NOT_FOUND, "Profile was not found");
	out = json_object();
	if (dn != NULL && f != F_AVATAR)
		json_object_set_new(out, "displayname", json_string(dn));
	if (av != NULL && f != F_DISPLAYNAME)
		json_object_set_new(out, "avatar_url", json_string(av));
	free(dn);
	free(av);
	return mfcgi_reply(req, 200, out);
}

static int
h_syn_profile(struct mreq *req)
{
	return syn_profile(req, F_ALL);
}

static int
h_syn_displayname(struct mreq *req)
{
	return syn_profile(req, F_DISPLAYNAME);
}

static int
h_syn_avatar(struct mreq *req)
{
	return syn_profile(req, F_AVATAR);
}

/* Appends s to the array a unless it is there. */
static void
add_server(json_t *a, const char *s)
{
	size_t	 i;
	json_t	*v;

	json_array_foreach(a, i, v)
		if (strcmp(json_string_value(v), s) == 0)
			return;
	json_array_append_new(a, json_string(s));
}

/*
 * Spec: C-S API, GET /directory/room/{roomAlias}, as Synapse's
 * DirectoryHandler.get_association for a local alias: room_aliases
 * with its room_alias_servers (neither: 404 M_NOT_FOUND), and the
 * servers of the room's joined members, this server first.  An alias
 * of another server is Synapse's (a federation query).  Aliases that
 * application services would answer for are not asked of them.
 */
static int
h_syn_alias(struct mreq *req)
{
	const char	*alias = req->params[0], *server = id_server(alias, '#');
	char		*room_id = NULL;
	json_t		*listed = NULL, *joined = NULL, *servers, *v;
	size_t		 i;
	int		 rc;

	if (server == NULL)
		return mfcgi_fail(req, MERR_INVALID_PARAM, "Room alias invalid");
	if (strcmp(server, req->conf->server_name) != 0)
		return to_synapse(req, "remote alias");
	if ((rc = msyn_alias_get(req->db, alias, &room_id, &listed)) == 1 &&
	    (joined = msyn_room_joined(req->db, room_id)) == NULL)
		rc = -1;
	if (rc == -1) {
		rc = mfcgi_fail(req, MERR_INTERNAL, "%s: cannot read the aliases", __func__);
		goto out;
	}
	if (rc == 0 || json_array_size(listed) == 0) {
		rc = mfcgi_fail(req, MERR_NOT_FOUND, "Room alias %s not found", alias);
		goto out;
	}
	if ((servers = json_array()) == NULL) {
		rc = mfcgi_fail(req, MERR_INTERNAL, "%s: out of memory", __func__);
		goto out;
	}
	json_array_foreach(joined, i, v) {
		const char *colon = strchr(json_string_value(v), ':');

		if (colon != NULL && strcmp(colon + 1, req->conf->server_name) == 0)
			add_server(servers, req->conf->server_name);
	}
	json_array_foreach(listed, i, v)
		if (strcmp(json_string_value(v), req->conf->server_name) == 0)
			add_server(servers, req->conf->server_name);
	json_array_foreach(joined, i, v) {
		const char *colon = strchr(json_string_value(v), ':');

		if (colon != NULL)
			add_server(servers, colon + 1);
	}
	json_array_foreach(listed, i, v)
		add_server(servers, json_string_value(v));
	rc = mfcgi_reply(req, 200, json_pack("{s:s,s:o}", "room_id", room_id, "servers",
	    servers));
out:
	free(room_id);
	json_decref(listed);
	json_decref(joined);
	return rc;
}

/*
 * Spec: C-S API, GET /publicRooms (limit, since, server), as Synapse's
 * PublicRoomListRestServlet with allow_public_rooms_without_auth off:
 * a Synapse token is needed (guests' too).  The list is Synapse's
 * (msyn_public_rooms), paged as myelin's own /publicRooms pages (its
 * since tokens, which Synapse's own do not mix with).  Another
 * server's directory is Synapse's to fetch.
 */
static int
h_syn_public_rooms(struct mreq *req)
{
	char	*since = NULL, *server = mreq_query(req, "server");
	json_t	*out;
	int64_t	 limit;
	int	 bad;

	if (server != NULL && strcmp(server, req->conf->server_name) != 0) {
		free(server);
		return to_synapse(req, "another server's directory");
	}
	free(server);
	if (mfcgi_syn_auth(req) == -1 ||
	    mreq_query_int(req, "limit", 0, 0, INT64_MAX, &limit) == -1)
		return -1;
	since = mreq_query(req, "since");
	out = mstore_public_rooms_page(msyn_public_rooms(req->db), limit, since, &bad);
	free(since);
	if (out == NULL)
		return bad ? mfcgi_fail(req, MERR_INVALID_PARAM, "Invalid since token") :
		    mfcgi_fail(req, MERR_INTERNAL, "%s: cannot read the room list", __func__);
	return mfcgi_reply(req, 200, out);
}

/* Spec: C-S API, GET /joined_rooms, with a Synapse token (guests' too, as Synapse). */
static int
h_syn_joined_rooms(struct mreq *req)
{
	json_t *rooms;

	if (mfcgi_syn_auth(req) == -1)
		return -1;
	if ((rooms = msyn_joined_rooms(req->db, req->auth.user_id)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: cannot read memberships", __func__);
	return mfcgi_reply(req, 200, json_pack("{s:o}", "joined_rooms", rooms));
}

/*
 * nginx locations come from this table (mfcgi_nginx), group by group:
 * nothing else is ours.  The tokens are Synapse's (mfcgi_syn_auth), so
 * every route is MAUTH_NONE to the loop.
 */
static const struct mroute syn_routes[] = {
	{ MM_GET,	C "/profile/{userId}",		MAUTH_NONE,	h_syn_profile },
	{ MM_GET,	C "/profile/{userId}/displayname", MAUTH_NONE,	h_syn_displayname },
	{ MM_GET,	C "/profile/{userId}/avatar_url", MAUTH_NONE,	h_syn_avatar },
	{ MM_GET,	C "/directory/room/{roomAlias}", MAUTH_NONE,	h_syn_alias },
	{ MM_GET,	C "/publicRooms",		MAUTH_NONE,	h_syn_public_rooms },
	{ MM_GET,	C "/joined_rooms",		MAUTH_NONE,	h_syn_joined_rooms },
};

static const mhandler g_profile[] = { h_syn_profile, h_syn_displayname, h_syn_avatar };
static const mhandler g_alias[] = { h_syn_alias };
static const mhandler g_public[] = { h_syn_public_rooms };
static const mhandler g_joined[] = { h_syn_joined_rooms };

#define GROUP(name, v)	{ (name), (v), sizeof(v) / sizeof((v)[0]) }

static const struct mroute_group syn_groups[] = {
	GROUP("profile", g_profile),
	GROUP("alias", g_alias),
	GROUP("public-rooms", g_public),
	GROUP("joined-rooms", g_joined),
};

static const struct mapp syn_app = {
	.name = "client",
	.routes = syn_routes,
	.routesz = sizeof(syn_routes) / sizeof(syn_routes[0]),
	.db_open = msyn_open,
	.groups = syn_groups,
	.groupsz = sizeof(syn_groups) / sizeof(syn_groups[0]),
	.elsewhere = ELSEWHERE,
};

const struct mapp *
client_synapse_mode(const struct mconfig *conf)
{
	return conf->synapse_database != NULL ? &syn_app : NULL;
}
