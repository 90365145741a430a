/* Statements on stored filters (POST /user/{userId}/filter; see stmts.h). */
#ifndef MYELIN_STORE_STMTS_FILTER_H
#define MYELIN_STORE_STMTS_FILTER_H

#define MSTMT_TABLE_FILTER \
	/* A user's filter with this canonical JSON, to hand out its ID again. */ \
	X(MSTMT_FILTER_FIND, "SELECT filter_id FROM filters WHERE user_id = $1 AND json = $2") \
	/* \
	 * The user's next filter ID, from 0 as Synapse counts; two adds at \
	 * once collide on the key and the loser tries again. \
	 */ \
	X(MSTMT_FILTER_ADD, "INSERT INTO filters (user_id, filter_id, json)" \
	    " SELECT $1, COALESCE(MAX(filter_id), -1) + 1, $2 FROM filters WHERE user_id = $1" \
	    " ON CONFLICT DO NOTHING RETURNING filter_id") \
	X(MSTMT_FILTER_GET, "SELECT json FROM filters WHERE user_id = $1 AND filter_id = $2")

#endif
