"""Every curl example in docs/api.md, run against a live server over the
synthetic graph: each must answer 200 with JSON (or the status its
"# -> NNN" comment names), so the documentation cannot drift from the API."""

import json
import os
import re
import shlex
import subprocess

import pytest

import apiutil

DOC = os.path.join(apiutil.ROOT, "docs", "api.md")
DOC_BASE = "http://127.0.0.1:8080"


def examples():
    out, in_sh = [], False
    with open(DOC) as f:
        for line in f:
            s = line.strip()
            if s.startswith("```"):
                in_sh = s in ("```sh", "```bash", "```shell")
                continue
            if in_sh and s.startswith("curl "):
                out.append(s)
    return out


EXAMPLES = examples()


def test_doc_has_examples():
    assert len(EXAMPLES) >= 30
    assert all(DOC_BASE in e for e in EXAMPLES)


@pytest.fixture(scope="module")
def server():
    srv = apiutil.Server(apiutil.graph("sqlite"))
    yield srv
    srv.stop()


@pytest.mark.parametrize("example", EXAMPLES, ids=[e[8:70] for e in EXAMPLES])
def test_example(server, example):
    cmd, _, comment = example.partition("#")
    m = re.search(r"->\s*(\d{3})", comment)
    want = int(m.group(1)) if m else 200
    argv = shlex.split(cmd.replace(DOC_BASE, server.base))
    assert argv[0] == "curl"
    # the documented command, plus the status code after the body
    r = subprocess.run(argv + ["-w", "\n%{http_code}"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    body, _, code = r.stdout.rpartition("\n")
    assert int(code) == want, "%s -> %s: %s" % (example, code, body[:500])
    doc = json.loads(body)
    if want == 200:
        assert "error" not in doc
        assert ("results" in doc) or ("id" in doc) or ("nodes" in doc), body[:300]
    else:
        assert set(doc) == {"error", "message"}
