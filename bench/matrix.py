#!/usr/bin/env python3
"""The shape matrix (issue 13): every history filter and order, first and deep pages, with and
without totalCount, on PostgreSQL and SQLite at 1M jobs; the ERROR + 3-month page under load;
the write path. One binary, or two compared in one sitting.

    python3 bench/matrix.py seed       # seed jh_bench and the SQLite file once (bench.py's way)
    python3 bench/matrix.py shapes     # sequential p50/p90 per shape, both backends
    python3 bench/matrix.py load       # ERROR + 3 months, first and deep page, wrk -c32
    python3 bench/matrix.py writes     # bench/writes.py at concurrency 32 on fresh demo databases
    python3 bench/matrix.py all        # the three, to bench/results/<date>-<HHMM>-matrix-LABEL.md

Settings (environment):
  BENCH_BIN=a[,b]         binaries (default target/release/job-history); two are interleaved
                          request by request (shapes) or run by run (load, writes)
  BENCH_PG=url[,url]      PostgreSQL database per binary (default .../jh_bench); one is shared
  BENCH_SQLITE=path[,path] SQLite file per binary (default bench/.data/bench.db); one is shared
  BACKENDS=postgres,sqlite  N=20 (timed requests per cell)  WARM=3  CELL_SECONDS=3 (a cell
  stops early past this, keeping at least 5 samples)  DEEP=10000 (rows before the deep page)
  WALK_SECONDS=15 (a slower walk to the deep cursor gives up: the deep cells say so)
  ONLY=word,word (shapes whose names contain a word; nothing written)  LABEL=before
  DURATION=10 WARMUP=3 CONNS=32 LOAD_CPU=1 (load)  WRITE_JOBS=1000 WRITE_RUNS=1 (writes;
  runs interleaved between binaries, medians reported)  WRITES_ON=demo|bench (a fresh
  `serve --demo` database, or a copy of each binary's 1M-job database)
Everything is aimed at 127.0.0.1. See bench/README.md.
"""

import datetime
import hashlib
import http.client
import json
import math
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

os.environ.setdefault("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

ROOT = bench.ROOT


def listed(name, default):
    return [x.strip() for x in os.environ.get(name, "").split(",") if x.strip()] or default


BINS = [Path(b) for b in listed("BENCH_BIN", [str(ROOT / "target/release/job-history")])]
PG_URLS = listed("BENCH_PG", ["postgres://postgres@127.0.0.1:5432/jh_bench"])
SQLITE_PATHS = listed("BENCH_SQLITE", [str(bench.DATA / "bench.db")])
BACKENDS = listed("BACKENDS", ["postgres", "sqlite"])
N = int(os.environ.get("N", "20"))
WARM = int(os.environ.get("WARM", "3"))
CELL_SECONDS = float(os.environ.get("CELL_SECONDS", "3"))
WALK_SECONDS = float(os.environ.get("WALK_SECONDS", "15"))
MIN_SAMPLES = 5
DEEP = int(os.environ.get("DEEP", "10000"))
ONLY = listed("ONLY", [])
LABEL = os.environ.get("LABEL", "")
DURATION = int(os.environ.get("DURATION", "10"))
WARMUP = int(os.environ.get("WARMUP", "3"))
CONNS = int(os.environ.get("CONNS", "32"))
WRITE_JOBS = int(os.environ.get("WRITE_JOBS", "1000"))
WRITE_RUNS = int(os.environ.get("WRITE_RUNS", "1"))
WRITES_ON = os.environ.get("WRITES_ON", "demo")
TARGET_MS = 10.0  # issue 13: every shape's p50 at most this, one request at a time

bench.SQLITE_PATH = Path(SQLITE_PATHS[0])

FULL_PAGE = """query Page($filter: JobFilter, $orderBy: JobOrder, $after: String) {
  jobs(first: 50, after: $after, filter: $filter, orderBy: $orderBy) {
    %s
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { %s user { firstName lastName email }
      jobInputs { identifier status byteAmount } } }
  }
}"""
WALK = """query Walk($filter: JobFilter, $orderBy: JobOrder, $after: String) {
  jobs(first: 100, after: $after, filter: $filter, orderBy: $orderBy) {
    pageInfo { hasNextPage endCursor } } }"""


def page_query(count):
    return FULL_PAGE % ("totalCount" if count else "", bench.FIELDS)


def log(*args):
    print("matrix:", *args, file=sys.stderr, flush=True)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------
# The databases: look-ups for shape values, read-only.


def backend_url(backend, i):
    if backend == "postgres":
        return PG_URLS[min(i, len(PG_URLS) - 1)]
    return "sqlite://" + SQLITE_PATHS[min(i, len(SQLITE_PATHS) - 1)]


def sql_rows(url, sql):
    if url.startswith("sqlite://"):
        with sqlite3.connect(f"file:{url[len('sqlite://'):]}?mode=ro", uri=True) as db:
            return [tuple(r) for r in db.execute(sql).fetchall()]
    out = bench.psql(url, sql)
    return [tuple(line.split("|")) for line in out.splitlines() if line]


def sql_value(url, sql):
    rows = sql_rows(url, sql)
    return str(rows[0][0]) if rows else None


# ---------------------------------------------------------------------------------------------
# The shapes.


class Shape:
    def __init__(self, name, who, filter_=None, order=None, issue=False):
        self.name, self.who, self.filter, self.order, self.issue = name, who, filter_, order, issue

    def variables(self, after=None):
        v = {"after": after}
        if self.filter:
            v["filter"] = self.filter
        if self.order:
            v["orderBy"] = {"field": self.order[0], "direction": self.order[1]}
        return v

    def order_text(self):
        return " ".join(self.order) if self.order else "CREATED_AT DESC (default)"


def shapes(url, now):
    """The matrix: the issue's five shapes first, then every other filter and every order in
    both directions, for an administrator (all accounts) and a user key (one account), then
    creation ranges of several widths in orders other than the creation time, then each of the
    creation and submission times bounded and ordered by the other, and creation ranges by the
    update time."""
    ago = lambda days: iso(now - datetime.timedelta(days=days))  # noqa: E731
    prefix = sql_value(url, "SELECT submitted_by FROM jobs ORDER BY id LIMIT 1")
    account = sql_value(url, "SELECT identifier FROM accounts ORDER BY id LIMIT 1 OFFSET 1")
    every_10_000th = ", ".join(str(10_000 * k) for k in range(1, 101))
    ids = [r[0] for r in sql_rows(
        url, f"SELECT job_identifier FROM jobs WHERE id IN ({every_10_000th}) ORDER BY id")]
    model = sql_rows(url, "SELECT identifier, version FROM models ORDER BY id LIMIT 1 OFFSET 1")[0]
    return [
        # The issue's table, exactly: admin key, full page.
        Shape("ERROR, createdAt last 3 months", "admin",
              {"statuses": ["ERROR"], "createdAt": {"from": ago(91)}}, issue=True),
        Shape("TIMEDOUT group", "admin", {"status": "TIMEDOUT"}, issue=True),
        Shape('user "an"', "admin", {"user": "an"}, issue=True),
        Shape("TERMINATED by elapsed time", "admin", {"status": "TERMINATED"},
              ("ELAPSED_TIME", "DESC"), issue=True),
        Shape("ERROR by queue time", "admin", {"statuses": ["ERROR"]}, ("QUEUE_TIME", "ASC"),
              issue=True),
        # Every other filter, and the orders not yet covered, both directions.
        Shape("no filter", "admin"),
        Shape("TERMINATED, last 91 days (bench/run's page)", "admin",
              {"status": "TERMINATED", "createdAt": {"from": ago(91)}}),
        Shape("PENDING group by status", "admin", {"status": "PENDING"}, ("STATUS", "ASC")),
        Shape("accessKey by input bytes", "admin", {"accessKey": prefix},
              ("INPUT_BYTE_AMOUNT", "ASC")),
        Shape('model name "Sentiment" by submittedAt', "admin", {"model": "Sentiment"},
              ("SUBMITTED_AT", "ASC")),
        Shape("model identifier + version by updatedAt", "admin",
              {"modelIdentifier": model[0], "modelVersion": model[1]}, ("UPDATED_AT", "DESC")),
        Shape("submittedAt closed week by submittedAt", "admin",
              {"submittedAt": {"from": ago(30), "to": ago(23)}}, ("SUBMITTED_AT", "DESC")),
        Shape("updatedAt last 7 days by updatedAt", "admin",
              {"updatedAt": {"from": ago(7)}}, ("UPDATED_AT", "ASC")),
        Shape("100 jobIdentifiers, oldest first", "admin", {"jobIdentifiers": ids},
              ("CREATED_AT", "ASC")),
        Shape("explain by input bytes", "admin", {"explain": True}, ("INPUT_BYTE_AMOUNT", "DESC")),
        Shape("imageClassificationModel by total", "admin", {"imageClassificationModel": True},
              ("TOTAL", "ASC")),
        Shape("accountIdentifier by total", "admin", {"accountIdentifier": account},
              ("TOTAL", "DESC")),
        Shape("ERROR + COMPLETED, model, 3 months, by elapsed", "admin",
              {"statuses": ["ERROR", "COMPLETED"], "model": "Translation",
               "createdAt": {"from": ago(91)}}, ("ELAPSED_TIME", "ASC")),
        Shape("user key: no filter", "user"),
        Shape("user key: TERMINATED by elapsed time", "user", {"status": "TERMINATED"},
              ("ELAPSED_TIME", "ASC")),
        Shape("user key: COMPLETED + CANCELED by queue time", "user",
              {"statuses": ["COMPLETED", "CANCELED"]}, ("QUEUE_TIME", "DESC")),
        Shape("user key: createdAt last 120 days by status", "user",
              {"createdAt": {"from": ago(120)}}, ("STATUS", "DESC")),
        Shape('user key: user "an", last 91 days', "user",
              {"user": "an", "createdAt": {"from": ago(91)}}),
        # Creation ranges of other widths in other orders (`db::range_scan` on SQLite).
        Shape("createdAt last 7 days by queue time", "admin",
              {"createdAt": {"from": ago(7)}}, ("QUEUE_TIME", "DESC")),
        Shape("createdAt closed month, 2 months ago, by submittedAt", "admin",
              {"createdAt": {"from": ago(60), "to": ago(30)}}, ("SUBMITTED_AT", "DESC")),
        Shape("user key: createdAt last day by elapsed time", "user",
              {"createdAt": {"from": ago(1)}}, ("ELAPSED_TIME", "ASC")),
        Shape("user key: TERMINATED, createdAt closed week by total", "user",
              {"status": "TERMINATED", "createdAt": {"from": ago(40), "to": ago(33)}},
              ("TOTAL", "ASC")),
        # Each of the two times bounded, ordered by the other (`db::implied`).
        Shape("submittedAt closed month, 2 months ago", "admin",
              {"submittedAt": {"from": ago(60), "to": ago(30)}}),
        Shape("user key: createdAt closed month, 2 months ago, by submittedAt", "user",
              {"createdAt": {"from": ago(60), "to": ago(30)}}, ("SUBMITTED_AT", "ASC")),
        # The update time, bounded by the span a creation range holds (`db::update_span`):
        # closed months long ago both ways, and a range open to now, where the span adds its
        # statement and snapshot and saves nothing.
        Shape("createdAt closed month, 2 months ago, by updatedAt", "admin",
              {"createdAt": {"from": ago(60), "to": ago(30)}}, ("UPDATED_AT", "DESC")),
        Shape("user key: createdAt closed month, 4 months ago, by updatedAt", "user",
              {"createdAt": {"from": ago(120), "to": ago(90)}}, ("UPDATED_AT", "ASC")),
        Shape("createdAt last 7 days by updatedAt", "admin",
              {"createdAt": {"from": ago(7)}}, ("UPDATED_AT", "DESC")),
    ]


# ---------------------------------------------------------------------------------------------
# HTTP: one keep-alive connection per server.


class Client:
    def __init__(self, base):
        host, port = urllib.parse.urlsplit(base).netloc.split(":")
        assert host == "127.0.0.1", "loopback only"
        self.host, self.port = host, int(port)
        self.conn = None

    def post(self, key, query, variables):
        """(data or None, error code or None, milliseconds)."""
        body = json.dumps({"query": query, "variables": variables})
        headers = {"content-type": "application/json", "authorization": f"ApiKey {key}"}
        # The server closes a keep-alive connection left idle (this side waits while the other
        # binary is walked or measured): a request on a fresh connection is tried once more.
        for attempt in (1, 2):
            reused = self.conn is not None
            started = time.perf_counter()
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
                self.conn.request("POST", "/graphql", body, headers)
                answer = json.loads(self.conn.getresponse().read())
                break
            except (OSError, http.client.HTTPException, ValueError):
                self.conn.close()
                self.conn = None
                if not reused or attempt == 2:
                    return None, "TRANSPORT", (time.perf_counter() - started) * 1000
        ms = (time.perf_counter() - started) * 1000
        if answer.get("errors"):
            err = answer["errors"][0]
            return None, (err.get("extensions") or {}).get("code", err.get("message", "?")[:60]), ms
        return answer["data"], None, ms


class Side:
    """One binary on one backend: its server, client and keys."""

    def __init__(self, binary, url, keys):
        bench.BIN = binary
        self.binary, self.url, self.keys = binary, url, keys
        self.server = bench.Server(url)
        self.client = Client(self.server.base)

    def stop(self):
        self.server.stop()


KEYS = {}


def keys_for(url, binary):
    """An admin key and a seeded user's key (one account, ~20 000 jobs) for a database, made
    once per database."""
    if url not in KEYS:
        bench.BIN = binary
        email = sql_value(url, "SELECT email FROM users WHERE email <> 'bench-admin@example.com' "
                               "ORDER BY id LIMIT 1")
        KEYS[url] = {"admin": bench.admin_key(url), "user": bench.new_key(url, email, "user")}
    return KEYS[url]


def start_sides(backend):
    sides = []
    for i, binary in enumerate(BINS):
        url = backend_url(backend, i)
        sides.append(Side(binary, url, keys_for(url, binary)))
    return sides


def walk(side, shape):
    """(the cursor DEEP rows into the shape, None), walking pages of 100; (None, why) when the
    shape has fewer rows (`n/a`) or the walk takes over WALK_SECONDS (its pages are slow; the
    first page's figures already say so)."""
    after = None
    started = time.perf_counter()
    for _ in range(DEEP // 100):
        if time.perf_counter() - started > WALK_SECONDS:
            return None, f"walk > {WALK_SECONDS:.0f} s"
        data, code, _ = side.client.post(side.keys[shape.who], WALK, shape.variables(after))
        if code:
            raise RuntimeError(f"walk failed: {code}")
        info = data["jobs"]["pageInfo"]
        if not info["hasNextPage"]:
            return None, "n/a"
        after = info["endCursor"]
    return after, None


def pct(samples, q):
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def measure(sides, shape, count, afters, notes=None):
    """Interleaved sequential requests, one side after the other (each from its own cursor):
    per side its samples (ms), totalCount and error code. A side with a note (its walk to the
    deep cursor gave up) is not measured and shows the note."""
    query = page_query(count)
    variables = [shape.variables(after) for after in afters]
    out = [{"ms": [], "count": None, "error": notes[i], "note": True}
           if notes and notes[i] else {"ms": [], "count": None, "error": None}
           for i in range(len(sides))]
    for side, res, v in zip(sides, out, variables):
        warm_started = time.perf_counter()
        for _ in range(WARM if not res["error"] else 0):
            data, code, _ = side.client.post(side.keys[shape.who], query, v)
            if code:
                res["error"] = code
                break
            if count:
                res["count"] = data["jobs"]["totalCount"]
            if time.perf_counter() - warm_started > CELL_SECONDS / 2:
                break  # a slow shape: one warm-up is enough
    started = time.perf_counter()
    for i in range(N):
        for side, res, v in zip(sides, out, variables):
            if res["error"]:
                continue
            _, code, ms = side.client.post(side.keys[shape.who], query, v)
            if code:
                res["error"] = code
            else:
                res["ms"].append(ms)
        if i + 1 >= MIN_SAMPLES and time.perf_counter() - started > CELL_SECONDS:
            break
    return out


VARIANTS = [("first", True), ("first", False), ("deep", True), ("deep", False)]
VARIANT_TITLES = ["first page, totalCount", "first page, no count", "deep page, totalCount",
                  "deep page, no count"]


def run_shapes(backend, now):
    """Per shape name: the shape, its cells ({(page, count): [result per binary]}), the walk's
    seconds and why there is no deep page (`n/a`, `walk > N s`) when no binary reached it."""
    sides = start_sides(backend)
    results = {}
    try:
        for shape in shapes(sides[0].url, now):
            if ONLY and not any(w in shape.name for w in ONLY):
                continue
            log(f"{backend}: {shape.name}")
            started = time.perf_counter()
            cells = {v: measure(sides, shape, v[1], [None] * len(sides))
                     for v in VARIANTS if v[0] == "first"}
            walk_started = time.perf_counter()
            cursors, notes = [], []
            for side in sides:
                if notes and notes[0] == "n/a":
                    cursors.append(None)  # the same rows: too few for a deep page here too
                    notes.append("n/a")
                    continue
                if cursors and cursors[0] is not None:
                    # Cursors are opaque: another binary's may differ; walk when it is refused.
                    _, code, _ = side.client.post(side.keys[shape.who], WALK,
                                                  shape.variables(cursors[0]))
                    if not code:
                        cursors.append(cursors[0])
                        notes.append(None)
                        continue
                cursor, note = walk(side, shape)
                cursors.append(cursor)
                notes.append(note)
            walked = time.perf_counter() - walk_started
            deep_note = None
            if all(c is None for c in cursors):
                deep_note = notes[0]
            else:
                for v in VARIANTS:
                    if v[0] == "deep":
                        cells[v] = measure(sides, shape, v[1], cursors, notes)
            results[shape.name] = {"shape": shape, "cells": cells, "walk_s": walked,
                                   "deep_note": deep_note}
            log(f"{backend}: {shape.name}: walk {walked:.1f} s, "
                f"total {time.perf_counter() - started:.1f} s")
    finally:
        for side in sides:
            side.stop()
    return results


# ---------------------------------------------------------------------------------------------
# Load: the named shape at concurrency 32 with wrk (per-shape body in its Lua script).

LOAD_SHAPE = "ERROR, createdAt last 3 months"


def run_load(backend, now):
    sides = start_sides(backend)
    work = Path(tempfile.mkdtemp())
    rows = []
    try:
        shape = next(s for s in shapes(sides[0].url, now) if s.name == LOAD_SHAPE)
        for page in ("first", "deep"):
            for i, side in enumerate(sides):
                after, note = walk(side, shape) if page == "deep" else (None, None)
                if note:
                    raise SystemExit(f"matrix: no deep page for the load shape: {note}")
                body = {"query": page_query(True), "variables": shape.variables(after)}
                script = work / f"{page}{i}.lua"
                bench.lua_script(script, side.keys[shape.who], json.dumps(body))
                log(f"{backend}: load, {page} page, {side.binary}")
                url = side.server.base + "/graphql"
                bench.wrk(url, script, WARMUP, CONNS)
                r = bench.wrk(url, script, DURATION, CONNS, side.server.proc.pid)
                rows.append((backend, page, side.binary, r))
    finally:
        for side in sides:
            side.stop()
    return rows


# ---------------------------------------------------------------------------------------------
# Writes: bench/writes.py at concurrency 32 against `serve --demo` on a fresh database.

WRITES_PG_DB = "jh_bench_writes"  # created and dropped here, nothing else uses it


def writes_database(backend, i, tmp):
    """A fresh database for one writes run of binary `i`: empty (`serve --demo` seeds it) or,
    with WRITES_ON=bench, a copy of that binary's 1M-job bench database."""
    if backend == "postgres":
        admin = os.environ["TEST_DATABASE_URL"]
        parts = urllib.parse.urlsplit(admin)
        url = urllib.parse.urlunsplit(parts._replace(path="/" + WRITES_PG_DB))
        bench.psql(admin, f"DROP DATABASE IF EXISTS {WRITES_PG_DB} WITH (FORCE)")
        if WRITES_ON == "bench":
            source = urllib.parse.urlsplit(backend_url(backend, i)).path.lstrip("/")
            bench.psql(admin, f"CREATE DATABASE {WRITES_PG_DB} TEMPLATE {source}")
        else:
            bench.psql(admin, f"CREATE DATABASE {WRITES_PG_DB}")
        return url
    path = tmp / "writes.db"
    if WRITES_ON == "bench":
        with sqlite3.connect(backend_url(backend, i)[len("sqlite://"):]) as src, \
                sqlite3.connect(path) as dst:
            src.backup(dst)
    return f"sqlite://{path}"


def writes_keys(srv, url):
    """A user key and a worker key of the same account: the demo's key (printed after the
    address line), or two new keys for the bench database's first user."""
    email = sql_value(url, "SELECT email FROM users ORDER BY id LIMIT 1")
    if WRITES_ON == "bench":
        return bench.new_key(url, email, "user"), bench.new_key(url, email, "worker")
    for _ in range(3):
        line = srv.proc.stdout.readline().strip()
        if re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", line):
            return line, bench.new_key(url, email, "worker")
    raise SystemExit("matrix: serve --demo printed no key")


def run_writes(backend):
    """WRITE_RUNS runs per binary, interleaved (binary a, b, a, b, …), each on a fresh
    database; the report takes each phase's median over the runs."""
    runs = []
    for run in range(WRITE_RUNS):
        for i, binary in enumerate(BINS):
            bench.BIN = binary
            tmp = Path(tempfile.mkdtemp(prefix="jh-writes-"))
            url = writes_database(backend, i, tmp)
            if WRITES_ON == "bench":
                user_key, worker_key = writes_keys(None, url)
                srv = bench.Server(url)
            else:
                srv = bench.Server(url, {"DEMO_RATE": "0"}, args=["--demo"])
            try:
                if WRITES_ON != "bench":
                    user_key, worker_key = writes_keys(srv, url)
                log(f"{backend}: writes run {run + 1}/{WRITE_RUNS}, {binary}")
                out = subprocess.run([sys.executable, str(ROOT / "bench/writes.py"),
                                      "--url", srv.base, "--user-key", user_key,
                                      "--worker-key", worker_key, "--jobs", str(WRITE_JOBS),
                                      "--concurrency", str(CONNS)],
                                     text=True, capture_output=True)
                for line in out.stdout.splitlines():
                    m = re.match(r"\| (\w+) \| (\d+) \| (\d+) \| ([\d.]+) \| ([\d.]+) \| (.*) \|$",
                                 line)
                    if m:
                        runs.append((backend, i, m.group(1), int(m.group(2)), int(m.group(3)),
                                     float(m.group(4)), float(m.group(5)), m.group(6)))
                if out.returncode not in (0, 1):
                    raise SystemExit(f"matrix: writes.py failed: {out.stderr[-500:]}")
            finally:
                srv.stop()
                if backend == "postgres":
                    bench.psql(os.environ["TEST_DATABASE_URL"],
                               f"DROP DATABASE IF EXISTS {WRITES_PG_DB} WITH (FORCE)")
                for f in tmp.iterdir():
                    f.unlink()
                tmp.rmdir()
    rows = []
    phases = list(dict.fromkeys(r[2] for r in runs))
    for i, binary in enumerate(BINS):
        for phase in phases:
            mine = [r for r in runs if r[1] == i and r[2] == phase]
            if not mine:
                continue
            errors = sorted({r[7] for r in mine} - {"none"}) or ["none"]
            rows.append((backend, binary, phase, mine[0][3],
                         [r[4] for r in mine],
                         statistics.median(r[5] for r in mine),
                         statistics.median(r[6] for r in mine), ", ".join(errors)))
    return rows


# ---------------------------------------------------------------------------------------------
# The machine's conditions: load average sampled through the run, what else was busy.


class Conditions(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.samples, self.stopped = [], threading.Event()
        self.busy = busy_processes()

    def run(self):
        while not self.stopped.wait(5):
            self.samples.append(float(Path("/proc/loadavg").read_text().split()[0]))

    def summary(self):
        s = self.samples or [float(Path("/proc/loadavg").read_text().split()[0])]
        return f"1-min load average sampled every 5 s: min {min(s):.2f}, median " \
               f"{statistics.median(s):.2f}, max {max(s):.2f}"


def busy_processes():
    """Processes using CPU right now (two /proc snapshots 1 s apart), ours excluded."""
    def snap():
        out = {}
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                try:
                    comm = (proc / "comm").read_text().strip()
                    out[proc.name] = (comm, bench.cpu_seconds(proc.name))
                except (FileNotFoundError, ProcessLookupError):
                    pass
        return out
    a = snap()
    time.sleep(1)
    b = snap()
    busy = {}
    for pid, (comm, cpu) in b.items():
        if pid in a and int(pid) != os.getpid():
            busy[comm] = busy.get(comm, 0) + cpu - a[pid][1]
    return ", ".join(f"{c} {v:.0%}" for c, v in sorted(busy.items(), key=lambda kv: -kv[1])
                     if v >= 0.05) or "nothing above 5 % of a core"


def describe(binary):
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()[:12]
    built = datetime.datetime.fromtimestamp(binary.stat().st_mtime, datetime.timezone.utc)
    return f"`{binary}` (sha256 {digest}…, built {built:%Y-%m-%d %H:%M} UTC)"


# ---------------------------------------------------------------------------------------------
# Report.


def fmt_cell(res):
    if res.get("note"):
        return res["error"]
    if res["error"]:
        return f"error {res['error']}"
    ms = res["ms"]
    return f"{statistics.median(ms):.1f} / {pct(ms, 0.9):.1f}"


def shapes_report(backend, results):
    names = [b.name for b in BINS]
    lines = [f"### {backend}", ""]
    if len(BINS) > 1:
        lines += ["Each cell: p50 / p90 ms, " + " → ".join(f"`{n}`" for n in names) + ".", ""]
    lines += ["| # | shape | key | order | matched | " + " | ".join(VARIANT_TITLES) + " |",
              "|---:|---|---|---|---:|" + "---:|" * len(VARIANTS)]
    over = [0] * len(BINS)
    cells_total = 0
    worst = [0.0] * len(BINS)
    for i, (name, r) in enumerate(results.items(), 1):
        shape = r["shape"]
        counts = {res["count"] for res in r["cells"][("first", True)] if res["count"] is not None}
        matched = " ≠ ".join(f"{c:,}" for c in sorted(counts)) or "?"
        cols = []
        for variant in VARIANTS:
            if variant not in r["cells"]:
                cols.append(r["deep_note"] or "n/a")
                over = [o + (r["deep_note"] != "n/a") for o in over]
                cells_total += r["deep_note"] != "n/a"
                continue
            per_side = r["cells"][variant]
            cols.append(" → ".join(fmt_cell(res) for res in per_side))
            cells_total += 1
            for j, res in enumerate(per_side):
                if res["ms"] and not res["error"]:
                    p50 = statistics.median(res["ms"])
                    worst[j] = max(worst[j], p50)
                    over[j] += p50 > TARGET_MS
                else:
                    over[j] += 1
        mark = " (issue)" if shape.issue else ""
        lines.append(f"| {i} | {name}{mark} | {shape.who} | {shape.order_text()} | {matched} | "
                     + " | ".join(cols) + " |")
    lines.append("")
    for j, b in enumerate(BINS):
        lines.append(f"- `{b.name}`: {over[j]} of {cells_total} cells above p50 "
                     f"{TARGET_MS:.0f} ms; "
                     f"slowest p50 {worst[j]:.1f} ms.")
    slow = {n: f"{r['walk_s']:.0f} s" for n, r in results.items() if r["walk_s"] > 10}
    if slow:
        lines.append("- Walks to the deep cursor that took over 10 s: "
                     + ", ".join(f"{n} ({t})" for n, t in slow.items()) + ".")
    return lines + [""]


def load_report(rows):
    lines = ["| backend | page | binary | req/s | p50 ms | p99 ms | errors | server CPU ms/req "
             "| PostgreSQL CPU ms/req |", "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for backend, page, binary, r in rows:
        pg = f"{r['cpu_postgres']:.2f}" if backend == "postgres" else ""
        lines.append(f"| {backend} | {page} | `{binary.name}` | {r['rps']:.0f} | {r['p50']:.1f} | "
                     f"{r['p99']:.1f} | {r['errors']} | {r['cpu_server']:.2f} | {pg} |")
    return lines + [""]


def writes_report(rows):
    lines = ["| backend | binary | phase | requests | req/s | p50 ms | p99 ms | errors |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    for backend, binary, phase, n, rps, p50, p99, errors in rows:
        each = " / ".join(str(r) for r in rps)
        shown = f"{statistics.median(rps):.0f}" + (f" ({each})" if len(rps) > 1 else "")
        lines.append(f"| {backend} | `{binary.name}` | {phase} | {n} | {shown} | {p50:.1f} | "
                     f"{p99:.1f} | {errors} |")
    return lines + [""]


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "shapes"
    if mode not in ("seed", "shapes", "load", "writes", "all"):
        raise SystemExit(__doc__)
    for b in BINS:
        if not b.exists():
            raise SystemExit(f"matrix: no binary at {b} (BENCH_BIN)")
    if mode == "seed":
        bench.BIN = BINS[0]
        if "postgres" in BACKENDS:
            log("PostgreSQL:", bench.prepare_postgres())
        if "sqlite" in BACKENDS:
            log("SQLite:", bench.prepare_sqlite())
        return
    for backend in BACKENDS:
        for i in range(len(BINS)):
            url = backend_url(backend, i)
            jobs = int(sql_value(url, "SELECT count(*) FROM jobs") or 0)
            if jobs < bench.JOBS:
                raise SystemExit(f"matrix: {url} holds {jobs} jobs; run `bench/matrix.py seed`")

    cond = Conditions()
    cond.start()
    started = time.time()
    now = datetime.datetime.now(datetime.timezone.utc)
    sections = []
    if mode in ("shapes", "all"):
        sections += [f"## Shapes, one request at a time", "",
                     f"Full page (first 50, every field, user, inputs, pageInfo), with and without "
                     f"`totalCount`; deep page = the page after a cursor {DEEP:,} rows in (walked "
                     f"once with `after` in pages of 100, given up after {WALK_SECONDS:.0f} s). "
                     f"{WARM} warm-up requests (1 for a slow shape), then up to {N} timed ones per "
                     f"binary (fewer when a cell passes {CELL_SECONDS:.0f} s, at least "
                     f"{MIN_SAMPLES}), interleaved between binaries. p50 / p90 in ms. Matched = "
                     "`totalCount`. Target (issue 13): every p50 ≤ 10 ms.", ""]
        for backend in BACKENDS:
            sections += shapes_report(backend, run_shapes(backend, now))
    if mode in ("load", "all") and not ONLY:
        rows = []
        for backend in BACKENDS:
            rows += run_load(backend, now)
        sections += [f"## Concurrency {CONNS}: {LOAD_SHAPE}, full page with totalCount", "",
                     f"wrk -t1 -c{CONNS} pinned to CPU {bench.LOAD_CPU}, {WARMUP} s warm-up + "
                     f"{DURATION} s; deep = after a cursor {DEEP:,} rows in. One run each.", ""]
        sections += load_report(rows)
    if mode in ("writes", "all") and not ONLY:
        rows = []
        for backend in BACKENDS:
            rows += run_writes(backend)
        on = ("a copy of the binary's 1M-job bench database" if WRITES_ON == "bench" else
              "`serve --demo` (5 000 demo jobs, simulator off) on a fresh database")
        sections += [f"## Writes, concurrency {CONNS}", "",
                     f"`bench/writes.py --jobs {WRITE_JOBS} --inputs 3 --concurrency {CONNS}` "
                     f"against {on}, rate limit off; {WRITE_RUNS} run(s) per binary, interleaved; "
                     "req/s is the median (each run's in brackets), p50/p99 medians.", ""]
        sections += writes_report(rows)
    cond.stopped.set()
    cpu = bench.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"])
    cpu = cpu.stdout.strip()
    head = [f"# job-history shape matrix, {now:%Y-%m-%d %H:%M} UTC{' — ' + LABEL if LABEL else ''}",
            "",
            f"Machine: {os.cpu_count()} cores ({cpu}), shared with other work and noisy: compare "
            "figures within one run only. " + cond.summary() + ". Busy at the start (share of one "
            f"core): {cond.busy}. Run time {time.time() - started:.0f} s.",
            "",
            "Binaries: " + "; ".join(describe(b) for b in BINS) + ". Databases: "
            + ", ".join(sorted({backend_url(be, i) for be in BACKENDS for i in range(len(BINS))}))
            + f", {bench.JOBS:,} jobs (`seed --jobs {bench.JOBS} --accounts 50 --users 2000 "
            "--seed 7`)."
            " Command: `" + " ".join(f"{k}={os.environ[k]}" for k in (
                "BENCH_BIN", "BENCH_PG", "BENCH_SQLITE", "BACKENDS", "N", "LABEL")
                if k in os.environ) + f" python3 bench/matrix.py {mode}`.",
            ""]
    text = "\n".join(head + sections)
    print(text)
    if mode == "all" and not ONLY:
        suffix = f"-{LABEL}" if LABEL else ""
        out = ROOT / "bench/results" / f"{now:%Y-%m-%d-%H%M}-matrix{suffix}.md"
        out.write_text(text)
        log(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
