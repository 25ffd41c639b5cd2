"""`idbridge login-test` against a real slapd: sign-in, groups, scopes,
failures that must all look alike, account state, TLS and fail-over."""

import re
import time

import pytest

import slapdir
from harness import DISABLED, GENERIC, UNAVAILABLE, Config, ldap_entry_uuid
from slowproxy import SlowProxy

U = slapdir.USERS
ALICE_DN = "uid=alice,%s" % slapdir.PEOPLE


def ok_identity(r):
    assert r.rc == 0, r
    return r.fields


def failed_with(r, message):
    assert r.rc == 1, r
    assert r.messages() == [message], r
    assert "groups:" not in r.stdout and "scopes:" not in r.stdout, r


def test_good_login_alice_nested_groups_and_scopes(config, login_test, slapd):
    r = login_test(config.write(), "alice", U["alice"]["password"])
    f = ok_identity(r)
    assert f["user"] == "alice"
    assert f["id"] == ldap_entry_uuid(slapd, "alice")
    assert f["dn"] == ALICE_DN
    assert f["name"] == "Alice Liddell"
    assert f["email"] == "alice@example.org"
    # staff only through nesting: engineering is a member of staff.
    assert sorted(f["groups"].split()) == ["engineering", "staff"]
    # Scopes come in [scopes] order.
    assert f["scopes"].split() == ["read:resource", "write:resource", "directory:read"]
    assert re.search(r'audit: event=login user="alice" outcome=ok', r.stderr), r


def test_nested_groups_off_gives_direct_groups_only(config, login_test):
    config.set("ldap", nested_groups="no")
    f = ok_identity(login_test(config.write(), "alice", U["alice"]["password"]))
    assert f["groups"].split() == ["engineering"]
    assert f["scopes"].split() == ["read:resource", "write:resource"]


def test_many_groups_nested_over_several_searches(tmp_path, own_slapd, login_test):
    # wide is a member of 40 groups: more than one nesting search takes
    # (IDB_LDAP_NEST_BATCH, 32), so the first level needs two OR-ed
    # searches (and memberOf's 81 values three batches of reads).  Each direct group sits in a parent (wide-p0..39), the even
    # parents also in wide-top, and one DN has filter metacharacters.
    g = slapdir.GROUPS
    odd = "cn=wide-(g*)39," + g
    direct = ["cn=wide-g%d,%s" % (i, g) for i in range(39)] + [odd]
    ldif = ["dn: uid=wide,%s\nobjectClass: inetOrgPerson\nuid: wide\ncn: Wide\n"
            "sn: Wide\nuserPassword: wide-pw-1\n" % slapdir.PEOPLE]
    for i, dn in enumerate(direct):
        cn = dn.split(",")[0][3:]
        ldif.append("dn: %s\nobjectClass: groupOfNames\ncn: %s\nmember: uid=wide,%s\n"
                    % (dn, cn, slapdir.PEOPLE))
        ldif.append("dn: cn=wide-p%d,%s\nobjectClass: groupOfNames\ncn: wide-p%d\n"
                    "member: %s\n" % (i, g, i, dn))
    ldif.append("dn: cn=wide-top,%s\nobjectClass: groupOfNames\ncn: wide-top\n" % g +
                "".join("member: cn=wide-p%d,%s\n" % (i, g) for i in range(0, 40, 2)))
    own_slapd.ldapadd("\n".join(ldif))
    cfg = Config(tmp_path, own_slapd)
    f = ok_identity(login_test(cfg.write(), "wide", "wide-pw-1"))
    want = {"wide-g%d" % i for i in range(39)} | {"wide-(g*)39"}
    want |= {"wide-p%d" % i for i in range(40)} | {"wide-top"}
    assert set(f["groups"].split()) == want
    assert len(f["groups"].split()) == len(want)
    # Fewer levels than the tree is deep: the deepest group is not reached.
    cfg.set("ldap", nested_depth="1")
    f = ok_identity(login_test(cfg.write(), "wide", "wide-pw-1"))
    assert set(f["groups"].split()) == want - {"wide-top"}
    # From memberOf instead (dynlist lists all 81, nesting included): three
    # batches of pipelined reads by DN, each group recorded once.
    cfg.set("ldap", group_filter=None, group_attribute="memberOf", nested_groups="no",
            nested_depth=None)
    f = ok_identity(login_test(cfg.write(), "wide", "wide-pw-1"))
    assert sorted(f["groups"].split()) == sorted(want)
    # memberOf and nesting through the groups' own memberOf: the same set.
    cfg.set("ldap", nested_groups="yes")
    f = ok_identity(login_test(cfg.write(), "wide", "wide-pw-1"))
    assert sorted(f["groups"].split()) == sorted(want)


def test_group_reads_retried_when_the_connection_drops_mid_batch(tmp_path, own_slapd,
                                                                 login_test):
    # memberOf lists 40 groups: their reads go out pipelined in two batches.
    # The connection drops as the sixth read goes out: the whole batch is
    # read again on a new connection and the sign-in loses nothing.
    g = slapdir.GROUPS
    ldif = ["dn: uid=wide,%s\nobjectClass: inetOrgPerson\nuid: wide\ncn: Wide\n"
            "sn: Wide\nuserPassword: wide-pw-1\n" % slapdir.PEOPLE]
    ldif += ["dn: cn=wide-g%d,%s\nobjectClass: groupOfNames\ncn: wide-g%d\n"
             "member: uid=wide,%s\n" % (i, g, i, slapdir.PEOPLE) for i in range(40)]
    own_slapd.ldapadd("\n".join(ldif))
    with SlowProxy("127.0.0.1", own_slapd.port) as proxy:
        cfg = Config(tmp_path, own_slapd)
        cfg.set("ldap", uri="%s %s" % (proxy.uri, own_slapd.ldap_uri), group_filter=None,
                group_attribute="memberOf", nested_groups="no")
        proxy.cut_on = ("cn=wide-g5,%s" % g).encode()
        r = login_test(cfg.write(), "wide", "wide-pw-1")
        assert proxy.cuts == 1
    f = ok_identity(r)
    assert sorted(f["groups"].split()) == sorted("wide-g%d" % i for i in range(40))
    # The drop was seen, logged against the proxy's address, and survived.
    assert re.search(r"warning .*ldap: search on ldap://127\.0\.0\.1:%d\b.*Can't contact"
                     % proxy.port, r.stderr), r.stderr


def test_groups_from_memberof_attribute(config, login_test):
    # The fixture's dynlist overlay serves memberOf, nesting included.
    config.set("ldap", group_filter=None, group_attribute="memberOf", nested_groups="no")
    f = ok_identity(login_test(config.write(), "alice", U["alice"]["password"]))
    assert sorted(f["groups"].split()) == ["engineering", "staff"]


def test_posix_group_via_memberuid(config, login_test):
    f = ok_identity(login_test(config.write(), "carol", U["carol"]["password"]))
    assert f["user"] == "carol"
    assert f["groups"].split() == ["ops"]
    assert f["scopes"].split() == ["ops:admin"]


def test_wrong_password(config, login_test):
    r = login_test(config.write(), "alice", "not-alices-password")
    failed_with(r, GENERIC)
    assert re.search(r'audit: event=login user="alice" outcome=bad_credentials addr=local',
                     r.stderr), r
    assert "not-alices-password" not in r.stderr + r.stdout


def test_unknown_user_same_message(config, login_test):
    r = login_test(config.write(), "nobody-here", U["alice"]["password"])
    failed_with(r, GENERIC)


def test_empty_password(config, login_test):
    failed_with(login_test(config.write(), "alice", ""), GENERIC)


def test_non_ascii_password_with_filter_metacharacters(config, login_test):
    f = ok_identity(login_test(config.write(), "zoe", U["zoe"]["password"]))
    assert f["user"] == "zoe"
    assert f["name"] == "Zo\u00eb Unicode"


def test_invalid_user_name_same_message(config, login_test):
    failed_with(login_test(config.write(), "alice bob", U["alice"]["password"]), GENERIC)


# Each name would, spliced unescaped into (uid=%u), select exactly the entry
# whose password is given (for "*": the only user under ou=lonely).
INJECTIONS = [
    ("*", slapdir.LONELY_USER["password"], slapdir.LONELY),
    ("x)(uid=*", U["x"]["password"], None),
    ("alice)(|(uid=*", U["alice"]["password"], None),
    ("x\\00", U["x"]["password"], None),
    ("\\78", U["x"]["password"], None),          # \78 is an escaped "x"
    ("al*", U["alice"]["password"], None),
    ("*)(objectClass=*", U["x"]["password"], None),
]


@pytest.mark.parametrize("name,password,base", INJECTIONS,
                         ids=[i[0] for i in INJECTIONS])
def test_filter_injection_never_authenticates(config, login_test, name, password, base):
    if base:
        config.set("ldap", user_base=base)
    r = login_test(config.write(), name, password)
    failed_with(r, GENERIC)


def test_lonely_user_base_itself_works(config, login_test):
    # The control for the "*" injection case: the config is otherwise fine.
    config.set("ldap", user_base=slapdir.LONELY)
    f = ok_identity(login_test(config.write(), "solo", slapdir.LONELY_USER["password"]))
    assert f["user"] == "solo"


def test_disabled_user_right_password(config, login_test):
    r = login_test(config.write(), "dave", U["dave"]["password"])
    failed_with(r, DISABLED)


def test_ad_nesting_queries_go_together(config, login_test):
    # nested_groups = ad: the disabled check, the group_filter search and the
    # in-chain search go out together after the bind.  slapd does not know
    # AD's in-chain matching rule (the clause matches nothing), so the groups
    # are the direct ones, and the disabled check still wins for dave.
    config.set("ldap", nested_groups="ad")
    f = ok_identity(login_test(config.write(), "alice", U["alice"]["password"]))
    assert f["groups"].split() == ["engineering"]
    failed_with(login_test(config.write(), "dave", U["dave"]["password"]), DISABLED)


def test_disabled_user_wrong_password_is_generic(config, login_test):
    r = login_test(config.write(), "dave", "wrong-dave-password")
    failed_with(r, GENERIC)


def test_starttls_right_ca(config, login_test, slapd):
    config.set("ldap", starttls="yes", ca_file=slapd.ca_file)
    f = ok_identity(login_test(config.write(), "alice", U["alice"]["password"]))
    assert f["user"] == "alice"


def test_starttls_wrong_ca_refused(config, login_test, slapd):
    config.set("ldap", starttls="yes", ca_file=slapd.wrong_ca_file)
    failed_with(login_test(config.write(), "alice", U["alice"]["password"]), UNAVAILABLE)


def test_ldaps_right_ca(config, login_test, slapd):
    config.set("ldap", uri=slapd.ldaps_uri, ca_file=slapd.ca_file)
    f = ok_identity(login_test(config.write(), "alice", U["alice"]["password"]))
    assert f["user"] == "alice"


def test_ldaps_wrong_ca_refused(config, login_test, slapd):
    config.set("ldap", uri=slapd.ldaps_uri, ca_file=slapd.wrong_ca_file)
    failed_with(login_test(config.write(), "alice", U["alice"]["password"]), UNAVAILABLE)


def test_first_uri_dead_second_serves(config, login_test, slapd):
    dead = "ldap://127.0.0.1:%d" % slapdir.closed_port()
    config.set("ldap", uri="%s %s" % (dead, slapd.ldap_uri))
    f = ok_identity(login_test(config.write(), "alice", U["alice"]["password"]))
    assert f["user"] == "alice"


def test_directory_stopped_is_unavailable(tmp_path, own_slapd, login_test):
    from harness import Config
    conf = Config(tmp_path, own_slapd).write()
    own_slapd.stop()
    r = login_test(conf, "alice", U["alice"]["password"])
    failed_with(r, UNAVAILABLE)
    own_slapd.start()
    assert login_test(conf, "alice", U["alice"]["password"]).rc == 0


def test_blackhole_only_uri_times_out(config, login_test, blackhole):
    timeout = 2
    config.set("ldap", uri=blackhole.uri, timeout=str(timeout))
    r = login_test(config.write(), "alice", U["alice"]["password"])
    failed_with(r, UNAVAILABLE)
    assert blackhole.count() >= 1
    # One try plus one retry, each bounded by the timeout, plus slack.
    assert r.elapsed < 2 * timeout + 3, "took %.1f s" % r.elapsed


def test_blackhole_first_uri_second_serves(config, login_test, blackhole, slapd):
    timeout = 2
    config.set("ldap", uri="%s %s" % (blackhole.uri, slapd.ldap_uri), timeout=str(timeout))
    t = time.monotonic()
    f = ok_identity(login_test(config.write(), "alice", U["alice"]["password"]))
    assert f["user"] == "alice"
    assert time.monotonic() - t < 2 * timeout + 3


def test_no_password_in_any_output(config, login_test):
    # login_test checks every run against every known secret; this runs
    # each user with the right and a near-miss password.
    conf = config.write()
    for uid, u in U.items():
        login_test(conf, uid, u["password"])
        login_test(conf, uid, u["password"] + "!")
        login_test(conf, uid.upper(), u["password"])


def test_password_with_nul_is_refused_not_cut(config, login_test):
    # Cut at the NUL, this would be alice's right password.
    r = login_test(config.write(), "alice", U["alice"]["password"] + "\0junk")
    assert r.rc == 1, r
    assert r.messages() == ["login-test: the password contains a NUL byte"], r


def test_password_length_limit(config, login_test):
    conf = config.write()
    at_limit = login_test(conf, "alice", "a" * 1024)
    failed_with(at_limit, GENERIC)
    over = login_test(conf, "alice", "a" * 1025)
    assert over.rc == 1, over
    assert over.messages() == ["login-test: the password is longer than 1024 bytes"], over
