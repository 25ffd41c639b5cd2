"""tools/demo as a newcomer uses it: start it, open the authorization URL it
prints, sign in as a demo employee, allow, and land on the demo app's
callback page with the code exchanged for tokens, a token for the oauth
demo plugin that its demo API accepts.  The curl lines it prints, run as
printed, call the demo API through /verify (service secret, API key, no
token); each printed manifest URL serves its strategy's manifest.  Then
SIGTERM (what Ctrl-C does, for a demo started in the background) must stop
everything the demo started (the demo API too) and remove its files.

The demo builds with `make` in its build directory; here that is the build
under test (a no-op), so the test needs IDBRIDGE_BUILDDIR or a binary that
sits in a build directory.
"""

import json
import os
import re
import shlex
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
CURL_LINE = re.compile(r"^  (curl .+)$", re.M)
MANIFEST_LINE = re.compile(r"^  (demo-\S+) +(\S+) +(http://\S+/plugins/\S+/ai-plugin\.json)$",
                           re.M)
STRATEGIES = {"demo-none": "none", "demo-service": "service_http", "demo-user": "user_http",
              "demo-oauth": "oauth"}


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


def curl_lines(text):
    """The printed curl lines as argument lists, keyed by (plugin, token or None)."""
    lines = {}
    for line in CURL_LINE.findall(text):
        argv = shlex.split(line)
        plugin = urllib.parse.urlsplit(argv[-1]).path.split("/")[1]
        token = argv[argv.index("-H") + 1].split("Bearer ", 1)[1] if "-H" in argv else None
        lines[plugin, token] = argv
    return lines


def run_curl(argv):
    """(status, headers, body) of a `curl -sSi` run."""
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert r.returncode == 0, r.stderr
    # Bytes, not text=True: universal newlines would turn the CRLFs into LFs.
    head, _, body = r.stdout.decode().partition("\r\n\r\n")
    status_line, *fields = head.split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (f.split(":", 1) for f in fields)}
    return int(status_line.split()[1]), headers, body


def with_token(argv, token):
    """argv with its placeholder Bearer value replaced by token."""
    return [a.replace("Bearer ACCESS_TOKEN", "Bearer " + token) for a in argv]


def stop_and_check_clean(proc, log):
    """SIGTERM stops everything the demo started and removes its files."""
    tmp = re.search(r"-c (/tmp/idbridge-demo\.\w+)/idbridge\.conf", log()).group(1)
    assert os.path.isdir(tmp)
    running = session_processes(proc.pid)
    assert any("demo-api.py" in l for l in running), running
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 143
    assert session_processes(proc.pid) == []
    assert not os.path.exists(tmp)


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
    # The demo app is the demo-oauth plugin's client: aud is the plugin's
    # audience, its api_url's origin (the demo API).
    oauth_curl = curl_lines(log())["demo-oauth", "ACCESS_TOKEN"]
    api = urllib.parse.urlsplit(oauth_curl[-1])
    claims = jwt.decode(tokens["access_token"], key, algorithms=["RS256", "ES256", "EdDSA"],
                        audience="http://%s" % api.netloc, issuer=issuer)
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

    # The printed oauth curl line, with the access token the app showed,
    # reaches the demo API through /verify?plugin=demo-oauth.
    status, _, body = run_curl(with_token(oauth_curl, tokens["access_token"]))
    assert status == 200, body
    hello = json.loads(body)
    assert hello["hello"] == claims["sub"] and hello["client"] == "demo"
    assert hello["scopes"] == ["read:resource", "write:resource", "directory:read"]

    stop_and_check_clean(proc, log)


def test_demo_prints_curl_lines_that_call_the_api_through_verify(demo):
    proc, url, log = demo
    issuer = "http://127.0.0.1:%d" % urllib.parse.urlsplit(url).port
    lines = curl_lines(log())
    secret = next(t for p, t in lines if p == "demo-service" and t is not None)
    key = next(t for p, t in lines if p == "demo-user" and t is not None)
    assert re.fullmatch(r"[A-Za-z0-9]{64}", secret) and key.startswith("idb_")

    # The platform's service secret: 200, no person, the plugin as client.
    status, _, body = run_curl(lines["demo-service", secret])
    assert status == 200, body
    assert json.loads(body) == {"hello": "", "scopes": [], "groups": [],
                                "client": "demo-service", "plugin": "demo-service"}
    # No token: 401 with idbridge's challenge, no error code (RFC 6750 §3.1).
    status, h, body = run_curl(lines["demo-service", None])
    assert status == 401, body
    assert h["www-authenticate"] == 'Bearer realm="idbridge"'
    # alice's API key, issued by the demo at start: 200 naming her.
    status, _, body = run_curl(lines["demo-user", key])
    assert status == 200, body
    hello = json.loads(body)
    assert hello["hello"] == "alice" and hello["client"] == "apikey"
    assert hello["scopes"] == ["read:resource", "directory:read"]
    # The demo API names its plugin: the key is refused at the service_http one.
    status, h, body = run_curl(["curl", "-sSi", "-H", "Authorization: Bearer " + key,
                                lines["demo-service", None][-1]])
    assert status == 401 and 'error="invalid_token"' in h["www-authenticate"], body
    # auth = none: the API is open.
    status, _, body = run_curl(lines["demo-none", None])
    assert status == 200 and json.loads(body)["plugin"] == "demo-none", body

    # Each plugin's manifest URL serves a manifest of its strategy, whose
    # api_url the demo API serves.
    shown = {m[0]: m[1:] for m in MANIFEST_LINE.findall(log())}
    assert sorted(shown) == sorted(STRATEGIES), log()
    for name, (strategy, murl) in shown.items():
        assert strategy == STRATEGIES[name]
        assert murl == "%s/plugins/%s/ai-plugin.json" % (issuer, name)
        with urllib.request.urlopen(murl, timeout=30) as r:
            manifest = json.load(r)
        assert manifest["auth"]["type"] == strategy, manifest
        with urllib.request.urlopen(manifest["api"]["url"], timeout=30) as r:
            assert r.status == 200 and b"openapi:" in r.read()
    # The portal for API keys.
    assert "%s/keys\n" % issuer in log()

    stop_and_check_clean(proc, log)
