"""Malformed and hostile input on every JSON API endpoint (issue 4, "Bad
input", the endpoint half): each answer is the one error shape with the right
status and a message naming the parameter or id; nothing is a 500; the server
survives, the data is intact, and it exits cleanly. Runs against the release
and the sanitizer build, failing on any sanitizer report."""

import json

import pytest
import requests

import apiutil
import pgserver

LIST_ENDPOINTS = ["works", "authors", "topics", "sources", "institutions"]

# (path and query, status, a word the message must contain)
CASES = [
    # unknown or repeated parameters
    ("/works?foo=1", 400, "foo"),
    ("/authors?per-page=5&bar=", 400, "bar"),
    ("/works?filter=type:article&filter=type:preprint", 400, "filter"),
    ("/works?per-page=5&per_page=5", 400, "per"),
    ("/works/W1?foo=1", 400, "foo"),
    # per-page and page
    ("/works?per-page=0", 400, "per-page"),
    ("/works?per-page=201", 400, "per-page"),
    ("/works?per-page=-1", 400, "per-page"),
    ("/works?per-page=99999999999999999999999", 400, "per-page"),
    ("/works?per-page=abc", 400, "per-page"),
    ("/works?per-page=", 400, "per-page"),
    ("/works?per-page=1e3", 400, "per-page"),
    ("/works?per_page=0x10", 400, "per-page"),
    ("/works?page=0", 400, "page"),
    ("/works?page=-3", 400, "page"),
    ("/works?page=101&per-page=100", 400, "page"),
    ("/works?page=2&cursor=*", 400, "cursor"),
    # broken cursors
    ("/works?cursor=", 400, "cursor"),
    ("/works?cursor=garbage", 400, "cursor"),
    ("/works?cursor=" + "A" * 900, 400, "cursor"),
    ("/works?cursor=eyJ4IjoxfQ==", 400, "cursor"),
    ("/works?cursor=%2A%2A", 400, "cursor"),
    # filters
    ("/works?filter=nokey", 400, "filter"),
    ("/works?filter=no_such_key:1", 400, "no_such_key"),
    ("/works?filter=publication_year:twenty", 400, "publication_year"),
    ("/works?filter=publication_year:2023-2020", 400, "publication_year"),
    ("/works?filter=publication_year:1-2-3", 400, "publication_year"),
    ("/works?filter=publication_year:!<2020", 400, "publication_year"),
    ("/works?filter=cited_by_count:>", 400, "cited_by_count"),
    ("/works?filter=cited_by_count:99999999999999999999", 400, "cited_by_count"),
    ("/works?filter=has_code:maybe", 400, "has_code"),
    ("/works?filter=type:", 400, "type"),
    ("/works?filter=type:a||b", 400, "type"),
    ("/works?filter=doi:not-a-doi", 400, "doi"),
    ("/works?filter=authorships.author.id:nonsense", 400, "author"),
    ("/authors?filter=publication_year:2020", 400, "publication_year"),
    ("/authors?filter=works_count:lots", 400, "works_count"),
    ("/works?filter=" + ",".join("type:a%d" % i for i in range(40)), 400, "filter"),
    ("/works?filter=type:" + "|".join("t%d" % i for i in range(150)), 400, "type"),
    # search syntax: a 400 naming the parameter, never a database error
    ("/works?search=%22unclosed", 400, "search"),
    ("/works?search=(graph", 400, "search"),
    ("/works?search=graph)", 400, "search"),
    ("/works?search=graph%20OR", 400, "search"),
    ("/works?search=AND%20graph", 400, "search"),
    ("/works?search=NOT%20graph", 400, "search"),
    ("/works?search=*", 400, "search"),
    ("/works?search=" + "(" * 20 + "a" + ")" * 20, 400, "search"),
    ("/works?search=" + "a%20" * 50, 400, "search"),
    ("/works?filter=title.search:%22x", 400, "title.search"),
    ("/authors?filter=display_name.search:(", 400, "display_name.search"),
    # sort, select, group_by
    ("/works?sort=nope", 400, "sort"),
    ("/works?sort=cited_by_count:sideways", 400, "sort"),
    ("/works?sort=relevance_score:desc", 400, "relevance_score"),
    ("/authors?sort=publication_date", 400, "sort"),
    ("/works?select=authorships.author", 400, "select"),
    ("/works?select=no_such_field", 400, "no_such_field"),
    ("/works?select=id,", 400, "select"),
    ("/works?group_by=title", 400, "group_by"),
    ("/works?group_by=type&group-by=type", 400, "group"),
    ("/works?group_by=type&select=id", 400, "select"),
    # ids
    ("/works/W999999999", 404, "W999999999"),
    ("/works/W0", 404, "W0"),
    ("/works/foo", 404, "foo"),
    ("/works/A1", 404, "A1"),
    ("/authors/W1", 404, "W1"),
    ("/works/doi:10.9999/does-not-exist", 404, "doi"),
    ("/works/https%3A%2F%2Fdoi.org%2F10.9999%2Fnope", 404, "doi"),
    ("/works/arxiv:9999.99999", 404, "arxiv"),
    ("/works/W99999999999999999999999", 404, "W9999"),
    ("/topics/T999999", 404, "T999999"),
    ("/sources/S999999", 404, "S999999"),
    ("/institutions/I999999", 404, "I999999"),
    ("/authors/A999999/coauthors", 404, "A999999"),
    ("/authors/A999999/graph", 404, "A999999"),
    ("/authors/A1/graph?depth=3", 400, "depth"),
    ("/authors/A1/graph?depth=", 400, "depth"),
    ("/authors/A1/graph?max_nodes=0", 400, "max_nodes"),
    ("/authors/A1/coauthors?per-page=0", 400, "per-page"),
    # autocomplete
    ("/autocomplete/works", 400, "q"),
    ("/autocomplete/works?q=", 400, "q"),
    ("/autocomplete/works?q=" + "x" * 300, 400, "q"),
    ("/autocomplete/nothing?q=a", 404, "nothing"),
    ("/autocomplete/authors?q=a&x=1", 400, "x"),
]

# SQL-shaped input is data, never SQL: valid requests that match nothing, or
# a 400 / 404 for a malformed value, and the graph is unchanged afterwards.
SQLISH = [
    "/works?filter=type:article'%20OR%20'1'='1",
    "/works?filter=type:article%22;%20DROP%20TABLE%20works;--",
    "/works?search=';%20DROP%20TABLE%20works;%20--",
    "/works?search=x%22)%20OR%201=1%20--",
    "/works?search=graph%20NEAR(a%20b)",
    "/works?search=title:graph",
    "/works?search=%5E%24%25%26%7B%7D",
    "/authors?filter=display_name.search:robert');DROP%20TABLE%20authors;--",
    "/works/W1'%20OR%20'1'='1",
    "/works/doi:10.1/x'%20UNION%20SELECT%201--",
    "/works?sort=cited_by_count;DROP%20TABLE%20works",
    "/works?select=id;DROP%20TABLE%20works",
    "/autocomplete/authors?q=%25%27%20OR%201=1--",
    "/autocomplete/works?q=%22%22%22",
]


@pytest.fixture(scope="module", params=["release", "sanitizer"])
def server(request):
    binary = apiutil.BIN if request.param == "release" else apiutil.SAN_BIN
    srv = apiutil.Server(apiutil.graph("sqlite"), binary=binary)
    yield srv
    srv.stop()  # exit 0, no sanitizer report


@pytest.fixture(scope="module")
def session():
    s = requests.Session()
    yield s
    s.close()


def check_error(r, status, word):
    assert r.status_code == status, "%s -> %d %s" % (r.url, r.status_code, r.text[:300])
    body = r.json()
    assert set(body) == {"error", "message"}, body
    assert body["error"] and body["error"].replace("_", "").isalpha()
    assert word.lower() in body["message"].lower(), (r.url, body)
    assert r.headers.get("X-Request-Id")


@pytest.mark.parametrize("path,status,word", CASES, ids=[c[0][:60] for c in CASES])
def test_bad_input(server, session, path, status, word):
    r = session.get(server.api + path, timeout=30)
    check_error(r, status, word)


def test_sql_shaped_input_is_data(server, session):
    before = session.get(server.api + "/works?per-page=1").json()["meta"]["count"]
    for path in SQLISH:
        r = session.get(server.api + path, timeout=30)
        assert r.status_code in (200, 400, 404), (path, r.status_code, r.text[:300])
        if r.status_code != 200:
            check_error(r, r.status_code, "")
        else:
            assert "results" in r.json()
    assert session.get(server.api + "/works?per-page=1").json()["meta"]["count"] == before
    assert session.get(server.api + "/authors?per-page=1").json()["meta"]["count"] > 0


@pytest.mark.parametrize("target", [
    b"/api/v1/works?search=%ff%fe",
    b"/api/v1/works?search=gr%00aph",
    b"/api/v1/works?filter=type:%c3%28",
    b"/api/v1/works/W1%00",
    b"/api/v1/works/%ff",
    b"/api/v1/autocomplete/authors?q=%ed%a0%80",
    b"/api/v1/works?%ff=1",
])
def test_invalid_utf8_and_nul(server, target):
    resp = server.raw(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, body = pgserver.status_of(resp), pgserver.body_of(resp)
    assert status in (400, 404), (target, status, body[:200])
    err = json.loads(body)
    assert set(err) == {"error", "message"}


def test_every_list_endpoint_refuses_garbage(server, session):
    for name in LIST_ENDPOINTS:
        for q, word in [("per-page=0", "per-page"), ("zzz=1", "zzz"), ("cursor=%21", "cursor"),
                        ("filter=zzz:1", "zzz"), ("sort=zzz", "zzz"), ("search=(", "search")]:
            r = session.get("%s/%s?%s" % (server.api, name, q), timeout=30)
            check_error(r, 400, word)


def test_server_survives(server, session):
    assert server.alive()
    r = session.get(server.api + "/works?per-page=3")
    assert r.status_code == 200 and len(r.json()["results"]) == 3
