"""The JSON API beyond what pyalex exercises: both backends give the same
answers (search hits and top results, filters, groups), id forms, ETags,
co-authors and the author graph checked against the works listing."""

import collections

import pytest
import requests

import apiutil

QUERIES = ["graph", "graph neural", "\"language model\"", "retrieval OR ranking",
           "transformer -vision", "lear*", "(cache OR memory) latency", "serving NOT gpu"]

# Plain AND queries: their works whose titles hold every word are the top tier.
TIERED = {"graph": ["graph"], "graph neural": ["graph", "neural"], "gpu kernel": ["gpu", "kernel"],
          "adapter": ["adapter"], "efficient serving": ["efficient", "serving"]}

@pytest.fixture(scope="module")
def servers():
    both = {b: apiutil.Server(apiutil.graph(b)) for b in ("sqlite", "postgres")}
    yield both
    for s in both.values():
        s.stop()


def all_pages(api, path, params):
    out, cursor = [], "*"
    while cursor:
        p = dict(params, cursor=cursor)
        p.setdefault("per-page", 200)
        r = requests.get(api + path, params=p, timeout=60)
        assert r.status_code == 200, r.text[:300]
        body = r.json()
        out.extend(body["results"])
        cursor = body["meta"]["next_cursor"]
    return out


def keyed(results):
    return [apiutil.short_key(w["id"]) for w in results]


@pytest.mark.parametrize("q", QUERIES)
def test_search_same_hits_on_both_backends(servers, q):
    sq = all_pages(servers["sqlite"].api, "/works", {"search": q})
    pg = all_pages(servers["postgres"].api, "/works", {"search": q})
    assert len(sq) > 0, "query %r matches nothing: a test query should" % q
    assert sorted(keyed(sq)) == sorted(keyed(pg))
    for res in (sq, pg):  # best first
        scores = [w["relevance_score"] for w in res]
        assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("q", sorted(TIERED))
def test_search_same_top_results(servers, q):
    """bm25 (SQLite) and ts_rank (PostgreSQL) score differently, but both
    weight titles far above abstracts: the works whose titles hold every
    query word come first on both, so the top results are the same set."""
    words = TIERED[q]
    res = {b: all_pages(s.api, "/works", {"search": q}) for b, s in servers.items()}
    title_hits = {apiutil.short_key(w["id"]) for w in res["sqlite"]
                  if all(x in w["title"].lower().split() for x in words)}
    assert title_hits, "no title holds %r: pick another test query" % q
    for b, r in res.items():
        top = set(keyed(r[:len(title_hits)]))
        assert top == title_hits, (b, q, sorted(top ^ title_hits))


@pytest.mark.parametrize("params", [
    {"filter": "publication_year:2018-2021,type:article|preprint"},
    {"filter": "cited_by_count:>200", "sort": "cited_by_count:desc"},
    {"filter": "has_code:true,type:!preprint", "sort": "publication_date"},
    {"filter": "authorships.author.id:A1|A2|A3"},
    {"search": "graph", "sort": "cited_by_count:desc"},
])
def test_lists_same_on_both_backends(servers, params):
    sq = all_pages(servers["sqlite"].api, "/works", params)
    pg = all_pages(servers["postgres"].api, "/works", params)
    if "sort" in params:
        field = params["sort"].split(":")[0]
        # order equal up to ties in the sort field
        assert [w[field] for w in sq] == [w[field] for w in pg]
    assert sorted(keyed(sq)) == sorted(keyed(pg))


def test_groups_same_on_both_backends(servers):
    for g in ["publication_year", "type", "has_code", "topics.id", "authorships.author.id"]:
        res = {}
        for b, s in servers.items():
            r = requests.get(s.api + "/works", params={"group_by": g}, timeout=60)
            assert r.status_code == 200, r.text[:300]
            res[b] = sorted((apiutil.short_key(str(x["key"])), x["count"]) for x in r.json()["group_by"])
        assert res["sqlite"] == res["postgres"], g


def test_ids_are_urls_and_forms_agree(servers):
    s = servers["sqlite"]
    w = requests.get(s.api + "/works/W1").json()
    assert w["id"] == s.base + "/W1"
    for a in w["authorships"]:
        assert a["author"]["id"].startswith(s.base + "/A")
    for form in ["W1", "w1", s.base + "/W1", "doi:10.5555/pg.1", "https://doi.org/10.5555/pg.1",
                 "doi:10.5555/PG.1"]:
        r = requests.get(s.api + "/works/" + requests.utils.quote(form, safe=""))
        assert r.status_code == 200, (form, r.text)
        assert r.json()["id"] == w["id"]
        # unescaped slashes in the path as well (curl, browsers)
        r = requests.get(s.api + "/works/" + form)
        assert r.status_code == 200 and r.json()["id"] == w["id"], (form, r.status_code)
    arxiv = w["ids"].get("arxiv")
    if arxiv:
        r = requests.get(s.api + "/works/arxiv:" + arxiv.rsplit("/", 1)[-1])
        assert r.status_code == 200 and r.json()["id"] == w["id"]


def test_etag_and_not_modified(servers):
    s = servers["postgres"]
    r = requests.get(s.api + "/authors/A1")
    assert r.status_code == 200 and r.headers.get("ETag")
    r2 = requests.get(s.api + "/authors/A1", headers={"If-None-Match": r.headers["ETag"]})
    assert r2.status_code == 304


def test_coauthors_match_the_works(servers):
    for s in servers.values():
        works = all_pages(s.api, "/works", {"filter": "authorships.author.id:A1"})
        assert works, "A1 has works in the synthetic graph"
        expect = collections.Counter(a["author"]["id"] for w in works for a in w["authorships"]
                                     if apiutil.short_key(a["author"]["id"]) != "A1")
        r = requests.get(s.api + "/authors/A1/coauthors", params={"per-page": 200})
        assert r.status_code == 200
        body = r.json()
        got = {c["id"]: c["count"] for c in body["results"]}
        assert got == dict(expect)
        assert body["meta"]["count"] == len(expect)
        counts = [c["count"] for c in body["results"]]
        assert counts == sorted(counts, reverse=True)


def test_author_graph(servers):
    s = servers["sqlite"]
    g1 = requests.get(s.api + "/authors/A1/graph").json()
    g2 = requests.get(s.api + "/authors/A1/graph", params={"depth": 2}).json()
    ids1 = {n["id"] for n in g1["nodes"]}
    assert s.base + "/A1" in ids1
    for e in g1["edges"]:
        assert e["source"] in ids1 and e["target"] in ids1
    assert len(g2["nodes"]) >= len(g1["nodes"])
    small = requests.get(s.api + "/authors/A1/graph", params={"depth": 2, "max_nodes": 5}).json()
    assert len(small["nodes"]) <= 5


def test_autocomplete(servers):
    for s in servers.values():
        r = requests.get(s.api + "/autocomplete/works", params={"q": "graph ne"})
        assert r.status_code == 200
        res = r.json()["results"]
        assert 0 < len(res) <= 10
        for x in res:
            assert x["id"].startswith(s.base + "/W")
            assert "graph" in x["display_name"].lower()
        r = requests.get(s.api + "/autocomplete/topics", params={"q": "mach"})
        assert any("Machine" in x["display_name"] for x in r.json()["results"])
