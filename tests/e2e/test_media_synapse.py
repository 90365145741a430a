"""Remote media with a real Synapse 1.67 (../shared/peers/synapse; skipped,
saying so, when the kit is absent): Synapse has no federation v1 media
endpoints, so myelin falls back to the legacy download path, and
Synapse fetches myelin's media by that path too."""
import json
import os
import urllib.request

from conftest import q
from test_federation_keys import (  # noqa: F401 (fixtures)
    ca, fstack, synapse, synapse_user)
from test_media import M3, C1, fetch, png


def synapse_raw(synapse, method, path, token, data=None, ctype=None):
    req = urllib.request.Request(synapse["SYNAPSE_BASE_URL"] + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_myelin_downloads_synapse_media_by_the_legacy_path(fstack, synapse):
    token = synapse_user(synapse, "mediaup")
    data = png(50, 20)
    st, body = synapse_raw(synapse, "POST", M3 + "/upload?filename=s.png", token, data,
                           "image/png")
    assert st == 200, body
    mxc = json.loads(body)["content_uri"]
    assert mxc.startswith("mxc://%s/" % synapse["SYNAPSE_SERVER_NAME"])
    me = fstack.register("synmedia%d" % os.getpid())
    server, mid = mxc[6:].split("/")
    st, h, got = fetch(fstack, "GET", C1 + "/download/%s/%s" % (q(server), mid),
                       me["access_token"])
    assert st == 200 and got == data, (st, got[:200])
    assert h["content-type"] == "image/png"
    # Synapse 1.67 has no /_matrix/federation/v1/media: the legacy path answered.
    with open(os.path.join(fstack.dir, "log", "media.log")) as f:
        assert "remote media %s/%s: %d bytes cached" % (server, mid, len(data)) in f.read()


def test_synapse_downloads_myelin_media(fstack, synapse):
    me = fstack.register("synmedia2%d" % os.getpid())
    data = b"from myelin " * 100
    st, _, body = fetch(fstack, "POST", M3 + "/upload", me["access_token"], data,
                        {"Content-Type": "text/plain"})
    assert st == 200, body
    mxc = json.loads(body)["content_uri"]
    token = synapse_user(synapse, "mediadown")
    st, got = synapse_raw(synapse, "GET", M3 + "/download/" + mxc[6:], token)
    assert st == 200 and got == data, (st, got[:200])
