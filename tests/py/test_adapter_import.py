"""peergraph adapt --import-peft / --import-gguf against dense references
computed here with numpy:
- a tiny hand-written PEFT adapter (adapter_config.json + safetensors, F32 and
  BF16 tensors, q/k/v/down at two layers): every imported delta
  scale * B·A equals the PEFT delta, with q and k rows permuted exactly as
  llama.cpp's convert_hf_to_gguf.py permute() does (its code, verbatim);
- a hand-written llama.cpp GGUF LoRA: imported unchanged (already permuted);
- the stored base-model hash is the sha256 of the GGUF file;
- broken inputs exit 1 with the tensor named;
- --random writes files whose header describes the requested shape."""
import hashlib
import json
import os
import struct
import subprocess

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "models", "smollm2-135m-instruct-q4_1.gguf")
BIN = os.environ.get("PEERGRAPH_BIN", os.path.join(ROOT, "build", "release", "peergraph"))
N_HEAD, N_KV_HEAD, DIM, KV_DIM, FFN = 9, 3, 576, 192, 1536
pytestmark = pytest.mark.skipif(not os.path.exists(MODEL), reason="no model (make model)")


def permute(weights, n_head, n_head_kv):  # llama.cpp convert_hf_to_gguf.py, LlamaModel.permute
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))


def write_st(path, tensors, meta=None):
    hdr, blobs, off = {}, [], 0
    if meta:
        hdr["__metadata__"] = meta
    for name, (arr, dtype) in tensors.items():
        if dtype == "F32":
            b = arr.astype("<f4").tobytes()
        else:  # BF16, round toward zero is fine: we compare against what we wrote
            b = (arr.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
        hdr[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(hdr).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_st(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    hdr = json.loads(data[8:8 + n])
    meta = hdr.pop("__metadata__", {})
    out = {}
    for name, t in hdr.items():
        assert t["dtype"] == "F32"
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + a:8 + n + b], dtype="<f4").reshape(t["shape"])
    return meta, out


def as_stored(arr, dtype):
    if dtype == "F32":
        return arr.astype(np.float32)
    return ((arr.astype("<f4").view("<u4") >> 16) << 16).astype("<u4").view("<f4")


def adapt(*args):
    return subprocess.run([BIN, "adapt", "--model", MODEL, *args], capture_output=True, timeout=120)


SITES = {"q": ("self_attn.q_proj", DIM, DIM), "k": ("self_attn.k_proj", KV_DIM, DIM),
         "v": ("self_attn.v_proj", KV_DIM, DIM), "down": ("mlp.down_proj", DIM, FFN)}


def test_peft_import_matches_dense_reference(tmp_path):
    rng = np.random.default_rng(7)
    r, alpha = 4, 8.0
    tensors, ref, hf = {}, {}, {}
    for layer in (0, 2):
        for site, (mod, out_dim, in_dim) in SITES.items():
            dtype = "BF16" if site == "v" else "F32"
            A = rng.standard_normal((r, in_dim)).astype(np.float32)
            B = rng.standard_normal((out_dim, r)).astype(np.float32)
            pre = f"base_model.model.model.layers.{layer}.{mod}"
            tensors[pre + ".lora_A.weight"] = (A, dtype)
            tensors[pre + ".lora_B.weight"] = (B, dtype)
            dense = (alpha / r) * (as_stored(B, dtype).astype(np.float64) @ as_stored(A, dtype).astype(np.float64))
            hf[(layer, site)] = dense
            if site == "q":
                dense = permute(dense, N_HEAD, N_HEAD)
            elif site == "k":
                dense = permute(dense, N_HEAD, N_KV_HEAD)
            ref[(layer, site)] = dense
    peft = tmp_path / "peft"
    peft.mkdir()
    (peft / "adapter_config.json").write_text(json.dumps({
        "peft_type": "LORA", "r": r, "lora_alpha": alpha,
        "target_modules": ["q_proj", "k_proj", "v_proj", "down_proj"]}))
    write_st(peft / "adapter_model.safetensors", tensors)
    out = tmp_path / "imported.pgad"
    p = adapt("--import-peft", str(peft), "--out", str(out))
    assert p.returncode == 0, p.stderr.decode()
    meta, got = read_st(out)
    assert meta["method"] == "lora" and meta["layers"] == "0,2" and meta["rank"] == "4"
    assert meta["targets"] == "q,k,v,down"
    assert meta["base_model_sha256"] == hashlib.sha256(open(MODEL, "rb").read()).hexdigest()
    scale = float(meta["alpha"]) / int(meta["rank"])
    for (layer, site), dense in ref.items():
        A = got[f"layers.{layer}.{site}.lora_a"].astype(np.float64)
        B = got[f"layers.{layer}.{site}.lora_b"].astype(np.float64)
        np.testing.assert_allclose(scale * (B @ A), dense, rtol=1e-9, atol=1e-9,
                                   err_msg=f"layer {layer} {site}")
    # the permutation matters: unpermuted q would not match
    A, B = got["layers.0.q.lora_a"], got["layers.0.q.lora_b"]
    assert not np.allclose(hf[(0, "q")], scale * (B.astype(np.float64) @ A))


def test_peft_import_rejects_unknown_module(tmp_path):
    peft = tmp_path / "peft"
    peft.mkdir()
    (peft / "adapter_config.json").write_text(json.dumps({"r": 2, "lora_alpha": 4}))
    A = np.zeros((2, DIM), np.float32)
    write_st(peft / "adapter_model.safetensors",
             {"base_model.model.model.layers.0.self_attn.rotary.lora_A.weight": (A, "F32")})
    p = adapt("--import-peft", str(peft), "--out", str(tmp_path / "x.pgad"))
    assert p.returncode == 1
    assert b"base_model.model.model.layers.0.self_attn.rotary.lora_A.weight" in p.stderr
    (peft / "adapter_config.json").write_text("{\"r\": ")
    p = adapt("--import-peft", str(peft), "--out", str(tmp_path / "x.pgad"))
    assert p.returncode == 1 and b"adapter_config.json" in p.stderr


def gguf_str(x):
    b = x.encode()
    return struct.pack("<Q", len(b)) + b


def write_gguf_lora(path, tensors, alpha, align=32):
    kvs = [gguf_str("general.architecture") + struct.pack("<I", 8) + gguf_str("llama"),
           gguf_str("general.type") + struct.pack("<I", 8) + gguf_str("adapter"),
           gguf_str("adapter.type") + struct.pack("<I", 8) + gguf_str("lora"),
           gguf_str("adapter.lora.alpha") + struct.pack("<I", 6) + struct.pack("<f", alpha)]
    infos, data = [], b""
    for name, arr in tensors.items():
        ne = list(reversed(arr.shape))  # ggml: ne[0] is the row length
        infos.append(gguf_str(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne)
                     + struct.pack("<IQ", 0, len(data)))
        data += arr.astype("<f4").tobytes()
        data += b"\0" * ((align - len(data) % align) % align)
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs) + b"".join(infos)
    head += b"\0" * ((align - len(head) % align) % align)
    with open(path, "wb") as f:
        f.write(head + data)


def test_gguf_lora_import(tmp_path):
    rng = np.random.default_rng(9)
    r = 3
    t = {"blk.1.attn_q.weight.lora_a": rng.standard_normal((r, DIM)).astype(np.float32),
         "blk.1.attn_q.weight.lora_b": rng.standard_normal((DIM, r)).astype(np.float32),
         "blk.4.ffn_up.weight.lora_a": rng.standard_normal((r, DIM)).astype(np.float32),
         "blk.4.ffn_up.weight.lora_b": rng.standard_normal((FFN, r)).astype(np.float32)}
    src = tmp_path / "lora.gguf"
    write_gguf_lora(src, t, 6.0)
    out = tmp_path / "g.pgad"
    p = adapt("--import-gguf", str(src), "--out", str(out))
    assert p.returncode == 0, p.stderr.decode()
    meta, got = read_st(out)
    assert meta["rank"] == "3" and float(meta["alpha"]) == 6.0 and meta["layers"] == "1,4"
    np.testing.assert_array_equal(got["layers.1.q.lora_a"], t["blk.1.attn_q.weight.lora_a"])
    np.testing.assert_array_equal(got["layers.1.q.lora_b"], t["blk.1.attn_q.weight.lora_b"])
    np.testing.assert_array_equal(got["layers.4.up.lora_b"], t["blk.4.ffn_up.weight.lora_b"])
    # layers x targets not in the file are zero (no delta there)
    assert not got["layers.1.up.lora_b"].any() and not got["layers.4.q.lora_a"].any()
    # a wrong shape is refused, naming the tensor
    t["blk.4.ffn_up.weight.lora_b"] = np.zeros((DIM, r), np.float32)
    write_gguf_lora(src, t, 6.0)
    p = adapt("--import-gguf", str(src), "--out", str(out))
    assert p.returncode == 1 and b"blk.4.ffn_up.weight.lora_b" in p.stderr


def test_random_adapters_of_any_shape(tmp_path):
    out = tmp_path / "r.pgad"
    p = adapt("--random", "--seed", "5", "--method", "direft", "--rank", "6", "--layers", "2-4,9",
              "--positions", "f3+l1", "--mode", "all", "--out", str(out))
    assert p.returncode == 0, p.stderr.decode()
    meta, got = read_st(out)
    assert (meta["method"], meta["rank"], meta["layers"], meta["positions"], meta["mode"]) == \
        ("direft", "6", "2,3,4,9", "f3+l1", "all")
    assert sorted(got) == sorted(f"layers.{l}.reft.{x}" for l in (2, 3, 4, 9) for x in "RWb")
    assert got["layers.9.reft.R"].shape == (6, DIM) and got["layers.9.reft.b"].shape == (6,)
    p = adapt("--random", "--seed", "5", "--targets", "gate,down", "--rank", "2", "--out", str(out))
    assert p.returncode == 0, p.stderr.decode()
    meta, got = read_st(out)
    assert got["layers.29.down.lora_b"].shape == (DIM, 2) and got["layers.0.gate.lora_a"].shape == (2, DIM)
    # same seed, same bytes; bad options are usage errors
    first = out.read_bytes()
    assert adapt("--random", "--seed", "5", "--targets", "gate,down", "--rank", "2", "--out", str(out)).returncode == 0
    assert out.read_bytes() == first
    assert adapt("--random", "--seed", "1", "--layers", "30", "--out", str(out)).returncode == 2
    assert adapt("--random", "--seed", "1", "--targets", "qq", "--out", str(out)).returncode == 2
    # training from the graph is built (test_adapt_train): mixing it with --random is a usage error
    assert adapt("--author", "A1", "--random", "--seed", "1", "--out", str(out)).returncode == 2
    assert adapt("--author", "A1", "--changed").returncode == 2
