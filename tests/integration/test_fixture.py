"""The harness itself, checked with the OpenLDAP client tools: if these fail,
the daemon tests' failures say nothing about the daemon."""

import os
import socket
import subprocess
import time

import slapdir


def ldap(tool, *args, cafile=None):
    env = dict(os.environ, LDAPCONF="/dev/null")
    env.pop("LDAPNOINIT", None)  # it would hide LDAPTLS_* from the tools
    if cafile:
        env.update(LDAPTLS_CACERT=cafile, LDAPTLS_REQCERT="demand")
    return subprocess.run([tool, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=env, timeout=30)


def whoami(uri, dn, pw, *extra, cafile=None):
    return ldap("ldapwhoami", "-x", "-H", uri, "-D", dn, "-w", pw, *extra, cafile=cafile)


def test_service_account_and_users_bind(slapd):
    assert whoami(slapd.ldap_uri, slapdir.SERVICE_DN, slapdir.SERVICE_PASSWORD).returncode == 0
    for uid, u in slapdir.USERS.items():
        r = whoami(slapd.ldap_uri, "uid=%s,%s" % (uid, slapdir.PEOPLE), u["password"])
        assert r.returncode == 0, (uid, r.stderr)
    st = os.stat(slapd.bind_password_file)
    assert st.st_mode & 0o777 == 0o600


def test_tls_right_and_wrong_ca(slapd):
    dn, pw = slapdir.SERVICE_DN, slapdir.SERVICE_PASSWORD
    assert whoami(slapd.ldap_uri, dn, pw, "-ZZ", cafile=slapd.ca_file).returncode == 0
    assert whoami(slapd.ldap_uri, dn, pw, "-ZZ", cafile=slapd.wrong_ca_file).returncode != 0
    assert whoami(slapd.ldaps_uri, dn, pw, cafile=slapd.ca_file).returncode == 0
    assert whoami(slapd.ldaps_uri, dn, pw, cafile=slapd.wrong_ca_file).returncode != 0


def test_anonymous_sees_no_entries(slapd):
    r = ldap("ldapsearch", "-x", "-LLL", "-H", slapd.ldap_uri, "-b", slapdir.PEOPLE, "(uid=*)")
    assert b"dn:" not in r.stdout


def test_nested_memberof(slapd):
    r = ldap("ldapsearch", "-x", "-LLL", "-H", slapd.ldap_uri, "-D", slapdir.SERVICE_DN,
             "-w", slapdir.SERVICE_PASSWORD, "-b", slapdir.PEOPLE, "(uid=alice)", "memberOf")
    out = r.stdout.decode()
    assert "memberOf: cn=staff," in out and "memberOf: cn=engineering," in out


def test_stop_and_start_on_same_ports(own_slapd):
    port = own_slapd.port
    own_slapd.stop()
    r = whoami(own_slapd.ldap_uri, slapdir.SERVICE_DN, slapdir.SERVICE_PASSWORD)
    assert r.returncode != 0
    own_slapd.start()
    assert own_slapd.port == port
    assert whoami(own_slapd.ldap_uri, slapdir.SERVICE_DN,
                  slapdir.SERVICE_PASSWORD).returncode == 0


def test_blackhole_accepts_and_never_answers(blackhole):
    s = socket.create_connection(("127.0.0.1", blackhole.port), timeout=5)
    s.settimeout(0.3)
    s.sendall(b"0\x0c\x02\x01\x01`\x07\x02\x01\x03\x04\x00\x80\x00")  # an LDAP bind
    t = time.monotonic()
    try:
        data = s.recv(10)
    except socket.timeout:
        data = None
    s.close()
    assert data is None and time.monotonic() - t >= 0.25
    assert blackhole.count() == 1
