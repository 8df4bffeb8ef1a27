"""peergraph ingest driven as cron drives it: the real binary, a real SQLite
file and a real PostgreSQL database (PEERGRAPH_TEST_PG), the seed pages and
the shared fixtures. Results are read back with plain SQL."""
import os
import shutil
import signal
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("PEERGRAPH_BIN", str(ROOT / "build/release/peergraph"))
TMP = Path(os.environ.get("PEERGRAPH_TEST_TMP", "/tmp"))
PG = os.environ.get("PEERGRAPH_TEST_PG", "")
SEEDS = ROOT / "tests/data/seeds"
SEED_FORMATS = {"researchgraph", "arxiv-profile", "metrics-card", "metrics-list"}


def formats():
    out = subprocess.run([BIN, "ingest", "--list-formats"], capture_output=True, text=True)
    return {line.split()[0] for line in out.stdout.splitlines() if line.strip()}


def need_seed_parsers():
    missing = SEED_FORMATS - formats()
    if missing or not SEEDS.is_dir():
        pytest.skip("seed page parsers not in this build yet: " + ", ".join(sorted(missing)))


def ingest(db, *args, check=None, timeout=300):
    p = subprocess.run([BIN, "ingest", "--db", db, "-q", *map(str, args)],
                       capture_output=True, text=True, timeout=timeout)
    if check is not None:
        assert p.returncode == check, f"exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    return p


class Db:
    """A fresh database on one backend, with a query helper and a dump."""

    def __init__(self, backend):
        self.backend = backend
        name = "ing_" + uuid.uuid4().hex[:12]
        if backend == "sqlite":
            self.path = TMP / f"{name}.db"
            self.url = f"sqlite:{self.path}"
        else:
            if not PG:
                pytest.skip("PEERGRAPH_TEST_PG not set")
            subprocess.run(["psql", PG, "-qAt", "-c", f"CREATE DATABASE {name}"], check=True,
                           capture_output=True)
            base, _, _ = PG.rpartition("/")
            self.url = f"{base}/{name}"
        self.name = name

    def rows(self, sql):
        if self.backend == "sqlite":
            con = sqlite3.connect(self.path)
            try:
                return [tuple("" if v is None else str(v) for v in r) for r in con.execute(sql)]
            finally:
                con.close()
        out = subprocess.run(["psql", self.url, "-qAt", "-F", "\x1f", "-c", sql],
                             capture_output=True, text=True, check=True).stdout
        return [tuple(line.split("\x1f")) for line in out.splitlines()]

    def one(self, sql):
        r = self.rows(sql)
        return r[0][0] if r else None

    def tables(self):
        if self.backend == "sqlite":
            return [r[0] for r in self.rows(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return [r[0] for r in self.rows(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE' ORDER BY table_name")]

    def dump(self):
        """Every table, every row, in a fixed order (the run log excepted)."""
        out = {}
        for t in self.tables():
            if t in ("ingest_runs", "sqlite_sequence"):
                continue
            if self.backend == "sqlite":
                ncol = len(sqlite3.connect(self.path).execute(f"SELECT * FROM {t} LIMIT 0").description)
            else:
                ncol = int(self.one(f"SELECT COUNT(*) FROM information_schema.columns "
                                    f"WHERE table_name = '{t}' AND table_schema = 'public'"))
            order = ", ".join(str(i) for i in range(1, ncol + 1))
            out[t] = self.rows(f"SELECT * FROM {t} ORDER BY {order}")
        return out


@pytest.fixture(params=["sqlite", "postgres"])
def db(request):
    return Db(request.param)


# ---- seeds -------------------------------------------------------------------

def test_seeds_ingest(db):
    need_seed_parsers()
    p = ingest(db.url, "--as-of", "2026-11-22", SEEDS, check=0)
    assert "files 5 (ingested 5, unchanged 0, rejected 0)" in p.stdout
    assert db.one("SELECT COUNT(*) FROM works") == "55"
    # Zhengxuan Wu: one person, 8 works, PreFT once with its arXiv id, two provenances
    zw = db.rows("SELECT id FROM authors WHERE norm_name = 'zhengxuan wu' AND merged_into IS NULL")
    assert len(zw) == 1
    assert db.one(f"SELECT COUNT(*) FROM authorships WHERE author_id = {zw[0][0]}") == "8"
    preft = db.rows("SELECT id, arxiv_id FROM works WHERE norm_title LIKE 'preft prefill only%'")
    assert len(preft) == 1 and preft[0][1] == "2605.14217"
    assert db.one(f"SELECT COUNT(DISTINCT source_id) FROM provenance WHERE kind = 1 "
                  f"AND fact_id = {preft[0][0]}") == "2"
    # similar names are different people
    assert db.one("SELECT COUNT(*) FROM authors WHERE norm_name = 'zhengxiao liu'") == "1"
    for n in ("liangyu wang", "xinhai wang", "di wang"):
        assert db.one(f"SELECT COUNT(*) FROM authors WHERE norm_name = '{n}' "
                      f"AND merged_into IS NULL") == "1", n
    # owners of 002 and 004 inferred, with a confidence
    for f in ("002_", "004_"):
        r = db.rows(f"SELECT o.method, o.confidence FROM ownership o JOIN source_docs s "
                    f"ON s.id = o.source_id WHERE s.uri LIKE '%{f}%'")
        assert len(r) == 1 and r[0][0] == "inferred", (f, r)
        assert 0 < float(r[0][1]) <= 1
    # "Mar 25" on 004, captured 2026-11-22
    assert db.one("SELECT date FROM works WHERE title LIKE "
                  "'Demystifying When Pruning Works via Representation Hierarchies%'") == "2026-03-25"
    # site claims kept with the page and its capture date
    assert db.one("SELECT COUNT(*) FROM claims WHERE capture_date = '2026-11-22'") not in (None, "0")


def test_ingest_twice_is_byte_identical(db):
    need_seed_parsers()
    ingest(db.url, "--as-of", "2026-11-22", SEEDS, check=0)
    first = db.dump()
    p = ingest(db.url, "--as-of", "2026-11-22", SEEDS, check=0)
    assert "unchanged 5" in p.stdout
    assert db.dump() == first


# ---- metadata files, rejects, replacement ------------------------------------

def snapshot_line(i, title, authors, year=2020):
    import json
    parsed = [[a.split()[-1], " ".join(a.split()[:-1]), ""] for a in authors]
    return json.dumps({
        "id": f"2001.{i:05d}", "submitter": authors[0], "authors": ", ".join(authors),
        "title": title, "comments": None, "journal-ref": None, "doi": None,
        "report-no": None, "categories": "cs.CL cs.LG", "license": None,
        "abstract": "We study " + title.lower() + ".",
        "versions": [{"version": "v1", "created": "Mon, 6 Jan 2020 00:00:00 GMT"}],
        "update_date": f"{year}-01-06", "authors_parsed": parsed}) + "\n"


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_corrupt_file_mid_run(db):
    d = TMP / ("run_" + uuid.uuid4().hex[:8])
    write(d / "a.jsonl", snapshot_line(1, "First paper on parsing", ["Ada Lovelace", "Alan Turing"]))
    bad = snapshot_line(2, "Second paper", ["Grace Hopper"]) + '{"id": "2001.00003", "title": \n'
    write(d / "b.jsonl", bad)
    write(d / "c.jsonl", snapshot_line(4, "Third paper on graphs", ["Alan Turing"]))
    p = ingest(db.url, d, check=1)
    assert "b.jsonl" in p.stderr and "line 2" in p.stderr, p.stderr
    assert "rejected 1" in p.stdout
    titles = {r[0] for r in db.rows("SELECT title FROM works")}
    assert titles == {"First paper on parsing", "Third paper on graphs"}
    assert db.one("SELECT COUNT(*) FROM source_docs WHERE uri LIKE '%b.jsonl'") == "0"
    # Alan Turing: one person (same name, shared co-author? no: the second work
    # has no other author, and the first work is a different work) -> two
    assert db.one("SELECT COUNT(*) FROM authors WHERE norm_name = 'alan turing'") == "2"
    shutil.rmtree(d)


def test_changed_file_replaces_its_facts(db):
    d = TMP / ("chg_" + uuid.uuid4().hex[:8])
    a = write(d / "a.jsonl", snapshot_line(1, "Kept paper", ["Ada Lovelace"]) +
              snapshot_line(2, "Dropped paper", ["Ada Lovelace"]))
    other = write(d / "other.jsonl", snapshot_line(3, "Shared paper", ["Alan Turing"]))
    ingest(db.url, a, other, check=0)
    assert db.one("SELECT COUNT(*) FROM works") == "3"
    # a.jsonl now also asserts the shared paper and no longer the dropped one
    write(d / "a.jsonl", snapshot_line(1, "Kept paper", ["Ada Lovelace"]) +
          snapshot_line(3, "Shared paper", ["Alan Turing"]))
    p = ingest(db.url, a, other, check=0)
    assert "ingested 1, unchanged 1" in p.stdout, p.stdout
    titles = sorted(r[0] for r in db.rows("SELECT title FROM works"))
    assert titles == ["Kept paper", "Shared paper"]
    shared = db.one("SELECT id FROM works WHERE title = 'Shared paper'")
    assert db.one(f"SELECT COUNT(*) FROM provenance WHERE kind = 1 AND fact_id = {shared}") == "2"
    # the other file going away from a.jsonl's view: re-ingest a without it
    write(d / "a.jsonl", snapshot_line(1, "Kept paper", ["Ada Lovelace"]))
    ingest(db.url, a, check=0)
    assert sorted(r[0] for r in db.rows("SELECT title FROM works")) == ["Kept paper", "Shared paper"]
    shutil.rmtree(d)


def test_unknown_and_binary_files_rejected(db):
    d = TMP / ("bin_" + uuid.uuid4().hex[:8])
    (d).mkdir(parents=True)
    (d / "blob.bin").write_bytes(bytes(range(256)) * 4)
    write(d / "ok.jsonl", snapshot_line(1, "A fine paper", ["Ada Lovelace"]))
    p = ingest(db.url, d, check=1)
    assert "blob.bin" in p.stderr and "offset 0" in p.stderr
    assert db.one("SELECT COUNT(*) FROM works") == "1"
    shutil.rmtree(d)


def test_search_index_after_ingest(db, tmp_path):
    """The nightly run leaves the top-k search index current (SQLite): built
    when missing, refreshed for the changed works, and says so."""
    papers = lambda lo, hi, word: "".join(
        snapshot_line(i, f"Sparse {word} graphs number {i}", [f"Ann{i} Search", "Bo Index"])
        for i in range(lo, hi))
    one = write(tmp_path / "in" / "a.jsonl", papers(1, 40, "attention"))
    p = ingest(db.url, one, check=0)
    if db.backend == "postgres":  # ts_rank over its GIN index: nothing to keep
        assert "search index" not in p.stdout, p.stdout
        return
    assert "search index built (39 works, " in p.stdout, p.stdout
    assert db.one("SELECT rows FROM search_info") == "39.0"
    p = ingest(db.url, one, check=0)
    assert "search index current," in p.stdout, p.stdout
    two = write(tmp_path / "in" / "b.jsonl", papers(40, 45, "retrieval"))
    p = ingest(db.url, two, check=0)
    assert "search index refreshed (" in p.stdout, p.stdout
    assert db.one("SELECT COUNT(*) FROM search_dirty") == "0"
    # a word the build never saw is recorded (its works come from FTS5)
    assert db.one("SELECT COUNT(*) FROM search_lists WHERE term = 'retrieval'") == "1"
    three = write(tmp_path / "in" / "c.jsonl", papers(45, 50, "kernels"))
    p = ingest(db.url, "--search-index", "skip", three, check=0)
    assert "search index skipped (" in p.stdout, p.stdout
    assert int(db.one("SELECT COUNT(*) FROM search_dirty")) >= 5
    p = ingest(db.url, "--search-index", "rebuild", three, check=0)
    assert "search index rebuilt (49 works, " in p.stdout, p.stdout
    assert db.one("SELECT COUNT(*) FROM search_dirty") == "0"
    assert '"search_index":"rebuilt"' in db.one(
        "SELECT summary FROM ingest_runs ORDER BY id DESC LIMIT 1")
    assert ingest(db.url, "--search-index", "sometimes", three).returncode == 2


def test_usage_and_unreachable_database():
    assert ingest("sqlite:/nonexistent-dir/x.db", "/etc/hostname").returncode == 2
    assert subprocess.run([BIN, "ingest"], capture_output=True).returncode == 2
    assert subprocess.run([BIN, "ingest", "--as-of", "2026-02-30", "x"],
                          capture_output=True).returncode == 2
    h = subprocess.run([BIN, "ingest", "--help"], capture_output=True, text=True)
    assert h.returncode == 0
    for opt in ("--db", "--format", "--owner", "--as-of", "--wait", "--unmerge", "--search-index",
                "exit status"):
        assert opt in h.stdout


def test_lock_second_run_exits_or_waits(tmp_path):
    db = Db("sqlite")
    big = tmp_path / "big.jsonl"
    big.write_text("".join(snapshot_line(i, f"Paper number {i} on locks", [f"Author{i} Lock", "Shared Person"])
                           for i in range(1, 3000)))
    first = subprocess.Popen([BIN, "ingest", "--db", db.url, "-q", str(big)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        small = write(tmp_path / "small.jsonl", snapshot_line(5000, "Small one", ["Ada Lovelace"]))
        deadline = time.time() + 30
        saw_busy = False
        while time.time() < deadline and first.poll() is None:
            p = ingest(db.url, small)
            if p.returncode == 2 and "another ingest run" in p.stderr:
                saw_busy = True
                break
            time.sleep(0.05)
        if not saw_busy:
            pytest.skip("the first run finished before the second started")
        p = ingest(db.url, "--wait", small, check=0)
        assert first.wait(120) == 0
    finally:
        if first.poll() is None:
            first.kill()


def test_kill_mid_file_leaves_no_partial_file(tmp_path):
    db = Db("sqlite")
    big = tmp_path / "big.jsonl"
    n = 20000
    with big.open("w") as f:
        for i in range(1, n):
            f.write(snapshot_line(i, f"Paper number {i} on kills", [f"Kill{i} Person"]))
    p = subprocess.Popen([BIN, "ingest", "--db", db.url, "-q", str(big)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.0)
    p.send_signal(signal.SIGKILL)
    p.wait()
    count = int(db.one("SELECT COUNT(*) FROM works") or 0) if db.path.exists() else 0
    assert count in (0, n - 1), count  # all of the file or none of it
    # and the next run finishes the job
    ingest(db.url, big, check=0, timeout=600)
    assert db.one("SELECT COUNT(*) FROM works") == str(n - 1)


# ---- the shared fixtures (copied to tests/data/fixtures by the parsers' tests) ----

FIXTURES = ROOT / "tests/data/fixtures"
ERROR_NAMES = ("error", "not_found", "bad_query")


def fixture_files():
    if not FIXTURES.is_dir():
        return []
    return sorted(p for p in FIXTURES.rglob("*") if p.is_file() and not p.name.startswith("."))


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_ingests_or_is_its_error(path):
    db = Db("sqlite")
    p = ingest(db.url, "--as-of", "2026-11-22", path)
    if any(k in path.name for k in ERROR_NAMES) or path.suffix == ".yaml":
        # an API error answer, or a recording that is not one of our formats:
        # rejected, named, with a reason, and nothing from it in the graph
        assert p.returncode == 1, f"{path.name}: exit {p.returncode}\n{p.stdout}{p.stderr}"
        assert path.name in p.stderr and len(p.stderr.strip()) > len(str(path)) + 20, p.stderr
        assert db.one("SELECT COUNT(*) FROM source_docs WHERE uri NOT LIKE 'peergraph:%'") == "0"
    else:
        assert p.returncode == 0, f"{path.name}: exit {p.returncode}\n{p.stdout}{p.stderr}"
        assert db.one("SELECT COUNT(*) FROM source_docs WHERE uri NOT LIKE 'peergraph:%'") == "1"


def test_fixtures_twice_identical_both_backends(db):
    files = [p for p in fixture_files()
             if not any(k in p.name for k in ERROR_NAMES) and p.suffix != ".yaml"]
    if not files:
        pytest.skip("no fixtures in tests/data/fixtures yet")
    ingest(db.url, "--as-of", "2026-11-22", *files, check=0)
    first = db.dump()
    assert int(db.one("SELECT COUNT(*) FROM works")) > 0
    ingest(db.url, "--as-of", "2026-11-22", *files, check=0)
    assert db.dump() == first


def test_gzip_input(tmp_path):
    import gzip
    db = Db("sqlite")
    raw = snapshot_line(1, "A compressed paper", ["Ada Lovelace"])
    gz = tmp_path / "x.jsonl.gz"
    gz.write_bytes(gzip.compress(raw.encode()))
    ingest(db.url, gz, check=0)
    assert db.one("SELECT title FROM works") == "A compressed paper"
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(gzip.compress(raw.encode())[:-12])  # truncated
    p = ingest(db.url, bad, check=1)
    assert "bad.jsonl.gz" in p.stderr


def test_lock_held_exits_2_then_waits(tmp_path):
    """A run that finds the database locked says so and exits 2; with --wait
    it waits for the holder (here: this test, holding the SQLite run lock the
    way another ingest process would)."""
    import fcntl
    db = Db("sqlite")
    f = write(tmp_path / "a.jsonl", snapshot_line(1, "Locked paper", ["Ada Lovelace"]))
    ingest(db.url, f, check=0)  # creates the database
    write(tmp_path / "a.jsonl", snapshot_line(1, "Locked paper, revised", ["Ada Lovelace"]))
    with open(f"{db.path}.lock", "a+") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        p = ingest(db.url, f)
        assert p.returncode == 2 and "another ingest run" in p.stderr, p.stderr
        w = subprocess.Popen([BIN, "ingest", "--db", db.url, "-q", "--wait", str(f)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        assert w.poll() is None  # still waiting
        fcntl.flock(lk, fcntl.LOCK_UN)
    out, err = w.communicate(timeout=60)
    assert w.returncode == 0, err
    assert db.one("SELECT title FROM works") == "Locked paper, revised"
