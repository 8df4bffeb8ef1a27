"""pyalex, an OpenAlex client from PyPI, against a live peergraph server, on
both backends: list, filter, search, sort, cursor paging over several pages,
select, group_by, get by id, on works and authors. Expected answers are
computed from the server's own full listing (every work, walked by cursor),
so a filter or sort that drops or misorders rows fails here."""

import collections

import pytest

import apiutil

try:
    import pyalex
except ImportError:  # the venv of `make venv` provides it
    pyalex = None


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request):
    if pyalex is None:
        pytest.fail("pyalex is not importable: run the tests with build/venv/bin/python (make venv)")
    srv = apiutil.Server(apiutil.graph(request.param))
    pyalex.config.openalex_url = srv.api
    pyalex.config.max_retries = 0
    srv.backend = request.param
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def all_works(server):
    """Every work, by cursor paging through pyalex."""
    seen = []
    # Works({}): pyalex 0.16's paginate() reads self.params.get(), which fails
    # on the None a bare Works() holds
    for page in pyalex.Works({}).paginate(per_page=200, n_max=None):
        seen.extend(page)
    return seen


def test_list_and_count(server):
    works, meta = pyalex.Works().get(return_meta=True)
    assert len(works) == 25
    assert meta["count"] == apiutil.N_WORKS
    assert meta["per_page"] == 25
    assert all(w["id"].startswith(server.base + "/W") for w in works)
    authors, meta = pyalex.Authors().get(return_meta=True, per_page=10)
    assert len(authors) == 10
    assert 0 < meta["count"] <= apiutil.N_AUTHORS


def test_cursor_paging_covers_everything_once(server, all_works):
    ids = [w["id"] for w in all_works]
    assert len(ids) == apiutil.N_WORKS
    assert len(set(ids)) == len(ids)
    # smaller pages: the same set, more than one page
    pages = list(pyalex.Works({}).paginate(per_page=40, n_max=None))
    assert len(pages) >= 8
    assert sorted(w["id"] for p in pages for w in p) == sorted(ids)


def test_filter_year_and_ranges(server, all_works):
    by_year = collections.Counter(w["publication_year"] for w in all_works)
    year = by_year.most_common(1)[0][0]
    got, meta = pyalex.Works().filter(publication_year=year).get(return_meta=True, per_page=200)
    assert meta["count"] == by_year[year]
    assert {w["publication_year"] for w in got} == {year}
    # range and negation, as OpenAlex spells them
    lo, hi = 2017, 2019
    expect = sum(n for y, n in by_year.items() if lo <= y <= hi)
    assert pyalex.Works().filter(publication_year="%d-%d" % (lo, hi)).count() == expect
    assert pyalex.Works().filter_not(publication_year=year).count() == apiutil.N_WORKS - by_year[year]
    many = [w for w in all_works if w["cited_by_count"] > 500]
    assert pyalex.Works().filter_gt(cited_by_count=500).count() == len(many)
    few = [w for w in all_works if w["cited_by_count"] < 5]
    assert pyalex.Works().filter_lt(cited_by_count=5).count() == len(few)


def test_filter_type_code_or(server, all_works):
    types = collections.Counter(w["type"] for w in all_works)
    t1, t2 = sorted(types)[:2]
    assert pyalex.Works().filter_or(type=[t1, t2]).count() == types[t1] + types[t2]
    with_code = sum(1 for w in all_works if w["has_code"])
    assert pyalex.Works().filter(has_code=True).count() == with_code
    assert pyalex.Works().filter(has_code=False).count() == apiutil.N_WORKS - with_code


def test_filter_by_author_and_topic_ids(server, all_works):
    # the most prolific author, by counting authorships in the full listing
    counts = collections.Counter(a["author"]["id"] for w in all_works for a in w["authorships"])
    author_id, n = counts.most_common(1)[0]
    got = pyalex.Works().filter(authorships={"author": {"id": author_id}}).get(per_page=200)
    assert len(got) == n
    assert all(author_id in [a["author"]["id"] for a in w["authorships"]] for w in got)
    # the short key works as well as the URL
    assert pyalex.Works().filter(authorships={"author": {"id": apiutil.short_key(author_id)}}).count() == n
    topics = collections.Counter(t["id"] for w in all_works for t in w["topics"])
    topic_id, tn = topics.most_common(1)[0]
    assert pyalex.Works().filter(topics={"id": topic_id}).count() == tn


def test_search_and_relevance(server, all_works):
    works, meta = pyalex.Works().search("graph").get(return_meta=True, per_page=200)
    assert meta["count"] > 0
    for w in works:
        text = " ".join([w.get("title") or "", w["abstract"] or "",
                         " ".join(a["author"]["display_name"] for a in w["authorships"])]).lower()
        assert "graph" in text, w["title"]
        assert isinstance(w["relevance_score"], (int, float))
    # default order when searching: relevance, best first
    scores = [w["relevance_score"] for w in works]
    assert scores == sorted(scores, reverse=True)
    # a phrase narrows, an OR widens
    both = pyalex.Works().search("graph neural").count()
    either = pyalex.Works().search("graph OR neural").count()
    assert both <= meta["count"] <= either
    # search_filter (title.search) also narrows
    assert pyalex.Works().search_filter(title="graph").count() <= meta["count"]


def test_sort(server, all_works):
    works = pyalex.Works().sort(cited_by_count="desc").get(per_page=50)
    cites = [w["cited_by_count"] for w in works]
    assert cites == sorted(cites, reverse=True)
    assert cites[0] == max(w["cited_by_count"] for w in all_works)
    dates = [w["publication_date"] for w in pyalex.Works().sort(publication_date="asc").get(per_page=50)]
    assert dates == sorted(dates)
    authors = pyalex.Authors().sort(works_count="desc").get(per_page=20)
    wc = [a["works_count"] for a in authors]
    assert wc == sorted(wc, reverse=True)
    # sorted cursor paging still covers everything once
    ids = [w["id"] for p in pyalex.Works().sort(cited_by_count="desc").paginate(per_page=70, n_max=None)
           for w in p]
    assert len(ids) == apiutil.N_WORKS and len(set(ids)) == apiutil.N_WORKS


def test_select(server):
    works = pyalex.Works().select(["id", "display_name", "publication_year"]).get(per_page=5)
    assert len(works) == 5
    for w in works:
        assert set(w.keys()) == {"id", "display_name", "publication_year"}


def test_group_by(server, all_works):
    groups = pyalex.Works().group_by("publication_year").get()
    expect = collections.Counter(str(w["publication_year"]) for w in all_works)
    got = {str(g["key"]): g["count"] for g in groups}
    assert got == dict(expect)
    types = pyalex.Works().group_by("type").get()
    assert sum(g["count"] for g in types) == apiutil.N_WORKS


def test_get_by_id(server, all_works):
    w = all_works[17]
    again = pyalex.Works()[w["id"]]
    assert again["id"] == w["id"] and again["title"] == w["title"]
    assert pyalex.Works()[apiutil.short_key(w["id"])]["id"] == w["id"]
    # external ids in OpenAlex's forms
    with_doi = next(x for x in all_works if x.get("doi"))
    doi = with_doi["doi"].replace("https://doi.org/", "")
    assert pyalex.Works()["https://doi.org/" + doi]["id"] == with_doi["id"]
    assert pyalex.Works()["doi:" + doi]["id"] == with_doi["id"]
    # several at once: an openalex_id OR-filter under the hood
    pair = pyalex.Works()[[all_works[1]["id"], all_works[2]["id"]]]
    assert sorted(x["id"] for x in pair) == sorted([all_works[1]["id"], all_works[2]["id"]])
    a = w["authorships"][0]["author"]
    author = pyalex.Authors()[a["id"]]
    assert author["id"] == a["id"] and author["display_name"] == a["display_name"]
    assert author["works_count"] >= 1


def test_authors_filters_and_search(server):
    top = pyalex.Authors().sort(works_count="desc").get(per_page=1)[0]
    n = top["works_count"]
    assert pyalex.Authors().filter_gt(works_count=n - 1).count() >= 1
    assert pyalex.Authors().filter_gt(works_count=n).count() == 0
    last = top["display_name"].split()[-1]
    found = pyalex.Authors().search_filter(display_name=last).get(per_page=200)
    assert top["id"] in [a["id"] for a in found]
    assert all(last.lower() in a["display_name"].lower() for a in found)
    # the author's works, through the filter OpenAlex clients use
    assert pyalex.Works().filter(author={"id": top["id"]}).count() == n


def test_autocomplete(server):
    res = pyalex.Authors().autocomplete("Ali")
    assert 0 < len(res) <= 10
    assert all(r["display_name"].lower().startswith("ali") or " ali" in r["display_name"].lower()
               for r in res)


def test_errors_reach_the_client(server):
    import requests
    with pytest.raises(requests.HTTPError) as e:
        pyalex.Works().filter(no_such_key=1).get()
    assert e.value.response.status_code == 400
    assert "no_such_key" in e.value.response.json()["message"]
    with pytest.raises(requests.HTTPError) as e:
        pyalex.Works()["W999999999"]
    assert e.value.response.status_code == 404
