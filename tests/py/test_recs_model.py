"""Recommendations re-ranked with the researcher's adapter, with the real
model: a seed author whose adapter row was made by `peergraph adapt --random
--register`; the same request with ?adapter=none ranks by the graph alone.
Scoring is prefill only (score requests batched through the scheduler); the
base model's scores are cached, so a second request scores only under the
adapter and must give the same gains. A full inference queue answers 503 +
Retry-After while graph-only answers keep coming. Candidates are few
(per_page=3: 6 scored) to keep it short on the shared 2-core machine."""
import glob
import os
import re
import sqlite3
import subprocess

import pytest
import requests

from pgserver import BIN, Server, fresh_sqlite

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SEEDS = sorted(glob.glob(os.path.join(ROOT, "tests", "data", "seeds", "*.txt")))
MODEL = os.path.join(ROOT, "models", "smollm2-135m-instruct-q4_1.gguf")


def author_id(path, name):
    con = sqlite3.connect(path)
    try:
        row = con.execute("SELECT id FROM authors WHERE display_name = ? ORDER BY id",
                          (name,)).fetchone()
    finally:
        con.close()
    assert row, "no author %s in the seed graph" % name
    return "A%d" % row[0]


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    if not os.path.exists(MODEL):
        pytest.fail("no model at %s (make model)" % MODEL)
    d = tmp_path_factory.mktemp("recsmodel")
    url = fresh_sqlite(d)
    r = subprocess.run([BIN, "ingest", "--db", url, "--as-of", "2026-11-22"] + SEEDS,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    path = url[len("sqlite:"):]
    # Andrew Lanpouthakoun: one work of his own, co-authors with many works to rank
    who = author_id(path, "Andrew Lanpouthakoun")
    plain = author_id(path, "Zhengxuan Wu")
    ad = os.path.join(str(d), "al.pgad")
    r = subprocess.run([BIN, "adapt", "--random", "--seed", "3", "--out", ad, "--model", MODEL,
                        "--rank", "8", "--alpha", "512", "--targets", "q,k,v,o,gate,up,down",
                        "--register", who, "--db", url], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return {"url": url, "who": who, "plain": plain}


@pytest.fixture(scope="module")
def server(graph):
    s = Server(graph["url"], ["--model", MODEL])
    yield s
    s.stop()


def recs(server, aid, **params):
    r = requests.get(server.url + "/api/v1/authors/%s/recommendations" % aid, params=params,
                     timeout=600)
    assert r.status_code == 200, r.text[:500]
    return r.json()


def cache_hits(server):
    m = re.search(r'^peergraph_cache_hits_total\{cache="recs_base_score"\} (\d+)$',
                  requests.get(server.url + "/metrics").text, re.M)
    return int(m.group(1)) if m else 0


def test_adapter_reranks(server, graph):
    who = graph["who"]
    plain = recs(server, who, kind="works", per_page=10, adapter="none")
    assert plain["scored_by"] == "graph" and plain["adapter"] is None
    assert plain["meta"]["rescored"] == 0
    assert all(r["adapter_gain"] is None for r in plain["results"])
    j = recs(server, who, kind="works", per_page=3)
    assert j["scored_by"] == "graph+adapter", j["scoring_note"]
    assert j["adapter"] and j["adapter"]["method"] == "lora"
    assert j["model"] == os.path.basename(MODEL)
    k = j["meta"]["rescored"]
    assert k == min(6, plain["meta"]["count"]) and k >= 3
    # the scored candidates are the graph's best k, re-ordered
    top_k = [r["id"] for r in plain["results"][:k]]
    assert len(j["results"]) == min(3, k)
    assert {r["id"] for r in j["results"]} <= set(top_k)
    graph_of = {r["id"]: r["graph_score"] for r in plain["results"]}
    best = max(graph_of.values())
    gains = [r["adapter_gain"] for r in j["results"]]
    assert all(isinstance(g, float) for g in gains)
    assert len(set(round(g, 6) for g in gains)) > 1, gains
    fused_moved = 0
    for r in j["results"]:
        assert r["graph_score"] == pytest.approx(graph_of[r["id"]])
        # the fused score is the graph part plus the adapter's, never the graph part alone
        fused_moved += abs(r["score"] - r["graph_score"] / best) > 1e-6
    assert fused_moved >= 1
    scores = [r["score"] for r in j["results"]]
    assert scores == sorted(scores, reverse=True)
    # a second request: base scores from the cache, the adapter scored again in
    # another batch: the same gains
    hits = cache_hits(server)
    j2 = recs(server, who, kind="works", per_page=3)
    assert cache_hits(server) >= hits + k
    assert [r["id"] for r in j2["results"]] == [r["id"] for r in j["results"]]
    for a, b in zip(j["results"], j2["results"]):
        assert a["adapter_gain"] == pytest.approx(b["adapter_gain"], abs=2e-3)


def test_people_rescored_and_no_adapter(server, graph):
    j = recs(server, graph["who"], kind="coauthors", per_page=2)
    if j["meta"]["count"]:
        assert j["scored_by"] == "graph+adapter"
        assert all(isinstance(r["adapter_gain"], float) for r in j["results"])
    p = recs(server, graph["plain"], kind="works")
    assert p["scored_by"] == "graph" and p["adapter"] is None
    assert "adapter" in p["scoring_note"] and p["model"] == os.path.basename(MODEL)


def test_queue_full_is_503_graph_keeps_answering(graph):
    s = Server(graph["url"], ["--model", MODEL, "--infer-queue", "1", "--infer-active", "1"])
    try:
        r = requests.get(s.url + "/api/v1/authors/%s/recommendations?per_page=3" % graph["who"],
                         timeout=300)
        assert r.status_code == 503, r.text[:300]
        assert r.json()["error"] == "inference_busy" and int(r.headers["Retry-After"]) >= 1
        # what needs no scoring still answers
        ok = requests.get(s.url + "/api/v1/authors/%s/recommendations?adapter=none" % graph["who"],
                          timeout=60)
        assert ok.status_code == 200 and ok.json()["scored_by"] == "graph"
        assert requests.get(s.url + "/api/v1/authors/%s" % graph["who"], timeout=30).status_code == 200
    finally:
        s.stop()
