#!/usr/bin/python3
"""A TCP server that accepts connections and never answers.

It stands in for a directory server that hangs (a stuck slapd, a firewall
that lets the handshake through): every connection is accepted and held
open, nothing is ever sent, and whatever the client writes is read and
dropped so its writes never block.  The daemon's timeouts are what end such
a connection.

    with Blackhole() as bh:           # in a background thread
        uri = "ldap://127.0.0.1:%d" % bh.port
        ...
        bh.accepted                   # connections seen so far

As a script: `blackhole.py [PORT]` prints the port and runs until SIGTERM.
"""

import selectors
import socket
import sys
import threading

sys.path.insert(0, __import__("os").path.dirname(__file__))
from slapdir import free_port  # noqa: E402


class Blackhole:
    def __init__(self, port=None):
        self.port = port or free_port()
        self.accepted = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sel = selectors.DefaultSelector()
        self._lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._lsock.bind(("127.0.0.1", self.port))
        self._lsock.listen(64)
        self._lsock.setblocking(False)
        self._sel.register(self._lsock, selectors.EVENT_READ)
        self._conns = []
        self._thread = threading.Thread(target=self._loop, name="blackhole", daemon=True)

    @property
    def uri(self):
        return "ldap://127.0.0.1:%d" % self.port

    def count(self):
        with self._lock:
            return self.accepted

    def _loop(self):
        while not self._stop.is_set():
            for key, _ in self._sel.select(timeout=0.1):
                if key.fileobj is self._lsock:
                    try:
                        c, _ = self._lsock.accept()
                    except OSError:
                        continue
                    c.setblocking(False)
                    self._conns.append(c)
                    self._sel.register(c, selectors.EVENT_READ)
                    with self._lock:
                        self.accepted += 1
                else:
                    try:
                        data = key.fileobj.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        self._sel.unregister(key.fileobj)
                        key.fileobj.close()
                        self._conns.remove(key.fileobj)

    def start(self):
        self._thread.start()
        return self

    def close(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for c in self._conns:
            c.close()
        self._conns = []
        self._sel.close()
        self._lsock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


def _main(argv):
    import signal
    bh = Blackhole(int(argv[0]) if argv else None).start()
    print(bh.port, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    signal.signal(signal.SIGINT, lambda *a: done.set())
    while not done.wait(0.5):
        pass
    bh.close()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
