"""Issue 9 end to end: the summary endpoint uses the adapter `peergraph adapt`
trained. Real model, real SQLite graph from the seed pages, real HTTP:

- `adapt --author` trains a seed owner's LoRA (a few steps, short sequences,
  so it costs seconds of CPU) and its row in the adapters table names the
  file, whose sha256 is in the file name and in the row's metrics;
- `serve --model` answers the owner's summary with that row's id, and the
  text differs from ?adapter=none; with the file moved away the same request
  says why it fell back to the base model and gives the base model's text;
  with the file back, the adapted text again: the difference comes from
  that file;
- a retrain adds a row that becomes current (the server answers with the
  new id at once), the old row and its file stay (provenance);
- `adapt --changed --dry-run` lists the owners with no adapter, leaves the
  trained one alone while its works are as they were, and lists it again
  once one of its abstracts changes.
Generation is kept short: the test machine has 2 shared cores."""
import glob
import hashlib
import json
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
NTOK = 16
OWNER = "Zhengxiao Liu"  # a seed page owner with 6 works (2 held out)


def adapt(db, *args):
    r = subprocess.run([BIN, "adapt", "--model", MODEL, "--db", db] + list(args),
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr
    return r.stderr


def train(db, author, steps):
    err = adapt(db, "--author", author, "--steps", str(steps), "--max-tokens", "48",
                "--max-eval", "2", "--threads", "2")
    m = re.search(r"wrote (\S+) \(adapter (\d+)\)", err)
    assert m, err
    return m.group(1), int(m.group(2))


def changed(db):
    """{author key: state} from `adapt --changed --dry-run`."""
    err = adapt(db, "--changed", "--dry-run")
    states = dict(re.findall(r"^peergraph adapt: (A\d+): (\w+): ", err, re.M))
    assert "to train (dry run)" in err, err
    return states, err


def rows(path, author):
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT id, path, base_model_sha256, metrics FROM adapters "
                           "WHERE author_id = ? ORDER BY id", (int(author[1:]),)).fetchall()
    finally:
        con.close()


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def summary(server, aid, query=""):
    r = requests.get(server.url + "/api/v1/authors/%s/summary?max_tokens=%d%s"
                     % (aid, NTOK, query), timeout=900)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    if not os.path.exists(MODEL):
        pytest.skip("no model at %s (make model)" % MODEL)
    d = tmp_path_factory.mktemp("adapt_summary")
    url = fresh_sqlite(d)
    r = subprocess.run([BIN, "ingest", "--db", url, "--as-of", "2026-11-22"] + SEEDS,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    path = url[len("sqlite:"):]
    con = sqlite3.connect(path)
    try:
        owners = {"A%d" % a for (a,) in con.execute("SELECT DISTINCT author_id FROM ownership")}
        row = con.execute("SELECT id FROM authors WHERE display_name = ?", (OWNER,)).fetchone()
    finally:
        con.close()
    assert row and "A%d" % row[0] in owners, "%s is not a seed page owner" % OWNER
    return {"url": url, "path": path, "dir": str(d), "owner": "A%d" % row[0], "owners": owners}


def test_trained_adapter_serves_the_summary(graph):
    url, owner = graph["url"], graph["owner"]
    # before any training every page owner is to be trained
    states, _ = changed(url)
    assert set(states) == graph["owners"] and set(states.values()) == {"none"}

    file1, id1 = train(url, owner, 3)
    (rid, rpath, rsha, rmetrics), = rows(graph["path"], owner)
    metrics = json.loads(rmetrics)
    assert rid == id1 and rpath == file1 and os.path.isfile(file1)
    assert os.path.dirname(file1) == os.path.join(graph["dir"], "adapters")
    digest = sha256_file(file1)
    assert metrics["adapter_sha256"] == digest and digest[:16] in os.path.basename(file1)
    assert metrics["steps"] == 3 and len(rsha) == 64
    assert metrics["heldout_loss"]["prefill"] is not None

    states, err = changed(url)
    assert states[owner] == "current", err
    assert "adapter %d is current" % id1 in err
    assert all(states[o] == "none" for o in graph["owners"] - {owner}), err

    s = Server(url, ["--model", MODEL])
    try:
        adapted = summary(s, owner)
        assert adapted["adapter"] == {"id": id1, "method": "lora", "mode": "prefill"}
        assert adapted["cached"] is False and "adapter_note" not in adapted
        base = summary(s, owner, "&adapter=none")
        assert base["adapter"] is None and base["cached"] is False
        assert adapted["summary"] != base["summary"], "the trained adapter changed nothing"

        # the same request without the file: the base model, and why
        away = file1 + ".away"
        os.rename(file1, away)
        try:
            gone = summary(s, owner)
        finally:
            os.rename(away, file1)
        assert gone["adapter"] is None
        assert "adapter %d" % id1 in gone["adapter_note"] and file1 in gone["adapter_note"]
        assert gone["summary"] == base["summary"]
        back = summary(s, owner)
        assert back["adapter"]["id"] == id1 and back["summary"] == adapted["summary"]

        # a retrain adds a row that is current at once; the old row and file stay
        file2, id2 = train(url, owner, 4)
        assert id2 > id1 and file2 != file1 and os.path.isfile(file1)
        assert [r[0] for r in rows(graph["path"], owner)] == [id1, id2]
        assert sha256_file(file2)[:16] in os.path.basename(file2)
        fresh = summary(s, owner)
        assert fresh["adapter"]["id"] == id2 and fresh["cached"] is False
    finally:
        s.stop()
    assert "ERROR" not in s.stderr_text()

    # one of the owner's abstracts changes: --changed would retrain them
    con = sqlite3.connect(graph["path"])
    try:
        (wid,), = con.execute(
            "SELECT w.id FROM works w JOIN authorships s ON s.work_id = w.id "
            "WHERE s.author_id = ? AND w.abstract IS NOT NULL AND w.abstract <> '' "
            "ORDER BY w.id LIMIT 1", (int(owner[1:]),)).fetchall()
        con.execute("UPDATE works SET abstract = abstract || ' Revised.' WHERE id = ?", (wid,))
        con.commit()
    finally:
        con.close()
    states, err = changed(url)
    assert states[owner] == "changed", err
    assert "works changed since adapter %d was trained: would train" % id2 in err
