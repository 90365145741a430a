/* Application services: events queued in their transaction, transactions pushed, queries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "appsvc/appsvc.h"
#include "clock/clock.h"
#include "config/config.h"
#include "http/http.h"
#include "json/json.h"
#include "log/log.h"
#include "room/room.h"
#include "store/store.h"

/* Events per transaction (Synapse sends up to 100). */
#define TXN_MAX		100
#define CALL_TIMEOUT_MS	20000

/* What one event's checks read once for every service. */
struct seen {
	json_t	*aliases;	/* the room's aliases, once read */
	json_t	*members;	/* its local members, once read */
	int	 err;
};

static int
any_match(const struct mappsvc *as, enum mappsvc_ns ns, const json_t *list)
{
	const json_t	*v;
	size_t		 i;

	json_array_foreach(list, i, v)
		if (ns == MAPPSVC_USERS ? mappsvc_user_ok(as, json_string_value(v)) :
		    mappsvc_match(as, ns, json_string_value(v), 0))
			return 1;
	return 0;
}

/*
 * Spec: Application Service API, "Registration": a service is sent the
 * events of its namespaces: sent by or about (a member event's
 * state_key) one of its users, in one of its rooms, or in a room with
 * one of its aliases; and, as Synapse does, in a room where one of its
 * users is a member.
 */
static int
interested(struct mdb *db, const struct mconfig *c, const struct mappsvc *as,
    const json_t *ev, const char *room_id, struct seen *s)
{
	const char *type = mjson_str(ev, "type");

	if (mappsvc_user_ok(as, mjson_str(ev, "sender")) ||
	    (type != NULL && strcmp(type, "m.room.member") == 0 &&
	    mjson_str(ev, "state_key") != NULL && mappsvc_user_ok(as, mjson_str(ev, "state_key"))) ||
	    mappsvc_match(as, MAPPSVC_ROOMS, room_id, 0))
		return 1;
	if (as->nssz[MAPPSVC_ALIASES] > 0) {
		if (s->aliases == NULL && (s->aliases = mstore_alias_list(db, room_id)) == NULL) {
			s->err = 1;
			return 0;
		}
		if (any_match(as, MAPPSVC_ALIASES, s->aliases))
			return 1;
	}
	if (s->members == NULL &&
	    (s->members = mstore_room_local_members(db, c->server_name, room_id)) == NULL) {
		s->err = 1;
		return 0;
	}
	return any_match(as, MAPPSVC_USERS, s->members);
}

int
mappsvc_event_queue(struct mdb *db, const struct mconfig *c, const json_t *ev,
    const char *event_id, const char *room_id)
{
	struct seen	 s = { NULL, NULL, 0 };
	int		 rc = 0;

	for (size_t i = 0; c != NULL && i < c->appservicesz && rc == 0; i++) {
		const struct mappsvc *as = &c->appservices[i];

		if (as->url == NULL)
			continue;
		if (interested(db, c, as, ev, room_id, &s) &&
		    mstore_outbox_put(db, MAPPSVC_OUTBOX, as->id, event_id, NULL,
		    mclock_now_ms()) == -1)
			rc = -1;
		if (s.err)
			rc = -1;
	}
	json_decref(s.aliases);
	json_decref(s.members);
	return rc;
}

long
mappsvc_call(const struct mconfig *c, const struct mappsvc *as, const char *method,
    const char *path, const json_t *body, json_t **out, char *err, size_t errsz)
{
	struct mhttp_req	 r;
	struct mhttp_allow	 allow;
	char			*url = NULL, *auth = NULL, *js = NULL, *tok = NULL;
	const char		*hdrs[1];
	size_t			 ul;
	long			 status = 0;
	int			 legacy;

	*out = NULL;
	err[0] = '\0';
	if (as->url == NULL) {
		snprintf(err, errsz, "no url");
		return 0;
	}
	/*
	 * The URL is the server admin's, written in the registration: it
	 * may be anywhere, loopback and private networks included.
	 */
	memset(&allow, 0, sizeof(allow));
	mhttp_allow_parse("0.0.0.0/0 ::/0", &allow);
	ul = strlen(as->url);
	/*
	 * Third-party lookups pass the client's query on as it is: there the
	 * token goes in the header alone, as the spec has it since v1.4.
	 */
	legacy = strncmp(path, "/_matrix/app/v1/thirdparty/", 27) != 0;
	if ((tok = curl_easy_escape(NULL, as->hs_token, 0)) == NULL ||
	    asprintf(&url, "%.*s%s%s%s%s", (int)(ul > 0 && as->url[ul - 1] == '/' ?
	    ul - 1 : ul), as->url, path, !legacy ? "" : strchr(path, '?') != NULL ? "&" : "?",
	    legacy ? "access_token=" : "", legacy ? tok : "") == -1 ||
	    asprintf(&auth, "Authorization: Bearer %s", as->hs_token) == -1 ||
	    (body != NULL && (js = json_dumps(body, JSON_COMPACT)) == NULL)) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	memset(&r, 0, sizeof(r));
	r.method = method;
	r.url = url;
	/* lib/http says Content-Type: application/json for a body. */
	hdrs[0] = auth;
	r.headers = hdrs;
	r.headersz = 1;
	r.body = js;
	r.bodysz = js != NULL ? strlen(js) : 0;
	r.ca_file = c->appservice_ca_file;
	r.allow = &allow;
	r.timeout_ms = CALL_TIMEOUT_MS;
	if (mhttp_perform(&r) == -1)
		snprintf(err, errsz, "%s", r.err);
	else {
		status = r.status;
		/* Third-party lookups answer arrays. */
		if (r.resp != NULL)
			*out = json_loadb(r.resp, r.respsz, JSON_REJECT_DUPLICATES, NULL);
	}
	mhttp_req_fini(&r);
out:
	if (url != NULL)
		explicit_bzero(url, strlen(url));
	if (auth != NULL)
		explicit_bzero(auth, strlen(auth));
	free(url);
	free(auth);
	free(js);
	curl_free(tok);
	return status;
}

int
mappsvc_ephemeral_queue(struct mdb *db, const struct mconfig *c, const char *room_id,
    const json_t *edu)
{
	struct seen	 s = { NULL, NULL, 0 };
	char		*js = NULL;
	int		 rc = 0;

	for (size_t i = 0; c != NULL && i < c->appservicesz && rc == 0; i++) {
		const struct mappsvc *as = &c->appservices[i];

		if (as->url == NULL || !as->receive_ephemeral ||
		    !interested(db, c, as, edu, room_id, &s)) {
			if (s.err)
				rc = -1;
			continue;
		}
		if ((js == NULL && (js = json_dumps(edu, JSON_COMPACT)) == NULL) ||
		    mstore_outbox_put(db, MAPPSVC_OUTBOX, as->id, NULL, js, mclock_now_ms()) == -1)
			rc = -1;
	}
	free(js);
	json_decref(s.aliases);
	json_decref(s.members);
	return rc;
}

/* Queues payload p (an object, as JSON) for as.  0 or -1. */
static int
queue_json(struct mdb *db, const struct mappsvc *as, const json_t *p)
{
	char	*js;
	int	 rc;

	if ((js = json_dumps(p, JSON_COMPACT)) == NULL)
		return -1;
	rc = mstore_outbox_put(db, MAPPSVC_OUTBOX, as->id, NULL, js, mclock_now_ms());
	free(js);
	return rc;
}

/* The to-device messages of devs ({device_id or "*": content}) for user_id, for as. */
static int
todevice_user(struct mdb *db, const struct mappsvc *as, const char *sender, const char *type,
    const char *user_id, const json_t *devs)
{
	struct mdevice	*v = NULL;
	const char	*device_id;
	json_t		*content, *m;
	size_t		 n = 0;
	int		 rc = 0;

	if (mstore_device_list(db, user_id, &v, &n) == -1)
		return -1;
	json_object_foreach((json_t *)devs, device_id, content)
		for (size_t i = 0; i < n && rc == 0; i++) {
			/* As delivery to devices: "*" is each, a device unknown gets nothing. */
			if (strcmp(device_id, "*") != 0 && strcmp(device_id, v[i].device_id) != 0)
				continue;
			if ((m = json_pack("{s:s,s:s,s:s,s:s,s:O}", "to_user_id", user_id,
			    "to_device_id", v[i].device_id, "type", type, "sender", sender,
			    "content", content)) == NULL || queue_json(db, as, m) == -1)
				rc = -1;
			json_decref(m);
		}
	mdevice_list_free(v, n);
	return rc;
}

int
mappsvc_todevice_queue(struct mdb *db, const struct mconfig *c, const char *sender,
    const char *type, const json_t *messages)
{
	const char	*user_id;
	json_t		*devs;

	for (size_t i = 0; c != NULL && i < c->appservicesz; i++) {
		const struct mappsvc *as = &c->appservices[i];

		if (as->url == NULL || !as->receive_ephemeral)
			continue;
		json_object_foreach((json_t *)messages, user_id, devs)
			if (mappsvc_user_ok(as, user_id) &&
			    todevice_user(db, as, sender, type, user_id, devs) == -1)
				return -1;
	}
	return 0;
}

int
mappsvc_presence_queue(struct mdb *db, const struct mconfig *c, const char *user_id,
    const json_t *edu)
{
	json_t		*rooms = NULL, *room;
	size_t		 j;
	int		 rc = 0, want;

	for (size_t i = 0; c != NULL && i < c->appservicesz && rc == 0; i++) {
		const struct mappsvc *as = &c->appservices[i];

		if (as->url == NULL || !as->receive_ephemeral)
			continue;
		/* Synapse: its own users', and those of anyone in a room of its interest. */
		if (!(want = mappsvc_user_ok(as, user_id))) {
			if (rooms == NULL &&
			    (rooms = mstore_user_rooms(db, user_id, "join")) == NULL) {
				rc = -1;
				break;
			}
			json_array_foreach(rooms, j, room) {
				struct seen s = { NULL, NULL, 0 };

				want = interested(db, c, as, edu, json_string_value(room), &s);
				json_decref(s.aliases);
				json_decref(s.members);
				if (s.err)
					rc = -1;
				if (want || rc == -1)
					break;
			}
		}
		if (want && rc == 0 && queue_json(db, as, edu) == -1)
			rc = -1;
	}
	json_decref(rooms);
	return rc;
}

/*
 * A row's payload: NULL (an event, named by ref) or an ephemeral event's
 * JSON, once sent preceded by "TXNID\n".  The mark's length (0: none).
 */
static size_t
mark_len(const char *payload)
{
	const char *nl;

	if (payload == NULL || payload[0] == '{' || (nl = strchr(payload, '\n')) == NULL)
		return 0;
	return (size_t)(nl - payload);
}

/* Rows rows[0..n) that go in one transaction: those of the head's recorded one. */
size_t
mappsvc_take(void *arg, const struct moutbox_row *rows, size_t n)
{
	size_t	 k, m;

	(void)arg;
	if (n == 0 || (m = mark_len(rows[0].payload)) == 0)
		return n;
	for (k = 1; k < n && mark_len(rows[k].payload) == m &&
	    strncmp(rows[k].payload, rows[0].payload, m + 1) == 0; k++)
		;
	return k;
}

enum moutbox_res
mappsvc_deliver(void *arg, struct mdb *db, const char *destination,
    const struct moutbox_row *rows, size_t n)
{
	const struct mappsvc_sender	*snd = arg;
	const struct mappsvc		*as = mappsvc_by_id(snd->conf, destination);
	json_t				*events = NULL, *body = NULL, *ans = NULL, *eph = NULL;
	json_t				*todev = NULL;
	char				*txn = NULL, *mark = NULL, path[128], err[256];
	size_t				 ml;
	enum moutbox_res		 res = MOUTBOX_RETRY;
	int64_t				 now = mclock_now_ms();
	long				 status;

	if (as == NULL || as->url == NULL) {
		mlog_warn(NULL, "appservice %s: no longer registered: %zu events dropped",
		    destination, n);
		return MOUTBOX_GONE;
	}
	/*
	 * The transaction's ID is its last row's, recorded in its rows
	 * before it is first sent: a retry sends the same events under the
	 * same ID, which the service may recognise (spec: txnId).
	 */
	if ((ml = mark_len(rows[0].payload)) > 0)
		txn = strndup(rows[0].payload, ml);
	else if (asprintf(&txn, "%lld", (long long)rows[n - 1].id) == -1)
		txn = NULL;
	else if (asprintf(&mark, "%s\n", txn) == -1 ||
	    mstore_outbox_mark(db, MAPPSVC_OUTBOX, destination, rows[0].id,
	    rows[n - 1].id, mark) == -1) {
		free(mark);
		free(txn);
		return MOUTBOX_RETRY;
	}
	free(mark);
	if (txn == NULL || (events = json_array()) == NULL || (eph = json_array()) == NULL ||
	    (todev = json_array()) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct mevrow	 e;
		json_t		*ce;
		int		 rc;

		if (rows[i].ref == NULL) {
			/* MSC2409: an ephemeral event, as queued. */
			const char *p = rows[i].payload;
			json_t *j;

			if (p == NULL)
				continue;
			if ((ml = mark_len(p)) > 0)
				p += ml + 1;
			/* MSC4203: a to-device message names its recipient. */
			if ((j = json_loads(p, 0, NULL)) != NULL)
				json_array_append_new(json_object_get(j, "to_user_id") != NULL ?
				    todev : eph, j);
			continue;
		}
		if ((rc = mstore_event_get(db, rows[i].ref, &e)) == -1)
			goto out;
		if (rc == 0)
			continue;	/* purged since */
		ce = mroom_client_event(&e, now, NULL, NULL);
		mevrow_fini(&e);
		if (ce == NULL)
			goto out;
		json_array_append_new(events, ce);
	}
	if ((body = json_pack("{s:O}", "events", events)) == NULL)
		goto out;
	/* The stable name and MSC2409's, which bridges of today read. */
	if (json_array_size(eph) > 0) {
		json_object_set(body, "ephemeral", eph);
		json_object_set(body, "de.sorunome.msc2409.ephemeral", eph);
	}
	/* MSC4203's name and its unstable one, Synapse 1.67's. */
	if (json_array_size(todev) > 0) {
		json_object_set(body, "to_device", todev);
		json_object_set(body, "de.sorunome.msc2409.to_device", todev);
	}
	snprintf(path, sizeof(path), "/_matrix/app/v1/transactions/%s", txn);
	status = mappsvc_call(snd->conf, as, "PUT", path, body, &ans, err, sizeof(err));
	if (status >= 200 && status < 300) {
		mlog_debug(NULL, "appservice %s: transaction %s: %zu events", as->id, txn, n);
		res = MOUTBOX_DONE;
	} else if (status == 0)
		mlog_warn(NULL, "appservice %s: transaction %s: %s", as->id, txn, err);
	else
		mlog_warn(NULL, "appservice %s: transaction %s: HTTP %ld", as->id, txn, status);
out:
	json_decref(ans);
	json_decref(body);
	json_decref(events);
	json_decref(eph);
	json_decref(todev);
	free(txn);
	return res;
}

int
mappsvc_query(const struct mconfig *c, enum mappsvc_ns ns, const char *s)
{
	char	*esc, *path = NULL, err[256];
	json_t	*ans;
	int	 found = 0;

	if (ns != MAPPSVC_USERS && ns != MAPPSVC_ALIASES)
		return 0;
	if ((esc = curl_easy_escape(NULL, s, 0)) == NULL)
		return 0;
	if (asprintf(&path, "/_matrix/app/v1/%s/%s", ns == MAPPSVC_USERS ? "users" : "rooms",
	    esc) == -1)
		path = NULL;
	curl_free(esc);
	for (size_t i = 0; path != NULL && i < c->appservicesz && !found; i++) {
		const struct mappsvc *as = &c->appservices[i];

		if (as->url == NULL || !mappsvc_match(as, ns, s, 0))
			continue;
		if (mappsvc_call(c, as, "GET", path, NULL, &ans, err, sizeof(err)) == 200)
			found = 1;
		json_decref(ans);
	}
	free(path);
	return found;
}
