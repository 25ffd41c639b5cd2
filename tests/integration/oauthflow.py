"""A small browser for the integration tier: cookies, forms and redirects
over http.client, so the sign-in flow is driven as a browser drives it
(the real-browser test in tests/e2e does the same with chromium)."""

import hashlib
import html.parser
import http.client
import urllib.parse

PLUGIN_SECRET = "plugin-secret-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLM"
CHATGPT_CALLBACK = "https://chat.openai.com/aip/plugin-00000000-1111/oauth/callback"
GPT_CALLBACK = "https://chatgpt.com/aip/g-abcdef/oauth/callback"


def secret_hash(secret):
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


def add_clients(cfg):
    """The clients the flow tests use, in cfg (a harness.Config)."""
    cfg.sections["client chatgpt"] = {
        "name": "Jira <b>plugin</b> & \"friends\"",
        "secret": secret_hash(PLUGIN_SECRET),
        "redirect_uri": CHATGPT_CALLBACK,
        "scopes": "read:resource write:resource",
        "pkce": "optional",
        "consent": "ask",
    }
    cfg.sections["client firstparty"] = {
        "name": "First party",
        "secret": secret_hash(PLUGIN_SECRET),
        "redirect_uri": GPT_CALLBACK,
        "scopes": "read:resource ops:admin",
        "pkce": "optional",
        "consent": "skip",
    }
    cfg.sections["client cli"] = {
        "name": "Command line",
        "public": "yes",
        "redirect_uri": "http://127.0.0.1/callback",
        "scopes": "read:resource",
        "consent": "skip",
    }
    return cfg


class Form(html.parser.HTMLParser):
    """The first <form>'s hidden inputs, and the page's text."""

    def __init__(self, text):
        super().__init__()
        self.hidden, self.text, self.submits = {}, [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") == "hidden":
            self.hidden[a.get("name")] = a.get("value", "")
        if tag == "button" and a.get("name"):
            self.submits.append((a["name"], a.get("value")))

    def handle_data(self, data):
        self.text.append(data)


class Browser:
    def __init__(self, port):
        self.port = port
        self.cookies = {}

    def request(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        if body is not None and not isinstance(body, (bytes, str)):
            body = urllib.parse.urlencode(body)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read().decode("utf-8", "replace")
            headers = r.getheaders()
        finally:
            c.close()
        for k, v in headers:
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                value = rest.split(";", 1)[0]
                if value and "Max-Age=0" not in v:
                    self.cookies[name] = value
                else:
                    self.cookies.pop(name, None)
        return r.status, {k.lower(): v for k, v in headers}, data

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, fields):
        return self.request("POST", path, body=fields)


def authorize_path(client, redirect_uri, scope=None, state="st-123", **extra):
    q = {"response_type": "code", "client_id": client, "redirect_uri": redirect_uri,
         "state": state}
    if scope is not None:
        q["scope"] = scope
    q.update(extra)
    return "/authorize?" + urllib.parse.urlencode(q)


def query_of(location):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
