"""What the indexer links across sources, read back through the JSON API and
the pages of a live server, on SQLite and PostgreSQL: the works citing a work
(OpenAlex referenced_works), OpenAlex topic objects and work topics, Semantic
Scholar's tldr, and one work for a paper two sources give different arXiv ids
(the DOI decides)."""
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import requests

import apiutil
from test_ingest import Db, ingest

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests/data/fixtures"
TMP = Path(os.environ.get("PEERGRAPH_TEST_TMP", "/tmp"))


def oa_work(wid, title, doi=None, refs=(), arxiv=None, year=2021):
    return {
        "id": f"https://openalex.org/{wid}", "doi": f"https://doi.org/{doi}" if doi else None,
        "title": title, "display_name": title, "publication_year": year,
        "publication_date": f"{year}-02-03", "type": "article",
        "authorships": [{"author_position": "first", "raw_author_name": "Ines Okafor",
                         "author": {"id": None, "display_name": "Ines Okafor"}}],
        "locations": ([{"landing_page_url": f"https://arxiv.org/abs/{arxiv}"}] if arxiv else []),
        "referenced_works": [f"https://openalex.org/{r}" for r in refs],
        "topics": [{"id": "https://openalex.org/T11636", "score": 0.93,
                    "display_name": "Artificial Intelligence in Healthcare and Education",
                    "subfield": {"id": "https://openalex.org/subfields/2718",
                                 "display_name": "Health Informatics"},
                    "field": {"id": "https://openalex.org/fields/27", "display_name": "Medicine"},
                    "domain": {"id": "https://openalex.org/domains/4",
                               "display_name": "Health Sciences"}}],
    }


def snapshot(arxiv, title, doi):
    return json.dumps({
        "id": arxiv, "submitter": "Ines Okafor", "authors": "Ines Okafor and Bo Wang",
        "title": title, "comments": None, "journal-ref": None, "doi": doi, "report-no": None,
        "categories": "cs.CL", "license": None, "abstract": "We study " + title.lower() + ".",
        "versions": [{"version": "v1", "created": "Wed, 3 Feb 2021 10:00:00 GMT"}],
        "update_date": "2021-02-03",
        "authors_parsed": [["Okafor", "Ines", ""], ["Wang", "Bo", ""]]}) + "\n"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served(request):
    db = Db(request.param)
    d = TMP / ("links_" + uuid.uuid4().hex[:8])
    d.mkdir()
    # the citing work comes first: its reference resolves when the cited
    # work arrives in a later file
    (d / "1_citing.json").write_text(json.dumps(oa_work(
        "W901", "Citing paper about healthcare models", refs=["W902", "W999"])))
    (d / "2_cited.json").write_text(json.dumps(oa_work(
        "W902", "Cited paper on clinical decision support", doi="10.5555/cited.1")))
    (d / "3_arxiv.jsonl").write_text(snapshot("2102.01234", "Shared paper across sources",
                                              "10.5555/shared.7"))
    # the same paper from OpenAlex, with another arXiv id in its locations
    (d / "4_shared.json").write_text(json.dumps(oa_work(
        "W903", "Shared paper across sources", doi="10.5555/shared.7", arxiv="2102.09999v2")))
    shutil.copy(FIX / "openalex/T11636.json", d / "5_topic.json")
    shutil.copy(FIX / "s2/paper_turing1950_citations_trimmed_to_5.json", d / "6_s2.json")
    ingest(db.url, "--as-of", "2026-11-22", d, check=0)
    srv = apiutil.Server(db.url)
    yield db, srv
    srv.stop()
    shutil.rmtree(d, ignore_errors=True)


def get(srv, path, **params):
    r = requests.get(srv.api + path, params=params, timeout=30)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    return r.json()


def short(url):
    return url.rsplit("/", 1)[-1]


def test_referenced_work_lists_its_citing_work(served):
    db, srv = served
    citing = get(srv, "/works/openalex:W901")
    cited = get(srv, "/works/openalex:W902")
    assert cited["id"] in citing["referenced_works"]
    assert "openalex:W999" in citing["referenced_works_unresolved"]
    # the cited work's side: cites:<it> lists the citing work, and it counts it
    lst = get(srv, "/works", filter="cites:" + short(cited["id"]))
    assert [w["id"] for w in lst["results"]] == [citing["id"]]
    assert cited["cited_by_count"] >= 1
    lst = get(srv, "/works", filter="cited_by:" + short(citing["id"]))
    assert [w["id"] for w in lst["results"]] == [cited["id"]]
    # and its page names the citing work with a link
    page = requests.get(srv.base + "/works/" + short(cited["id"]), timeout=30)
    assert page.status_code == 200
    assert "Citing paper about healthcare models" in page.text
    assert 'href="/works/%s"' % short(citing["id"]) in page.text
    # a work nobody cites lists nobody
    assert get(srv, "/works", filter="cites:" + short(citing["id"]))["meta"]["count"] == 0


def test_openalex_topics_shown(served):
    db, srv = served
    t = get(srv, "/topics/openalex:T11636")
    assert t["display_name"] == "Artificial Intelligence in Healthcare and Education"
    assert t["description"].startswith("This cluster of papers explores")
    assert t["subfield"]["display_name"] == "Health Informatics"
    assert t["field"]["display_name"] == "Medicine"
    assert t["domain"]["display_name"] == "Health Sciences"
    assert t["works_count"] == 3  # W901, W902, W903: the graph's count, not OpenAlex's 42324
    w = get(srv, "/works/openalex:W901")
    mine = [x for x in w["topics"] if x["id"] == t["id"]]
    assert len(mine) == 1 and abs(mine[0]["score"] - 0.93) < 1e-9
    lst = get(srv, "/works", filter="topics.id:" + short(t["id"]))
    assert lst["meta"]["count"] == 3
    # keyword topics are counted too, after the keyword pass
    kw = get(srv, "/topics", filter="scheme:keyword", **{"per-page": 5})
    assert kw["meta"]["count"] > 0
    assert all(x["works_count"] >= 1 for x in kw["results"])


def test_s2_tldr_in_work_json(served):
    db, srv = served
    w = get(srv, "/works/doi:10.1093/mind/lix.236.433")
    assert w["tldr"]["model"] == "tldr@v2.0.0"
    assert w["tldr"]["text"].startswith("If the meaning of the words")
    assert get(srv, "/works/openalex:W901")["tldr"] is None
    assert set(get(srv, "/works/openalex:W901", select="id,tldr")) == {"id", "tldr"}


def test_same_paper_two_arxiv_ids_one_work(served):
    db, srv = served
    rows = db.rows("SELECT arxiv_id, doi, openalex_id FROM works WHERE doi = '10.5555/shared.7'")
    assert rows == [("2102.01234", "10.5555/shared.7", "W903")]
    assert db.one("SELECT COUNT(*) FROM works WHERE norm_title = 'shared paper across sources'") == "1"
    w = get(srv, "/works/arxiv:2102.01234")
    assert len(w["provenance"]) == 2
