"""The employee's API key portal (issue 4, user_http): GET/POST /keys and /api/keys.

A real daemon and slapd; the browser is oauthflow.Browser (cookies, forms).
The real-browser flow (Playwright) is tests/e2e/keys.test.mjs."""

import html
import json
import re
import subprocess
import time
import urllib.parse

import pytest

import slapdir
from harness import Config, poll
import oauthflow
from oauthflow import Browser, Form

KEY_RE = re.compile(r'id="new-key"[^>]*value="(idb_[0-9A-Za-z]{49})"')
ALICE_PW = slapdir.USERS["alice"]["password"]
BOB_PW = slapdir.USERS["bob"]["password"]


@pytest.fixture
def cfg(tmp_path, slapd):
    c = Config(tmp_path, slapd)
    c.set("apikeys", max_per_user="3", max_lifetime=str(90 * 86400))
    oauthflow.add_clients(c)
    c.write()
    return c


@pytest.fixture
def daemon(cfg, serve):
    return serve(cfg.path)


def sign_in(d, user="alice", password=ALICE_PW):
    """A Browser signed in to the portal, and the keys page it landed on."""
    b = Browser(d.port)
    st, h, page = b.get("/keys")
    assert st == 200 and 'action="/keys"' in page, page
    assert "Sign in to see and manage your API keys." in page
    f = Form(page)
    st, h, _ = b.post("/keys", {"csrf": f.hidden["csrf"], "username": user,
                                "password": password})
    assert st == 303 and h["location"] == "/keys", (st, h)
    st, h, page = b.get("/keys")
    assert st == 200 and "Your API keys" in page, page
    return b, page


def csrf_of(page):
    return Form(page).hidden["csrf"]


def create(b, page, name="laptop", scopes=("read:resource",), lifetime="30"):
    fields = {"action": "create", "csrf": csrf_of(page), "name": name, "lifetime": lifetime}
    for s in scopes:
        fields["scope." + s] = "on"
    return b.post("/keys", fields)


def verify(d, key, plugin=None):
    q = "?plugin=" + plugin if plugin else ""
    return d.request("GET", "/verify" + q, headers={"Authorization": "Bearer " + key})


def test_login_page_then_keys_page(daemon):
    b, page = sign_in(daemon)
    assert "Alice Liddell" in page
    assert "You have no API keys yet." in page
    # Only the scopes alice's groups allow are offered (engineering + staff).
    assert 'name="scope.read:resource"' in page and 'name="scope.write:resource"' in page
    assert 'name="scope.ops:admin"' not in page
    # max_lifetime 90 days: no "Never", no "1 year".
    assert 'value="30"' in page and 'value="90"' in page
    assert ">Never<" not in page and "1 year" not in page


def test_create_shows_key_once_and_it_works(daemon, idbridge_bin, cfg):
    b, page = sign_in(daemon)
    st, h, page = create(b, page, scopes=("read:resource", "write:resource"))
    assert st == 200, page
    assert "no-store" in h["cache-control"]
    key = KEY_RE.search(page).group(1)
    st, h, _ = verify(daemon, key)
    assert st == 200 and h["x-idbridge-user"] == "alice"
    assert set(h["x-idbridge-scopes"].split(",")) == {"read:resource", "write:resource"}
    # Shown once: the next page lists the key by name, never the key.
    st, _, page = b.get("/keys")
    assert st == 200 and key not in page and key[4:12] not in page.replace(key, "")
    assert "laptop" in page and 'id="new-key"' not in page
    # The admin sees it too, with a 30-day expiry.
    out = subprocess.run([idbridge_bin, "keys", "-c", cfg.path, "list", "alice"],
                         capture_output=True, text=True, check=True).stdout
    assert "laptop" in out and key not in out


def test_revoke_from_portal(daemon):
    b, page = sign_in(daemon)
    st, _, page = create(b, page)
    key = KEY_RE.search(page).group(1)
    kid = re.search(r'data-key-id="(\d+)"', page).group(1)
    assert verify(daemon, key)[0] == 200
    st, _, page = b.post("/keys", {"action": "revoke", "csrf": csrf_of(page), "id": kid})
    assert st == 200 and "The key was revoked" in page
    assert verify(daemon, key)[0] == 401
    # Revoking again, or a key that is not yours, is "no such key".
    st, _, page = b.post("/keys", {"action": "revoke", "csrf": csrf_of(page), "id": kid})
    assert st == 404 and "You have no such key." in page


def test_cannot_revoke_someone_elses_key(daemon):
    ab, apage = sign_in(daemon)
    st, _, apage = create(ab, apage, name="alice-workstation")
    akey = KEY_RE.search(apage).group(1)
    akid = re.search(r'data-key-id="(\d+)"', apage).group(1)
    bb, bpage = sign_in(daemon, "bob", BOB_PW)
    st, _, bpage = bb.post("/keys", {"action": "revoke", "csrf": csrf_of(bpage), "id": akid})
    assert st == 404
    assert verify(daemon, akey)[0] == 200
    assert "alice-workstation" not in bpage


@pytest.mark.parametrize("fields,status,message", [
    ({"name": "", "scope.read:resource": "on"}, 400, "Give the key a name"),
    ({"name": " padded", "scope.read:resource": "on"}, 400, "Give the key a name"),
    ({"name": "x" * 65, "scope.read:resource": "on"}, 400, "Give the key a name"),
    ({"name": "ok"}, 400, "Choose at least one scope"),
    ({"name": "ok", "scope.ops:admin": "on"}, 400, "do not allow the scope ops:admin"),
    ({"name": "ok", "scope.nosuch": "on"}, 400, "do not allow the scope nosuch"),
    ({"name": "ok", "scope.read:resource": "on", "lifetime": "91"}, 400, "at most 90 days"),
    ({"name": "ok", "scope.read:resource": "on", "lifetime": "-1"}, 400,
     "Choose how long the key lives"),
])
def test_create_refusals(daemon, fields, status, message):
    b, page = sign_in(daemon)
    body = {"action": "create", "csrf": csrf_of(page), "lifetime": "30"}
    body.update(fields)
    st, _, page = b.post("/keys", body)
    assert st == status, page
    assert message in html.unescape(page), page
    assert not KEY_RE.search(page)


def test_hostile_name_is_escaped(daemon):
    b, page = sign_in(daemon)
    st, _, page = create(b, page, name='<script>alert(1)</script>"\'=')
    assert st == 200
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&#61;" in page


def test_key_limit(daemon):
    b, page = sign_in(daemon)
    for i in range(3):
        st, _, page = create(b, page, name="k%d" % i)
        assert st == 200, page
    st, _, page = create(b, page, name="k3")
    assert st == 409 and "already holds 3 live keys" in page
    assert not KEY_RE.search(page)


def test_csrf_and_session_required(daemon):
    b, page = sign_in(daemon)
    # A wrong or missing CSRF token: refused, nothing made.
    for token in ("", "x" * 43):
        st, _, p = b.post("/keys", {"action": "create", "csrf": token, "name": "evil",
                                    "scope.read:resource": "on"})
        assert st == 403 and not KEY_RE.search(p)
    # No session at all: the login form again.
    anon = Browser(daemon.port)
    st, _, p = anon.post("/keys", {"action": "create", "csrf": csrf_of(page), "name": "evil",
                                   "scope.read:resource": "on"})
    assert st == 401 and 'action="/keys"' in p and "session has ended" in p
    # A login POST without the portal's pre-auth cookie is refused.
    st, _, p = anon.post("/keys", {"csrf": "x" * 43, "username": "alice",
                                   "password": ALICE_PW})
    assert st == 403 and "expired" in p
    assert "evil" not in b.get("/keys")[2]


def test_wrong_password_at_portal(daemon):
    b = Browser(daemon.port)
    _, _, page = b.get("/keys")
    st, _, page = b.post("/keys", {"csrf": csrf_of(page), "username": "alice",
                                   "password": "wrong"})
    assert st == 401 and "Wrong user name or password." in page and 'action="/keys"' in page


def test_authorize_preauth_cannot_sign_in_at_portal(daemon):
    """A pre-auth cookie of an /authorize flow is not a portal one."""
    b = Browser(daemon.port)
    st, _, page = b.get(oauthflow.authorize_path("firstparty", oauthflow.GPT_CALLBACK))
    assert st == 200 and 'action="/authorize"' in page
    st, _, p = b.post("/keys", {"csrf": csrf_of(page), "username": "alice",
                                "password": ALICE_PW})
    assert st == 403


# ---- /api/keys ---------------------------------------------------------------------------

def api(b, method, path, body=None, headers=None):
    h = dict(headers or {})
    if body is not None:
        body = json.dumps(body)
        h.setdefault("Content-Type", "application/json")
    st, hd, data = b.request(method, path, body=body, headers=h)
    return st, hd, (json.loads(data) if data and hd.get("content-type", "").startswith(
        "application/json") else data)


def test_api_list_create_delete(daemon):
    b, _ = sign_in(daemon)
    st, _, j = api(b, "GET", "/api/keys")
    assert st == 200 and j["keys"] == [] and len(j["csrf"]) == 43
    csrf = j["csrf"]
    st, h, made = api(b, "POST", "/api/keys", {"name": "ci", "scopes": ["read:resource"],
                                               "expires_in_days": 7},
                      {"X-CSRF-Token": csrf})
    assert st == 201, made
    assert re.match(r"^idb_[0-9A-Za-z]{49}$", made["key"])
    assert made["name"] == "ci" and made["scopes"] == ["read:resource"]
    assert made["prefix"] == made["key"][:12]
    assert abs(made["expires_at"] - (time.time() + 7 * 86400)) < 120
    assert "no-store" in h["cache-control"]
    assert verify(daemon, made["key"])[0] == 200
    st, _, j = api(b, "GET", "/api/keys")
    assert [k["id"] for k in j["keys"]] == [made["id"]] and "key" not in j["keys"][0]
    # With an Origin equal to the issuer instead of the token.
    st, _, _ = api(b, "DELETE", "/api/keys/%d" % made["id"],
                   headers={"Origin": "http://127.0.0.1"})
    assert st == 204
    assert verify(daemon, made["key"])[0] == 401


def test_api_delete_with_csrf(daemon):
    b, _ = sign_in(daemon)
    csrf = api(b, "GET", "/api/keys")[2]["csrf"]
    made = api(b, "POST", "/api/keys", {"name": "ci", "scopes": "read:resource"},
               {"X-CSRF-Token": csrf})[2]
    st, _, _ = api(b, "DELETE", "/api/keys/%d" % made["id"], headers={"X-CSRF-Token": csrf})
    assert st == 204
    assert verify(daemon, made["key"])[0] == 401
    st, _, j = api(b, "DELETE", "/api/keys/%d" % made["id"], headers={"X-CSRF-Token": csrf})
    assert st == 404


def test_api_refuses_api_keys_and_cross_origin(daemon):
    b, _ = sign_in(daemon)
    csrf = api(b, "GET", "/api/keys")[2]["csrf"]
    made = api(b, "POST", "/api/keys", {"name": "ci", "scopes": ["read:resource"]},
               {"X-CSRF-Token": csrf})[2]
    # A key can never manage keys, not even alongside the session.
    anon = Browser(daemon.port)
    for who in (anon, b):
        st, _, j = api(who, "POST", "/api/keys", {"name": "more", "scopes": ["read:resource"]},
                       {"Authorization": "Bearer " + made["key"], "X-CSRF-Token": csrf})
        assert st == 403 and j["error"] == "access_denied"
        st, _, j = api(who, "GET", "/api/keys", headers={"Authorization": "Bearer " +
                                                         made["key"]})
        assert st == 403
    # No session: 401.
    st, _, j = api(anon, "GET", "/api/keys")
    assert st == 401 and j["error"] == "login_required"
    # Neither token nor Origin; a foreign Origin even with the token.
    st, _, _ = api(b, "POST", "/api/keys", {"name": "x", "scopes": ["read:resource"]})
    assert st == 403
    st, _, _ = api(b, "POST", "/api/keys", {"name": "x", "scopes": ["read:resource"]},
                   {"X-CSRF-Token": csrf, "Origin": "https://plugin.example.org"})
    assert st == 403
    st, _, _ = api(b, "DELETE", "/api/keys/%d" % made["id"],
                   headers={"Origin": "https://plugin.example.org"})
    assert st == 403
    assert verify(daemon, made["key"])[0] == 200


@pytest.mark.parametrize("body,ctype", [
    ('{"name": "a", "name": "b", "scopes": ["read:resource"]}', "application/json"),
    ('{"name": "a", "scopes": ["read:resource"], "admin": true}', "application/json"),
    ('{"name": 5, "scopes": ["read:resource"]}', "application/json"),
    ('{"name": "a", "scopes": [5]}', "application/json"),
    ('{"name": "a", "scopes": ["read:resource"], "expires_in_days": "7"}', "application/json"),
    ('["a"]', "application/json"),
    ('not json', "application/json"),
    ('name=a&scopes=read:resource', "application/x-www-form-urlencoded"),
])
def test_api_malformed(daemon, body, ctype):
    b, _ = sign_in(daemon)
    csrf = api(b, "GET", "/api/keys")[2]["csrf"]
    st, _, data = b.request("POST", "/api/keys", body=body,
                            headers={"Content-Type": ctype, "X-CSRF-Token": csrf})
    assert st == 400, data
    assert api(b, "GET", "/api/keys")[2]["keys"] == []
