/* Statements of the outbound queue (see stmts.h and lib/outbox). */
#ifndef MYELIN_STORE_STMTS_OUTBOX_H
#define MYELIN_STORE_STMTS_OUTBOX_H

/* A destination with rows waiting. */
#define MOUTBOX_WAITING "EXISTS (SELECT 1 FROM outbox o WHERE o.kind = d.kind" \
	" AND o.destination = d.destination)"

#define MSTMT_TABLE_OUTBOX \
	X(MSTMT_OUTBOX_ADD, "INSERT INTO outbox (kind, destination, ref, payload, created_ts)" \
	    " VALUES ($1, $2, $3, $4, $5)") \
	X(MSTMT_OUTBOX_DEST_ADD, "INSERT INTO outbox_destinations (kind, destination)" \
	    " VALUES ($1, $2) ON CONFLICT DO NOTHING") \
	/* Destinations of kind $1 due at $2, neither backing off nor leased, $3 at most. */ \
	X(MSTMT_OUTBOX_DUE, "SELECT d.destination FROM outbox_destinations d" \
	    " WHERE d.kind = $1 AND d.retry_ts <= $2 AND d.lease_until <= $2" \
	    " AND " MOUTBOX_WAITING " ORDER BY d.retry_ts, d.destination LIMIT $3") \
	/* \
	 * The claim: the row lock of the UPDATE orders claimants and the \
	 * conditions are read again under it, so one of them changes the row. \
	 */ \
	X(MSTMT_OUTBOX_CLAIM, "UPDATE outbox_destinations SET lease_owner = $3," \
	    " lease_until = $4 WHERE kind = $1 AND destination = $2 AND retry_ts <= $5" \
	    " AND lease_until <= $5") \
	X(MSTMT_OUTBOX_RENEW, "UPDATE outbox_destinations SET lease_until = $4" \
	    " WHERE kind = $1 AND destination = $2 AND lease_owner = $3") \
	X(MSTMT_OUTBOX_HEAD, "SELECT id, ref, payload, created_ts FROM outbox" \
	    " WHERE kind = $1 AND destination = $2 ORDER BY id LIMIT $3") \
	X(MSTMT_OUTBOX_DEL, "DELETE FROM outbox WHERE id = $1") \
	/* Unmarked: no payload, or a JSON object's. */ \
	X(MSTMT_OUTBOX_MARK, "UPDATE outbox SET payload = CAST($5 AS TEXT) ||" \
	    " COALESCE(payload, '') WHERE kind = $1 AND destination = $2 AND id >= $3" \
	    " AND id <= $4 AND (payload IS NULL OR substr(payload, 1, 1) = '{')") \
	X(MSTMT_OUTBOX_DEL_DEST, "DELETE FROM outbox WHERE kind = $1 AND destination = $2") \
	X(MSTMT_OUTBOX_RELEASE, "UPDATE outbox_destinations SET lease_owner = NULL," \
	    " lease_until = 0, failures = 0, failing_since = 0, retry_ts = 0" \
	    " WHERE kind = $1 AND destination = $2 AND lease_owner = $3") \
	X(MSTMT_OUTBOX_FAIL, "UPDATE outbox_destinations SET lease_owner = NULL," \
	    " lease_until = 0, failures = failures + 1, retry_ts = $4," \
	    " failing_since = CASE WHEN failing_since = 0 OR CAST($6 AS BIGINT) = 1 THEN $5" \
	    " ELSE failing_since END" \
	    " WHERE kind = $1 AND destination = $2 AND lease_owner = $3") \
	X(MSTMT_OUTBOX_DEST_GET, "SELECT failures, failing_since, retry_ts FROM" \
	    " outbox_destinations WHERE kind = $1 AND destination = $2") \
	/* The earliest time after $2 a destination of kind $1 with rows falls due. */ \
	X(MSTMT_OUTBOX_NEXT, "SELECT COALESCE(MIN(CASE WHEN d.retry_ts > d.lease_until" \
	    " THEN d.retry_ts ELSE d.lease_until END), 0) FROM outbox_destinations d" \
	    " WHERE d.kind = $1 AND (d.retry_ts > $2 OR d.lease_until > $2)" \
	    " AND " MOUTBOX_WAITING) \
	X(MSTMT_OUTBOX_COUNT, "SELECT COUNT(*) FROM outbox WHERE kind = $1")

#endif
