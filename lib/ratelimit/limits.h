/*
 * The rate limits, as Synapse names them in its config (rc_message,
 * rc_login.address...): one table of config name and Synapse 1.67's
 * default per_second and burst_count.  Included by config/config.h,
 * which holds the values read; lib/ratelimit applies them.
 */
#ifndef MYELIN_RATELIMIT_LIMITS_H
#define MYELIN_RATELIMIT_LIMITS_H

#include <stdint.h>

#define MRC_TABLE \
	X(MRC_MESSAGE, "rc_message", 0.2, 10) \
	X(MRC_REGISTRATION, "rc_registration", 0.17, 3) \
	X(MRC_LOGIN_ADDRESS, "rc_login.address", 0.17, 3) \
	X(MRC_LOGIN_ACCOUNT, "rc_login.account", 0.17, 3) \
	X(MRC_LOGIN_FAILED, "rc_login.failed_attempts", 0.17, 3) \
	X(MRC_JOINS_LOCAL, "rc_joins.local", 0.1, 10) \
	X(MRC_JOINS_REMOTE, "rc_joins.remote", 0.01, 10) \
	X(MRC_INVITES_ROOM, "rc_invites.per_room", 0.3, 10) \
	X(MRC_INVITES_USER, "rc_invites.per_user", 0.003, 5) \
	X(MRC_3PID_VALIDATION, "rc_3pid_validation", 0.003, 5)

enum mrc {
#define X(id, name, ps, burst) id,
	MRC_TABLE
#undef X
	MRC__MAX
};

struct mrc_limit {
	double		 per_second;	/* actions regained per second; > 0 */
	int64_t		 burst_count;	/* actions at once; >= 1 */
};

#endif
