"""peergraph bench serve (C3-C5) at a tiny size: every line and ratio it
prints is there and consistent (tokens generated, base-only steps in the
prefill-only mode, none in the all-token mode), and bad options are refused."""
import json
import os
import subprocess

import pytest

from pgserver import BIN

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL = os.path.join(ROOT, "models", "smollm2-135m-instruct-q4_1.gguf")


def test_bench_serve_usage():
    r = subprocess.run([BIN, "bench", "serve", "--help"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and "preft-lora" in r.stdout
    r = subprocess.run([BIN, "bench", "serve", "--modes", "sometimes"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "unknown mode" in r.stderr
    r = subprocess.run([BIN, "bench", "serve", "--requests", "0"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2


def test_bench_serve_tiny(tmp_path):
    if not os.path.exists(MODEL):
        pytest.skip("no model")
    r = subprocess.run([BIN, "bench", "serve", "--quick", "--requests", "3", "--concurrency", "3",
                        "--gen", "3", "--adapters", "1,3", "--c3-adapters", "3", "--modes", "base,preft-lora,all-lora",
                        "--model", MODEL, "--dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    c3 = {x["mode"]: x for x in rows if x["bench"] == "C3"}
    assert set(c3) == {"base", "preft-lora", "all-lora"}
    for x in c3.values():
        # end-of-generation tokens are ignored: exactly --gen tokens per request
        assert x["generated"] == 3 * 3 and x["short"] == 0 and x["tok_s"] > 0
    # prefill-only and base traffic decode without hooks; all-token never does
    assert c3["base"]["base_only_steps"] == c3["base"]["steps"]
    assert 0 < c3["preft-lora"]["base_only_steps"] < c3["preft-lora"]["steps"]
    assert c3["all-lora"]["base_only_steps"] == 0
    c4 = [x for x in rows if x["bench"] == "C4"]
    assert [x["adapters"] for x in c4] == [1, 3] and c4[1]["loads"] == 3
    assert all(x["generated"] == 9 and x["short"] == 0 for x in c4)
    assert "preft-lora / all-lora =" in r.stdout and "C5 peak RSS" in r.stdout
    assert len(list(tmp_path.glob("lora-*.pgad"))) == 3
