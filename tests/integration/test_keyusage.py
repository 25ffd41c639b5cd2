"""API keys at /verify: batched last-use bookkeeping, the "first used" audit
line, keys at ?plugin=, and a revocation from another process while the
key's result is cached.

The directory is the shared slapd (never modified here) with the default
[tokens] directory_cache_ttl (300 s), so a key's /verify result is cached."""

import re
import signal
import time
from datetime import datetime, timezone

import pytest

from harness import Config, poll
from oauthflow import add_clients, secret_hash
from test_apikeys import issue, keys, verify

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
SERVICE_SECRET = "S" * 64


def make_config(tmp_path, slapd, interval):
    c = add_clients(Config(tmp_path, slapd))
    c.set("apikeys", last_used_interval=str(interval))
    c.sections["plugin tickets"] = {"auth": "user_http"}
    c.sections["plugin reports"] = {"auth": "service_http",
                                    "service_secret": secret_hash(SERVICE_SECRET)}
    c.sections["plugin jira"] = {"auth": "oauth", "client": "chatgpt",
                                 "audience": "https://jira.example.com"}
    c.sections["plugin status"] = {"auth": "none"}
    c.write()
    return c


def last_used(idbridge_bin, cfg, kid):
    """The LAST USED column of key kid in `idbridge keys list` ("-": never)."""
    rc, out, err = keys(idbridge_bin, cfg, "list")
    assert rc == 0, err
    header = out.splitlines()[0]
    assert "LAST USED" in header, header
    row = [l for l in out.splitlines()[1:] if l.split()[0] == kid]
    assert len(row) == 1, out
    # ID PREFIX USER NAME CREATED EXPIRES REVOKED LAST-USED SCOPES (names here have no spaces)
    return row[0].split()[7]


def first_use_lines(d, kid):
    return [l for l in d.output().splitlines()
            if "event=apikey_first_use" in l and "key_id=%s " % kid in l]


def test_last_used_written_in_batches_and_first_use_audited_once(tmp_path, slapd,
                                                                 idbridge_bin, serve):
    cfg = make_config(tmp_path, slapd, 1)
    key, kid = issue(idbridge_bin, cfg)
    other, other_kid = issue(idbridge_bin, cfg, name="unused")
    d = serve(cfg.path)
    assert last_used(idbridge_bin, cfg, kid) == "-"
    before = int(time.time())
    for _ in range(5):
        assert verify(d, key)[0] == 200
    # Written by the flusher within a few seconds ([apikeys] last_used_interval = 1).
    stamp = poll(lambda: ISO.match(last_used(idbridge_bin, cfg, kid)), timeout=5)
    assert stamp, d.output()
    t = datetime.strptime(stamp.group(0), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert before <= t.timestamp() <= time.time() + 1
    assert last_used(idbridge_bin, cfg, other_kid) == "-"       # never used: never written
    # More uses, before and after further writes: still one "first used" line.
    for _ in range(3):
        assert verify(d, key)[0] == 200
    time.sleep(1.5)
    for _ in range(3):
        assert verify(d, key)[0] == 200
    lines = first_use_lines(d, kid)
    assert len(lines) == 1, d.output()
    assert 'user="alice"' in lines[0] and "outcome=ok addr=127.0.0.1" in lines[0], lines
    assert first_use_lines(d, other_kid) == []
    assert key not in d.output() and other not in d.output()


def test_sigterm_writes_pending_uses(tmp_path, slapd, idbridge_bin, serve):
    cfg = make_config(tmp_path, slapd, 3600)
    key, kid = issue(idbridge_bin, cfg)
    d = serve(cfg.path)
    for _ in range(3):
        assert verify(d, key)[0] == 200
    # An hour between writes: nothing is written per request.
    time.sleep(0.5)
    assert last_used(idbridge_bin, cfg, kid) == "-"
    d.signal(signal.SIGTERM)
    assert d.wait() == 0, d.output()
    assert ISO.match(last_used(idbridge_bin, cfg, kid)), d.output()
    assert len(first_use_lines(d, kid)) == 1, d.output()


def test_key_only_at_user_http_plugins(tmp_path, slapd, idbridge_bin, serve):
    """?plugin=NAME takes an API key only when NAME is auth = user_http, even
    with the key's result already cached from a call that named such a plugin."""
    cfg = make_config(tmp_path, slapd, 30)
    key, _ = issue(idbridge_bin, cfg)
    d = serve(cfg.path)

    def at(query):
        return d.request("GET", "/verify" + query, headers={"Authorization": "Bearer " + key})

    status, h, _ = at("?plugin=tickets")
    assert status == 200 and h["x-idbridge-user"] == "alice", h
    assert at("?plugin=tickets&scope=read:resource")[0] == 200
    assert at("?plugin=tickets&scope=ops:admin")[0] == 403
    assert at("")[0] == 200
    for name in ("reports", "jira", "status"):
        status, h, _ = at("?plugin=" + name)
        assert status == 401, (name, status)
        assert 'error="invalid_token"' in h["www-authenticate"], name
        assert "x-idbridge-user" not in h
    assert at("?plugin=nosuch")[0] == 400
    # The user_http plugin takes no service secret.
    status, _, _ = d.request("GET", "/verify?plugin=tickets",
                             headers={"Authorization": "Bearer " + SERVICE_SECRET})
    assert status == 401
    assert at("?plugin=tickets")[0] == 200


def test_revoked_while_cached_refused_within_a_second(tmp_path, slapd, idbridge_bin, serve):
    cfg = make_config(tmp_path, slapd, 30)
    key, kid = issue(idbridge_bin, cfg)
    d = serve(cfg.path)
    assert verify(d, key)[0] == 200
    assert verify(d, key)[0] == 200     # now answered from the cache
    rc, _, err = keys(idbridge_bin, cfg, "revoke", kid)
    assert rc == 0, err
    revoked = time.monotonic()
    status = None
    while time.monotonic() - revoked < 3:
        status, h, _ = verify(d, key)
        if status != 200:
            break
        time.sleep(0.05)
    took = time.monotonic() - revoked
    assert status == 401, (status, d.output())
    assert 'error="invalid_token"' in h["www-authenticate"]
    assert took < 1.5, took
