/*
 * Delayed events (MSC4140, lib/store/delayed.c): events a client asked
 * to be sent later, kept until the timer daemon sends them, the client
 * cancels, restarts or sends them, or a state event of another user
 * replaces the state a delayed state event would set.
 */
#ifndef MYELIN_STORE_DELAYED_H
#define MYELIN_STORE_DELAYED_H

/* One scheduled event; the strings are malloc'd (mstore_delayed_fini). */
struct mdelayed {
	char	*delay_id;
	char	*user_id;
	char	*device_id;	/* NULL: none */
	char	*room_id;
	char	*type;
	char	*state_key;	/* NULL: a message event */
	char	*content;	/* JSON text */
	int64_t	 delay_ms;
	int64_t	 running_since;
};
void	mstore_delayed_fini(struct mdelayed *);

/* Schedules d (delay_id, user_id... set) due at running_since + delay_ms.  0 or -1. */
int	mstore_delayed_add(struct mdb *, const struct mdelayed *);
/* The number of user_id's scheduled events, or -1. */
int64_t	mstore_delayed_count(struct mdb *, const char *user_id);
/*
 * user_id's scheduled events, soonest first, as the unstable GET
 * answers them: [{delay_id, room_id, type, state_key?, delay,
 * running_since, content}].  A new array, or NULL.
 */
json_t	*mstore_delayed_list(struct mdb *, const char *user_id);
/*
 * user_id's scheduled event delay_id: restarted at now, made due now
 * (send), or deleted (cancel).  1, 0 when it has none of that ID, -1.
 */
int	mstore_delayed_restart(struct mdb *, const char *delay_id, const char *user_id,
	    int64_t now);
int	mstore_delayed_due_now(struct mdb *, const char *delay_id, const char *user_id,
	    int64_t now);
int	mstore_delayed_cancel(struct mdb *, const char *delay_id, const char *user_id);
/* At most limit events due at now, soonest first, into *out (*outsz).  0 or -1. */
int	mstore_delayed_due(struct mdb *, int64_t now, int64_t limit, struct mdelayed **out,
	    size_t *outsz);
/*
 * Takes delay_id for sending, in the caller's transaction: 1 when this
 * caller deleted it (and so sends it), 0 when another did first, -1.
 */
int	mstore_delayed_claim(struct mdb *, const char *delay_id);
/* The earliest due time in *next (0: none).  0 or -1. */
int	mstore_delayed_next(struct mdb *, int64_t *next);
/*
 * A state event of sender replaced (type, state_key) in room_id: the
 * delayed state events of other users for it are cancelled, as Synapse
 * does (their state would overwrite a newer change).  0 or -1.
 */
int	mstore_delayed_cancel_state(struct mdb *, const char *room_id, const char *type,
	    const char *state_key, const char *sender);

#endif
