#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_gguf: small hand-made GGUF files (headers,
metadata of every value type, a tiny byte-level BPE tokenizer, a few tensors).
Never the 98 MB model.   usage: python3 tests/fuzz/make_gguf_corpus.py"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "gguf")


def s(x):
    b = x.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, payload):
    return s(key) + struct.pack("<I", vtype) + payload


def arr(elem, items, fmt=None):
    body = b"".join(s(i) for i in items) if elem == 8 else b"".join(struct.pack(fmt, i) for i in items)
    return struct.pack("<IQ", elem, len(items)) + body


def tensor(name, ne, ttype, off):
    return s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne) + struct.pack("<IQ", ttype, off)


def gguf(kvs, tensors=(), data=b"", version=3, align=32):
    head = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs)) + b"".join(kvs) + b"".join(tensors)
    pad = (-len(head)) % align if tensors else 0
    return head + b"\0" * pad + data


def byte_tokens():
    # GPT-2 bytes_to_unicode
    bs = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def main():
    os.makedirs(OUT, exist_ok=True)
    files = {}
    files["empty_v3"] = gguf([])
    files["empty_v2"] = gguf([], version=2)
    files["all_types"] = gguf([
        kv("u8", 0, struct.pack("<B", 7)), kv("i8", 1, struct.pack("<b", -7)),
        kv("u16", 2, struct.pack("<H", 700)), kv("i16", 3, struct.pack("<h", -700)),
        kv("u32", 4, struct.pack("<I", 70000)), kv("i32", 5, struct.pack("<i", -70000)),
        kv("f32", 6, struct.pack("<f", 1.5)), kv("bool", 7, b"\x01"),
        kv("str", 8, s("hello")), kv("u64", 10, struct.pack("<Q", 1 << 40)),
        kv("i64", 11, struct.pack("<q", -(1 << 40))), kv("f64", 12, struct.pack("<d", 2.5)),
        kv("arr_i32", 9, arr(5, [1, 2, 3], "<i")), kv("arr_str", 9, arr(8, ["a", "bc"])),
        kv("arr_f32", 9, arr(6, [0.5, 1.5], "<f")), kv("arr_bool", 9, arr(7, [0, 1], "<B")),
    ])
    f32 = struct.pack("<8f", *range(8))
    files["tensors"] = gguf(
        [kv("general.architecture", 8, s("llama")), kv("general.alignment", 4, struct.pack("<I", 32))],
        [tensor("a", [8], 0, 0), tensor("b", [32, 2], 3, 32), tensor("c", [32], 8, 96)],
        f32 + b"\0" * 64 + b"\0" * 34)
    files["tensors_align64"] = gguf(
        [kv("general.alignment", 4, struct.pack("<I", 64))],
        [tensor("x", [4, 2], 1, 0), tensor("y", [256], 12, 64)], b"\0" * 64 + b"\0" * 144, align=64)
    toks = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + byte_tokens() + ["he", "ll", "hell", "hello", "\u0120w", "or", "ld"]
    types = [3, 3, 3] + [1] * (len(toks) - 3)
    merges = ["h e", "l l", "he ll", "hell o", "\u0120 w", "o r", "l d"]
    tok_kvs = [
        kv("tokenizer.ggml.model", 8, s("gpt2")), kv("tokenizer.ggml.pre", 8, s("smollm")),
        kv("tokenizer.ggml.tokens", 9, arr(8, toks)), kv("tokenizer.ggml.token_type", 9, arr(5, types, "<i")),
        kv("tokenizer.ggml.merges", 9, arr(8, merges)),
        kv("tokenizer.ggml.bos_token_id", 4, struct.pack("<I", 1)),
        kv("tokenizer.ggml.eos_token_id", 4, struct.pack("<I", 2)),
        kv("tokenizer.chat_template", 8, s("{{ '<|im_start|>system\nBe brief.<|im_end|>\n' }}")),
    ]
    files["tokenizer_smollm"] = gguf(tok_kvs)
    files["tokenizer_gpt2"] = gguf([k if not k.startswith(s("tokenizer.ggml.pre")) else kv("tokenizer.ggml.pre", 8, s("gpt2")) for k in tok_kvs])
    files["tokenizer_llama3"] = gguf([k if not k.startswith(s("tokenizer.ggml.pre")) else kv("tokenizer.ggml.pre", 8, s("llama-bpe")) for k in tok_kvs])
    files["bad_overlap"] = gguf([], [tensor("a", [16], 0, 0), tensor("b", [16], 0, 32)], b"\0" * 128)
    files["bad_magic"] = b"GGUX" + files["empty_v3"][4:]
    files["truncated"] = files["tensors"][:60]
    for name, data in files.items():
        with open(os.path.join(OUT, name + ".gguf"), "wb") as f:
            f.write(data)
    print("wrote %d files to %s" % (len(files), OUT))


if __name__ == "__main__":
    main()
