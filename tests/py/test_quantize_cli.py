"""peergraph quantize: argument errors and refused inputs (the byte-for-byte
comparison with llama.cpp's files is tests/unit/test_quantize.c)."""
import os
import subprocess

BIN = os.environ.get("PEERGRAPH_BIN", "build/release/peergraph")
TMP = os.environ.get("PEERGRAPH_TEST_TMP", "/tmp")


def run(*args):
    return subprocess.run([BIN, "quantize", *args], capture_output=True, text=True, timeout=60)


def test_usage_errors():
    assert run().returncode == 2  # --out is required
    r = run("--out", os.path.join(TMP, "x.gguf"), "--type", "Q5_K_M")
    assert r.returncode == 2 and "Q5_K_M" in r.stderr
    assert run("--out", os.path.join(TMP, "x.gguf"), "--threads", "0").returncode == 2
    r = run("--help")
    assert r.returncode == 0 and "Q4_K_M" in r.stdout


def test_bad_input_leaves_no_file():
    out = os.path.join(TMP, "quantize-cli-%d.gguf" % os.getpid())
    r = run("--model", "/nonexistent.gguf", "--out", out)
    assert r.returncode == 1 and "/nonexistent.gguf" in r.stderr
    assert not os.path.exists(out) and not os.path.exists(out + ".part")
