#!/usr/bin/env python3
"""The dashboard query of issue 14 at 1M jobs: a 180-day daily chart across all accounts, grouped
by status and model (percentiles per day and per group), on PostgreSQL and SQLite.

    python3 bench/dashboard.py             # copies jh_bench and the SQLite file, measures, drops
    BENCH_BIN=target/release/job-history KEEP=1 python3 bench/dashboard.py

Reuses bench.py (server, wrk, CPU accounting). Never touches the seeded databases: it measures
on copies (`CREATE DATABASE … TEMPLATE jh_bench`, SQLite's online backup), times the binary's
migration of each copy (`job-history migrate`: its pending migrations, then folding the
statistics' rows into packed values — the whole upgrade of a 1M-job database), then per
backend: `N` (50) sequential requests on one connection after 5 warm-up ones (p50, p90), and
`wrk -t1 -c32` pinned to `LOAD_CPU` for `DURATION` s after `WARMUP` s (req/s, p50, p99, CPU per
request). The query is bench.py's `DASHBOARD` (also a workload of `bench/run`), within the
default complexity limit.
"""

import http.client
import json
import os
import sqlite3
import statistics
import tempfile
import time
import urllib.parse
from pathlib import Path

import bench
from bench import DASHBOARD, Server, dashboard_variables, log, lua_script, psql, run, wrk

N = int(os.environ.get("N", "50"))
KEEP = os.environ.get("KEEP") == "1"

def copy_postgres():
    admin = os.environ["TEST_DATABASE_URL"]
    psql(admin, "DROP DATABASE IF EXISTS jh_stats_bench WITH (FORCE)")
    psql(admin, "CREATE DATABASE jh_stats_bench TEMPLATE jh_bench")
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(admin)._replace(path="/jh_stats_bench"))


def copy_sqlite():
    target = Path(tempfile.mkdtemp()) / "stats-bench.db"
    with sqlite3.connect(bench.SQLITE_PATH) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return f"sqlite://{target}", target


def migrate(url):
    started = time.time()
    run([str(bench.BIN), "migrate"], env={"DATABASE_URL": url, "LOG_LEVEL": "warn"})
    return time.time() - started


def sequential(srv, key, body):
    parsed = urllib.parse.urlsplit(srv.base)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
    headers = {"content-type": "application/json", "authorization": f"ApiKey {key}"}
    times = []
    for i in range(5 + N):
        started = time.perf_counter()
        conn.request("POST", "/graphql", body, headers)
        answer = json.loads(conn.getresponse().read())
        if answer.get("errors"):
            raise SystemExit(f"dashboard: the query failed: {answer['errors']}")
        if i >= 5:
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50": statistics.median(times), "p90": times[int(len(times) * 0.9) - 1],
            "bytes": len(json.dumps(answer))}


def measure(url, label):
    seconds = migrate(url)
    log(f"{label}: migrated in {seconds:.1f} s")
    key = bench.admin_key(url)
    body = json.dumps({"query": DASHBOARD, "variables": dashboard_variables(), "operationName": "Dashboard"})
    srv = Server(url)
    try:
        seq = sequential(srv, key, body)
        script = Path(tempfile.mkdtemp()) / "dashboard.lua"
        lua_script(script, key, body)
        wrk(srv.base + "/graphql", script, bench.WARMUP, bench.CONNS)
        load = wrk(srv.base + "/graphql", script, bench.DURATION, bench.CONNS, srv.proc.pid)
    finally:
        srv.stop()
    return {"label": label, "migration_s": seconds, **seq, "load": load}


def print_header():
    print(f"Dashboard query at {bench.JOBS:,} jobs (180 daily buckets, all accounts, STATUS × MODEL, "
          f"groupLimit 20); {N} sequential requests, then wrk -t1 -c{bench.CONNS} for {bench.DURATION} s.\n")
    print("| backend | migration s | sequential p50 ms | p90 ms | answer KB | c=32 req/s | c=32 p50 ms "
          "| c=32 p99 ms | errors | server CPU ms/req | PostgreSQL CPU ms/req |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)


def print_row(r):
    l = r["load"]
    pg_cpu = f"{l['cpu_postgres']:.2f}" if r["label"] == "PostgreSQL" else ""
    print(f"| {r['label']} | {r['migration_s']:.1f} | {r['p50']:.1f} | {r['p90']:.1f} | {r['bytes'] / 1024:.0f} "
          f"| {l['rps']:.0f} | {l['p50']:.1f} | {l['p99']:.1f} | {l['errors']} | {l['cpu_server']:.2f} | {pg_cpu} |",
          flush=True)


def main():
    backends = [b.strip() for b in os.environ.get("BACKENDS", "postgres,sqlite").split(",")]
    print_header()
    if "postgres" in backends:
        pg = copy_postgres()
        try:
            print_row(measure(pg, "PostgreSQL"))
        finally:
            if not KEEP:
                psql(os.environ["TEST_DATABASE_URL"], "DROP DATABASE IF EXISTS jh_stats_bench WITH (FORCE)")
    if "sqlite" in backends:
        lite, path = copy_sqlite()
        try:
            print_row(measure(lite, "SQLite"))
        finally:
            if not KEEP:
                for p in path.parent.glob(path.name + "*"):
                    p.unlink()


if __name__ == "__main__":
    main()
