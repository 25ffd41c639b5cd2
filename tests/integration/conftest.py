"""Fixtures for the integration tier: a private slapd, the idbridge binary,
`login-test` runs and a foreground `serve` daemon (helpers in harness.py).

The binary is $IDBRIDGE_BIN, else $IDBRIDGE_BUILDDIR/idbridge, else
<source tree>/idbridge.  Every process a test starts is our child and is
stopped and waited for in the fixture's teardown.
"""

import grp
import os
import pwd
import subprocess
import time
import uuid

import pytest

import slapdir
from blackhole import Blackhole
from harness import Config, Daemon, LoginResult, assert_no_secrets, idbridge_path


@pytest.fixture(scope="session")
def idbridge_bin():
    b = idbridge_path()
    if not (os.path.isfile(b) and os.access(b, os.X_OK)):
        pytest.fail("idbridge binary not found at %s: build it, or set IDBRIDGE_BIN "
                    "or IDBRIDGE_BUILDDIR" % b)
    return b


@pytest.fixture(scope="session")
def slapd():
    """One seeded slapd shared by the tests that never stop it."""
    d = slapdir.SlapDir()
    d.start()
    yield d
    d.close()


@pytest.fixture
def own_slapd():
    """A slapd of the test's own, which the test may stop and start."""
    d = slapdir.SlapDir()
    d.start()
    yield d
    d.close()


@pytest.fixture
def blackhole():
    with Blackhole() as bh:
        yield bh


@pytest.fixture
def config(tmp_path, slapd):
    return Config(tmp_path, slapd)


@pytest.fixture
def login_test(idbridge_bin):
    """run(config_path, user, password) -> LoginResult; checks that no secret leaked."""
    def run(conf, user, password, timeout=60):
        t = time.monotonic()
        p = subprocess.run([idbridge_bin, "login-test", "-c", conf, user],
                           input=password.encode() + b"\n",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        r = LoginResult(p, time.monotonic() - t)
        assert_no_secrets(r.stdout, r.stderr)
        return r
    return run


@pytest.fixture
def serve(idbridge_bin, tmp_path):
    """serve(config_path) -> a started Daemon; stopped (and waited for) at teardown."""
    started = []

    def start(conf, port_file=None, workdir=None, args=(), env=None):
        d = Daemon(idbridge_bin, conf, workdir or str(tmp_path), port_file, args, env)
        started.append(d)
        return d.start()
    yield start
    for d in started:
        d.stop()
        assert_no_secrets(d.output())


@pytest.fixture
def system_user():
    """A throwaway system user and group (root only), removed afterwards."""
    if os.geteuid() != 0:
        pytest.skip("needs root: the test creates a system user")
    name = "idbt" + uuid.uuid4().hex[:8]
    subprocess.run(["useradd", "--system", "--no-create-home", "--user-group",
                    "--shell", "/usr/sbin/nologin", name], check=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], check=False)
        try:
            grp.getgrnam(name)
            subprocess.run(["groupdel", name], check=False)
        except KeyError:
            pass
