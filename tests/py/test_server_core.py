"""The HTTP server core over real sockets: routing answers, request ids,
ETag/304, gzip, access log, metrics, healthz on SQLite and PostgreSQL."""
import gzip
import json
import os
import re
import socket
import subprocess
import time

import pytest
import requests

from pgserver import BIN, Server, fresh_sqlite, status_of


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("core")
    log = str(d / "access.log")
    s = Server(fresh_sqlite(d), args=["--access-log", log])
    s.access_log = log
    yield s
    assert s.stop() == 0
    assert not s.sanitizer_reports(), s.stderr_text()[-5000:]


def test_listening_line_and_healthz(server):
    r = requests.get(server.url + "/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.headers["Content-Type"] == "application/json"
    assert re.fullmatch(r"[0-9a-f]{16}", r.headers["X-Request-Id"])


def test_request_ids_are_unique_and_echoed(server):
    ids = {requests.get(server.url + "/healthz").headers["X-Request-Id"] for _ in range(20)}
    assert len(ids) == 20
    r = requests.get(server.url + "/healthz", headers={"X-Request-Id": "client-abc.123"})
    assert r.headers["X-Request-Id"] == "client-abc.123"
    # unsafe incoming ids are replaced, never echoed
    for bad in ["a b", "x" * 65, "<script>", "id\"quote"]:
        r = requests.get(server.url + "/healthz", headers={"X-Request-Id": bad})
        assert r.headers["X-Request-Id"] != bad
        assert re.fullmatch(r"[0-9a-f]{16}", r.headers["X-Request-Id"])
    # error responses carry it too
    r = requests.get(server.url + "/api/v1/nope", headers={"X-Request-Id": "err-1"})
    assert r.status_code == 404 and r.headers["X-Request-Id"] == "err-1"


def test_unknown_routes(server):
    r = requests.get(server.url + "/api/v1/no-such-thing")
    assert r.status_code == 404
    assert r.json() == {"error": "not_found", "message": "no API endpoint at /api/v1/no-such-thing"}
    r = requests.get(server.url + "/no/such/page")
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<h1>Not found</h1>" in r.text


def test_wrong_method_405_with_allow(server):
    for method in ["POST", "PUT", "DELETE", "PATCH"]:
        r = requests.request(method, server.url + "/healthz")
        assert r.status_code == 405, method
        assert r.headers["Allow"] == "GET, HEAD"
        body = r.json()
        assert body["error"] == "method_not_allowed" and method in body["message"]


def test_head(server):
    r = requests.head(server.url + "/api/v1")
    assert r.status_code == 200
    assert r.content == b""
    assert int(r.headers["Content-Length"]) > 0


def test_keep_alive(server):
    with requests.Session() as s:
        for _ in range(5):
            r = s.get(server.url + "/healthz")
            assert r.status_code == 200
            assert r.headers.get("Connection", "").lower() != "close"


def test_inference_placeholder_503(server):
    r = requests.get(server.url + "/api/v1/authors/A1/summary")
    assert r.status_code == 503
    assert r.json()["error"] == "inference_unavailable"
    # recommendations work from the graph alone (api_recs.c) and say so
    r = requests.get(server.url + "/api/v1/authors/A1/recommendations")
    assert r.status_code in (200, 404), r.text
    if r.status_code == 200:
        assert r.json()["scored_by"] == "graph"


def _metric(server, name):
    m = re.search(r"^%s (\d+)$" % re.escape(name), requests.get(server.url + "/metrics").text, re.M)
    return int(m.group(1)) if m else 0


def test_etag_and_304(server):
    hits0 = _metric(server, 'peergraph_cache_hits_total{cache="etag"}')
    r = requests.get(server.url + "/api/v1")
    assert r.status_code == 200
    etag = r.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    index = r.json()
    assert {"method": "GET", "path": "/api/v1/authors/{id}/summary"} in index["endpoints"]
    assert index["base_url"] == server.url
    r2 = requests.get(server.url + "/api/v1", headers={"If-None-Match": etag})
    assert r2.status_code == 304
    assert r2.content == b""
    assert r2.headers["ETag"] == etag
    assert "X-Request-Id" in r2.headers
    for inm in ['W/' + etag, '"other", ' + etag, "*"]:
        assert requests.get(server.url + "/api/v1", headers={"If-None-Match": inm}).status_code == 304
    r3 = requests.get(server.url + "/api/v1", headers={"If-None-Match": '"0000"'})
    assert r3.status_code == 200 and r3.json() == index
    # 304s count as hits of the "etag" cache in /metrics
    assert _metric(server, 'peergraph_cache_hits_total{cache="etag"}') == hits0 + 4
    assert _metric(server, 'peergraph_cache_misses_total{cache="etag"}') >= 2
    # not an entity response: no ETag
    assert "ETag" not in requests.get(server.url + "/healthz").headers


def _raw_get(server, path, headers=""):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n" % (path, headers)).encode())
    out = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        out += c
    s.close()
    head, _, body = out.partition(b"\r\n\r\n")
    return head.decode(), body


def test_gzip_when_accepted(server):
    requests.get(server.url + "/healthz")
    head, body = _raw_get(server, "/metrics", "Accept-Encoding: gzip\r\n")
    assert "Content-Encoding: gzip" in head
    assert "Vary: Accept-Encoding" in head
    text = gzip.decompress(body).decode()
    assert "# TYPE peergraph_http_requests_total counter" in text
    head, plain = _raw_get(server, "/metrics")
    assert "Content-Encoding" not in head and "Vary: Accept-Encoding" in head
    assert plain.startswith(b"# HELP")
    assert len(body) < len(plain) / 2
    for refused in ["gzip;q=0", "identity", "br", "*;q=0"]:
        head, b = _raw_get(server, "/metrics", "Accept-Encoding: %s\r\n" % refused)
        assert "Content-Encoding" not in head, refused
        assert b.startswith(b"# HELP")
    # small bodies are never compressed
    head, b = _raw_get(server, "/healthz", "Accept-Encoding: gzip\r\n")
    assert "Content-Encoding" not in head and json.loads(b)["status"] == "ok"


def test_access_log_lines(server):
    rid = "log-test-%d" % time.monotonic_ns()
    r = requests.get(server.url + "/api/v1/nothing?x=1", headers={"X-Request-Id": rid})
    r2 = requests.get(server.url + "/api/v1", headers={"X-Request-Id": rid + "b"})
    time.sleep(0.2)
    lines = [json.loads(l) for l in open(server.access_log) if l.strip()]
    mine = [l for l in lines if l["id"] == rid]
    assert len(mine) == 1
    l = mine[0]
    assert l["method"] == "GET" and l["path"] == "/api/v1/nothing" and l["status"] == 404
    assert l["bytes"] == len(r.content)
    assert isinstance(l["us"], int) and l["us"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", l["time"])
    assert l["error"] == "not_found"
    l2 = [l for l in lines if l["id"] == rid + "b"][0]
    assert l2["status"] == 200 and l2["route"] == "api.index" and l2["bytes"] == len(r2.content)


def test_metrics_counts_requests(server):
    def count(text, route, status):
        m = re.search(r'^peergraph_http_requests_total\{route="%s",status="%d"\} (\d+)$'
                      % (re.escape(route), status), text, re.M)
        return int(m.group(1)) if m else 0

    before = requests.get(server.url + "/metrics").text
    for _ in range(3):
        requests.get(server.url + "/api/v1/authors/A9/summary")
    requests.get(server.url + "/api/v1/missing")
    after = requests.get(server.url + "/metrics").text
    assert count(after, "authors.summary", 503) == count(before, "authors.summary", 503) + 3
    assert count(after, "unmatched", 404) == count(before, "unmatched", 404) + 1
    # histogram: cumulative buckets, +Inf equals count
    buckets = [int(v) for v in re.findall(
        r'^peergraph_http_request_duration_seconds_bucket\{route="authors.summary",le="[^"]+"\} (\d+)$',
        after, re.M)]
    assert buckets == sorted(buckets) and len(buckets) == 15
    total = int(re.search(r'^peergraph_http_request_duration_seconds_count\{route="authors.summary"\} (\d+)$',
                          after, re.M).group(1))
    assert buckets[-1] == total >= 3
    assert re.search(r'^peergraph_db_seconds_count\{route="healthz"\} \d+$', after, re.M)
    assert "# TYPE peergraph_cache_hits_total counter" in after
    assert re.search(r"^peergraph_http_in_flight \d+$", after, re.M)
    for line in after.splitlines():
        assert line.startswith("#") or re.fullmatch(r'[a-z_]+(\{[^}]*\})? [0-9.e+-]+', line), line


def test_healthz_database_down(tmp_path):
    with Server("sqlite:" + str(tmp_path / "no" / "such.db")) as s:
        r = requests.get(s.url + "/healthz")
        assert r.status_code == 503
        body = r.json()
        assert body["error"] == "database_unavailable" and "such.db" in body["message"]
        assert r.headers["Retry-After"]


def test_healthz_postgres(tmp_path):
    pg = os.environ.get("PEERGRAPH_TEST_PG")
    if not pg:
        pytest.skip("PEERGRAPH_TEST_PG not set (tests/run.sh sets it)")
    # a database of our own in the test server (serve migrates it)
    name = "srv_healthz_%d_%d" % (os.getpid(), time.monotonic_ns() % 1000000)
    subprocess.run(["psql", pg, "-q", "-c", "CREATE DATABASE " + name], check=True,
                   capture_output=True)
    url = pg.rsplit("/", 1)[0] + "/" + name
    with Server(url) as s:
        r = requests.get(s.url + "/healthz")
        assert r.status_code == 200, r.text
    # a PostgreSQL that is not there: 503, and the server stays up
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    dead = sock.getsockname()[1]
    sock.close()
    with Server("postgres://postgres@127.0.0.1:%d/postgres" % dead) as s:
        r = requests.get(s.url + "/healthz")
        assert r.status_code == 503
        assert r.json()["error"] == "database_unavailable"
        assert requests.get(s.url + "/api/v1").status_code == 200


def test_public_url(tmp_path):
    with Server(fresh_sqlite(tmp_path), args=["--public-url", "https://peergraph.example/"]) as s:
        assert requests.get(s.url + "/api/v1").json()["base_url"] == "https://peergraph.example"


def test_help_and_bad_flags(tmp_path):
    r = subprocess.run([BIN, "serve", "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for flag in ["--db", "--host", "--port", "--threads", "--model", "--public-url", "--access-log",
                 "--rate-limit", "--rate-burst", "--max-conns", "--max-conns-per-ip", "--timeout",
                 "--conn-memory", "--max-uri", "--max-header", "--max-body", "--gzip-min",
                 "--shutdown-grace"]:
        assert flag in r.stdout, flag
    for bad in [["--port", "70000"], ["--threads", "0"], ["--rate-limit", "-1"], ["--bogus"],
                ["--port", "12x"], ["extra"]]:
        r = subprocess.run([BIN, "serve"] + bad, capture_output=True, text=True, timeout=10)
        assert r.returncode == 2, bad
        assert r.stderr
    # a port in use: exit 2 with a message
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    port = sock.getsockname()[1]
    # (a private database: serve creates it before it listens)
    r = subprocess.run([BIN, "serve", "--port", str(port), "--db", "sqlite:" + str(tmp_path / "g.db")],
                       capture_output=True, text=True, timeout=10)
    sock.close()
    assert r.returncode == 2 and "listen" in r.stderr


def test_etag_per_representation_with_gzip(tmp_path):
    with Server(fresh_sqlite(tmp_path), args=["--gzip-min", "64"]) as s:
        z = requests.get(s.url + "/api/v1", headers={"Accept-Encoding": "gzip"})
        p = requests.get(s.url + "/api/v1", headers={"Accept-Encoding": "identity"})
        assert z.headers["Content-Encoding"] == "gzip" and "Content-Encoding" not in p.headers
        assert z.json() == p.json()
        assert z.headers["ETag"] == p.headers["ETag"][:-1] + '-gz"'
        assert z.headers["Vary"] == p.headers["Vary"] == "Accept-Encoding"
        # either tag revalidates either representation
        for enc, tag, sent in [("gzip", p.headers["ETag"], z.headers["ETag"]),
                               ("identity", z.headers["ETag"], p.headers["ETag"])]:
            r = requests.get(s.url + "/api/v1", headers={"Accept-Encoding": enc, "If-None-Match": tag})
            assert r.status_code == 304 and r.headers["ETag"] == sent


def test_serve_migrates_and_refuses_newer_schema(tmp_path):
    import sqlite3
    path = str(tmp_path / "fresh.db")
    with Server("sqlite:" + path) as s:
        assert requests.get(s.url + "/healthz").status_code == 200
        assert "migrated the database from version 0 to" in s.stderr_text()
    con = sqlite3.connect(path)
    assert con.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] >= 1
    con.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (999, 'future', '2099-01-01')")
    con.commit()
    con.close()
    r = subprocess.run([BIN, "serve", "--db", "sqlite:" + path, "--port", "0"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 2
    assert "999" in r.stderr and "listening" not in r.stdout
