#!/usr/bin/env python3
"""Writes tests/data/golden/kquant.bin: what ggml itself (the libraries that
llama-cpp-python builds from llama.cpp's sources) makes of a few rows of
floats, for tests/unit/test_kquant.c:

  - the bytes of each row quantised by ggml_quantize_chunk (no importance
    matrix: the reference quantisers llama-quantize uses for model files),
  - those bytes dequantised by ggml's to_float,
  - an activation row quantised by the CPU backend's from_float for the
    weight type's vec_dot_type (Q8_0 / Q8_1 / Q8_K),
  - the CPU backend's vec_dot of every weight row with that activation row.

Layout (little-endian): "PGKQ", u32 version (1), u32 number of cases; per
case: u32 weight type, u32 act type, u32 n (row length), u32 rows, u32 row
bytes, u32 act row bytes; f32 src[rows*n]; u8 q[rows*row_bytes];
f32 deq[rows*n]; f32 act[n]; u8 act_q[act_row_bytes]; f32 dot[rows].

usage: /work/refenv/bin/python tests/golden/make_kquant_golden.py [OUT]
"""
import ctypes
import glob
import os
import struct
import sys

import numpy as np
import llama_cpp

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/data/golden/kquant.bin"
LIB = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
base = ctypes.CDLL(glob.glob(os.path.join(LIB, "libggml-base.so"))[0], mode=ctypes.RTLD_GLOBAL)
cpu = ctypes.CDLL(glob.glob(os.path.join(LIB, "libggml-cpu.so"))[0], mode=ctypes.RTLD_GLOBAL)

TO_FLOAT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)
FROM_FLOAT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)
VEC_DOT = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p,
                           ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)


class TypeTraits(ctypes.Structure):  # struct ggml_type_traits (ggml.h)
    _fields_ = [("type_name", ctypes.c_char_p), ("blck_size", ctypes.c_int64),
                ("blck_size_interleave", ctypes.c_int64), ("type_size", ctypes.c_size_t),
                ("is_quantized", ctypes.c_bool), ("to_float", ctypes.c_void_p),
                ("from_float_ref", ctypes.c_void_p)]


class CpuTraits(ctypes.Structure):  # struct ggml_type_traits_cpu (ggml-cpu.h)
    _fields_ = [("from_float", ctypes.c_void_p), ("vec_dot", ctypes.c_void_p),
                ("vec_dot_type", ctypes.c_int), ("nrows", ctypes.c_int64)]


base.ggml_get_type_traits.restype = ctypes.POINTER(TypeTraits)
base.ggml_get_type_traits.argtypes = [ctypes.c_int]
cpu.ggml_get_type_traits_cpu.restype = ctypes.POINTER(CpuTraits)
cpu.ggml_get_type_traits_cpu.argtypes = [ctypes.c_int]
base.ggml_row_size.restype = ctypes.c_size_t
base.ggml_row_size.argtypes = [ctypes.c_int, ctypes.c_int64]
base.ggml_quantize_chunk.restype = ctypes.c_size_t
base.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                     ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
cpu.ggml_cpu_init.restype = None
cpu.ggml_cpu_init()

Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q6_K = 2, 3, 6, 8, 12, 14
N, ROWS = 512, 4


def rows_for(rng):
    """Weight-like rows, plus the edge cases the quantisers branch on."""
    r = np.empty((ROWS, N), dtype=np.float32)
    r[0] = rng.standard_normal(N) * 0.05                     # a typical weight row
    r[1] = rng.standard_t(3, N) * 0.02                       # heavy tails: outliers
    r[2] = rng.standard_normal(N) * 0.03 + 0.01              # shifted: non-zero mins
    r[2, 32:64] = 0.0                                        # an all-zero sub-block
    r[2, 300:316] = 1e-20                                    # a (nearly) zero group
    r[3] = np.abs(rng.standard_normal(N)) * 0.04             # one-signed
    r[3, 256:] = 0.0                                         # an all-zero super-block
    return r


def main():
    rng = np.random.default_rng(20261122)
    cases = []
    for wt in (Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q6_K):
        src = rows_for(rng)
        tt = base.ggml_get_type_traits(wt).contents
        ct = cpu.ggml_get_type_traits_cpu(wt).contents
        at = ct.vec_dot_type
        rb, arb = base.ggml_row_size(wt, N), base.ggml_row_size(at, N)
        q = (ctypes.c_uint8 * (rb * ROWS))()
        assert base.ggml_quantize_chunk(wt, src.ctypes.data, q, 0, ROWS, N, None) == rb * ROWS
        deq = np.empty((ROWS, N), dtype=np.float32)
        for i in range(ROWS):
            TO_FLOAT(tt.to_float)(ctypes.addressof(q) + i * rb, deq[i].ctypes.data, N)
        act = (rng.standard_normal(N) * 1.5).astype(np.float32)
        act[:8] *= 20  # activation outliers, as in real hidden states
        aq = (ctypes.c_uint8 * arb)()
        FROM_FLOAT(cpu.ggml_get_type_traits_cpu(at).contents.from_float)(act.ctypes.data, aq, N)
        dots = np.empty(ROWS, dtype=np.float32)
        s = ctypes.c_float()
        for i in range(ROWS):
            VEC_DOT(ct.vec_dot)(N, ctypes.byref(s), 0, ctypes.addressof(q) + i * rb, 0, aq, 0, 1)
            dots[i] = s.value
        cases.append(struct.pack("<6I", wt, at, N, ROWS, rb, arb) + src.tobytes() + bytes(q) +
                     deq.tobytes() + act.tobytes() + bytes(aq) + dots.tobytes())
    with open(OUT, "wb") as f:
        f.write(b"PGKQ" + struct.pack("<2I", 1, len(cases)) + b"".join(cases))
    print("wrote", OUT, "with", len(cases), "cases; llama-cpp-python", llama_cpp.__version__)


if __name__ == "__main__":
    main()
