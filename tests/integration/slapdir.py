#!/usr/bin/python3
"""A private, throwaway slapd for idbridge's integration tests and tools/demo.

As a module (pytest):

    d = SlapDir()          # a short mktemp -d under /tmp
    d.start()              # certificates, slapd.conf, slapd, seed data
    d.stop(); d.start()    # an outage on the same ports
    d.close()              # stop slapd and remove the directory

As a script (tools/demo):

    slapdir.py start DIR [--info FILE] [--rm]

creates DIR if needed, starts and seeds slapd, prints the URIs and a JSON
line of ports and paths (also written to FILE), then stays in the
foreground until SIGTERM or SIGINT, stops slapd and removes DIR only when
--rm was given.

slapd runs as the current user (root in CI) as our child, so a test always
knows whether it is still running and waits for it exactly.
"""

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

SUFFIX = "dc=example,dc=org"
ROOT_DN = "cn=admin," + SUFFIX
SERVICE_DN = "cn=idbridge,ou=services," + SUFFIX
SERVICE_PASSWORD = "svc-Secret-4711"
PEOPLE = "ou=people," + SUFFIX
GROUPS = "ou=groups," + SUFFIX
LONELY = "ou=lonely," + SUFFIX   # a subtree holding exactly one user
DISABLED_FILTER = "(employeeType=disabled)"

# The demo and test users.  Passwords are deliberately distinct from every
# other string in the tests so "no password in any output" is checkable.
USERS = {
    "alice": {"password": "alice-Pw-2931", "cn": "Alice Liddell",
              "mail": "alice@example.org", "groups": ["engineering", "staff"]},
    "bob": {"password": "bob-Pw-6620", "cn": "Bob Builder",
            "mail": "bob@example.org", "groups": ["support"]},
    "carol": {"password": "carol-Pw-1187", "cn": "Carol Danvers",
              "mail": "carol@example.org", "groups": ["ops"]},
    "zoe": {"password": "Za\u00ef*()\\p\u00e4ssw\u00f6rd", "cn": "Zo\u00eb Unicode",
            "mail": "zoe@example.org", "groups": ["support"]},
    "dave": {"password": "dave-Pw-5512", "cn": "Dave Disabled",
             "mail": "dave@example.org", "groups": ["engineering", "staff"],
             "disabled": True},
    "x": {"password": "x-Pw-9034", "cn": "X Injection Target",
          "mail": "x@example.org", "groups": []},
}
# The only user under ou=lonely: an unescaped "*" would match exactly him.
LONELY_USER = {"uid": "solo", "password": "solo-Pw-3390", "cn": "Solo Lonely"}

SCHEMAS = ("core", "cosine", "inetorgperson", "nis", "dyngroup")


def _run(argv, **kw):
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    r = subprocess.run(argv, **kw)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (
            argv[0], r.returncode, (r.stderr or b"").decode(errors="replace")))
    return r


def port_is_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port(exclude=()):
    """A port in 61000-64999 that binds now (see TESTING-NOTES: no ephemeral range)."""
    for _ in range(200):
        p = random.randint(61000, 64999)
        if p not in exclude and port_is_free(p):
            return p
    raise RuntimeError("no free port in 61000-64999")


def closed_port():
    """A port nothing listens on: connecting to it is refused at once."""
    return free_port()


def _ldif_escape_needed(value):
    # RFC 2849 SAFE-STRING: otherwise base64 (non-ASCII, leading space, ':' '<').
    if not value:
        return False
    if value[0] in " :<" or value[-1] == " ":
        return True
    return any(ord(c) > 126 or ord(c) < 32 for c in value)


def ldif_attr(name, value):
    if _ldif_escape_needed(value):
        import base64
        return "%s:: %s\n" % (name, base64.b64encode(value.encode()).decode())
    return "%s: %s\n" % (name, value)


def seed_ldif():
    out = []

    def entry(dn, *attrs):
        s = ldif_attr("dn", dn)
        for a, v in attrs:
            s += ldif_attr(a, v)
        out.append(s)

    entry(SUFFIX, ("objectClass", "dcObject"), ("objectClass", "organization"),
          ("dc", "example"), ("o", "Example Org"))
    for ou in ("people", "groups", "services", "lonely"):
        entry("ou=%s,%s" % (ou, SUFFIX), ("objectClass", "organizationalUnit"), ("ou", ou))
    entry(SERVICE_DN, ("objectClass", "organizationalRole"),
          ("objectClass", "simpleSecurityObject"), ("cn", "idbridge"),
          ("userPassword", SERVICE_PASSWORD))
    for n, (uid, u) in enumerate(USERS.items()):
        attrs = [("objectClass", "inetOrgPerson"), ("objectClass", "posixAccount"),
                 ("uid", uid), ("cn", u["cn"]), ("sn", u["cn"].split()[-1]),
                 ("displayName", u["cn"]), ("mail", u["mail"]),
                 ("uidNumber", str(10001 + n)), ("gidNumber", "10000"),
                 ("homeDirectory", "/home/" + uid), ("userPassword", u["password"])]
        if u.get("disabled"):
            attrs.append(("employeeType", "disabled"))
        entry("uid=%s,%s" % (uid, PEOPLE), *attrs)
    entry("uid=%s,%s" % (LONELY_USER["uid"], LONELY), ("objectClass", "inetOrgPerson"),
          ("uid", LONELY_USER["uid"]), ("cn", LONELY_USER["cn"]), ("sn", "Lonely"),
          ("userPassword", LONELY_USER["password"]))

    def udn(uid):
        return "uid=%s,%s" % (uid, PEOPLE)
    # engineering is itself a member of staff: alice gets staff only through nesting.
    entry("cn=engineering," + GROUPS, ("objectClass", "groupOfNames"), ("cn", "engineering"),
          ("member", udn("alice")), ("member", udn("dave")))
    entry("cn=staff," + GROUPS, ("objectClass", "groupOfNames"), ("cn", "staff"),
          ("member", "cn=engineering," + GROUPS))
    entry("cn=support," + GROUPS, ("objectClass", "groupOfNames"), ("cn", "support"),
          ("member", udn("bob")), ("member", udn("zoe")))
    entry("cn=ops," + GROUPS, ("objectClass", "posixGroup"), ("cn", "ops"),
          ("gidNumber", "20001"), ("memberUid", "carol"))
    # A group the injection target is in, so a wrongly matched login would be visible.
    entry("cn=admins," + GROUPS, ("objectClass", "groupOfNames"), ("cn", "admins"),
          ("member", udn("x")))
    return "\n".join(out)


class SlapDir:
    """One private slapd: its directory, certificates, config, process and data."""

    def __init__(self, path=None, dynlist=True):
        if path is None:
            path = tempfile.mkdtemp(prefix="idb-slapd.", dir="/tmp")
            self.owns_dir = True
        else:
            os.makedirs(path, exist_ok=True)
            self.owns_dir = False
        self.dir = os.path.abspath(path)
        self.dynlist = dynlist
        self.proc = None
        self.port = None
        self.sport = None
        self.log = None
        self.ca_file = os.path.join(self.dir, "ca.pem")
        self.wrong_ca_file = os.path.join(self.dir, "wrong-ca.pem")
        self.cert_file = os.path.join(self.dir, "server.pem")
        self.key_file = os.path.join(self.dir, "server.key")
        self.conf_file = os.path.join(self.dir, "slapd.conf")
        self.db_dir = os.path.join(self.dir, "db")
        self.sock = os.path.join(self.dir, "ldapi")
        self.log_file = os.path.join(self.dir, "slapd.log")
        self.bind_password_file = os.path.join(self.dir, "idbridge.secret")
        self.prepared = False
        self.seeded = False

    # -- URIs ---------------------------------------------------------------
    @property
    def ldap_uri(self):
        return "ldap://127.0.0.1:%d" % self.port

    @property
    def ldaps_uri(self):
        return "ldaps://127.0.0.1:%d" % self.sport

    @property
    def ldapi_uri(self):
        return "ldapi://" + urllib.parse.quote(self.sock, safe="")

    def info(self):
        return {
            "dir": self.dir, "pid": self.proc.pid if self.proc else None,
            "port": self.port, "ldaps_port": self.sport,
            "ldap_uri": self.ldap_uri, "ldaps_uri": self.ldaps_uri, "ldapi_uri": self.ldapi_uri,
            "ca_file": self.ca_file, "wrong_ca_file": self.wrong_ca_file,
            "suffix": SUFFIX, "bind_dn": SERVICE_DN,
            "bind_password_file": self.bind_password_file,
            "user_base": PEOPLE, "group_base": GROUPS,
            "disabled_filter": DISABLED_FILTER,
        }

    # -- set-up -------------------------------------------------------------
    def _make_certs(self):
        d = self.dir

        def ca(name, cn):
            _run(["openssl", "req", "-x509", "-new", "-newkey", "ec",
                  "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
                  "-subj", "/CN=" + cn, "-keyout", os.path.join(d, name + ".key"),
                  "-out", os.path.join(d, name + ".pem"),
                  "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        ca("ca", "idbridge test CA")
        ca("wrong-ca", "idbridge unrelated CA")
        csr = os.path.join(d, "server.csr")
        _run(["openssl", "req", "-new", "-newkey", "ec",
              "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
              "-subj", "/CN=127.0.0.1", "-keyout", self.key_file, "-out", csr])
        ext = os.path.join(d, "server.ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                    "basicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth\n")
        _run(["openssl", "x509", "-req", "-in", csr, "-CA", self.ca_file,
              "-CAkey", os.path.join(d, "ca.key"), "-CAcreateserial", "-days", "30",
              "-extfile", ext, "-out", self.cert_file])
        os.chmod(self.key_file, 0o600)

    def _write_conf(self):
        uid, gid = os.getuid(), os.getgid()
        lines = ["include /etc/ldap/schema/%s.schema" % s for s in SCHEMAS]
        lines += [
            "pidfile %s/slapd.pid" % self.dir,
            "argsfile %s/slapd.args" % self.dir,
            "modulepath /usr/lib/ldap",
            "moduleload back_mdb",
        ]
        if self.dynlist:
            lines.append("moduleload dynlist")
        lines += [
            "TLSCACertificateFile %s" % self.ca_file,
            "TLSCertificateFile %s" % self.cert_file,
            "TLSCertificateKeyFile %s" % self.key_file,
            # The ldapi peer (root, or whoever runs the tests) is the rootdn.
            'authz-regexp "gidNumber=%d\\\\+uidNumber=%d,cn=peercred,cn=external,cn=auth" "%s"'
            % (gid, uid, ROOT_DN),
            "database mdb",
            "suffix %s" % SUFFIX,
            "rootdn %s" % ROOT_DN,
            "directory %s" % self.db_dir,
            "maxsize 67108864",
            "dbnosync",
            "index objectClass,uid,member,memberUid,cn eq",
            # Passwords: only for binding.  Everything else: the service
            # account and the entry itself; anonymous users see nothing
            # but the root DSE, so the daemon must really bind as the
            # service account.
            "access to attrs=userPassword",
            "    by self =w",
            "    by anonymous auth",
            "    by * none",
            'access to dn.base=""',
            "    by * read",
            'access to dn.base="cn=Subschema"',
            "    by * read",
            "access to *",
            '    by dn.exact="%s" read' % SERVICE_DN,
            "    by self read",
            "    by * none",
        ]
        if self.dynlist:
            # Serves memberOf with nesting (engineering ⊂ staff).
            lines += ["overlay dynlist",
                      "dynlist-attrset groupOfURLs memberURL member+memberOf@groupOfNames*"]
        os.makedirs(self.db_dir, exist_ok=True)
        with open(self.conf_file, "w") as f:
            f.write("\n".join(lines) + "\n")

    def prepare(self):
        if self.prepared:
            return
        # A directory from an earlier run keeps its data: do not seed twice.
        self.seeded = os.path.exists(os.path.join(self.db_dir, "data.mdb"))
        os.chmod(self.dir, 0o755)
        self._make_certs()
        self._write_conf()
        fd = os.open(self.bind_password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(SERVICE_PASSWORD + "\n")
        os.chmod(self.bind_password_file, 0o600)
        self.prepared = True

    # -- process ------------------------------------------------------------
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _spawn(self):
        self.log = open(self.log_file, "ab")
        self.proc = subprocess.Popen(
            ["slapd", "-f", self.conf_file,
             "-h", "%s/ %s/ %s" % (self.ldap_uri, self.ldaps_uri, self.ldapi_uri),
             "-d", "0"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)

    def _wait_ready(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        env = dict(os.environ, LDAPCONF="/dev/null", LDAPNOINIT="1")
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            r = subprocess.run(["ldapwhoami", "-Q", "-Y", "EXTERNAL", "-H", self.ldapi_uri],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            if r.returncode == 0:
                # The TCP listener too: it is what the daemon talks to.
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return True
                except OSError:
                    pass
            time.sleep(0.02)
        return False

    def start(self):
        """Start slapd (on the same ports as before, if it ran before) and seed it once."""
        self.prepare()
        if self.running():
            return
        fixed = self.port is not None
        for _ in range(1 if fixed else 5):
            if not fixed:
                self.port = free_port()
                self.sport = free_port(exclude=(self.port,))
            if os.path.exists(self.sock):
                os.unlink(self.sock)
            self._spawn()
            if self._wait_ready():
                break
            self._kill()
        else:
            raise RuntimeError("slapd did not start; see " + self.log_file + ":\n" +
                               open(self.log_file, errors="replace").read()[-2000:])
        if not self.seeded:
            self.ldapadd(seed_ldif())
            self.seeded = True

    def _kill(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.log:
            self.log.close()
            self.log = None

    def stop(self):
        """Stop slapd; the ports, data and certificates stay for start()."""
        self._kill()

    def close(self):
        self.stop()
        if self.owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- data ---------------------------------------------------------------
    def ldapadd(self, ldif):
        env = dict(os.environ, LDAPCONF="/dev/null", LDAPNOINIT="1")
        _run(["ldapadd", "-Q", "-Y", "EXTERNAL", "-H", self.ldapi_uri],
             input=ldif.encode(), env=env)

    def ldapmodify(self, ldif):
        env = dict(os.environ, LDAPCONF="/dev/null", LDAPNOINIT="1")
        _run(["ldapmodify", "-Q", "-Y", "EXTERNAL", "-H", self.ldapi_uri],
             input=ldif.encode(), env=env)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()


def _main(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="slapdir.py",
                                 description="Run a private seeded slapd in the foreground.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    st = sub.add_parser("start", help="start slapd in DIR and stay until SIGTERM/SIGINT")
    st.add_argument("dir", nargs="?", help="directory to use (default: a new mktemp -d)")
    st.add_argument("--info", help="also write the JSON description to this file")
    st.add_argument("--rm", action="store_true", help="remove DIR on exit")
    sub.add_parser("ldif", help="print the seed LDIF")
    args = ap.parse_args(argv)
    if args.cmd == "ldif":
        sys.stdout.write(seed_ldif())
        return 0

    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    d = SlapDir(args.dir)
    if args.dir is None:
        d.owns_dir = args.rm
    elif args.rm:
        d.owns_dir = True
    try:
        d.start()
        info = d.info()
        if args.info:
            tmp = args.info + ".tmp"
            with open(tmp, "w") as f:
                json.dump(info, f)
            os.rename(tmp, args.info)
        print(d.ldap_uri)
        print(d.ldaps_uri)
        print(d.ldapi_uri)
        print(json.dumps(info), flush=True)
        while not stopping and d.running():
            time.sleep(0.2)
        rc = 0 if stopping else 1
    finally:
        d.close()
    return rc


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
