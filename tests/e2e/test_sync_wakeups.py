"""Filtered wake-ups (issue 14): a commit wakes the parked long-polls it
concerns (the users in its room, the user a membership names), not every
one on the host.  Each long-poll's answer says in X-Myelin-Wakes how many
times a commit ran it again while it waited."""
import json
import selectors
import socket
import urllib.parse
import urllib.request

from conftest import User, own_pg_database, q, start_stack, stop_stack

SS = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync"


def open_request(stack, method, path, token, body=None):
    """Sends one HTTP/1.1 request on a socket of its own; the socket."""
    data = json.dumps(body).encode() if body is not None else b""
    head = ("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n"
            "Connection: close\r\n\r\n" % (method, path, token, len(data)))
    s = socket.create_connection(("127.0.0.1", stack.port))
    s.sendall(head.encode() + data)
    return s


def read_all(socks):
    """Reads every answer to its end: [(status, headers, body)] in order."""
    sel = selectors.DefaultSelector()
    bufs = {s: b"" for s in socks}
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    left = len(socks)
    while left:
        for key, _ in sel.select(timeout=60):
            s = key.fileobj
            chunk = s.recv(65536)
            if chunk:
                bufs[s] += chunk
            else:
                sel.unregister(s)
                s.close()
                left -= 1
    out = []
    for s in socks:
        head, _, body = bufs[s].partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
        if headers.get("transfer-encoding") == "chunked":
            raw, body = body, b""
            while raw:
                size, _, raw = raw.partition(b"\r\n")
                n = int(size, 16)
                if n == 0:
                    break
                body, raw = body + raw[:n], raw[n + 2:]
        out.append((int(lines[0].split()[1]), headers, json.loads(body) if body else None))
    return out


def test_a_message_wakes_only_the_long_polls_of_its_room(uniq):
    # A stack of its own: no other test's commits (nor, on PostgreSQL,
    # another stack's notifications) run through its long-polls.
    s = start_stack(pg=own_pg_database("wake"))
    try:
        a = User.register(s, uniq("wka"))
        member = User.register(s, uniq("wkm"))
        room = a.create_room(invite=[member.user_id])
        member.join(room)
        others = [User.register(s, uniq("wko")) for _ in range(20)]
        since = {}
        for u in others + [member]:
            st, r = u.sync(set_presence="offline")
            assert st == 200
            since[u.user_id] = r["next_batch"]
        slide = others[0].ok("POST", SS + "?timeout=0", {"conn_id": "w", "lists": {
            "l": {"ranges": [[0, 9]], "timeline_limit": 1}}})["pos"]

        def longpoll(u, timeout):
            return open_request(s, "GET", "/_matrix/client/v3/sync?" + urllib.parse.urlencode(
                {"since": since[u.user_id], "timeout": timeout, "set_presence": "offline"}),
                u.token)

        socks = [longpoll(member, 20000)]
        # 1,000 parked requests of users not in the room: 50 for each of 20.
        socks += [longpoll(u, 6000) for u in others for _ in range(50)]
        socks.append(open_request(s, "POST", SS + "?timeout=6000&pos=" + q(slide),
                                  others[0].token, {"conn_id": "w", "lists": {
                                      "l": {"ranges": [[0, 9]], "timeline_limit": 1}}}))
        # What makes them wait is a read of the socket, not of the clock:
        # a request not parked yet when the message lands finds it not
        # for its user and parks, woken 0 times all the same.
        a.send_text(room, "only for the room")
        answers = read_all(socks)
        st, headers, r = answers[0]
        assert st == 200
        assert [e["content"]["body"] for e in r["rooms"]["join"][room]["timeline"]["events"]
                if e["type"] == "m.room.message"] == ["only for the room"]
        for st, headers, r in answers[1:-1]:
            assert st == 200, r
            assert r["rooms"]["join"] == {}
            assert headers["x-myelin-wakes"] == "0"
        st, headers, r = answers[-1]
        assert st == 200 and r["rooms"] == {}
        assert headers["x-myelin-wakes"] == "0"
        # An invite names its target: the invitee's long-poll wakes for it.
        sock = longpoll(others[1], 20000)
        a.room_post(room, "invite", others[1].user_id)
        (st, headers, r), = read_all([sock])
        assert st == 200 and room in r["rooms"]["invite"]
    finally:
        stop_stack(s)


def statements(stack, handler):
    """The handler's own count of the database statements it has run."""
    with urllib.request.urlopen(stack.base + "/_myelin/metrics/" + handler, timeout=30) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("myelin_db_statements_total{"):
                return int(float(line.rsplit(" ", 1)[1]))
    raise AssertionError("no myelin_db_statements_total from " + handler)


def test_a_send_and_the_sync_it_wakes_read_each_thing_once(uniq):
    """What stands between a send and the wake-up of its room's members is
    mostly statements, each a round trip on PostgreSQL.  A message's send
    takes the sender's account flags from the request's authentication,
    its rate limit in one conditional update, the room's row with its
    versions as it locks it (push and the outbound queue keep what they
    read of the room under them), the extremities with the state after
    them, and the auth events in one statement, and looks up no backward
    extremity (an event made here names stored events only); a sync from
    the same token again answers the visibility of the room's state group
    from what the process kept.  Counted by the handlers themselves
    (myelin_db_statements_total), BEGIN and COMMIT among them: before,
    this send ran 26 (SQLite) or 27 (PostgreSQL), the repeated sync 11;
    now 15 and 10 on either.  A stack of its own: on a shared one, other
    tests' activity (their users' presence lapsing, long-polls they left
    waiting) runs statements that count with these."""
    stack = start_stack(pg=own_pg_database("count"))
    try:
        count_statements(stack, uniq)
    finally:
        stop_stack(stack)


def count_statements(stack, uniq):
    """The body of the test above, on its own stack."""
    alice = User.register(stack, uniq("stal"))
    bob = User.register(stack, uniq("stbo"))
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    assert alice.send(room, "warm")[0] == 200
    since = bob.ok("GET", "/sync?timeout=0")["next_batch"]

    before = statements(stack, "client")
    status, sent = alice.send(room, "counted")
    assert status == 200
    send = statements(stack, "client") - before
    got = bob.ok("GET", "/sync?timeout=0&since=" + q(since))
    assert [e["event_id"] for e in got["rooms"]["join"][room]["timeline"]["events"]] == \
        [sent["event_id"]]
    before = statements(stack, "sync")
    again = bob.ok("GET", "/sync?timeout=0&since=" + q(since))
    sync = statements(stack, "sync") - before
    assert again["rooms"]["join"][room]["timeline"]["events"][0]["event_id"] == \
        sent["event_id"]
    assert send <= 15, send
    assert sync <= 10, sync
