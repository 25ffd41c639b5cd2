#!/usr/bin/python3
"""A TCP proxy that makes a directory server slow.

It forwards every connection to the real server (a private slapd) and
holds each chunk the server sends for `delay` seconds before passing it to
the client: a directory that answers after `delay`.  Requests go through
at once, and chunks are held side by side (each is due `delay` after it
arrived, not after the previous one left), so the server sees the load as
it comes and only its answers are late.

hold="all" holds every answer; hold="binds" only the chunks that carry an
LDAP BindResponse — a directory whose password checks are slow (the usual
case: password hashing, an overloaded domain controller), while searches
stay fast.  A sign-in then waits `delay` for its own bind, plus `delay`
for each service connection the daemon opens meanwhile.

    with SlowProxy("127.0.0.1", slapd.port) as p:   # threads in the background
        uri = p.uri                  # [ldap] uri
        ... prime caches ...
        p.delay = 2.0                # from now on every answer takes 2 s
        p.hold = "binds"             # ...or only the answers to binds
        p.held()                     # answers being held right now
        p.held_total()               # answers held since the delay was set
        p.cut_on = b"cn=x,"          # the next request carrying these bytes drops
                                     # its connection, as a server crash would (p.cuts)

The delay may be changed at any time; it applies to chunks that arrive
after the change.

As a script: `slowproxy.py HOST:PORT DELAY [LISTEN_PORT]` prints the port
and runs until SIGTERM.
"""

import collections
import socket
import sys
import threading
import time

sys.path.insert(0, __import__("os").path.dirname(__file__))
from slapdir import free_port  # noqa: E402

CHUNK = 65536
BIND_RESPONSE = 0x61   # [APPLICATION 1], constructed


def is_bind_response(data):
    """Does this chunk start with an LDAPMessage holding a BindResponse?

    LDAPMessage ::= SEQUENCE { messageID INTEGER, protocolOp CHOICE {...} }
    A bind's answer is small and comes alone, so its first message is enough.
    """
    if len(data) < 2 or data[0] != 0x30:
        return False
    i = 2
    if data[1] & 0x80:
        i += data[1] & 0x7F
    if i + 2 > len(data) or data[i] != 0x02:
        return False
    i += 2 + data[i + 1]
    return i < len(data) and data[i] == BIND_RESPONSE


class _Pipe:
    """One proxied connection: client → server at once, server → client late."""

    def __init__(self, proxy, client, server):
        self.proxy, self.client, self.server = proxy, client, server
        self.queue = collections.deque()   # (due, bytes, held); None: the server closed
        self.cond = threading.Condition()
        self.threads = [
            threading.Thread(target=self._upstream, daemon=True, name="slowproxy-up"),
            threading.Thread(target=self._read_answers, daemon=True, name="slowproxy-rd"),
            threading.Thread(target=self._deliver, daemon=True, name="slowproxy-dn"),
        ]
        for t in self.threads:
            t.start()

    def _upstream(self):
        try:
            while True:
                data = self.client.recv(CHUNK)
                if not data:
                    break
                if self.proxy._cut_now(data):
                    # The server "crashes" with this request on its way.
                    self.client.shutdown(socket.SHUT_RDWR)
                    self.server.shutdown(socket.SHUT_RDWR)
                    break
                self.server.sendall(data)
        except OSError:
            pass
        try:
            self.server.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _read_answers(self):
        try:
            while True:
                data = self.server.recv(CHUNK)
                if not data:
                    break
                delay = self.proxy.delay
                if self.proxy.hold == "binds" and not is_bind_response(data):
                    delay = 0
                with self.cond:
                    self.queue.append((time.monotonic() + delay, data, delay > 0))
                    self.cond.notify()
                if delay > 0:
                    self.proxy._count(+1)
        except OSError:
            pass
        with self.cond:
            self.queue.append(None)
            self.cond.notify()

    def _deliver(self):
        while True:
            with self.cond:
                while not self.queue:
                    self.cond.wait()
                item = self.queue.popleft()
            if item is None:
                break
            due, data, held = item
            wait = due - time.monotonic()
            if wait > 0 and self.proxy.stopping.wait(wait):
                break
            if held:
                self.proxy._count(-1)
            try:
                self.client.sendall(data)
            except OSError:
                break
        self.close()

    def close(self):
        for s in (self.client, self.server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class SlowProxy:
    def __init__(self, host, port, delay=0.0, listen_port=None, hold="all"):
        if hold not in ("all", "binds"):
            raise ValueError("hold must be 'all' or 'binds'")
        self.target = (host, port)
        self.delay = delay
        self.hold = hold
        self.port = listen_port or free_port()
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._held = 0
        self._held_total = 0
        self.cut_on = None      # bytes: the first request carrying them drops its connection
        self.cuts = 0
        self._pipes = []
        self._lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._lsock.bind(("127.0.0.1", self.port))
        self._lsock.listen(64)
        self._lsock.settimeout(0.1)
        self._thread = threading.Thread(target=self._accept, name="slowproxy", daemon=True)

    @property
    def uri(self):
        return "ldap://127.0.0.1:%d" % self.port

    def _count(self, n):
        with self._lock:
            self._held += n
            if n > 0:
                self._held_total += n

    def _cut_now(self, data):
        with self._lock:
            if self.cut_on is None or self.cut_on not in data:
                return False
            self.cut_on = None
            self.cuts += 1
            return True

    def held(self):
        with self._lock:
            return self._held

    def held_total(self):
        with self._lock:
            return self._held_total

    def _accept(self):
        while not self.stopping.is_set():
            try:
                c, _ = self._lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            c.settimeout(None)
            try:
                s = socket.create_connection(self.target, timeout=5)
                s.settimeout(None)
            except OSError:
                c.close()
                continue
            # A network passes each segment on at once: no Nagle delay of
            # its own between the daemon and the server (both ends set
            # TCP_NODELAY themselves).
            for sock in (c, s):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._pipes.append(_Pipe(self, c, s))

    def start(self):
        self._thread.start()
        return self

    def close(self):
        self.stopping.set()
        self._thread.join(timeout=5)
        self._lsock.close()
        for p in self._pipes:
            p.close()
            with p.cond:
                p.queue.append(None)
                p.cond.notify()
        for p in self._pipes:
            for t in p.threads:
                t.join(timeout=5)
        self._pipes = []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


def _main(argv):
    import signal
    if len(argv) < 2:
        print("usage: slowproxy.py HOST:PORT DELAY [LISTEN_PORT]", file=sys.stderr)
        return 2
    host, _, port = argv[0].rpartition(":")
    p = SlowProxy(host, int(port), float(argv[1]),
                  int(argv[2]) if len(argv) > 2 else None).start()
    print(p.port, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    signal.signal(signal.SIGINT, lambda *a: done.set())
    while not done.wait(0.5):
        pass
    p.close()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
