"""An OpenAlex author object's topics (with their counts), topic_share (with
its values) and x_concepts (with their scores) are that source's claims about
the author: stored with the source's figures and provenance, apart from the
computed topic shares, on SQLite and PostgreSQL, and shown by the API under
the author's source_claims. Expected figures are read from the fixture file
itself, not from our parser."""
import json
import os
import shutil
import uuid
from pathlib import Path

import pytest
import requests

import apiutil
from test_ingest import Db, ingest

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests/data/fixtures/openalex/A5023888391.json"
TMP = Path(os.environ.get("PEERGRAPH_TEST_TMP", "/tmp"))


def short(url):
    return url.rsplit("/", 1)[-1]


def expected(obj):
    """(list, code) -> (rank, count, score) as the file gives them."""
    out = {}
    for lst, key in (("topics", None), ("topic_share", "value"), ("x_concepts", "score")):
        for i, t in enumerate(obj.get(lst) or []):
            out[(lst, short(t["id"]))] = (i + 1, t.get("count"), t.get(key) if key else None)
    return out


def stored(db):
    rows = db.rows("SELECT c.list, t.code, c.rank, c.count, c.score, c.record, c.capture_date, "
                   "d.uri, d.format, a.openalex_id FROM author_topic_claims c "
                   "JOIN topics t ON t.id = c.topic_id JOIN source_docs d ON d.id = c.source_id "
                   "LEFT JOIN authors a ON a.id = c.author_id")
    return rows


def check_stored(db, obj, path):
    want = expected(obj)
    rows = stored(db)
    assert len(rows) == len(want) == 25 + 25 + 19
    for lst, code, rank, count, score, record, cap, uri, fmt, author in rows:
        r, c, s = want[(lst, code)]
        assert int(rank) == r, (lst, code)
        assert (int(count) if count else None) == c, (lst, code)
        assert (float(score) if score else None) == pytest.approx(s) if s is not None \
            else score == "", (lst, code)
        # provenance: the file, its format, the record in it, dated by the
        # record's own updated_date (the date OpenAlex says it holds for)
        assert record == "openalex:A5023888391" and author == "A5023888391"
        assert cap == obj["updated_date"][:10] and fmt == "openalex" and uri.endswith(path.name)


@pytest.fixture(params=["sqlite", "postgres"])
def db(request):
    return Db(request.param)


def test_author_topics_stored_with_figures_and_provenance(db, tmp_path):
    path = tmp_path / "A5023888391.json"
    shutil.copy(FIX, path)
    obj = json.loads(FIX.read_text())
    ingest(db.url, "--as-of", "2026-11-22", path, check=0)
    check_stored(db, obj, path)
    # the source's claims are not the computed topics: the author has no
    # works in this graph, so nothing is computed for them
    aid = db.one("SELECT id FROM authors WHERE openalex_id = 'A5023888391'")
    assert db.one(f"SELECT COUNT(*) FROM author_topics WHERE author_id = {aid}") == "0"
    # the topics themselves carry OpenAlex's hierarchy
    assert db.one("SELECT field FROM topics WHERE scheme = 'openalex' AND code = 'T10102'") \
        == "Decision Sciences"
    # the same file again changes nothing
    first = db.dump()
    p = ingest(db.url, "--as-of", "2026-11-22", path, check=0)
    assert "unchanged 1" in p.stdout
    assert db.dump() == first
    # a changed file replaces that source's claims: a dropped topic is gone,
    # a changed count is the new one
    obj["topics"] = obj["topics"][1:]
    obj["topics"][0]["count"] = 12
    obj["topic_share"] = []
    obj["updated_date"] = "2025-07-01T08:00:00.000000"
    path.write_text(json.dumps(obj))
    ingest(db.url, "--as-of", "2026-11-23", path, check=0)
    rows = {(r[0], r[1]): r for r in stored(db)}
    assert len(rows) == 24 + 19
    assert ("topics", "T10102") not in rows
    assert rows[("topics", "T11937")][2:4] == ("1", "12")
    assert all(r[6] == "2025-07-01" for r in rows.values())


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served(request):
    db = Db(request.param)
    d = TMP / ("atc_" + uuid.uuid4().hex[:8])
    d.mkdir()
    shutil.copy(FIX, d / "A5023888391.json")
    ingest(db.url, "--as-of", "2026-11-22", d, check=0)
    srv = apiutil.Server(db.url)
    yield db, srv
    srv.stop()
    shutil.rmtree(d, ignore_errors=True)


def test_api_shows_topics_under_source_claims(served):
    db, srv = served
    obj = json.loads(FIX.read_text())
    want = expected(obj)
    r = requests.get(srv.api + "/authors/openalex:A5023888391", timeout=30)
    assert r.status_code == 200, r.text[:300]
    a = r.json()
    claims = a["source_claims"]
    assert len(claims) == 1
    sc = claims[0]
    assert sc["uri"].endswith("A5023888391.json") and sc["format"] == "openalex"
    assert sc["capture_date"] == obj["updated_date"][:10]
    assert sc["record"] == "openalex:A5023888391"
    # the record's figures are in the same entry (tests/py/test_author_record_claims.py)
    assert sc["claims"]["h_index"]["value"] == obj["summary_stats"]["h_index"]
    got = {(t["list"], t["code"]): t for t in sc["topics"]}
    assert len(got) == len(want)
    for k, (rank, count, score) in want.items():
        t = got[k]
        assert t["rank"] == rank and t["count"] == count, k
        assert (t["score"] == pytest.approx(score)) if score is not None else t["score"] is None
        assert t["record"] == "openalex:A5023888391" and t["scheme"] == "openalex"
    # each list in the source's order
    tops = [t for t in sc["topics"] if t["list"] == "topics"]
    assert [t["code"] for t in tops] == [short(t["id"]) for t in obj["topics"]]
    assert tops[0]["display_name"] == obj["topics"][0]["display_name"]
    # topics are topics of the graph: resolvable by their id
    t = requests.get(srv.api + "/topics/" + short(tops[0]["id"]), timeout=30).json()
    assert t["code"] == "T10102"
    # never mixed with the computed figures
    assert a["computed"]["topic_shares"] == [] and a["topics"] == []
    # select keeps them
    r = requests.get(srv.api + "/authors/openalex:A5023888391",
                     params={"select": "id,source_claims"}, timeout=30).json()
    assert set(r) == {"id", "source_claims"} and len(r["source_claims"][0]["topics"]) == 69
