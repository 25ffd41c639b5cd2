"""Plugin manifests: `idbridge manifest -c FILE NAME` and
GET /plugins/NAME/ai-plugin.json, for all four auth strategies.

Each manifest is checked against the field list and length limits of
PROTOCOLS.md ("ChatGPT plugin"), and its auth object against the exact shape
for its strategy.  The issuer is https with a port and a path while the
daemon listens on plain http, as behind a TLS-ending proxy: a URL built from
the request instead of the issuer would show.
"""

import json
import re
import subprocess

import pytest

from test_serve import assert_security_headers

ISSUER = "https://sso.example.com:8443/idb"
H1 = "sha256:" + "00112233445566778899aabbccddeeff" * 2
H2 = "sha256:" + "ffeeddccbbaa99887766554433221100" * 2

FIELDS = ["schema_version", "name_for_human", "name_for_model",
          "description_for_human", "description_for_model", "auth", "api",
          "logo_url", "contact_email", "legal_info_url"]
LIMITS = {"name_for_human": 50, "name_for_model": 50,
          "description_for_human": 120, "description_for_model": 8000}
LONG_MODEL_TEXT = " ".join(["Use this plugin to search and update tickets."] * 170)

PLUGINS = {
    "jira": {"auth": "oauth", "client": "jira",
             "verification_token": "vt-jira-0123",
             "authorization_content_type": "application/x-www-form-urlencoded"},
    "svc": {"auth": "service_http", "service_secret": H1 + " " + H2,
            "verification_token": "vt-svc"},
    "keys": {"auth": "user_http"},
    "open": {"auth": "none"},
}
AUTH = {
    "jira": {"type": "oauth",
             "client_url": ISSUER + "/authorize",
             "scope": "read:resource write:resource",
             "authorization_url": ISSUER + "/token",
             "authorization_content_type": "application/x-www-form-urlencoded",
             "verification_tokens": {"openai": "vt-jira-0123"}},
    "svc": {"type": "service_http", "authorization_type": "bearer",
            "verification_tokens": {"openai": "vt-svc"}},
    "keys": {"type": "user_http", "authorization_type": "bearer"},
    "open": {"type": "none"},
}


def split_lines(text, width=150):
    """text as lines of whole words, for continuation lines (joined with one
    space when the file is read)."""
    lines, cur = [], []
    for w in text.split(" "):
        if cur and len(" ".join(cur + [w])) > width:
            lines.append(" ".join(cur))
            cur = []
        cur.append(w)
    return lines + [" ".join(cur)]


def manifest_keys(name):
    return {
        "name_for_human": "%s <i>tool</i>" % name.capitalize(),
        "name_for_model": "%s_tool" % name,
        "description_for_human": "Ask about %s & more." % name,
        # Long: on many continuation lines (each under the line limit).
        "description_for_model": "\n  ".join(split_lines(LONG_MODEL_TEXT)),
        "logo_url": "https://%s.example.com/logo.png" % name,
        "contact_email": "it-%s@example.com" % name,
        "legal_info_url": "https://example.com/legal",
        "api_url": "https://%s.example.com/openapi.yaml" % name,
    }


@pytest.fixture
def conf(config):
    config.set("server", issuer=ISSUER + "/")
    config.set("client jira", name="Jira", secret=H1,
               scopes="read:resource write:resource",
               redirect_uri="https://chat.openai.com/aip/plugin-1/oauth/callback",
               pkce="optional")
    for name, keys in PLUGINS.items():
        config.set("plugin " + name, **keys, **manifest_keys(name))
    config.set("plugin bare", auth="none")
    return config.write()


def run_manifest(idbridge_bin, conf, name):
    return subprocess.run([idbridge_bin, "manifest", "-c", conf, name],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=30)


def check_fields(doc):
    """The field list and the limits of PROTOCOLS.md."""
    assert list(doc) == FIELDS
    assert doc["schema_version"] == "v1"
    for k, limit in LIMITS.items():
        assert isinstance(doc[k], str) and 0 < len(doc[k]) <= limit, k
    assert re.fullmatch(r"[A-Za-z0-9_]+", doc["name_for_model"])
    assert doc["api"]["type"] == "openapi"
    assert doc["api"]["is_user_authenticated"] is False
    assert set(doc["api"]) == {"type", "url", "is_user_authenticated"}
    for k in ("logo_url", "legal_info_url"):
        assert doc[k].startswith("https://")
    assert doc["contact_email"].count("@") == 1


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_cli_manifest(idbridge_bin, conf, name):
    r = run_manifest(idbridge_bin, conf, name)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    check_fields(doc)
    keys = manifest_keys(name)
    assert doc["auth"] == AUTH[name]
    assert doc["name_for_human"] == keys["name_for_human"]
    assert doc["name_for_model"] == keys["name_for_model"]
    assert doc["description_for_human"] == keys["description_for_human"]
    # Continuation lines are joined with one space.
    assert doc["description_for_model"] == LONG_MODEL_TEXT
    assert len(LONG_MODEL_TEXT) > 7000
    assert doc["api"]["url"] == keys["api_url"]
    assert doc["logo_url"] == keys["logo_url"]
    assert doc["contact_email"] == keys["contact_email"]
    assert doc["legal_info_url"] == keys["legal_info_url"]


@pytest.mark.parametrize("name,why", [
    ("nosuch", "no such [plugin]"),
    ("bare", "has no manifest"),
    ("../etc", "no such [plugin]"),
])
def test_cli_no_manifest(idbridge_bin, conf, name, why):
    r = run_manifest(idbridge_bin, conf, name)
    assert r.returncode == 1
    assert r.stdout == b""
    assert why in r.stderr.decode()


def test_cli_usage(idbridge_bin, conf):
    r = subprocess.run([idbridge_bin, "manifest", "-c", conf],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert r.returncode == 2
    assert b"usage: idbridge manifest" in r.stderr


def test_check_config_refuses_bad_manifest(idbridge_bin, config):
    config.set("plugin bad", auth="service_http",
               name_for_human="x" * 51, name_for_model="bad-name",
               description_for_human="d" * 121)
    path = config.write()
    r = subprocess.run([idbridge_bin, "check-config", "-c", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    err = r.stderr.decode()
    assert r.returncode == 1
    line = {k: i + 1 for i, k in enumerate(
        l.split(" =")[0] for l in open(path).read().split("\n"))}
    assert "%s:%d: [plugin bad] name_for_human: 51 characters, at most 50" % (
        path, line["name_for_human"]) in err
    assert "%s:%d: [plugin bad] name_for_model: 'bad-name' may hold only" % (
        path, line["name_for_model"]) in err
    assert "[plugin bad] description_for_human: 121 characters, at most 120" in err
    assert "[plugin bad] service_secret is required with auth = service_http" in err
    assert "[plugin bad] logo_url is required for the manifest" in err


@pytest.fixture
def daemon(conf, serve):
    return serve(conf)


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_http_equals_cli(idbridge_bin, conf, daemon, name):
    r = run_manifest(idbridge_bin, conf, name)
    assert r.returncode == 0
    status, h, body = daemon.request("GET", "/plugins/%s/ai-plugin.json" % name)
    assert status == 200, body
    assert h["content-type"] == "application/json"
    assert_security_headers(h)
    # The same bytes (the CLI adds a final newline).
    assert body + b"\n" == r.stdout
    check_fields(json.loads(body))


@pytest.mark.parametrize("path", [
    "/plugins/nosuch/ai-plugin.json",
    "/plugins/bare/ai-plugin.json",       # no manifest keys
    "/plugins/JIRA/ai-plugin.json",       # names match exactly
    "/plugins/jira/ai-plugin.jsonx",
    "/plugins/jira/openapi.yaml",
    "/plugins/jira/",
    "/plugins/jira",
    "/plugins/",
    "/plugins//ai-plugin.json",
    "/plugins/a/b/ai-plugin.json",
    "/plugins/%2e%2e/ai-plugin.json",
    "/plugins/" + "a" * 65 + "/ai-plugin.json",
])
def test_http_unknown_is_404(daemon, path):
    status, h, body = daemon.request("GET", path)
    assert status == 404, (path, body)
    assert h["content-type"] == "application/json"
    assert json.loads(body)["error"] == "not_found"
    assert_security_headers(h)


def test_http_method(daemon):
    status, _, _ = daemon.request("POST", "/plugins/jira/ai-plugin.json",
                                  body=b"x=1", headers={
                                      "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 405
    status, h, body = daemon.request("HEAD", "/plugins/jira/ai-plugin.json")
    assert status == 200 and body == b""


@pytest.mark.parametrize("headers", [
    {"Host": "evil.example"},
    {"Host": "evil.example:443", "X-Forwarded-Host": "evil.example",
     "X-Forwarded-Proto": "http", "X-Forwarded-Port": "80",
     "Forwarded": "host=evil.example;proto=http"},
])
def test_host_header_is_ignored(daemon, headers):
    for name in PLUGINS:
        path = "/plugins/%s/ai-plugin.json" % name
        _, _, reference = daemon.request("GET", path)
        status, _, body = daemon.request("GET", path, headers=headers)
        assert status == 200
        assert body == reference
        assert b"evil" not in body
    doc = json.loads(daemon.request("GET", "/plugins/jira/ai-plugin.json",
                                    headers=headers)[2])
    assert doc["auth"]["client_url"] == ISSUER + "/authorize"
    assert doc["auth"]["authorization_url"] == ISSUER + "/token"
