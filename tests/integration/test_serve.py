"""`idbridge serve`: probes, security headers, request limits, SIGTERM, and
dropping root."""

import http.client
import json
import os
import shutil
import signal
import socket
import stat
import tempfile
import threading
import time

import pytest

from harness import Config, assert_no_secrets, poll

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def assert_security_headers(h):
    for k, v in SECURITY_HEADERS.items():
        assert h.get(k, "").lower() == v.lower(), (k, h)
    assert "frame-ancestors 'none'" in h.get("content-security-policy", ""), h
    assert "no-store" in h.get("cache-control", ""), h
    assert h.get("x-request-id"), h


def health(d):
    try:
        status, h, body = d.get_json("/healthz", timeout=20)
    except (OSError, http.client.HTTPException, ValueError):
        return None
    return status, body


def test_livez(config, serve):
    d = serve(config.write())
    status, h, body = d.get_json("/livez")
    assert status == 200
    assert body["status"] == "ok"
    assert h["content-type"].startswith("application/json")
    assert_security_headers(h)


def test_request_ids_differ(config, serve):
    d = serve(config.write())
    ids = {d.request("GET", "/livez")[1]["x-request-id"] for _ in range(3)}
    assert len(ids) == 3


def test_unknown_path_404_json(config, serve):
    d = serve(config.write())
    status, h, body = d.get_json("/no/such/thing")
    assert status == 404
    assert h["content-type"].startswith("application/json")
    assert_security_headers(h)


def raw_request(port, data, timeout=10):
    """Send raw bytes; return the status code of the answer (None if closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        buf = b""
        while b"\r\n" not in buf:
            try:
                chunk = s.recv(4096)
            except ConnectionResetError:
                break
            if not chunk:
                break
            buf += chunk
        if not buf.startswith(b"HTTP/1."):
            return None
        return int(buf.split(b" ", 2)[1])
    finally:
        s.close()


def test_body_too_large_413(config, serve):
    d = serve(config.write())
    body = b"a=" + b"b" * (64 * 1024)
    req = (b"POST /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Content-Type: application/x-www-form-urlencoded\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body)) + body
    assert raw_request(d.port, req) == 413


def test_header_block_too_large_431(config, serve):
    d = serve(config.write())
    req = (b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"p" * (17 * 1024) +
           b"\r\n\r\n")
    assert raw_request(d.port, req) == 431


def test_uri_too_long_414(config, serve):
    d = serve(config.write())
    req = b"GET /livez?a=" + b"u" * 5000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    assert raw_request(d.port, req) == 414


def test_healthz_follows_directory(tmp_path, own_slapd, serve):
    d = serve(Config(tmp_path, own_slapd).write())
    status, h, body = d.get_json("/healthz")
    assert status == 200, body
    assert body["status"] == "ok" and body["directory"] == "ok", body
    assert_security_headers(h)

    own_slapd.stop()
    r = poll(lambda: (lambda x: x if x and x[0] == 503 else None)(health(d)), timeout=15)
    assert r, "healthz did not turn 503 after slapd stopped"
    assert r[1]["status"] == "unavailable", r
    # The process itself is still fine.
    assert d.get_json("/livez")[0] == 200

    own_slapd.start()
    r = poll(lambda: (lambda x: x if x and x[0] == 200 else None)(health(d)), timeout=15)
    assert r, "healthz did not recover after slapd came back"
    assert r[1]["directory"] == "ok"


def test_sigterm_idle_exits_0(config, serve):
    d = serve(config.write())
    assert d.get_json("/livez")[0] == 200
    d.signal(signal.SIGTERM)
    assert d.wait(timeout=15) == 0


def test_sigterm_with_healthz_in_flight(config, serve, blackhole):
    # The directory probe hangs on the blackhole; the connection is
    # suspended meanwhile.  SIGTERM must still answer it and exit 0.
    timeout = 2
    config.set("ldap", uri=blackhole.uri, timeout=str(timeout))
    d = serve(config.write())
    before = blackhole.count()
    result = {}

    def client():
        try:
            c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=30)
            c.request("GET", "/healthz")
            r = c.getresponse()
            result["status"] = r.status
            result["body"] = r.read()
            result["at"] = time.monotonic()
            c.close()
        except Exception as e:  # reported below
            result["error"] = repr(e)
    t = threading.Thread(target=client)
    t.start()
    # In flight once the daemon reaches the blackhole (or, with a
    # pre-connected pool, after a moment: either way it cannot answer yet).
    poll(lambda: blackhole.count() > before, timeout=3, interval=0.05)
    assert not result, "healthz answered before the directory could: %r" % result
    sent = time.monotonic()
    d.signal(signal.SIGTERM)
    t.join(timeout=30)
    assert not t.is_alive()
    assert "status" in result, result
    assert result["status"] == 503, result
    # Answered once the probe gave up (a try and a retry), not cut off.
    assert result["at"] - sent < 2 * timeout + 3, result["at"] - sent
    assert d.wait(timeout=20) == 0


def test_debug_log_carries_no_secret(config, serve):
    # The service account's password is bound on every directory probe.
    d = serve(config.write(), args=["--debug"])
    assert d.get_json("/healthz")[0] == 200
    d.signal(signal.SIGTERM)
    assert d.wait(timeout=15) == 0
    out = d.output()
    assert "/healthz" in out
    assert_no_secrets(out)


# -- dropping root --------------------------------------------------------

def test_drops_root_to_server_user(slapd, serve, system_user):
    top = tempfile.mkdtemp(prefix="idb-priv.", dir="/tmp")
    try:
        os.chmod(top, 0o755)
        cfg = Config(top, slapd)
        os.chown(cfg.state_dir, system_user.pw_uid, system_user.pw_gid)
        cfg.set("server", user=system_user.pw_name, allow_root=None)
        conf = cfg.write()
        os.chmod(conf, 0o600)
        d = serve(conf, port_file=os.path.join(cfg.state_dir, "port"), workdir=top)
        assert d.get_json("/livez")[0] == 200
        with open("/proc/%d/status" % d.proc.pid) as f:
            status = dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)
        u, g = str(system_user.pw_uid), str(system_user.pw_gid)
        assert status["Uid"].split() == [u, u, u, u], status["Uid"]
        assert status["Gid"].split() == [g, g, g, g], status["Gid"]
        assert status["Groups"].split() in ([], [g]), status["Groups"]
        db = cfg.sections["store"]["path"]
        st = os.stat(db)
        assert (st.st_uid, st.st_gid) == (system_user.pw_uid, system_user.pw_gid)
        assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
        d.signal(signal.SIGTERM)
        assert d.wait(timeout=15) == 0
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_not_dumpable(slapd, serve, system_user, idbridge_bin):
    # Started directly as an unprivileged user (no setuid inside, which would
    # clear the flag by itself), the daemon must still make itself
    # undumpable: then the kernel hands /proc/PID/environ etc. to root.
    top = tempfile.mkdtemp(prefix="idb-dump.", dir="/tmp")
    try:
        os.chmod(top, 0o755)
        cfg = Config(top, slapd)
        cfg.set("server", allow_root=None)
        os.chown(cfg.state_dir, system_user.pw_uid, system_user.pw_gid)
        os.chmod(slapd.bind_password_file, 0o644)  # readable by the test user
        conf = cfg.write()
        os.chmod(conf, 0o644)
        wrapper = os.path.join(top, "as-user")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec setpriv --reuid=%d --regid=%d --clear-groups %s \"$@\"\n"
                    % (system_user.pw_uid, system_user.pw_gid, idbridge_bin))
        os.chmod(wrapper, 0o755)
        from harness import Daemon
        d = Daemon(wrapper, conf, top, port_file=os.path.join(cfg.state_dir, "port")).start()
        try:
            assert d.get_json("/livez")[0] == 200
            pid = d.proc.pid
            with open("/proc/%d/status" % pid) as f:
                uid_line = [l for l in f if l.startswith("Uid:")][0]
            assert uid_line.split()[1] == str(system_user.pw_uid)
            assert os.stat("/proc/%d/environ" % pid).st_uid == 0
        finally:
            d.stop()
    finally:
        os.chmod(slapd.bind_password_file, 0o600)
        shutil.rmtree(top, ignore_errors=True)


def test_declared_oversize_body_refused_before_it_is_sent(config, serve):
    # The 413 must come from the headers alone: a server that waited for the
    # body would let anyone stream it gigabytes.
    d = serve(config.write())
    req = (b"POST /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Content-Length: 100000000000\r\nExpect: 100-continue\r\n\r\n")
    t = time.monotonic()
    assert raw_request(d.port, req, timeout=10) == 413
    assert time.monotonic() - t < 5


def test_chunked_oversize_body_closes_the_connection(config, serve):
    d = serve(config.write())
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    try:
        s.sendall(b"POST /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"4000\r\n" + b"x" * 0x4000 + b"\r\n"
        closed = False
        for _ in range(64):  # up to 1 MiB, far over the 64 KiB limit
            try:
                s.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
        # Whatever the server says first, it must then close the connection.
        deadline = time.monotonic() + 10
        while not closed and time.monotonic() < deadline:
            try:
                closed = s.recv(4096) == b""
            except ConnectionResetError:
                closed = True
            except socket.timeout:
                break
        assert closed, "the server kept reading an oversize chunked body"
    finally:
        s.close()
    assert d.get_json("/livez")[0] == 200


def test_malformed_method_refused_and_logged_safely(config, serve):
    d = serve(config.write())
    assert raw_request(d.port, b"G\x1b[31mET /livez HTTP/1.1\r\nHost: x\r\n\r\n") in (400, None)
    assert d.get_json("/livez")[0] == 200
    d.signal(signal.SIGTERM)
    assert d.wait(timeout=15) == 0
    out = d.output()
    assert "\x1b" not in out


def test_healthz_runs_one_probe_at_a_time(config, serve, blackhole):
    # Ten concurrent /healthz against a directory that never answers must
    # not occupy ten auth workers: one probe runs, the others get the last
    # result at once.
    config.set("ldap", uri=blackhole.uri, timeout="2")
    d = serve(config.write())
    before = blackhole.count()
    results = []

    def client():
        try:
            results.append(health(d))
        except Exception as e:  # reported below
            results.append(repr(e))
    threads = [threading.Thread(target=client) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == 10, results
    assert all(r is not None and r[0] == 503 for r in results), results
    # One probe: a connection, and at most a retry.
    assert blackhole.count() - before <= 2, blackhole.count() - before
    # The body says what is down, never the library's error text.
    for r in results:
        assert "ldap" not in json.dumps(r[1]).lower(), r


def logged_addr(d, header):
    before = d.output()
    status, h, _ = d.request("GET", "/livez", headers={"X-Forwarded-For": header})
    assert status == 200
    rid = h["x-request-id"]
    line = poll(lambda: [l for l in d.output()[len(before):].splitlines()
                         if "req=%s " % rid in l and " http: " in l], timeout=5)
    assert line, d.output()
    return line[0].split(" addr=", 1)[1]


@pytest.mark.parametrize("trusted,header,expect", [
    (None, "198.51.100.7", "127.0.0.1"),                     # no proxy trusted: ignored
    ("127.0.0.1", "198.51.100.7", "198.51.100.7 via=127.0.0.1"),
    ("127.0.0.1", "203.0.113.9, 198.51.100.7", "198.51.100.7 via=127.0.0.1"),
    ("127.0.0.1", "198.51.100.7, 127.0.0.1", "198.51.100.7 via=127.0.0.1"),
    ("127.0.0.1", "not-an-address", "127.0.0.1"),             # malformed: the peer
    ("127.0.0.1", "198.51.100.7, evil", "127.0.0.1"),
    ("10.9.8.7", "198.51.100.7", "127.0.0.1"),                # peer is not the proxy
])
def test_forwarded_for_believed_only_from_trusted_proxies(config, serve, trusted, header, expect):
    config.set("server", trusted_proxies=trusted)
    d = serve(config.write())
    assert logged_addr(d, header) == expect
