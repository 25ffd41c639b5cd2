"""Per-employee API keys (issue 4, user_http): `idbridge keys` and /verify.

The directory is the test's own slapd (it is modified), and
[tokens] directory_cache_ttl = 0, so every /verify asks it again."""

import re
import subprocess
import urllib.parse
import zlib

import pytest

import slapdir
from harness import Config

KEY_RE = re.compile(r"^idb_[0-9A-Za-z]{49}$")
ALICE = "uid=alice," + slapdir.PEOPLE


@pytest.fixture
def cfg(tmp_path, own_slapd):
    c = Config(tmp_path, own_slapd)
    c.set("tokens", directory_cache_ttl="0")
    c.slapd = own_slapd
    c.write()
    return c


def keys(idbridge_bin, cfg, *args):
    p = subprocess.run([idbridge_bin, "keys", "-c", cfg.path, *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def issue(idbridge_bin, cfg, user="alice", name="laptop", scopes="read:resource write:resource"):
    rc, out, err = keys(idbridge_bin, cfg, "issue", user, name, "--scopes", scopes)
    assert rc == 0, err
    key = out.strip()
    assert KEY_RE.match(key), out
    kid = re.search(r"issued key (\d+)", err).group(1)
    assert re.search(r'audit: event=apikey_issue user="%s" key_id=%s outcome=ok' % (user, kid),
                     err), err
    assert key not in err
    return key, kid


B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def well_formed(head):
    """head ("idb_" + 43 base62 digits) with its CRC-32 checksum appended."""
    n, digits = zlib.crc32(head.encode()), ""
    for _ in range(6):
        n, r = divmod(n, 62)
        digits = B62[r] + digits
    return head + digits


def verify(daemon, key, scope=None):
    path = "/verify" + ("?" + urllib.parse.urlencode({"scope": scope}) if scope else "")
    return daemon.request("GET", path, headers={"Authorization": "Bearer " + key})


def test_cli_issue_list_revoke(idbridge_bin, cfg):
    key, kid = issue(idbridge_bin, cfg)
    # The key is printed once; list never shows it, only its lookup prefix.
    rc, out, err = keys(idbridge_bin, cfg, "list", "alice")
    assert rc == 0, err
    assert key not in out
    row = [l for l in out.splitlines() if l.split()[0] == kid]
    assert len(row) == 1, out
    assert "idb_" + key[4:12] in row[0] and "laptop" in row[0]
    assert row[0].rstrip().endswith("read:resource write:resource")
    rc, out, _ = keys(idbridge_bin, cfg, "list", "bob")
    assert rc == 0 and kid not in [l.split()[0] for l in out.splitlines()[1:]]
    rc, out, _ = keys(idbridge_bin, cfg, "list")
    assert rc == 0 and len(out.splitlines()) == 2
    # A second key is a different key.
    key2, kid2 = issue(idbridge_bin, cfg, name="ci")
    assert key2 != key and kid2 != kid
    rc, out, err = keys(idbridge_bin, cfg, "revoke", kid)
    assert rc == 0, err
    assert re.search(r"audit: event=apikey_revoke user=\S+ key_id=%s outcome=ok" % kid, err), err
    rc, out, _ = keys(idbridge_bin, cfg, "list", "alice")
    row = [l for l in out.splitlines() if l.split()[0] == kid][0]
    assert re.search(r"\d{4}-\d\d-\d\dT", row.split()[6]), row   # REVOKED column set
    # Revoking twice, or an unknown id, fails.
    assert keys(idbridge_bin, cfg, "revoke", kid)[0] == 1
    assert keys(idbridge_bin, cfg, "revoke", "999")[0] == 1


@pytest.mark.parametrize("args, rc", [
    (("issue", "alice", "k", "--scopes", "ops:admin"), 1),           # not alice's groups
    (("issue", "nobody", "k", "--scopes", "read:resource"), 1),      # not in the directory
    (("issue", "dave", "k", "--scopes", "read:resource"), 1),        # disabled
    (("issue", "alice", "k"), 2),                                    # no --scopes
    (("issue", "alice", "k", "--scopes", "read:resource", "--expires-days", "0"), 2),
    (("issue", "alice", "k", "--scopes", "read:resource", "--expires-days", "x"), 2),
    (("revoke", "abc"), 2),
    (("revoke",), 2),
    (("list", "--scopes", "a"), 2),
    (("frobnicate",), 2),
    (("--help",), 0),
])
def test_cli_refusals(idbridge_bin, cfg, args, rc):
    got, out, err = keys(idbridge_bin, cfg, *args)
    assert got == rc, (out, err)
    assert "idb_" not in out
    if rc == 0:
        assert "usage: idbridge keys" in out


def test_key_at_verify(idbridge_bin, cfg, serve):
    key, _ = issue(idbridge_bin, cfg, scopes="read:resource directory:read")
    d = serve(cfg.path)
    status, h, _ = verify(d, key)
    assert status == 200, h
    assert h["x-idbridge-user"] == "alice"
    assert h["x-idbridge-client"] == "apikey"
    assert h["x-idbridge-scopes"] == "read:resource,directory:read"
    assert sorted(h["x-idbridge-groups"].split(",")) == ["engineering", "staff"]
    assert verify(d, key, "directory:read read:resource")[0] == 200
    # alice's groups allow write:resource, but the key does not carry it.
    status, h, _ = verify(d, key, "write:resource")
    assert status == 403
    assert 'error="insufficient_scope"' in h["www-authenticate"]


def test_typo_and_unknown_keys_refused(idbridge_bin, cfg, serve):
    key, _ = issue(idbridge_bin, cfg)
    d = serve(cfg.path)
    assert verify(d, key)[0] == 200
    body = "ABCDEFGHabcdefgh0123456789"
    for i in (4, 20, len(key) - 1):
        typo = key[:i] + ("A" if key[i] != "A" else "B") + key[i + 1:]
        status, h, _ = verify(d, typo)
        assert status == 401, typo
        assert 'error="invalid_token"' in h["www-authenticate"]
    for bad in (key[:-1], key + "x", "idb_", "idb_" + body):
        assert verify(d, bad)[0] == 401
    # Well formed (right checksum, made here as apikey.h describes) but never issued.
    forged = well_formed("idb_" + "7" * 43)
    assert forged != key
    assert verify(d, forged)[0] == 401
    assert key not in d.output()


def test_revoked_key_refused_at_once(idbridge_bin, cfg, serve):
    key, kid = issue(idbridge_bin, cfg)
    d = serve(cfg.path)
    assert verify(d, key)[0] == 200
    assert keys(idbridge_bin, cfg, "revoke", kid)[0] == 0
    # Another process revoked it; the very next call is refused (keys are not cached).
    status, h, _ = verify(d, key)
    assert status == 401
    assert 'error="invalid_token"' in h["www-authenticate"]


def test_scope_narrows_when_owner_leaves_group(idbridge_bin, cfg, serve):
    sl = cfg.slapd
    # alice also in support, so read:resource survives leaving engineering.
    sl.ldapmodify("dn: cn=support,%s\nchangetype: modify\nadd: member\nmember: %s\n"
                  % (slapdir.GROUPS, ALICE))
    key, _ = issue(idbridge_bin, cfg)
    d = serve(cfg.path)
    status, h, _ = verify(d, key, "write:resource")
    assert status == 200 and h["x-idbridge-scopes"] == "read:resource,write:resource"
    sl.ldapmodify("dn: cn=engineering,%s\nchangetype: modify\ndelete: member\nmember: %s\n"
                  % (slapdir.GROUPS, ALICE))
    status, h, _ = verify(d, key)
    assert status == 200
    assert h["x-idbridge-scopes"] == "read:resource"
    assert h["x-idbridge-groups"] == "support"
    assert verify(d, key, "write:resource")[0] == 403


@pytest.mark.parametrize("change", ["delete", "disable"])
def test_owner_gone_or_disabled_refused(idbridge_bin, cfg, serve, change):
    key, _ = issue(idbridge_bin, cfg)
    d = serve(cfg.path)
    assert verify(d, key)[0] == 200
    if change == "delete":
        cfg.slapd.ldapmodify("dn: %s\nchangetype: delete\n" % ALICE)
    else:
        cfg.slapd.ldapmodify("dn: %s\nchangetype: modify\nreplace: employeeType\n"
                             "employeeType: disabled\n" % ALICE)
    status, h, _ = verify(d, key)
    assert status == 401
    assert 'error="invalid_token"' in h["www-authenticate"]


def test_cached_identity_serves_within_ttl(tmp_path, own_slapd, idbridge_bin, serve):
    """With the default directory_cache_ttl the owner's identity is cached: the
    synchronous path.  A group change shows only after the TTL (documented)."""
    c = Config(tmp_path, own_slapd)
    c.write()
    key, _ = issue(idbridge_bin, c)
    d = serve(c.path)
    for _ in range(3):
        status, h, _ = verify(d, key, "write:resource")
        assert status == 200 and h["x-idbridge-user"] == "alice"
    own_slapd.ldapmodify("dn: cn=engineering,%s\nchangetype: modify\ndelete: member\n"
                         "member: %s\n" % (slapdir.GROUPS, ALICE))
    # Still cached: the directory is not asked again before the TTL ends.
    assert verify(d, key, "write:resource")[0] == 200


def test_issue_before_the_first_serve_creates_state_dir(idbridge_bin, tmp_path, slapd):
    """On a fresh install the administrator may issue a key before the daemon
    ever ran: the command creates state_dir (0700) as serve would."""
    import os
    import stat
    c = Config(tmp_path, slapd)
    fresh = os.path.join(str(tmp_path), "fresh-state")
    c.set("server", state_dir=fresh)
    c.set("store", path=os.path.join(fresh, "idbridge.db"))
    c.write()
    assert not os.path.exists(fresh)
    key, _ = issue(idbridge_bin, c)
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o700
    rc, out, err = keys(idbridge_bin, c, "list")
    assert rc == 0 and key[4:12] in out, err
