"""GET/POST /authorize as a browser drives it: validation before any
redirect, the login page, sessions, consent, codes, throttling and hostile
input shown escaped."""

import html
import time
import urllib.parse

import pytest

import slapdir
from harness import Config
from oauthflow import (CHATGPT_CALLBACK, GPT_CALLBACK, Browser, Form, add_clients,
                       authorize_path, query_of)

U = slapdir.USERS
ISSUER = "http://127.0.0.1"


@pytest.fixture
def daemon(tmp_path, slapd, serve):
    return serve(add_clients(Config(tmp_path, slapd)).write())


def login(b, path, user, password):
    status, h, page = b.get(path)
    assert status == 200, page
    form = Form(page)
    return b.post("/authorize", {"username": user, "password": password,
                                 "csrf": form.hidden["csrf"]})


def sign_in_and_consent(b, path, user="alice"):
    status, h, _ = login(b, path, user, U[user]["password"])
    assert status == 303, h
    assert h["location"] == path
    return b.get(path)


# -- validation before anything is redirected ---------------------------------

@pytest.mark.parametrize("query", [
    {"response_type": "code", "client_id": "nope", "redirect_uri": CHATGPT_CALLBACK},
    {"response_type": "code", "client_id": "chatgpt",
     "redirect_uri": "https://evil.example/callback"},
    {"response_type": "code", "client_id": "chatgpt", "redirect_uri": CHATGPT_CALLBACK + "x"},
    {"response_type": "code", "client_id": "chatgpt",
     "redirect_uri": CHATGPT_CALLBACK + "?next=https://evil.example"},
    {"response_type": "code"},
])
def test_bad_client_or_redirect_uri_shows_a_page_never_redirects(daemon, query):
    status, h, page = Browser(daemon.port).get("/authorize?" + urllib.parse.urlencode(query))
    assert status == 400
    assert "location" not in h
    assert h["content-type"].startswith("text/html")
    assert "<form" not in page


def test_parameter_given_twice_is_refused(daemon):
    path = authorize_path("chatgpt", CHATGPT_CALLBACK) + "&client_id=chatgpt"
    status, h, _ = Browser(daemon.port).get(path)
    assert status == 400 and "location" not in h


@pytest.mark.parametrize("extra,error", [
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"scope": "admin:everything"}, "invalid_scope"),
    ({"code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "invalid_request"),
    ({"code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
      "code_challenge_method": "plain"}, "invalid_request"),
    ({"resource": "https://mcp.example.com"}, "invalid_target"),
])
def test_other_errors_redirect_with_state_and_iss(daemon, extra, error):
    q = {"response_type": "code", "client_id": "chatgpt", "redirect_uri": CHATGPT_CALLBACK,
         "state": "s t&<x>"}
    q.update(extra)
    status, h, _ = Browser(daemon.port).get("/authorize?" + urllib.parse.urlencode(q))
    assert status == 303
    assert h["location"].startswith(CHATGPT_CALLBACK + "?")
    got = query_of(h["location"])
    assert got["error"] == error
    assert got["state"] == "s t&<x>"
    assert got["iss"] == ISSUER


def test_public_client_needs_pkce(daemon):
    status, h, _ = Browser(daemon.port).get(authorize_path("cli", "http://127.0.0.1/callback"))
    assert status == 303
    assert query_of(h["location"])["error"] == "invalid_request"


# -- the login page -----------------------------------------------------------

def test_login_page_escapes_hostile_client_name_and_sets_preauth_cookie(daemon):
    b = Browser(daemon.port)
    status, h, page = b.get(authorize_path("chatgpt", CHATGPT_CALLBACK, state="<script>x"))
    assert status == 200
    assert "Jira &lt;b&gt;plugin&lt;/b&gt; &amp; &quot;friends&quot;" in page
    assert "<b>plugin</b>" not in page and "<script>x" not in page
    assert 'name="username"' in page and 'name="password"' in page
    assert "idb_preauth" in b.cookies
    assert "HttpOnly" in h["set-cookie"] and "SameSite=Lax" in h["set-cookie"]
    assert h["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in h["content-security-policy"]
    assert "access-control-allow-origin" not in h


def test_form_without_csrf_is_refused(daemon):
    b = Browser(daemon.port)
    b.get(authorize_path("chatgpt", CHATGPT_CALLBACK))
    status, h, page = b.post("/authorize", {"username": "alice",
                                            "password": U["alice"]["password"]})
    assert status == 403
    status, h, page = b.post("/authorize", {"username": "alice", "csrf": "x" * 43,
                                            "password": U["alice"]["password"]})
    assert status == 403
    assert "idb_session" not in b.cookies


def test_form_without_preauth_cookie_is_refused(daemon):
    b = Browser(daemon.port)
    _, _, page = b.get(authorize_path("chatgpt", CHATGPT_CALLBACK))
    csrf = Form(page).hidden["csrf"]
    b.cookies.clear()
    status, _, _ = b.post("/authorize", {"username": "alice", "csrf": csrf,
                                         "password": U["alice"]["password"]})
    assert status == 400
    assert "idb_session" not in b.cookies


# -- the whole flow -----------------------------------------------------------

def test_sign_in_consent_and_code(daemon):
    b = Browser(daemon.port)
    path = authorize_path("chatgpt", CHATGPT_CALLBACK, scope="", state="xyz")
    status, h, page = sign_in_and_consent(b, path)
    assert "idb_session" in b.cookies
    # consent = ask: the consent page lists what alice's groups allow.
    assert status == 200, page
    assert "read:resource" in page and "write:resource" in page
    form = Form(page)
    assert ("decision", "allow") in form.submits and ("decision", "deny") in form.submits
    status, h, _ = b.post("/authorize", {"decision": "allow", "csrf": form.hidden["csrf"]})
    assert status == 303
    got = query_of(h["location"])
    assert h["location"].startswith(CHATGPT_CALLBACK + "?")
    assert got["state"] == "xyz" and got["iss"] == ISSUER and len(got["code"]) == 43
    # Consent is remembered: the next authorization goes straight to a code.
    status, h, _ = b.get(path)
    assert status == 303 and "code" in query_of(h["location"])


def test_consent_denied_redirects_access_denied(daemon):
    b = Browser(daemon.port)
    path = authorize_path("chatgpt", CHATGPT_CALLBACK)
    _, _, page = sign_in_and_consent(b, path)
    status, h, _ = b.post("/authorize", {"decision": "deny",
                                         "csrf": Form(page).hidden["csrf"]})
    assert status == 303
    assert query_of(h["location"])["error"] == "access_denied"


def test_first_party_skips_consent(daemon):
    b = Browser(daemon.port)
    status, h, _ = sign_in_and_consent(b, authorize_path("firstparty", GPT_CALLBACK))
    assert status == 303 and "code" in query_of(h["location"])


def test_user_with_no_allowed_scope_gets_a_page_that_says_why(daemon):
    # carol is in ops only; the chatgpt client offers read/write:resource.
    b = Browser(daemon.port)
    status, h, page = sign_in_and_consent(b, authorize_path("chatgpt", CHATGPT_CALLBACK),
                                          user="carol")
    assert status == 403
    assert "none of the permissions" in page
    # The way back tells the client, as OAuth wants (the page escapes the URL).
    assert "error=access_denied" in html.unescape(page)


# -- failures -----------------------------------------------------------------

def test_wrong_password_and_unknown_user_look_alike(daemon):
    path = authorize_path("chatgpt", CHATGPT_CALLBACK)
    answers = []
    for user, pw in (("alice", "wrong"), ("no-such-user", "wrong"), ("a*", "x")):
        b = Browser(daemon.port)
        t = time.monotonic()
        status, h, page = login(b, path, user, pw)
        answers.append((status, "Wrong user name or password." in page,
                        time.monotonic() - t >= 0.8, "idb_session" in b.cookies))
    assert answers == [(401, True, True, False)] * 3, answers


def test_directory_down_says_try_again_not_wrong_password(tmp_path, own_slapd, serve):
    d = serve(add_clients(Config(tmp_path, own_slapd)).write())
    b = Browser(d.port)
    _, _, page = b.get(authorize_path("chatgpt", CHATGPT_CALLBACK))
    own_slapd.stop()
    status, h, page = b.post("/authorize", {"username": "alice", "csrf": Form(page).hidden["csrf"],
                                            "password": U["alice"]["password"]})
    assert status == 503
    assert "try again later" in page and "Wrong user name" not in page


def test_throttling_after_repeated_failures(daemon):
    path = authorize_path("chatgpt", CHATGPT_CALLBACK)
    b = Browser(daemon.port)
    statuses = []
    for _ in range(3):
        status, h, page = login(b, path, "bob", "wrong")
        statuses.append(status)
    assert statuses == [401, 401, 401]
    # Three failures make bob wait; the next attempt is refused at once,
    # even with the right password, and says for how long.
    status, h, page = login(b, path, "bob", U["bob"]["password"])
    assert status == 429
    assert "try again in" in page and int(h["retry-after"]) > 0


def test_sigterm_with_a_sign_in_in_flight(tmp_path, slapd, serve, blackhole):
    # The sign-in hangs on a directory that never answers, its connection
    # suspended on the auth pool; SIGTERM must still answer it and exit 0.
    import signal
    import threading
    cfg = add_clients(Config(tmp_path, slapd))
    cfg.set("ldap", uri=blackhole.uri, timeout="2")
    d = serve(cfg.write())
    b = Browser(d.port)
    _, _, page = b.get(authorize_path("chatgpt", CHATGPT_CALLBACK))
    csrf = Form(page).hidden["csrf"]
    before = blackhole.count()
    result = {}

    def post():
        result["answer"] = b.post("/authorize", {"username": "alice", "csrf": csrf,
                                                 "password": U["alice"]["password"]})
    t = threading.Thread(target=post)
    t.start()
    assert poll_until(lambda: blackhole.count() > before)
    assert not result
    d.signal(signal.SIGTERM)
    t.join(timeout=30)
    assert result["answer"][0] == 503, result
    assert "try again later" in result["answer"][2]
    assert d.wait(timeout=20) == 0


def poll_until(fn, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fn():
            return True
        time.sleep(0.02)
    return False


def test_parallel_guesses_cannot_pass_the_throttle(tmp_path, slapd, serve):
    # Eight wrong passwords for one name at once: attempts in flight count
    # against the cap, so no more than five reach the directory; the rest
    # wait (429).  Binds are held 1 s so all eight are in flight together
    # (a fast directory could finish three before the others arrive: then
    # the free failures are used up and fewer reach it).
    import threading
    from slowproxy import SlowProxy
    with SlowProxy("127.0.0.1", slapd.port, delay=1.0, hold="binds") as proxy:
        cfg = add_clients(Config(tmp_path, slapd))
        cfg.set("ldap", uri=proxy.uri, timeout="10")
        d = serve(cfg.write())
        path = authorize_path("chatgpt", CHATGPT_CALLBACK)
        browsers = []
        for _ in range(8):
            b = Browser(d.port)
            _, _, page = b.get(path)
            browsers.append((b, Form(page).hidden["csrf"]))
        statuses = []

        def guess(b, csrf):
            statuses.append(b.post("/authorize", {"username": "bob", "password": "wrong",
                                                  "csrf": csrf})[0])
        threads = [threading.Thread(target=guess, args=bc) for bc in browsers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert sorted(statuses) == [401] * 5 + [429] * 3, statuses


def test_head_authorize_has_no_side_effects(daemon):
    b = Browser(daemon.port)
    status, h, _ = b.request("HEAD", authorize_path("chatgpt", CHATGPT_CALLBACK))
    assert status == 405
    assert "set-cookie" not in h


def test_hsts_follows_an_https_issuer(tmp_path, slapd, serve):
    cfg = add_clients(Config(tmp_path, slapd))
    cfg.set("server", issuer="https://sso.example.com")
    d = serve(cfg.write())
    status, h, _ = d.request("GET", "/livez")
    assert h["strict-transport-security"] == "max-age=31536000"
    # The cookies take the __Host- prefix and Secure from the same issuer.
    status, h, _ = d.request("GET", authorize_path("chatgpt", CHATGPT_CALLBACK))
    assert h["set-cookie"].startswith("__Host-idb_preauth=") and "; Secure" in h["set-cookie"]


def test_no_hsts_on_a_loopback_http_issuer(daemon):
    status, h, _ = daemon.request("GET", "/livez")
    assert "strict-transport-security" not in h


def test_sign_in_redirect_carries_no_raw_bytes(daemon):
    # A state with characters that must be encoded comes back encoded in
    # the 303 after sign-in, never raw.
    b = Browser(daemon.port)
    path = authorize_path("chatgpt", CHATGPT_CALLBACK, state="a b\u00e9\u0001")
    _, _, page = b.get(path)
    status, h, _ = b.post("/authorize", {"username": "alice", "csrf": Form(page).hidden["csrf"],
                                         "password": U["alice"]["password"]})
    assert status == 303
    loc = h["location"]
    assert all(0x21 <= ord(c) < 0x7f for c in loc), loc
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)["state"] == ["a b\u00e9\u0001"]


def test_hostile_user_name_is_shown_escaped(daemon):
    b = Browser(daemon.port)
    status, h, page = login(b, authorize_path("chatgpt", CHATGPT_CALLBACK),
                            '<script>alert("x")</script>', "wrong")
    assert status == 401
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
