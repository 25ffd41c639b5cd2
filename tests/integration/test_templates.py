"""The daemon's templates: loaded at start (a broken or incomplete set
refuses to start), the stylesheet served from them, SIGHUP swapping in a new
set — or keeping the old one, with the reason logged, when the new one is
broken — and keys.html rendered with hostile values (tests/unit/render_page),
read back with an HTML parser the way a browser would."""

import html.parser
import os
import shutil
import signal
import subprocess

import pytest

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


def serve_fails(idbridge_bin, config, templates):
    config.set("server", templates=templates)
    r = subprocess.run([idbridge_bin, "serve", "-c", config.write()], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, r.stderr
    return r.stderr


def test_broken_templates_refuse_to_start(tmp_path, config, idbridge_bin):
    t = copy_templates(tmp_path)
    with open(os.path.join(t, "login.html"), "a") as f:
        f.write("<p>{{no_such_variable}}</p>\n")
    err = serve_fails(idbridge_bin, config, t)
    assert "login.html:" in err and "no_such_variable" in err, err


def test_missing_keys_page_refuses_to_start(tmp_path, config, idbridge_bin):
    t = copy_templates(tmp_path)
    os.unlink(os.path.join(t, "keys.html"))
    err = serve_fails(idbridge_bin, config, t)
    assert os.path.join(t, "keys.html") + ": No such file or directory" in err, err


def test_keys_page_row_field_error_names_the_line(tmp_path, config, idbridge_bin):
    t = copy_templates(tmp_path)
    with open(os.path.join(t, "keys.html"), "w") as f:
        f.write("<table>\n{{#keys}}<tr><td>{{.nosuch}}</td></tr>{{/keys}}\n</table>\n")
    err = serve_fails(idbridge_bin, config, t)
    assert "keys.html:2: unknown field {{.nosuch}} (not a field of keys)" in err, err


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


# ---- keys.html, rendered with hostile values and parsed back -------------------------------

HOSTILE = "\"><script>alert(1)</script><img src=x onerror=alert(2)> ' ` = &amp;"
KEY_FIELDS = ("id", "name", "scopes", "created", "last_used", "expires")


class Page(html.parser.HTMLParser):
    """Every start tag with its attributes (values unescaped, as a browser
    reads them) and the text of the whole page."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.text = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def find(self, tag, **attrs):
        return [a for t, a in self.tags
                if t == tag and all(a.get(k.rstrip("_").replace("_", "-")) == v
                                   for k, v in attrs.items())]

    def shape(self):
        """The tags and attribute names, without the values."""
        return [(t, sorted(a)) for t, a in self.tags]


def render_keys(idbridge_bin, text, keys, scopes, lifetimes):
    tool = os.path.join(os.path.dirname(idbridge_bin), "tests", "unit", "render_page")
    if not os.access(tool, os.X_OK):
        pytest.fail("%s is missing: build it with `make tests/unit/render_page` (make check)"
                    % tool)
    args = [tool, os.path.join(SRCDIR, "templates"), "keys"]
    args += ["%s=%s" % (k, v) for k, v in text.items()]
    args += ["keys:6+=%s" % row[f] for row in keys for f in KEY_FIELDS]
    args += ["scopes+=%s" % s for s in scopes]
    args += ["lifetimes:2+=%s" % c for row in lifetimes for c in row]
    r = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return Page(r.stdout)


def sample(value):
    text = {k: value("text-" + k) for k in ("issuer_host", "user", "error", "notice",
                                             "new_key_name", "limit_note")}
    text["csrf"] = value("csrf")
    text["new_key"] = "idb_" + value("key")
    keys = [{f: value("%s-%d" % (f, i)) for f in KEY_FIELDS} for i in (1, 2)]
    scopes = [value("read"), value("write")]
    lifetimes = [(value("30"), value("30 days")), (value("0"), value("Never"))]
    return text, keys, scopes, lifetimes


def test_keys_page_keeps_hostile_values_as_values(idbridge_bin):
    benign = render_keys(idbridge_bin, *sample(lambda v: v))
    text, keys, scopes, lifetimes = sample(lambda v: v + HOSTILE)
    page = render_keys(idbridge_bin, text, keys, scopes, lifetimes)

    # The values added no element and no attribute.
    assert page.shape() == benign.shape()
    assert not page.find("script") and not page.find("img")
    assert not [a for _, a in page.tags for name in a if name.startswith("on")]

    # Each value reads back exactly as given, where the browser test looks for it.
    assert [a["value"] for a in page.find("input", id="new-key")] == [text["new_key"]]
    rows = [a for t, a in page.tags if t == "tr" and "data-key-id" in a]
    assert [a["data-key-id"] for a in rows] == [k["id"] for k in keys]
    assert [a["value"] for a in page.find("input", name="id")] == [k["id"] for k in keys]
    assert [a["aria-label"] for a in page.find("button", class_="danger")] == \
        ["Revoke " + k["name"] for k in keys]
    assert [a["name"] for a in page.find("input", type="checkbox")] == \
        ["scope." + s for s in scopes]
    assert [a["value"] for a in page.find("option")] == [v for v, _ in lifetimes]
    body = "".join(page.text)
    for value in [k[f] for k in keys for f in KEY_FIELDS if f != "id"] + \
            [label for _, label in lifetimes] + [text["user"], text["error"], text["notice"],
                                                  text["new_key_name"], text["limit_note"]]:
        assert value in body

    # Every form posts, with the CSRF token: sign out, one revoke per key, create.
    forms = page.find("form")
    assert [(f["method"], f["action"]) for f in forms] == \
        [("post", "/logout")] + [("post", "/keys")] * (len(keys) + 1)
    assert [a["value"] for a in page.find("input", name="csrf")] == [text["csrf"]] * len(forms)
    assert [a["value"] for a in page.find("input", name="action")] == \
        ["revoke"] * len(keys) + ["create"]
