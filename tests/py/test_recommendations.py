"""GET /api/v1/authors/{id}/recommendations without a model (graph signals
only) on the synthetic graph, on SQLite and PostgreSQL: never the author's
own works, never the author or an existing co-author, every signal checked
against the graph through the other endpoints, the same answers on both
backends, and the error shape for bad parameters. (Adapter scoring with the
real model is in test_recs_model.py.)"""

import pytest
import requests

import apiutil

# u^2-skewed authorship: the low ids are the prolific authors.
AUTHORS = ["A1", "A2", "A3", "A7", "A15"]


@pytest.fixture(scope="module")
def servers():
    both = {b: apiutil.Server(apiutil.graph(b)) for b in ("sqlite", "postgres")}
    yield both
    for s in both.values():
        s.stop()


def get(api, path, **params):
    r = requests.get(api + path, params=params, timeout=120)
    assert r.status_code == 200, r.text[:400]
    return r.json()


def key(x):
    return apiutil.short_key(x)


def own_works(api, aid):
    out, cursor = [], "*"
    while cursor:
        j = get(api, "/works", filter="authorships.author.id:" + aid, cursor=cursor,
                **{"per-page": 200})
        out.extend(j["results"])
        cursor = j["meta"]["next_cursor"]
    return out


def coauthors(api, aid):
    return {key(c["id"]): c["display_name"] for c in get(api, "/authors/%s/coauthors" % aid,
                                                            per_page=200)["results"]}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@pytest.mark.parametrize("aid", AUTHORS)
def test_works_recommendations(servers, backend, aid):
    api = servers[backend].api
    j = get(api, "/authors/%s/recommendations" % aid, kind="works", per_page=20)
    assert key(j["author"]["id"]) == aid and j["kind"] == "works"
    assert j["scored_by"] == "graph" and j["model"] is None
    assert "no model" in j["scoring_note"]
    assert j["meta"]["rescored"] == 0 and j["meta"]["per_page"] == 20
    res = j["results"]
    assert res, "a prolific author of the synthetic graph gets recommendations"
    assert len(res) <= 20 and j["meta"]["count"] >= len(res)
    scores = [r["score"] for r in res]
    assert scores == sorted(scores, reverse=True)
    mine = own_works(api, aid)
    own = {key(w["id"]) for w in mine}
    cites_from_mine = {}
    for w in mine:
        for ref in w.get("referenced_works") or []:
            cites_from_mine[key(ref)] = cites_from_mine.get(key(ref), 0) + 1
    co = coauthors(api, aid)
    my_topics = {t["display_name"] for w in mine for t in w.get("topics") or []}
    assert j["meta"]["excluded"]["own_works"] == len(own)
    for r in res:
        wid = key(r["id"])
        assert wid not in own, "recommended the author's own work %s" % wid
        sig = r["signals"]
        assert sig.get("coauthors") or sig.get("shared_topics") or sig.get("cited_by_your_works"), r
        assert r["adapter_gain"] is None and r["graph_score"] > 0
        work = get(api, "/works/" + wid)
        names = {a["author"]["display_name"] for a in work["authorships"]}
        for n in sig.get("coauthors", []):
            assert n in names and n in co.values(), (n, wid)
        for t in sig.get("shared_topics", []):
            assert t in my_topics and t in {x["display_name"] for x in work["topics"]}
        assert sig.get("cited_by_your_works", 0) == cites_from_mine.get(wid, 0)
        assert sig["cited_by_count"] == work["cited_by_count"] == r["cited_by_count"]
        assert r["title"] == work["title"]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@pytest.mark.parametrize("aid", AUTHORS)
def test_coauthor_recommendations(servers, backend, aid):
    api = servers[backend].api
    j = get(api, "/authors/%s/recommendations" % aid, kind="coauthors", per_page=25)
    assert j["kind"] == "coauthors" and j["scored_by"] == "graph"
    co = coauthors(api, aid)
    assert j["meta"]["excluded"]["coauthors"] == len(co)
    mine = own_works(api, aid)
    my_topics = {t["display_name"] for w in mine for t in w.get("topics") or []}
    cited = {}  # author -> citations from my works to their works
    for w in mine:
        for ref in w.get("referenced_works") or []:
            for a in get(api, "/works/" + key(ref))["authorships"]:
                k = key(a["author"]["id"])
                cited[k] = cited.get(k, 0) + 1
    assert j["results"]
    for r in j["results"]:
        a = key(r["id"])
        assert a != aid and a not in co, "recommended %s, already a co-author of %s" % (a, aid)
        assert a.startswith("A") and r["display_name"]
        sig = r["signals"]
        via = sig.get("via_coauthors", [])
        assert via or sig.get("shared_topics") or sig.get("cited_by_your_works"), r
        if via:
            theirs = coauthors(api, a)
            for n in via:
                assert n in co.values() and n in theirs.values(), (n, a)
            assert sig["works_with_your_coauthors"] >= len(via)
        for t in sig.get("shared_topics", []):
            assert t in my_topics, (t, a)
        assert sig.get("cited_by_your_works", 0) == cited.get(a, 0), (a, sig)


def test_same_answers_on_both_backends(servers):
    for aid in AUTHORS[:3]:
        for kind in ("works", "coauthors"):
            a, b = (get(servers[x].api, "/authors/%s/recommendations" % aid, kind=kind)
                    for x in ("sqlite", "postgres"))
            assert [key(r["id"]) for r in a["results"]] == [key(r["id"]) for r in b["results"]]
            for x, y in zip(a["results"], b["results"]):
                assert x["signals"] == y["signals"]
                assert abs(x["score"] - y["score"]) < 1e-9


@pytest.mark.parametrize("query,name", [
    ("kind=foo", "kind"), ("kind=", "kind"), ("per_page=0", "per_page"), ("per_page=51", "per_page"),
    ("per_page=abc", "per_page"), ("per-page=-3", "per_page"), ("colour=blue", "colour"),
    ("kind=works&kind=coauthors", "kind")])
def test_bad_parameters(servers, query, name):
    r = requests.get(servers["sqlite"].api + "/authors/A1/recommendations?" + query, timeout=30)
    assert r.status_code == 400, r.text
    j = r.json()
    assert set(j) == {"error", "message"} and j["error"] == "invalid_parameter"
    assert name in j["message"]


def test_unknown_author(servers):
    for aid in ("A99999999", "W1", "nonsense"):
        r = requests.get(servers["sqlite"].api + "/authors/%s/recommendations" % aid, timeout=30)
        assert r.status_code == 404 and r.json()["error"] == "not_found"
