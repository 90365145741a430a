/* Numbered schema migrations; a migration never changes once released. */
#include <stddef.h>

#include "store/extern.h"
#include "store/migrations.h"

/*
 * Each step has one text for both backends unless pg is set.  Types are
 * kept to TEXT and BIGINT so that the two engines store the same values;
 * "SERIAL_PK" in the text becomes the engine's own auto-increment key.
 */
const struct mmigration mmigrations[] = {
	{ 1, "accounts",
	  "CREATE TABLE users ("
	  " user_id TEXT PRIMARY KEY,"
	  " password_hash TEXT,"
	  " displayname TEXT,"
	  " avatar_url TEXT,"
	  " is_admin BIGINT NOT NULL DEFAULT 0,"
	  " is_guest BIGINT NOT NULL DEFAULT 0,"
	  " deactivated BIGINT NOT NULL DEFAULT 0,"
	  " shadow_banned BIGINT NOT NULL DEFAULT 0,"
	  " user_type TEXT,"
	  " created_ts BIGINT NOT NULL);"
	  "CREATE TABLE devices ("
	  " user_id TEXT NOT NULL,"
	  " device_id TEXT NOT NULL,"
	  " display_name TEXT,"
	  " last_seen_ts BIGINT,"
	  " last_seen_ip TEXT,"
	  " PRIMARY KEY (user_id, device_id));"
	  "CREATE TABLE refresh_tokens ("
	  " id SERIAL_PK,"
	  " token_hash TEXT NOT NULL UNIQUE,"
	  " user_id TEXT NOT NULL,"
	  " device_id TEXT NOT NULL);"
	  "CREATE TABLE access_tokens ("
	  " id SERIAL_PK,"
	  " token_hash TEXT NOT NULL UNIQUE,"
	  " user_id TEXT NOT NULL,"
	  " device_id TEXT NOT NULL,"
	  " valid_until_ms BIGINT,"
	  " refresh_token_id BIGINT,"
	  " created_ts BIGINT NOT NULL);"
	  "CREATE INDEX access_tokens_device ON access_tokens (user_id, device_id);"
	  "CREATE INDEX refresh_tokens_device ON refresh_tokens (user_id, device_id);"
	  "CREATE TABLE uia_sessions ("
	  " session_id TEXT PRIMARY KEY,"
	  " kind TEXT NOT NULL,"
	  " user_id TEXT,"
	  " completed TEXT NOT NULL DEFAULT '[]',"
	  " registration_token TEXT,"
	  " created_ts BIGINT NOT NULL);"
	  "CREATE TABLE registration_tokens ("
	  " token TEXT PRIMARY KEY,"
	  " uses_allowed BIGINT,"
	  " pending BIGINT NOT NULL DEFAULT 0,"
	  " completed BIGINT NOT NULL DEFAULT 0,"
	  " expiry_time BIGINT);"
	  "CREATE TABLE registration_nonces ("
	  " nonce TEXT PRIMARY KEY,"
	  " created_ts BIGINT NOT NULL);",
	  NULL },
};
const size_t mmigrationsz = sizeof(mmigrations) / sizeof(mmigrations[0]);
