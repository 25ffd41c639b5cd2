"""POST /logout: ends the browser session, only with the session's CSRF
token.  No page carries a logout button yet, so the token is derived here
the way session.c derives it (SHA-256 over a label and the cookie value,
base64url): the positive test fails if the two ever disagree."""

import base64
import hashlib

import pytest

import slapdir
from harness import Config
from oauthflow import GPT_CALLBACK, Browser, Form, add_clients, authorize_path, query_of

U = slapdir.USERS
SESSION = "idb_session"   # the issuer is http: no __Host- prefix


@pytest.fixture
def daemon(tmp_path, slapd, serve):
    return serve(add_clients(Config(tmp_path, slapd)).write())


def session_csrf(cookie):
    d = hashlib.sha256(b"idbridge csrf v1:" + cookie.encode()).digest()
    return base64.urlsafe_b64encode(d).decode().rstrip("=")


# firstparty skips consent: a signed-in GET /authorize answers with a code.
PATH = authorize_path("firstparty", GPT_CALLBACK, scope="read:resource")


def signed_in(daemon, user="alice"):
    """A browser with a session, and the login page's (pre-auth) CSRF token."""
    b = Browser(daemon.port)
    status, _, page = b.get(PATH)
    assert status == 200 and 'name="username"' in page
    preauth_csrf = Form(page).hidden["csrf"]
    status, h, _ = b.post("/authorize", {"username": user, "password": U[user]["password"],
                                         "csrf": preauth_csrf})
    assert status == 303, h
    assert SESSION in b.cookies
    return b, preauth_csrf


def session_works(b):
    """Does the browser's session still sign it in without a password?"""
    status, h, page = b.get(PATH)
    if status == 303 and query_of(h["location"]).get("code"):
        return True
    assert status == 200 and 'name="username"' in page, (status, page)
    return False


def set_cookies(h):
    return [v for k, v in h.items() if k == "set-cookie"]


def test_logout_with_the_session_csrf_ends_the_session(daemon):
    b, _ = signed_in(daemon)
    cookie = b.cookies[SESSION]
    assert session_works(b)
    status, h, page = b.post("/logout", {"csrf": session_csrf(cookie)})
    assert status == 200, page
    assert h["content-type"].startswith("text/html")
    assert "Signed out" in page
    # The cookie is cleared...
    assert any(c.startswith(SESSION + "=;") and "Max-Age=0" in c for c in set_cookies(h)), h
    assert SESSION not in b.cookies
    # ...and the row is gone: the old cookie, sent again, gets the login page.
    b.cookies[SESSION] = cookie
    assert not session_works(b)
    assert "logout: session of alice ended" in daemon.output()


@pytest.mark.parametrize("fields", [
    {},                                          # no token at all
    {"csrf": ""},
    {"csrf": "A" * 43},                          # the right shape, a wrong value
    {"csrf": "PREAUTH"},                         # the login form's token (another cookie's)
])
def test_logout_without_a_valid_csrf_is_refused_and_the_session_stays(daemon, fields):
    b, preauth_csrf = signed_in(daemon)
    cookie = b.cookies[SESSION]
    if fields.get("csrf") == "PREAUTH":
        fields = {"csrf": preauth_csrf}
    status, h, page = b.post("/logout", fields)
    assert status == 403, page
    assert "still signed in" in page
    assert not any(c.startswith(SESSION + "=") for c in set_cookies(h))
    assert b.cookies.get(SESSION) == cookie
    assert session_works(b)


def test_another_sessions_csrf_does_not_end_this_one(daemon):
    a, _ = signed_in(daemon, "alice")
    b, _ = signed_in(daemon, "bob")
    status, _, _ = a.post("/logout", {"csrf": session_csrf(b.cookies[SESSION])})
    assert status == 403
    assert session_works(a) and session_works(b)
    # Ending one session leaves the other alone.
    status, _, _ = a.post("/logout", {"csrf": session_csrf(a.cookies[SESSION])})
    assert status == 200
    assert not session_works(a)
    assert session_works(b)


def test_logout_without_a_session_just_says_signed_out(daemon):
    b = Browser(daemon.port)
    status, _, page = b.post("/logout", {})
    assert status == 200 and "Signed out" in page


def test_logout_twice_is_harmless(daemon):
    b, _ = signed_in(daemon)
    cookie = b.cookies[SESSION]
    for _ in range(2):
        b.cookies[SESSION] = cookie
        status, _, page = b.post("/logout", {"csrf": session_csrf(cookie)})
        assert status == 200 and "Signed out" in page


def test_logout_is_post_only(daemon):
    # A link or an <img> must not sign anyone out.
    b, _ = signed_in(daemon)
    status, _, _ = b.get("/logout")
    assert status == 405
    assert session_works(b)


def test_malformed_logout_body_is_refused(daemon):
    b, _ = signed_in(daemon)
    cookie = b.cookies[SESSION]
    body = "csrf=%s&csrf=%s" % (session_csrf(cookie), session_csrf(cookie))
    status, _, _ = b.request("POST", "/logout", body=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 400
    assert session_works(b)
