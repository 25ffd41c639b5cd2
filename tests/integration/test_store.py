"""The SQLite store as the daemon leaves it: WAL, private files, migrations
applied once, and a newer schema refused rather than damaged."""

import os
import signal
import sqlite3
import stat
import subprocess

from harness import Config


def stop(d):
    d.signal(signal.SIGTERM)
    assert d.wait(timeout=15) == 0


def test_store_is_wal_private_and_migrated(config, serve):
    d = serve(config.write())
    assert d.get_json("/livez")[0] == 200
    stop(d)
    db = config.sections["store"]["path"]
    for path in (db, db + "-wal", db + "-shm"):
        if os.path.exists(path):
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    assert stat.S_IMODE(os.stat(config.state_dir).st_mode) == 0o700
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        version = con.execute("PRAGMA user_version").fetchone()[0]
        assert version >= 1
        history = [r[0] for r in con.execute("SELECT version FROM schema_history ORDER BY 1")]
        assert history == list(range(1, version + 1))
    finally:
        con.close()
    assert "applied schema migration 1" in d.output()


def test_restart_applies_no_migration_twice(config, serve):
    conf = config.write()
    first = serve(conf)
    stop(first)
    second = serve(conf)
    assert second.get_json("/livez")[0] == 200
    stop(second)
    assert "applied schema migration" not in second.output()


def test_newer_schema_is_refused_untouched(config, serve, idbridge_bin):
    conf = config.write()
    stop(serve(conf))
    db = config.sections["store"]["path"]
    con = sqlite3.connect(db)
    con.execute("PRAGMA user_version = 999")
    con.commit()
    con.close()
    before = open(db, "rb").read()
    r = subprocess.run([idbridge_bin, "serve", "-c", conf], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "newer than this idbridge knows" in r.stderr, r.stderr
    assert open(db, "rb").read() == before


def test_unwritable_store_is_a_clear_error(tmp_path, slapd, idbridge_bin):
    cfg = Config(tmp_path, slapd)
    cfg.set("store", path="/proc/idbridge-cannot-exist/idbridge.db")
    r = subprocess.run([idbridge_bin, "serve", "-c", cfg.write()], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "store:" in r.stderr and "/proc/idbridge-cannot-exist/idbridge.db" in r.stderr, r.stderr
