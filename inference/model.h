#ifndef PEERGRAPH_MODEL_H
#define PEERGRAPH_MODEL_H
/* A llama-family model and its forward pass over a batch of tokens drawn from
 * many sequences at once, with a paged KV cache.
 *
 *   pgr_model   weights + shapes (read-only after load; share between threads)
 *   pgr_kv      the KV cache: fixed-size blocks, one block table per sequence
 *   pgr_engine  a backend (kernel table + threads) and scratch for one caller
 *
 * A batch lists tokens; each carries its sequence id and position. Within one
 * batch a sequence's tokens must come in order at consecutive positions that
 * continue the sequence (first one == pgr_kv_seq_len). Mixing prefill chunks
 * of some sequences with decode tokens of others is the intended use.
 *
 * Numerics follow llama.cpp's CPU graph for LLM_ARCH_LLAMA: RMSNorm, "normal"
 * (non-neox) RoPE on GGUF's permuted q/k weights, fp16 KV cache, grouped-query
 * attention, SwiGLU, output = token_embd when output.weight is absent.
 *
 * Ownership: pgr_model_load returns a new model that owns its mapping; an
 * engine and a cache borrow the model (free them before it). */
#include <stddef.h>
#include <stdint.h>

#include "graph/util.h"
#include "inference/gguf.h"
#include "kernels/kernels.h"

typedef struct pgr_model_cfg {
    int n_layer;
    int dim;       /* residual width (576 for SmolLM2-135M) */
    int n_head;    /* query heads */
    int n_kv_head; /* key/value heads (grouped-query attention) */
    int head_dim;
    int ffn_dim;
    int vocab;
    int ctx_len; /* trained context length */
    float rope_theta;
    float norm_eps;
} pgr_model_cfg;

typedef struct pgr_model pgr_model;

/* Loads a llama-family GGUF. Refuses other architectures, tensor types the
 * backend lacks, and tensors whose shapes disagree with the metadata, with a
 * message naming the file and the tensor. */
int pgr_model_load(const char *path, pgr_model **out, pgr_err *err);
/* A model of the given shapes with random weights of type wtype (F32, F16,
 * BF16, Q8_0, Q4_0, Q4_1), deterministic in seed: for benchmarks and tests
 * of shapes we have no file for. All weights in one allocation. */
int pgr_model_new_random(const pgr_model_cfg *cfg, int wtype, uint64_t seed, pgr_model **out,
                         pgr_err *err);
void pgr_model_free(pgr_model *m); /* NULL is fine */
const pgr_model_cfg *pgr_model_config(const pgr_model *m);
/* The GGUF the model came from (for the tokenizer), NULL for random models. Borrowed. */
const gguf_file *pgr_model_gguf(const pgr_model *m);
/* Bytes of weights (mapped or allocated). */
size_t pgr_model_weight_bytes(const pgr_model *m);

/* Weight matrices by layer, for adapters (issue 7) and other backends: q, k,
 * v, o, gate, up, down as pgr_wmat (rows = out features). NULL if out of range.
 * q and k rows are in GGUF's permuted order (see the hooks below). */
enum pgr_site {
    PGR_SITE_Q,
    PGR_SITE_K,
    PGR_SITE_V,
    PGR_SITE_O,
    PGR_SITE_GATE,
    PGR_SITE_UP,
    PGR_SITE_DOWN,
    PGR_SITE_RESID, /* the residual stream after the whole layer (h_l) */
    PGR_SITE_COUNT
};
const pgr_wmat *pgr_model_weight(const pgr_model *m, int layer, int site);
const char *pgr_site_name(int site); /* "q", ..., "resid" */
/* The rest of the weights, for the training forward/backward (inference/train.c)
 * and the CUDA engine (kernels/cuda uploads them):
 * token embedding (vocab, dim), output matrix (vocab, dim; the embedding when
 * tied), and the float RMSNorm weights (dim): which 0 = attn_norm, 1 = ffn_norm
 * of a layer; layer -1 = output_norm. Borrowed; NULL if out of range. */
const pgr_wmat *pgr_model_tok_embd(const pgr_model *m);
const pgr_wmat *pgr_model_output(const pgr_model *m);
const float *pgr_model_norm(const pgr_model *m, int layer, int which);

/* ---- KV cache ---------------------------------------------------------------- */
typedef struct pgr_kv pgr_kv;

/* n_blocks blocks of block_size positions each, shared by at most max_seqs
 * sequences; every layer has the same block numbering. */
int pgr_kv_new(const pgr_model *m, int n_blocks, int block_size, int max_seqs, pgr_kv **out,
               pgr_err *err);
void pgr_kv_free(pgr_kv *kv);
/* Opens an empty sequence: returns its id (>= 0), or -1 (PGR_EBUSY) when all
 * max_seqs are open. */
int pgr_kv_seq_open(pgr_kv *kv, pgr_err *err);
/* Ends a sequence: its blocks return to the free list, its id may be reused. */
void pgr_kv_seq_close(pgr_kv *kv, int seq);
/* Drops positions >= len (len <= current length), freeing whole blocks. */
void pgr_kv_seq_truncate(pgr_kv *kv, int seq, int len);
int pgr_kv_seq_len(const pgr_kv *kv, int seq); /* -1 if not open */
int pgr_kv_free_blocks(const pgr_kv *kv);
int pgr_kv_block_size(const pgr_kv *kv);
size_t pgr_kv_bytes(const pgr_kv *kv);
/* The block table of an open sequence (ceil(len / block_size) entries), borrowed. */
const int32_t *pgr_kv_seq_blocks(const pgr_kv *kv, int seq, int *n_blocks);

/* ---- batch and hooks --------------------------------------------------------- */
typedef struct pgr_batch {
    int n_tok;
    const int32_t *token;       /* (n_tok) */
    const int32_t *seq;         /* (n_tok) ids from pgr_kv_seq_open */
    const int32_t *pos;         /* (n_tok) position within its sequence */
    const uint8_t *want_logits; /* (n_tok) nonzero: return this token's logits;
                                   NULL: the last token of the batch only */
} pgr_batch;

/* Hook points for adapters. At a projection site, `in` is the projection's
 * input (n_tok, in_dim) and `out` its output (n_tok, out_dim), which the hook
 * may change in place (LoRA: out += scale * in·A^T·B^T for the tokens of
 * sequences that have an adapter). q and k are hooked before RoPE, in the
 * GGUF's row order (llama.cpp permutes HF's q/k rows so that interleaved
 * RoPE equals HF's rotate-half: permute LoRA B rows the same way). At
 * PGR_SITE_RESID, in is NULL and out is the residual stream after the layer
 * (n_tok, dim) (ReFT). The batch gives each row's sequence id and position.
 * A hook returns 0, or -1 with err set to abort the forward pass. A NULL
 * function costs one test per site and layer. */
typedef struct pgr_hook_args {
    int layer, site;
    const pgr_batch *batch;
    const float *in; /* (batch->n_tok, in_dim) or NULL */
    int in_dim;
    float *out; /* (batch->n_tok, out_dim) */
    int out_dim;
    /* The engine's backend, for hooks that compute with its kernels (the
     * adapters' sgmv); the hook runs on the engine's calling thread. */
    const pgr_kernels *kernels;
    pgr_kctx *kctx;
} pgr_hook_args;
typedef int (*pgr_hook_fn)(void *user, const pgr_hook_args *a, pgr_err *err);
typedef struct pgr_hooks {
    pgr_hook_fn fn[PGR_SITE_COUNT]; /* NULL entries are skipped */
    void *user;
} pgr_hooks;

/* ---- engine ------------------------------------------------------------------ */
typedef struct pgr_engine pgr_engine;

/* kernels NULL = pgr_kernels_cpu(). n_threads >= 1. */
int pgr_engine_new(const pgr_model *m, const pgr_kernels *kernels, int n_threads,
                   pgr_engine **out, pgr_err *err);
/* An engine on a device: NULL or "cpu" (pgr_kernels_cpu, n_threads), or
 * "cuda" (kernels/cuda: weights uploaded now; n_threads unused). "cuda" fails
 * with PGR_EUNSUPPORTED when CUDA is not compiled in or there is no device;
 * other names with PGR_EINVAL. With "cuda", hooks must be NULL or those of a
 * pgr_adapter_set (applied on the device), and a KV cache should be used by
 * one engine only (its data live in that engine's device memory). */
int pgr_engine_new_on(const pgr_model *m, const char *device, int n_threads, pgr_engine **out,
                      pgr_err *err);
const char *pgr_engine_device(const pgr_engine *e); /* "cpu" | "cuda" */
/* The engine's CUDA backend (kernels/cuda/cuda_backend.h: stats), NULL on the CPU. */
struct pgr_cuda_engine *pgr_engine_cuda(const pgr_engine *e);
/* 0 if pgr_engine_new_on can use device ("cpu" always; "cuda" when compiled
 * in and a device is present), else -1 with err (PGR_EINVAL for an unknown
 * name, PGR_EUNSUPPORTED for no CUDA). desc (may be NULL) gets a description. */
int pgr_device_usable(const char *device, char *desc, size_t desc_len, pgr_err *err);
void pgr_engine_free(pgr_engine *e);
/* Installs hooks (copied; NULL removes them) for the following forward calls. */
void pgr_engine_set_hooks(pgr_engine *e, const pgr_hooks *hooks);

/* Runs the batch: writes every token's K/V into kv (allocating blocks; none
 * are taken if any check fails) and the logits of the tokens that want them
 * into logits (n_want, vocab), in batch order. Returns 0, or -1 with err:
 * PGR_EINVAL for a bad batch (token out of range, unknown sequence,
 * positions that do not continue the sequence), PGR_EBUSY when the cache
 * has too few free blocks. */
int pgr_forward(pgr_engine *e, pgr_kv *kv, const pgr_batch *b, float *logits, pgr_err *err);
/* pgr_forward for greedy decoding on a GPU: ids (n_want) gets the argmax of
 * each wanted token's logits (first index on ties, as pgr_sample's greedy
 * path), taken on the device, so only the ids cross to the host. CUDA
 * engines only (PGR_EUNSUPPORTED on the CPU, whose pgr_forward logits are
 * already in host memory). */
int pgr_forward_greedy(pgr_engine *e, pgr_kv *kv, const pgr_batch *b, int32_t *ids,
                       pgr_err *err);

#endif
