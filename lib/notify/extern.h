/* Shared internals of lib/notify. */
#ifndef MYELIN_NOTIFY_EXTERN_H
#define MYELIN_NOTIFY_EXTERN_H

#include "notify/notify.h"

struct mnotify_pg;

/* Bumps this host's segment only. */
void			 mnotify_bump_local(struct mnotify *, enum mstream);
struct mnotify_pg	*mnotify_pg_start(struct mnotify *, const char *conninfo,
			    const char *segment);
void			 mnotify_pg_send(struct mnotify_pg *, enum mstream);
void			 mnotify_pg_stop(struct mnotify_pg *);

#endif
