"""RFC 8414 discovery: /.well-known/oauth-authorization-server and the same
document at /.well-known/openid-configuration.

Every URL in the document derives from [server] issuer.  The issuer used
here is https with a port and a path while the daemon listens on plain http
on another port, as it does behind a TLS-ending proxy: a URL built from the
request (Host header, socket, scheme) instead of the issuer would show.
"""

import json

import pytest

from test_serve import assert_security_headers

ISSUER = "https://sso.example.com:8443/idb"
H1 = "sha256:" + "00112233445566778899aabbccddeeff" * 2

PATHS = ["/.well-known/oauth-authorization-server",
         "/.well-known/openid-configuration"]

EXPECTED = {
    "issuer": ISSUER,
    "authorization_endpoint": ISSUER + "/authorize",
    "token_endpoint": ISSUER + "/token",
    "jwks_uri": ISSUER + "/jwks.json",
    "introspection_endpoint": ISSUER + "/introspect",
    "revocation_endpoint": ISSUER + "/revoke",
    # [scopes] of harness.Config, in file order.
    "scopes_supported": ["read:resource", "write:resource", "directory:read",
                         "ops:admin"],
    "response_types_supported": ["code"],
    "response_modes_supported": ["query"],
    "grant_types_supported": ["authorization_code", "refresh_token"],
    "code_challenge_methods_supported": ["S256"],
    "token_endpoint_auth_methods_supported":
        ["client_secret_basic", "client_secret_post", "none"],
    # Only confidential clients (introspect = yes) may introspect.
    "introspection_endpoint_auth_methods_supported":
        ["client_secret_basic", "client_secret_post"],
    "revocation_endpoint_auth_methods_supported":
        ["client_secret_basic", "client_secret_post", "none"],
    "authorization_response_iss_parameter_supported": True,
}


@pytest.fixture
def daemon(config, serve):
    # The OAuth sections load alongside (they do not change the document).
    config.set("server", issuer=ISSUER + "/")
    config.set("tokens", access_ttl="600", signing_alg="ES256")
    config.set("client jira", name="Jira", secret=H1, scopes="read:resource",
               redirect_uri="https://chat.openai.com/aip/plugin-1/oauth/callback",
               pkce="optional")
    config.set("plugin jira", auth="oauth", client="jira",
               api_url="https://jira-plugin.example.com/openapi.yaml")
    return serve(config.write())


@pytest.mark.parametrize("path", PATHS)
def test_metadata_exact(daemon, path):
    status, h, body = daemon.request("GET", path)
    assert status == 200, body
    assert h["content-type"] == "application/json"
    doc = json.loads(body)
    assert doc == EXPECTED
    # Not offered until built: OpenID Connect, dynamic registration.
    assert "openid" not in doc["scopes_supported"]
    assert "registration_endpoint" not in doc
    assert_security_headers(h)


def test_both_paths_serve_the_same_bytes(daemon):
    bodies = {daemon.request("GET", p)[2] for p in PATHS}
    assert len(bodies) == 1


@pytest.mark.parametrize("headers", [
    {"Host": "evil.example"},
    {"Host": "evil.example:443", "X-Forwarded-Host": "evil.example",
     "X-Forwarded-Proto": "http", "X-Forwarded-Port": "80",
     "Forwarded": "host=evil.example;proto=http"},
    {"Host": "127.0.0.1"},
])
def test_host_header_is_ignored(daemon, headers):
    _, _, reference = daemon.request("GET", PATHS[0])
    for path in PATHS:
        status, h, body = daemon.request("GET", path, headers=headers)
        assert status == 200
        assert body == reference
        assert b"evil" not in body
        assert_security_headers(h)


def test_head_and_wrong_method(daemon):
    status, h, body = daemon.request("HEAD", PATHS[0])
    assert status == 200 and body == b""
    assert h["content-type"] == "application/json"
    for path in PATHS:
        status, h, body = daemon.request("POST", path, body=b"x=1", headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        assert status == 405, body
        assert_security_headers(h)


def test_scopes_follow_the_config(config, serve):
    config.set("server", issuer="http://127.0.0.1")
    config.sections["scopes"] = {"only:one": "*"}
    d = serve(config.write())
    status, _, doc = d.get_json(PATHS[1])
    assert status == 200
    assert doc["issuer"] == "http://127.0.0.1"
    assert doc["token_endpoint"] == "http://127.0.0.1/token"
    assert doc["scopes_supported"] == ["only:one"]
