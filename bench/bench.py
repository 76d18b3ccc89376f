#!/usr/bin/env python3
"""Benchmark driver (called by bench/run, which provides TEST_DATABASE_URL, wrk and pgbench).

Seeds (or reuses) 1M jobs on PostgreSQL and SQLite, starts the release server, runs each
workload with wrk (pinned to one core with taskset) interleaved over several rounds, replays
the server's own SQL for the history page with pgbench as the floor, and writes a markdown
table under bench/results/.
"""

import datetime
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(os.environ.get("BENCH_BIN", ROOT / "target/release/job-history"))  # BENCH_BIN: compare builds
DATA = ROOT / "bench/.data"
# BENCH_SQLITE: the seeded SQLite file, e.g. one shared by several worktrees.
SQLITE_PATH = Path(os.environ.get("BENCH_SQLITE", DATA / "bench.db"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
DURATION = int(os.environ.get("DURATION", "10"))
WARMUP = int(os.environ.get("WARMUP", "3"))
CONNS = int(os.environ.get("CONNS", "32"))
JOBS = int(os.environ.get("BENCH_JOBS", "1000000"))
LOAD_CPU = os.environ.get("LOAD_CPU", "1")  # the core wrk and pgbench are pinned to
# INSTRUCTIONS=0: skip the callgrind counts (about 20 s per workload).
COUNT_INSTRUCTIONS = os.environ.get("INSTRUCTIONS", "1") != "0"
# ONLY=history,details: run only the workloads whose names contain one of these (for quick
# iterations; "sqlite" and "floor" name the SQLite run and pgbench). Empty: everything.
ONLY = [w.strip() for w in os.environ.get("ONLY", "").split(",") if w.strip()]


def wanted(name):
    return not ONLY or any(w in name for w in ONLY)

FIELDS = """jobIdentifier submittedBy accountIdentifier status createdAt updatedAt submittedAt
  total pending completed failed elapsedTime queueTime timeout explain inputByteAmount
  imageClassificationModel model { identifier version name }"""
HISTORY = """query History($after: String, $from: DateTime!) {
  jobs(first: 50, after: $after, filter: { status: TERMINATED, createdAt: { from: $from } }) {
    %s
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { %s user { firstName lastName email } jobInputs { identifier status byteAmount } } }
  }
}"""


def history(count):
    return HISTORY % ("totalCount" if count else "", FIELDS)


DETAILS = """query Details($j: String!) { job(jobIdentifier: $j) { %s user { firstName lastName email }
  jobInputs { identifier status byteAmount startedAt finishedAt } } }""" % FIELDS


# Issue 14's dashboard: a 180-day daily chart across all accounts, grouped by status and model
# (21 groups per day), with percentiles per day and per group; within the default complexity
# limit (10 000: this measures ~9 100).
DASHBOARD = """query Dashboard($from: DateTime!) {
  jobStatistics(filter: { createdAt: { from: $from } }, bucket: DAY, groupBy: [STATUS, MODEL],
                groupLimit: 20) {
    buckets { start total { jobs elapsedTime { p50 p95 } } groups { figures { jobs } } }
    groups {
      key { status model { name version } other }
      figures { jobs inputs { total failed byteAmount } queueTime { mean p50 p99 }
                elapsedTime { p50 p95 p99 max } }
    }
    total { jobs queueTime { p50 p99 } elapsedTime { p50 p99 } }
  }
}"""


def dashboard_variables():
    """180 whole UTC days up to today's."""
    today = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return {"from": (today - datetime.timedelta(days=179)).strftime("%Y-%m-%dT%H:%M:%SZ")}


def log(*args):
    print("bench:", *args, file=sys.stderr, flush=True)


def run(cmd, env=None, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, env={**os.environ, **(env or {})}, **kw)


def psql(url, sql):
    return run(["psql", url, "-tAqc", sql]).stdout.strip()


def job_count_pg(url):
    try:
        return int(psql(url, "SELECT count(*) FROM jobs") or 0)
    except subprocess.CalledProcessError:
        return 0


def prepare_postgres():
    admin = os.environ["TEST_DATABASE_URL"]
    parts = urllib.parse.urlsplit(admin)
    url = urllib.parse.urlunsplit(parts._replace(path="/jh_bench"))
    if job_count_pg(url) < JOBS:
        log(f"seeding {JOBS} jobs into PostgreSQL (once; reused by later runs)")
        psql(admin, "DROP DATABASE IF EXISTS jh_bench WITH (FORCE)")
        psql(admin, "CREATE DATABASE jh_bench")
        seed(url)
        psql(url, "VACUUM ANALYZE")
    return url


def prepare_sqlite():
    path = SQLITE_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    marker = path.with_name(path.name + ".seeded")
    if not marker.exists() or marker.read_text().strip() != str(JOBS):
        log(f"seeding {JOBS} jobs into SQLite at {path} (once)")
        for p in path.parent.glob(path.name + "*"):
            p.unlink()
        seed(f"sqlite://{path}")
        marker.write_text(str(JOBS))
    return f"sqlite://{path}"


def seed(url):
    started = time.time()
    out = run([str(BIN), "seed", "--jobs", str(JOBS), "--accounts", "50", "--users", "2000", "--seed", "7"],
              env={"DATABASE_URL": url, "LOG_LEVEL": "warn"}).stdout
    log(out.strip(), f"({time.time() - started:.1f} s wall)")


def admin_key(url):
    return new_key(url, "bench-admin@example.com", "admin")


def new_key(url, email, role):
    out = run([str(BIN), "keys", "create", "--user", email, "--role", role],
              env={"DATABASE_URL": url, "LOG_LEVEL": "warn"})
    return out.stdout.strip()


class Server:
    def __init__(self, url, extra_env=None, stderr=None, wrapper=(), args=()):
        env = {**os.environ, "DATABASE_URL": url, "RATE_LIMIT_PER_SECOND": "0", "LOG_LEVEL": "warn",
               "TIMEOUT_SWEEP_MS": "0", **(extra_env or {})}
        self.proc = subprocess.Popen([*wrapper, str(BIN), "serve", "--port", "0", *args], env=env, stdout=subprocess.PIPE,
                                     stderr=stderr or subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"http://[0-9.:]+", line)
        if not m:
            raise SystemExit(f"bench: the server did not start: {line!r}")
        self.base = m.group(0)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)

    def peak_rss_mb(self):
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def metric(self, name):
        text = urllib.request.urlopen(self.base + "/metrics").read().decode()
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return 0.0

    def gql(self, key, query, variables, operation=None):
        body = json.dumps({"query": query, "variables": variables, "operationName": operation}).encode()
        req = urllib.request.Request(self.base + "/graphql", data=body, headers={
            "content-type": "application/json", "authorization": f"ApiKey {key}"})
        data = json.loads(urllib.request.urlopen(req).read())
        if data.get("errors"):
            raise SystemExit(f"bench: workload query failed: {data['errors']}")
        return data["data"]


    def rest(self, key, path):
        req = urllib.request.Request(self.base + path, headers={"authorization": f"ApiKey {key}"})
        with urllib.request.urlopen(req) as answer:  # raises on any status but 2xx
            return json.loads(answer.read())


def rest_path(since, after_page=1):
    """The REST history route asking for the GraphQL history page's rows (no totalCount: the
    route has none): TERMINATED jobs created since `since`, 50 per page."""
    query = urllib.parse.urlencode({"status": "terminated", "startDate": since, "per-page": 50,
                                    "page": after_page})
    return f"/api/jobs/history?{query}"


def ask(srv, key, body):
    """One request of a workload: a GraphQL body, or {"rest": path}."""
    if "rest" in body:
        return srv.rest(key, body["rest"])
    return srv.gql(key, body["query"], body["variables"], body["operationName"])


def lua_script(path, key, body):
    """A wrk script sending `body` (a GraphQL request, or {"rest": path}: a GET of the URL wrk
    is given) as `key` and counting failed answers: a non-200, or GraphQL `errors`."""
    if "rest" in json.loads(body):
        request = f"""
wrk.method = "GET"
wrk.headers["Authorization"] = "ApiKey {key}"
"""
        failed = "status ~= 200"
    else:
        request = f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "ApiKey {key}"
wrk.body = {json.dumps(body)}
"""
        failed = """status ~= 200 or string.find(body, '"errors"', 1, true)"""
    path.write_text(request + f"""
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
errors = 0
first_error = ""
function response(status, headers, body)
  if {failed} then
    errors = errors + 1
    if errors == 1 then first_error = status .. " " .. string.sub(body, 1, 200) end
  end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do
    n = n + t:get("errors")
    if t:get("errors") > 0 then io.write("FIRST_ERROR " .. t:get("first_error") .. "\\n") end
  end
  io.write(string.format("GRAPHQL_ERRORS %d\\n", n))
end
""")
    # Each wrk thread runs response() in its own Lua state and done() runs in the main one: the
    # count is read from each thread's global `errors` (a `local` in done() was always 0).


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User + system CPU time of one process and of its children that have exited (a
    PostgreSQL backend that ends during a run is counted in the postmaster), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return sum(int(f) for f in fields[11:15]) / CLOCK_TICKS


def cpu_snapshot(server_pid):
    """CPU seconds used so far by the server and by every PostgreSQL process."""
    postgres = 0.0
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "comm").read_text().strip() == "postgres":
                    postgres += cpu_seconds(proc.name)
            except (FileNotFoundError, ProcessLookupError):
                pass
    return {"server": cpu_seconds(server_pid) if server_pid else 0.0, "postgres": postgres}


def cpu_per_unit(before, after, units):
    """CPU milliseconds per request (or transaction) of the server and of PostgreSQL."""
    return {k: (after[k] - before[k]) * 1000 / max(units, 1) for k in before}


def wrk(url, script, seconds, conns, server_pid=None):
    cmd = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "--timeout", "30s",
           "-s", str(script), url]
    before = cpu_snapshot(server_pid)
    out = run(cmd).stdout
    cpu = cpu_per_unit(before, cpu_snapshot(server_pid), int(re.search(r"(\d+) requests in", out).group(1)))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def ms(label):
        m = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)\b", out)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = sum(int(x) for x in socket.groups()) if socket else 0
    errors += int(re.search(r"GRAPHQL_ERRORS (\d+)", out).group(1))
    first = re.search(r"^FIRST_ERROR (.*)$", out, re.M)
    if first:
        log(f"wrk: {errors} failed responses; the first: {first.group(1)}")
    return {"rps": rps, "p50": ms("50"), "p99": ms("99"), "errors": errors,
            "cpu_server": cpu["server"], "cpu_postgres": cpu["postgres"]}


def instructions(url, keys, workloads, requests=50):
    """Instructions the server executes per request of each workload, counted by callgrind over
    `requests` sequential requests on one keep-alive connection after a warm-up. Unlike req/s
    and CPU time, the count repeats to ~0.1 % for the same build and data whatever else the
    machine is doing, so two builds compare on it (BENCH_BIN=…). None without valgrind."""
    if not shutil.which("valgrind"):
        log("valgrind not found: no instruction counts")
        return None
    out = Path(tempfile.mkdtemp())
    srv = Server(url, wrapper=["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/cg.%p"])
    counts = {}
    try:
        host, port = urllib.parse.urlsplit(srv.base).netloc.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=120)
        for i, (name, body) in enumerate(workloads.items()):
            headers = {"content-type": "application/json", "authorization": f"ApiKey {keys[name]}"}

            def one():
                if "rest" in body:
                    conn.request("GET", body["rest"], headers=headers)
                    response = conn.getresponse()
                    answer = response.read()
                    failed = response.status != 200
                else:
                    conn.request("POST", "/graphql", json.dumps(body), headers)
                    answer = conn.getresponse().read()
                    failed = b'"errors"' in answer
                if failed:
                    raise SystemExit(f"bench: workload query failed: {answer[:300]!r}")

            for _ in range(10):
                one()
            run(["callgrind_control", "-z", str(srv.proc.pid)])
            for _ in range(requests):
                one()
            run(["callgrind_control", "-d", f"w{i}", str(srv.proc.pid)])
            dump = next(f for f in out.iterdir()
                        if re.search(rf"^desc: Trigger: .* w{i}$", f.read_text(errors="replace")[:4000], re.M))
            total = next(int(line.split()[1]) for line in dump.read_text(errors="replace").splitlines()
                         if line.startswith(("summary:", "totals:")))
            counts[name] = total / requests
            log(f"instructions: {name}: {counts[name] / 1e6:.2f} M per request")
    finally:
        srv.stop()
    return counts


def capture_sql(url, key, variables):
    """The exact statements the server runs for one history page (auth cache warm)."""
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as err:
        srv = Server(url, {"LOG_LEVEL": "job_history::sql=trace"}, stderr=err)
        try:
            srv.gql(key, history(True), variables, "History")  # warms the key cache
            err.seek(0, os.SEEK_END)
            mark = err.tell()
            srv.gql(key, history(True), variables, "History")
            err.seek(mark)
            lines = err.read()
        finally:
            srv.stop()
    statements = []
    for line in lines.splitlines():
        m = re.search(r"job_history::sql: (.*)$", line)
        if m:
            statements.append(m.group(1))
    return [to_literal_sql(s) for s in statements]


def to_literal_sql(text):
    sql, _, binds = text.partition(" -- binds: ")
    values = parse_binds(binds.strip()) if binds else []
    for i in range(len(values), 0, -1):
        sql = sql.replace(f"${i}", values[i - 1])
    return sql


JOB_STATUS_CODES = {"Submitted": 0, "InProgress": 1, "Completed": 2, "Canceled": 3, "Timedout": 4, "Error": 5}


def parse_binds(s):
    """Diesel's Debug rendering of bind values into SQL literals."""
    pos = 0

    def value():
        nonlocal pos
        if s[pos] == "[":
            pos += 1
            items = []
            while s[pos] != "]":
                items.append(value())
                if s[pos] == ",":
                    pos += 2
            pos += 1
            return "ARRAY[" + ", ".join(items) + "]"
        if s[pos] == '"':
            end = pos + 1
            while s[end] != '"':
                end += 2 if s[end] == "\\" else 1
            raw = json.loads(s[pos:end + 1])
            pos = end + 1
            return "'" + raw.replace("'", "''") + "'"
        m = re.compile(r"[^,\]]+").match(s, pos)
        pos = m.end()
        return scalar(m.group(0).strip())

    def scalar(token):
        wrapped = re.fullmatch(r"(\w+)\((.*)\)", token)
        if wrapped and wrapped.group(1) != "Some":
            return scalar(wrapped.group(2))  # an id newtype (`UserId(7)`): its value
        if re.fullmatch(r"-?\d+", token):
            return token
        if re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+", token):
            return f"'{token.replace('T', ' ')}'::timestamp"
        if token in ("true", "false"):
            return token
        if token.startswith("Some("):
            return scalar(token[5:-1])
        if token == "None":
            return "NULL"
        if token in JOB_STATUS_CODES:
            # A typed status bind prints as its variant; the history page binds job statuses
            # only (domain::JobStatus's discriminants, the migration's codes).
            return str(JOB_STATUS_CODES[token])
        raise SystemExit(f"bench: cannot replay bind {token!r}")

    out = []
    assert s[0] == "["
    pos = 1
    while s[pos] != "]":
        out.append(value())
        if s[pos] == ",":
            pos += 2
    return out


def pgbench(url, statements, seconds, conns):
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        for sql in statements:
            f.write(sql.replace("\n", " ") + ";\n")
        script = f.name
    before = cpu_snapshot(None)
    out = run(["taskset", "-c", LOAD_CPU, "pgbench", "-n", "-M", "prepared", "-c", str(conns), "-j", "1", "-T", str(seconds),
               "-f", script, url]).stdout
    os.unlink(script)
    done = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
    cpu = cpu_per_unit(before, cpu_snapshot(None), done)
    return {"tps": float(re.search(r"tps = ([\d.]+)", out).group(1)), "cpu_postgres": cpu["postgres"]}


def main():
    pg_url = prepare_postgres()
    sqlite_url = prepare_sqlite()
    key = admin_key(pg_url)
    # A seeded user: its key sees one account (~20 000 jobs), as a tenant's frontend would.
    user_key = new_key(pg_url, psql(pg_url, "SELECT email FROM users ORDER BY id LIMIT 1"), "user")
    sqlite_key = admin_key(sqlite_url)
    since = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=91)).strftime("%Y-%m-%dT%H:%M:%SZ")
    variables = {"from": since, "after": None}

    statements = capture_sql(pg_url, key, variables)
    log(f"captured {len(statements)} statements per history page")

    srv = Server(pg_url)
    work = Path(tempfile.mkdtemp())
    try:
        # A cursor ~10 000 rows into the history, and a job for the details workload.
        after = None
        for _ in range(200):
            page = srv.gql(key, history(False), {**variables, "after": after}, "History")["jobs"]
            after = page["pageInfo"]["endCursor"]
        job = page["edges"][0]["node"]["jobIdentifier"]
        workloads = {
            "history page": {"query": history(True), "variables": variables, "operationName": "History"},
            "history page, no totalCount": {"query": history(False), "variables": variables, "operationName": "History"},
            "deep page (after 10 000 rows)": {"query": history(True), "variables": {**variables, "after": after}, "operationName": "History"},
            "job details": {"query": DETAILS, "variables": {"j": job}, "operationName": "Details"},
            "history page, one account (user key)": {"query": history(True), "variables": variables, "operationName": "History"},
            # The same rows as "history page, no totalCount", through Modzy's REST route.
            "REST history page (GET /api/jobs/history)": {"rest": rest_path(since)},
            "REST deep page (page 201, after 10 000 rows)": {"rest": rest_path(since, 201)},
            "dashboard (jobStatistics: 180 days × STATUS × MODEL)": {
                "query": DASHBOARD, "variables": dashboard_variables(), "operationName": "Dashboard"},
        }
        workloads = {name: body for name, body in workloads.items() if wanted(name)}
        keys = {name: user_key if "user key" in name else key for name in workloads}
        scripts = {}
        for i, (name, body) in enumerate(workloads.items()):
            scripts[name] = work / f"w{i}.lua"
            lua_script(scripts[name], keys[name], json.dumps(body))
            ask(srv, keys[name], body)  # fails loudly if broken
        results = {name: [] for name in workloads}
        floors = []
        statements_per_request = {}
        for r in range(ROUNDS):
            for name, script in scripts.items():
                log(f"round {r + 1}/{ROUNDS}: {name}")
                target = srv.base + workloads[name].get("rest", "/graphql")
                wrk(target, script, WARMUP, CONNS)
                results[name].append(wrk(target, script, DURATION, CONNS, srv.proc.pid))
            if wanted("floor"):
                log(f"round {r + 1}/{ROUNDS}: pgbench floor")
                floors.append(pgbench(pg_url, statements, DURATION, CONNS))
        # Statements per request, from the server's /metrics around each of 20 sequential
        # requests, median: under wrk, the requests it abandons when its time is up have run
        # statements but never complete, which would inflate a ratio taken over the load run;
        # and a request that happens to refresh its key's cached lookup (one statement per key
        # per AUTH_CACHE_TTL_MS, 5 s: one in ~2 000 requests at these rates) is not a page's cost.
        for name, body in workloads.items():
            settle(srv)
            deltas = []
            for _ in range(20):
                before = srv.metric("jh_sql_statements_total")
                ask(srv, keys[name], body)
                deltas.append(srv.metric("jh_sql_statements_total") - before)
            statements_per_request[name] = statistics.median(deltas)
        rss = srv.peak_rss_mb()
    finally:
        srv.stop()

    counts = instructions(pg_url, keys, workloads) if COUNT_INSTRUCTIONS and workloads else None

    sqlite_runs = []
    lite = Server(sqlite_url) if wanted("sqlite") else None
    try:
        body = {"query": history(True), "variables": variables, "operationName": "History"}
        lua_script(work / "lite.lua", sqlite_key, json.dumps(body))
        if lite:
            lite.gql(sqlite_key, body["query"], body["variables"], "History")
            wrk(lite.base + "/graphql", work / "lite.lua", WARMUP, 1)
            sqlite_runs = [wrk(lite.base + "/graphql", work / "lite.lua", DURATION, 1, lite.proc.pid)
                           for _ in range(ROUNDS)]
    finally:
        if lite:
            lite.stop()

    report(results, floors, statements, statements_per_request, rss, sqlite_runs, counts)


def settle(srv):
    """Waits until the server has answered every request wrk left in flight."""
    last = -1.0
    while True:
        now = sum_requests(srv)
        if now == last:
            return
        last = now
        time.sleep(0.5)


def sum_requests(srv):
    text = urllib.request.urlopen(srv.base + "/metrics").read().decode()
    return sum(float(l.split()[1]) for l in text.splitlines()
               if l.startswith(("jh_graphql_requests_total{", "jh_rest_requests_total{")))


def med(runs, key):
    return statistics.median(r[key] for r in runs)


def report(results, floors, statements, per_request, rss, sqlite_runs, counts):
    cpu = run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).stdout.strip()
    lines = [
        f"# job-history benchmark, {datetime.date.today().isoformat()}",
        "",
        f"Machine: {os.cpu_count()} cores ({cpu}). PostgreSQL and SQLite at {JOBS:,} jobs "
        f"(50 accounts, 2 000 users, 1–5 inputs each). wrk -t1 -c{CONNS} pinned to CPU {LOAD_CPU}, "
        f"{WARMUP} s warm-up + {DURATION} s per run, {ROUNDS} interleaved rounds, medians. Admin key "
        "(history across all accounts) unless the workload says otherwise. History page = TERMINATED jobs created in the last 91 days, "
        "first 50, every scalar field, user and inputs, pageInfo. CPU columns: CPU time per request of the server "
        "process and of all PostgreSQL processes together, measured from /proc over the same runs. "
        "SQL statements/request: median over 20 sequential requests. Server instructions: counted by "
        "callgrind over 50 sequential requests on one connection; repeatable to ~0.1 % for a build, whatever the machine's noise.",
        "",
        "| workload | req/s | p50 ms | p99 ms | p99/p50 | errors | SQL statements/request | server CPU ms/req | PostgreSQL CPU ms/req | server instructions/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows = dict(results)
    if sqlite_runs:
        rows["history page, SQLite, concurrency 1"] = sqlite_runs
    for name, runs in rows.items():
        p50, p99 = med(runs, "p50"), med(runs, "p99")
        errors = sum(r["errors"] for r in runs)
        per = f"{per_request[name]:.2f}" if name in per_request else ""
        pg_cpu = f"{med(runs, 'cpu_postgres'):.2f}" if "SQLite" not in name else ""
        instr = f"{counts[name] / 1e6:.2f} M" if counts and name in counts else ""
        lines.append(f"| {name} | {med(runs, 'rps'):.0f} | {p50:.1f} | {p99:.1f} | {p99 / p50:.1f} | {errors} | {per} "
                     f"| {med(runs, 'cpu_server'):.2f} | {pg_cpu} | {instr} |")
    lines.append("")
    hist = med(results["history page"], "rps") if "history page" in results else None
    if floors:
        floor = statistics.median(f["tps"] for f in floors)
        rounds = ", ".join(f"{f['tps']:.0f}" for f in floors)
        lines.append(
            f"- **Floor**: pgbench replaying the server's {len(statements)} statements of one history page "
            f"(captured from the server, `-M prepared`, -c{CONNS}): **{floor:.0f} tps** "
            f"(rounds: {rounds}), PostgreSQL CPU "
            f"{statistics.median(f['cpu_postgres'] for f in floors):.2f} ms per transaction.")
        if hist:
            lines.append(f"- History page throughput / floor: **{hist / floor:.0%}**.")
    if hist:
        for name, label in (("deep page (after 10 000 rows)", "Deep page / first page"),
                            ("history page, no totalCount", "Without totalCount / with")):
            if name in results:
                lines.append(f"- {label}: **{med(results[name], 'rps') / hist:.2f}×**.")
    same = "history page, no totalCount"
    for name, label in (("REST history page (GET /api/jobs/history)", "REST history page / GraphQL"),
                        ("REST deep page (page 201, after 10 000 rows)", "REST page 201 / GraphQL")):
        if name in results and same in results:
            lines.append(f"- {label} (the same rows, without totalCount): "
                         f"**{med(results[name], 'rps') / med(results[same], 'rps'):.2f}×** req/s.")
    lines += [
        f"- Server peak RSS (VmHWM) over the PostgreSQL runs: **{rss:.0f} MB**.",
        "",
        "Statements replayed for the floor:",
        "",
        "```sql",
        *[s[:400] + (" …" if len(s) > 400 else "") + ";" for s in statements],
        "```",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if ONLY:
        log("a partial run (ONLY is set): not written under bench/results")
        return
    out = ROOT / "bench/results" / f"{datetime.datetime.now().strftime('%Y-%m-%d-%H%M')}.md"
    out.write_text(text)
    log(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
