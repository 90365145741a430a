/* Parser for myelin.conf: "key = value" lines, '#' comments. */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appsvc/appsvc.h"
#include "config/config.h"
#include "crypto/crypto.h"
#include "events/events.h"
#include "fed/fed.h"
#include "http/http.h"
#include "log/log.h"
#include "room/room.h"

enum ckind { C_STR, C_BOOL, C_INT, C_DURATION, C_LEVEL, C_BACKEND, C_PATH, C_ROOMVER, C_TURN_URIS, C_CONTACT };

struct ckey {
	const char	*name;
	enum ckind	 kind;
	size_t		 off;
	int64_t		 min, max;
};

#define OFF(f)	offsetof(struct mconfig, f)
static const struct ckey keys[] = {
	{ "server_name", C_STR, OFF(server_name), 0, 0 },
	{ "public_baseurl", C_STR, OFF(public_baseurl), 0, 0 },
	{ "listen", C_STR, OFF(listen), 0, 0 },
	{ "database_backend", C_BACKEND, OFF(db_backend), 0, 0 },
	{ "database", C_STR, OFF(database), 0, 0 },
	{ "enable_registration", C_BOOL, OFF(enable_registration), 0, 0 },
	{ "registration_requires_token", C_BOOL, OFF(registration_requires_token), 0, 0 },
	{ "allow_guest_access", C_BOOL, OFF(allow_guest_access), 0, 0 },
	{ "enable_ephemeral_messages", C_BOOL, OFF(enable_ephemeral_messages), 0, 0 },
	{ "registration_shared_secret", C_STR, OFF(registration_shared_secret), 0, 0 },
	{ "signing_key_path", C_PATH, OFF(signing_key_path), 0, 0 },
	{ "media_path", C_PATH, OFF(media_path), 0, 0 },
	{ "run_dir", C_PATH, OFF(run_dir), 0, 0 },
	{ "log_level", C_LEVEL, OFF(log_level), 0, 0 },
	{ "access_token_lifetime_ms", C_INT, OFF(access_token_lifetime_ms), 1000, INT64_C(31536000000) },
	{ "refresh_token_lifetime_ms", C_INT, OFF(refresh_token_lifetime_ms), 0, INT64_C(31536000000) },
	{ "max_body_bytes", C_INT, OFF(max_body_bytes), 1024, 100 * 1024 * 1024 },
	{ "threads.client", C_INT, OFF(threads_client), 1, 256 },
	{ "threads.admin", C_INT, OFF(threads_admin), 1, 256 },
	{ "threads.sync", C_INT, OFF(threads_sync), 1, 256 },
	{ "threads.media", C_INT, OFF(threads_media), 1, 256 },
	{ "max_upload_size", C_INT, OFF(max_upload_size), 1, INT64_C(10737418240) },
	{ "max_image_pixels", C_INT, OFF(max_image_pixels), 1, INT64_C(1000000000) },
	{ "enable_authenticated_media", C_BOOL, OFF(enable_authenticated_media), 0, 0 },
	{ "max_parked_per_user", C_INT, OFF(max_parked_per_user), 1, 1000000 },
	{ "max_parked_per_address", C_INT, OFF(max_parked_per_address), 1, 1000000 },
	{ "default_room_version", C_ROOMVER, OFF(default_room_version), 0, 0 },
	{ "access_log", C_BOOL, OFF(access_log), 0, 0 },
	{ "turn_uris", C_TURN_URIS, OFF(turn_uris), 0, 0 },
	{ "turn_shared_secret", C_STR, OFF(turn_shared_secret), 0, 0 },
	{ "turn_username", C_STR, OFF(turn_username), 0, 0 },
	{ "turn_password", C_STR, OFF(turn_password), 0, 0 },
	{ "turn_user_lifetime", C_INT, OFF(turn_user_lifetime), 1, 31536000 },
	{ "turn_allow_guests", C_BOOL, OFF(turn_allow_guests), 0, 0 },
	{ "support_contact", C_CONTACT, OFF(support_contacts), 0, 0 },
	{ "support_page", C_STR, OFF(support_page), 0, 0 },
	{ "policy_server_ed25519", C_STR, OFF(policy_server_ed25519), 0, 0 },
	{ "max_event_delay_ms", C_INT, OFF(max_event_delay_ms), 1, INT64_C(31536000000) },
	{ "login_via_existing_session", C_BOOL, OFF(login_via_existing_session), 0, 0 },
	{ "threads.federation", C_INT, OFF(threads_federation), 1, 256 },
	{ "federation_listen", C_STR, OFF(federation_listen), 0, 0 },
	{ "tls_certificate", C_PATH, OFF(tls_certificate), 0, 0 },
	{ "tls_certificate_key", C_PATH, OFF(tls_certificate_key), 0, 0 },
	{ "federation_ca_file", C_PATH, OFF(federation_ca_file), 0, 0 },
	{ "federation_allow_ips", C_STR, OFF(federation_allow_ips), 0, 0 },
	{ "trusted_key_servers", C_STR, OFF(trusted_key_servers), 0, 0 },
	{ "identity_ca_file", C_PATH, OFF(identity_ca_file), 0, 0 },
	{ "identity_allow_ips", C_STR, OFF(identity_allow_ips), 0, 0 },
	{ "push_ca_file", C_PATH, OFF(push_ca_file), 0, 0 },
	{ "push_allow_ips", C_STR, OFF(push_allow_ips), 0, 0 },
	{ "synapse_database_backend", C_BACKEND, OFF(synapse_db_backend), 0, 0 },
	{ "synapse_database", C_STR, OFF(synapse_database), 0, 0 },
	{ "synapse_media_store", C_PATH, OFF(synapse_media_store), 0, 0 },
	{ "synapse_signing_key", C_PATH, OFF(synapse_signing_key), 0, 0 },
	{ "url_preview_enabled", C_BOOL, OFF(url_preview_enabled), 0, 0 },
	{ "url_preview_ip_range_whitelist", C_STR, OFF(url_preview_allow_ips), 0, 0 },
	{ "url_preview_ca_file", C_PATH, OFF(url_preview_ca_file), 0, 0 },
	{ "max_spider_size", C_INT, OFF(max_spider_size), 1024, INT64_C(104857600) },
	{ "media_retention_local_lifetime", C_DURATION, OFF(media_retention_local_ms), 0, 0 },
	{ "media_retention_remote_lifetime", C_DURATION, OFF(media_retention_remote_ms), 0, 0 },
	/* Message retention, Synapse's retention section flattened (timer-daemon/retention.c). */
	{ "retention.enabled", C_BOOL, OFF(retention_enabled), 0, 0 },
	{ "retention.default_policy.min_lifetime", C_DURATION, OFF(retention_default_min_ms), 0, 0 },
	{ "retention.default_policy.max_lifetime", C_DURATION, OFF(retention_default_max_ms), 0, 0 },
	{ "retention.allowed_lifetime_min", C_DURATION, OFF(retention_allowed_min_ms), 0, 0 },
	{ "retention.allowed_lifetime_max", C_DURATION, OFF(retention_allowed_max_ms), 0, 0 },
	{ "retention.purge_interval", C_DURATION, OFF(retention_purge_interval_ms), 0, 0 },
	{ "max_upload_size_per_user", C_INT, OFF(max_upload_size_per_user), 1,
	    INT64_C(1099511627776) },
	{ "remote_media_download", C_BOOL, OFF(remote_media_download), 0, 0 },
	{ "app_service_config_files", C_STR, OFF(app_service_config_files), 0, 0 },
	{ "appservice_ca_file", C_PATH, OFF(appservice_ca_file), 0, 0 },
	{ "user", C_STR, OFF(user), 0, 0 },
	{ "sandbox", C_BOOL, OFF(sandbox), 0, 0 },
	{ "password_pepper", C_STR, OFF(password_pepper), 0, 0 },
	{ "password_hash_concurrency", C_INT, OFF(password_hash_concurrency), 1, 256 },
	/* myelin-stack starts this many myelin-sender --shard I/N (lib/fed: MFED_SHARDS_MAX). */
	{ "federation_senders", C_INT, OFF(federation_senders), 1, 64 },
};

static void	adderr(char *, size_t, int *, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

static const struct {
	const char	*name;
	double		 per_second;
	int64_t		 burst_count;
} rcs[MRC__MAX] = {
#define X(id, name, ps, burst) [id] = { name, ps, burst },
	MRC_TABLE
#undef X
};

const char *
mconfig_rc_name(enum mrc rc)
{
	return rc < MRC__MAX ? rcs[rc].name : NULL;
}

/*
 * A rate limit's key, "NAME.per_second" or "NAME.burst_count" (the
 * names of Synapse's YAML, flattened): 1 when k is one (stored, or an
 * error added), 0 when it is not.
 */
static int
rc_key(struct mconfig *c, const char *k, const char *v, const char *path, int lineno,
    char *errs, size_t errsz, int *nerr)
{
	const char	*dot = strrchr(k, '.');
	char		*end;
	size_t		 len;
	int		 i;

	if (strncmp(k, "rc_", 3) != 0 || dot == NULL)
		return 0;
	len = (size_t)(dot - k);
	for (i = 0; i < MRC__MAX; i++)
		if (strlen(rcs[i].name) == len && strncmp(rcs[i].name, k, len) == 0)
			break;
	if (i == MRC__MAX)
		return 0;
	errno = 0;
	if (strcmp(dot + 1, "per_second") == 0) {
		double d = strtod(v, &end);

		/* NaN fails every comparison: refused with the rest. */
		if (errno != 0 || end == v || *end != '\0' || !(d >= 0.000001 && d <= 1000000))
			adderr(errs, errsz, nerr, "%s:%d: %s: expected a number from 0.000001"
			    " to 1000000", path, lineno, k);
		else
			c->rc[i].per_second = d;
		return 1;
	}
	if (strcmp(dot + 1, "burst_count") == 0) {
		long long n = strtoll(v, &end, 10);

		if (errno != 0 || end == v || *end != '\0' || n < 1 || n > 1000000000)
			adderr(errs, errsz, nerr, "%s:%d: %s: expected a number from 1 to"
			    " 1000000000", path, lineno, k);
		else
			c->rc[i].burst_count = n;
		return 1;
	}
	return 0;
}

static void
adderr(char *errs, size_t errsz, int *nerr, const char *fmt, ...)
{
	size_t	 len = strlen(errs);
	va_list	 ap;

	(*nerr)++;
	if (len + 1 >= errsz)
		return;
	va_start(ap, fmt);
	vsnprintf(errs + len, errsz - len, fmt, ap);
	va_end(ap);
	len = strlen(errs);
	if (len + 1 < errsz) {
		errs[len] = '\n';
		errs[len + 1] = '\0';
	}
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Makes a relative path absolute against the config file's directory. */
static char *
abspath(const struct mconfig *c, const char *v)
{
	char	*p;

	if (v[0] == '/' || c->dir == NULL)
		return strdup(v);
	if (asprintf(&p, "%s/%s", c->dir, v) == -1)
		return NULL;
	return p;
}

/*
 * Appends each whitespace-separated word of v to c->turn_uris.  0, 1
 * for a word that is no TURN URI (RFC 7065: "turn:" or "turns:"), -1
 * without memory.
 */
static int
turn_uris_add(struct mconfig *c, const char *v)
{
	char	**n;
	size_t	  len;

	for (;;) {
		v += strspn(v, " \t");
		if ((len = strcspn(v, " \t")) == 0)
			return 0;
		if ((strncmp(v, "turn:", 5) != 0 || len == 5) &&
		    (strncmp(v, "turns:", 6) != 0 || len == 6))
			return 1;
		if ((n = reallocarray(c->turn_uris, c->turn_urisz + 1, sizeof(*n))) == NULL)
			return -1;
		c->turn_uris = n;
		if ((n[c->turn_urisz] = strndup(v, len)) == NULL)
			return -1;
		c->turn_urisz++;
		v += len;
	}
}

/*
 * Appends the contact "ROLE MATRIX_ID EMAIL" ("-" for either left out)
 * to c->support_contacts.  0, 1 when the line is not one (spec:
 * /.well-known/matrix/support, a contact has a role and at least one of
 * a Matrix ID and an email address), -1 without memory.
 */
static int
contact_add(struct mconfig *c, const char *v)
{
	struct mconfig_contact	*n, *k;
	char			 role[256], mxid[256], email[256], extra[2];

	if (sscanf(v, "%255s %255s %255s %1s", role, mxid, email, extra) != 3 ||
	    (strcmp(mxid, "-") == 0 && strcmp(email, "-") == 0) ||
	    (strcmp(mxid, "-") != 0 && !mroom_user_id_check(mxid)) ||
	    (strcmp(email, "-") != 0 && strchr(email, '@') == NULL))
		return 1;
	if ((n = reallocarray(c->support_contacts, c->support_contactsz + 1,
	    sizeof(*n))) == NULL)
		return -1;
	c->support_contacts = n;
	k = &n[c->support_contactsz];
	memset(k, 0, sizeof(*k));
	c->support_contactsz++;
	if ((k->role = strdup(role)) == NULL ||
	    (strcmp(mxid, "-") != 0 && (k->matrix_id = strdup(mxid)) == NULL) ||
	    (strcmp(email, "-") != 0 && (k->email_address = strdup(email)) == NULL))
		return -1;
	return 0;
}

/*
 * Reads every registration file named in app_service_config_files
 * (relative to the config's directory), each error as "file: key: why";
 * two services may not share an ID, an as_token or a sender.
 */
static void
appservices_load(struct mconfig *c, char *errs, size_t errsz, int *nerr)
{
	char	*list, *tok, *save = NULL, err[512];
	size_t	 n = 0;

	if ((list = strdup(c->app_service_config_files)) == NULL)
		return;
	for (tok = strtok_r(list, ", \t", &save); tok != NULL; tok = strtok_r(NULL, ", \t", &save))
		n++;
	free(list);
	if (n == 0 || (c->appservices = calloc(n, sizeof(*c->appservices))) == NULL ||
	    (list = strdup(c->app_service_config_files)) == NULL)
		return;
	for (tok = strtok_r(list, ", \t", &save); tok != NULL; tok = strtok_r(NULL, ", \t", &save)) {
		struct mappsvc	*as = &c->appservices[c->appservicesz];
		char		*p = abspath(c, tok);

		if (p == NULL || mappsvc_load(p, c->server_name, as, err, sizeof(err)) == -1) {
			adderr(errs, errsz, nerr, "%s: app_service_config_files: %s", c->path,
			    p == NULL ? "out of memory" : err);
			free(p);
			continue;
		}
		free(p);
		for (size_t i = 0; i < c->appservicesz; i++) {
			const struct mappsvc *o = &c->appservices[i];

			if (strcmp(o->id, as->id) == 0 || strcmp(o->as_token, as->as_token) == 0 ||
			    strcmp(o->sender, as->sender) == 0) {
				adderr(errs, errsz, nerr, "%s: app_service_config_files: %s and %s"
				    " share an id, an as_token or a sender_localpart", c->path,
				    o->file, as->file);
				break;
			}
		}
		c->appservicesz++;
	}
	free(list);
}

void
mconfig_free(struct mconfig *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->turn_urisz; i++)
		free(c->turn_uris[i]);
	free(c->turn_uris);
	for (size_t i = 0; i < c->support_contactsz; i++) {
		free(c->support_contacts[i].role);
		free(c->support_contacts[i].matrix_id);
		free(c->support_contacts[i].email_address);
	}
	free(c->support_contacts);
	for (size_t i = 0; i < c->appservicesz; i++)
		mappsvc_fini(&c->appservices[i]);
	free(c->appservices);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].kind == C_STR || keys[i].kind == C_PATH || keys[i].kind == C_ROOMVER)
			free(*(char **)((char *)c + keys[i].off));
	free(c->path);
	free(c->dir);
	free(c);
}

struct mconfig *
mconfig_load(const char *path, char *errs, size_t errsz)
{
	struct mconfig	*c;
	FILE		*f;
	char		*line = NULL, *tmp;
	size_t		 linesz = 0;
	int		 lineno = 0, nerr = 0;
	enum mlog_level	 lvl;

	errs[0] = '\0';
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->log_level = MLOG_INFO;
	c->access_token_lifetime_ms = 5 * 60 * 1000;
	c->max_body_bytes = 1024 * 1024;
	c->threads_client = 4;
	c->threads_admin = 2;
	c->threads_sync = 2;
	c->threads_federation = 4;
	c->threads_media = 4;
	/* Synapse's defaults: 50 MiB uploads, 32 megapixel thumbnail sources. */
	c->max_upload_size = 50 * 1024 * 1024;
	c->max_image_pixels = 32 * 1000 * 1000;
	/* Synapse's max_spider_size; remote media is fetched, as Synapse does. */
	c->max_spider_size = 10 * 1024 * 1024;
	c->remote_media_download = 1;
	c->sandbox = 1;
	/*
	 * 100 waiting syncs is more devices than a person keeps open; the
	 * address limit is the benchmark's 10,000 long-polls from one host,
	 * which the generated nginx configuration is sized to hold.
	 */
	c->max_parked_per_user = 100;
	c->max_parked_per_address = 10000;
	/* Two argon2id hashes at once per process: 2 x 19 MiB at most. */
	c->password_hash_concurrency = 2;
	c->federation_senders = 1;
	/* Synapse's purge job when none is configured: every room, daily. */
	c->retention_purge_interval_ms = 24 * 60 * 60 * 1000;
	c->access_log = 1;
	/* Synapse's defaults: an hour, guests too. */
	c->turn_user_lifetime = 3600;
	c->turn_allow_guests = 1;
	for (int i = 0; i < MRC__MAX; i++) {
		c->rc[i].per_second = rcs[i].per_second;
		c->rc[i].burst_count = rcs[i].burst_count;
	}
	if ((c->path = strdup(path)) == NULL || (tmp = strdup(path)) == NULL) {
		mconfig_free(c);
		return NULL;
	}
	if (tmp[0] == '/')
		c->dir = strdup(dirname(tmp));
	else {
		char cwd[4096], *d = dirname(tmp);
		if (getcwd(cwd, sizeof(cwd)) != NULL &&
		    asprintf(&c->dir, "%s/%s", cwd, d) == -1)
			c->dir = NULL;
	}
	free(tmp);
	if ((f = fopen(path, "r")) == NULL) {
		adderr(errs, errsz, &nerr, "%s: %s", path, strerror(errno));
		mconfig_free(c);
		return NULL;
	}
	while (getline(&line, &linesz, f) != -1) {
		char			*k, *v, *eq, *hash;
		const struct ckey	*key = NULL;
		void			*field;

		lineno++;
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		k = trim(line);
		if (*k == '\0')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			adderr(errs, errsz, &nerr, "%s:%d: expected \"key = value\"", path, lineno);
			continue;
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(keys[i].name, k) == 0)
				key = &keys[i];
		if (key == NULL && rc_key(c, k, v, path, lineno, errs, errsz, &nerr))
			continue;
		if (key == NULL) {
			adderr(errs, errsz, &nerr, "%s:%d: unknown key \"%s\"", path, lineno, k);
			continue;
		}
		field = (char *)c + key->off;
		switch (key->kind) {
		case C_STR:
		case C_PATH:
			if (*v == '\0') {
				adderr(errs, errsz, &nerr, "%s:%d: %s: empty value", path, lineno, k);
				break;
			}
			free(*(char **)field);
			*(char **)field = key->kind == C_PATH ? abspath(c, v) : strdup(v);
			break;
		case C_BOOL:
			/* "on" and "off" too: "sandbox = off" reads as it is meant. */
			if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 ||
			    strcmp(v, "on") == 0)
				*(int *)field = 1;
			else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 ||
			    strcmp(v, "off") == 0)
				*(int *)field = 0;
			else
				adderr(errs, errsz, &nerr, "%s:%d: %s: expected yes or no", path, lineno, k);
			break;
		case C_INT: {
			char		*end;
			long long	 n;

			errno = 0;
			n = strtoll(v, &end, 10);
			if (errno != 0 || *end != '\0' || end == v ||
			    n < key->min || n > key->max) {
				adderr(errs, errsz, &nerr, "%s:%d: %s: expected a number from %lld to %lld",
				    path, lineno, k, (long long)key->min, (long long)key->max);
				break;
			}
			if (key->off == OFF(access_token_lifetime_ms) ||
			    key->off == OFF(refresh_token_lifetime_ms) || key->off == OFF(max_body_bytes) ||
			    key->off == OFF(max_upload_size) || key->off == OFF(max_image_pixels) ||
			    key->off == OFF(max_spider_size) ||
			    key->off == OFF(max_upload_size_per_user))
				*(int64_t *)field = n;
			else
				*(int *)field = (int)n;
			break;
		}
		case C_DURATION: {
			/* Synapse's durations: a number of ms, or with s, m, h, d, w, y. */
			char		*end;
			long long	 n;
			int64_t		 unit = 1;

			errno = 0;
			n = strtoll(v, &end, 10);
			if (errno == 0 && end != v && n >= 0 && end[0] != '\0' && end[1] == '\0') {
				switch (*end) {
				case 's': unit = 1000; break;
				case 'm': unit = 60 * 1000; break;
				case 'h': unit = 60 * 60 * 1000; break;
				case 'd': unit = 24 * 60 * 60 * 1000; break;
				case 'w': unit = 7LL * 24 * 60 * 60 * 1000; break;
				case 'y': unit = 365LL * 24 * 60 * 60 * 1000; break;
				default: unit = 0; break;
				}
				end++;
			}
			if (errno != 0 || end == v || *end != '\0' || n < 0 || unit == 0 ||
			    n > INT64_C(100000000000000) / unit) {
				adderr(errs, errsz, &nerr, "%s:%d: %s: expected a duration"
				    " (ms, or a number with s, m, h, d, w or y)", path, lineno, k);
				break;
			}
			*(int64_t *)field = (int64_t)n * unit;
			break;
		}
		case C_LEVEL:
			if (mlog_level_parse(v, &lvl) == -1)
				adderr(errs, errsz, &nerr, "%s:%d: %s: expected error, warn, info or debug", path, lineno, k);
			else
				*(int *)field = (int)lvl;
			break;
		case C_ROOMVER:
			/* Only versions lib/events can build and check. */
			if (mroomver_get(v) == NULL) {
				adderr(errs, errsz, &nerr, "%s:%d: %s: not a room version this server supports",
				    path, lineno, k);
				break;
			}
			free(*(char **)field);
			*(char **)field = strdup(v);
			break;
		case C_TURN_URIS:
			switch (turn_uris_add(c, v)) {
			case 0:
				break;
			case 1:
				adderr(errs, errsz, &nerr, "%s:%d: %s: expected turn: or turns: URIs",
				    path, lineno, k);
				break;
			default:
				adderr(errs, errsz, &nerr, "%s: out of memory", path);
				break;
			}
			break;
		case C_CONTACT:
			switch (contact_add(c, v)) {
			case 0:
				break;
			case 1:
				adderr(errs, errsz, &nerr, "%s:%d: %s: expected \"ROLE MATRIX_ID EMAIL\","
				    " \"-\" for one left out", path, lineno, k);
				break;
			default:
				adderr(errs, errsz, &nerr, "%s: out of memory", path);
				break;
			}
			break;
		case C_BACKEND:
			if (strcmp(v, "sqlite") == 0)
				*(enum mdb_backend *)field = MDB_SQLITE;
			else if (strcmp(v, "postgres") == 0)
				*(enum mdb_backend *)field = MDB_POSTGRES;
			else
				adderr(errs, errsz, &nerr, "%s:%d: %s: expected sqlite or postgres", path, lineno, k);
			break;
		}
	}
	free(line);
	fclose(f);
	if (c->server_name == NULL)
		adderr(errs, errsz, &nerr, "%s: server_name is required", path);
	else if (strchr(c->server_name, '/') != NULL || strchr(c->server_name, '@') != NULL ||
	    mfed_name_parse(c->server_name, &(struct mfed_name){ 0 }) == -1)
		adderr(errs, errsz, &nerr, "%s: server_name: not a valid server name", path);
	if (c->policy_server_ed25519 != NULL) {
		unsigned char k[33];

		if (strchr(c->policy_server_ed25519, '=') != NULL ||
		    mcrypto_b64_decode(c->policy_server_ed25519, k, sizeof(k)) != 32)
			adderr(errs, errsz, &nerr, "%s: policy_server_ed25519: expected the "
			    "unpadded base64 of a 32-byte ed25519 public key", path);
	}
	if (c->database == NULL)
		adderr(errs, errsz, &nerr, "%s: database is required", path);
	else if (c->db_backend == MDB_SQLITE && c->database[0] != '/') {
		char *p = abspath(c, c->database);
		free(c->database);
		c->database = p;
	}
	if (c->synapse_database != NULL && c->synapse_db_backend == MDB_SQLITE &&
	    c->synapse_database[0] != '/') {
		char *p = abspath(c, c->synapse_database);
		free(c->synapse_database);
		c->synapse_database = p;
	}
	if (c->retention_allowed_min_ms > 0 && c->retention_allowed_max_ms > 0 &&
	    c->retention_allowed_min_ms > c->retention_allowed_max_ms)
		adderr(errs, errsz, &nerr, "%s: retention.allowed_lifetime_min is greater than"
		    " retention.allowed_lifetime_max", path);
	if (c->retention_default_min_ms > 0 && c->retention_default_max_ms > 0 &&
	    c->retention_default_min_ms > c->retention_default_max_ms)
		adderr(errs, errsz, &nerr, "%s: retention.default_policy.min_lifetime is greater"
		    " than retention.default_policy.max_lifetime", path);
	if (c->retention_purge_interval_ms < 1000)
		adderr(errs, errsz, &nerr, "%s: retention.purge_interval: at least 1s", path);
	if (c->synapse_database != NULL && c->synapse_media_store == NULL)
		adderr(errs, errsz, &nerr, "%s: synapse_database needs synapse_media_store", path);
	if (c->public_baseurl == NULL && c->server_name != NULL &&
	    asprintf(&c->public_baseurl, "https://%s/", c->server_name) == -1)
		c->public_baseurl = NULL;
	if (c->listen == NULL)
		c->listen = strdup("127.0.0.1:8008");
	if (c->run_dir == NULL)
		c->run_dir = c->dir != NULL ? strdup(c->dir) : strdup(".");
	if (c->signing_key_path == NULL)
		c->signing_key_path = abspath(c, "signing.key");
	if (c->media_path == NULL)
		c->media_path = abspath(c, "media");
	/*
	 * Version 10, not the spec's 12: clients that predate version 12
	 * (nheko 0.11) fail on its room IDs without ":server" and its
	 * creators missing from the power levels.  See myelin.conf(5).
	 */
	if (c->default_room_version == NULL &&
	    (c->default_room_version = strdup("10")) == NULL)
		adderr(errs, errsz, &nerr, "%s: out of memory", path);
	if (c->turn_username != NULL && c->turn_password == NULL)
		adderr(errs, errsz, &nerr, "%s: turn_username needs turn_password", path);
	if (c->federation_listen != NULL && (c->tls_certificate == NULL ||
	    c->tls_certificate_key == NULL))
		adderr(errs, errsz, &nerr, "%s: federation_listen needs tls_certificate and"
		    " tls_certificate_key", path);
	/* Every list of networks outbound requests may reach, one rule. */
	{
		const struct { const char *key, *list; } nets[] = {
			{ "federation_allow_ips", c->federation_allow_ips },
			{ "identity_allow_ips", c->identity_allow_ips },
			{ "push_allow_ips", c->push_allow_ips },
			{ "url_preview_ip_range_whitelist", c->url_preview_allow_ips },
		};
		struct mhttp_allow a;

		for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++)
			if (nets[i].list != NULL && mhttp_allow_parse(nets[i].list, &a) == -1)
				adderr(errs, errsz, &nerr, "%s: %s: expected at most %d"
				    " addresses or CIDR networks", path, nets[i].key,
				    MHTTP_ALLOW_MAX);
	}
	if (c->app_service_config_files != NULL && c->server_name != NULL)
		appservices_load(c, errs, errsz, &nerr);
	if (c->registration_requires_token && !c->enable_registration)
		adderr(errs, errsz, &nerr, "%s: registration_requires_token needs enable_registration = yes", path);
	if (nerr > 0) {
		mconfig_free(c);
		return NULL;
	}
	return c;
}

int
mconfig_threads(const struct mconfig *c, const char *name)
{
	if (strcmp(name, "client") == 0)
		return c->threads_client;
	if (strcmp(name, "admin") == 0)
		return c->threads_admin;
	if (strcmp(name, "sync") == 0)
		return c->threads_sync;
	if (strcmp(name, "federation") == 0)
		return c->threads_federation;
	if (strcmp(name, "media") == 0)
		return c->threads_media;
	return 0;
}
