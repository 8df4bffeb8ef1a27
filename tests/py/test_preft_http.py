"""PreFT summaries over HTTP with the real model: a seed author whose adapter
row was made by `peergraph adapt --random --author`, the JSON saying which
adapter served it (or null and why), ?mode= and ?adapter=none, the summary
cache in the graph surviving a restart and missing when the adapter file
changes, and an adapter made for another model refused with a reason.
Generation is kept short: the test machine has 2 cores."""
import glob
import os
import sqlite3
import subprocess

import pytest
import requests

from pgserver import BIN, Server, fresh_sqlite

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SEEDS = sorted(glob.glob(os.path.join(ROOT, "tests", "data", "seeds", "*.txt")))
MODEL = os.path.join(ROOT, "models", "smollm2-135m-instruct-q4_1.gguf")
NTOK = 10


def author_id(path, name):
    con = sqlite3.connect(path)
    try:
        row = con.execute("SELECT id FROM authors WHERE display_name = ? ORDER BY id",
                          (name,)).fetchone()
    finally:
        con.close()
    assert row, "no author %s in the seed graph" % name
    return "A%d" % row[0]


def adapt(db, author, out, seed):
    # Strong enough (every projection, large alpha) that a few greedy tokens change.
    r = subprocess.run([BIN, "adapt", "--random", "--seed", str(seed), "--out", out,
                        "--model", MODEL, "--rank", "8", "--alpha", "512",
                        "--targets", "q,k,v,o,gate,up,down", "--register", author, "--db", db],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stderr


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    if not os.path.exists(MODEL):
        pytest.skip("no model at %s (make model)" % MODEL)
    d = tmp_path_factory.mktemp("preft")
    url = fresh_sqlite(d)
    r = subprocess.run([BIN, "ingest", "--db", url, "--as-of", "2026-11-22"] + SEEDS,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    path = url[len("sqlite:"):]
    wu = author_id(path, "Zhengxuan Wu")
    other = author_id(path, "Andrew Lanpouthakoun")
    ad = os.path.join(str(d), "wu.pgad")
    err = adapt(url, wu, ad, 1)
    assert "registered adapter" in err
    # registering the same path again keeps the one row
    assert "already registered" in adapt(url, wu, ad, 1)
    adapt(url, other, os.path.join(str(d), "other.pgad"), 2)
    con = sqlite3.connect(path)
    con.execute("UPDATE adapters SET base_model_sha256 = ? WHERE author_id = ?",
                ("0" * 64, int(other[1:])))
    con.commit()
    con.close()
    return {"url": url, "path": path, "wu": wu, "other": other, "adapter": ad}


@pytest.fixture(scope="module")
def server(graph):
    s = Server(graph["url"], ["--model", MODEL, "--adapter-budget", "16"])
    yield s
    s.stop()


def summary(server, aid, query=""):
    r = requests.get(server.url + "/api/v1/authors/%s/summary?max_tokens=%d%s"
                     % (aid, NTOK, query), timeout=600)
    assert r.status_code == 200, r.text
    return r.json()


def test_adapter_used_and_differs_from_base(server, graph):
    j = summary(server, graph["wu"])
    assert j["adapter"]["method"] == "lora" and j["adapter"]["mode"] == "prefill"
    assert isinstance(j["adapter"]["id"], int) and "adapter_note" not in j
    base = summary(server, graph["wu"], "&adapter=none")
    assert base["adapter"] is None and "adapter=none" in base["adapter_note"]
    assert j["summary"] != base["summary"], "the adapter changed nothing"
    allm = summary(server, graph["wu"], "&mode=all")
    assert allm["adapter"]["mode"] == "all" and allm["adapter"]["id"] == j["adapter"]["id"]


def test_bad_mode_is_400(server, graph):
    r = requests.get(server.url + "/api/v1/authors/%s/summary?mode=sometimes" % graph["wu"],
                     timeout=60)
    assert r.status_code == 400 and "mode" in r.json()["message"]
    r = requests.get(server.url + "/api/v1/authors/%s/summary?adapter=A7" % graph["wu"],
                     timeout=60)
    assert r.status_code == 400 and "adapter" in r.json()["message"]


def test_adapter_for_another_model_is_refused(server, graph):
    j = summary(server, graph["other"])
    assert j["adapter"] is None
    assert "made for base model 000000000000" in j["adapter_note"]


def test_cache_survives_restart_and_misses_on_new_adapter(graph):
    s = Server(graph["url"], ["--model", MODEL])
    try:
        first = summary(s, graph["wu"], "&mode=prefill")
    finally:
        s.stop()  # the writer drains before exit
    con = sqlite3.connect(graph["path"])
    n = con.execute("SELECT COUNT(*) FROM summaries WHERE author_id = ?",
                    (int(graph["wu"][1:]),)).fetchone()[0]
    con.close()
    assert n >= 1
    s = Server(graph["url"], ["--model", MODEL])
    try:
        again = summary(s, graph["wu"], "&mode=prefill")
        assert again["cached"] is True and again["summary"] == first["summary"]
        # a retrained adapter at the same path: same row, new file -> a miss,
        # and the registry loads the new file
        assert "already registered" in adapt(graph["url"], graph["wu"], graph["adapter"], 99)
        fresh = summary(s, graph["wu"], "&mode=prefill")
        assert fresh["cached"] is False
        assert fresh["adapter"]["id"] == first["adapter"]["id"]
        assert fresh["summary"] != first["summary"], "the new adapter file was not loaded"
    finally:
        s.stop()
