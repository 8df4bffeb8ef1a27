"""The bulk load path of peergraph ingest (--bulk: secondary indexes dropped
and rebuilt inside the file's transaction, provenance and full text written
at commit) against the row-by-row path, on both backends: the same graph,
the same full text, the same search answers, and a file that fails half way
through leaves the database as it was, indexes included."""
import os
import subprocess
import uuid

import pytest

from test_ingest import BIN, TMP, Db, ingest, write

# Columns that hold the wall clock of the run: they differ between any two runs.
CLOCK = {"author_merges": {"merged_at"}, "source_docs": {"ingested_at"},
         "schema_version": {"applied_at"}}


def corpus(path, n, seed=7, names="small"):
    """n generated arXiv-snapshot lines (the I1 generator). names "small": a
    1,900-name pool shared by many works, so identity decisions and merges
    happen; "arxiv": the benchmark's realistic names (most printed once)."""
    subprocess.run([BIN, "bench", "ingest", "--records", str(n), "--seed", str(seed),
                    "--names", names, "--corpus", str(path)], check=True, capture_output=True)
    return path


def columns(db, table):
    if db.backend == "sqlite":
        import sqlite3
        con = sqlite3.connect(db.path)
        try:
            return [d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description]
        finally:
            con.close()
    return [r[0] for r in db.rows(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
        f"AND table_name = '{table}' ORDER BY ordinal_position")]


def logical_dump(db):
    """Every table's rows with the clock columns left out. SQLite's FTS5
    tables are compared by their content (rowid + columns), not by their
    b-tree segments, which depend on how the rows were batched."""
    out = {}
    for t in db.tables():
        if t in ("ingest_runs", "sqlite_sequence") or (
                db.backend == "sqlite" and "_fts_" in t):
            continue
        cols = [c for c in columns(db, t) if c not in CLOCK.get(t, set())]
        if db.backend == "sqlite" and t.endswith("_fts"):
            cols = ["rowid"] + cols
        sel = ", ".join(cols)
        order = ", ".join(str(i) for i in range(1, len(cols) + 1))
        if db.backend == "postgres" and "tsv" in cols:
            # tsvector text is canonical (sorted lexemes with positions)
            sel = ", ".join(f"{c}::text" if c == "tsv" else c for c in cols)
        out[t] = db.rows(f"SELECT {sel} FROM {t} ORDER BY {order}")
    return out


def indexes(db):
    if db.backend == "sqlite":
        return sorted(db.rows("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                              "AND sql IS NOT NULL ORDER BY name"))
    return sorted(db.rows("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                          "ORDER BY indexname"))


def search(db, words):
    """Works matching all words, through the full-text index itself."""
    if db.backend == "sqlite":
        return db.rows(f"SELECT rowid FROM works_fts WHERE works_fts MATCH '{words}' "
                       "ORDER BY rowid")
    q = " & ".join(words.split())
    return db.rows(f"SELECT id FROM works WHERE tsv @@ to_tsquery('simple', '{q}') ORDER BY id")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


def test_bulk_graph_equals_row_by_row(backend):
    d = TMP / ("bulk_" + uuid.uuid4().hex[:8])
    d.mkdir(parents=True)
    c = corpus(d / "c.jsonl", 1500)
    row, bulk = Db(backend), Db(backend)
    ingest(row.url, "--as-of", "2026-11-22", "--bulk", "never", c, check=0)
    ingest(bulk.url, "--as-of", "2026-11-22", "--bulk", "always", c, check=0)
    a, b = logical_dump(row), logical_dump(bulk)
    assert int(row.one("SELECT COUNT(*) FROM works")) == 1500
    assert int(row.one("SELECT COUNT(*) FROM author_merges")) > 0  # identity was exercised
    # the authors' topic shares were computed after the keyword pass: every
    # (author, topic) of their works, keyword topics included, counted right
    assert int(row.one("SELECT COUNT(*) FROM author_topics x JOIN topics t ON t.id = x.topic_id "
                       "WHERE t.scheme = 'keyword'")) > 0
    assert row.one("SELECT COUNT(*) FROM (SELECT s.author_id, wt.topic_id, COUNT(*) AS n FROM "
                   "authorships s JOIN authors au ON au.id = s.author_id AND au.merged_into IS NULL "
                   "JOIN work_topics wt ON wt.work_id = s.work_id GROUP BY s.author_id, wt.topic_id) "
                   "g LEFT JOIN author_topics x ON x.author_id = g.author_id AND x.topic_id = "
                   "g.topic_id WHERE x.count IS NULL OR x.count <> g.n") == "0"
    assert sorted(a) == sorted(b)
    for t in a:
        assert a[t] == b[t], f"table {t} differs between --bulk never and --bulk always"
    # every index is back, exactly as the schema declares it
    names = {r[0] for r in indexes(bulk)}
    assert {"works_year", "provenance_source", "work_topics_topic"} <= names
    assert indexes(bulk) == indexes(row)
    # re-ingest of the unchanged file: skipped, nothing rewritten
    ingest(bulk.url, "--as-of", "2026-11-22", "--bulk", "always", c, check=0)
    assert logical_dump(bulk) == b
    # the search index answers alike
    for q in ("quantum", "neural networks", "entanglement entropy"):
        hits = search(row, q)
        assert hits and hits == search(bulk, q)


@pytest.mark.parametrize("names", ["small", "arxiv"])
def test_fresh_graph_names_equal_lookups(backend, names):
    """A file into a graph without authors does not ask the store for the
    candidates of names it has not written (PGR_NAME_LOOKUPS=always does):
    the graphs must be the same, merges and all."""
    d = TMP / ("names_" + uuid.uuid4().hex[:8])
    d.mkdir(parents=True)
    c = corpus(d / "c.jsonl", 1200, seed=11, names=names)
    fast, slow = Db(backend), Db(backend)
    ingest(fast.url, "--as-of", "2026-11-22", c, check=0)
    p = subprocess.run([BIN, "ingest", "--db", slow.url, "-q", "--as-of", "2026-11-22", str(c)],
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PGR_NAME_LOOKUPS": "always"})
    assert p.returncode == 0, p.stderr
    if names == "small":
        assert int(fast.one("SELECT COUNT(*) FROM author_merges")) > 0
    assert int(fast.one("SELECT COUNT(*) FROM authors")) > 1200
    a, b = logical_dump(fast), logical_dump(slow)
    assert sorted(a) == sorted(b)
    for t in a:
        assert a[t] == b[t], f"table {t} differs with and without name lookups"
    # a second file into the now non-empty graph asks the store again: a
    # name of the first file found there is an existing author's candidate
    c2 = corpus(d / "c2.jsonl", 300, seed=12, names=names)
    ingest(fast.url, "--as-of", "2026-11-22", c2, check=0)
    p = subprocess.run([BIN, "ingest", "--db", slow.url, "-q", "--as-of", "2026-11-22", str(c2)],
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PGR_NAME_LOOKUPS": "always"})
    assert p.returncode == 0, p.stderr
    assert logical_dump(fast) == logical_dump(slow)


def test_bulk_failure_leaves_database_unchanged(backend):
    d = TMP / ("bulkfail_" + uuid.uuid4().hex[:8])
    d.mkdir(parents=True)
    db = Db(backend)
    # one generated corpus split in two: arXiv ids are by line number
    lines = corpus(d / "all.jsonl", 1100, seed=3).read_text().splitlines(keepends=True)
    first = write(d / "a.jsonl", "".join(lines[:300]))
    ingest(db.url, "--as-of", "2026-11-22", first, check=0)
    dump, idx = logical_dump(db), indexes(db)
    # 800 good lines, then a truncated one: the whole file must go
    good = "".join(lines[300:])
    bad = write(d / "b.jsonl", good + '{"id": "0704.99999", "title": \n')
    p = ingest(db.url, "--as-of", "2026-11-22", "--bulk", "always", bad, check=1)
    assert "b.jsonl" in p.stderr and "line 801" in p.stderr, p.stderr
    assert logical_dump(db) == dump
    assert indexes(db) == idx
    # and the database still takes the good file afterwards, indexes intact
    ok = write(d / "c.jsonl", good)
    ingest(db.url, "--as-of", "2026-11-22", "--bulk", "always", ok, check=0)
    assert int(db.one("SELECT COUNT(*) FROM works")) == 1100
    assert indexes(db) == idx


def test_bulk_option_checked():
    p = subprocess.run([BIN, "ingest", "--bulk", "sometimes", "x.jsonl"], capture_output=True,
                       text=True)
    assert p.returncode == 2 and "--bulk" in p.stderr
