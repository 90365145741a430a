/* myelin.conf(5): parsed once into a const struct. */
#ifndef MYELIN_CONFIG_H
#define MYELIN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "ratelimit/limits.h"

struct mappsvc;

enum mdb_backend { MDB_SQLITE, MDB_POSTGRES };

struct mconfig {
	char		*path;			/* the file read */
	char		*dir;			/* its directory: relative paths start here */
	char		*server_name;
	char		*public_baseurl;
	char		*listen;		/* host:port nginx listens on */
	enum mdb_backend db_backend;
	char		*database;		/* SQLite path or libpq conninfo */
	int		 enable_registration;
	int		 registration_requires_token;
	int		 allow_guest_access;
	int		 enable_ephemeral_messages;	/* MSC2228 */
	char		*registration_shared_secret;	/* NULL: shared-secret registration off */
	char		*signing_key_path;
	char		*media_path;
	char		*run_dir;		/* sockets, pids, notify segment */
	int		 log_level;		/* enum mlog_level */
	int64_t		 access_token_lifetime_ms;	/* for refreshable tokens */
	int64_t		 refresh_token_lifetime_ms;	/* 0: refresh tokens never expire */
	int64_t		 max_body_bytes;
	int		 threads_client;
	int		 threads_admin;
	int		 threads_sync;
	int		 threads_media;
	/* The media repository (myelin-media(8)). */
	int64_t		 max_upload_size;	/* bytes of one upload */
	int64_t		 max_image_pixels;	/* larger images get no thumbnail */
	int		 enable_authenticated_media;	/* legacy downloads of new media refused */
	int		 max_parked_per_user;	/* waiting long-polls, see async.c */
	int		 max_parked_per_address;
	char		*default_room_version;	/* for createRoom without room_version */
	int		 access_log;		/* myelin-stack writes log/access.log */
	/* GET /voip/turnServer: TURN URIs and how clients authenticate there. */
	char		**turn_uris;		/* turn_uris, every word of every line */
	size_t		 turn_urisz;
	char		*turn_shared_secret;	/* coturn's static-auth-secret, or NULL */
	char		*turn_username;		/* static credentials, when no secret */
	char		*turn_password;
	int		 turn_user_lifetime;	/* seconds */
	int		 turn_allow_guests;
	/* GET /.well-known/matrix/support. */
	struct mconfig_contact {
		char	*role;
		char	*matrix_id;		/* NULL: none */
		char	*email_address;		/* NULL: none */
	}		*support_contacts;
	size_t		 support_contactsz;
	char		*support_page;
	char		*policy_server_ed25519;	/* /.well-known/matrix/policy_server */
	int64_t		 max_event_delay_ms;	/* MSC4140 delayed events; 0: off */
	/* POST /_matrix/client/v1/login/get_token and m.login.token. */
	int		 login_via_existing_session;
	int		 threads_federation;
	/* Federation (myelin-federation, lib/fed). */
	char		*federation_listen;	/* host:port of nginx's TLS listener, or NULL */
	char		*tls_certificate;	/* PEM chain for it */
	char		*tls_certificate_key;
	char		*federation_ca_file;	/* CAs trusted for outbound requests; NULL: system */
	char		*federation_allow_ips;	/* CIDRs outbound requests may reach anyway */
	char		*push_ca_file;		/* CAs trusted for push gateways; NULL: system */
	char		*push_allow_ips;	/* CIDRs push gateways may be on anyway */
	char		*trusted_key_servers;	/* notaries asked for keys, space-separated */
	/* Identity servers (lib/ident): 3PID binding and third-party invites. */
	char		*identity_ca_file;	/* CAs trusted for them; NULL: system */
	char		*identity_allow_ips;	/* CIDRs they may be reached at anyway */
	/*
	 * Beside a running Synapse (docs/beside-synapse.md): its database
	 * (NULL: not beside one), its media store and its signing key.
	 */
	enum mdb_backend synapse_db_backend;
	char		*synapse_database;	/* SQLite path or libpq conninfo */
	char		*synapse_media_store;	/* its media_store_path */
	char		*synapse_signing_key;	/* its signing_key_path */
	/* Media of others (myelin-media(8)): URL previews, remote media, retention. */
	int		 url_preview_enabled;		/* off by default, as in Synapse */
	char		*url_preview_allow_ips;	/* CIDRs previews may fetch from anyway */
	char		*url_preview_ca_file;	/* CAs trusted for previews; NULL: system */
	int64_t		 max_spider_size;	/* bytes of a page or image fetched */
	int64_t		 media_retention_local_ms;	/* 0: kept for ever */
	int64_t		 media_retention_remote_ms;	/* 0: kept for ever */
	int64_t		 max_upload_size_per_user;	/* bytes stored per user; 0: no quota */
	int		 remote_media_download;	/* fetch other servers' media (default yes) */
	/* Message retention (m.room.retention; myelin-timerd(8)); 0: not set. */
	int		 retention_enabled;	/* off by default, as in Synapse */
	int64_t		 retention_default_min_ms;	/* default_policy.min_lifetime */
	int64_t		 retention_default_max_ms;	/* default_policy.max_lifetime */
	int64_t		 retention_allowed_min_ms;	/* allowed_lifetime_min */
	int64_t		 retention_allowed_max_ms;	/* allowed_lifetime_max */
	int64_t		 retention_purge_interval_ms;	/* between two purges (default 1d) */
	/* Application services (lib/appsvc): registration files, loaded at start. */
	char		*app_service_config_files;	/* as written: comma/space list */
	char		*appservice_ca_file;	/* CAs trusted for their https URLs; NULL: system */
	struct mappsvc	*appservices;
	size_t		 appservicesz;
	/* Least privilege and memory (docs/reliability.md). */
	char		*user;			/* myelin-stack as root runs programs as it */
	int		 password_hash_concurrency;	/* argon2id hashes at once, per process */
	int		 federation_senders;	/* myelin-sender shards myelin-stack starts */
	char		*password_pepper;	/* Synapse's password_config.pepper, for its bcrypt hashes */
	int		 sandbox;		/* landlock and seccomp (lib/sandbox); default on */
	/* Rate limits (lib/ratelimit): NAME.per_second, NAME.burst_count. */
	struct mrc_limit rc[MRC__MAX];
};

/*
 * Reads the file at path.  Returns the config, or NULL after writing one
 * line per mistake ("file:line: message") to errs (size errsz).
 */
struct mconfig	*mconfig_load(const char *path, char *errs, size_t errsz);
void		 mconfig_free(struct mconfig *);
/* Threads configured for the handler named name ("client", ...), or 0. */
int		 mconfig_threads(const struct mconfig *, const char *name);
/* The config name of rate limit rc ("rc_message"). */
const char	*mconfig_rc_name(enum mrc);

#endif
