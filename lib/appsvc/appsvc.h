/* Application services (bridges): registrations, namespaces, transactions, queries. */
#ifndef MYELIN_APPSVC_H
#define MYELIN_APPSVC_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "outbox/outbox.h"

struct mconfig;
struct mdb;

/* The outbox kind of transactions; its destinations are service IDs. */
#define MAPPSVC_OUTBOX	"appservice"

/* Spec: Application Service API, "Registration": the three namespaces. */
enum mappsvc_ns { MAPPSVC_USERS, MAPPSVC_ALIASES, MAPPSVC_ROOMS, MAPPSVC__NS };

struct mappsvc_regex {
	char		*source;	/* as written */
	regex_t		 re;		/* POSIX ERE, anchored at the start as Synapse's re.match */
	int		 exclusive;
};

/* One registration file, as bridges write them (Synapse's format). */
struct mappsvc {
	char			*file;
	char			*id;
	char			*url;		/* NULL: the service takes no transactions */
	char			*as_token;
	char			*hs_token;
	char			*sender_localpart;
	char			*sender;	/* @sender_localpart:server_name */
	struct mappsvc_regex	*ns[MAPPSVC__NS];
	size_t			 nssz[MAPPSVC__NS];
	int			 rate_limited;
	char			**protocols;
	size_t			 protocolsz;
	int			 receive_ephemeral;	/* MSC2409 */
};

/*
 * Reads the registration file path for server_name into as.  0, or -1
 * with one line in err ("file: key: why").
 */
int	mappsvc_load(const char *path, const char *server_name, struct mappsvc *as,
	    char *err, size_t errsz);
void	mappsvc_fini(struct mappsvc *);

/* The service whose as_token token is (compared in constant time), or NULL. */
const struct mappsvc *mappsvc_by_token(const struct mconfig *, const char *token);
const struct mappsvc *mappsvc_by_id(const struct mconfig *, const char *id);
/* 1 when s is in namespace ns of as (exclusive only: only its exclusive regexes). */
int	mappsvc_match(const struct mappsvc *, enum mappsvc_ns ns, const char *s, int exclusive);
/* 1 when as may act as user_id: its sender or a user of its namespace. */
int	mappsvc_user_ok(const struct mappsvc *, const char *user_id);
/* The service other than except that holds s exclusively in ns, or NULL. */
const struct mappsvc *mappsvc_exclusive(const struct mconfig *, enum mappsvc_ns ns,
	    const char *s, const struct mappsvc *except);
/* 1 when as names protocol. */
int	mappsvc_has_protocol(const struct mappsvc *, const char *protocol);

/*
 * Creates the sender user of every service that has none yet (the
 * services' own users need no registration).  0 or -1.
 */
int	mappsvc_senders_ensure(struct mdb *, const struct mconfig *);

/*
 * The persist hook: queues event ev (event_id in room_id, written in
 * the caller's transaction) for each service with a URL interested in
 * it (spec: "Server admin style permissions"/namespaces: its sender or
 * state_key, a member of the room, the room ID, an alias of the room).
 * 0 or -1.
 */
int	mappsvc_event_queue(struct mdb *, const struct mconfig *, const json_t *ev,
	    const char *event_id, const char *room_id);

/*
 * MSC2409: queues ephemeral event edu (m.receipt, m.typing) of room_id
 * for each service with a URL that asked for them (receive_ephemeral)
 * and is interested in the room, in the caller's transaction if any.
 * 0 or -1.
 */
int	mappsvc_ephemeral_queue(struct mdb *, const struct mconfig *, const char *room_id,
	    const json_t *edu);

/*
 * MSC4203 (MSC2409's to-device part): queues a copy of each to-device
 * message of messages ({user_id: {device_id or "*": content}}, the
 * local recipients of a send from sender) for each service with a URL
 * that asked for ephemeral events and whose user namespace (or sender)
 * holds the recipient, once per existing device with to_user_id and
 * to_device_id, in the caller's transaction.  The devices' own copies
 * stay for their syncs.  0 or -1.
 */
int	mappsvc_todevice_queue(struct mdb *, const struct mconfig *, const char *sender,
	    const char *type, const json_t *messages);
/*
 * MSC2409: queues m.presence event edu of local user_id for each
 * service with a URL that asked for ephemeral events and is interested
 * in the user (its namespace, or a room of its interest where the user
 * is joined, as Synapse).  0 or -1.
 */
int	mappsvc_presence_queue(struct mdb *, const struct mconfig *, const char *user_id,
	    const json_t *edu);

/* What the daemon's kind needs (myelin-pusher). */
struct mappsvc_sender {
	const struct mconfig	*conf;
	long			 timeout_ms;
};
/*
 * moutbox_kind.deliver of MAPPSVC_OUTBOX: PUT /_matrix/app/v1/
 * transactions/{txnId} of the rows' events.  A transaction's ID and rows
 * are recorded before it is first sent, so a retry sends the same
 * transaction again, never a new one with the same events.
 */
/* moutbox_kind.take of MAPPSVC_OUTBOX: the rows of the transaction at the head. */
size_t	mappsvc_take(void *arg, const struct moutbox_row *rows, size_t n);
enum moutbox_res mappsvc_deliver(void *arg, struct mdb *, const char *destination,
	    const struct moutbox_row *rows, size_t n);

/*
 * A request to a service: method, path under its url (already
 * escaped), body or NULL.  With the hs_token as Bearer header and, but
 * for third-party lookups, as ?access_token= (the legacy way).  Returns the HTTP status (0: no
 * answer, with why in err) and the answer's JSON in *out (may be NULL).
 */
long	mappsvc_call(const struct mconfig *, const struct mappsvc *, const char *method,
	    const char *path, const json_t *body, json_t **out, char *err, size_t errsz);
/*
 * Spec: GET /_matrix/app/v1/users/{userId} (ns MAPPSVC_USERS) or
 * /rooms/{roomAlias} (MAPPSVC_ALIASES) of the services that hold s
 * exclusively or not: 1 when one answered 200 (it created it), else 0.
 */
int	mappsvc_query(const struct mconfig *, enum mappsvc_ns ns, const char *s);

#endif
