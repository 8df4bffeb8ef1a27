"""The search results cache (server/api.c, api_cache.c): a repeated search
is served from memory while the graph's data version holds, and the next
search after an ingest sees the ingested work, on both backends, with the
server left running across the ingest (another process writes). With
PGR_SEARCH_CACHE=off nothing is cached."""
import json
import os
import re
import subprocess
import uuid

import pytest
import requests

import apiutil


def _metric(server, name, cache):
    text = requests.get(server.base + "/metrics").text
    m = re.search(r'^%s\{cache="%s"\} (\d+)$' % (re.escape(name), cache), text, re.M)
    return int(m.group(1)) if m else 0


def _db(backend, tmp_path):
    if backend == "sqlite":
        url = "sqlite:" + str(tmp_path / ("cache-%s.db" % uuid.uuid4().hex[:6]))
    else:
        url = apiutil.create_pg_database("searchcache")
    r = subprocess.run([apiutil.BIN, "bench", "gen", "--db", url, "--works", "200", "--authors",
                        "80", "--seed", "3", "--quiet"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return url


def _ingest(url, tmp_path, title):
    line = json.dumps({
        "id": "2001.54321", "submitter": "Ada Qubit", "authors": "Ada Qubit",
        "title": title, "comments": None, "journal-ref": None, "doi": None,
        "report-no": None, "categories": "cs.LG", "license": None,
        "abstract": "We study " + title.lower() + ".",
        "versions": [{"version": "v1", "created": "Mon, 6 Jan 2020 00:00:00 GMT"}],
        "update_date": "2020-01-06", "authors_parsed": [["Qubit", "Ada", ""]]}) + "\n"
    path = tmp_path / ("new-%s.jsonl" % uuid.uuid4().hex[:6])
    path.write_text(line)
    p = subprocess.run([apiutil.BIN, "ingest", "--db", url, "-q", str(path)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr


def _search(server, q, **extra):
    params = {"search": q, "per-page": "5", "select": "id,display_name,relevance_score"}
    params.update(extra)
    r = requests.get(server.api + "/works", params=params)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_cached_until_an_ingest(backend, tmp_path):
    url = _db(backend, tmp_path)
    with apiutil.Server(url) as s:
        first = _search(s, "graph qzxwvy")
        assert first["meta"]["count"] == 0 and first["results"] == []
        top = _search(s, "graph")
        misses = _metric(s, "peergraph_cache_misses_total", "api_search")
        hits = _metric(s, "peergraph_cache_hits_total", "api_search")
        # the same request again, and spelt differently (order, per_page, mailto)
        again = _search(s, "graph")
        r = requests.get(s.api + "/works?mailto=a@b.c&select=id,display_name,relevance_score"
                         "&per_page=5&search=graph")
        assert r.status_code == 200
        assert again["results"] == top["results"] == r.json()["results"]
        assert again["meta"]["db_response_time_ms"] == 0
        assert _metric(s, "peergraph_cache_hits_total", "api_search") == hits + 2
        assert _metric(s, "peergraph_cache_misses_total", "api_search") == misses
        # another process ingests a work that leads "graph" and is the only
        # "qzxwvy": the next searches see it
        _ingest(url, tmp_path, "Graph graph graph qzxwvy")
        after = _search(s, "graph qzxwvy")
        assert after["meta"]["count"] == 1, after
        assert after["results"][0]["display_name"] == "Graph graph graph qzxwvy"
        new_top = _search(s, "graph")
        assert new_top["results"][0]["display_name"] == "Graph graph graph qzxwvy"
        assert new_top["results"] != top["results"]
        s.stop()


def test_cache_off(tmp_path):
    url = _db("sqlite", tmp_path)
    with apiutil.Server(url, env={"PGR_SEARCH_CACHE": "off"}) as s:
        a = _search(s, "graph")
        b = _search(s, "graph")
        assert a["results"] == b["results"]
        assert _metric(s, "peergraph_cache_hits_total", "api_search") == 0
        assert _metric(s, "peergraph_cache_misses_total", "api_search") == 0
        s.stop()
