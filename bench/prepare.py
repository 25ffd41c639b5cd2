#!/usr/bin/python3
"""bench/prepare.py PORT USER PASSWORD CLIENT REDIRECT_URI SECRET [FAMILIES]

Signs USER in on idbridge's login page and exchanges the code for tokens,
as a confidential client with consent = skip, and prints one JSON object:

    {"access_token": a live JWT,
     "session_cookie": "name=value" of the signed-in session,
     "authorize": the /authorize path and query that, with that cookie,
                  answers 303 with a fresh code at once,
     "refresh_tokens": FAMILIES (default 0) live refresh tokens, each the
                  start of its own family: one more code exchange each}

bench/run uses it for the /verify and /introspect paths (the JWT), for the
refresh_token grant (the families: rotation makes each token single-use)
and for minting codes (the session).  It uses the integration tests'
browser (tests/integration/oauthflow.py), so nothing is installed."""

import base64
import json
import os
import sys
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from oauthflow import Browser, Form, authorize_path, query_of  # noqa: E402


def fail(msg):
    sys.exit("bench/prepare.py: " + msg)


class Client:
    def __init__(self, port, client, redirect_uri, secret):
        self.b = Browser(int(port))
        self.redirect_uri = redirect_uri
        self.authorize = authorize_path(client, redirect_uri, scope="read:resource")
        basic = base64.b64encode(("%s:%s" % (client, urllib.parse.quote(secret, safe="")))
                                 .encode()).decode()
        self.token_headers = {"Authorization": "Basic " + basic,
                              "Content-Type": "application/x-www-form-urlencoded"}

    def sign_in(self, user, password):
        _, _, page = self.b.get(self.authorize)
        st, h, _ = self.b.post("/authorize", {"username": user, "password": password,
                                              "csrf": Form(page).hidden["csrf"]})
        if st != 303:
            fail("sign-in answered %d" % st)
        return h["location"]

    def code(self, path=None):
        st, h, _ = self.b.get(path or self.authorize)
        code = query_of(h.get("location", "")).get("code")
        if st != 303 or not code:
            fail("no code (%d)" % st)
        return code

    def exchange(self, code):
        st, _, data = self.b.request("POST", "/token", body=urllib.parse.urlencode(
            {"grant_type": "authorization_code", "code": code,
             "redirect_uri": self.redirect_uri}), headers=self.token_headers)
        if st != 200:
            fail("/token answered %d: %s" % (st, data))
        return json.loads(data)

    def session_cookie(self):
        for name, value in self.b.cookies.items():
            if name.endswith("idb_session"):
                return "%s=%s" % (name, value)
        fail("no session cookie")


def main(port, user, password, client, redirect_uri, secret, families="0"):
    c = Client(port, client, redirect_uri, secret)
    back = c.sign_in(user, password)
    tokens = c.exchange(c.code(back))
    out = {"access_token": tokens["access_token"], "session_cookie": c.session_cookie(),
           "authorize": c.authorize,
           "refresh_tokens": [c.exchange(c.code())["refresh_token"]
                              for _ in range(int(families))]}
    print(json.dumps(out))


if __name__ == "__main__":
    if len(sys.argv) not in (7, 8):
        sys.exit(__doc__)
    main(*sys.argv[1:])
