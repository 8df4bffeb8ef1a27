#!/usr/bin/python3
"""H3's uncached cost: the server CPU of a profile page's first view.

    python3 tests/h3_first_views.py --db sqlite:/path/g1m.db [--rounds 3] \
        [--authors 13] NAME=BINARY[:WEBROOT] [NAME=BINARY[:WEBROOT] ...]

For each round and each binary in turn (so every binary sees the same
machine load), starts `BINARY serve --threads 1 --access-log off` on a free
port, warms it with two pages that are not measured, then requests every
(author, sort, page 1-10) of the authors with the most works at or under 500
(BENCHMARKS.md H3) once: none is a page cache hit. The server's CPU per
request is the change in the sum of its threads' /proc/PID/task/*/schedstat
run time (nanoseconds) around the request. Prints the median and quartiles
per binary, and how many page bodies differ from the first binary's (the
same database must give the same pages). Linux only; reads nothing but
/proc and the server's answers; the database is opened by the server as
`serve` always does.
"""
import argparse
import glob
import hashlib
import http.client
import json
import statistics
import subprocess
import time


def cpu_ns(pid):
    t = 0
    for f in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(f) as fh:
                t += int(fh.read().split()[0])
        except OSError:
            pass  # a thread that ended between the glob and the read
    return t


def start(binary, root, db):
    cmd = [binary, "serve", "--db", db, "--threads", "1", "--port", "0", "--access-log", "off"]
    if root:
        cmd += ["--web-root", root]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()  # "listening on http://127.0.0.1:PORT/"
    port = int(line.strip().rstrip("/").rsplit(":", 1)[1])
    return p, port


def get(conn, url):
    conn.request("GET", url)
    r = conn.getresponse()
    return r.status, r.read()


def h3_authors(binary, root, db, n):
    p, port = start(binary, root, db)
    try:
        c = http.client.HTTPConnection("127.0.0.1", port)
        st, body = get(c, f"/api/v1/authors?filter=works_count:%3C501&sort=works_count:desc"
                          f"&per-page={n}&select=id,works_count")
        assert st == 200, st
        res = json.loads(body)["results"]
        return [(a["id"].rsplit("/", 1)[-1], a["works_count"]) for a in res]
    finally:
        p.terminate()
        p.wait()


def run(binary, root, db, authors, bodies):
    p, port = start(binary, root, db)
    times = []
    try:
        c = http.client.HTTPConnection("127.0.0.1", port)
        # warm-up: statements prepared, templates read; pages never measured
        for u in ["/authors/A1?page=9999", "/authors/A2?page=9999&sort=date"]:
            get(c, u)
        for a in authors:
            for sort in ["citations", "date", "title"]:
                for page in range(1, 11):
                    u = f"/authors/{a}?sort={sort}&page={page}"
                    t0 = cpu_ns(p.pid)
                    st, body = get(c, u)
                    time.sleep(0.002)  # the worker's tail after the reply is sent
                    times.append((cpu_ns(p.pid) - t0) / 1e6)
                    assert st == 200, (u, st)
                    bodies[u] = hashlib.sha256(body).hexdigest()
    finally:
        p.terminate()
        p.wait()
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--authors", type=int, default=13)
    ap.add_argument("bins", nargs="+", metavar="NAME=BINARY[:WEBROOT]")
    a = ap.parse_args()
    bins = []
    for spec in a.bins:
        name, rest = spec.split("=", 1)
        binary, _, root = rest.partition(":")
        bins.append((name, binary, root or None))
    authors = h3_authors(bins[0][1], bins[0][2], a.db, a.authors)
    print("authors:", " ".join(f"{i} ({w} works)" for i, w in authors), flush=True)
    ids = [i for i, _ in authors]
    res = {n: [] for n, _, _ in bins}
    hashes = {n: {} for n, _, _ in bins}
    for r in range(a.rounds):
        for n, binary, root in bins:
            t = run(binary, root, a.db, ids, hashes[n])
            res[n] += t
            print(f"round {r} {n}: median {statistics.median(t):.2f} ms, n={len(t)}", flush=True)
    for n, _, _ in bins:
        q = statistics.quantiles(res[n], n=4)
        print(f"{n}: median {statistics.median(res[n]):.2f} ms CPU/request, "
              f"quartiles {q[0]:.2f}-{q[2]:.2f}, n={len(res[n])}")
    first = bins[0][0]
    for n, _, _ in bins[1:]:
        diff = [u for u in hashes[first] if hashes[first][u] != hashes[n].get(u)]
        print(f"{n}: {len(diff)} of {len(hashes[first])} page bodies differ from {first}'s",
              diff[:5])


if __name__ == "__main__":
    main()
