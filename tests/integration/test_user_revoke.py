"""`idbridge user revoke USER` (offboarding) against the real daemon and slapd:
one command from another process ends the person's session, refresh
families (and so their access tokens at /verify and /introspect), API keys,
remembered consents and unused codes, and the running daemon notices within
about a second; other people keep everything."""

import base64
import json
import re
import subprocess
import time
import urllib.parse

import pytest

import slapdir
from harness import Config, poll
from oauthflow import (CHATGPT_CALLBACK, PLUGIN_SECRET, Browser, Form, add_clients,
                       authorize_path, query_of, secret_hash)

U = slapdir.USERS
# The cache's revocation generation is re-read at most once a second (verifycache.h).
WITHIN_S = 1.5


def user(idbridge_bin, conf, *args):
    p = subprocess.run([idbridge_bin, "user", *args[:1], "-c", conf, *args[1:]],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def issue_key(idbridge_bin, conf, who, name):
    p = subprocess.run([idbridge_bin, "keys", "issue", "-c", conf, who, name, "--scopes",
                        "read:resource"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout.decode().strip()


def counts_line(who, sessions, families, consents, keys, codes):
    def n(k, one, many):
        return "%d %s" % (k, one if k == 1 else many)
    return "revoked for %s: %s, %s, %s, %s, %s" % (
        who, n(sessions, "session", "sessions"),
        n(families, "refresh family", "refresh families"),
        n(consents, "consent", "consents"), n(keys, "API key", "API keys"),
        n(codes, "code", "codes"))


class Env:
    def __init__(self, tmp_path, slapd, serve, idbridge_bin):
        cfg = add_clients(Config(tmp_path, slapd))
        # A plugin API's own credentials, allowed to introspect.
        cfg.sections["client api"] = {
            "name": "Plugin API", "secret": secret_hash(PLUGIN_SECRET),
            "redirect_uri": "https://api.example.com/cb", "scopes": "read:resource",
            "introspect": "yes"}
        self.conf = cfg.write()
        self.bin = idbridge_bin
        self.d = serve(self.conf)

    def sign_in(self, who, b=None):
        """Sign who in on the login page (consenting if asked): (browser, code, asked)."""
        b = b or Browser(self.d.port)
        status, _, page = b.get(authorize_path("chatgpt", CHATGPT_CALLBACK))
        assert status == 200 and 'name="password"' in page, page
        status, h, _ = b.post("/authorize", {"username": who, "password": U[who]["password"],
                                             "csrf": Form(page).hidden["csrf"]})
        assert status == 303, h
        status, h, page = b.get(h["location"])
        asked = status == 200
        if asked:
            assert 'name="decision"' in page, page
            status, h, _ = b.post("/authorize", {"decision": "allow",
                                                 "csrf": Form(page).hidden["csrf"]})
        assert status == 303, h
        return b, query_of(h["location"])["code"], asked

    def token(self, fields):
        fields = dict(fields, client_id="chatgpt", client_secret=PLUGIN_SECRET)
        status, _, data = self.d.request("POST", "/token", body=urllib.parse.urlencode(fields),
                                         headers={"Content-Type":
                                                  "application/x-www-form-urlencoded"})
        return status, json.loads(data)

    def exchange(self, code):
        status, body = self.token({"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": CHATGPT_CALLBACK})
        assert status == 200, body
        return body

    def refresh(self, rt):
        return self.token({"grant_type": "refresh_token", "refresh_token": rt})

    def verify(self, bearer):
        return self.d.request("GET", "/verify", headers={"Authorization": "Bearer " + bearer})[0]

    def introspect(self, token):
        status, _, data = self.d.request(
            "POST", "/introspect", body=urllib.parse.urlencode({"token": token}),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": "Basic " + base64.b64encode(
                         ("api:" + PLUGIN_SECRET).encode()).decode()})
        assert status == 200, data
        return json.loads(data)["active"]


@pytest.fixture
def env(tmp_path, slapd, serve, idbridge_bin):
    return Env(tmp_path, slapd, serve, idbridge_bin)


def test_revoke_ends_everything(env):
    # alice: a session, a consent, tokens, an unused code, two API keys.
    b, code, asked = env.sign_in("alice")
    assert asked
    alice = env.exchange(code)
    # The session and the consent are remembered: a code without any page.
    status, h, _ = b.get(authorize_path("chatgpt", CHATGPT_CALLBACK))
    assert status == 303 and "code" in query_of(h["location"]), h
    unused_code = query_of(h["location"])["code"]
    keys = [issue_key(env.bin, env.conf, "alice", n) for n in ("laptop", "ci")]
    # bob, who must keep everything.
    _, bcode, _ = env.sign_in("bob")
    bob = env.exchange(bcode)
    bob_key = issue_key(env.bin, env.conf, "bob", "laptop")
    # Everything works, and the JWTs' results are in the /verify cache.
    for _ in range(2):
        for cred in (alice["access_token"], bob["access_token"], keys[0], keys[1], bob_key):
            assert env.verify(cred) == 200
    assert env.introspect(alice["access_token"]) is True

    rc, out, err = user(env.bin, env.conf, "revoke", "alice")
    revoked_at = time.monotonic()
    assert rc == 0, err
    assert out.splitlines() == [counts_line("alice", 1, 1, 1, 2, 1)], out
    assert re.search(r'audit: event=user_revoke user="alice" sessions=1 families=1 '
                     r'consents=1 api_keys=2 codes=1 outcome=ok addr=local', err), err

    # The daemon (another process) refuses the JWT within about a second.
    assert poll(lambda: env.verify(alice["access_token"]) == 401, timeout=5, interval=0.05)
    assert time.monotonic() - revoked_at <= WITHIN_S
    # By now the cache's generation has moved past the revocation, so the keys
    # (read from the store, or re-checked if cached) are refused too; the
    # introspection, the refresh token and the unused code are read from the store.
    assert [env.verify(k) for k in keys] == [401, 401]
    assert env.introspect(alice["access_token"]) is False
    status, body = env.refresh(alice["refresh_token"])
    assert status == 400 and body["error"] == "invalid_grant", body
    status, body = env.token({"grant_type": "authorization_code", "code": unused_code,
                              "redirect_uri": CHATGPT_CALLBACK})
    assert status == 400 and body["error"] == "invalid_grant", body
    # The old session cookie shows the login page; signing in again asks for consent again.
    _, _, asked = env.sign_in("alice", b)
    assert asked

    # bob is untouched.
    assert env.verify(bob["access_token"]) == 200
    assert env.verify(bob_key) == 200
    assert env.introspect(bob["access_token"]) is True
    status, body = env.refresh(bob["refresh_token"])
    assert status == 200, body
    # alice's new sign-in is a new start: its tokens work.
    assert env.verify(env.exchange(env.sign_in("alice")[1])["access_token"]) == 200


def test_unknown_user_and_usage(config, idbridge_bin):
    conf = config.write()
    rc, out, err = user(idbridge_bin, conf, "revoke", "nobody")
    assert rc == 0, err
    assert out.splitlines() == [counts_line("nobody", 0, 0, 0, 0, 0)]
    assert "nothing live was recorded for nobody" in err
    # Usage errors: no USER, two, an unknown subcommand, an empty name.
    for args in (("revoke",), ("revoke", "alice", "bob"), ("frobnicate", "alice"),
                 ("revoke", "")):
        rc, out, err = user(idbridge_bin, conf, *args)
        assert rc == 2, args
        assert "usage: idbridge user revoke" in err and out == ""
    p = subprocess.run([idbridge_bin, "user", "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0 and "usage: idbridge user revoke" in p.stdout.decode()


def test_revoke_after_directory_deletion(tmp_path, own_slapd, idbridge_bin):
    """Offboarding order: the account is deleted first; the store still knows the keys."""
    conf = Config(tmp_path, own_slapd).write()
    key = issue_key(idbridge_bin, conf, "alice", "laptop")
    own_slapd.ldapmodify("dn: uid=alice,%s\nchangetype: delete\n" % slapdir.PEOPLE)
    rc, out, err = user(idbridge_bin, conf, "revoke", "alice")
    assert rc == 0, err
    assert out.splitlines() == [counts_line("alice", 0, 0, 0, 1, 0)]
    assert key not in out + err
    # Listed as revoked: the REVOKED column holds a time.
    p = subprocess.run([idbridge_bin, "keys", "list", "-c", conf, "alice"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    row = p.stdout.decode().splitlines()[1]
    assert re.match(r"\d{4}-\d\d-\d\dT", row.split()[6]), row
