"""PAM with the real pam_unix, as root (issue 5's root tier; CI runs as root).

The test makes a throwaway Unix user and group with useradd/groupadd and
chpasswd, installs a PAM service file /etc/pam.d/idbridge-test-<random>
(removed afterwards), starts `idbridge serve` as root with [server] user
set, signs in through the real login page and gets a token whose scopes
come from the Unix group.  It checks from /proc that the HTTP process runs
as the unprivileged user and only the broker as root, and that a killed
broker worker is replaced."""

import base64
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
import uuid

import pytest

from harness import Config, poll
from oauthflow import GPT_CALLBACK, PLUGIN_SECRET, Browser, Form, add_clients, authorize_path, \
    query_of

PASSWORD = "Unix-Pw-7731 with spaces"
BROKER_LINE = re.compile(r"pam broker: supervisor pid (\d+), workers? pids? ([\d ]+)")


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture
def unix_account():
    """A Unix user in a group of its own plus a supplementary group; removed afterwards."""
    if os.geteuid() != 0:
        pytest.skip("needs root: creates a Unix user and a PAM service file")
    tag = uuid.uuid4().hex[:6]
    user, group, extra = "idbp" + tag, "idbpg" + tag, "idbpx" + tag
    service = "idbridge-test-" + tag
    pamfile = "/etc/pam.d/" + service
    try:
        run("groupadd", group)
        run("groupadd", extra)
        run("useradd", "--no-create-home", "--gid", group, "--groups", extra,
            "--shell", "/usr/sbin/nologin", "--comment", "Pam Tester,,,", user)
        subprocess.run(["chpasswd"], input="%s:%s\n" % (user, PASSWORD), text=True, check=True)
        # config/pam.d/idbridge, as an administrator would install it.
        here = os.path.dirname(os.path.abspath(__file__))
        shutil.copy(os.path.join(here, "..", "..", "config", "pam.d", "idbridge"), pamfile)
        yield {"user": user, "group": group, "extra": extra, "service": service}
    finally:
        if os.path.exists(pamfile):
            os.unlink(pamfile)
        subprocess.run(["userdel", user], check=False, stderr=subprocess.DEVNULL)
        subprocess.run(["groupdel", extra], check=False, stderr=subprocess.DEVNULL)
        subprocess.run(["groupdel", group], check=False, stderr=subprocess.DEVNULL)


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)


def uids(pid):
    return proc_status(pid)["Uid"].split()


def broker_pids(d):
    m = None
    for m in BROKER_LINE.finditer(d.output()):
        pass
    assert m, "no broker line in the log:\n" + d.output()
    return int(m.group(1)), [int(p) for p in m.group(2).split()]


def sign_in_and_token(d, user, password):
    """The login page, a code, the token response (firstparty: consent = skip)."""
    b = Browser(d.port)
    status, _, page = b.get(authorize_path("firstparty", GPT_CALLBACK,
                                             scope="read:resource directory:read ops:admin"))
    assert status == 200, page
    status, h, page = b.post("/authorize", {"username": user, "password": password,
                                            "csrf": Form(page).hidden["csrf"]})
    if status != 303:
        return status, page
    status, h, _ = b.get(h["location"])
    assert status == 303, h
    code = query_of(h["location"])["code"]
    basic = base64.b64encode(("firstparty:" + urllib.parse.quote(PLUGIN_SECRET, safe=""))
                             .encode()).decode()
    status, _, data = d.request("POST", "/token", body=urllib.parse.urlencode(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": GPT_CALLBACK}),
        headers={"Authorization": "Basic " + basic,
                 "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, data
    return status, json.loads(data)


def claims(jwt):
    seg = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))


@pytest.fixture
def pam_daemon(serve, unix_account, system_user):
    top = tempfile.mkdtemp(prefix="idb-pam.", dir="/tmp")
    os.chmod(top, 0o755)
    cfg = Config(top)
    os.chown(cfg.state_dir, system_user.pw_uid, system_user.pw_gid)
    cfg.set("server", user=system_user.pw_name, allow_root=None)
    cfg.set("auth", backend="pam")
    cfg.sections["ldap"] = None
    cfg.set("pam", service=unix_account["service"])
    cfg.sections["scopes"] = {
        "read:resource": unix_account["group"],
        "write:resource": "nosuchgroup",
        "directory:read": unix_account["extra"],
        "ops:admin": "nosuchgroup",
    }
    add_clients(cfg)
    cfg.sections["client firstparty"]["scopes"] = "read:resource directory:read ops:admin"
    conf = cfg.write()
    os.chmod(conf, 0o600)
    try:
        yield serve(conf, port_file=os.path.join(cfg.state_dir, "port"), workdir=top)
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_unix_sign_in_token_and_privileges(pam_daemon, unix_account, system_user):
    d, user = pam_daemon, unix_account["user"]
    status, tokens = sign_in_and_token(d, user, PASSWORD)
    # Scopes come from the Unix groups: primary and supplementary, nothing else.
    assert set(tokens["scope"].split()) == {"read:resource", "directory:read"}, tokens
    c = claims(tokens["access_token"])
    assert c["sub"] == str(pwd.getpwnam(user).pw_uid)
    assert set(c["groups"]) == {unix_account["group"], unix_account["extra"]}
    # Who runs as what: the HTTP process as the unprivileged user, the broker alone as root.
    u = str(system_user.pw_uid)
    assert uids(d.proc.pid) == [u, u, u, u]
    sup, workers = broker_pids(d)
    assert workers, "the broker has workers"
    for pid in [sup] + workers:
        assert uids(pid) == ["0", "0", "0", "0"], (pid, proc_status(pid)["Uid"])
        assert int(proc_status(pid)["PPid"]) in (d.proc.pid, sup)


def test_wrong_password_and_unknown_user_look_alike(pam_daemon, unix_account):
    d = pam_daemon
    st1, page1 = sign_in_and_token(d, unix_account["user"], "wrong")
    st2, page2 = sign_in_and_token(d, "idbnosuchuser", "wrong")
    assert st1 == st2 == 401, d.output()
    assert "Wrong user name or password." in page1 and "Wrong user name or password." in page2


def test_killed_worker_is_replaced(pam_daemon, unix_account):
    d = pam_daemon
    sup, workers = broker_pids(d)
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    # The supervisor replaces them; the next sign-ins succeed (a try may land
    # on a slot still being restarted: it says "try again", never hangs).
    deadline = time.time() + 20
    while True:
        start = time.time()
        status, tokens = sign_in_and_token(d, unix_account["user"], PASSWORD)
        assert time.time() - start < 15, "a sign-in after the kill must not hang"
        if status == 200:
            break
        assert status == 503, tokens
        assert time.time() < deadline, "the broker never came back"
        time.sleep(0.2)
    assert "read:resource" in tokens["scope"]
    # The killed workers were reaped by the supervisor, which lives on.
    for pid in workers:
        assert poll(lambda: not os.path.exists("/proc/%d" % pid) or None, timeout=10), pid
    assert os.path.exists("/proc/%d" % sup)


def test_sigterm_leaves_no_broker(pam_daemon):
    d = pam_daemon
    sup, workers = broker_pids(d)
    d.signal(signal.SIGTERM)
    assert d.wait(timeout=20) == 0
    for pid in [sup] + workers:
        assert poll(lambda: not os.path.exists("/proc/%d" % pid) or None, timeout=10), pid
