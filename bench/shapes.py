#!/usr/bin/env python3
"""Latency of a dozen history shapes, sequential, under each PostgreSQL plan_cache_mode.

Needs the 1M-job database `bench/run` seeds (`jh_bench`) and a release build:
    TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python3 bench/shapes.py
Prints the median of 20 requests (after 5 warm-up) per shape and mode. It is how the default
`DATABASE_PLAN_CACHE_MODE=auto` was chosen: generic plans are faster for status/date/sort
pages and far slower for selective filters (see docs/ARCHITECTURE.md, Performance).
"""

import datetime
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

URL = os.environ.get("BENCH_URL", "postgres://postgres@127.0.0.1:5432/jh_bench")
QUERY = """query($filter: JobFilter, $orderBy: JobOrder) { jobs(first: 50, filter: $filter, orderBy: $orderBy) {
  totalCount pageInfo { endCursor } edges { node { jobIdentifier status createdAt user { email } jobInputs { identifier } } } } }"""


def main():
    admin = bench.admin_key(URL)
    user = bench.new_key(URL, bench.psql(URL, "SELECT email FROM users ORDER BY id LIMIT 1"), "user")
    someone = bench.psql(URL, "SELECT first_name FROM users ORDER BY id LIMIT 1 OFFSET 7")
    since = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=91)).strftime("%Y-%m-%dT%H:%M:%SZ")
    shapes = {
        "admin, no filter": (admin, {}),
        "admin, TERMINATED, 91 days": (admin, {"filter": {"status": "TERMINATED", "createdAt": {"from": since}}}),
        "admin, PENDING": (admin, {"filter": {"status": "PENDING"}}),
        "admin, TIMEDOUT": (admin, {"filter": {"status": "TIMEDOUT"}}),
        "admin, user filter (a first name)": (admin, {"filter": {"user": someone}}),
        "admin, user filter matching nobody": (admin, {"filter": {"user": "no-such-person"}}),
        "admin, model name": (admin, {"filter": {"model": "Sentiment"}}),
        "admin, by ELAPSED_TIME desc": (admin, {"orderBy": {"field": "ELAPSED_TIME", "direction": "DESC"}}),
        "user key, no filter": (user, {}),
        "user key, TERMINATED, 91 days": (user, {"filter": {"status": "TERMINATED", "createdAt": {"from": since}}}),
        "user key, by ELAPSED_TIME asc": (user, {"orderBy": {"field": "ELAPSED_TIME", "direction": "ASC"}}),
        "user key, by STATUS": (user, {"orderBy": {"field": "STATUS"}}),
        "user key, updatedAt range": (user, {"filter": {"updatedAt": {"from": since}}}),
    }
    modes = ["auto", "force-generic-plan"]
    medians = {}
    for mode in modes:
        srv = bench.Server(URL, {"DATABASE_PLAN_CACHE_MODE": mode})
        try:
            for name, (key, variables) in shapes.items():
                times = []
                for _ in range(25):
                    started = time.perf_counter()
                    srv.gql(key, QUERY, variables)
                    times.append((time.perf_counter() - started) * 1000)
                medians.setdefault(name, {})[mode] = statistics.median(times[5:])
        finally:
            srv.stop()
    print(f"| shape | {' | '.join(modes)} |\n|---|" + "---:|" * len(modes))
    for name, by_mode in medians.items():
        print(f"| {name} | " + " | ".join(f"{by_mode[m]:.1f} ms" for m in modes) + " |")


if __name__ == "__main__":
    main()
