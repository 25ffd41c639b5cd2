"""The command line itself: help, usage errors, exit codes and `secret`."""

import hashlib
import re
import subprocess

import pytest

COMMANDS = ["serve", "check-config", "login-test", "secret"]


def run(binary, *args, **kw):
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=30, **kw)


def test_help_lists_every_command(idbridge_bin):
    r = run(idbridge_bin, "--help")
    assert r.returncode == 0
    for c in COMMANDS:
        assert re.search(r"^\s+%s\s" % re.escape(c), r.stdout, re.M), c


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_exits_0(idbridge_bin, command):
    r = run(idbridge_bin, command, "--help")
    assert r.returncode == 0
    assert r.stdout.startswith("usage: idbridge %s" % command)


@pytest.mark.parametrize("args", [
    [], ["no-such-command"], ["check-config", "--no-such-option"],
    ["check-config", "-c"], ["login-test", "-c", "/dev/null"],
    ["login-test", "-c", "/dev/null", "a", "b"], ["secret", "extra"],
])
def test_usage_errors_exit_2(idbridge_bin, args):
    r = run(idbridge_bin, *args)
    assert r.returncode == 2, (args, r.stdout, r.stderr)
    assert "usage:" in r.stderr


def test_secret_format_and_hash(idbridge_bin):
    seen = set()
    for _ in range(3):
        r = run(idbridge_bin, "secret")
        assert r.returncode == 0
        secret, value = r.stdout.splitlines()
        assert re.fullmatch(r"[A-Za-z0-9]{64}", secret), secret
        assert value == "sha256:" + hashlib.sha256(secret.encode()).hexdigest()
        seen.add(secret)
    assert len(seen) == 3, "secrets repeat"


def test_secret_alphabet_is_used_evenly(idbridge_bin):
    # 40 secrets = 2560 characters over 62 symbols: every symbol appears
    # (the chance that a fair generator misses one is below 1e-15).
    chars = "".join(run(idbridge_bin, "secret").stdout.splitlines()[0] for _ in range(40))
    assert len(set(chars)) == 62
