"""GET /verify — forward authentication for plugin APIs — with tokens from
the real sign-in flow, and a real nginx (auth_request) in front of a toy
plugin API built from config/nginx-plugin.conf.example."""

import base64
import hashlib
import http.client
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse

import pytest

import slapdir
from harness import SRCDIR, Config, poll
from oauthflow import (CHATGPT_CALLBACK, GPT_CALLBACK, PLUGIN_SECRET, Browser, Form,
                       add_clients, authorize_path, query_of)

U = slapdir.USERS
REALM = 'Bearer realm="idbridge"'
JIRA_AUD = "https://plugin.example.com"
WIKI_AUD = "https://wiki.example.com"
# Service secrets (service_http): reports has two while rotating, backup one.
SVC_OLD = "R" * 40 + "0123456789abcdefghijklmn"
SVC_NEW = "N" * 40 + "0123456789abcdefghijklmn"
SVC_BACKUP = "B" * 40 + "0123456789abcdefghijklmn"


def secret_hash(secret):
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


@pytest.fixture
def daemon(tmp_path, slapd, serve):
    cfg = add_clients(Config(tmp_path, slapd))
    # Plugin A (jira) issues through chatgpt, plugin B (wiki) through firstparty.
    cfg.sections["plugin jira"] = {"auth": "oauth", "client": "chatgpt", "audience": JIRA_AUD}
    cfg.sections["plugin wiki"] = {"auth": "oauth", "client": "firstparty",
                                   "audience": WIKI_AUD}
    cfg.sections["plugin status"] = {"auth": "none", "api_url": "https://status.example.com/o"}
    cfg.sections["plugin reports"] = {
        "auth": "service_http",
        "service_secret": secret_hash(SVC_OLD) + " " + secret_hash(SVC_NEW)}
    cfg.sections["plugin backup"] = {"auth": "service_http",
                                     "service_secret": secret_hash(SVC_BACKUP)}
    return serve(cfg.write())


def payload(jwt):
    seg = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))


def sign_in(daemon, client, callback, consent, user="alice"):
    b = Browser(daemon.port)
    _, _, page = b.get(authorize_path(client, callback))
    status, h, _ = b.post("/authorize", {"username": user, "password": U[user]["password"],
                                         "csrf": Form(page).hidden["csrf"]})
    assert status == 303, h
    status, h, page = b.get(h["location"])
    # A consent given once is remembered: the second sign-in skips the page.
    if consent and status != 303:
        assert status == 200, page
        status, h, _ = b.post("/authorize", {"decision": "allow",
                                             "csrf": Form(page).hidden["csrf"]})
    assert status == 303, h
    return query_of(h["location"])["code"]


def tokens(daemon, client="chatgpt"):
    """An access and refresh token of alice's for client, through the browser flow."""
    callback, consent = {"chatgpt": (CHATGPT_CALLBACK, True),
                         "firstparty": (GPT_CALLBACK, False)}[client]
    code = sign_in(daemon, client, callback, consent)
    status, _, data = daemon.request("POST", "/token", body=urllib.parse.urlencode({
        "grant_type": "authorization_code", "client_id": client, "client_secret": PLUGIN_SECRET,
        "code": code, "redirect_uri": callback}),
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    body = json.loads(data)
    assert status == 200, body
    return body


def verify(daemon, token=None, query="", headers=None):
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = "Bearer " + token
    status, rh, data = daemon.request("GET", "/verify" + query, headers=h)
    return status, rh, data


def assert_invalid(status, h):
    assert status == 401
    assert h["www-authenticate"] == REALM + ', error="invalid_token"'
    assert "x-idbridge-user" not in h


def revoke(daemon, token, client="chatgpt"):
    basic = base64.b64encode(("%s:%s" % (client, PLUGIN_SECRET)).encode()).decode()
    status, _, _ = daemon.request("POST", "/revoke", body=urllib.parse.urlencode(
        {"token": token}), headers={"Content-Type": "application/x-www-form-urlencoded",
                                    "Authorization": "Basic " + basic})
    assert status == 200


def test_no_credentials(daemon):
    for headers in ({}, {"Authorization": "Basic " + base64.b64encode(b"a:b").decode()}):
        status, h, _ = verify(daemon, headers=headers)
        assert status == 401
        # RFC 6750 §3.1: no error code without credentials.
        assert h["www-authenticate"] == REALM
        assert "x-idbridge-user" not in h


def test_valid_token_headers(daemon):
    t = tokens(daemon)
    claims = payload(t["access_token"])
    status, h, body = verify(daemon, t["access_token"])
    assert status == 200, body
    assert h["x-idbridge-user"] == claims["sub"]
    assert h["x-idbridge-client"] == "chatgpt"
    assert h["x-idbridge-scopes"] == "read:resource,write:resource"
    assert claims["groups"], "alice's token carries groups"
    assert h["x-idbridge-groups"] == ",".join(urllib.parse.quote(g, safe=":@/")
                                              for g in claims["groups"])
    assert "www-authenticate" not in h
    # The second call is answered from the cache with the same result.
    status2, h2, _ = verify(daemon, t["access_token"])
    assert status2 == 200
    assert {k: v for k, v in h2.items() if k.startswith("x-idbridge-")} == \
        {k: v for k, v in h.items() if k.startswith("x-idbridge-")}
    # Any case of the scheme, several spaces.
    status, _, _ = daemon.request("GET", "/verify", headers={
        "Authorization": "bearer   " + t["access_token"]})
    assert status == 200
    # A refresh token is not an access token.
    assert_invalid(*verify(daemon, t["refresh_token"])[:2])


def test_scopes(daemon):
    t = tokens(daemon)
    status, _, _ = verify(daemon, t["access_token"], "?scope=read:resource")
    assert status == 200
    status, _, _ = verify(daemon, t["access_token"], "?scope=read:resource+write:resource")
    assert status == 200
    status, h, data = verify(daemon, t["access_token"], "?scope=read:resource+ops:admin")
    assert status == 403
    assert json.loads(data)["error"] == "insufficient_scope"
    assert h["www-authenticate"] == (REALM + ', error="insufficient_scope", '
                                     'scope="read:resource ops:admin"')
    assert "x-idbridge-user" not in h
    status, _, data = verify(daemon, t["access_token"], "?scope=bad%22scope")
    assert status == 400 and json.loads(data)["error"] == "invalid_request"


def test_plugin_audience(daemon):
    a = tokens(daemon, "chatgpt")       # jira's
    b = tokens(daemon, "firstparty")    # wiki's
    assert payload(a["access_token"])["aud"] == JIRA_AUD
    assert payload(b["access_token"])["aud"] == WIKI_AUD
    assert verify(daemon, a["access_token"], "?plugin=jira")[0] == 200
    assert verify(daemon, b["access_token"], "?plugin=wiki")[0] == 200
    # A token for plugin A is refused at plugin B, and the other way round —
    # also once both are in the cache.
    assert_invalid(*verify(daemon, a["access_token"], "?plugin=wiki")[:2])
    assert_invalid(*verify(daemon, b["access_token"], "?plugin=jira")[:2])
    # Without ?plugin any valid idbridge token passes.
    assert verify(daemon, b["access_token"])[0] == 200
    # A plugin that takes no OAuth tokens accepts none.
    assert_invalid(*verify(daemon, a["access_token"], "?plugin=status")[:2])
    # An unknown plugin is the proxy's misconfiguration: 400 (nginx makes it a 500).
    status, _, data = verify(daemon, a["access_token"], "?plugin=nosuch")
    assert status == 400 and json.loads(data)["error"] == "invalid_request"


def test_service_secret(daemon):
    # Both secrets of a rotation work, for the named plugin and without ?plugin.
    for secret in (SVC_OLD, SVC_NEW):
        for query in ("?plugin=reports", ""):
            status, h, body = verify(daemon, secret, query)
            assert status == 200, (query, body)
            assert h["x-idbridge-client"] == "reports"
            # No person called: no user, no scopes, no groups (empty
            # values, which the HTTP library leaves out altogether).
            for name in ("x-idbridge-user", "x-idbridge-scopes", "x-idbridge-groups"):
                assert h.get(name, "") == "", name
            assert "www-authenticate" not in h
    status, h, _ = verify(daemon, SVC_BACKUP)
    assert status == 200 and h["x-idbridge-client"] == "backup"
    # A wrong secret, one a character off, the hash itself: invalid_token.
    for bad in ("W" * 64, SVC_NEW[:-1] + "x", SVC_NEW[:-1], SVC_NEW + "x",
                secret_hash(SVC_NEW), secret_hash(SVC_NEW)[7:]):
        assert_invalid(*verify(daemon, bad, "?plugin=reports")[:2])
        assert_invalid(*verify(daemon, bad)[:2])
    # Another plugin's secret is refused at this one, both ways round.
    assert_invalid(*verify(daemon, SVC_BACKUP, "?plugin=reports")[:2])
    assert_invalid(*verify(daemon, SVC_OLD, "?plugin=backup")[:2])
    # … and at plugins that take no service secret at all.
    for name in ("jira", "status"):
        assert_invalid(*verify(daemon, SVC_OLD, "?plugin=" + name)[:2])
    # A service secret grants no scope.
    status, h, data = verify(daemon, SVC_OLD, "?plugin=reports&scope=read:resource")
    assert status == 403
    assert json.loads(data)["error"] == "insufficient_scope"
    assert h["www-authenticate"] == (REALM + ', error="insufficient_scope", '
                                     'scope="read:resource"')
    assert "x-idbridge-client" not in h
    # A JWT is no service secret: jira's token is refused at reports.
    t = tokens(daemon)
    assert_invalid(*verify(daemon, t["access_token"], "?plugin=reports")[:2])


def test_token_in_query_refused(daemon):
    t = tokens(daemon)
    q = "?" + urllib.parse.urlencode({"access_token": t["access_token"]})
    for hdr in (None, t["access_token"]):
        status, h, data = verify(daemon, hdr, q)
        assert status == 400, data
        assert json.loads(data)["error"] == "invalid_request"
        assert "x-idbridge-user" not in h


def test_tampered(daemon):
    t = tokens(daemon)
    head, body, sig = t["access_token"].split(".")
    claims = payload(t["access_token"])
    claims["scope"] = "read:resource write:resource ops:admin"
    forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    flipped_sig = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    for bad in (head + "." + forged_body + "." + sig, head + "." + body + "." + flipped_sig,
                head + "." + body + ".", "garbage", "", "idb_notakeyyet"):
        assert_invalid(*verify(daemon, bad)[:2])
    # The genuine token still passes: the refusals were for the tampering.
    assert verify(daemon, t["access_token"])[0] == 200


def jwt_mint(idbridge_bin, daemon_db, claims):
    p = os.path.join(os.path.dirname(idbridge_bin), "tests", "unit", "jwt_mint")
    if not os.access(p, os.X_OK):
        pytest.fail("%s is missing: build it with `make check`" % p)
    r = subprocess.run([p, daemon_db, "RS256"], input=json.dumps(claims).encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    return r.stdout.decode().strip()


def test_expired(daemon, idbridge_bin, tmp_path):
    t = tokens(daemon)
    claims = payload(t["access_token"])
    db = os.path.join(str(tmp_path), "state", "idbridge.db")
    # The same claims signed again by the daemon's key pass (same jti, live family) …
    assert verify(daemon, jwt_mint(idbridge_bin, db, claims))[0] == 200
    # … and fail once exp is past (beyond the 60 s clock skew).
    now = int(time.time())
    old = dict(claims, iat=now - 900, exp=now - 120)
    assert_invalid(*verify(daemon, jwt_mint(idbridge_bin, db, old))[:2])
    # A token whose jti the store never recorded is refused too.
    assert_invalid(*verify(daemon, jwt_mint(idbridge_bin, db, dict(claims, jti="x" * 22)))[:2])


def wait_refused(fn, limit=2.5):
    """Seconds until fn() returns 401, failing past limit."""
    t0 = time.monotonic()
    while fn() != 401:
        assert time.monotonic() - t0 < limit, "a revoked token still passes"
        time.sleep(0.05)
    return time.monotonic() - t0


def test_revoked_within_a_second(daemon):
    t = tokens(daemon)
    other = tokens(daemon)
    # Cached as valid first, so the revocation must reach the cache.
    for _ in range(3):
        assert verify(daemon, t["access_token"])[0] == 200
        assert verify(daemon, other["access_token"])[0] == 200
    revoke(daemon, t["access_token"])
    wait_refused(lambda: verify(daemon, t["access_token"])[0])
    assert_invalid(*verify(daemon, t["access_token"])[:2])
    # Another family's token is untouched.
    assert verify(daemon, other["access_token"])[0] == 200


# ---- a real nginx in front of a toy plugin API -----------------------------------

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class ToyAPI(http.server.ThreadingHTTPServer):
    """Records the headers of every request it gets; answers them as JSON."""

    def __init__(self):
        self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(h):
                hdrs = {k.lower(): v for k, v in h.headers.items()}
                self.seen.append((h.path, hdrs))
                body = json.dumps(hdrs).encode()
                h.send_response(200)
                h.send_header("Content-Type", "application/json")
                h.send_header("Content-Length", str(len(body)))
                h.end_headers()
                h.wfile.write(body)

            def log_message(h, *a):
                pass
        super().__init__(("127.0.0.1", 0), Handler)


def nginx_conf(tmp, idb_port, api_port, listen_port):
    with open(os.path.join(SRCDIR, "config", "nginx-plugin.conf.example")) as f:
        example = f.read()
    subs = [("listen 443 ssl;", "listen 127.0.0.1:%d;" % listen_port),
            ("\tssl_certificate /etc/ssl/certs/jira-plugin.pem;\n", ""),
            ("\tssl_certificate_key /etc/ssl/private/jira-plugin.key;\n", ""),
            ("server 127.0.0.1:8080;", "server 127.0.0.1:%d;" % idb_port)]
    for a, b in subs:
        assert example.count(a) == 1, a
        example = example.replace(a, b)
    # The commented service_http locations, uncommented as a reader would.
    assert example.count("\n\t#location ") == 2
    example = re.sub(r"^\t#(location |\t|\})", r"\t\1", example, flags=re.M)
    assert example.count("proxy_pass http://127.0.0.1:9000;") == 3
    example = example.replace("127.0.0.1:9000", "127.0.0.1:%d" % api_port)
    temp = "".join("\t%s_temp_path %s/%s;\n" % (k, tmp, k)
                   for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return ("daemon off;\nmaster_process off;\npid %s/nginx.pid;\nerror_log %s/error.log;\n"
            "events { worker_connections 64; }\nhttp {\n\taccess_log off;\n%s%s}\n"
            % (tmp, tmp, temp, example))


@pytest.fixture
def nginx(tmp_path, daemon):
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(binary, os.X_OK):
        pytest.fail("nginx is missing: apt-get install nginx (tools/check installs it)")
    api = ToyAPI()
    threading.Thread(target=api.serve_forever, daemon=True).start()
    tmp = str(tmp_path / "nginx")
    os.makedirs(tmp)
    port = free_port()
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(nginx_conf(tmp, daemon.port, api.server_address[1], port))
    proc = subprocess.Popen([binary, "-p", tmp, "-e", tmp + "/error.log", "-c", conf],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)

    def up():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            assert proc.poll() is None, open(tmp + "/error.log").read()
            return False
    assert poll(up, timeout=10, interval=0.05), "nginx did not start"
    yield port, api
    proc.terminate()
    proc.wait(timeout=10)
    api.shutdown()
    api.server_close()


def via_nginx(port, path, token=None, headers=None):
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = "Bearer " + token
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path, headers=h)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def test_nginx_auth_request(daemon, nginx):
    port, api = nginx
    t = tokens(daemon)
    claims = payload(t["access_token"])
    forged = {"X-Idbridge-User": "mallory", "X-Idbridge-Groups": "ops",
              "X-Idbridge-Scopes": "ops:admin", "X-Idbridge-Client": "evil"}
    # No token: 401 from nginx, with idbridge's challenge; the API never called.
    status, h, _ = via_nginx(port, "/items", headers=forged)
    assert status == 401 and h["www-authenticate"] == REALM
    assert api.seen == []
    # The plugin's JWT: the API sees who called, and only what idbridge said.
    status, h, body = via_nginx(port, "/items?x=1", t["access_token"], headers=forged)
    assert status == 200, body
    seen = json.loads(body)
    assert seen["x-idbridge-user"] == claims["sub"]
    assert seen["x-idbridge-client"] == "chatgpt"
    assert seen["x-idbridge-scopes"] == "read:resource,write:resource"
    assert seen["x-idbridge-groups"] == ",".join(claims["groups"])
    assert "authorization" not in seen
    assert len(api.seen) == 1
    # Missing scope (/admin/ needs ops:admin): 403 from nginx.
    status, h, _ = via_nginx(port, "/admin/users", t["access_token"])
    assert status == 403
    assert 'error="insufficient_scope"' in h["www-authenticate"]
    assert len(api.seen) == 1
    # The service_http plugin's location: its secret passes (forged headers
    # replaced, the user empty), a wrong one or jira's token does not.
    status, h, body = via_nginx(port, "/reports/daily", SVC_NEW, headers=forged)
    assert status == 200, body
    seen = json.loads(body)
    assert seen["x-idbridge-client"] == "reports"
    assert "x-idbridge-user" not in seen and "x-idbridge-scopes" not in seen
    assert "authorization" not in seen
    status, h, _ = via_nginx(port, "/reports/daily", "W" * 64)
    assert status == 401 and 'error="invalid_token"' in h["www-authenticate"]
    status, _, _ = via_nginx(port, "/reports/daily", t["access_token"])
    assert status == 401
    assert len(api.seen) == 2
    # Another plugin's token is refused at this one.
    wiki = tokens(daemon, "firstparty")
    status, h, _ = via_nginx(port, "/items", wiki["access_token"])
    assert status == 401 and 'error="invalid_token"' in h["www-authenticate"]
    # Revoked: 401 within about a second.
    revoke(daemon, t["access_token"])
    wait_refused(lambda: via_nginx(port, "/items", t["access_token"])[0])
    assert len(api.seen) <= 2 + 25   # only the requests before the refusal got through
    assert all(s[1]["x-idbridge-user"] == claims["sub"] for s in api.seen
               if not s[0].startswith("/reports/"))
