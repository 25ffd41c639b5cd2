"""A slow directory must not slow anything that does not need it.

The daemon talks to slapd through slowproxy.py, which holds every answer
to a bind for 2 s: each password check takes 2 s.  While 20 sign-ins wait
on it (8 on the auth workers, the rest queued), /jwks.json and /token (a
code exchange and a refresh, whose user the directory cache knows) must
answer — and answer before the first of those sign-ins completes.  The
assertion is about order, not about a wall-clock threshold.

The sign-ins come from 20 loopback addresses (127.0.0.2-21), as 20
employees would: from one address only IDB_AUTH_PER_ADDR_INFLIGHT (8) may
be in flight, and the rest are answered "busy" at once — the second test
checks that too.
"""

import http.client
import json
import threading
import time
import urllib.parse

import pytest

import slapdir
from harness import Config
from oauthflow import (GPT_CALLBACK, PLUGIN_SECRET, Browser, Form, add_clients,
                       authorize_path, query_of)
from slowproxy import SlowProxy

U = slapdir.USERS
SIGN_IN_USERS = ["alice", "bob", "carol", "zoe", "x"]
DELAY = 2.0
N_SIGN_INS = 20
PER_ADDR_INFLIGHT = 8        # IDB_AUTH_PER_ADDR_INFLIGHT in bridge/bridge.h
PATH = authorize_path("firstparty", GPT_CALLBACK, scope="read:resource")


@pytest.fixture
def proxy(slapd):
    with SlowProxy("127.0.0.1", slapd.port, hold="binds") as p:
        yield p


@pytest.fixture
def daemon(tmp_path, slapd, serve, proxy):
    cfg = add_clients(Config(tmp_path, slapd))
    # The LDAP timeout must outlast the held answers; auth_workers stays 8.
    cfg.set("ldap", uri=proxy.uri, timeout="10")
    return serve(cfg.write())


def code_for(daemon, user="alice"):
    """Sign in through the browser flow and return a code for firstparty."""
    b = Browser(daemon.port)
    _, _, page = b.get(PATH)
    status, h, _ = b.post("/authorize", {"username": user, "password": U[user]["password"],
                                         "csrf": Form(page).hidden["csrf"]})
    assert status == 303, h
    status, h, _ = b.get(h["location"])
    assert status == 303, h
    return query_of(h["location"])["code"]


def token_request(daemon, fields):
    body = urllib.parse.urlencode(dict(fields, client_id="firstparty",
                                       client_secret=PLUGIN_SECRET))
    status, _, data = daemon.request(
        "POST", "/token", body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    return status, json.loads(data)


class SignIn(threading.Thread):
    """One login-form POST, from its own browser session and source address."""

    def __init__(self, port, source, go, user):
        super().__init__(daemon=True)
        self.port, self.source, self.go, self.user = port, source, go, user
        self.browser = Browser(port)
        _, _, page = self.browser.get(PATH)      # no directory work: the login page
        self.csrf = Form(page).hidden["csrf"]
        self.sent = threading.Event()
        self.status = self.body = self.done_at = self.error = None

    def run(self):
        try:
            self.go.wait()
            cookie = "; ".join("%s=%s" % kv for kv in self.browser.cookies.items())
            body = urllib.parse.urlencode({"username": self.user,
                                           "password": U[self.user]["password"],
                                           "csrf": self.csrf})
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60,
                                           source_address=(self.source, 0))
            try:
                c.request("POST", "/authorize", body=body, headers={
                    "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
                self.sent.set()
                r = c.getresponse()
                self.body = r.read().decode("utf-8", "replace")
                self.done_at = time.monotonic()
                self.status = r.status
            finally:
                c.close()
        except Exception as e:  # reported by the test, not lost in the thread
            self.error = e
            self.sent.set()


def start_sign_ins(daemon, sources):
    go = threading.Event()
    # Spread over several employees: one name's attempts in flight count
    # against its throttle cap (see bridge/ratelimit.c), as they should.
    threads = [SignIn(daemon.port, s, go, SIGN_IN_USERS[i % len(SIGN_IN_USERS)])
               for i, s in enumerate(sources)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        assert t.sent.wait(10), "a sign-in could not be sent"
    return threads


def finish(threads):
    for t in threads:
        t.join(30)
        assert not t.is_alive(), "a sign-in never completed"
        assert t.error is None, t.error


def test_jwks_and_token_answer_while_sign_ins_wait_on_a_slow_directory(daemon, proxy):
    # Before the directory turns slow: alice's identity reaches the directory
    # cache (a sign-in puts it there), a code to exchange and a refresh token.
    status, first = token_request(daemon, {"grant_type": "authorization_code",
                                           "code": code_for(daemon),
                                           "redirect_uri": GPT_CALLBACK})
    assert status == 200, first
    code = code_for(daemon)

    proxy.delay = DELAY
    t0 = time.monotonic()
    threads = start_sign_ins(daemon, ["127.0.0.%d" % (2 + i) for i in range(N_SIGN_INS)])
    # The sign-ins are waiting on the directory once it holds an answer.
    deadline = time.monotonic() + 10
    while proxy.held() == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proxy.held() > 0, "no sign-in reached the directory"
    assert all(t.status is None for t in threads), "a sign-in completed too early"

    probes = {}
    status, h, data = daemon.request("GET", "/jwks.json")
    probes["jwks"] = time.monotonic()
    assert status == 200 and json.loads(data)["keys"], data
    status, body = token_request(daemon, {"grant_type": "authorization_code", "code": code,
                                          "redirect_uri": GPT_CALLBACK})
    probes["token (code)"] = time.monotonic()
    assert status == 200 and body["access_token"], body
    status, body = token_request(daemon, {"grant_type": "refresh_token",
                                          "refresh_token": first["refresh_token"]})
    probes["token (refresh)"] = time.monotonic()
    assert status == 200 and body["refresh_token"] != first["refresh_token"], body

    finish(threads)
    statuses = [t.status for t in threads]
    # 20 addresses, a queue of 256: every sign-in waits its turn, none is "busy".
    assert statuses == [303] * N_SIGN_INS, [(t.status, t.body[:200]) for t in threads]
    first_done = min(t.done_at for t in threads)
    for name, at in probes.items():
        assert at < first_done, "%s answered %.2f s after the first sign-in completed" % (
            name, at - first_done)
    # The sign-ins really waited: the first needed at least one held answer,
    # and 20 binds on 8 workers take at least three rounds of the delay.
    assert first_done - t0 >= DELAY * 0.9
    assert max(t.done_at for t in threads) - t0 >= 3 * DELAY * 0.9
    assert proxy.held_total() >= N_SIGN_INS


def test_one_address_gets_busy_answers_at_once_beyond_its_in_flight_cap(daemon, proxy):
    proxy.delay = DELAY
    t0 = time.monotonic()
    threads = start_sign_ins(daemon, ["127.0.0.1"] * N_SIGN_INS)
    finish(threads)
    ok = [t for t in threads if t.status == 303]
    busy = [t for t in threads if t.status == 503]
    assert len(ok) + len(busy) == N_SIGN_INS, [(t.status, t.body[:200]) for t in threads]
    assert "busy" in busy[0].body if busy else True
    # At most the cap waits on the directory; every other one is told at once.
    assert 1 <= len(ok) <= PER_ADDR_INFLIGHT
    assert len(busy) >= N_SIGN_INS - PER_ADDR_INFLIGHT
    assert max(t.done_at for t in busy) < min(t.done_at for t in ok)
    assert min(t.done_at for t in ok) - t0 >= DELAY * 0.9
