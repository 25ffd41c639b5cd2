"""Which groups count: same-named groups under different DNs, and groups
named in memberOf that live outside group_base (where anyone allowed to
create a group could name it after a privileged one)."""

import pytest

import slapdir
from harness import Config

U = slapdir.USERS
SUB = "ou=sub," + slapdir.GROUPS
ROGUE = "ou=rogue," + slapdir.SUFFIX


def bob():
    return "uid=bob," + slapdir.PEOPLE


@pytest.fixture
def directory(own_slapd):
    own_slapd.ldapadd("\n".join([
        "dn: %s\nobjectClass: organizationalUnit\nou: sub\n" % SUB,
        "dn: cn=support,%s\nobjectClass: groupOfNames\ncn: support\nmember: %s\n" % (SUB, bob()),
        "dn: %s\nobjectClass: organizationalUnit\nou: rogue\n" % ROGUE,
        # Named like the group that grants write:resource, but outside group_base.
        "dn: cn=engineering,%s\nobjectClass: groupOfNames\ncn: engineering\nmember: %s\n"
        % (ROGUE, bob()),
    ]))
    return own_slapd


def test_same_name_under_two_dns_both_count(tmp_path, directory, login_test):
    cfg = Config(tmp_path, directory)
    cfg.sections["scopes"] = {
        "top:scope": "cn=support," + slapdir.GROUPS,
        "sub:scope": "cn=support," + SUB,
    }
    r = login_test(cfg.write(), "bob", U["bob"]["password"])
    assert r.rc == 0, r
    assert r.fields["scopes"].split() == ["top:scope", "sub:scope"]


@pytest.mark.parametrize("mode", ["filter", "memberOf"])
def test_group_outside_group_base_grants_nothing(tmp_path, directory, login_test, mode):
    cfg = Config(tmp_path, directory)
    if mode == "memberOf":
        cfg.set("ldap", group_filter=None, group_attribute="memberOf")
    r = login_test(cfg.write(), "bob", U["bob"]["password"])
    assert r.rc == 0, r
    assert "engineering" not in r.fields["groups"].split(), r
    assert "write:resource" not in r.fields["scopes"].split(), r
    # bob's real group still counts.
    assert "support" in r.fields["groups"].split(), r
