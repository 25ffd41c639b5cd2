"""backends/pam.c through the real libpam, unprivileged and as root alike.

pam_wrapper makes libpam read this test's service files, pam_matrix checks
passwords from a passdb file, nss_wrapper serves passwd and group files, and
tests/unit/pam_try makes one call of backends/pam.h and prints its result as
JSON.  tests/unit/pam_talk is our own test module: one conversation call
with the messages its arguments describe.  Every sign-in also asserts that
the password never reached the log (pam_try logs at debug level).
"""

import glob
import json
import os
import stat
import subprocess

import pytest

SERVICE = "idbridge"
GOOD = b"correct horse"
# Any byte but NUL (and, for pam_matrix's passdb, ':' and newline).
ODD = b"\x01\x7f\xff\xfe \t\"'\\%s\xc3\xa4\x1b[0m"
ALICE_UID = 1500
RHOST = "192.0.2.7"


def _find(pattern, what):
    hits = sorted(glob.glob(pattern))
    if not hits:
        pytest.fail("%s not found (%s): install Debian's libpam-wrapper, libnss-wrapper "
                    "and libpam-modules (tools/check does, as root)" % (what, pattern))
    return hits[0]


@pytest.fixture(scope="module")
def libs():
    return {
        "pam_wrapper": _find("/usr/lib/*/libpam_wrapper.so", "libpam_wrapper.so"),
        "nss_wrapper": _find("/usr/lib/*/libnss_wrapper.so", "libnss_wrapper.so"),
        "matrix": _find("/usr/lib/*/pam_wrapper/pam_matrix.so", "pam_matrix.so"),
        "chatty": _find("/usr/lib/*/pam_wrapper/pam_chatty.so", "pam_chatty.so"),
        "set_items": _find("/usr/lib/*/pam_wrapper/pam_set_items.so", "pam_set_items.so"),
        "security": os.path.dirname(_find("/usr/lib/*/security/pam_deny.so", "pam_deny.so")),
    }


@pytest.fixture(scope="module")
def tools(idbridge_bin):
    d = os.path.join(os.path.dirname(idbridge_bin), "tests", "unit")
    out = {}
    for name in ("pam_try", "pam_talk"):
        out[name] = os.path.join(d, name)
        if not os.path.isfile(out[name]):
            pytest.fail("%s is missing: build it with `make tests/unit/%s` (make check)"
                        % (out[name], name))
    return out


class PamWorld:
    """A private PAM configuration, password file and NSS users in one directory."""

    def __init__(self, root, libs, tools):
        self.root = root
        self.libs = libs
        self.tools = tools
        self.svc = root / "pam.d"
        self.svc.mkdir()
        self.passdb = root / "passdb"
        self.passdb.write_bytes(b"alice:" + GOOD + b":idbridge\n"
                                b"carol:" + GOOD + b":another-service\n"
                                b"dave:" + ODD + b":idbridge\n"
                                b"eve:" + GOOD + b":idbridge\n")
        # eve is known to PAM (passdb) but not to NSS; bob to NSS only.
        (root / "passwd").write_text(
            "alice:x:%d:1500:Alice Liddell,Room 1,,:/home/alice:/bin/sh\n" % ALICE_UID +
            "bob:x:1501:1500::/home/bob:/bin/sh\n"
            "carol:x:1502:1999:Carol:/home/carol:/bin/sh\n"
            "dave:x:1503:1500:Dave:/home/dave:/bin/sh\n")
        # carol's primary gid 1999 has no group entry: it is skipped.
        (root / "group").write_text(
            "staff:x:1500:\n"
            "engineering:x:1600:alice,dave\n"
            "support:x:1601:bob,alice,carol\n"
            "empty:x:1602:\n")
        self.service(["auth required %s" % self.matrix(), "account required %s" % self.matrix()])

    def matrix(self, *opts):
        return " ".join([self.libs["matrix"], "passdb=%s" % self.passdb] + list(opts))

    def mod(self, name, *args):
        return " ".join([os.path.join(self.libs["security"], name)] + list(args))

    def service(self, lines):
        """The idbridge service's stack; a refusing 'other' keeps libpam from warning."""
        (self.svc / SERVICE).write_text("\n".join(lines) + "\n")
        (self.svc / "other").write_text("auth required %s\naccount required %s\n"
                                        % (self.mod("pam_deny.so"), self.mod("pam_deny.so")))

    def env(self, leaks=True, extra=None):
        env = dict(os.environ)
        asan = env.get("ASAN_OPTIONS", "")
        asan += (":" if asan else "") + "verify_asan_link_order=0"
        if not leaks:
            asan += ":detect_leaks=0"
        env.update({
            "ASAN_OPTIONS": asan,
            "LD_PRELOAD": "%s:%s" % (self.libs["pam_wrapper"], self.libs["nss_wrapper"]),
            "PAM_WRAPPER": "1",
            "PAM_WRAPPER_SERVICE_DIR": str(self.svc),
            "NSS_WRAPPER_PASSWD": str(self.root / "passwd"),
            "NSS_WRAPPER_GROUP": str(self.root / "group"),
            # libasan refuses RTLD_DEEPBIND; Debian's pam_wrapper 1.1.4 reads
            # the UID_ name (an upstream slip), newer ones the PAM_ name.
            "PAM_WRAPPER_DISABLE_DEEPBIND": "1",
            "UID_WRAPPER_DISABLE_DEEPBIND": "1",
            "NSS_WRAPPER_DISABLE_DEEPBIND": "1",
        })
        env.update(extra or {})
        return env

    def run(self, *args, password=None, leaks=True, env=None):
        p = subprocess.run([self.tools["pam_try"]] + list(args), input=password or b"",
                           capture_output=True, timeout=60, env=self.env(leaks, env))
        assert p.returncode == 0, (p.returncode, p.stderr.decode(errors="replace"))
        if password:
            assert password not in p.stderr, "the password reached the log"
            assert password not in p.stdout
        out = json.loads(p.stdout)
        out["log"] = p.stderr.decode(errors="replace")
        return out

    def sign_in(self, user, password, rhost=RHOST, **kw):
        return self.run("sign-in", SERVICE, user, rhost, password=password, **kw)

    def account(self, user, rhost=RHOST, **kw):
        return self.run("account", SERVICE, user, rhost, **kw)

    def identity(self, user):
        return self.run("identity", user)


@pytest.fixture
def pam(tmp_path, libs, tools):
    return PamWorld(tmp_path, libs, tools)


def test_good_password_gives_the_nss_identity(pam):
    r = pam.sign_in("alice", GOOD)
    assert r["result"] == "ok", r["log"]
    assert r["fail_delay_us"] == 0
    ident = r["identity"]
    assert ident["username"] == "alice"
    assert ident["id"] == str(ALICE_UID)
    assert ident["display_name"] == "Alice Liddell"
    assert ident["dn"] is None
    # The primary group first (getgrouplist), then the supplementary ones.
    assert ident["groups"][0] == "staff"
    assert sorted(ident["groups"]) == ["engineering", "staff", "support"]


def test_wrong_password_is_bad_credentials(pam):
    for pw in (b"wrong", GOOD + b"!", GOOD[:-1]):
        r = pam.sign_in("alice", pw)
        assert r["result"] == "bad_credentials", (pw, r)
        assert r["identity"] is None


@pytest.mark.parametrize("stack, user, expected", [
    # pam_matrix says PAM_AUTH_ERR for a name it does not know …
    ("matrix", "nobody", "bad_credentials"),
    # … a module that says PAM_USER_UNKNOWN gives UNKNOWN_USER (shown the same by the HTTP side).
    ("user_unknown", "nobody", "unknown_user"),
])
def test_unknown_user(pam, stack, user, expected):
    if stack == "user_unknown":
        pam.service(["auth required %s" % pam.mod("pam_debug.so", "auth=user_unknown")])
    r = pam.sign_in(user, GOOD)
    assert r["result"] == expected, r


def test_account_refused_only_after_the_right_password(pam):
    pam.service(["auth required %s" % pam.matrix(),
                 "account required %s" % pam.mod("pam_deny.so")])
    assert pam.sign_in("alice", GOOD)["result"] == "disabled"
    # Account state is never told to someone without the password.
    assert pam.sign_in("alice", b"wrong")["result"] == "bad_credentials"


def test_account_of_another_service_is_disabled(pam):
    # carol's passdb line allows only "another-service": pam_matrix's account step refuses.
    assert pam.sign_in("carol", GOOD)["result"] == "disabled"
    assert pam.sign_in("carol", b"wrong")["result"] == "bad_credentials"


@pytest.mark.parametrize("acct, expected", [
    ("success", "ok"),
    ("new_authtok_reqd", "expired"),
    ("acct_expired", "disabled"),
    ("perm_denied", "disabled"),
    ("auth_err", "disabled"),
    ("authtok_expired", "disabled"),
    ("authinfo_unavail", "unavailable"),
    ("user_unknown", "unknown_user"),
    ("system_err", "internal"),
])
def test_account_codes(pam, acct, expected):
    pam.service(["auth required %s" % pam.matrix(),
                 "account required %s" % pam.mod("pam_debug.so", "acct=" + acct)])
    r = pam.sign_in("alice", GOOD)
    assert r["result"] == expected, r
    assert (r["identity"] is not None) == (expected == "ok")
    # The account request alone maps the same codes.
    assert pam.account("alice")["result"] == expected


@pytest.mark.parametrize("auth, expected", [
    ("maxtries", "bad_credentials"),
    ("authinfo_unavail", "unavailable"),
    ("cred_insufficient", "internal"),
    ("system_err", "internal"),
])
def test_authenticate_codes(pam, auth, expected):
    pam.service(["auth required %s" % pam.mod("pam_debug.so", "auth=" + auth),
                 "account required %s" % pam.matrix()])
    assert pam.sign_in("alice", GOOD)["result"] == expected


def test_odd_password_bytes(pam):
    r = pam.sign_in("dave", ODD)
    assert r["result"] == "ok", r["log"]
    assert r["identity"]["username"] == "dave"
    assert pam.sign_in("dave", ODD[:-1] + b"n")["result"] == "bad_credentials"
    # PAM takes a C string: what follows a NUL must not be dropped into a match.
    assert pam.sign_in("dave", ODD + b"\x00tail")["result"] == "bad_credentials"


def test_passwords_refused_before_pam(pam):
    # A stack that accepts any password: only our own checks can refuse these.
    pam.service(["auth required %s" % pam.mod("pam_debug.so", "auth=success"),
                 "account required %s" % pam.mod("pam_permit.so")])
    assert pam.sign_in("alice", b"x" * 1024)["result"] == "ok"
    assert pam.sign_in("alice", b"x" * 1025)["result"] == "bad_credentials"
    assert pam.sign_in("alice", b"x\x00")["result"] == "bad_credentials"
    assert pam.sign_in("alice", b"")["result"] == "bad_credentials"
    assert pam.sign_in("al\nice", b"x")["result"] == "unknown_user"


def test_pam_accepts_a_user_nss_does_not_know(pam):
    # eve is in the passdb only: the password is right, the system is misconfigured.
    r = pam.sign_in("eve", GOOD)
    assert r["result"] == "internal"
    assert "NSS does not know" in r["log"]


def test_conversation_refuses_an_echo_on_prompt(pam):
    pam.service(["auth required %s" % pam.matrix("echo"),
                 "account required %s" % pam.matrix()])
    r = pam.sign_in("alice", GOOD)
    assert r["result"] == "internal"
    assert "refused an echo-on prompt" in r["log"]


def test_conversation_refuses_a_second_password_prompt(pam):
    # Two modules that both ask (no use_first_pass): the second asks for nobody.
    pam.service(["auth required %s" % pam.matrix(), "auth required %s" % pam.matrix(),
                 "account required %s" % pam.matrix()])
    r = pam.sign_in("alice", GOOD)
    assert r["result"] == "internal"
    assert "refused a second password prompt" in r["log"]


def test_conversation_ignores_info_and_error_messages(pam):
    pam.service(["auth required %s num_lines=4 info error" % pam.libs["chatty"],
                 "auth required %s" % pam.matrix("verbose"),
                 "account required %s" % pam.matrix("verbose")])
    # pam_chatty 1.1.4 never frees the reply arrays it is given: its leak, not ours.
    r = pam.sign_in("alice", GOOD, leaks=False)
    assert r["result"] == "ok", r["log"]
    assert r["log"].count('a module says (info) "Authentication succeeded"') >= 4
    assert 'a module says (error) "Authentication generated an error"' in r["log"]
    assert pam.sign_in("alice", b"wrong", leaks=False)["result"] == "bad_credentials"


@pytest.mark.parametrize("args, expected, why", [
    ("count=32 style=info", "ok", None),
    ("count=33 style=info", "internal", "33 messages in one call"),
    ("count=4 style=error len=512", "ok", None),
    ("count=1 style=error len=513", "internal", "an over-long message"),
    ("count=1 style=echo_on", "internal", "an echo-on prompt"),
    ("count=1 style=binary", "internal", "a message of an unknown style"),
    # Two password prompts in one call: the first reply is wiped, none is given.
    ("count=2 style=echo_off", "internal", "a second password prompt"),
    # Messages without a response pointer are fine; a prompt without one is not.
    ("count=2 style=info noreply", "ok", None),
    ("count=1 style=echo_off noreply", "internal", "nowhere to put the answer"),
])
def test_conversation_limits(pam, args, expected, why):
    # After pam_talk's echo-off prompts nothing else may ask: pam_permit, not pam_matrix.
    checker = pam.mod("pam_permit.so") if "echo_off" in args else pam.matrix()
    pam.service(["auth required %s %s" % (pam.tools["pam_talk"], args),
                 "auth required %s" % checker, "account required %s" % pam.matrix()])
    r = pam.sign_in("alice", GOOD)
    assert r["result"] == expected, r["log"]
    if why:
        assert why in r["log"]


def test_account_request_answers_no_password_prompt(pam):
    # The account request has no password: a prompt in the account stack is refused.
    talk = pam.tools["pam_talk"]
    pam.service(["account required %s count=1 style=info" % talk])
    assert pam.account("alice")["result"] == "ok"
    pam.service(["account required %s count=1 style=echo_off" % talk])
    r = pam.account("alice")
    assert r["result"] == "internal"
    assert "a password prompt in a request without a password" in r["log"]


@pytest.mark.parametrize("user, expected", [
    ("alice", "ok"),
    ("carol", "disabled"),      # pam_matrix: not allowed for this service
    ("bob", "disabled"),        # in NSS; pam_matrix's account step refuses names it lacks
    ("nobody", "unknown_user"), # in neither
])
def test_account_request(pam, user, expected):
    r = pam.account(user)
    assert r["result"] == expected, r
    assert r["fail_delay_us"] == 0
    if expected == "ok":
        assert r["identity"]["id"] == str(ALICE_UID)
        assert "engineering" in r["identity"]["groups"]


def test_account_request_with_a_refusing_stack(pam):
    pam.service(["account required %s" % pam.mod("pam_deny.so")])
    assert pam.account("alice")["result"] == "disabled"
    # NSS first: a user it does not know is gone, whatever the stack says.
    assert pam.account("nobody")["result"] == "unknown_user"


def test_identity_from_nss(pam):
    r = pam.identity("carol")
    assert r["result"] == "ok"
    ident = r["identity"]
    assert ident["id"] == "1502" and ident["display_name"] == "Carol"
    # Primary gid 1999 has no group entry: skipped, the rest kept.
    assert ident["groups"] == ["support"]
    assert "group 1999 of carol has no name" in r["log"]
    r = pam.identity("bob")
    assert r["result"] == "ok" and r["identity"]["display_name"] is None
    assert pam.identity("nobody")["result"] == "unknown_user"
    assert pam.identity("eve")["result"] == "unknown_user"


def test_rhost_reaches_the_modules(pam):
    check = pam.mod("pam_succeed_if.so", "quiet", "rhost", "=", RHOST)
    pam.service(["auth required %s" % check, "auth required %s" % pam.matrix(),
                 "account required %s" % check, "account required %s" % pam.matrix()])
    assert pam.sign_in("alice", GOOD, rhost=RHOST)["result"] == "ok"
    assert pam.sign_in("alice", GOOD, rhost="192.0.2.8")["result"] == "bad_credentials"
    assert pam.account("alice", rhost=RHOST)["result"] == "ok"
    assert pam.account("alice", rhost="192.0.2.8")["result"] == "disabled"


def test_fail_delay_is_recorded_not_slept(pam):
    delay_us = 2000000
    pam.service(["auth optional %s" % pam.mod("pam_faildelay.so", "delay=%d" % delay_us),
                 "auth required %s" % pam.matrix(),
                 "account required %s" % pam.matrix()])
    r = pam.sign_in("alice", b"wrong")
    assert r["result"] == "bad_credentials"
    # libpam randomises the delay to 0.5–1.5 times what the module asked for.
    assert delay_us // 2 <= r["fail_delay_us"] <= delay_us * 3 // 2, r
    # A correctness bound, not a speed claim: had libpam slept, the call would
    # have taken at least half the delay.
    assert r["elapsed_ms"] < delay_us // 2000, r
    ok = pam.sign_in("alice", GOOD)
    assert ok["result"] == "ok" and ok["fail_delay_us"] == 0


def test_a_module_changing_pam_user_is_refused(pam):
    # pam_set_items sets PAM items from same-named environment variables.
    pam.service(["auth required %s" % pam.matrix(),
                 "auth required %s" % pam.libs["set_items"],
                 "account required %s" % pam.mod("pam_permit.so")])
    r = pam.sign_in("alice", GOOD, env={"PAM_USER": "bob"})
    assert r["result"] == "internal"
    assert "changed PAM_USER from alice to bob" in r["log"]
    assert pam.sign_in("alice", GOOD)["result"] == "ok"


def test_never_setcred_or_open_session(pam, tmp_path):
    log = tmp_path / "types.log"
    script = tmp_path / "record.sh"
    script.write_text('#!/bin/sh\necho "$PAM_TYPE" >> %s\n' % log)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    marks = tmp_path / "setcred.mark"
    rec = pam.mod("pam_exec.so", "quiet", str(script))
    pam.service(["auth optional %s" % rec,
                 "auth required %s setcred_mark=%s" % (pam.tools["pam_talk"], marks),
                 "auth required %s" % pam.matrix(),
                 "account optional %s" % rec, "account required %s" % pam.matrix(),
                 "session optional %s" % rec, "password optional %s" % rec])
    assert pam.sign_in("alice", GOOD)["result"] == "ok"
    assert log.read_text().split() == ["auth", "account"]
    assert not marks.exists()
    log.unlink()
    assert pam.sign_in("alice", b"wrong")["result"] == "bad_credentials"
    assert log.read_text().split() == ["auth"]
