"""`idbridge check-config`: "FILE: ok", or every problem as "FILE:LINE: message"."""

import os
import re
import subprocess

import pytest


def check(binary, path, *extra):
    p = subprocess.run([binary, "check-config", *extra, "-c", path] if path else
                       [binary, "check-config", *extra],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def line_of(path, needle):
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if needle in line:
                return n
    raise AssertionError("%r not in %s" % (needle, path))


def problems(stderr):
    return [l for l in stderr.splitlines() if not re.match(r"^idbridge\[\d+\]: ", l)]


def test_good_config_ok(idbridge_bin, config):
    path = config.write()
    rc, out, err = check(idbridge_bin, path)
    assert rc == 0, err
    assert out.strip() == "%s: ok" % path


def test_unknown_key(idbridge_bin, config):
    config.set("ldap", colour="blue")
    path = config.write()
    rc, out, err = check(idbridge_bin, path)
    assert rc == 1
    n = line_of(path, "colour = blue")
    assert any(l.startswith("%s:%d: " % (path, n)) and "colour" in l for l in problems(err)), err


def test_unknown_section(idbridge_bin, config):
    config.sections["frobnicate"] = {"a": "b"}
    path = config.write()
    rc, out, err = check(idbridge_bin, path)
    assert rc == 1
    n = line_of(path, "[frobnicate]")
    assert any(l.startswith("%s:%d: " % (path, n)) for l in problems(err)), err


def test_bad_number(idbridge_bin, config):
    config.set("ldap", timeout="five")
    path = config.write()
    rc, out, err = check(idbridge_bin, path)
    assert rc == 1
    n = line_of(path, "timeout = five")
    assert any(l.startswith("%s:%d: " % (path, n)) for l in problems(err)), err


def test_line_too_long(idbridge_bin, config):
    config.set("ldap", user_filter="(&(objectClass=inetOrgPerson)(uid=%u)" +
               "(description=" + "x" * 200 + "))")
    path = config.write()
    rc, out, err = check(idbridge_bin, path)
    assert rc == 1
    n = line_of(path, "user_filter = ")
    assert any(l.startswith("%s:%d: " % (path, n)) for l in problems(err)), err
    # The split-off tail must not be reported as a line of its own.
    assert not any(l.startswith("%s:%d: " % (path, n + 1)) for l in problems(err)), err


def test_missing_issuer(idbridge_bin, config):
    config.set("server", issuer=None)
    path = config.write()
    rc, out, err = check(idbridge_bin, path)
    assert rc == 1
    assert any(re.match(r"^%s:\d+: .*issuer" % re.escape(path), l)
               for l in problems(err)), err


def test_several_problems_all_reported(idbridge_bin, config):
    config.set("ldap", colour="blue", timeout="five")
    path = config.write()
    rc, out, err = check(idbridge_bin, path)
    assert rc == 1
    lines = problems(err)
    for needle in ("colour = blue", "timeout = five"):
        n = line_of(path, needle)
        assert any(l.startswith("%s:%d: " % (path, n)) for l in lines), err


def test_world_readable_secret_is_a_warning(idbridge_bin, config, tmp_path, slapd):
    secret = tmp_path / "ldap.secret"
    secret.write_text(open(slapd.bind_password_file).read())
    os.chmod(secret, 0o644)
    config.set("ldap", bind_password_file=str(secret))
    path = config.write()
    rc, out, err = check(idbridge_bin, path)
    assert rc == 0, err
    n = line_of(path, "bind_password_file")
    assert any(l.startswith("%s:%d: warning: " % (path, n)) for l in problems(err)), err


def test_missing_file(idbridge_bin, tmp_path):
    path = str(tmp_path / "nope.conf")
    rc, out, err = check(idbridge_bin, path)
    assert rc == 1
    assert path in err


@pytest.mark.parametrize("args", [["--bogus-option"], ["-c"]], ids=["bad-option", "c-no-arg"])
def test_usage_error_exit_2(idbridge_bin, args):
    p = subprocess.run([idbridge_bin, "check-config", *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 2, p


def test_extra_operand_is_usage_error(idbridge_bin, config):
    p = subprocess.run([idbridge_bin, "check-config", "-c", config.write(), "extra"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 2, p


def test_login_test_usage_error(idbridge_bin, config):
    p = subprocess.run([idbridge_bin, "login-test", "-c", config.write()],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 2, p
