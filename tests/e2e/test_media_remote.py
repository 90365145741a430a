"""Media of others (issue 13): URL previews through lib/http, media of
another server fetched over federation and cached, retention and purges
of old local and remote media, per-user quotas.

Two myelin stacks federate here (test_federation_keys.py's CA and stack
kind); the preview tests run a page server on loopback."""
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import (STACK, FakeClock, admin_login, free_port, media_path, own_pg_database,
                      q)
from test_federation_keys import FedStack, ca, fed_stack, remote  # noqa: F401 (fixtures)
from test_media import M3, C1, fetch, png


# A page server on loopback: /page has OpenGraph tags and an og:image,
# /plain a <title> and a meta description only; hits counts requests.
class Pages:
    def __init__(self, host="127.0.0.1"):
        self.hits = []
        self.image = png(40, 30)
        pages = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                pages.hits.append(self.path)
                if self.path == "/page":
                    body = (b"<!doctype html><html><head>"
                            b"<meta charset=utf-8><title>ignored title</title>"
                            b"<meta property='og:title' content='A &amp; B &#233;t&#xE9;'>"
                            b"<meta property=\"og:description\" content=\"Some words\">"
                            b"<meta property=\"og:image\" content=\"/img.png\">"
                            b"<meta property=\"og:image:width\" content=\"40\">"
                            b"</head><body><meta property='og:type' content='late'>"
                            b"</body></html>")
                    ct = "text/html; charset=utf-8"
                elif self.path == "/plain":
                    body = (b"<html><head><title>\n Plain page </title>"
                            b"<meta name=description content='described'></head></html>")
                    ct = "text/html"
                elif self.path == "/img.png":
                    body, ct = pages.image, "image/png"
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", ct)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer((host, 0), H)
        self.port = self.httpd.server_address[1]
        self.base = "http://%s:%d" % (host, self.port)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def make_fstack(ca_dir, name, extra=""):
    """A myelin stack federating over TLS on loopback, on a fake clock."""
    return fed_stack(ca_dir, name, extra, clock=FakeClock())


def stop_fstack(s):
    subprocess.run([STACK, "down", s.dir], check=True, timeout=60)
    os.unlink(s.clock.path)
    bad = s.check_logs()
    if os.environ.get("MYELIN_TEST_KEEP") != "1":
        m = media_path(s.dir)
        if m.startswith("/var/lib/myelin/media."):
            shutil.rmtree(m, ignore_errors=True)
        shutil.rmtree(s.dir, ignore_errors=True)
    assert not bad, "problems in logs:\n" + "\n".join(bad)


@pytest.fixture(scope="module")
def two(ca):  # noqa: F811
    """Stack a (previews allowed on 127.0.0.1 only, a quota of 40,000
    bytes a user) and stack b, which fetches a's media and keeps local
    media 3 days, remote media 2 days after their last access."""
    a = make_fstack(ca, "ma", "url_preview_enabled = yes\n"
                    "url_preview_ip_range_whitelist = 127.0.0.1/32\n"
                    "max_upload_size_per_user = 40000\n")
    b = make_fstack(ca, "mb", "media_retention_local_lifetime = 3d\n"
                    "media_retention_remote_lifetime = 2d\n")
    yield a, b
    stop_fstack(b)
    stop_fstack(a)


@pytest.fixture(scope="module")
def pages():
    p = Pages()
    yield p
    p.stop()


def upload(stack, token, data, ct="image/png", name=None):
    path = M3 + "/upload" + ("?filename=" + q(name) if name else "")
    st, _, body = fetch(stack, "POST", path, token, data, {"Content-Type": ct})
    assert st == 200, body
    return json.loads(body)["content_uri"]


def preview(stack, token, url, legacy=False):
    base = M3 if legacy else C1
    return stack.request("GET", base + "/preview_url?url=" + urllib.parse.quote(url, safe=""),
                         token=token)


# URL previews.


def test_preview_of_an_allowlisted_page_has_its_opengraph_and_image(two, pages):
    a, _ = two
    u = a.register("pv1")
    st, og = preview(a, u["access_token"], pages.base + "/page")
    assert st == 200, og
    assert og["og:title"] == "A & B \u00e9t\u00e9"
    assert og["og:description"] == "Some words"
    # The image's own size, over what the tags said (as Synapse).
    assert og["og:image:width"] == 40 and og["og:image:height"] == 30
    # Tags after <body> are not the head's.
    assert "og:type" not in og
    # The image is fetched and stored as local media, downloadable.
    assert og["og:image"].startswith("mxc://%s/" % a.server_name)
    assert og["og:image:type"] == "image/png"
    assert og["matrix:image:size"] == len(pages.image)
    st, _, data = fetch(a, "GET", M3 + "/download/" + og["og:image"][6:])
    assert st == 200 and data == pages.image
    # Cached per URL: asked again (the legacy path too), the page is not fetched again.
    n = pages.hits.count("/page")
    st, again = preview(a, u["access_token"], pages.base + "/page", legacy=True)
    assert st == 200 and again == og
    assert pages.hits.count("/page") == n


def test_preview_falls_back_to_title_and_meta_description(two, pages):
    a, _ = two
    u = a.register("pv2")
    st, og = preview(a, u["access_token"], pages.base + "/plain")
    assert st == 200, og
    assert og == {"og:title": "Plain page", "og:description": "described"}


def test_preview_of_a_loopback_address_not_allowlisted_is_refused(two):
    """127.0.0.2 is loopback outside the allowlist: refused on the
    address connected to, and the page server never hears of it."""
    a, _ = two
    u = a.register("pv3")
    try:
        other = Pages("127.0.0.2")
    except OSError:
        pytest.skip("cannot listen on 127.0.0.2")
    try:
        st, body = preview(a, u["access_token"], other.base + "/page")
        assert st == 502 and body["errcode"] == "M_UNKNOWN", body
        # A name that resolves to loopback is judged by its address too.
        st, body = preview(a, u["access_token"],
                           "http://localhost:%d/page" % other.port)
        assert st == 502, body
        assert other.hits == []
    finally:
        other.stop()


def test_preview_refused_everywhere_without_allowlist_and_off_by_default(two, pages):
    """Stack b has previews off (the default): 404 M_UNRECOGNIZED as
    Synapse, which registers no route then."""
    _, b = two
    u = b.register("pv4")
    st, body = preview(b, u["access_token"], pages.base + "/page")
    assert st == 404 and body["errcode"] == "M_UNRECOGNIZED", body


def test_preview_bad_urls(two):
    a, _ = two
    u = a.register("pv5")
    st, body = a.request("GET", C1 + "/preview_url", token=u["access_token"])
    assert st == 400 and body["errcode"] == "M_MISSING_PARAM", body
    for bad in ("file:///etc/passwd", "gopher://x/", "not a url"):
        st, body = preview(a, u["access_token"], bad)
        assert st == 400 and body["errcode"] == "M_INVALID_PARAM", (bad, body)
    st, body = a.request("GET", C1 + "/preview_url?url=x")
    assert st == 401 and body["errcode"] == "M_MISSING_TOKEN"


# Remote media.


def test_remote_download_across_two_stacks_bytes_equal(two):
    a, b = two
    ua, ub = a.register("rm1"), b.register("rm1")
    data = png(64, 48)
    mxc = upload(a, ua["access_token"], data, name="pic.png")
    server, mid = mxc[6:].split("/")
    assert server == a.server_name
    # Authenticated and legacy paths of b, fetched from a and cached.
    st, h, got = fetch(b, "GET", C1 + "/download/%s/%s" % (q(server), mid), ub["access_token"])
    assert st == 200 and got == data, (st, got[:200])
    assert h["content-type"] == "image/png"
    assert "sandbox" in h["content-security-policy"]
    st, _, got = fetch(b, "GET", M3 + "/download/%s/%s/x.png" % (q(server), mid))
    assert st == 200 and got == data
    # a was asked over federation v1 media (X-Matrix), once: later reads are b's cache.
    with open(os.path.join(a.dir, "log", "access.log")) as f:
        asked = [line for line in f if "/_matrix/federation/v1/media/download/" + mid in line]
    assert len(asked) == 1 and " 200 " in asked[0], asked
    # The copy is b's: in its remote store, under media_path/remote.
    cached = [f for d, _, fs in os.walk(os.path.join(media_path(b.dir), "remote"))
              for f in fs]
    assert len(cached) == 1
    # A thumbnail of it, made by b.
    st, h, got = fetch(b, "GET", C1 + "/thumbnail/%s/%s?width=32&height=32&method=crop" % (
        q(server), mid), ub["access_token"])
    assert st == 200 and got.startswith(b"\x89PNG"), (st, got[:200])


def test_remote_unknown_media_is_not_found(two):
    a, b = two
    ub = b.register("rm2")
    st, _, body = fetch(b, "GET", C1 + "/download/%s/NoSuchMediaHere123" % q(a.server_name),
                        ub["access_token"])
    assert st == 404 and b"M_NOT_FOUND" in body
    # A server that does not answer at all: 404 too, never a fake success.
    st, _, body = fetch(b, "GET", C1 + "/download/localhost:1/abcdefgh", ub["access_token"])
    assert st == 404 and b"M_NOT_FOUND" in body
    # allow_remote=false keeps the legacy path to what is cached.
    ua = a.register("rm2")
    mxc = upload(a, ua["access_token"], b"hello", ct="text/plain")
    st, _, body = fetch(b, "GET", M3 + "/download/%s?allow_remote=false" % mxc[6:])
    assert st == 404 and b"M_NOT_FOUND" in body


def fed_raw(stack, path, authorization=None):
    req = urllib.request.Request(stack.fed_base + path)
    if authorization:
        req.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(req, timeout=30, context=stack.ssl) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def multipart(ctype, body):
    """The parts of a multipart/mixed body: [(headers dict, content)]."""
    assert ctype.startswith("multipart/mixed"), ctype
    b = ctype.split("boundary=", 1)[1].strip('"').encode()
    parts = []
    for chunk in body.split(b"--" + b)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, content = chunk[2:].partition(b"\r\n\r\n")
        hdrs = dict(line.split(b": ", 1) for line in head.split(b"\r\n") if line)
        parts.append(({k.decode().lower(): v.decode() for k, v in hdrs.items()},
                      content[:-2] if content.endswith(b"\r\n") else content))
    return parts


def test_quarantined_remote_media_is_not_served(two):
    """myelin-admin media quarantine mxc://OTHER/ID quarantines the copy
    cached here: 404, and not fetched again; unquarantined, served."""
    a, b = two
    ua, ub = a.register("rq1"), b.register("rq1")
    mxc = upload(a, ua["access_token"], b"quarantine me", ct="text/plain")
    path = C1 + "/download/" + mxc[6:]
    st, _, got = fetch(b, "GET", path, ub["access_token"])
    assert st == 200 and got == b"quarantine me"
    r = b.admin("media", "quarantine", mxc)
    assert r.returncode == 0, r.stderr
    st, _, body = fetch(b, "GET", path, ub["access_token"])
    assert st == 404 and b"M_NOT_FOUND" in body
    r = b.admin("media", "unquarantine", mxc)
    assert r.returncode == 0, r.stderr
    st, _, got = fetch(b, "GET", path, ub["access_token"])
    assert st == 200 and got == b"quarantine me"
    # Not cached: nothing to quarantine.
    r = b.admin("media", "quarantine", "mxc://%s/NotCachedHere1" % a.server_name)
    assert r.returncode != 0


def test_federation_download_and_thumbnail_are_multipart(two, remote):  # noqa: F811
    """Another server's signed GET /_matrix/federation/v1/media/download
    and /thumbnail: a JSON part, then the bytes; unsigned, 401."""
    a, _ = two
    ua = a.register("rm3")
    data = png(200, 100)
    mid = upload(a, ua["access_token"], data).split("/")[-1]
    for _ in range(2):  # made once, then sent as the same file
        path = "/_matrix/federation/v1/media/download/" + mid
        st, ct, body = fed_raw(a, path, remote.authorization(a.server_name, "GET", path))
        assert st == 200, body[:300]
        (h1, j), (h2, got) = multipart(ct, body)
        assert h1["content-type"] == "application/json" and json.loads(j) == {}
        assert h2["content-type"] == "image/png" and got == data
    path = "/_matrix/federation/v1/media/thumbnail/%s?width=32&height=32&method=crop" % mid
    st, ct, body = fed_raw(a, path, remote.authorization(a.server_name, "GET", path))
    assert st == 200, body[:300]
    (h1, j), (h2, got) = multipart(ct, body)
    assert h2["content-type"] == "image/png" and got.startswith(b"\x89PNG")
    # Errors are the usual JSON ones.
    path = "/_matrix/federation/v1/media/thumbnail/%s" % mid
    st, _, body = fed_raw(a, path, remote.authorization(a.server_name, "GET", path))
    assert st == 400 and json.loads(body)["errcode"] == "M_MISSING_PARAM"
    path = "/_matrix/federation/v1/media/download/NoSuchMedia123"
    st, _, body = fed_raw(a, path, remote.authorization(a.server_name, "GET", path))
    assert st == 404 and json.loads(body)["errcode"] == "M_NOT_FOUND"
    st, _, body = fed_raw(a, "/_matrix/federation/v1/media/download/" + mid)
    assert st == 401, body


def test_remote_server_without_media_endpoints_is_not_found(two, remote):  # noqa: F811
    """A server answering 404 without JSON to both the v1 and the legacy
    paths (the Python remote): 404 M_NOT_FOUND, nothing cached."""
    _, b = two
    ub = b.register("rm4")
    st, _, body = fetch(b, "GET", C1 + "/download/%s/abcdefgh" % q(remote.name),
                        ub["access_token"])
    assert st == 404 and b"M_NOT_FOUND" in body


def test_purge_removes_old_remote_and_local_media_by_date(two):
    a, b = two
    ua, ub = a.register("pg1"), b.register("pg1")
    remote = upload(a, ua["access_token"], b"remote bytes", ct="text/plain")
    st, _, got = fetch(b, "GET", M3 + "/download/" + remote[6:])
    assert st == 200 and got == b"remote bytes"
    local = upload(b, ub["access_token"], b"local bytes", ct="text/plain")
    # A day later both were last read a day ago; purge what is older than an hour.
    b.clock.advance(24 * 3600 * 1000)
    fresh = upload(b, ub["access_token"], b"fresh bytes", ct="text/plain")
    before = str(b.clock.now - 3600 * 1000)
    r = b.admin("media", "purge", "--before", before, "--quiet", json_out=True)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert local.split("/")[-1] in out["deleted_media"]
    assert "%s/%s" % (a.server_name, remote.split("/")[-1]) in out["deleted_media"]
    assert fresh.split("/")[-1] not in out["deleted_media"]
    st, _, _ = fetch(b, "GET", M3 + "/download/" + local[6:])
    assert st == 404
    st, _, got = fetch(b, "GET", M3 + "/download/" + fresh[6:])
    assert st == 200 and got == b"fresh bytes"
    cached = [f for d, _, fs in os.walk(os.path.join(media_path(b.dir), "remote"))
              for f in fs if f == remote.split("/")[-1][4:]]
    assert cached == []
    # The remote media is fetched again when asked for again.
    st, _, got = fetch(b, "GET", M3 + "/download/" + remote[6:])
    assert st == 200 and got == b"remote bytes"


def media_file(stack, kind, mxc):
    """The file of mxc under the stack's media_path (kind "local" or
    "remote"), read without a download, which would move its last access."""
    server, mid = mxc[6:].split("/")
    parts = [media_path(stack.dir), kind] + ([server] if kind == "remote" else [])
    return os.path.join(*parts, mid[:2], mid[2:4], mid[4:])


def gone(path, tries=100):
    """Whether path is removed within tries looks (myelin-timerd runs the
    media timer within 200 ms of a jump of the fake clock)."""
    for _ in range(tries):
        if not os.path.exists(path):
            return True
        time.sleep(0.1)
    return False


def test_retention_by_the_timer_daemon(two):
    """media_retention_remote_lifetime 2d, _local_lifetime 3d on b: past
    2 days the cached remote copy goes, the local medium stays; past 3
    days it goes too, and a download answers 404."""
    a, b = two
    ua, ub = a.register("rt1"), b.register("rt1")
    remote = upload(a, ua["access_token"], b"kept 2 days", ct="text/plain")
    st, _, got = fetch(b, "GET", M3 + "/download/" + remote[6:])
    assert st == 200 and got == b"kept 2 days"
    local = upload(b, ub["access_token"], b"kept 3 days", ct="text/plain")
    rfile, lfile = media_file(b, "remote", remote), media_file(b, "local", local)
    assert os.path.exists(rfile) and os.path.exists(lfile)
    b.clock.advance(2 * 24 * 3600 * 1000 + 3600 * 1000)
    assert gone(rfile)
    # The same run judged the local one: still there.
    assert os.path.exists(lfile)
    b.clock.advance(24 * 3600 * 1000)
    assert gone(lfile)
    st, _, _ = fetch(b, "GET", M3 + "/download/" + local[6:])
    assert st == 404
    st, _, _ = fetch(b, "GET", M3 + "/download/" + remote[6:] + "?allow_remote=false")
    assert st == 404
    with open(os.path.join(b.dir, "log", "timerd.log")) as f:
        assert "media retention: " in f.read()


def test_admin_api_purge_media_cache_removes_old_remote_copies(two):
    """Synapse's POST /_synapse/admin/v1/purge_media_cache?before_ts=."""
    a, b = two
    ua = a.register("pc1")
    admin = admin_login(b, "pcadmin", "pw-pcadmin")
    old = upload(a, ua["access_token"], b"old copy", ct="text/plain")
    st, _, _ = fetch(b, "GET", M3 + "/download/" + old[6:])
    assert st == 200
    rfile = media_file(b, "remote", old)
    b.clock.advance(3600 * 1000)
    st, body = b.request("POST", "/_synapse/admin/v1/purge_media_cache?before_ts=%d" % (
        b.clock.now - 60 * 1000), {}, token=admin["access_token"])
    assert st == 200 and body["deleted"] >= 1, body
    assert not os.path.exists(rfile)
    st, body = b.request("POST", "/_synapse/admin/v1/purge_media_cache", {},
                         token=admin["access_token"])
    assert st == 400 and body["errcode"] == "M_MISSING_PARAM"


# Quotas.


def test_upload_quota_per_user(two):
    """max_upload_size_per_user 40,000: the upload that would pass it is
    refused with 400 M_RESOURCE_LIMIT_EXCEEDED, and leaves no file."""
    a, _ = two
    u = a.register("qt1")
    upload(a, u["access_token"], b"x" * 30000, ct="application/octet-stream")
    before = sum(len(fs) for _, _, fs in os.walk(os.path.join(media_path(a.dir), "local")))
    st, _, body = fetch(a, "POST", M3 + "/upload", u["access_token"], b"y" * 20000,
                        {"Content-Type": "application/octet-stream"})
    assert st == 400 and b"M_RESOURCE_LIMIT_EXCEEDED" in body, (st, body)
    after = sum(len(fs) for _, _, fs in os.walk(os.path.join(media_path(a.dir), "local")))
    assert after == before
    # Another user has a quota of their own.
    v = a.register("qt2")
    upload(a, v["access_token"], b"z" * 20000, ct="application/octet-stream")


# Animated thumbnails.


def gif_frames(n=3, size=(400, 300)):
    import io
    from PIL import Image
    frames = [Image.new("RGB", size, (80 * i % 256, 40, 200 - 50 * i)) for i in range(n)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


def test_animated_thumbnail_has_several_frames(two):
    import io
    from PIL import Image
    a, _ = two
    u = a.register("an1")
    mxc = upload(a, u["access_token"], gif_frames(), ct="image/gif")
    path = C1 + "/thumbnail/%s?width=32&height=32&method=scale" % mxc[6:]
    st, h, got = fetch(a, "GET", path + "&animated=true", u["access_token"])
    assert st == 200, got[:200]
    assert h["content-type"] == "image/gif"
    im = Image.open(io.BytesIO(got))
    # 320 x 240: the smallest scale size of at least 32 x 32, shrunk, every frame.
    assert im.n_frames == 3 and im.size == (320, 240)
    # Not asked for (or false): a still image, as the spec has it.
    for extra in ("", "&animated=false"):
        st, h, got = fetch(a, "GET", path + extra, u["access_token"])
        assert st == 200 and h["content-type"] == "image/png", (extra, got[:200])
        assert getattr(Image.open(io.BytesIO(got)), "n_frames", 1) == 1
    st, _, body = fetch(a, "GET", path + "&animated=yes", u["access_token"])
    assert st == 400 and b"M_INVALID_PARAM" in body
