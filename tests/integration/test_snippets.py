"""The README's token-validation snippets: README and docs/snippets/ hold
the same code, and the Python one (PyJWT) accepts idbridge's real access
tokens and refuses bad ones.  The Node one runs in tests/e2e/snippets.test.mjs."""

import base64
import importlib.util
import json
import os
import re
import subprocess
import time

import jwt
import pytest

from harness import SRCDIR
from test_verify import JIRA_AUD, daemon, payload, tokens  # noqa: F401 (daemon: fixture)

SNIPPETS = os.path.join(SRCDIR, "docs", "snippets")
ISSUER = "http://127.0.0.1"


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def readme_blocks():
    """The fenced code blocks of the README's "Validating tokens" section."""
    text = read(os.path.join(SRCDIR, "README.md"))
    m = re.search(r"^## Validating tokens in a plugin API\n(.*?)(?=^## )", text, re.M | re.S)
    assert m, "README has no section 'Validating tokens in a plugin API'"
    return re.findall(r"^```(\w+)\n(.*?)^```$", m.group(1), re.M | re.S)


def test_readme_holds_the_snippet_files():
    blocks = dict(readme_blocks())
    assert set(blocks) == {"python", "js"}, blocks.keys()
    assert blocks["python"] == read(os.path.join(SNIPPETS, "verify.py"))
    assert blocks["js"] == read(os.path.join(SNIPPETS, "verify.mjs"))


def load_snippet():
    spec = importlib.util.spec_from_file_location("idb_verify_snippet",
                                                  os.path.join(SNIPPETS, "verify.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def mint(idbridge_bin, db, claims, alg):
    p = os.path.join(os.path.dirname(idbridge_bin), "tests", "unit", "jwt_mint")
    if not os.access(p, os.X_OK):
        pytest.fail("%s is missing: build it with `make check`" % p)
    r = subprocess.run([p, db, alg], input=json.dumps(claims).encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    return r.stdout.decode().strip()


def test_python_snippet(daemon, idbridge_bin, tmp_path):  # noqa: F811
    snippet = load_snippet()
    jwks_url = "http://127.0.0.1:%d/jwks.json" % daemon.port
    verify = snippet.make_verifier(ISSUER, JIRA_AUD, jwks_url)
    # A real access token from the sign-in flow (chatgpt issues for jira).
    t = tokens(daemon)["access_token"]
    claims = verify(t)
    assert claims == payload(t)
    assert claims["client_id"] == "chatgpt" and claims["aud"] == JIRA_AUD
    # Every algorithm idbridge signs with, from the daemon's own store keys;
    # a new key is published within about a second.
    db = os.path.join(str(tmp_path), "state", "idbridge.db")
    for alg in ("ES256", "EdDSA", "RS256"):
        tok = mint(idbridge_bin, db, claims, alg)
        assert jwt.get_unverified_header(tok)["alg"] == alg
        deadline = time.time() + 5
        while True:
            try:
                assert verify(tok)["sub"] == claims["sub"]
                break
            except jwt.PyJWKClientError:
                assert time.time() < deadline, "kid of %s never published" % alg
                time.sleep(0.2)
    # Refusals: another audience, another issuer, expired, tampered.
    with pytest.raises(jwt.InvalidAudienceError):
        snippet.make_verifier(ISSUER, "https://wiki.example.com", jwks_url)(t)
    with pytest.raises(jwt.InvalidIssuerError):
        snippet.make_verifier("https://other.example.com", JIRA_AUD, jwks_url)(t)
    now = int(time.time())
    with pytest.raises(jwt.ExpiredSignatureError):
        verify(mint(idbridge_bin, db, dict(claims, iat=now - 900, exp=now - 120), "RS256"))
    head, body, sig = t.split(".")
    forged = payload(t)
    forged["scope"] = "ops:admin"
    fb = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    with pytest.raises(jwt.InvalidSignatureError):
        verify(head + "." + fb + "." + sig)
    # A JWT that is not an access token (typ) is refused before any key lookup.
    not_at = jwt.encode(claims, "k" * 32, algorithm="HS256", headers={"typ": "JWT"})
    with pytest.raises(jwt.InvalidTokenError, match="typ"):
        verify(not_at)
