"""myelin-sender sharded (federation_senders = 2: myelin-stack runs
myelin-sender --shard 0/2 and --shard 1/2): two Python remote servers
whose names hash to different shards each get every event of their room
exactly once and in order, each from exactly the sender its shard names
(run/sender-I.prom), and the other sender never sends to it."""
import json
import os
import threading
import time
import urllib.parse

import pytest

from conftest import User, stop_stack
from test_federation_in import FedRemote, Joined
from test_federation_keys import ca, fed_stack  # noqa: F401 (fixtures)
from test_metrics import value


def fnv1a(s):
    """lib/fed/sender.c's mfed_shard_of before the modulo."""
    h = 2166136261
    for b in s.encode():
        h = ((h ^ b) * 16777619) & 0xffffffff
    return h


class Receiver:
    """Records the PUT /send transactions myelin makes to a FedRemote:
    (txnId, [event IDs]) in arrival order; answers 200 unless self.fail."""

    def __init__(self, remote):
        self.remote, self.txns, self.fail = remote, [], False
        self.lock = threading.Lock()
        me = self

        def do_PUT(h):
            n = int(h.headers.get("Content-Length") or 0)
            body = json.loads(h.rfile.read(n) or b"{}")
            prefix = "/_matrix/federation/v1/send/"
            if not h.path.startswith(prefix) or me.fail:
                return h.answer(500 if me.fail else 404, {"errcode": "M_UNKNOWN", "error": "no"})
            from test_federation_in import event_id
            ids = [event_id(p) for p in body.get("pdus", [])]
            with me.lock:
                me.txns.append((urllib.parse.unquote(h.path[len(prefix):]), ids,
                                [p["content"].get("body") for p in body.get("pdus", [])]))
            h.answer(200, {"pdus": {i: {} for i in ids}})
        remote.httpd.RequestHandlerClass.do_PUT = do_PUT

    def bodies(self):
        with self.lock:
            return [b for _, _, bs in self.txns for b in bs if b is not None]


def remotes_on_both_shards(ca_dir):
    """Two FedRemotes, the first on shard 0 of 2, the second on shard 1."""
    by, spare = {}, []
    for _ in range(40):
        r = FedRemote(ca_dir)
        s = fnv1a(r.name) % 2
        if s in by:
            spare.append(r)
        else:
            by[s] = r
        if len(by) == 2:
            break
    for r in spare:
        r.stop()
    assert len(by) == 2
    return by[0], by[1]


@pytest.fixture(scope="module")
def sharded(ca):  # noqa: F811
    s = fed_stack(ca, "shard", extra="federation_senders = 2\n")
    yield s
    stop_stack(s)


def prom(stack, name):
    try:
        with open(os.path.join(stack.dir, "run", name + ".prom")) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def wait_for(pred, what):
    for _ in range(600):    # polls for a state change (not a speed assertion): 30 s
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("never happened: " + what)


def test_two_senders_split_two_destinations(sharded, ca):  # noqa: F811
    for i in (0, 1):
        pid = int(open(os.path.join(sharded.dir, "run", "sender-%d.pid" % i)).read())
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            assert f.read().split(b"\0")[-3:-1] == [b"--shard", b"%d/2" % i]
    assert not os.path.exists(os.path.join(sharded.dir, "run", "sender.pid"))
    r0, r1 = remotes_on_both_shards(ca)
    try:
        rec = {0: Receiver(r0), 1: Receiver(r1)}
        rooms = {0: Joined(sharded, r0), 1: Joined(sharded, r1)}
        sent = {0: [], 1: []}
        for n in range(60):
            for s in (0, 1):
                text = "shard%d-%d" % (s, n)
                rooms[s].alice.send_text(rooms[s].room, text)
                sent[s].append(text)
        for s in (0, 1):
            wait_for(lambda: set(sent[s]) <= set(rec[s].bodies()),
                     "every event reached %s" % rec[s].remote.name)
        # Each once, in the order sent; more than one transaction (50 at most each).
        for s in (0, 1):
            got = [b for b in rec[s].bodies() if b.startswith("shard")]
            assert got == sent[s], (s, got)
            assert all(len(ids) <= 50 for _, ids, _ in rec[s].txns)
        # The metrics: each destination's PDUs from its own shard's sender only.
        names = {0: r0.name, 1: r1.name}

        def sent_by(i, dest):
            return value(prom(sharded, "sender-%d" % i), "myelin_fed_pdus_sent_total",
                         destination=dest)
        for s in (0, 1):
            wait_for(lambda: (sent_by(s, names[s]) or 0) >= 60, "sender-%d's metrics" % s)
            assert sent_by(1 - s, names[s]) is None, prom(sharded, "sender-%d" % (1 - s))
            shard = value(prom(sharded, "sender-%d" % s), "myelin_fed_sender_shard",
                          shard=str(s), shards="2")
            assert shard == 1
    finally:
        r0.stop()
        r1.stop()


def test_status_lists_each_sender(sharded):
    import subprocess
    from conftest import STACK
    out = subprocess.run([STACK, "status", sharded.dir], capture_output=True, text=True,
                         timeout=30).stdout
    assert "sender-0 running" in out and "sender-1 running" in out, out


def test_a_bad_shard_is_refused():
    import subprocess
    from test_federation_keys import BIN
    for bad in ("2/2", "0/0", "1", "a/2", "0/65", "-1/2", "0/2x"):
        p = subprocess.run([os.path.join(BIN, "myelin-sender"), "-c", "/nonexistent",
                            "--shard", bad], capture_output=True, text=True, timeout=30)
        assert p.returncode == 2, (bad, p.stderr)
        assert "--shard" in p.stderr
