"""Past one machine: two stacks (two processes of every handler, each with
its own run directory and so its own wake-up segment) on one PostgreSQL
database.  A message sent through one stack wakes a sync waiting on the
other, which only LISTEN/NOTIFY can carry.

Only collected when the suite runs on PostgreSQL (MYELIN_TEST_PG): on
SQLite there is nothing to share between hosts.
"""
import os
import threading
import time

from conftest import start_stack, stop_stack

if os.environ.get("MYELIN_TEST_PG"):

    def test_send_on_one_stack_wakes_sync_on_the_other(uniq):
        a = start_stack()
        b = start_stack()
        try:
            # Both stacks see one database: an account made on A logs in on B.
            alice = a.register(uniq("alice"))
            bob = a.register(uniq("bob"))
            status, login = b.request("POST", "/_matrix/client/v3/login", {
                "type": "m.login.password", "user": bob["user_id"],
                "password": "secret-pw-1"})
            assert status == 200
            btok = login["access_token"]
            status, room = a.request("POST", "/_matrix/client/v3/createRoom",
                                     {"preset": "public_chat"}, alice["access_token"])
            assert status == 200
            rid = room["room_id"]
            assert b.request("POST", "/_matrix/client/v3/join/" + rid, {}, btok)[0] == 200
            status, first = b.request("GET", "/_matrix/client/v3/sync", token=btok)
            assert status == 200
            since = first["next_batch"]

            result = {}

            def wait():
                t0 = time.monotonic()
                result["resp"] = b.request(
                    "GET", "/_matrix/client/v3/sync?timeout=20000&since=" + since,
                    token=btok)
                result["secs"] = time.monotonic() - t0

            waiter = threading.Thread(target=wait)
            waiter.start()
            time.sleep(1.0)  # the sync is parked on B by now
            assert "resp" not in result
            status, _ = a.request(
                "PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/t1" % rid,
                {"msgtype": "m.text", "body": "across hosts"}, alice["access_token"])
            assert status == 200
            waiter.join(30)
            status, resp = result["resp"]
            assert status == 200
            bodies = [e["content"].get("body") for e in
                      resp["rooms"]["join"][rid]["timeline"]["events"]]
            assert "across hosts" in bodies
            # Woken by the send, not by the 20 s timeout.
            assert result["secs"] < 10
        finally:
            stop_stack(a)
            stop_stack(b)
