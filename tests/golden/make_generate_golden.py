#!/usr/bin/env python3
"""Writes tests/data/golden/generate.json: what llama.cpp (through
llama-cpp-python, built from PyPI's sources) produces on the default model for
a set of prompts, so tests/unit/test_model.c can compare our engine with it
without the reference installed.

For each prompt: the prompt's token ids (llama.cpp's tokenizer; chat prompts
rendered with the GGUF's own Jinja chat template), the top-50 logits of the
prompt's last position plus mean/std/max of all logits, and the greedy
continuation (up to 64 tokens, stopping after an end-of-generation token):
ids and text.

usage: /work/refenv/bin/python tests/golden/make_generate_golden.py [MODEL] [OUT] [no-repack] [one-by-one] [prompts=N]

prompts=N: only the first N prompts (a one-by-one run is slow on a loaded machine).
threads=N: llama.cpp threads (default 2; the products, and so the outputs, do
not depend on it; 1 avoids its spinning barrier on an oversubscribed machine).

no-repack: load the model without llama.cpp's extra buffer types, so its CPU
backend multiplies Q4_K/Q6_K matrices with the plain vec_dot kernels instead
of repacking them into 8-row interleaved blocks (whose kernels add the same
integer products in another float order: 0.96 apart in the logits of a
SmolLM2 Q4_K_M). Our engine follows vec_dot; see docs/inference.md.

one-by-one: evaluate prompts one token per batch (n_batch = n_ubatch = 1),
so every matrix product is a one-row vec_dot: with Q6_K weights, llama.cpp's
batched products of 8 or more rows differ from vec_dot in float order even
without repacking (measured, cause not located; docs/inference.md).
"""
import hashlib
import json
import sys

import jinja2
import numpy as np
import llama_cpp
from llama_cpp import Llama

MODEL = sys.argv[1] if len(sys.argv) > 1 else "models/smollm2-135m-instruct-q4_1.gguf"
OUT = sys.argv[2] if len(sys.argv) > 2 else "tests/data/golden/generate.json"
N_GEN = 64
TOP = 50
NO_REPACK = "no-repack" in sys.argv[3:]
ONE_BY_ONE = "one-by-one" in sys.argv[3:]
THREADS = next((int(a[8:]) for a in sys.argv[3:] if a.startswith("threads=")), 2)
N_PROMPTS = next((int(a[8:]) for a in sys.argv[3:] if a.startswith("prompts=")), None)
if NO_REPACK:
    # Llama() builds its model parameters from llama_model_default_params():
    # the one switch it does not expose is set here.
    _default_params = llama_cpp.llama_model_default_params

    def _no_repack_params():
        p = _default_params()
        p.use_extra_bufts = False
        return p

    llama_cpp.llama_model_default_params = _no_repack_params
    llama_cpp.llama.llama_cpp.llama_model_default_params = _no_repack_params

PROMPTS = [
    {"name": "capital", "chat": False, "text": "The capital of France is"},
    {"name": "code", "chat": False, "text": "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n"},
    {"name": "story", "chat": False, "text": "Once upon a time, in a small village by the sea,"},
    {"name": "digits", "chat": False, "text": "Counting: 1, 2, 3, 4, 5, 6,"},
    {"name": "accents", "chat": False, "text": "Le café de la gare servait un thé glacé à l'élève naïf:"},
    {"name": "long", "chat": False, "text": " ".join([
        "Graph neural networks learn node representations by passing messages along edges.",
        "Each layer aggregates the features of a node's neighbours and combines them with its own.",
        "Citation graphs link papers to the papers they cite; co-authorship graphs link researchers",
        "who wrote together. Recommending papers to a researcher can use both: the papers cited by",
        "their co-authors, papers sharing topics with their own, and papers that cite their work.",
    ] * 3) + " In summary,"},
    {"name": "chat_boiling", "chat": True, "text": "What is the boiling point of water at sea level?"},
    {"name": "chat_summarize", "chat": True, "text": "Summarize: Mitochondria are organelles found in most eukaryotic cells. They generate most of the cell's supply of adenosine triphosphate (ATP), used as a source of chemical energy, through oxidative phosphorylation. They have their own DNA, inherited from the mother, and are thought to descend from bacteria engulfed by an ancestral cell."},
    {"name": "chat_haiku", "chat": True, "text": "Write a haiku about autumn leaves."},
    {"name": "chat_citation", "chat": True, "text": "Explain what a citation graph is in two sentences."},
]


def render_chat(llm, user):
    tmpl = llm.metadata["tokenizer.chat_template"]
    env = jinja2.Environment(loader=jinja2.BaseLoader())
    return env.from_string(tmpl).render(messages=[{"role": "user", "content": user}],
                                        add_generation_prompt=True)


def last_logits(llm):
    ptr = llm._ctx.get_logits_ith(-1)
    return np.ctypeslib.as_array(ptr, shape=(llm.n_vocab(),)).astype(np.float32).copy()


def main():
    nb = 1 if ONE_BY_ONE else 512
    llm = Llama(model_path=MODEL, n_ctx=1024, n_batch=nb, n_ubatch=nb, n_threads=THREADS, logits_all=False,
                flash_attn=False, verbose=False)
    eog = {llm.token_eos(), 2, 0}  # <|im_end|> is eos; <|endoftext|> is 0
    out = {"model_sha256": hashlib.sha256(open(MODEL, "rb").read()).hexdigest(),
           "reference": "llama-cpp-python %s (llama.cpp built from its sdist), CPU, n_threads=%d, "
                        "flash_attn off, n_batch %d%s" % (llama_cpp.__version__, THREADS, nb,
                                                        ", no weight repacking" if NO_REPACK else ""),
           "n_gen": N_GEN, "top": TOP, "prompts": []}
    for p in PROMPTS[:N_PROMPTS]:
        text = render_chat(llm, p["text"]) if p["chat"] else p["text"]
        ids = llm.tokenize(text.encode("utf-8"), add_bos=True, special=p["chat"])
        llm.reset()
        llm.eval(ids)
        lg = last_logits(llm)
        top = np.argsort(-lg, kind="stable")[:TOP]
        gen = []
        cur = lg
        for _ in range(N_GEN):
            t = int(np.argmax(cur))
            gen.append(t)
            if t in eog:
                break
            llm.eval([t])
            cur = last_logits(llm)
        out["prompts"].append({
            "name": p["name"], "chat": p["chat"], "user_text": p["text"], "prompt_text": text,
            "prompt_ids": [int(i) for i in ids],
            "top_ids": [int(i) for i in top], "top_logits": [round(float(lg[i]), 5) for i in top],
            "logits_mean": round(float(lg.mean()), 6), "logits_std": round(float(lg.std()), 6),
            "gen_ids": gen,
            "gen_text": llm.detokenize([t for t in gen if t not in eog]).decode("utf-8", "replace"),
        })
        print("%-16s %3d prompt tokens, %2d generated: %r" % (p["name"], len(ids), len(gen),
              out["prompts"][-1]["gen_text"][:60]), file=sys.stderr)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
