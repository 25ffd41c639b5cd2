#!/usr/bin/python3
"""The demo's plugin API: one tiny HTTP service on 127.0.0.1 that stands
for the backends of the demo plugins, protected by idbridge's /verify
exactly as nginx `auth_request` would protect it.

    demo-api.py --idbridge URL --plugin NAME=STRATEGY [--plugin ...] --info FILE

Each plugin lives under /NAME/.  /NAME/openapi.yaml (the manifest's
api_url) is public, as the platform fetches it without credentials.  Any
other path of a plugin whose strategy is not `none` is first checked by
`GET URL/verify?plugin=NAME` carrying the request's Authorization header
and nothing else of it:

    /verify 200        200 {"hello": USER, "scopes": [...], "groups": [...],
                            "client": CLIENT, "plugin": NAME}, the values
                       percent-decoded from the X-Idbridge-* headers
    /verify 401, 403   the same status with idbridge's WWW-Authenticate
    anything else      500, failing closed (what nginx does)

A `none` plugin is never checked (DESIGN.md: the proxy does not call
/verify for it; /verify admits nothing without credentials) and answers
{"hello": null}.  Writes {"port", "url"} to the info file once it listens
and runs until SIGTERM or SIGINT.  Standard library only.
"""

import argparse
import http.server
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
import demo_serve   # noqa: E402  (tools/, this script's directory)

VERIFY_TIMEOUT = 30     # /verify may wait for the directory (an API key's owner)
STRATEGIES = ("none", "service_http", "user_http", "oauth")

OPENAPI = """openapi: 3.0.1
info:
  title: %(name)s (idbridge demo)
  version: "1.0"
servers:
  - url: %(url)s
paths:
  /hello:
    get:
      operationId: hello
      summary: Says hello to whoever idbridge says is calling
      responses:
        "200":
          description: who called, with which scopes
"""


def header_list(value):
    """An X-Idbridge-* list: comma-separated, each item percent-encoded."""
    return [urllib.parse.unquote(v) for v in (value or "").split(",") if v]


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "idbridge-demo-api"
    verify_url = None   # set by main()
    plugins = {}        # name -> strategy, set by main()
    base_url = None

    def log_message(self, fmt, *args):
        # Never the headers: they carry the credentials.
        sys.stderr.write("demo-api: %s %s\n" % (self.command, urllib.parse.urlsplit(
            self.path).path))

    def send(self, status, obj, extra=()):
        """obj as JSON, or a str as YAML (the OpenAPI document)."""
        text = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False) + "\n"
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "%s; charset=utf-8" % (
            "application/yaml" if isinstance(obj, str) else "application/json"))
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def ask_idbridge(self, name):
        """(status, headers) of /verify for this request, as nginx auth_request asks it."""
        headers = {}
        if self.headers.get("Authorization") is not None:
            headers["Authorization"] = self.headers["Authorization"]
        req = urllib.request.Request(self.verify_url + "?" + urllib.parse.urlencode(
            {"plugin": name}), headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=VERIFY_TIMEOUT) as r:
                return r.status, r.headers
        except urllib.error.HTTPError as e:
            e.read()
            return e.code, e.headers
        except OSError as e:
            sys.stderr.write("demo-api: /verify did not answer: %s\n" % e)
            return 0, {}

    def do_GET(self):
        parts = urllib.parse.urlsplit(self.path).path.split("/")
        name = parts[1] if len(parts) > 2 else ""
        strategy = self.plugins.get(name)
        if strategy is None:
            return self.send(404, {"error": "not_found", "plugins": sorted(self.plugins)})
        if parts[2:] == ["openapi.yaml"]:
            return self.send(200, OPENAPI % {"name": name, "url": self.base_url + name})
        if strategy == "none":
            return self.send(200, {"hello": None, "plugin": name})
        status, h = self.ask_idbridge(name)
        if status == 200:
            user = header_list(h.get("X-Idbridge-User"))
            client = header_list(h.get("X-Idbridge-Client"))
            return self.send(200, {"hello": user[0] if user else "",
                                   "scopes": header_list(h.get("X-Idbridge-Scopes")),
                                   "groups": header_list(h.get("X-Idbridge-Groups")),
                                   "client": client[0] if client else "", "plugin": name})
        if status in (401, 403):
            challenge = h.get("WWW-Authenticate")
            return self.send(status, {"error": "unauthorized" if status == 401 else "forbidden",
                                      "plugin": name},
                             extra=[("WWW-Authenticate", challenge)] if challenge else ())
        sys.stderr.write("demo-api: /verify answered %d: refusing\n" % status)
        return self.send(500, {"error": "the authorization check failed", "plugin": name})


def parse_plugins(specs):
    plugins = {}
    for spec in specs:
        name, _, strategy = spec.partition("=")
        if not name or "/" in name or strategy not in STRATEGIES:
            sys.exit("demo-api: --plugin NAME=STRATEGY (one of %s), not %r"
                     % (", ".join(STRATEGIES), spec))
        plugins[name] = strategy
    return plugins


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--idbridge", required=True, help="the issuer URL")
    ap.add_argument("--plugin", action="append", default=[], metavar="NAME=STRATEGY")
    ap.add_argument("--info", required=True, help="write the port and URL here (JSON)")
    args = ap.parse_args()

    Handler.plugins = parse_plugins(args.plugin)
    Handler.verify_url = args.idbridge.rstrip("/") + "/verify"
    server, port = demo_serve.bind(Handler, "demo-api")
    Handler.base_url = "http://127.0.0.1:%d/" % port
    demo_serve.write_info(args.info, {"port": port, "url": Handler.base_url})
    return demo_serve.serve_until_signal(server)


if __name__ == "__main__":
    sys.exit(main())
