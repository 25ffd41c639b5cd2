"""`idbridge client add|list|remove`: clients kept in the store, served by a
running daemon within about a second, checked with the rules of a [client]
section, their secret printed once and usable at /token."""

import base64
import html
import json
import re
import subprocess
import time
import urllib.parse

import pytest

import slapdir
from harness import Config
from oauthflow import (CHATGPT_CALLBACK, PLUGIN_SECRET, Browser, Form, add_clients,
                       authorize_path, query_of)

U = slapdir.USERS
STORED_CALLBACK = "https://stored.example.com/oauth/callback"
HOSTILE_NAME = "Stored <i>plugin</i> & co"
# A change must be served within ~1 s (the recheck interval); allow for a slow machine.
PICKUP_S = 2.5


@pytest.fixture
def conf(tmp_path, slapd):
    return add_clients(Config(tmp_path, slapd)).write()


@pytest.fixture
def daemon(conf, serve):
    return serve(conf)


def client(binary, *args):
    return subprocess.run([binary, "client", *args], capture_output=True, text=True,
                          timeout=30)


def add(binary, conf, cid, *extra, name=HOSTILE_NAME, uri=STORED_CALLBACK,
        scopes="read:resource write:resource"):
    return client(binary, "add", "-c", conf, cid, "--name", name, "--redirect-uri", uri,
                  "--scopes", scopes, *extra)


def wait_for(fn, timeout=PICKUP_S):
    """Poll fn() until it returns a true value; (value, seconds taken)."""
    start = time.monotonic()
    while True:
        v = fn()
        if v or time.monotonic() - start > timeout:
            return v, time.monotonic() - start
        time.sleep(0.1)


def login_page(daemon, path):
    status, _, page = Browser(daemon.port).get(path)
    return page if status == 200 and "<form" in page else None


def code_for(daemon, path, user="alice"):
    b = Browser(daemon.port)
    _, _, page = b.get(path)
    status, h, _ = b.post("/authorize", {"username": user, "password": U[user]["password"],
                                         "csrf": Form(page).hidden["csrf"]})
    assert status == 303, h
    status, h, page = b.get(h["location"])
    if status == 200:  # the consent page, the first time only
        status, h, _ = b.post("/authorize", {"decision": "allow",
                                             "csrf": Form(page).hidden["csrf"]})
    assert status == 303, h
    return query_of(h["location"])


def token(daemon, fields, secret=None, cid="stored"):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if secret is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(
            ("%s:%s" % (cid, secret)).encode()).decode()
    status, _, body = daemon.request("POST", "/token", body=urllib.parse.urlencode(fields),
                                     headers=headers)
    return status, json.loads(body)


def test_added_client_works_in_the_running_daemon(idbridge_bin, conf, daemon, tmp_path):
    path = authorize_path("stored", STORED_CALLBACK, scope="read:resource")
    status, _, page = Browser(daemon.port).get(path)
    assert status == 400 and "names no application" in page

    r = add(idbridge_bin, conf, "stored", "--pkce", "optional")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1 and re.fullmatch(r"[A-Za-z0-9]{64}", lines[0]), r.stdout
    secret = lines[0]
    assert "shown only this once" in r.stderr and secret not in r.stderr

    page, took = wait_for(lambda: login_page(daemon, path))
    assert page is not None, "the daemon did not serve the new client within %ss" % PICKUP_S
    # The login page names the client, escaped.
    assert html.escape(HOSTILE_NAME, quote=False) in page and HOSTILE_NAME not in page

    got = code_for(daemon, path)
    fields = {"grant_type": "authorization_code", "code": got["code"],
              "redirect_uri": STORED_CALLBACK}
    # Another first character, whatever the random secret starts with.
    wrong = ("y" if secret[0] == "x" else "x") + secret[1:]
    status, body = token(daemon, fields, secret=wrong)
    assert status == 401 and body["error"] == "invalid_client"
    got = code_for(daemon, path)
    fields["code"] = got["code"]
    status, body = token(daemon, fields, secret=secret)
    assert status == 200, body
    assert body["scope"] == "read:resource" and body["refresh_token"]

    # Printed once: never listed, never stored in clear.
    listed = client(idbridge_bin, "list", "-c", conf)
    assert listed.returncode == 0 and secret not in listed.stdout + listed.stderr
    state = tmp_path / "state"
    for f in state.iterdir():
        assert secret.encode() not in f.read_bytes(), f


def test_removed_client_is_unknown_within_seconds(idbridge_bin, conf, daemon):
    r = add(idbridge_bin, conf, "native", "--public", uri="http://127.0.0.1/callback",
            scopes="read:resource", name="Native app")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "", "a public client has no secret to print"
    path = authorize_path("native", "http://127.0.0.1:40123/callback",
                          code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                          code_challenge_method="S256")
    page, _ = wait_for(lambda: login_page(daemon, path))
    assert page is not None and "Native app" in page

    r = client(idbridge_bin, "remove", "-c", conf, "native")
    assert r.returncode == 0, r.stderr
    assert "removed client 'native'" in r.stdout

    def unknown():
        status, h, page = Browser(daemon.port).get(path)
        return status == 400 and "location" not in h and "names no application" in page
    gone, took = wait_for(unknown)
    assert gone, "the removed client was still served after %ss" % PICKUP_S
    # Removing it again: nothing to remove.
    r = client(idbridge_bin, "remove", "-c", conf, "native")
    assert r.returncode == 1 and "no stored client 'native'" in r.stderr


def test_list_shows_both_sources_without_secrets(idbridge_bin, conf):
    assert add(idbridge_bin, conf, "stored", "--consent", "skip", "--introspect").returncode == 0
    assert add(idbridge_bin, conf, "native", "--public", uri="http://127.0.0.1/cb",
               scopes="read:resource", name="Native").returncode == 0
    r = client(idbridge_bin, "list", "-c", conf)
    assert r.returncode == 0, r.stderr
    rows = {line.split()[0]: line.split() for line in r.stdout.splitlines()
            if line and not line.startswith(" ")}
    assert rows["CLIENT_ID"][:7] == ["CLIENT_ID", "SOURCE", "TYPE", "PKCE", "CONSENT",
                                     "INTROSPECT", "NAME"]
    assert rows["chatgpt"][1:6] == ["config", "confidential", "optional", "ask", "no"]
    assert rows["cli"][1:3] == ["config", "public"]
    assert rows["stored"][1:6] == ["store", "confidential", "required", "skip", "yes"]
    assert rows["native"][1:4] == ["store", "public", "required"]
    assert "redirect_uri: " + STORED_CALLBACK in r.stdout
    assert "scopes: read:resource write:resource" in r.stdout
    assert "sha256" not in r.stdout and PLUGIN_SECRET not in r.stdout


@pytest.mark.parametrize("cid,extra,kw,message", [
    ("stored", [], {"uri": "http://plugin.example.com/cb"},
     "http:// is only allowed for a loopback host"),
    ("stored", [], {"uri": STORED_CALLBACK + "#frag"}, "must not have a fragment"),
    ("stored", [], {"uri": "https://*.example.com/cb"}, "must not contain '*'"),
    ("stored", [], {"uri": "/relative/cb"}, "is not an absolute URI"),
    ("stored", [], {"scopes": "read:resource admin:everything"},
     "scope 'admin:everything' is not defined in [scopes]"),
    ("stored", [], {"scopes": "read:resource read:resource"}, "is listed twice"),
    ("stored", [], {"scopes": " "}, "--scopes names no scope"),
    ("chatgpt", [], {}, "'chatgpt' is a [client chatgpt] section of"),
    ("a:b", [], {}, "'a:b' is not a client_id"),
    ("stored", [], {"name": ""}, "--name must be 1 to"),
    ("stored", ["--public", "--pkce", "optional"], {}, "a public client always requires PKCE"),
    ("stored", ["--public", "--introspect"], {}, "a public client cannot authenticate"),
    ("stored", ["--pkce", "sometimes"], {}, "--pkce 'sometimes' is not required or optional"),
    ("stored", ["--consent", "never"], {}, "--consent 'never' is not ask or skip"),
])
def test_invalid_clients_are_refused(idbridge_bin, conf, cid, extra, kw, message):
    r = add(idbridge_bin, conf, cid, *extra, **kw)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert message in r.stderr
    assert r.stdout == "", "no secret is printed for a refused client"
    listed = client(idbridge_bin, "list", "-c", conf).stdout
    assert not any(line.split()[1:2] == ["store"] for line in listed.splitlines()
                   if line and not line.startswith(" "))


def test_duplicate_id_is_refused(idbridge_bin, conf):
    first = add(idbridge_bin, conf, "stored")
    assert first.returncode == 0
    again = add(idbridge_bin, conf, "stored", "--public")
    assert again.returncode == 1
    assert "a client 'stored' is stored already" in again.stderr
    assert again.stdout == ""


def test_config_clients_are_not_removed(idbridge_bin, conf):
    r = client(idbridge_bin, "remove", "-c", conf, "chatgpt")
    assert r.returncode == 1
    assert "[client chatgpt] section" in r.stderr and "edit the file" in r.stderr


@pytest.mark.parametrize("args,status", [
    (["--help"], 0),
    (["add", "--help"], 0),
    ([], 2),
    (["frob"], 2),
    (["add"], 2),
    (["add", "x", "--redirect-uri", STORED_CALLBACK, "--scopes", "read:resource"], 2),
    (["add", "x", "--name", "X", "--scopes", "read:resource"], 2),
    (["add", "x", "--name", "X", "--redirect-uri", STORED_CALLBACK], 2),
    (["list", "extra"], 2),
    (["list", "--public"], 2),
    (["remove"], 2),
    (["remove", "a", "b"], 2),
    (["add", "x", "--bogus"], 2),
])
def test_usage(idbridge_bin, conf, args, status):
    r = client(idbridge_bin, *args, "-c", conf)
    assert r.returncode == status, (r.stdout, r.stderr)
    out = r.stdout if status == 0 else r.stderr
    assert "usage: idbridge client add" in out
