"""/introspect answers from the token cache it shares with /verify
(verify_jwt.h): a cached answer is the uncached one byte for byte, an API
key's /verify result never answers an introspection, and a revocation
reaches cached tokens at once when this daemon made it (/revoke) and
within about a second when another process did (`idbridge user revoke`)."""

import base64
import json
import time
import urllib.parse

import pytest

from oauthflow import PLUGIN_SECRET
from test_user_revoke import WITHIN_S, Env, issue_key, user


class IntrospectEnv(Env):
    def introspection(self, token):
        """The whole answer: (status, raw body)."""
        status, _, data = self.d.request(
            "POST", "/introspect", body=urllib.parse.urlencode({"token": token}),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": "Basic " + base64.b64encode(
                         ("api:" + PLUGIN_SECRET).encode()).decode()})
        return status, data

    def revoke(self, token):
        status, _, _ = self.d.request(
            "POST", "/revoke", body=urllib.parse.urlencode(
                {"token": token, "client_id": "chatgpt", "client_secret": PLUGIN_SECRET}),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        return status

    def tokens(self, who):
        return self.exchange(self.sign_in(who)[1])


@pytest.fixture
def env(tmp_path, slapd, serve, idbridge_bin):
    return IntrospectEnv(tmp_path, slapd, serve, idbridge_bin)


def test_cached_answer_is_the_uncached_one(env):
    t = env.tokens("alice")["access_token"]
    status, first = env.introspection(t)
    assert status == 200
    a = json.loads(first)
    assert a["active"] is True and a["token_type"] == "Bearer"
    assert a["client_id"] == "chatgpt" and a["scope"]
    for claim in ("sub", "aud", "iss", "exp", "iat", "jti"):
        assert claim in a, a
    # The second answer comes from the cache: the same bytes.
    assert env.introspection(t) == (200, first)
    # A token /verify cached first (no introspection answer kept) is answered in full too.
    u = env.tokens("alice")["access_token"]
    assert env.verify(u) == 200
    status, data = env.introspection(u)
    b = json.loads(data)
    assert status == 200 and b["active"] is True and b["jti"] != a["jti"]
    assert set(b) == set(a)
    assert env.introspection(u) == (200, data)


def test_api_key_result_never_answers_introspection(env):
    key = issue_key(env.bin, env.conf, "alice", "laptop")
    # /verify caches the key's result under the key's SHA-256 ...
    assert env.verify(key) == 200
    assert env.verify(key) == 200
    # ... which is the hash /introspect looks a token up by: still inactive.
    assert env.introspection(key) == (200, b'{"active":false}')


def test_own_revocation_counts_at_once(env):
    t = env.tokens("alice")
    access = t["access_token"]
    assert env.introspect(access) is True
    assert env.introspect(access) is True
    assert env.verify(access) == 200
    assert env.revoke(t["refresh_token"]) == 200
    # No wait: /revoke's answer left after the cache was told.
    assert env.introspect(access) is False
    assert env.verify(access) == 401


def test_other_process_revocation_within_a_second(env):
    alice = env.tokens("alice")["access_token"]
    bob = env.tokens("bob")["access_token"]
    for t in (alice, bob):
        assert env.introspect(t) is True
        assert env.introspect(t) is True
    rc, _, err = user(env.bin, env.conf, "revoke", "alice")
    revoked_at = time.monotonic()
    assert rc == 0, err
    # Only /introspect asks here, so its own cache entry has to go stale.
    while env.introspect(alice):
        assert time.monotonic() - revoked_at <= WITHIN_S, "still active"
        time.sleep(0.05)
    assert env.introspect(bob) is True
