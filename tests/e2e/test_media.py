"""The media repository (issue 13): myelin-media behind nginx.

Uploads reach the handler as files nginx wrote; downloads and thumbnails
leave as X-Accel-Redirect answers whose bytes nginx sends.  Each test
names the behaviour a client or a sysadmin depends on.
"""
import http.client
import json
import os
import re
import struct
import subprocess
import zlib

import nio
import pytest

from conftest import (User, admin_login, media_path, nio_clients, q,
                      start_stack, stop_stack)

M3 = "/_matrix/media/v3"
C1 = "/_matrix/client/v1/media"


def png(w, h, gray=False):
    """A PNG of w x h pixels (a gradient; all black when gray)."""
    def chunk(t, d):
        return (struct.pack(">I", len(d)) + t + d +
                struct.pack(">I", zlib.crc32(t + d) & 0xffffffff))
    co = zlib.compressobj(9)
    parts = []
    if gray:
        row = bytes(1 + w)
        parts = [co.compress(row) for _ in range(h)]
    else:
        for y in range(h):
            parts.append(co.compress(b"\0" + bytes(
                (x + y + c * 50) & 255 for x in range(w) for c in range(3))))
    parts.append(co.flush())
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0 if gray else 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b""))


def fetch(stack, method, path, token=None, body=None, headers=None, chunked=False):
    """A raw request: (status, headers as a dict of lower-case names, bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=60)
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    if chunked:
        conn.putrequest(method, path)
        for k, v in h.items():
            conn.putheader(k, v)
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for i in range(0, len(body), 65536):
            part = body[i:i + 65536]
            try:
                conn.send(b"%x\r\n%s\r\n" % (len(part), part))
            except OSError:
                break
        try:
            conn.send(b"0\r\n\r\n")
        except OSError:
            pass
    else:
        conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    conn.close()
    return r.status, hdrs, data


def upload(stack, token, data, ctype="application/octet-stream", filename=None):
    path = M3 + "/upload" + ("?filename=" + q(filename) if filename is not None else "")
    status, _, body = fetch(stack, "POST", path, token, data, {"Content-Type": ctype})
    assert status == 200, body
    uri = json.loads(body)["content_uri"]
    assert uri.startswith("mxc://%s/" % stack.server_name)
    return uri[len("mxc://%s/" % stack.server_name):]


def media_log(stack):
    with open(os.path.join(stack.dir, "log", "media.log"), errors="replace") as f:
        return f.read()


def stored_files(stack):
    """Every file under media_path, relative to it."""
    root = media_path(stack.dir)
    out = []
    for d, _, files in os.walk(root):
        out += [os.path.relpath(os.path.join(d, f), root) for f in files]
    return sorted(out)


def nginx_body_files(stack):
    """Files nginx left in its client_body_temp_path."""
    rt = stack.dir
    p = os.path.join(stack.dir, "run", "runtime_dir")
    if os.path.exists(p):
        with open(p) as f:
            rt = f.read().strip()
    out = []
    for d, _, files in os.walk(os.path.join(rt, "tmp", "body")):
        out += files
    return out


def pid_of(stack, name):
    with open(os.path.join(stack.dir, "run", name + ".pid")) as f:
        return int(f.read())


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.M).group(1))


@pytest.fixture(scope="module")
def small_stack():
    """A stack of its own with a 64 kB upload limit."""
    s = start_stack(extra_conf="max_upload_size = 65536\n")
    yield s
    stop_stack(s)


def test_nio_avatar_download_and_thumbnail_through_nginx(stack, uniq):
    """matrix-nio uploads a PNG and sets it as its avatar; another user
    reads the avatar URL from the profile, downloads it and a thumbnail
    on both the authenticated and the legacy paths, bytes compared.  The
    handler's own log says nginx sent them and that it read no byte of
    the media."""
    alice = User.register(stack, uniq("alice"))
    bob = User.register(stack, uniq("bob"))
    image = png(200, 150)

    async def go(client):
        resp, _ = await client.upload(lambda *a: image, content_type="image/png",
                                      filename="avatar.png", filesize=len(image))
        assert isinstance(resp, nio.UploadResponse), resp
        set_resp = await client.set_avatar(resp.content_uri)
        assert isinstance(set_resp, nio.ProfileSetAvatarResponse), set_resp
        return resp.content_uri
    uri = nio_clients(stack, [alice], go)
    status, prof = bob.call("GET", "/profile/%s" % q(alice.user_id))
    assert status == 200 and prof["avatar_url"] == uri
    server, media_id = uri[len("mxc://"):].split("/")
    for path, token in ((C1 + "/download/%s/%s" % (server, media_id), bob.token),
                        (M3 + "/download/%s/%s" % (server, media_id), None)):
        status, h, data = fetch(stack, "GET", path, token)
        assert status == 200 and data == image
        assert h["content-type"] == "image/png"
        assert h["content-disposition"] == "inline; filename=avatar.png"
        assert h["cross-origin-resource-policy"] == "cross-origin"
        assert h["content-security-policy"].startswith("sandbox; default-src 'none'")
    status, h, thumb = fetch(stack, "GET", C1 + "/thumbnail/%s/%s?width=96&height=96&method=crop"
                             % (server, media_id), bob.token)
    assert status == 200 and h["content-type"] == "image/png"
    assert thumb[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", thumb[16:24]) == (96, 96)
    # Made once: the second answer is the cached file, the same bytes.
    status, _, again = fetch(stack, "GET", M3 + "/thumbnail/%s/%s?width=96&height=96&method=crop"
                             % (server, media_id))
    assert status == 200 and again == thumb
    log = media_log(stack)
    assert re.search(r"download %s: sent by nginx, handler read 0 media bytes" % media_id, log)
    assert "thumbnail %s 96x96-crop: sent by nginx" % media_id in log
    assert not re.search(r"handler read [1-9]", log)


def test_authenticated_endpoints_refuse_a_missing_token(stack, account):
    """Spec: the upload, config and the Matrix 1.11 download, thumbnail
    and create endpoints need a token: 401 M_MISSING_TOKEN."""
    media_id = upload(stack, account["access_token"], b"secret bytes")
    for method, path in (("POST", M3 + "/upload"), ("POST", "/_matrix/media/v1/create"),
                         ("GET", M3 + "/config"), ("GET", C1 + "/config"),
                         ("GET", C1 + "/download/localhost/" + media_id),
                         ("GET", C1 + "/thumbnail/localhost/%s?width=32&height=32" % media_id)):
        status, body = stack.request(method, path, raw=b"x" if method == "POST" else None)
        assert (status, body["errcode"]) == (401, "M_MISSING_TOKEN"), (path, body)


def test_config_gives_the_upload_limit(small_stack):
    u = User.register(small_stack, "cfg")
    for path in (M3 + "/config", C1 + "/config", "/_matrix/media/r0/config"):
        status, body = u.call("GET", path)
        assert status == 200 and body == {"m.upload.size": 65536}


def test_oversized_upload_is_413_and_leaves_no_file(small_stack):
    """Past max_upload_size: 413 M_TOO_LARGE whether the length is
    declared or the body comes chunked, and neither the media store nor
    nginx's temporary folder keeps a byte of it."""
    u = User.register(small_stack, "big")
    before = stored_files(small_stack)
    for chunked in (False, True):
        status, _, body = fetch(small_stack, "POST", M3 + "/upload", u.token, b"z" * 200000,
                                {"Content-Type": "application/octet-stream"}, chunked=chunked)
        assert status == 413 and b"M_TOO_LARGE" in body, body
    assert stored_files(small_stack) == before
    assert nginx_body_files(small_stack) == []
    # Just under the limit is fine, and its nginx file is gone after.
    media_id = upload(small_stack, u.token, b"y" * 65536)
    assert nginx_body_files(small_stack) == []
    assert len([f for f in stored_files(small_stack) if f.endswith(media_id[4:])]) == 1


def test_unknown_and_remote_media_are_not_found(stack, account):
    tok = account["access_token"]
    for path in (C1 + "/download/localhost/AAAAAAAAAAAAAAAAAAAAAAAA",
                 M3 + "/download/localhost/AAAAAAAAAAAAAAAAAAAAAAAA",
                 C1 + "/thumbnail/localhost/AAAAAAAAAAAAAAAAAAAAAAAA?width=32&height=32",
                 # Remote media waits for federation: never a fake success.
                 C1 + "/download/other.example/AAAAAAAAAAAAAAAAAAAAAAAA",
                 M3 + "/download/other.example/AAAAAAAAAAAAAAAAAAAAAAAA"):
        status, body = stack.request("GET", path, token=tok)
        assert (status, body["errcode"]) == (404, "M_NOT_FOUND"), path


def test_file_names_cannot_escape_media_path(stack, account):
    """A file name only ever names the download: ../ in it, in the
    {fileName} of the path or in a media ID reaches no file outside
    media_path, and a NUL is refused at the edge."""
    tok = account["access_token"]
    media_id = upload(stack, tok, b"plain", "text/plain", filename="../../../../etc/passwd")
    for f in stored_files(stack):
        assert ".." not in f and "passwd" not in f
    status, h, data = fetch(stack, "GET", C1 + "/download/localhost/" + media_id, tok)
    assert status == 200 and data == b"plain"
    assert h["content-disposition"] == \
        "inline; filename*=utf-8''..%2F..%2F..%2F..%2Fetc%2Fpasswd"
    status, h, data = fetch(stack, "GET", C1 + "/download/localhost/%s/%s"
                            % (media_id, q("../../x\r\nSet-Cookie: a=b")), tok)
    assert status == 200 and data == b"plain" and "set-cookie" not in h
    assert h["content-disposition"].startswith("inline; filename*=utf-8''..%2F..%2Fx%0D%0A")
    for bad in ("..%2F..%2F..%2Fetc%2Fpasswd", "..", "%2e%2e", media_id + "%2F..%2F.."):
        status, body = stack.request("GET", C1 + "/download/localhost/" + bad, token=tok)
        assert status == 404, (bad, body)
    status, body = stack.request("GET", C1 + "/download/localhost/%s/a%%00b" % media_id,
                                 token=tok)
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")
    status, _, body = fetch(stack, "POST", M3 + "/upload?filename=a%00b", tok, b"x")
    assert status == 400 and b"M_INVALID_PARAM" in body


def test_html_is_an_attachment_with_the_csp(stack, account):
    """Spec (v1.12): only the listed safe types are inline; HTML is an
    attachment, sandboxed by the CSP, whatever name it was given."""
    page = b"<html><script>alert(1)</script></html>"
    media_id = upload(stack, account["access_token"], page, "text/html", filename="x.html")
    status, h, data = fetch(stack, "GET", M3 + "/download/localhost/" + media_id)
    assert status == 200 and data == page
    assert h["content-type"] == "text/html"
    assert h["content-disposition"] == "attachment; filename=x.html"
    assert "sandbox" in h["content-security-policy"]
    assert "default-src 'none'" in h["content-security-policy"]
    assert h["x-content-type-options"] == "nosniff"


def test_png_bomb_is_refused_not_decoded(stack, account):
    """A 20,000 x 20,000 PNG (400 megapixels, 400 kB compressed) gets no
    thumbnail: myelin-thumbnail reads its header, refuses it before
    decoding, and the handler stays small."""
    tok = account["access_token"]
    media_id = upload(stack, tok, png(20000, 20000, gray=True), "image/png")
    status, body = stack.request("GET", C1 + "/thumbnail/localhost/%s?width=320&height=240"
                                 % media_id, token=tok)
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    assert "400000000 pixels, over the limit of 32000000" in media_log(stack)
    # The whole decode would be 400 MB; the handler never held it.
    assert vm_hwm_kb(pid_of(stack, "media")) < 64 * 1024
    # The original still downloads: it is refused a thumbnail only.
    status, _, _ = fetch(stack, "GET", C1 + "/download/localhost/" + media_id, tok)
    assert status == 200


def test_default_sizes_made_at_upload(stack, account):
    """As Synapse: an image's default thumbnail sizes exist once its upload
    is answered, before anyone asks; a file that is not an image gets none
    and its upload still succeeds."""
    tok = account["access_token"]
    media_id = upload(stack, tok, png(1000, 800), "image/png")
    d = os.path.join(media_path(stack.dir), "thumb", media_id[:2], media_id[2:4], media_id[4:])
    assert sorted(os.listdir(d)) == sorted(
        ["32x32-crop", "96x96-crop", "320x240-scale", "640x480-scale", "800x600-scale"])
    made = os.stat(os.path.join(d, "96x96-crop"))
    status, h, data = fetch(stack, "GET", C1 + "/thumbnail/localhost/%s?width=96&height=96"
                            "&method=crop" % media_id, tok)
    assert status == 200 and struct.unpack(">II", data[16:24]) == (96, 96)
    # Served from what the upload made: not made again (a new one would be
    # a new file renamed into place).
    now = os.stat(os.path.join(d, "96x96-crop"))
    assert (now.st_ino, now.st_mtime_ns) == (made.st_ino, made.st_mtime_ns)
    media_id = upload(stack, tok, b"not an image at all", "image/png")
    d = os.path.join(media_path(stack.dir), "thumb", media_id[:2], media_id[2:4], media_id[4:])
    assert not os.path.exists(d) or os.listdir(d) == []


def test_thumbnail_parameters(stack, account):
    tok = account["access_token"]
    media_id = upload(stack, tok, png(64, 48), "image/png")
    status, body = stack.request("GET", C1 + "/thumbnail/localhost/%s?width=32" % media_id,
                                 token=tok)
    assert (status, body["errcode"]) == (400, "M_MISSING_PARAM")
    status, body = stack.request("GET", C1 + "/thumbnail/localhost/%s?width=32&height=32"
                                 "&method=zoom" % media_id, token=tok)
    assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")
    # Smaller than the size asked: not enlarged.
    status, h, data = fetch(stack, "GET", C1 + "/thumbnail/localhost/%s?width=640&height=480"
                            % media_id, tok)
    assert status == 200 and struct.unpack(">II", data[16:24]) == (64, 48)
    # Not an image: no thumbnail.
    other = upload(stack, tok, b"text", "text/plain")
    status, body = stack.request("GET", C1 + "/thumbnail/localhost/%s?width=32&height=32"
                                 % other, token=tok)
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")


def test_create_then_put_upload(stack, uniq):
    """Spec v1.7: POST /create gives an ID to PUT the content to later;
    only its creator may, once (409 M_CANNOT_OVERWRITE_MEDIA), and until
    then a download answers 504 M_NOT_YET_UPLOADED."""
    alice = User.register(stack, uniq("cr"))
    bob = User.register(stack, uniq("cr"))
    status, body = alice.call("POST", "/_matrix/media/v1/create", raw=b"")
    assert status == 200 and body["unused_expires_at"] > 0
    media_id = body["content_uri"].split("/")[-1]
    status, body = bob.call("GET", C1 + "/download/localhost/" + media_id)
    assert (status, body["errcode"]) == (504, "M_NOT_YET_UPLOADED")
    put = M3 + "/upload/localhost/" + media_id
    status, _, body = fetch(stack, "PUT", put, bob.token, b"mine", {"Content-Type": "text/plain"})
    assert status == 403 and b"M_FORBIDDEN" in body
    status, _, body = fetch(stack, "PUT", put + "?filename=a.txt", alice.token, b"late bytes",
                            {"Content-Type": "text/plain"})
    assert status == 200, body
    status, _, body = fetch(stack, "PUT", put, alice.token, b"again", {"Content-Type": "text/plain"})
    assert status == 409 and b"M_CANNOT_OVERWRITE_MEDIA" in body
    status, h, data = fetch(stack, "GET", C1 + "/download/localhost/" + media_id, bob.token)
    assert status == 200 and data == b"late bytes"
    assert h["content-disposition"] == "inline; filename=a.txt"
    status, _, body = fetch(stack, "PUT", M3 + "/upload/localhost/AAAAAAAAAAAAAAAAAAAAAAAA",
                            alice.token, b"x")
    assert status == 404 and b"M_NOT_FOUND" in body
    # Synapse's max_pending_media_uploads: 5 unused IDs at once.
    for _ in range(5):
        status, body = bob.call("POST", "/_matrix/media/v1/create", raw=b"")
        assert status == 200
    status, body = bob.call("POST", "/_matrix/media/v1/create", raw=b"")
    assert (status, body["errcode"]) == (429, "M_LIMIT_EXCEEDED")


def test_preview_url_is_off(stack, account):
    """No outbound HTTP layer yet: previews are off, said clearly."""
    status, body = stack.request("GET", C1 + "/preview_url?url=http%3A%2F%2F127.0.0.1%2F",
                                 token=account["access_token"])
    assert (status, body["errcode"]) == (404, "M_UNRECOGNIZED")


def test_enable_authenticated_media_refuses_legacy_downloads():
    """With enable_authenticated_media, media uploaded from then on are
    not served on the unauthenticated legacy paths (Synapse's switch)."""
    s = start_stack(extra_conf="enable_authenticated_media = yes\n")
    try:
        u = User.register(s, "authm")
        media_id = upload(s, u.token, b"private")
        status, body = s.request("GET", M3 + "/download/localhost/" + media_id)
        assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
        status, _, data = fetch(s, "GET", C1 + "/download/localhost/" + media_id, u.token)
        assert status == 200 and data == b"private"
    finally:
        stop_stack(s)


# -- administration ---------------------------------------------------------------

def synadm_run(stack, admin, home, *args):
    """synadm, configured by file for this stack and admin: its parsed JSON output."""
    conf = home / "synadm.yaml"
    conf.write_text(json.dumps({
        "user": admin.user_id, "token": admin.token, "base_url": stack.base,
        "admin_path": "/_synapse/admin", "matrix_path": "/_matrix", "timeout": 30,
        "server_discovery": "well-known", "homeserver": stack.server_name, "format": "json",
        "ssl_verify": True,
    }))
    r = subprocess.run(["synadm", "--batch", "-o", "json", "-c", str(conf)] + list(args),
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, HOME=str(home)))
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    for i in range(len(lines)):
        try:
            return json.loads("\n".join(lines[i:]))
        except ValueError:
            continue
    raise AssertionError("no JSON in %r" % r.stdout)


def test_synadm_lists_and_deletes_a_users_media(stack, uniq, tmp_path):
    """synadm lists a user's media through the Synapse admin API and
    deletes them: the rows and the files go, downloads answer 404."""
    admin = User(stack, admin_login(stack, uniq("madm"), "pw-madm"))
    u = User.register(stack, uniq("owner"))
    ids = [upload(stack, u.token, b"file %d" % i, "text/plain", "f%d.txt" % i)
           for i in range(3)]
    listed = synadm_run(stack, admin, tmp_path, "media", "list", "-u", u.user_id)
    assert listed["total"] == 3
    assert sorted(m["media_id"] for m in listed["media"]) == sorted(ids)
    m = [m for m in listed["media"] if m["media_id"] == ids[0]][0]
    assert (m["media_type"], m["upload_name"], m["media_length"]) == \
        ("text/plain", "f0.txt", 6)
    out = synadm_run(stack, admin, tmp_path, "media", "delete", "-i", ids[0])
    assert out == {"deleted_media": [ids[0]], "total": 1}
    status, body = stack.request("GET", M3 + "/download/localhost/" + ids[0])
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    assert not [f for f in stored_files(stack) if f.endswith(ids[0][4:])]
    status, body = admin.call("DELETE", "/_synapse/admin/v1/users/%s/media" % q(u.user_id))
    assert status == 200 and sorted(body["deleted_media"]) == sorted(ids[1:])
    assert body["total"] == 2
    listed = synadm_run(stack, admin, tmp_path, "media", "list", "-u", u.user_id)
    assert listed["total"] == 0 and listed["media"] == []
    for i in ids:
        assert not [f for f in stored_files(stack) if f.endswith(i[4:])]
    # Others' users and servers: Synapse's answers.
    status, body = admin.call("DELETE", "/_synapse/admin/v1/media/other.example/" + ids[1])
    assert status == 400
    status, body = admin.call("DELETE", "/_synapse/admin/v1/media/localhost/" + ids[1])
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, body = u.call("GET", "/_synapse/admin/v1/users/%s/media" % q(u.user_id))
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")


def test_quarantined_media_is_not_served(stack, uniq):
    admin = User(stack, admin_login(stack, uniq("qadm"), "pw-qadm"))
    u = User.register(stack, uniq("q"))
    media_id = upload(stack, u.token, b"bad")
    status, _ = admin.call("POST", "/_synapse/admin/v1/media/quarantine/localhost/" + media_id,
                           {})
    assert status == 200
    status, body = stack.request("GET", M3 + "/download/localhost/" + media_id)
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    r = stack.admin("media", "show", media_id, json_out=True)
    assert r.returncode == 0 and json.loads(r.stdout)["quarantined"] is True
    r = stack.admin("media", "unquarantine", "mxc://localhost/" + media_id)
    assert r.returncode == 0, r.stderr
    status, _, data = fetch(stack, "GET", M3 + "/download/localhost/" + media_id)
    assert status == 200 and data == b"bad"


def test_myelin_admin_media_purge_by_date(clock_stack):
    """myelin-admin media purge --before removes local media last used
    before the date, files included, with progress on stderr; later
    media and quarantined media stay."""
    s = clock_stack
    u = User.register(s, "purger")
    s.clock.set(1_700_000_000_000)
    old = upload(s, u.token, b"old bytes")
    kept = upload(s, u.token, b"kept bytes")
    assert s.admin("media", "quarantine", kept).returncode == 0
    s.clock.set(1_800_000_000_000)
    new = upload(s, u.token, b"new bytes")
    r = s.admin("media", "list", "--user", u.user_id, json_out=True)
    assert r.returncode == 0, r.stderr
    assert sorted(m["media_id"] for m in json.loads(r.stdout)) == sorted([old, kept, new])
    r = s.admin("media", "purge", "--before", "2025-01-01", json_out=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"total": 1, "deleted_media": [old]}
    assert "media deleted so far" in r.stderr
    assert not [f for f in stored_files(s) if f.endswith(old[4:])]
    for media_id, data in ((kept, None), (new, b"new bytes")):
        r = s.admin("media", "show", media_id)
        assert r.returncode == 0, r.stderr
    status, _, body = fetch(s, "GET", M3 + "/download/localhost/" + new)
    assert status == 200 and body == b"new bytes"
    r = s.admin("media", "purge", "--before", "yesterday")
    assert r.returncode == 2


def test_a_file_gone_from_disk_is_a_matrix_404(stack, account):
    """The row stays, the file was removed by hand: nginx answers the
    Matrix error, not an HTML page."""
    tok = account["access_token"]
    media_id = upload(stack, tok, b"soon gone")
    f = [f for f in stored_files(stack) if f.endswith(media_id[4:])][0]
    os.unlink(os.path.join(media_path(stack.dir), f))
    status, body = stack.request("GET", C1 + "/download/localhost/" + media_id, token=tok)
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
