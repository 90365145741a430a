/* Statements of the daemons' metrics (lib/store/metrics.c; see stmts.h). */
#ifndef MYELIN_STORE_STMTS_METRICS_H
#define MYELIN_STORE_STMTS_METRICS_H

#define MSTMT_TABLE_METRICS \
	/* Per destination: events queued, and its backoff (0: none). */ \
	X(MSTMT_METRICS_FEDQ, "SELECT o.destination, COUNT(*)," \
	    " COALESCE(MAX(d.backoff_ms), 0) FROM fed_outbox o" \
	    " LEFT JOIN fed_destinations d ON d.destination = o.destination" \
	    " GROUP BY o.destination ORDER BY o.destination") \
	/* Of a kind of lib/outbox: rows waiting, destinations failing. */ \
	X(MSTMT_METRICS_OUTBOX, "SELECT (SELECT COUNT(*) FROM outbox WHERE kind = $1)," \
	    " (SELECT COUNT(*) FROM outbox_destinations WHERE kind = $1 AND failures > 0)")

#endif
