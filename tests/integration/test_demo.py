"""tools/demo as a newcomer uses it: start it, open the authorization URL it
prints, sign in as a demo employee, allow, and land on the demo app's
callback page with the code exchanged for tokens.  Then SIGTERM (what
Ctrl-C does, for a demo started in the background) must stop everything
the demo started and remove its files.

The demo builds with `make` in its build directory; here that is the build
under test (a no-op), so the test needs IDBRIDGE_BUILDDIR or a binary that
sits in a build directory.
"""

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import jwt
import pytest

import slapdir
from harness import SRCDIR, idbridge_path
from oauthflow import Browser, Form

U = slapdir.USERS
DEMO = os.path.join(SRCDIR, "tools", "demo")
URL_LINE = re.compile(r"^\s+(http://127\.0\.0\.1:\d+/authorize\?\S+)$", re.M)


def build_dir():
    d = os.environ.get("IDBRIDGE_BUILDDIR") or os.path.dirname(idbridge_path())
    if not os.path.isfile(os.path.join(d, "Makefile")):
        pytest.skip("no build directory to hand tools/demo (set IDBRIDGE_BUILDDIR)")
    return d


def session_processes(sid):
    """Processes left in the demo's session (it is the session leader)."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,sid=,args="], stdout=subprocess.PIPE,
                         text=True, check=True).stdout
    return [l for l in out.splitlines() if int(l.split()[1]) == sid]


@pytest.fixture
def demo(tmp_path):
    out, err = open(tmp_path / "out.log", "w+"), open(tmp_path / "err.log", "w+")
    p = subprocess.Popen([DEMO], stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                         env=dict(os.environ, IDBRIDGE_BUILDDIR=build_dir()),
                         start_new_session=True)

    def log():
        out.seek(0), err.seek(0)
        return out.read() + "\n--- stderr\n" + err.read()

    deadline = time.monotonic() + 120
    url = None
    while time.monotonic() < deadline and p.poll() is None:
        m = URL_LINE.search(open(tmp_path / "out.log").read())
        if m and "listening on" in open(tmp_path / "err.log").read():
            url = m.group(1)
            break
        time.sleep(0.2)
    try:
        assert url, "the demo printed no authorization URL:\n" + log()
        yield p, url, log
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        out.close()
        err.close()


def test_demo_authorization_url_ends_with_tokens_on_the_demo_app(demo):
    proc, url, log = demo
    u = urllib.parse.urlsplit(url)
    q = dict(urllib.parse.parse_qsl(u.query))
    assert q["client_id"] == "demo" and q["code_challenge_method"] == "S256"
    issuer = "http://127.0.0.1:%d" % u.port

    b = Browser(u.port)
    status, _, page = b.get(u.path + "?" + u.query)
    assert status == 200 and "idbridge demo app" in page, page
    status, h, _ = b.post("/authorize", {"username": "alice", "password": U["alice"]["password"],
                                         "csrf": Form(page).hidden["csrf"]})
    assert status == 303, h
    status, _, page = b.get(h["location"])
    assert status == 200 and "write:resource" in page, page     # consent = ask
    status, h, _ = b.post("/authorize", {"decision": "allow", "csrf": Form(page).hidden["csrf"]})
    assert status == 303, h
    callback = h["location"]
    assert callback.startswith(q["redirect_uri"] + "?")
    assert dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))["state"] == \
        q["state"]

    with urllib.request.urlopen(callback, timeout=30) as r:
        assert r.status == 200
        shown = r.read().decode()
    assert "the code was exchanged for tokens" in shown, shown
    text = "".join(Form(shown).text)
    tokens = json.loads(re.search(r"Token response\s*(\{.*?\n\})", text, re.S).group(1))
    assert tokens["token_type"] == "bearer" and tokens["refresh_token"]
    assert tokens["scope"] == "read:resource write:resource directory:read"
    # The access token it shows verifies against the daemon's JWKS.
    with urllib.request.urlopen(issuer + "/jwks.json", timeout=30) as r:
        jwks = json.load(r)
    kid = jwt.get_unverified_header(tokens["access_token"])["kid"]
    key = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == kid)).key
    claims = jwt.decode(tokens["access_token"], key, algorithms=["RS256", "ES256", "EdDSA"],
                        audience=issuer, issuer=issuer)
    assert claims["client_id"] == "demo"
    assert sorted(claims["groups"]) == ["engineering", "staff"]
    # ...and the page shows those claims and what /introspect says.
    assert '"jti": "%s"' % claims["jti"] in text
    assert '"active": true' in text

    # The code is spent: the same callback again is refused by the app.
    try:
        urllib.request.urlopen(callback, timeout=30)
        raise AssertionError("a reused callback was accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 400

    # SIGTERM stops everything the demo started and removes its files.
    tmp = re.search(r"-c (/tmp/idbridge-demo\.\w+)/idbridge\.conf", log()).group(1)
    assert os.path.isdir(tmp)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 143
    assert session_processes(proc.pid) == []
    assert not os.path.exists(tmp)
