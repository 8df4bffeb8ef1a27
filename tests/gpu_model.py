#!/usr/bin/env python3
"""Write a smaller copy of a GGUF llama model for the GPU machine.

The device tool carries at most 64 MiB per call and the GPU machine cannot
download anything, so the 98 MB SmolLM2 file cannot travel as it is. This
keeps the first N blocks (llama.block_count = N) and, with --embd-q4_1,
requantises token_embd (tied output) from Q8_0 to Q4_1. Every other tensor,
the tokenizer and all metadata are copied unchanged, so the result is a real
model of the same family, which test_cuda_engine compares between the CPU and
CUDA engines (PEERGRAPH_TEST_MODEL=path). Needs the gguf and numpy packages
(pip install gguf numpy).

    python3 tests/gpu_model.py IN.gguf OUT.gguf --layers 8 --embd-q4_1
"""
import argparse
import sys

import gguf
import numpy as np
from gguf import quants


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--embd-q4_1", action="store_true")
    a = ap.parse_args()

    r = gguf.GGUFReader(a.src)
    arch = r.fields["general.architecture"].contents()
    n_layer = r.fields[f"{arch}.block_count"].contents()
    if not 0 < a.layers <= n_layer:
        sys.exit(f"gpu_model: --layers {a.layers}: the model has {n_layer} blocks")
    w = gguf.GGUFWriter(a.dst, arch)
    for name, f in r.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        if name == f"{arch}.block_count":
            w.add_uint32(name, a.layers)
            continue
        vt = f.types[0]
        if vt == gguf.GGUFValueType.ARRAY:
            w.add_key_value(name, f.contents(), vt, sub_type=f.types[-1])
        else:
            w.add_key_value(name, f.contents(), vt)
    for t in r.tensors:
        if t.name.startswith("blk.") and int(t.name.split(".")[1]) >= a.layers:
            continue
        data, qt = t.data, t.tensor_type
        shape = list(reversed([int(x) for x in t.shape]))  # rows first, as numpy
        if t.name == "token_embd.weight" and a.embd_q4_1 and qt != gguf.GGMLQuantizationType.Q4_1:
            f32 = quants.dequantize(data, qt).reshape(shape)
            qt = gguf.GGMLQuantizationType.Q4_1
            data = quants.quantize(f32.astype(np.float32), qt)
        if qt in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16):
            w.add_tensor(t.name, np.asarray(data).reshape(shape), raw_dtype=qt)
        else:
            w.add_tensor(t.name, np.asarray(data), raw_shape=np.asarray(data).shape, raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
