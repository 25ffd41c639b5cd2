"""GET /jwks.json and `idbridge signing-key`: the daemon publishes its keys
with a cache lifetime (every other response stays no-store), a standard
library (PyJWT + cryptography) reads them and verifies tokens our C code
signed, and a rotation made by the admin command while the daemon runs is
published within a couple of seconds while the old key stays."""

import base64
import hashlib
import http.client
import json
import os
import subprocess
import time

import jwt
import pytest

from harness import poll

MAX_AGE = 300  # IDB_JWKS_MAX_AGE_S


def jwt_mint_path(idbridge_bin):
    p = os.path.join(os.path.dirname(idbridge_bin), "tests", "unit", "jwt_mint")
    if not os.access(p, os.X_OK):
        pytest.fail("%s is missing: build it with `make tests/unit/jwt_mint` (make check)" % p)
    return p


def raw_get(d, path, method="GET"):
    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        c.close()


def header_values(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


def thumbprint(jwk):
    members = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"),
               "OKP": ("crv", "kty", "x")}[jwk["kty"]]
    canon = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canon.encode()).digest()).rstrip(b"=").decode()


def jwks(d):
    status, headers, body = raw_get(d, "/jwks.json")
    assert status == 200
    return json.loads(body)["keys"]


def test_jwks_headers_and_shape(config, serve):
    d = serve(config.write())
    status, headers, body = raw_get(d, "/jwks.json")
    assert status == 200
    assert header_values(headers, "Content-Type") == ["application/json"]
    # Exactly one Cache-Control, the JWKS's own; the other security headers stay.
    assert header_values(headers, "Cache-Control") == ["public, max-age=%d" % MAX_AGE]
    assert header_values(headers, "X-Content-Type-Options") == ["nosniff"]
    assert header_values(headers, "X-Request-Id")
    doc = json.loads(body)
    assert list(doc) == ["keys"] and len(doc["keys"]) == 1
    k = doc["keys"][0]
    assert k["kty"] == "RSA" and k["alg"] == "RS256" and k["use"] == "sig"
    assert k["e"] == "AQAB"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(k)
    assert k["kid"] == thumbprint(k)
    # HEAD answers the same headers; every other response keeps no-store.
    status, headers, _ = raw_get(d, "/jwks.json", "HEAD")
    assert status == 200 and header_values(headers, "Cache-Control") == [
        "public, max-age=%d" % MAX_AGE]
    status, headers, _ = raw_get(d, "/livez")
    assert header_values(headers, "Cache-Control") == ["no-store"]
    status, headers, _ = raw_get(d, "/nonexistent")
    assert status == 404 and header_values(headers, "Cache-Control") == ["no-store"]
    # Restarting keeps the key: it lives in the store.
    d.stop()
    assert jwks(serve(config.path)) == doc["keys"]


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_pyjwt_verifies_our_tokens(config, serve, idbridge_bin, alg):
    d = serve(config.write())
    claims = {"iss": "http://127.0.0.1", "sub": "u-1", "aud": "https://api.example.com",
              "client_id": "jira", "scope": "read:resource", "jti": "j-" + alg}
    now = int(time.time())
    claims.update(iat=now, exp=now + 600)
    r = subprocess.run([jwt_mint_path(idbridge_bin), config.sections["store"]["path"], alg],
                       input=json.dumps(claims).encode(), capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr.decode()
    token = r.stdout.decode().strip()
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt" and header["alg"] == alg
    # A key added by another process is published within the reload interval.
    keys = poll(lambda: [k for k in jwks(d) if k["kid"] == header["kid"]], timeout=5)
    assert keys, "the daemon did not publish the new key"
    key = jwt.PyJWK(keys[0]).key
    got = jwt.decode(token, key, algorithms=[alg], audience="https://api.example.com",
                     issuer="http://127.0.0.1")
    assert got == claims
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, key, algorithms=[alg], audience="https://other.example.com")


def test_signing_key_rotate_and_list(config, serve, idbridge_bin):
    conf = config.write()
    d = serve(conf)
    first = jwks(d)[0]["kid"]
    r = subprocess.run([idbridge_bin, "signing-key", "rotate", "-c", conf, "--alg", "ES256"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("published ES256 key ")
    new = r.stdout.split()[3].rstrip(";")
    assert len(new) == 43
    kids = poll(lambda: (lambda ks: ks if new in ks else None)([k["kid"] for k in jwks(d)]),
                timeout=5)
    assert kids and first in kids, "the old key must stay published"
    r = subprocess.run([idbridge_bin, "signing-key", "list", "-c", conf],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    rows = {l.split()[0]: l.split()[1:3] for l in r.stdout.splitlines()[1:]}
    assert rows[first] == ["RS256", "signing"]
    assert rows[new] == ["ES256", "next"]
    assert "PRIVATE" not in r.stdout + r.stderr
    # Usage errors.
    for args in (["signing-key"], ["signing-key", "frob", "-c", conf],
                 ["signing-key", "list", "--alg", "ES256", "-c", conf],
                 ["signing-key", "rotate", "--alg", "HS256", "-c", conf]):
        assert subprocess.run([idbridge_bin, *args], capture_output=True,
                              timeout=30).returncode == 2, args
