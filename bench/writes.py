#!/usr/bin/env python3
"""Write-path throughput: submitJob, startJob and reportInputResult at a fixed concurrency.

Against a running server (loopback only), with a user key (submits) and a worker key of the same
account (starts and reports):

    bench/writes.py --url http://127.0.0.1:8080 --user-key P.S --worker-key P.S \
        [--jobs 400] [--inputs 3] [--concurrency 32]

Phases, each timed on its own: submit JOBS jobs of INPUTS inputs; start each; report each input
(the last report of a job completes it). Prints per phase: requests, requests/s, p50/p99 latency
and errors by `extensions.code` (transport failures as TRANSPORT). Exits 1 when any request
failed, so a run is also a check that concurrent writers get no errors.

The client is Python threads (one HTTP/1.1 keep-alive connection each) on the same 2 cores as
the server: compare figures within one run or between builds run the same way, not with wrk's.
"""

import argparse
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse
from collections import Counter

SUBMIT = """mutation($input: SubmitJobInput!) {
  submitJob(input: $input) { jobIdentifier status total } }"""
START = """mutation($id: String!) { startJob(jobIdentifier: $id) { status } }"""
REPORT = """mutation($id: String!, $name: String!) {
  reportInputResult(jobIdentifier: $id, inputName: $name, outcome: COMPLETED) {
    status pending } }"""


class Client:
    """One keep-alive connection; `post` answers (data, error code or None, seconds)."""

    def __init__(self, url, key):
        parsed = urllib.parse.urlparse(url)
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.key = key
        self.conn = None

    def post(self, query, variables):
        body = json.dumps({"query": query, "variables": variables})
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"ApiKey {self.key}",
        }
        started = time.perf_counter()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self.conn.request("POST", "/graphql", body, headers)
            answer = json.loads(self.conn.getresponse().read())
        except (OSError, http.client.HTTPException, ValueError):
            self.conn = None
            return None, "TRANSPORT", time.perf_counter() - started
        elapsed = time.perf_counter() - started
        errors = answer.get("errors")
        if errors:
            code = (errors[0].get("extensions") or {}).get("code", "NO_CODE")
            return None, code, elapsed
        return answer.get("data"), None, elapsed


def phase(name, url, key, concurrency, tasks):
    """Runs `tasks` (query, variables) on `concurrency` threads; prints and returns results."""
    lock = threading.Lock()
    queue = list(enumerate(tasks))
    results = [None] * len(tasks)
    latencies, codes = [], Counter()

    def worker():
        client = Client(url, key)
        while True:
            with lock:
                if not queue:
                    return
                index, (query, variables) = queue.pop()
            data, code, seconds = client.post(query, variables)
            with lock:
                results[index] = data
                latencies.append(seconds)
                if code:
                    codes[code] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    errors = ", ".join(f"{c} {n}" for c, n in codes.most_common()) or "none"
    print(
        f"| {name} | {len(tasks)} | {len(tasks) / wall:.0f} | {p50:.1f} | {p99:.1f} | {errors} |"
    )
    return results, sum(codes.values())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--user-key", required=True)
    parser.add_argument("--worker-key", required=True)
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--inputs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    host = urllib.parse.urlparse(args.url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("writes.py: loopback only")

    models, code, _ = Client(args.url, args.user_key).post(
        "{ models { identifier version } }", {}
    )
    if code:
        sys.exit(f"writes.py: cannot list models: {code}")
    model = models["models"][0]
    names = [f"input-{i}" for i in range(args.inputs)]
    job = {
        "model": {"identifier": model["identifier"], "version": model["version"]},
        "inputs": [{"name": n, "byteAmount": 1024} for n in names],
    }

    print(f"concurrency {args.concurrency}, {args.jobs} jobs of {args.inputs} inputs")
    print("| phase | requests | req/s | p50 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---|")
    failed = 0
    submitted, n = phase(
        "submitJob", args.url, args.user_key, args.concurrency,
        [(SUBMIT, {"input": job})] * args.jobs,
    )
    failed += n
    ids = [d["submitJob"]["jobIdentifier"] for d in submitted if d]
    _, n = phase(
        "startJob", args.url, args.worker_key, args.concurrency,
        [(START, {"id": i}) for i in ids],
    )
    failed += n
    # Input by input across the jobs, as parallel workers on different jobs would report.
    reports = [(REPORT, {"id": i, "name": name}) for name in names for i in ids]
    _, n = phase("reportInputResult", args.url, args.worker_key, args.concurrency, reports)
    failed += n
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
