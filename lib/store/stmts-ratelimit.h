/*
 * Statements of the rate limits (lib/ratelimit): one row per bucket,
 * its theoretical arrival time (GCRA), changed by compare-and-swap so
 * that no transaction is needed; and Synapse's per-user overrides.
 */
#ifndef MYELIN_STORE_STMTS_RATELIMIT_H
#define MYELIN_STORE_STMTS_RATELIMIT_H

#define MSTMT_TABLE_RATELIMIT \
	X(MSTMT_RL_GET, "SELECT tat_us FROM ratelimit_buckets WHERE name = $1 AND bucket = $2") \
	X(MSTMT_RL_ADD, "INSERT INTO ratelimit_buckets (name, bucket, tat_us) VALUES ($1, $2, $3)" \
	    " ON CONFLICT (name, bucket) DO NOTHING") \
	X(MSTMT_RL_SWAP, "UPDATE ratelimit_buckets SET tat_us = $4" \
	    " WHERE name = $1 AND bucket = $2 AND tat_us = $3") \
	/* \
	 * The common case in one statement: $3 now, $4 the interval, $5 \
	 * the most the bucket may run ahead of now; no row: the bucket is \
	 * new, or full, and the caller reads it. \
	 */ \
	X(MSTMT_RL_TAKE, "UPDATE ratelimit_buckets SET tat_us =" \
	    " (CASE WHEN tat_us > $3 THEN tat_us ELSE $3 END) + $4" \
	    " WHERE name = $1 AND bucket = $2" \
	    " AND (CASE WHEN tat_us > $3 THEN tat_us ELSE $3 END) + $4 - $3 <= $5") \
	X(MSTMT_RL_DEL_OLD, "DELETE FROM ratelimit_buckets WHERE tat_us < $1") \
	X(MSTMT_RL_OVERRIDE_GET, "SELECT messages_per_second, burst_count" \
	    " FROM ratelimit_override WHERE user_id = $1") \
	X(MSTMT_RL_OVERRIDE_PUT, "INSERT INTO ratelimit_override (user_id, messages_per_second," \
	    " burst_count) VALUES ($1, $2, $3) ON CONFLICT (user_id) DO UPDATE" \
	    " SET messages_per_second = excluded.messages_per_second," \
	    " burst_count = excluded.burst_count") \
	X(MSTMT_RL_OVERRIDE_DEL, "DELETE FROM ratelimit_override WHERE user_id = $1")

#endif
