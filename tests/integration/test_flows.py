"""The whole authorization-code flow over HTTP as each real client drives
it: a browser signs in on the login page, then the client exchanges the
code at /token the way that client does it (PROTOCOLS.md)."""

import base64
import hashlib
import json
import secrets
import urllib.parse

import pytest

import slapdir
from harness import Config
from oauthflow import (CHATGPT_CALLBACK, GPT_CALLBACK, PLUGIN_SECRET, Browser, Form,
                       add_clients, authorize_path, query_of)

U = slapdir.USERS


@pytest.fixture
def daemon(tmp_path, slapd, serve):
    return serve(add_clients(Config(tmp_path, slapd)).write())


def browser_code(daemon, path, user="alice", consent=True):
    b = Browser(daemon.port)
    _, _, page = b.get(path)
    status, h, _ = b.post("/authorize", {"username": user, "password": U[user]["password"],
                                         "csrf": Form(page).hidden["csrf"]})
    assert status == 303, h
    status, h, page = b.get(h["location"])
    if consent:
        assert status == 200, page
        status, h, _ = b.post("/authorize", {"decision": "allow",
                                             "csrf": Form(page).hidden["csrf"]})
    assert status == 303, h
    return query_of(h["location"])


def token(daemon, body, content_type, headers=None):
    h = {"Content-Type": content_type}
    h.update(headers or {})
    status, rh, data = daemon.request("POST", "/token", body=body, headers=h)
    return status, rh, json.loads(data)


def payload(jwt):
    seg = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))


def assert_tokens(status, h, body, scope):
    assert status == 200, body
    assert h["cache-control"] == "no-store"
    assert body["token_type"].lower() == "bearer"
    assert body["refresh_token"] and body["expires_in"] > 0
    assert body["scope"] == scope
    claims = payload(body["access_token"])
    assert claims["scope"] == scope and claims["sub"]
    return claims


def test_chatgpt_plugin_flow(daemon):
    # No PKCE, empty scope, JSON body, secret in the body, plugin callback.
    got = browser_code(daemon, authorize_path("chatgpt", CHATGPT_CALLBACK, scope="",
                                              state="chatgpt-state"))
    assert got["state"] == "chatgpt-state"
    status, h, body = token(daemon, json.dumps({
        "grant_type": "authorization_code", "client_id": "chatgpt",
        "client_secret": PLUGIN_SECRET, "code": got["code"],
        "redirect_uri": CHATGPT_CALLBACK}), "application/json")
    claims = assert_tokens(status, h, body, "read:resource write:resource")
    assert claims["client_id"] == "chatgpt"
    # Refresh, the same way: JSON, secret in the body.
    status, h, body2 = token(daemon, json.dumps({
        "grant_type": "refresh_token", "client_id": "chatgpt", "client_secret": PLUGIN_SECRET,
        "refresh_token": body["refresh_token"]}), "application/json")
    assert_tokens(status, h, body2, "read:resource write:resource")
    assert body2["refresh_token"] != body["refresh_token"]


def test_gpt_action_flow(daemon):
    # Form body, Basic authentication, chatgpt.com callback, a scope asked for.
    got = browser_code(daemon, authorize_path("firstparty", GPT_CALLBACK,
                                              scope="read:resource"), consent=False)
    basic = base64.b64encode(("firstparty:" + urllib.parse.quote(PLUGIN_SECRET, safe=""))
                             .encode()).decode()
    status, h, body = token(daemon, urllib.parse.urlencode({
        "grant_type": "authorization_code", "code": got["code"],
        "redirect_uri": GPT_CALLBACK}), "application/x-www-form-urlencoded",
        {"Authorization": "Basic " + basic})
    assert_tokens(status, h, body, "read:resource")


def test_public_client_with_pkce_flow(daemon):
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    # A native client: any port on the loopback redirect.
    redirect = "http://127.0.0.1:53682/callback"
    got = browser_code(daemon, authorize_path("cli", redirect, code_challenge=challenge,
                                              code_challenge_method="S256"), consent=False)
    form = {"grant_type": "authorization_code", "client_id": "cli", "code": got["code"],
            "redirect_uri": redirect}
    status, _, body = token(daemon, urllib.parse.urlencode(dict(form, code_verifier="x" * 43)),
                            "application/x-www-form-urlencoded")
    assert status == 400 and body["error"] == "invalid_grant"
    # The failed attempt spent the code: a fresh one with the right verifier.
    got = browser_code(daemon, authorize_path("cli", redirect, code_challenge=challenge,
                                              code_challenge_method="S256"), consent=False)
    form["code"] = got["code"]
    status, h, body = token(daemon, urllib.parse.urlencode(dict(form, code_verifier=verifier)),
                            "application/x-www-form-urlencoded")
    assert_tokens(status, h, body, "read:resource")


def test_replayed_code_from_the_browser_flow(daemon):
    got = browser_code(daemon, authorize_path("firstparty", GPT_CALLBACK), consent=False)
    exchange = urllib.parse.urlencode({
        "grant_type": "authorization_code", "client_id": "firstparty",
        "client_secret": PLUGIN_SECRET, "code": got["code"], "redirect_uri": GPT_CALLBACK})
    status, _, first = token(daemon, exchange, "application/x-www-form-urlencoded")
    assert status == 200
    status, _, again = token(daemon, exchange, "application/x-www-form-urlencoded")
    assert status == 400 and again["error"] == "invalid_grant"
    # The replay revoked what the code issued.
    status, _, body = token(daemon, urllib.parse.urlencode({
        "grant_type": "refresh_token", "client_id": "firstparty", "client_secret": PLUGIN_SECRET,
        "refresh_token": first["refresh_token"]}), "application/x-www-form-urlencoded")
    assert status == 400 and body["error"] == "invalid_grant"
