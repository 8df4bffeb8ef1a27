"""Shared pieces of the JSON API tests: a synthetic graph on SQLite and on a
fresh PostgreSQL database (written by `peergraph bench gen` through the
store's bulk loader), and a live `peergraph serve` on a free port.

Not a test file itself (pytest collects only test_*.py)."""

import json
import os
import subprocess
import uuid

import pytest

import pgserver

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("PEERGRAPH_BIN") or os.path.join(ROOT, "build/release/peergraph")
SAN_BIN = os.environ.get("PEERGRAPH_SAN_BIN") or os.path.join(ROOT, "build/san/peergraph")
TMP = os.environ.get("PEERGRAPH_TEST_TMP") or "/tmp"
PG = os.environ.get("PEERGRAPH_TEST_PG", "")

# Big enough for several pages at the default per-page and for every year and
# type to hold works; small enough to write in a second or two.
N_WORKS = 300
N_AUTHORS = 120
SEED = 7

_graphs = {}


def pg_url_for(dbname):
    """PEERGRAPH_TEST_PG with its database replaced by dbname."""
    return PG.split("?", 1)[0].rsplit("/", 1)[0] + "/" + dbname


def create_pg_database(prefix):
    if not PG:
        pytest.fail("PEERGRAPH_TEST_PG is not set: run the suite through tests/run.sh")
    name = "%s_%d_%s" % (prefix, os.getpid(), uuid.uuid4().hex[:8])
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", PG, "-c", "CREATE DATABASE " + name],
                   check=True, capture_output=True, timeout=60)
    return pg_url_for(name)


def graph(backend, works=N_WORKS, authors=N_AUTHORS, seed=SEED):
    """URL of a database holding the synthetic graph (made once per session)."""
    key = (backend, works, authors, seed)
    if key in _graphs:
        return _graphs[key]
    if backend == "sqlite":
        path = os.path.join(TMP, "api-%d-%d-%d-%s.db" % (works, authors, seed, uuid.uuid4().hex[:6]))
        url = "sqlite:" + path
    else:
        url = create_pg_database("api")
    r = subprocess.run([BIN, "bench", "gen", "--db", url, "--works", str(works), "--authors",
                        str(authors), "--seed", str(seed), "--quiet"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, "bench gen failed: " + r.stderr
    _graphs[key] = url
    return url


class Server(pgserver.Server):
    """The server core's test server (tests/py/pgserver.py) with the API's
    base URLs: .base is http://127.0.0.1:PORT, .api is .base + "/api/v1"."""

    def __init__(self, db, binary=BIN, extra=(), env=None):
        super().__init__(db, args=["--access-log", os.devnull] + list(extra), binary=binary,
                         env=env)
        self.base = self.url
        self.api = self.url + "/api/v1"

    def alive(self):
        return self.proc.poll() is None

    def stop(self, check=True):
        """SIGTERM; the server must exit 0 without sanitizer reports."""
        code = super().stop()
        if check:
            assert not self.sanitizer_reports(), \
                "sanitizer report from the server:\n" + self.stderr_text()[-6000:]
            assert code == 0, "server exit %s:\n%s" % (code, self.stderr_text()[-3000:])
        return code


def get_json(session, url, **kw):
    r = session.get(url, timeout=30, **kw)
    try:
        body = r.json()
    except ValueError:
        body = None
    return r, body


def short_key(id_url):
    return id_url.rsplit("/", 1)[-1]


def dump(x):
    return json.dumps(x, indent=1)[:2000]
