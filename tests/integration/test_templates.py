"""The daemon's templates: loaded at start (a broken set refuses to start),
the stylesheet served from them, and SIGHUP swapping in a new set — or
keeping the old one, with the reason logged, when the new one is broken."""

import os
import shutil
import signal
import subprocess

from harness import SRCDIR, poll


def copy_templates(tmp_path):
    d = os.path.join(str(tmp_path), "templates")
    shutil.copytree(os.path.join(SRCDIR, "templates"), d)
    return d


def css(d):
    status, h, body = d.request("GET", "/static/style.css")
    return status, h, body.decode()


def test_stylesheet_served(config, serve):
    d = serve(config.write())
    status, h, body = css(d)
    assert status == 200
    assert h["content-type"].startswith("text/css")
    assert h["cache-control"] == "public, max-age=300"
    assert body == open(os.path.join(SRCDIR, "templates", "style.css")).read()


def test_broken_templates_refuse_to_start(tmp_path, config, idbridge_bin):
    t = copy_templates(tmp_path)
    with open(os.path.join(t, "login.html"), "a") as f:
        f.write("<p>{{no_such_variable}}</p>\n")
    config.set("server", templates=t)
    r = subprocess.run([idbridge_bin, "serve", "-c", config.write()], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "login.html:" in r.stderr and "no_such_variable" in r.stderr, r.stderr


def test_sighup_reloads_and_keeps_old_set_when_broken(tmp_path, config, serve):
    t = copy_templates(tmp_path)
    config.set("server", templates=t)
    d = serve(config.write())
    style = os.path.join(t, "style.css")
    with open(style, "a") as f:
        f.write("\n/* reloaded-marker */\n")
    d.signal(signal.SIGHUP)
    assert poll(lambda: "reloaded-marker" in css(d)[2], timeout=10)

    with open(style, "a") as f:
        f.write("\n/* second-marker */\n")
    with open(os.path.join(t, "consent.html"), "w") as f:
        f.write("<p {{client_name}}>unquoted</p>\n")
    d.signal(signal.SIGHUP)
    assert poll(lambda: "templates not reloaded" in d.output(), timeout=10), d.output()
    body = css(d)[2]
    assert "reloaded-marker" in body and "second-marker" not in body
    assert "consent.html:1" in d.output()
