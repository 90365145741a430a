/*
 * myelin-federation beside a running Synapse (docs/beside-synapse.md):
 * the server's identity and discovery only.  GET /_matrix/key/v2/server
 * is signed with Synapse's own signing key (synapse_signing_key), and
 * nginx answers the well-known documents; the federation API itself
 * stays Synapse's.  Chosen by synapse_database in the config.
 */
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "fed/fed.h"
#include "sandbox/sandbox.h"

#define K2 "/_matrix/key/v2"

/*
 * Spec: S-S API, GET /_matrix/key/v2/server, as Synapse answers it for
 * this server name: its key, signed with it.  Synapse's old_signing_keys
 * (YAML) are not read: old_verify_keys lists those of
 * synapse_signing_key.old ("KEY_ID PUBLIC_KEY EXPIRED_TS" lines), if
 * that file exists, never myelin's own.
 */
static int
h_syn_key_server(struct mreq *req)
{
	struct mconfig	 c = *req->conf;
	json_t		*out;

	c.signing_key_path = req->conf->synapse_signing_key;
	if ((out = mfed_keys_own(&c, req->srv->key)) == NULL)
		return mfcgi_fail(req, MERR_INTERNAL, "%s: cannot sign the key answer", __func__);
	return mfcgi_reply(req, 200, out);
}

/* nginx locations come from this table (mfcgi_nginx): nothing else is ours. */
static const struct mroute syn_routes[] = {
	{ MM_GET,	K2 "/server",			MAUTH_NONE,	h_syn_key_server },
	{ MM_GET,	K2 "/server/{keyId}",		MAUTH_NONE,	h_syn_key_server },
};

static const char *
syn_key_path(const struct mconfig *conf)
{
	return conf->synapse_signing_key;
}

static const struct mapp syn_app = {
	.name = "federation",
	.routes = syn_routes,
	.routesz = sizeof(syn_routes) / sizeof(syn_routes[0]),
	.needs_key = 1,
	.nginx_extra = mfcgi_nginx_well_known,
	.db_open = msyn_open,
	.key_path = syn_key_path,
	.sandbox = MSANDBOX_NET | MSANDBOX_MEDIA | MSANDBOX_KEY,
};

const struct mapp *
federation_synapse_mode(const struct mconfig *conf)
{
	return conf->synapse_database != NULL ? &syn_app : NULL;
}
