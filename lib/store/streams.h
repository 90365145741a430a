/*
 * Every stream a sync follows, in one table: the enum lib/notify bumps,
 * the order of a sync token and where the store keeps the position all
 * come from it, so that adding a stream is one line here.
 */
#ifndef MYELIN_STORE_STREAMS_H
#define MYELIN_STORE_STREAMS_H

/*
 * X(id, slot, row): MSTREAM_<id> is the stream's number in the notify
 * segment and its NOTIFY payload (the table's order: never reorder, a
 * segment and other hosts outlive a build); slot its place in a sync
 * token (never change one: tokens survive restarts, see handlers/sync);
 * row its row in ephemeral_streams, NULL where the position is kept
 * elsewhere (events_position, receipts_position) or not yet at all.
 */
#define MSTREAM_TABLE(X)				\
	X(EVENTS,	0, NULL)			\
	X(TYPING,	1, "typing")			\
	X(RECEIPTS,	2, NULL)			\
	X(TODEVICE,	5, "to_device")		\
	X(ACCOUNT_DATA,	3, "account_data")		\
	X(DEVICE_LISTS,	6, "device_lists")		\
	X(PRESENCE,	4, "presence")

enum mstream {
#define MSTREAM_ENUM(id, slot, row) MSTREAM_##id,
	MSTREAM_TABLE(MSTREAM_ENUM)
#undef MSTREAM_ENUM
	MSTREAM__MAX
};

/* The slots are 0 to MSTREAM__MAX - 1, each once: a token has no gap. */
#define MSTREAM_SLOT_BIT(id, slot, row) | (1u << (slot))
_Static_assert((0u MSTREAM_TABLE(MSTREAM_SLOT_BIT)) == (1u << MSTREAM__MAX) - 1,
    "MSTREAM_TABLE: token slots must be 0..MSTREAM__MAX-1, each once");
#undef MSTREAM_SLOT_BIT

#endif
