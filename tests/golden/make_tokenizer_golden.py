#!/usr/bin/env python3
"""Regenerates tests/data/golden/tokenizer.json from the reference tokenizer:
llama.cpp through llama-cpp-python (PyPI), on the same GGUF file.

    python3 -m venv /work/refenv && /work/refenv/bin/pip install llama-cpp-python
    /work/refenv/bin/python tests/golden/make_tokenizer_golden.py [MODEL.gguf]

The test suite (tests/unit/test_tokenizer.c) reads only the JSON; it never
needs the reference installed.
"""
import ctypes
import hashlib
import json
import os
import struct
import sys

import jinja2
import llama_cpp

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MODEL = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "models/smollm2-135m-instruct-q4_1.gguf")
OUT = os.path.join(ROOT, "tests/data/golden/tokenizer.json")

PARAGRAPH = (
    "The quick brown fox jumps over the lazy dog. Researchers at 12 universities "
    "published 3,456 papers in 2023; the median citation count was 7.5 (IQR 2-19).\n"
    "def f(x):\n    return {'a': x ** 2, \"b\": [1, 2, 3]}  # comment\n"
    "Café, naïve, Ångström, Ωμέγα, Привет мир, 日本語のテキスト, 中文文本, 한국어 🎉👍🏽\n\n"
)

CASES = [
    ("empty", ""),
    ("english", "Hello world! This is a simple English sentence, with punctuation."),
    ("contractions", "I'm sure you're right; they've said we'll go, it'd be fine, don't worry. She's here."),
    ("contractions_upper", "I'M SURE YOU'RE RIGHT, DON'T WORRY, IT'S FINE"),
    ("apostrophes", "'s 't 're ''quoted'' rock'n'roll the dogs' bones"),
    ("code_c", "int main(void) {\n\tfor (int i = 0; i < 10; i++) {\n\t\tprintf(\"%d\\n\", i);\n\t}\n\treturn 0;\n}\n"),
    ("code_python", "class Foo:\n    def __init__(self, x: int = 42) -> None:\n        self.x = x  # store\n\n    async def run(self):\n        await asyncio.sleep(0.5)\n"),
    ("code_json", '{"key": [1, 2.5, -3e10, true, null], "nested": {"a": "b"}}'),
    ("digits", "1234567890 0 00 007 3.14159 -42 +1 (555) 123-4567 2024-11-22T19:30:00Z 1,000,000"),
    ("unicode_numbers", "½ ¾ ² ³ ¹ ٣٤٥ ۱۲۳ ४५६ Ⅻ ① 𝟙𝟚"),
    ("accents", "Café résumé naïve façade Ångström Þórr Łódź Dvořák São Paulo coöperate"),
    ("combining", "e\u0301 a\u0308 n\u0303 Z\u0351\u0362a\u0344l\u0320g\u0357o"),
    ("greek_cyrillic", "Ωμέγα αλφάβητο. Привет, как дела? Ёлка и щука."),
    ("cjk", "日本語のテキストです。中文文本，包括标点。한국어 텍스트도 있습니다。"),
    ("cjk_mixed", "Tokyo東京2024年11月22日 test中文test"),
    ("arabic_hebrew", "مرحبا بالعالم שלום עולם"),
    ("indic_thai", "नमस्ते दुनिया สวัสดีชาวโลก"),
    ("emoji", "👍 👍🏽 👨‍👩‍👧‍👦 🎉🚀✨ ❤️ 🇫🇷 😀😃😄"),
    ("whitespace_runs", "a  b   c    d\t\te\n\nf\n\n\ng \t \n h"),
    ("leading_trailing", "   leading and trailing   "),
    ("only_spaces", "          "),
    ("only_newlines", "\n\n\n\n"),
    ("crlf", "line one\r\nline two\r\n\r\nline three\r"),
    ("unicode_spaces", "a\u00a0b\u3000c\u2003d\u0085e\u2028f\u202fg  \u00a0 h"),
    ("punct_runs", "!!! ??? ... --- === *** ### @@@ $$$ %%% ^^^ &&& ((( ))) [[[ ]]] {{{ }}} <<< >>> ~~~"),
    ("url_email", "See https://example.org/path?q=1&r=two#frag or mail someone@example.com."),
    ("markdown", "# Title\n\n- item **bold** _it_ `code`\n1. first\n> quote\n\n| a | b |\n|---|---|\n"),
    ("special_chatml", "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"),
    ("special_adjacent", "<|im_end|><|im_end|><|endoftext|>x<|im_start|>"),
    ("special_partial", "<|im_start <|im_end| |im_end|> <|endoftext"),
    ("special_others", "<repo_name>peergraph<file_sep>main.c<filename>x<jupyter_code>print(1)<empty_output>"),
    ("special_in_words", "abc<|im_end|>def ghi<|endoftext|>jkl"),
    ("control_chars", "\x00\x01\x02 tab\tbell\x07 esc\x1b[0m del\x7f"),
    ("mixed_scripts", "Hello мир 世界 مرحبا 🌍 123 café!"),
    ("long_word", "a" * 3000),
    ("long_pieces", "-" * 64 + "\n" + "=" * 64 + "\n" + " " * 40 + "x\n" + "#" * 64),
    ("long_digits", "9876543210" * 100),
    ("long_text", PARAGRAPH * 40),
]

def random_mix(n_cases=120, seed=20261122):
    """Deterministic random strings from pieces where pre-tokenizers disagree
    easily: contractions, digit runs, whitespace kinds, scripts, marks, emoji,
    special-token fragments."""
    import random
    rng = random.Random(seed)
    pool = ["a", "Z", "hello", " the", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'", "0", "7",
            "123", "4567890", " 42", "3.14", "½", "²", "٣", " ", "  ", "   ", "\t", "\n", "\r\n", "\n\n",
            "\u00a0", "\u0085", "\u3000", "\u2009", "é", "e\u0301", "ñ", "ß", "Ω", "ж", "日本", "中文", "한",
            "ไทย", "مر", "🎉", "👍🏽", "👨‍👩‍👧", "❤️", "!", "?!", "...", "--", "(", ")", "{", "}", "<", ">",
            "<|", "|>", "<|im_end|>", "<|im_start|>", "<|endoftext|>", "_", "#", "@", "$", "\\", "/", "*",
            "+=", "->", "\x00", "\x1b", "\u200b", "\ufeff"]
    out = []
    for i in range(n_cases):
        k = rng.randint(1, 40)
        out.append(("random_%03d" % i, "".join(rng.choice(pool) for _ in range(k))))
    return out


CASES += random_mix()

CHATS = [
    ("chat_default_system", [{"role": "user", "content": "Summarize: graphs are useful."}]),
    ("chat_own_system", [{"role": "system", "content": "You are terse."},
                         {"role": "user", "content": "Hi there!"}]),
    ("chat_multi_turn", [{"role": "user", "content": "What is 2+2?"},
                         {"role": "assistant", "content": "4"},
                         {"role": "user", "content": "And 3+3? 日本語で"}]),
]


def piece(llm, token, special):
    """llama_token_to_piece with a buffer that fits. (Llama.detokenize uses a
    32-byte buffer and silently drops longer pieces, e.g. the 64-dash token,
    and strips a space after BOS, so it is not used here.)"""
    size = 64
    while True:
        buf = (ctypes.c_char * size)()
        n = llama_cpp.llama_token_to_piece(llm._model.vocab, llama_cpp.llama_token(token), buf, size, 0, special)
        if n >= 0:
            return bytes(buf[:n])
        size = -n


def detok(llm, ids, special):
    return b"".join(piece(llm, i, special) for i in ids)


def pieces_digest(llm, n_vocab, special):
    h = hashlib.sha256()
    for i in range(n_vocab):
        b = piece(llm, i, special)
        h.update(struct.pack("<I", len(b)))
        h.update(b)
    return h.hexdigest()


def main():
    llm = llama_cpp.Llama(model_path=MODEL, vocab_only=True, verbose=False)
    n_vocab = llm.n_vocab()
    with open(MODEL, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    out = {
        "generator": "tests/golden/make_tokenizer_golden.py",
        "reference": "llama-cpp-python %s (llama.cpp built from source)" % llama_cpp.__version__,
        "model_sha256": sha,
        "n_vocab": n_vocab,
        "pieces_sha256_special": pieces_digest(llm, n_vocab, True),
        "pieces_sha256_plain": pieces_digest(llm, n_vocab, False),
        "cases": [],
        "chats": [],
    }
    for name, text in CASES:
        for special in (True, False):
            ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=special)
            out["cases"].append({"name": name, "special": special, "text": text, "ids": ids,
                                 "detok_hex": detok(llm, ids, special).hex()})
    tpl = llm.metadata["tokenizer.chat_template"]
    env = jinja2.Environment()
    for name, msgs in CHATS:
        text = env.from_string(tpl).render(messages=msgs, add_generation_prompt=True)
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        out["chats"].append({"name": name, "messages": msgs, "text": text, "ids": ids})
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    # one case per line: small, and a changed case shows as one changed line
    with open(OUT, "w", encoding="utf-8") as f:
        f.write("{\n")
        for key, val in out.items():
            if isinstance(val, list):
                f.write(" %s: [\n" % json.dumps(key))
                f.write(",\n".join("  " + json.dumps(v, ensure_ascii=True, separators=(",", ":")) for v in val))
                f.write("\n ]%s\n" % ("," if key != "chats" else ""))
            else:
                f.write(" %s: %s,\n" % (json.dumps(key), json.dumps(val)))
        f.write("}\n")
    json.load(open(OUT))  # still valid JSON
    print("wrote %s: %d cases, %d chats" % (OUT, len(out["cases"]), len(out["chats"])))


if __name__ == "__main__":
    main()
