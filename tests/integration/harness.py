"""Helpers for the integration tier: per-test configs, `login-test` runs and
a foreground `serve` daemon.  The fixtures that use them are in conftest.py.
"""

import http.client
import json
import os
import re
import subprocess
import time

import slapdir

SRCDIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# Every secret the tier knows: none may ever appear in any output.
SECRETS = [u["password"] for u in slapdir.USERS.values()] + [
    slapdir.LONELY_USER["password"], slapdir.SERVICE_PASSWORD]

GENERIC = "login-test: authentication failed: wrong user name or password"
UNAVAILABLE = "login-test: the directory is unavailable: try again later"
DISABLED = "login-test: account disabled"


def idbridge_path():
    b = os.environ.get("IDBRIDGE_BIN")
    if b:
        return b
    return os.path.join(os.environ.get("IDBRIDGE_BUILDDIR", SRCDIR), "idbridge")


def assert_no_secrets(*texts):
    for t in texts:
        for s in SECRETS:
            assert s not in t, "a password appeared in the output"


class Config:
    """An idbridge.conf for one test, built from sections of key/value pairs.

    A value of None drops the key; a section of None drops the section.
    """

    def __init__(self, tmpdir, slapd=None):
        self.dir = str(tmpdir)
        self.path = os.path.join(self.dir, "idbridge.conf")
        self.state_dir = os.path.join(self.dir, "state")
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        s = slapd
        self.sections = {
            "server": {
                "issuer": "http://127.0.0.1",
                "listen": "127.0.0.1:0",
                "state_dir": self.state_dir,
                "templates": os.path.join(SRCDIR, "templates"),
                # As root (CI) the daemon refuses to stay root unless told;
                # the privilege-drop test sets user instead.
                "allow_root": "yes" if os.geteuid() == 0 else None,
            },
            "store": {"path": os.path.join(self.state_dir, "idbridge.db")},
            "auth": {"backend": "ldap"},
            "ldap": {
                "uri": s.ldap_uri if s else "ldap://127.0.0.1:1",
                "timeout": "5",
                "bind_dn": slapdir.SERVICE_DN,
                "bind_password_file": s.bind_password_file if s else "/nonexistent",
                "user_base": slapdir.PEOPLE,
                "user_filter": "(&(objectClass=inetOrgPerson)(uid=%u))",
                "group_base": slapdir.GROUPS,
                "group_filter": "(|(member=%d)(memberUid=%u))",
                "group_name_attribute": "cn",
                "nested_groups": "yes",
                "id_attribute": "entryUUID",
                "disabled_filter": slapdir.DISABLED_FILTER,
            },
            "scopes": {
                "read:resource": "engineering support",
                "write:resource": "engineering",
                "directory:read": "staff",
                "ops:admin": "ops",
            },
        }

    def set(self, section, **kv):
        for k, v in kv.items():
            self.sections.setdefault(section, {})[k] = v
        return self

    def text(self):
        out = []
        for name, keys in self.sections.items():
            if keys is None:
                continue
            out.append("[%s]" % name)
            for k, v in keys.items():
                if v is not None:
                    out.append("%s = %s" % (k, v))
            out.append("")
        return "\n".join(out)

    def write(self):
        with open(self.path, "w") as f:
            f.write(self.text())
        return self.path


class LoginResult:
    def __init__(self, proc, elapsed):
        self.rc = proc.returncode
        self.stdout = proc.stdout.decode("utf-8", "replace")
        self.stderr = proc.stderr.decode("utf-8", "replace")
        self.elapsed = elapsed
        self.fields = {}
        for line in self.stdout.splitlines():
            k, sep, v = line.partition(": ")
            if sep:
                self.fields[k] = v

    def messages(self):
        """stderr lines written by login-test itself (not log lines)."""
        return [l for l in self.stderr.splitlines() if l.startswith("login-test: ")]

    def __repr__(self):
        return "rc=%d\n--- stdout\n%s--- stderr\n%s" % (self.rc, self.stdout, self.stderr)


class Daemon:
    """`idbridge serve` in the foreground, as our child."""

    def __init__(self, binary, conf, workdir, port_file=None, args=(), env=None):
        self.binary = binary
        self.args = list(args)
        self.env = env  # None: ours
        self.conf = conf
        self.port_file = port_file or os.path.join(workdir, "port")
        self.log_path = os.path.join(workdir, "serve.log")
        self.proc = None
        self.port = None

    def start(self, timeout=15):
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "-c", self.conf, "--port-file", self.port_file,
             *self.args],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("idbridge serve exited %d:\n%s" % (
                    self.proc.returncode, self.output()))
            try:
                with open(self.port_file) as f:
                    txt = f.read()
                # A port file may be caught half written: trust a newline, or
                # the same digits read twice.
                if txt.strip().isdigit() and (txt.endswith("\n") or
                                              txt == open(self.port_file).read()):
                    self.port = int(txt)
                    return self
            except (FileNotFoundError, ValueError):
                pass
            time.sleep(0.02)
        raise AssertionError("idbridge serve wrote no port file:\n" + self.output())

    def output(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def request(self, method, path, body=None, headers=None, timeout=30):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def get_json(self, path, **kw):
        status, headers, data = self.request("GET", path, **kw)
        return status, headers, json.loads(data)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=20):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()


def poll(fn, timeout=15.0, interval=0.2):
    """Call fn until it returns a true value or timeout passes; return the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def ldap_entry_uuid(d, uid):
    env = dict(os.environ, LDAPCONF="/dev/null", LDAPNOINIT="1")
    r = subprocess.run(["ldapsearch", "-Q", "-LLL", "-Y", "EXTERNAL", "-H", d.ldapi_uri,
                        "-b", slapdir.SUFFIX, "(uid=%s)" % uid, "entryUUID"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=True)
    m = re.search(r"^entryUUID: (\S+)$", r.stdout.decode(), re.M)
    return m.group(1)
