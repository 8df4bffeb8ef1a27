#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_safetensors: adapter files for the fuzzer's
tiny random model (2 layers, dim 64, 4 heads, 2 kv heads, head_dim 16,
ffn 128), valid ones in each dtype and method, and broken ones (header
length, JSON, dtype, offsets, overlap, shape, missing tensor)."""
import json
import os
import struct
import sys

import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "safetensors")
rng = np.random.default_rng(1)


def st(tensors, meta, dtype="F32", tweak=None):
    hdr, blobs, off = {}, [], 0
    if meta is not None:
        hdr["__metadata__"] = meta
    for name, arr in tensors:
        if dtype == "F32":
            b = arr.astype("<f4").tobytes()
        elif dtype == "F16":
            b = arr.astype("<f2").tobytes()
        else:  # BF16: top half of the float32
            b = (arr.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
        hdr[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if tweak:
        tweak(hdr)
    h = json.dumps(hdr).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def meta(method="lora", targets="q,v", layers="0,1", rank=2, positions="all"):
    return {"format": "peergraph-adapter", "version": "1", "base_model_sha256": "", "method": method,
            "mode": "prefill", "targets": targets, "rank": str(rank), "alpha": "4", "layers": layers,
            "positions": positions}


def lora(layers=(0, 1), r=2):
    t = []
    for l in layers:
        for site, out in (("q", 64), ("v", 32)):
            t.append((f"layers.{l}.{site}.lora_a", rng.standard_normal((r, 64)).astype(np.float32)))
            t.append((f"layers.{l}.{site}.lora_b", rng.standard_normal((out, r)).astype(np.float32)))
    return t


def reft(layers=(1,), r=2):
    t = []
    for l in layers:
        t.append((f"layers.{l}.reft.R", rng.standard_normal((r, 64)).astype(np.float32)))
        t.append((f"layers.{l}.reft.W", rng.standard_normal((r, 64)).astype(np.float32)))
        t.append((f"layers.{l}.reft.b", rng.standard_normal((r,)).astype(np.float32)))
    return t


os.makedirs(OUT, exist_ok=True)
files = {
    "lora_f32.pgad": st(lora(), meta()),
    "lora_f16.pgad": st(lora(), meta(), "F16"),
    "lora_bf16.pgad": st(lora(), meta(), "BF16"),
    "loreft.pgad": st(reft(), meta("loreft", "resid", "1", positions="f7+l7")),
    "direft.pgad": st(reft((0, 1)), meta("direft", "resid", "0,1")),
    "no_metadata.safetensors": st(lora((0,)), None),
    "missing_tensor.pgad": st(lora((0,)), meta()),
    "bad_shape.pgad": st(lora(r=3), meta()),
    "bad_dtype.pgad": st(lora((0,)), meta(layers="0"), tweak=lambda h: h["layers.0.q.lora_a"].update(dtype="I64")),
    "overlap.pgad": st(lora((0,)), meta(layers="0"), tweak=lambda h: h["layers.0.q.lora_b"].update(data_offsets=[0, 512])),
    "offset_past_end.pgad": st(lora((0,)), meta(layers="0"), tweak=lambda h: h["layers.0.v.lora_b"].update(data_offsets=[1024, 1 << 40])),
    "layer_out_of_range.pgad": st(lora((0,)), meta(layers="0,5")),
}
for name, data in files.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
with open(os.path.join(OUT, "huge_header_len.bin"), "wb") as f:
    f.write(struct.pack("<Q", 1 << 62) + b"{}")
with open(os.path.join(OUT, "bad_json.bin"), "wb") as f:
    f.write(struct.pack("<Q", 10) + b'{"a": [1,,')
