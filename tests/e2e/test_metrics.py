"""Metrics (issue 17): each handler answers Prometheus text on
/_myelin/metrics/NAME, from loopback only (nginx allow/deny): requests by
route and status class, a latency histogram, parked long-polls, the
database's time."""
import pytest
import os
import re
import threading
import time
import urllib.request

from conftest import C, User


def metrics(stack, name):
    with urllib.request.urlopen(stack.base + "/_myelin/metrics/" + name, timeout=30) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode()


def value(text, name, **labels):
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(got.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_requests_by_route_and_status_and_latency(stack, uniq):
    u = User.register(stack, uniq("met"))
    before = value(metrics(stack, "client"), "myelin_requests_total",
                   route="/_matrix/client/v3/account/whoami", status="2xx") or 0
    for _ in range(3):
        u.ok("GET", "/account/whoami")
    assert stack.request("GET", C + "/account/whoami", token="nope")[0] == 401
    text = metrics(stack, "client")
    assert value(text, "myelin_requests_total", handler="client", method="GET",
                 route="/_matrix/client/v3/account/whoami", status="2xx") >= before + 3
    assert value(text, "myelin_requests_total",
                 route="/_matrix/client/v3/account/whoami", status="4xx") >= 1
    n = value(text, "myelin_request_duration_seconds_count",
              route="/_matrix/client/v3/account/whoami")
    assert value(text, "myelin_request_duration_seconds_bucket",
                 route="/_matrix/client/v3/account/whoami", le="+Inf") == n
    assert value(text, "myelin_db_statements_total", handler="client") > 0
    assert value(text, "myelin_db_seconds_total", handler="client") > 0
    assert "# TYPE myelin_request_duration_seconds histogram" in text


def test_parked_syncs_are_counted(stack, uniq):
    u = User.register(stack, uniq("metp"))
    since = u.ok("GET", "/sync?timeout=0")["next_batch"]
    t = threading.Thread(target=lambda: u.call("GET", "/sync?timeout=3000&since=" + since))
    t.start()
    seen = 0
    for _ in range(100):
        seen = value(metrics(stack, "sync"), "myelin_parked_requests", handler="sync")
        if seen >= 1:
            break
        time.sleep(0.02)    # polls for the park (not a speed assertion)
    t.join()
    assert seen >= 1


def test_every_handler_answers_and_only_loopback_may_ask(stack):
    for name in ("client", "sync", "admin", "federation", "media"):
        assert "myelin_requests_total" in metrics(stack, name) or \
            "myelin_db_statements_total" in metrics(stack, name)
    with open(os.path.join(stack.dir, "nginx-locations.conf")) as f:
        conf = f.read()
    for block in re.findall(r"location = /_myelin/metrics/\w+ \{[^}]*\}", conf):
        assert "allow 127.0.0.1;" in block and "deny all;" in block


def prom(path):
    if not os.path.exists(path):
        return ""
    with open(path) as f:
        return f.read()


@pytest.mark.backend("sqlite")     # queues the row through SQLite
def test_sender_writes_the_federation_queue_per_destination(stack, uniq):
    # myelin-sender has no socket: its metrics are run/sender.prom, every
    # 2 s.  An event queued for a destination that cannot be reached
    # shows as its queue depth, and its backoff once a send failed.
    import sqlite3
    u = User.register(stack, uniq("metq"))
    room = u.create_room()
    event_id = u.send_ok(room, {"msgtype": "m.text", "body": "queued"})
    dest = "unreachable-%d.invalid" % os.getpid()
    db = sqlite3.connect(os.path.join(stack.dir, "myelin.db"), timeout=30)
    db.execute("INSERT INTO fed_outbox (destination, event_id, created_ts) VALUES (?, ?, 0)",
               (dest, event_id))
    db.commit()
    db.close()
    # A send moves the events stream, which wakes the sender.
    u.send_ok(room, {"msgtype": "m.text", "body": "wake"})
    path = os.path.join(stack.dir, "run", "sender.prom")
    text = ""
    for _ in range(400):    # polls for the file to be rewritten (not a speed assertion)
        text = prom(path)
        if (value(text, "myelin_fed_backoff_seconds", destination=dest) or 0) > 0:
            break
        time.sleep(0.05)
    assert value(text, "myelin_fed_queue_events", destination=dest) == 1, text
    assert value(text, "myelin_fed_backoff_seconds", destination=dest) > 0, text
    assert value(text, "myelin_db_statements_total", daemon="sender") > 0
    assert value(text, "myelin_fed_transactions_total", destination=dest,
                 result="failed") >= 1, text


def test_a_large_answers_heap_is_given_back_without_another_request(stack, uniq):
    """The heap of large answers is given back once the workers that
    built them have rested a second, not only when some later request
    wakes the handler (a bot's initial /sync in many rooms, then
    silence)."""
    u = User.register(stack, uniq("trim"))
    room = u.create_room()
    for i in range(10):
        u.send_ok(room, {"msgtype": "m.text", "body": "%d %s" % (i, "x" * 30000)})
    before = value(metrics(stack, "sync"), "myelin_heap_trims_total", handler="sync")
    assert before is not None
    for _ in range(3):
        # Each answer holds the ten messages: over the 256 KB of a large one.
        assert len(u.ok("GET", "/sync?timeout=0")["rooms"]["join"][room]["timeline"]
                   ["events"]) == 10
    time.sleep(2.5)
    after = value(metrics(stack, "sync"), "myelin_heap_trims_total", handler="sync")
    assert after >= before + 1
