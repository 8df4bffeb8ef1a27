#!/usr/bin/env python3
"""Writes tests/data/golden/quantize.json and tests/data/golden/generate_q4_k_m.json
for tests/unit/test_quantize.c:

  - llama.cpp's llama_model_quantize (no importance matrix, allow_requantize)
    rewrites the default model (Q4_1) as Q4_K_M, Q6_K and Q8_0 in a temporary
    directory; quantize.json records the sha256 of the input and of each
    output, which `peergraph quantize` must reproduce byte for byte;
  - tests/golden/make_generate_golden.py then runs llama.cpp on the Q4_K_M
    file (greedy continuations and prompt logits) into generate_q4_k_m.json,
    with weight repacking off and prompts fed one token at a time (see that
    script).

The model files themselves (~100 MB each) are not committed: the test
regenerates them with our own quantiser, and the sha256 proves they are
llama.cpp's files.

usage: /work/refenv/bin/python tests/golden/make_quantize_golden.py [MODEL]
"""
import ctypes
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import llama_cpp

MODEL = sys.argv[1] if len(sys.argv) > 1 else "models/smollm2-135m-instruct-q4_1.gguf"
MIXTURES = {"Q4_K_M": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M, "Q6_K": llama_cpp.LLAMA_FTYPE_MOSTLY_Q6_K,
            "Q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    out = {"reference": "llama-cpp-python %s: llama_model_quantize, allow_requantize, no imatrix"
                        % llama_cpp.__version__,
           "source": os.path.basename(MODEL), "source_sha256": sha256(MODEL), "mixtures": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, ftype in MIXTURES.items():
            dst = os.path.join(tmp, name + ".gguf")
            p = llama_cpp.llama_model_quantize_default_params()
            p.ftype = ftype
            p.allow_requantize = True
            p.nthread = 2
            rc = llama_cpp.llama_model_quantize(MODEL.encode(), dst.encode(), ctypes.byref(p))
            assert rc == 0, "quantize %s failed: %d" % (name, rc)
            out["mixtures"][name] = {"ftype": int(ftype), "sha256": sha256(dst),
                                     "size": os.path.getsize(dst)}
            print(name, out["mixtures"][name], file=sys.stderr)
            if name == "Q4_K_M":
                subprocess.check_call([sys.executable, os.path.join(os.path.dirname(__file__),
                                       "make_generate_golden.py"), dst,
                                       "tests/data/golden/generate_q4_k_m.json", "no-repack",
                                       "one-by-one", "threads=1"])
    with open("tests/data/golden/quantize.json", "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
