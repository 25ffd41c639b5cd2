"""The PAM broker with `[auth] backend = pam`, unprivileged tier: the real
libpam under pam_wrapper (pam_matrix checks passwords from a file) and
nss_wrapper (users and groups from files), preloaded into `idbridge serve`
and `idbridge login-test`.  Runs the same as root (CI): the daemon then
stays root with allow_root = yes, as harness.Config sets it.

What is checked: a sign-in through the real login page gives a token whose
scopes come from Unix groups; a wrong password and an unknown user read
the same; PAM's fail delay is waited on the HTTP side; a broker worker
killed with SIGKILL is replaced and the next sign-in works, while the
sign-in it held is answered 503 at once; SIGTERM leaves no broker process;
login-test works with PAM and leaves none either.
"""

import json
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from harness import Config, poll
from oauthflow import CHATGPT_CALLBACK, PLUGIN_SECRET, Browser, Form, add_clients, authorize_path, query_of

LIBDIR = "/usr/lib/x86_64-linux-gnu"
PAM_WRAPPER = LIBDIR + "/libpam_wrapper.so"
NSS_WRAPPER = LIBDIR + "/libnss_wrapper.so"
PAM_MATRIX = LIBDIR + "/pam_wrapper/pam_matrix.so"
PAM_FAILDELAY = LIBDIR + "/security/pam_faildelay.so"
PAM_EXEC = LIBDIR + "/security/pam_exec.so"

SERVICE = "idbridge-broker-test"
FAIL_DELAY_US = 1500000
SLOW_S = 8           # how long the "slow" user's sign-in sits in PAM

USERS = {
    # name: (password, uid, groups)
    "alice": ("alice-pam-pw-1", 2001, ["engineering", "staff"]),
    "bob": ("bob-pam-pw-2", 2002, ["support"]),
    "slow": ("slow-pam-pw-3", 2003, ["staff"]),
}
GROUP_GIDS = {"engineering": 3001, "support": 3002, "staff": 3003}
SECRETS = [u[0] for u in USERS.values()]

BROKER_LINE = re.compile(r"pam broker: supervisor pid (\d+), workers pids((?: \d+)+)")
RESTART_LINE = re.compile(r"pam broker: worker (\d+) restarted as pid (\d+)")


def _missing():
    return [p for p in (PAM_WRAPPER, NSS_WRAPPER, PAM_MATRIX, PAM_FAILDELAY, PAM_EXEC)
            if not os.path.exists(p)]


@pytest.fixture
def pam_env(tmp_path):
    """Files for pam_wrapper and nss_wrapper, and the environment that uses them."""
    missing = _missing()
    if missing:
        pytest.fail("install libpam-wrapper, libnss-wrapper, libpam-modules: missing %s"
                    % ", ".join(missing))
    d = tmp_path / "pam"
    svc = d / "services"
    svc.mkdir(parents=True)
    passdb = d / "passdb"
    passdb.write_text("".join("%s:%s:%s\n" % (n, u[0], SERVICE) for n, u in USERS.items()))
    # pam_exec keeps the "slow" user in PAM for SLOW_S seconds: a sign-in in flight.
    slow = d / "slow.sh"
    slow.write_text("#!/bin/sh\n[ \"$PAM_USER\" = slow ] && sleep %d\nexit 0\n" % SLOW_S)
    slow.chmod(0o755)
    (svc / SERVICE).write_text(
        "auth optional %s delay=%d\n" % (PAM_FAILDELAY, FAIL_DELAY_US) +
        "auth optional %s quiet %s\n" % (PAM_EXEC, slow) +
        "auth required %s passdb=%s\n" % (PAM_MATRIX, passdb) +
        "account required %s passdb=%s\n" % (PAM_MATRIX, passdb))
    passwd = d / "passwd"
    passwd.write_text("".join("%s:x:%d:%d:%s Example,,,:/nonexistent:/bin/false\n"
                              % (n, u[1], u[1], n.capitalize()) for n, u in USERS.items()))
    group = d / "group"
    lines = ["%s:x:%d:\n" % (n, u[1]) for n, u in USERS.items()]
    for g, gid in GROUP_GIDS.items():
        members = [n for n, u in USERS.items() if g in u[2]]
        lines.append("%s:x:%d:%s\n" % (g, gid, ",".join(members)))
    group.write_text("".join(lines))
    env = dict(os.environ)
    env.update({
        "LD_PRELOAD": "%s:%s" % (PAM_WRAPPER, NSS_WRAPPER),
        "PAM_WRAPPER": "1",
        "PAM_WRAPPER_SERVICE_DIR": str(svc),
        "NSS_WRAPPER_PASSWD": str(passwd),
        "NSS_WRAPPER_GROUP": str(group),
        # An ASan build wants to be first in the link order, and refuses the
        # RTLD_DEEPBIND the wrappers dlopen libpam and libc with (Debian's
        # pam_wrapper 1.1.4 reads the UID_WRAPPER_ name for it).
        "ASAN_OPTIONS": ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"),
                                               "verify_asan_link_order=0"])),
        "UID_WRAPPER_DISABLE_DEEPBIND": "1",
        "PAM_WRAPPER_DISABLE_DEEPBIND": "1",
        "NSS_WRAPPER_DISABLE_DEEPBIND": "1",
    })
    return env


def pam_config(tmp_path, workers=None):
    cfg = add_clients(Config(tmp_path))
    cfg.sections["ldap"] = None
    cfg.set("auth", backend="pam")
    cfg.set("pam", service=SERVICE, workers=workers)
    return cfg.write()


def broker_pids(daemon):
    m = poll(lambda: BROKER_LINE.search(daemon.output()), timeout=5)
    assert m, daemon.output()
    return int(m.group(1)), [int(p) for p in m.group(2).split()]


def alive(pid):
    """A process that exists and is not a zombie."""
    try:
        with open("/proc/%d/status" % pid) as f:
            return "\nState:\tZ" not in f.read()
    except FileNotFoundError:
        return False


def sign_in(daemon, user, password, path=None):
    """(status, headers, page) of the login POST, and the browser."""
    b = Browser(daemon.port)
    _, _, page = b.get(path or authorize_path("chatgpt", CHATGPT_CALLBACK, scope=""))
    status, h, page = b.post("/authorize", {"username": user, "password": password,
                                            "csrf": Form(page).hidden["csrf"]})
    return status, h, page, b


def assert_clean(text):
    for s in SECRETS:
        assert s not in text, "a password appeared in the output"


def token_for(daemon, user):
    status, h, page, b = sign_in(daemon, user, USERS[user][0])
    assert status == 303, page
    status, h, page = b.get(h["location"])
    assert status == 200, page
    status, h, _ = b.post("/authorize", {"decision": "allow", "csrf": Form(page).hidden["csrf"]})
    assert status == 303, h
    code = query_of(h["location"])["code"]
    status, _, data = daemon.request("POST", "/token", body=json.dumps({
        "grant_type": "authorization_code", "client_id": "chatgpt",
        "client_secret": PLUGIN_SECRET, "code": code, "redirect_uri": CHATGPT_CALLBACK}),
        headers={"Content-Type": "application/json"})
    assert status == 200, data
    return json.loads(data)


def test_sign_in_scopes_from_unix_groups(tmp_path, pam_env, serve):
    d = serve(pam_config(tmp_path), env=pam_env)
    # engineering grants read and write, support only read ([scopes] in harness.Config).
    assert token_for(d, "alice")["scope"] == "read:resource write:resource"
    assert token_for(d, "bob")["scope"] == "read:resource"
    status, _, body = d.get_json("/healthz")
    assert status == 200, body
    assert_clean(d.output())


def test_wrong_password_and_unknown_user_read_the_same(tmp_path, pam_env, serve):
    # One worker: the sign-ins below all go through it.
    d = serve(pam_config(tmp_path, workers=1), env=pam_env)
    answers = []
    for user, password in (("alice", "not-her-password"), ("nobody", "whatever-1")):
        t = time.monotonic()
        status, _, page, _ = sign_in(d, user, password)
        elapsed = time.monotonic() - t
        answers.append((status, "Wrong user name or password." in page))
        # pam_faildelay asked 1.5 s (PAM randomises it by up to a quarter): the
        # failure waited that, beyond the HTTP side's own 0.8 s minimum.
        assert elapsed >= 1.05, (user, elapsed)
    assert answers == [(401, True), (401, True)]

    # The wait is the HTTP side's timer, not a sleep in the worker: while a
    # failure waits, the one worker already serves the next sign-in.
    failed = {}

    def wrong():
        t = time.monotonic()
        failed["status"], _, _, _ = sign_in(d, "alice", "not-her-password-2")
        failed["elapsed"] = time.monotonic() - t

    th = threading.Thread(target=wrong)
    th.start()
    time.sleep(0.3)
    t = time.monotonic()
    status, _, page, _ = sign_in(d, "bob", USERS["bob"][0])
    quick = time.monotonic() - t
    th.join(timeout=10)
    assert status == 303, page
    assert quick < 0.8, quick
    assert failed == {"status": 401, "elapsed": failed["elapsed"]}
    assert failed["elapsed"] >= 1.05


def test_killed_worker_is_replaced(tmp_path, pam_env, serve):
    d = serve(pam_config(tmp_path, workers=1), env=pam_env)
    supervisor, workers = broker_pids(d)
    assert len(workers) == 1 and alive(supervisor) and alive(workers[0])
    # A sign-in held in PAM (pam_exec sleeps for "slow") when its worker dies.
    result = {}

    def slow_sign_in():
        t = time.monotonic()
        result["status"], _, result["page"], _ = sign_in(d, "slow", USERS["slow"][0])
        result["elapsed"] = time.monotonic() - t

    th = threading.Thread(target=slow_sign_in)
    th.start()
    time.sleep(1.0)
    os.kill(workers[0], signal.SIGKILL)
    th.join(timeout=SLOW_S + 10)
    assert not th.is_alive(), "the sign-in hung"
    assert result["status"] == 503, result.get("page")
    assert "try again later" in result["page"]
    assert result["elapsed"] < SLOW_S, "answered only when PAM finished"
    # The replacement takes the next sign-in.
    m = poll(lambda: RESTART_LINE.search(d.output()), timeout=5)
    assert m, d.output()
    new = int(m.group(2))
    assert new != workers[0] and alive(new)

    def works():
        status, _, _, _ = sign_in(d, "alice", USERS["alice"][0])
        return status == 303
    assert poll(works, timeout=10, interval=0.3)
    status, _, body = d.get_json("/healthz")
    assert status == 200, body
    assert_clean(d.output())


def test_sigterm_leaves_no_broker_process(tmp_path, pam_env, serve):
    d = serve(pam_config(tmp_path, workers=3), env=pam_env)
    supervisor, workers = broker_pids(d)
    assert len(workers) == 3
    assert all(alive(p) for p in [supervisor] + workers)
    status, _, _, _ = sign_in(d, "bob", USERS["bob"][0])
    assert status == 303
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    for p in [supervisor] + workers:
        assert poll(lambda: not alive(p), timeout=5), "pid %d is still running" % p


def login_test(idbridge_bin, conf, env, user, password):
    return subprocess.run([idbridge_bin, "login-test", "-c", conf, user],
                          input=(password + "\n").encode(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, timeout=60)


def test_login_test_with_pam(tmp_path, pam_env, idbridge_bin):
    conf = pam_config(tmp_path)
    p = login_test(idbridge_bin, conf, pam_env, "alice", USERS["alice"][0])
    out, err = p.stdout.decode(), p.stderr.decode()
    assert p.returncode == 0, err
    assert "user: alice\n" in out and "id: 2001\n" in out
    assert re.search(r"^groups:.* engineering", out, re.M), out
    assert re.search(r"^scopes: .*write:resource", out, re.M), out
    assert_clean(out + err)
    m = BROKER_LINE.search(err)
    assert m, err
    for pid in [int(m.group(1))] + [int(x) for x in m.group(2).split()]:
        assert poll(lambda: not alive(pid), timeout=5), "pid %d outlived login-test" % pid

    for user in ("alice", "nobody"):
        p = login_test(idbridge_bin, conf, pam_env, user, "wrong-password-9")
        assert p.returncode == 1
        assert "login-test: authentication failed: wrong user name or password" in \
            p.stderr.decode()


def keys_issue(idbridge_bin, conf, env, user, scopes):
    return subprocess.run([idbridge_bin, "keys", "-c", conf, "issue", user, "ci", "--scopes",
                           scopes], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                          timeout=60)


def user_http_config(tmp_path, extra=""):
    conf = pam_config(tmp_path)
    with open(conf, "a") as f:
        f.write("\n[plugin tools]\nauth = user_http\n" + extra)
    return conf


def test_api_key_with_pam(tmp_path, pam_env, serve, idbridge_bin):
    """`keys issue` looks the user up through a broker of its own; /verify
    then asks the daemon's broker for the owner's groups (the account request)."""
    conf = user_http_config(tmp_path)
    d = serve(conf, env=pam_env)
    p = keys_issue(idbridge_bin, conf, pam_env, "bob", "read:resource")
    assert p.returncode == 0, p.stderr.decode()
    key = p.stdout.decode().strip()
    # A scope bob's Unix groups do not allow is refused at issue time.
    p2 = keys_issue(idbridge_bin, conf, pam_env, "bob", "write:resource")
    assert p2.returncode == 1 and "write:resource" in p2.stderr.decode()
    status, h, _ = d.request("GET", "/verify?plugin=tools",
                             headers={"Authorization": "Bearer " + key})
    assert status == 200 and h["x-idbridge-user"] == "bob"
    assert h["x-idbridge-groups"] == "support"
    # Every broker the CLI started is gone.
    m = BROKER_LINE.search(p.stderr.decode())
    assert m, p.stderr.decode()
    for pid in [int(m.group(1))] + [int(x) for x in m.group(2).split()]:
        assert poll(lambda: not alive(pid), timeout=5), "pid %d outlived keys issue" % pid


def test_key_refused_when_pam_account_refuses(tmp_path, pam_env, serve, idbridge_bin):
    """The account request (pam_acct_mgmt alone) lets an API key see an account
    the PAM stack now refuses, as disabled_filter does for LDAP."""
    conf = user_http_config(tmp_path, "[tokens]\ndirectory_cache_ttl = 0\n")
    d = serve(conf, env=pam_env)
    p = keys_issue(idbridge_bin, conf, pam_env, "bob", "read:resource")
    assert p.returncode == 0, p.stderr.decode()
    key = p.stdout.decode().strip()

    def verify():
        return d.request("GET", "/verify?plugin=tools",
                         headers={"Authorization": "Bearer " + key})[0]
    assert verify() == 200
    # pam_matrix's account step now refuses bob (gone from its passdb, which
    # it reads on every call); NSS still knows him.
    passdb = os.path.join(os.path.dirname(pam_env["PAM_WRAPPER_SERVICE_DIR"]), "passdb")
    with open(passdb) as f:
        lines = [l for l in f if not l.startswith("bob:")]
    with open(passdb, "w") as f:
        f.writelines(lines)
    assert poll(lambda: verify() == 401 or None, timeout=5), "the key still works"
