"""What the demo's small web services (tools/demo-client, tools/demo-api.py)
share: a loopback port outside the ephemeral range, the info file that
tools/demo waits for, and a clean stop on SIGTERM or SIGINT.  Standard
library only.
"""

import http.server
import json
import os
import signal
import sys
import threading

BIND_TRIES = 20     # another process may take a free port before we bind it


def free_port():
    """A port in 61000-64999 (tests/integration/slapdir.py: not the ephemeral range)."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "tests", "integration"))
    import slapdir
    return slapdir.free_port()


def bind(handler, who):
    """(server, port): a threading HTTP server for handler on 127.0.0.1."""
    for _ in range(BIND_TRIES):
        port = free_port()
        try:
            server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError:
            continue
        server.daemon_threads = True
        return server, port
    sys.exit("%s: no free port" % who)


def write_info(path, info):
    """info as JSON at path, whole or not at all (tools/demo polls for it)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(info, f)
    os.replace(tmp, path)


def serve_until_signal(server):
    """Serve until SIGTERM or SIGINT, then close the socket."""
    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    return 0
