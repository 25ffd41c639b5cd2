"""POST /token, /introspect and /revoke against the real daemon and slapd.

/authorize is being written at the same time, so these tests make their
codes by inserting rows straight into the daemon's SQLite store (table
`codes`, code_hash = SHA-256 of the code), as /authorize's store_code_put
would.  The full-flow tests (sign-in, consent, code in the redirect) come
with /authorize.
"""

import base64
import hashlib
import json
import os
import secrets
import sqlite3
import subprocess
import threading
import time
import urllib.parse

import jwt
import pytest

import slapdir
from harness import ldap_entry_uuid
from slowproxy import SlowProxy

PLUGIN_CB = "https://chat.openai.com/aip/plugin-1234abcd/oauth/callback"
ACTION_CB = "https://chatgpt.com/aip/g-0123456789/oauth/callback"
CLI_CB = "http://127.0.0.1/callback"
API_CB = "https://api.example.com/cb"


def new_secret(idbridge_bin):
    out = subprocess.run([idbridge_bin, "secret"], stdout=subprocess.PIPE,
                         check=True).stdout.decode().split()
    return out[0], out[1]


class Env:
    def __init__(self, config, serve, idbridge_bin, ldap, cache_ttl="0"):
        self.ldap = ldap
        self.secrets = {}
        for name in ("plugin", "action", "api"):
            self.secrets[name], h = new_secret(idbridge_bin)
            config.set("client " + name, secret=h)
        for name in ("plugin", "action", "cli", "api"):
            config.set("client " + name, name="Test " + name)
        config.set("client plugin", redirect_uri=PLUGIN_CB, pkce="optional",
                   scopes="read:resource write:resource directory:read")
        config.set("client action", redirect_uri=ACTION_CB, pkce="optional",
                   scopes="read:resource write:resource")
        config.set("client cli", public="yes", redirect_uri=CLI_CB, scopes="read:resource")
        config.set("client api", redirect_uri=API_CB, scopes="read:resource", introspect="yes")
        config.set("tokens", directory_cache_ttl=cache_ttl)
        self.db = config.sections["store"]["path"]
        self.d = serve(config.write())

    def code(self, client, user="alice", scope="read:resource write:resource",
             redirect=None, challenge=None, ttl=60):
        code = secrets.token_urlsafe(32)
        now = int(time.time())
        redirect = redirect or {"plugin": PLUGIN_CB, "action": ACTION_CB, "cli": CLI_CB,
                                "api": API_CB}[client]
        con = sqlite3.connect(self.db, timeout=10)
        with con:
            con.execute("INSERT INTO codes (code_hash, client_id, user_id, username, scope, "
                        "redirect_uri, code_challenge, created_at, expires_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (hashlib.sha256(code.encode()).digest(), client,
                         ldap_entry_uuid(self.ldap, user), user, scope, redirect, challenge,
                         now, now + ttl))
        con.close()
        return code

    def post(self, path, params, kind="form", basic=None, headers=None):
        h = dict(headers or {})
        if kind == "json":
            body = json.dumps(params)
            h["Content-Type"] = "application/json"
        else:
            body = urllib.parse.urlencode(params)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        if basic:
            cred = "%s:%s" % tuple(urllib.parse.quote_plus(x) for x in basic)
            h["Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
        status, hdrs, data = self.d.request("POST", path, body=body, headers=h)
        return status, hdrs, json.loads(data) if data else None

    def token(self, params, **kw):
        return self.post("/token", params, **kw)

    def plugin_exchange(self, code, **extra):
        p = {"grant_type": "authorization_code", "code": code, "redirect_uri": PLUGIN_CB,
             "client_id": "plugin", "client_secret": self.secrets["plugin"]}
        p.update(extra)
        return self.token(p, kind="json")

    def refresh(self, rt, client="plugin", **extra):
        p = {"grant_type": "refresh_token", "refresh_token": rt, "client_id": client,
             "client_secret": self.secrets[client]}
        p.update(extra)
        return self.token(p)

    def introspect(self, token, client="api"):
        return self.post("/introspect", {"token": token},
                         basic=(client, self.secrets[client]))


@pytest.fixture
def env(config, serve, idbridge_bin, slapd):
    return Env(config, serve, idbridge_bin, slapd)


def claims_of(d, token):
    _, _, data = d.request("GET", "/jwks.json")
    keys = jwt.PyJWKSet.from_dict(json.loads(data))
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in keys.keys if k.key_id == kid)
    return jwt.decode(token, key.key, algorithms=["RS256"], audience="http://127.0.0.1",
                      issuer="http://127.0.0.1")


def test_plugin_json_secret_in_body(env, slapd):
    status, h, j = env.plugin_exchange(env.code("plugin", scope=""))
    assert status == 200, j
    assert set(j) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert j["token_type"] == "bearer" and j["expires_in"] == 900 and j["scope"] == ""
    assert h["cache-control"] == "no-store" and h["pragma"] == "no-cache"
    assert jwt.get_unverified_header(j["access_token"])["typ"] == "at+jwt"
    c = claims_of(env.d, j["access_token"])
    assert c["sub"] == ldap_entry_uuid(slapd, "alice")
    assert c["client_id"] == "plugin" and c["exp"] - c["iat"] == 900 and c["jti"]
    assert sorted(c["groups"]) == ["engineering", "staff"]
    assert "audit: event=token" in env.d.output()


def test_action_form_basic(env):
    code = env.code("action", scope="read:resource")
    status, _, j = env.token({"grant_type": "authorization_code", "code": code,
                              "redirect_uri": ACTION_CB},
                             basic=("action", env.secrets["action"]))
    assert status == 200, j
    assert j["scope"] == "read:resource"
    assert claims_of(env.d, j["access_token"])["scope"] == "read:resource"


def pkce_pair():
    v = secrets.token_urlsafe(48)
    c = base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode()
    return v, c


def cli_exchange(env, code, verifier=None, redirect=CLI_CB):
    p = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
         "client_id": "cli"}
    if verifier is not None:
        p["code_verifier"] = verifier
    return env.token(p)


def test_public_client_pkce(env):
    v, c = pkce_pair()
    status, _, j = cli_exchange(env, env.code("cli", scope="read:resource", challenge=c), v)
    assert status == 200, j
    status, _, j = cli_exchange(env, env.code("cli", challenge=c), pkce_pair()[0])
    assert (status, j["error"]) == (400, "invalid_grant")
    status, _, j = cli_exchange(env, env.code("cli", challenge=c))
    assert (status, j["error"]) == (400, "invalid_grant")


def test_verifier_without_challenge_refused(env):
    status, _, j = env.plugin_exchange(env.code("plugin"), code_verifier=pkce_pair()[0])
    assert (status, j["error"]) == (400, "invalid_grant")


def test_wrong_redirect_uri(env):
    status, _, j = env.plugin_exchange(env.code("plugin"), redirect_uri=ACTION_CB)
    assert (status, j["error"]) == (400, "invalid_grant")


def test_wrong_secret_401(env):
    code = env.code("action")
    for basic in (("action", "wrong"), ("nobody", "wrong")):
        status, h, j = env.token({"grant_type": "authorization_code", "code": code,
                                  "redirect_uri": ACTION_CB}, basic=basic)
        assert (status, j["error"]) == (401, "invalid_client")
        assert h["www-authenticate"] == 'Basic realm="idbridge"'
    # The code was not consumed by the failed attempts.
    status, _, j = env.token({"grant_type": "authorization_code", "code": code,
                              "redirect_uri": ACTION_CB}, basic=("action", env.secrets["action"]))
    assert status == 200, j


def test_both_client_auth_methods_refused(env):
    status, _, j = env.token({"grant_type": "authorization_code", "code": env.code("action"),
                              "redirect_uri": ACTION_CB, "client_secret": "x"},
                             basic=("action", env.secrets["action"]))
    assert (status, j["error"]) == (400, "invalid_request")


def test_bad_requests(env):
    status, _, j = env.token({"grant_type": "password", "client_id": "plugin",
                              "client_secret": env.secrets["plugin"]})
    assert (status, j["error"]) == (400, "unsupported_grant_type")
    status, _, j = env.plugin_exchange(env.code("plugin"), resource="https://x.example")
    assert (status, j["error"]) == (400, "invalid_target")
    status, _, data = env.d.request("POST", "/token", body="grant_type=x",
                                    headers={"Content-Type": "text/plain"})
    assert status == 400 and json.loads(data)["error"] == "invalid_request"
    status, _, data = env.d.request("POST", "/token", body='{"code":1}',
                                    headers={"Content-Type": "application/json"})
    assert status == 400 and json.loads(data)["error"] == "invalid_request"


def test_replayed_code_revokes_family(env):
    code = env.code("plugin")
    status, _, first = env.plugin_exchange(code)
    assert status == 200
    assert env.introspect(first["access_token"])[2]["active"] is True
    status, _, j = env.plugin_exchange(code)
    assert (status, j["error"]) == (400, "invalid_grant")
    assert env.refresh(first["refresh_token"])[2]["error"] == "invalid_grant"
    assert env.introspect(first["access_token"])[2] == {"active": False}
    assert "event=code_replay" in env.d.output()


def test_expired_code(env):
    status, _, j = env.plugin_exchange(env.code("plugin", ttl=-1))
    assert (status, j["error"]) == (400, "invalid_grant")


def test_refresh_rotation_and_reuse(env):
    _, _, first = env.plugin_exchange(env.code("plugin"))
    status, h, second = env.refresh(first["refresh_token"])
    assert status == 200, second
    assert h["pragma"] == "no-cache"
    assert second["refresh_token"] != first["refresh_token"]
    status, _, third = env.refresh(second["refresh_token"], scope="read:resource")
    assert status == 200 and third["scope"] == "read:resource"
    # Asking for more than the original grant (the client may have it) is invalid_scope.
    status, _, j = env.refresh(third["refresh_token"], scope="directory:read")
    assert (status, j["error"]) == (400, "invalid_scope")
    # Reuse of a rotated token revokes the family, the newest token included.
    status, _, j = env.refresh(first["refresh_token"])
    assert (status, j["error"]) == (400, "invalid_grant")
    assert env.refresh(third["refresh_token"])[2]["error"] == "invalid_grant"
    assert env.introspect(third["access_token"])[2] == {"active": False}
    assert "event=refresh_reuse" in env.d.output()
    # Another client cannot use this client's refresh token.
    _, _, fresh = env.plugin_exchange(env.code("plugin"))
    assert env.refresh(fresh["refresh_token"], client="action")[2]["error"] == "invalid_grant"


def test_concurrent_code_redemption(env):
    """Two redemptions of one code: one claims it, the other is a replay.

    The replay revokes what the code issued, or bars the family the claim
    is still issuing: whichever comes first, no token of the code survives.
    """
    code = env.code("plugin")
    results = []

    def go():
        results.append(env.plugin_exchange(code))
    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r[0] for r in results)[1] == 400, results
    for status, _, j in results:
        if status == 200:
            assert env.refresh(j["refresh_token"])[2]["error"] == "invalid_grant"
            assert env.introspect(j["access_token"])[2] == {"active": False}
        else:
            assert (status, j["error"]) == (400, "invalid_grant")
    assert live_families(env) == 0


def test_introspection_clients(env):
    _, _, j = env.plugin_exchange(env.code("plugin"))
    status, _, r = env.introspect(j["access_token"])
    assert status == 200 and r["active"] is True
    assert r["client_id"] == "plugin" and r["token_type"] == "Bearer"
    assert r["scope"] == "read:resource write:resource"
    status, h, r = env.introspect(j["access_token"], client="plugin")
    assert (status, r["error"]) == (401, "invalid_client")
    assert env.introspect(j["refresh_token"])[2] == {"active": False}
    assert env.introspect("garbage")[2] == {"active": False}


def test_revocation(env):
    _, _, a = env.plugin_exchange(env.code("plugin"))
    _, _, b = env.plugin_exchange(env.code("plugin"))
    # Another client's token: 200, no effect.
    status, _, _ = env.post("/revoke", {"token": a["refresh_token"]},
                            basic=("action", env.secrets["action"]))
    assert status == 200
    assert env.introspect(a["access_token"])[2]["active"] is True
    # The owner revokes a refresh token: the family's access tokens go too.
    status, _, _ = env.post("/revoke", {"token": a["refresh_token"]},
                            basic=("plugin", env.secrets["plugin"]))
    assert status == 200
    assert env.introspect(a["access_token"])[2] == {"active": False}
    assert env.refresh(a["refresh_token"])[2]["error"] == "invalid_grant"
    # Revoking an access token revokes its family.
    status, _, _ = env.post("/revoke", {"token": b["access_token"]},
                            basic=("plugin", env.secrets["plugin"]))
    assert status == 200
    assert env.refresh(b["refresh_token"])[2]["error"] == "invalid_grant"
    status, _, _ = env.post("/revoke", {"token": "unknown"},
                            basic=("plugin", env.secrets["plugin"]))
    assert status == 200
    status, _, j = env.post("/revoke", {"token": "x"}, basic=("plugin", "wrong"))
    assert (status, j["error"]) == (401, "invalid_client")
    assert "event=revoke" in env.d.output()


@pytest.fixture
def own_env(tmp_path, serve, idbridge_bin, own_slapd):
    from harness import Config
    return Env(Config(tmp_path, own_slapd), serve, idbridge_bin, own_slapd)


def test_group_removal_narrows_scope(own_env, own_slapd):
    env = own_env
    _, _, first = env.plugin_exchange(env.code("plugin"))
    assert first["scope"] == "read:resource write:resource"
    own_slapd.ldapmodify(
        "dn: cn=support,%s\nchangetype: modify\nadd: member\nmember: uid=alice,%s\n\n"
        "dn: cn=engineering,%s\nchangetype: modify\ndelete: member\nmember: uid=alice,%s\n"
        % (slapdir.GROUPS, slapdir.PEOPLE, slapdir.GROUPS, slapdir.PEOPLE))
    status, _, second = env.refresh(first["refresh_token"])
    assert status == 200, second
    assert second["scope"] == "read:resource"
    c = claims_of(env.d, second["access_token"])
    assert c["scope"] == "read:resource" and c["groups"] == ["support"]


def test_deleted_user_invalid_grant(own_env, own_slapd):
    env = own_env
    _, _, first = env.plugin_exchange(env.code("plugin", user="bob", scope="read:resource"))
    own_slapd.ldapmodify("dn: uid=bob,%s\nchangetype: delete\n" % slapdir.PEOPLE)
    status, _, j = env.refresh(first["refresh_token"])
    assert (status, j["error"]) == (400, "invalid_grant")


def test_directory_down_503_then_refresh_works(own_env, own_slapd):
    env = own_env
    _, _, first = env.plugin_exchange(env.code("plugin"))
    own_slapd.stop()
    status, h, j = env.refresh(first["refresh_token"])
    assert (status, j["error"]) == (503, "temporarily_unavailable")
    assert h["retry-after"].isdigit()
    own_slapd.start()
    status, _, j = env.refresh(first["refresh_token"])
    assert status == 200, j


def test_narrowed_refresh_keeps_original_grant(env):
    """RFC 6749 §6: a refresh that asks for less narrows only what it issues."""
    _, _, first = env.plugin_exchange(env.code("plugin"))
    status, _, narrow = env.refresh(first["refresh_token"], scope="read:resource")
    assert status == 200 and narrow["scope"] == "read:resource", narrow
    status, _, full = env.refresh(narrow["refresh_token"])
    assert status == 200, full
    assert full["scope"] == "read:resource write:resource"
    assert claims_of(env.d, full["access_token"])["scope"] == "read:resource write:resource"
    _, _, narrow = env.refresh(full["refresh_token"], scope="write:resource")
    status, _, j = env.refresh(narrow["refresh_token"], scope="read:resource write:resource")
    assert status == 200 and j["scope"] == "read:resource write:resource", j


def test_group_removal_is_not_permanent(own_env, own_slapd):
    """Groups narrow each refresh; the family keeps its grant for when they return."""
    env = own_env
    member = "dn: cn=%s,%s\nchangetype: modify\n%s: member\nmember: uid=alice,%s\n"
    engineering = member % ("engineering", slapdir.GROUPS, "%s", slapdir.PEOPLE)
    _, _, first = env.plugin_exchange(env.code("plugin"))
    # Moved to support (read:resource only) for a while, then back.
    own_slapd.ldapmodify(member % ("support", slapdir.GROUPS, "add", slapdir.PEOPLE) + "\n" +
                         engineering % "delete")
    status, _, second = env.refresh(first["refresh_token"])
    assert status == 200 and second["scope"] == "read:resource", second
    own_slapd.ldapmodify(engineering % "add")
    status, _, third = env.refresh(second["refresh_token"])
    assert status == 200, third
    assert third["scope"] == "read:resource write:resource"


def test_store_failure_leaves_refresh_token_usable(env):
    """Issuance is one transaction: a failed one spends nothing (a retry works)."""
    _, _, first = env.plugin_exchange(env.code("plugin"))
    con = sqlite3.connect(env.db, timeout=10)

    def families():
        return con.execute("SELECT count(*) FROM refresh_families").fetchone()[0]
    # Fault injection: the access token's row cannot be written.
    with con:
        con.execute("CREATE TRIGGER fail_access BEFORE INSERT ON access_tokens "
                    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
    status, h, j = env.refresh(first["refresh_token"])
    assert (status, j["error"]) == (503, "temporarily_unavailable")
    assert h["retry-after"].isdigit()
    # A code exchange that fails the same way leaves no family behind.
    before = families()
    status, _, j = env.plugin_exchange(env.code("plugin"))
    assert (status, j["error"]) == (503, "temporarily_unavailable")
    assert families() == before
    with con:
        con.execute("DROP TRIGGER fail_access")
    con.close()
    # The old refresh token was not used up: the retry rotates it normally.
    status, _, second = env.refresh(first["refresh_token"])
    assert status == 200, second
    assert env.introspect(second["access_token"])[2]["active"] is True
    assert "event=refresh_reuse" not in env.d.output()


@pytest.fixture
def slow_env(tmp_path, slapd, serve, idbridge_bin):
    """An Env whose directory answers through slowproxy (delay 0 until a test sets it)."""
    from harness import Config
    with SlowProxy("127.0.0.1", slapd.port) as proxy:
        cfg = Config(tmp_path, slapd)
        cfg.set("ldap", uri=proxy.uri, timeout="10")
        env = Env(cfg, serve, idbridge_bin, slapd)
        env.proxy = proxy
        yield env


def live_families(env):
    con = sqlite3.connect(env.db, timeout=10)
    try:
        return con.execute("SELECT count(*) FROM refresh_families "
                           "WHERE revoked_at IS NULL").fetchone()[0]
    finally:
        con.close()


def test_concurrent_refresh_revokes_family(slow_env):
    """Two redemptions of one refresh token at once: a reuse, so the family goes.

    The directory answers after 0.5 s, so both requests have looked the token
    up (and found it unused) before either rotates it: the loser learns of
    the reuse only from the rotation.
    """
    env = slow_env
    _, _, first = env.plugin_exchange(env.code("plugin"))
    env.proxy.delay = 0.5
    go = threading.Barrier(2)
    results = []

    def redeem():
        go.wait()
        results.append(env.refresh(first["refresh_token"]))
    threads = [threading.Thread(target=redeem) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    env.proxy.delay = 0.0
    assert sorted(r[0] for r in results) == [200, 400], results
    winner = next(r[2] for r in results if r[0] == 200)
    loser = next(r[2] for r in results if r[0] == 400)
    assert loser["error"] == "invalid_grant"
    # The winner's tokens die with the family.
    status, _, j = env.refresh(winner["refresh_token"])
    assert (status, j["error"]) == (400, "invalid_grant")
    assert env.introspect(winner["access_token"])[2] == {"active": False}
    assert live_families(env) == 0
    assert "event=refresh_reuse" in env.d.output()


def test_code_replay_during_exchange_leaves_no_family(slow_env):
    """A code replayed while its first exchange waits on the directory.

    The first exchange has claimed the code when its directory lookup is
    held by the proxy; the replay then comes, and must stop the family that
    exchange is about to start: it answers invalid_grant, and no family is
    left alive.
    """
    env = slow_env
    code = env.code("plugin")
    env.proxy.delay = 0.5
    first = []
    t = threading.Thread(target=lambda: first.append(env.plugin_exchange(code)))
    t.start()
    deadline = time.monotonic() + 10
    while env.proxy.held() == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert env.proxy.held() > 0, "the first exchange never reached the directory"
    status, _, j = env.plugin_exchange(code)
    assert (status, j["error"]) == (400, "invalid_grant")
    t.join()
    env.proxy.delay = 0.0
    status, _, j = first[0]
    assert (status, j.get("error")) == (400, "invalid_grant"), j
    assert live_families(env) == 0
    out = env.d.output()
    assert "event=code_replay" in out and "outcome=barred" in out
    assert "outcome=revoked" not in out


def test_disabled_user_invalid_grant(own_env, own_slapd):
    # disabled_filter matches after the token was issued: the refresh is refused.
    env = own_env
    _, _, first = env.plugin_exchange(env.code("plugin", user="bob", scope="read:resource"))
    own_slapd.ldapmodify("dn: uid=bob,%s\nchangetype: modify\nadd: employeeType\n"
                         "employeeType: disabled\n" % slapdir.PEOPLE)
    status, _, j = env.refresh(first["refresh_token"])
    assert (status, j["error"]) == (400, "invalid_grant"), j
