#!/usr/bin/python3
"""bench/report.py — bench/run's helpers that are easier in Python.

    report.py sample PID OUT [NAME=PID...]
                                    every 100 ms, the summed PSS and RSS of PID
                                    and all its descendants; on SIGTERM writes
                                    "pss=KB rss=KB samples=N cpu_ms=MS" to OUT,
                                    cpu_ms the CPU time (user + system) the
                                    tree used meanwhile, and cpu_NAME_ms the
                                    same for each other NAME=PID tree
    report.py slowproxy HOST:PORT INFO
                                    a TCP proxy in front of the directory
                                    (tests/integration/slowproxy.py) that
                                    answers at once until SIGUSR1, then after
                                    2 s (SIGUSR2: at once again); writes its
                                    port and, every 0.2 s, the most answers it
                                    held at once to INFO
    report.py table DIR [JSON]      prints the table of a run from DIR (see
                                    bench/run: machine.json, rows, results/,
                                    extra.json) and
                                    writes the same as JSON

Standard library only."""

import json
import os
import signal
import statistics
import sys
import threading
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))


# ---- memory -------------------------------------------------------------------

def tree(pid):
    """pid and its descendants (threads' children lists), as far as they exist."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, t)) as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def rollup(pid):
    pss = rss = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss


def cpu_ms(pid):
    """CPU time (user + system, all threads) pid and its descendants used so far."""
    ticks = 0
    for p in tree(int(pid)):
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rpartition(")")[2].split()
            ticks += int(fields[11]) + int(fields[12])   # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return ticks * 1000 // os.sysconf("SC_CLK_TCK")


def sample(pid, out, also=()):
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    others = [a.split("=", 1) for a in also]
    cpu0 = cpu_ms(pid)
    others0 = [cpu_ms(p) for _, p in others]
    peak_pss = peak_rss = n = 0
    while True:
        pss = rss = 0
        for p in tree(int(pid)):
            a, b = rollup(p)
            pss, rss = pss + a, rss + b
        peak_pss, peak_rss, n = max(peak_pss, pss), max(peak_rss, rss), n + 1
        if stop.wait(0.1):
            break
    words = ["pss=%d rss=%d samples=%d cpu_ms=%d" % (peak_pss, peak_rss, n, cpu_ms(pid) - cpu0)]
    for (name, p), c0 in zip(others, others0):
        words.append("cpu_%s_ms=%d" % (name, cpu_ms(p) - c0))
    with open(out, "w") as f:
        f.write(" ".join(words) + "\n")


# ---- the slow directory ---------------------------------------------------------

def slowproxy(target, info):
    sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
    from slowproxy import SlowProxy
    host, _, port = target.rpartition(":")
    p = SlowProxy(host, int(port), 0.0).start()
    done = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *a: setattr(p, "delay", 2.0))
    signal.signal(signal.SIGUSR2, lambda *a: setattr(p, "delay", 0.0))
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    most = 0

    def write():
        tmp = info + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"port": p.port, "uri": p.uri, "max_held": most,
                       "held_total": p.held_total()}, f)
        os.rename(tmp, info)

    write()
    while not done.wait(0.2):
        most = max(most, p.held())
        write()
    p.close()


# ---- the table ---------------------------------------------------------------------

def kv_lines(path):
    """A results file: one round a line, "key=value" words."""
    rounds = []
    with open(path) as f:
        for line in f:
            d = {}
            for w in line.split():
                k, _, v = w.partition("=")
                d[k] = float(v)
            if d:
                rounds.append(d)
    return rounds


def median(rounds, key):
    vals = [r[key] for r in rounds if key in r]
    return statistics.median(vals) if vals else None


def total(rounds, key):
    return int(sum(r.get(key, 0) for r in rounds))


def fmt_lat(us):
    if us is None:
        return "-"
    if us >= 1e6:
        return "%.2fs" % (us / 1e6)
    if us >= 1e3:
        return "%.2fms" % (us / 1e3)
    return "%.0fus" % us


def cpu_per_unit(rounds, unit):
    """{tree: CPU µs per request (or per sign-in, code, refresh: unit)} over the rounds."""
    units = total(rounds, unit)
    out = {}
    for k in sorted({k for x in rounds for k in x if k.startswith("cpu_")}):
        name = "server" if k == "cpu_ms" else k[len("cpu_"):-len("_ms")]
        if units:
            out[name] = round(1000 * total(rounds, k) / units, 1)
    return out


def load(d):
    with open(os.path.join(d, "machine.json")) as f:
        meta = json.load(f)
    rows = []
    with open(os.path.join(d, "rows")) as f:
        # name|server|kind|label|load|note, in the order of the table
        seen = [dict(zip(("name", "server", "kind", "label", "load", "note"),
                         (x.strip() for x in line.rstrip("\n").split("|"))))
                for line in f if line.strip()]
    for m in seen:
        path = os.path.join(d, "results", m["name"])
        if not os.path.exists(path):
            continue
        rounds = kv_lines(path)
        r = dict(m)
        r.update({
            "requests_per_s": median(rounds, "rps"),
            "requests_per_s_rounds": [x.get("rps") for x in rounds],
            "p50_us": median(rounds, "p50"), "p99_us": median(rounds, "p99"),
            "non_2xx": total(rounds, "non2xx"), "socket_errors": total(rounds, "errors"),
            "requests": total(rounds, "requests"),
            "peak_pss_kb": max((x.get("pss", 0) for x in rounds), default=0),
            "peak_rss_kb": max((x.get("rss", 0) for x in rounds), default=0),
        })
        for k in ("ok", "failed", "exhausted"):
            if any(k in x for x in rounds):
                r[k] = total(rounds, k)
        # Flows count their units (sign-ins, exchanges, refreshes) as "ok".
        r["cpu_us_per_unit"] = cpu_per_unit(rounds, "ok" if r.get("ok") else "requests")
        rows.append(r)
    extra = {}
    if os.path.exists(os.path.join(d, "extra.json")):
        with open(os.path.join(d, "extra.json")) as f:
            extra = json.load(f)
    return meta, rows, extra


def ratio(a, b):
    return round(a / b, 4) if a and b else None


def add_ratios(rows):
    """Each row's ratio to the ceiling measured under the same load."""
    base = {r["load"]: r["requests_per_s"] for r in rows if r["server"] == "ceiling"}
    for r in rows:
        r["ratio"] = ratio(r["requests_per_s"], base.get(r["load"]))


def comparisons(rows, extra):
    """The ratios the issue names, as (label, value, detail) lines."""
    by = {(r["server"], r["kind"]): r for r in rows}
    out = []

    def rps(server, kind):
        r = by.get((server, kind))
        return r["requests_per_s"] if r else None

    si, raw = rps("idbridge", "signin"), rps("slapd", "search+bind")
    if si and raw:
        out.append(("sign-in / slapd search+bind", ratio(si, raw),
                    "%.0f sign-ins/s vs %.0f search+bind/s, same connection count" % (si, raw)))
    si_row, raw_row = by.get(("idbridge", "signin")), by.get(("slapd", "search+bind"))
    if si_row and raw_row and si_row["cpu_us_per_unit"] and raw_row["cpu_us_per_unit"]:
        c, rc = si_row["cpu_us_per_unit"], raw_row["cpu_us_per_unit"]
        out.append(("CPU a sign-in (idbridge + slapd) / a raw search+bind (slapd)",
                    ratio(c.get("server", 0) + c.get("slapd", 0), rc.get("server")),
                    "idbridge %.0f us + slapd %.0f us a sign-in; slapd %.0f us a raw "
                    "search+bind" % (c.get("server", 0), c.get("slapd", 0), rc.get("server", 0))))
    slow = extra.get("slowdir")
    if slow:
        out.append(("verify-jwt with 50 sign-ins on a 2 s directory / undisturbed",
                    ratio(slow.get("loaded_rps"), slow.get("undisturbed_rps")),
                    "%.0f/s vs %.0f/s on the same instance; directory answers held at once: "
                    "up to %s; sign-ins completed meanwhile: %s" % (
                        slow.get("loaded_rps") or 0, slow.get("undisturbed_rps") or 0,
                        slow.get("max_held", "?"), slow.get("signins_ok", "?"))))
    for r in rows:
        if r["load"] == "c256":
            out.append(("peak PSS, %s tree at -c256" % r["server"],
                        round(r["peak_pss_kb"] / 1024, 1), "MiB (RSS %.1f MiB)" %
                        (r["peak_rss_kb"] / 1024)))
    peers = sorted({r["server"] for r in rows} - {"idbridge", "ceiling", "slapd"})
    for p in peers:
        for kind, peer_kind in (("static", "static"), ("introspect", "introspect"),
                                ("refresh", "refresh"), ("refresh", "client_credentials")):
            a, b = rps("idbridge", kind), rps(p, peer_kind)
            if a and b:
                out.append(("idbridge %s / %s %s" % (kind, p, peer_kind), ratio(a, b),
                            "%.0f/s vs %.0f/s" % (a, b)))
    return out


def notes_of(r):
    n = []
    if r["non_2xx"]:
        n.append("%d non-2xx!" % r["non_2xx"])
    if r["socket_errors"]:
        n.append("%d socket errors!" % r["socket_errors"])
    if r.get("failed"):
        n.append("%d failed" % r["failed"])
    if r.get("exhausted"):
        n.append("supply ran out: %d done, rate over the time it lasted" % r.get("ok", 0))
    elif "ok" in r and r["kind"] in ("refresh", "code"):
        n.append("%d done" % r["ok"])
    if r["kind"] == "signin" and r["requests_per_s"]:
        # Little's law: sign-ins in flight (one a connection) / sign-ins a second.
        n.append("≈%.0f ms a sign-in" % (1000 * int(r["load"].lstrip("c")) /
                                          r["requests_per_s"]))
    if r.get("note"):
        n.append(r["note"])
    return "; ".join(n)


def table(d, json_out=None):
    meta, rows, extra = load(d)
    add_ratios(rows)
    cmp = comparisons(rows, extra)
    print(meta["machine_line"])
    print("%-18s %-13s %-36s %10s %9s %9s %6s %8s %8s %7s  %s" % (
        "name", "server", "path", "req/s", "p50", "p99", "ratio", "PSS MiB", "RSS MiB",
        "CPU us", "notes"))
    for r in rows:
        r["notes"] = notes_of(r)
        cpu = r["cpu_us_per_unit"].get("server")
        print("%-18s %-13s %-36s %10.0f %9s %9s %6s %8.1f %8.1f %7s  %s" % (
            r["name"], r["server"], r["label"][:36], r["requests_per_s"] or 0,
            fmt_lat(r["p50_us"]), fmt_lat(r["p99_us"]),
            "%.3f" % r["ratio"] if r["ratio"] is not None else "-",
            r["peak_pss_kb"] / 1024, r["peak_rss_kb"] / 1024,
            "%.0f" % cpu if cpu is not None else "-",
            r["notes"] if len(r["notes"]) <= 100 else r["notes"][:99] + "…"))
    if cmp:
        print()
        for label, v, detail in cmp:
            print("%-58s %8s  %s" % (label, v if v is not None else "-", detail))
    if json_out:
        doc = dict(meta)
        doc["results"] = rows
        doc["comparisons"] = [{"what": a, "value": b, "detail": c} for a, b, c in cmp]
        doc["extra"] = extra
        with open(json_out, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")


def main(argv):
    if len(argv) >= 3 and argv[0] == "sample":
        sample(argv[1], argv[2], argv[3:])
    elif len(argv) == 3 and argv[0] == "slowproxy":
        slowproxy(argv[1], argv[2])
    elif len(argv) in (2, 3) and argv[0] == "table":
        table(argv[1], argv[2] if len(argv) == 3 else None)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
