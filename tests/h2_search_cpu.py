#!/usr/bin/python3
"""H2's per-search cost: the server CPU of each search of bench http's mix.

    python3 tests/h2_search_cpu.py --db sqlite:/path/g1m.db [--reps 10] \
        [--rounds 1] [--env NAME=VALUE ...] NAME=BINARY [NAME=BINARY ...]

For each round and each binary in turn (so every binary sees the same
machine load), starts `BINARY serve --threads 1 --access-log off` on a free
port with the given environment (PGR_SEARCH_CACHE=0 measures the uncached
cost), sends one warm-up request per query, then each of the 20 queries of
bench http's H2 script `--reps` times in a row (serially, one connection).
The server's CPU per request is the change in the sum of its threads'
/proc/PID/task/*/schedstat run time (nanoseconds) around the request.
Prints per query the median CPU ms per request and, per binary, the mean
over the mix; bodies (results' ids and scores) are compared with the first
binary's, so two binaries on one database must answer the same.
"""
import argparse
import http.client
import json
import os
import statistics
import subprocess

from h3_first_views import cpu_ns, get  # the same measurement as H3's

QUERIES = ["graph", "neural%20network", "language%20model", "retrieval", "attention",
           "sparse%20attention", "adapter", "citation%20graph", "efficient%20serving", "robust",
           "diffusion%20model", "knowledge%20graph", "protein", "quantized",
           "federated%20privacy", "policy%20reward", "token*", "transformer%20OR%20attention",
           "scal*", "gpu%20kernel"]


def start(binary, db, env):
    cmd = [binary, "serve", "--db", db, "--threads", "1", "--port", "0", "--access-log", "off"]
    e = dict(os.environ)
    e.update(env)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=e)
    line = p.stdout.readline()  # "listening on http://127.0.0.1:PORT/"
    return p, int(line.strip().rstrip("/").rsplit(":", 1)[1])


def run(binary, db, env, reps):
    p, port = start(binary, db, env)
    per = {}
    bodies = {}
    try:
        c = http.client.HTTPConnection("127.0.0.1", port)
        for q in QUERIES:
            get(c, f"/api/v1/works?per-page=20&search={q}")
        for q in QUERIES:
            url = f"/api/v1/works?per-page=20&search={q}"
            ts = []
            for _ in range(reps):
                t0 = cpu_ns(p.pid)
                st, body = get(c, url)
                ts.append((cpu_ns(p.pid) - t0) / 1e6)
                assert st == 200, (st, body[:200])
            j = json.loads(body)
            bodies[q] = ([(r["id"].rsplit("/", 1)[-1], r["relevance_score"]) for r in j["results"]],
                         j["meta"]["count"], j["meta"].get("count_exact"))
            per[q] = ts
    finally:
        p.terminate()
        p.wait()
    return per, bodies


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("bins", nargs="+")
    a = ap.parse_args()
    env = dict(kv.split("=", 1) for kv in a.env)
    bins = [b.split("=", 1) for b in a.bins]
    res = {n: {q: [] for q in QUERIES} for n, _ in bins}
    first = None
    for _ in range(a.rounds):
        for name, binary in bins:
            per, bodies = run(binary, a.db, env, a.reps)
            for q in QUERIES:
                res[name][q] += per[q]
            if first is None:
                first = bodies
            else:
                for q in QUERIES:
                    if bodies[q][0] != first[q][0]:
                        print(f"DIFFERENT results: {name} {q}")
                    if bodies[q][1:] != first[q][1:]:
                        print(f"count {name} {q}: {bodies[q][1:]} vs {first[q][1:]}")
    print("query".ljust(32) + "".join(n.rjust(12) for n, _ in bins))
    for q in QUERIES:
        print(q.replace("%20", " ").ljust(32) +
              "".join(f"{statistics.median(res[n][q]):12.2f}" for n, _ in bins))
    print("mean of the 20 medians".ljust(32) +
          "".join(f"{statistics.mean(statistics.median(res[n][q]) for q in QUERIES):12.2f}"
                  for n, _ in bins))


if __name__ == "__main__":
    main()
