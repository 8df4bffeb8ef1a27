"""--device on generate, bench infer and serve. Without a CUDA device (or in
builds without CUDA: sanitizer, no nvcc) `--device cuda` is a clear error
with exit code 2, never a crash; with a device, generate on the GPU gives the
CPU's greedy token ids (PEERGRAPH_CUDA_GEMM=quant: fp32 kernels)."""
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "models", "smollm2-135m-instruct-q4_1.gguf")
BIN = os.environ.get("PEERGRAPH_BIN", os.path.join(ROOT, "build", "release", "peergraph"))
SAN_BIN = os.environ.get("PEERGRAPH_SAN_BIN", os.path.join(ROOT, "build", "san", "peergraph"))


def run(binary, *args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([binary, *args], capture_output=True, timeout=300, env=e)


def cuda_usable():
    r = run(BIN, "generate", "--device", "cuda", "--prompt", "x", "--max-tokens", "0",
            "--model", "/nonexistent.gguf")
    # the device is checked before the model is opened: 2 = no device, 1 = model missing
    return r.returncode == 1


@pytest.mark.parametrize("cmd", [["generate", "--prompt", "x"], ["bench", "infer", "--no-peer"]])
def test_unknown_device_is_a_usage_error(cmd):
    r = run(BIN, *cmd, "--device", "tpu")
    assert r.returncode == 2
    assert b"--device tpu: unknown device 'tpu'" in r.stderr


def test_serve_unknown_device():
    r = run(BIN, "serve", "--device", "tpu", "--port", "0")
    assert r.returncode == 2
    assert b"unknown device" in r.stderr


@pytest.mark.parametrize("binary", [BIN, SAN_BIN])
def test_cuda_without_device_exits_2(binary):
    if not os.path.exists(binary):
        pytest.skip("binary not built: %s" % binary)
    if binary == BIN and cuda_usable():
        pytest.skip("a CUDA device is present")
    for cmd in (["generate", "--prompt", "x"], ["bench", "infer", "--no-peer"],
                ["serve", "--port", "0"]):
        r = run(binary, *cmd, "--device", "cuda")
        assert r.returncode == 2, (cmd, r.returncode, r.stderr)
        err = r.stderr.decode()
        assert "--device cuda:" in err, err
        assert "no CUDA device" in err or "not compiled in" in err, err


@pytest.mark.parametrize("binary", [BIN, SAN_BIN])
def test_adapt_cuda_without_device_exits_2(binary):
    """GPU adapter training (issue 9): `adapt --device cuda` and `bench adapt
    --device cuda` say there is no CUDA device and exit 2 before reading the
    model or the database; an unknown device is a usage error everywhere."""
    if not os.path.exists(binary):
        pytest.skip("binary not built: %s" % binary)
    for cmd in (["adapt", "--author", "A1", "--db", "sqlite:/nonexistent/x.db"],
                ["bench", "adapt", "--model", "/nonexistent.gguf"]):
        r = run(binary, *cmd, "--device", "tpu")
        assert r.returncode == 2, (cmd, r.stderr)
        assert b"--device tpu: unknown device 'tpu'" in r.stderr, r.stderr
        if binary == BIN and cuda_usable():
            continue
        r = run(binary, *cmd, "--device", "cuda")
        assert r.returncode == 2, (cmd, r.returncode, r.stderr)
        err = r.stderr.decode()
        assert "--device cuda:" in err, err
        assert "no CUDA device" in err or "not compiled in" in err, err
        assert "nonexistent" not in err  # refused before the model or the database
        assert r.stdout == b""
    r = run(binary, "adapt", "--random", "--seed", "1", "--out", "/tmp/x.pgad", "--device", "cpu")
    assert r.returncode == 2 and b"--device goes with --author or --changed" in r.stderr


@pytest.mark.parametrize("binary", [BIN, SAN_BIN])
def test_bench_gpu_without_device_exits_2(binary):
    """bench gpu (G1-G4) says there is no CUDA device before making anything;
    its options are checked first (a bad one is named whatever the machine)."""
    if not os.path.exists(binary):
        pytest.skip("binary not built: %s" % binary)
    r = run(binary, "bench", "gpu", "--only", "g3,g5")
    assert r.returncode == 2 and b"--only: unknown 'g5'" in r.stderr, r.stderr
    if binary == BIN and cuda_usable():
        pytest.skip("a CUDA device is present")
    for args in ([], ["--only", "g3", "--layers", "2"], ["--only", "g4"]):
        r = run(binary, "bench", "gpu", *args)
        assert r.returncode == 2, (args, r.stderr)
        err = r.stderr.decode()
        assert "no CUDA device" in err or "not compiled in" in err, err
        assert "making a random" not in err  # refused before any work
        assert r.stdout == b""


@pytest.mark.skipif(not os.path.exists(MODEL), reason="no model (make model)")
def test_cuda_generate_matches_cpu():
    if not cuda_usable():
        pytest.skip("no CUDA device")
    args = ["generate", "--model", MODEL, "--chat", "--prompt",
            "Summarize: graph neural networks pass messages along edges.",
            "--max-tokens", "32", "--print-ids"]
    cpu = run(BIN, *args, "--device", "cpu")
    gpu = run(BIN, *args, "--device", "cuda", env={"PEERGRAPH_CUDA_GEMM": "quant"})
    assert cpu.returncode == 0, cpu.stderr
    assert gpu.returncode == 0, gpu.stderr
    assert gpu.stdout == cpu.stdout


def cuda_library():
    lib = os.path.join(os.path.dirname(os.path.realpath(BIN)), "libpeergraph-cuda.so")
    return lib if os.path.exists(lib) else None


def test_binary_links_no_cuda_library():
    """The binary opens the CUDA backend only when asked (kernels/cuda/cuda_dl.c):
    a CPU process maps neither libcudart nor libcublas (they cost ~150 MiB of
    resident memory at start), and `--device cuda` loads them."""
    if not cuda_library():
        pytest.skip("no CUDA backend library in this build (no nvcc)")
    out = subprocess.run(["ldd", BIN], capture_output=True, text=True, check=True).stdout
    for lib in ("libcudart", "libcublas"):
        assert lib not in out, out
    # the dynamic loader lists every object it opens (LD_DEBUG=files): a CPU
    # command opens no CUDA library, `--device cuda` opens the backend's
    db = "sqlite:" + os.path.join(os.environ.get("PEERGRAPH_TEST_TMP", "/tmp"),
                                  "cuda-dl-%d.db" % os.getpid())
    r = run(BIN, "migrate", "--db", db, env={"LD_DEBUG": "files"})
    assert r.returncode == 0, r.stderr
    opened = r.stderr.decode()
    assert "file=libjansson" in opened  # the trace is there
    assert "libcudart" not in opened and "libpeergraph-cuda" not in opened
    r = run(BIN, "generate", "--device", "cuda", "--prompt", "x", env={"LD_DEBUG": "files"})
    opened = r.stderr.decode()
    assert "libpeergraph-cuda.so" in opened and "libcudart" in opened, opened[-2000:]


def test_missing_cuda_library_is_a_clear_error():
    if not cuda_library():
        pytest.skip("no CUDA backend library in this build (no nvcc)")
    for cmd in (["generate", "--prompt", "x"], ["bench", "gpu", "--only", "g4"]):
        r = run(BIN, *cmd, *(["--device", "cuda"] if cmd[0] != "bench" else []),
                env={"PEERGRAPH_CUDA_LIB": "/nonexistent/libpeergraph-cuda.so"})
        assert r.returncode == 2, (cmd, r.returncode, r.stderr)
        err = r.stderr.decode()
        assert "CUDA backend library not loaded: /nonexistent/libpeergraph-cuda.so" in err, err
