#!/usr/bin/python3
"""bench/prepare.py PORT USER PASSWORD CLIENT REDIRECT_URI SECRET

Signs USER in on idbridge's login page and exchanges the code for tokens,
as a confidential client with consent = skip, and prints the access token.
bench/run uses it to get a real JWT for the /verify path; it uses the
integration tests' browser (tests/integration/oauthflow.py), so nothing is
installed."""

import base64
import json
import os
import sys
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from oauthflow import Browser, Form, authorize_path, query_of  # noqa: E402


def main(port, user, password, client, redirect_uri, secret):
    b = Browser(int(port))
    _, _, page = b.get(authorize_path(client, redirect_uri, scope="read:resource"))
    st, h, _ = b.post("/authorize", {"username": user, "password": password,
                                     "csrf": Form(page).hidden["csrf"]})
    if st != 303:
        sys.exit("bench/prepare.py: sign-in answered %d" % st)
    st, h, _ = b.get(h["location"])
    code = query_of(h.get("location", "")).get("code")
    if st != 303 or not code:
        sys.exit("bench/prepare.py: no code (%d)" % st)
    basic = base64.b64encode(("%s:%s" % (client, urllib.parse.quote(secret, safe=""))).encode())
    st, _, data = b.request("POST", "/token", body=urllib.parse.urlencode(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}),
        headers={"Authorization": "Basic " + basic.decode(),
                 "Content-Type": "application/x-www-form-urlencoded"})
    if st != 200:
        sys.exit("bench/prepare.py: /token answered %d: %s" % (st, data))
    print(json.loads(data)["access_token"])


if __name__ == "__main__":
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    main(*sys.argv[1:])
