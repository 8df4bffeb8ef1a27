"""A record whose write PostgreSQL refuses, when that write was queued
(graph/store_pg.c: writes go out with the next read or at commit, so the
refusal comes back while a later record is being read): the error names the
file and the record that made the write, not the record current when the
answer came, and nothing of the file is stored (its transaction rolls back).

The refusal used is a real one the parsers cannot foresee: PostgreSQL's
b-tree entries are limited to 2704 bytes, and a work's normalised title is
indexed (works_norm_title_year), so a record whose title is 4000 bytes of
incompressible text is refused by the server when its row is inserted. SQLite
has no such limit and stores it."""
import json
import random
import string

import pytest

from test_ingest import Db, ingest, snapshot_line


def long_title():
    rnd = random.Random(7)
    return "Paper " + "".join(rnd.choice(string.ascii_letters + string.digits)
                              for _ in range(4000))


def write_snapshot(path, n, bad):
    with open(path, "w") as f:
        for i in range(1, n + 1):
            title = long_title() if i == bad else f"Paper number {i} about queued writes"
            f.write(snapshot_line(i, title, ["Ada Lovelace", f"Coauthor Number{i}"]))


def oa_author_page(path, n, bad):
    """An OpenAlex list page (one document, n author objects in results[]);
    the bad one has a 4000-byte incompressible alternative name, refused by
    the unique key of author_names(author_id, name)."""
    results = []
    for i in range(1, n + 1):
        alt = [long_title()] if i == bad else [f"Author N. {i}"]
        results.append({"id": f"https://openalex.org/A90000000{i:02d}",
                        "display_name": f"Author Number{i}",
                        "display_name_alternatives": alt, "works_count": 3})
    path.write_text(json.dumps({"meta": {"count": n, "page": 1, "per_page": n},
                                "results": results}))


@pytest.mark.parametrize("bad", [3, 10])  # a record in the middle; the last (fails at commit)
def test_pg_refused_queued_write_names_its_record(tmp_path, bad):
    db = Db("postgres")
    good = tmp_path / "good.jsonl"
    good.write_text(snapshot_line(99, "An earlier good paper", ["Ada Lovelace"]))
    ingest(db.url, good, check=0)
    before = db.dump()
    f = tmp_path / "refused.jsonl"
    write_snapshot(f, 10, bad)
    p = ingest(db.url, f, check=1)
    err = p.stderr
    assert "refused.jsonl" in err and f"line {bad}: postgres: " in err, err
    assert "index row size" in err, err
    # no other line is blamed
    others = [i for i in range(1, 11) if i != bad and f"line {i}:" in err]
    assert not others, err
    # nothing of the file is stored; the earlier file is untouched
    assert db.dump() == before


def test_pg_refused_queued_write_in_a_listing_names_its_entry(tmp_path):
    db = Db("postgres")
    f = tmp_path / "authors_page.json"
    oa_author_page(f, 6, 4)
    p = ingest(db.url, f, check=1)
    assert "authors_page.json" in p.stderr and "record 4: postgres: " in p.stderr, p.stderr
    assert not any(f"record {i}:" in p.stderr for i in (1, 2, 3, 5, 6)), p.stderr
    assert db.one("SELECT COUNT(*) FROM authors") == "0"
    assert db.one("SELECT COUNT(*) FROM source_docs WHERE uri NOT LIKE 'peergraph:%'") == "0"


def test_sqlite_takes_the_same_file(tmp_path):
    """The same input is not bad input for SQLite: it has no entry limit."""
    db = Db("sqlite")
    f = tmp_path / "refused.jsonl"
    write_snapshot(f, 10, 3)
    ingest(db.url, f, check=0)
    assert db.one("SELECT COUNT(*) FROM works") == "10"
