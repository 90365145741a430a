/* Statements on third-party identifiers bound through identity servers (see stmts.h). */
#ifndef MYELIN_STORE_STMTS_THREEPID_H
#define MYELIN_STORE_STMTS_THREEPID_H

#define MSTMT_TABLE_THREEPID \
	/* A 3PID of a user bound through an identity server (POST /account/3pid/bind). */ \
	X(MSTMT_TPID_BOUND_PUT, "INSERT INTO user_threepid_id_server (user_id, medium," \
	    " address, id_server, bound_ts) VALUES ($1, $2, $3, $4, $5)" \
	    " ON CONFLICT (user_id, medium, address, id_server) DO NOTHING") \
	X(MSTMT_TPID_BOUND_DEL, "DELETE FROM user_threepid_id_server WHERE user_id = $1" \
	    " AND medium = $2 AND address = $3 AND id_server = $4") \
	/* The identity servers one 3PID of the user was bound through. */ \
	X(MSTMT_TPID_BOUND_SERVERS, "SELECT id_server FROM user_threepid_id_server" \
	    " WHERE user_id = $1 AND medium = $2 AND address = $3 ORDER BY id_server") \
	/* Every binding of the user (deactivation unbinds them all). */ \
	X(MSTMT_TPID_BOUND_ALL, "SELECT medium, address, id_server FROM user_threepid_id_server" \
	    " WHERE user_id = $1 ORDER BY medium, address, id_server")

#endif
