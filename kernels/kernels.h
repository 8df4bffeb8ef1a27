#ifndef PEERGRAPH_KERNELS_H
#define PEERGRAPH_KERNELS_H
/* The compute backend seen by the model: a table of function pointers.
 *
 * kernels/cpu fills two tables: pgr_kernels_ref() (plain scalar C, the oracle
 * every other implementation is tested against) and pgr_kernels_cpu() (the fast
 * one: AVX2/FMA when the CPU has it, checked at run time, else portable C;
 * multithreaded). kernels/cuda will fill a third with the same signatures.
 *
 * Conventions
 * - Activations are float32, row-major, one row per token: x is (n_tok, n_in).
 * - A weight matrix is (rows, cols) = (out features, in features), each row a
 *   run of ggml blocks of its type (so y = x · W^T). Types use ggml's numbers.
 * - Every op takes the backend context first; it owns the worker threads and
 *   scratch memory. Ops are called from one thread at a time per context.
 * - The KV cache is paged: per layer, a pool of blocks of block_size positions,
 *   each position holding n_kv_head*head_dim halves (IEEE fp16) for K and for V;
 *   a sequence's block table maps position p to block table[p / block_size].
 *   fp16 because llama.cpp's default cache is fp16: the same rounding keeps our
 *   logits within a few hundredths of its logits. */
#include <stddef.h>
#include <stdint.h>

/* ggml tensor type ids (the numbers stored in GGUF files). */
enum {
    PGR_KT_F32 = 0,
    PGR_KT_F16 = 1,
    PGR_KT_Q4_0 = 2,
    PGR_KT_Q4_1 = 3,
    PGR_KT_Q5_0 = 6,
    PGR_KT_Q8_0 = 8,
    PGR_KT_Q8_1 = 9,
    PGR_KT_Q4_K = 12, /* k-quants: super-blocks of 256 (kernels/cpu/kquant.c) */
    PGR_KT_Q6_K = 14,
    PGR_KT_Q8_K = 15, /* activations only (what Q4_K/Q6_K rows are multiplied by) */
    PGR_KT_BF16 = 30,
    PGR_KT_COUNT = 40
};

/* Elements per block and bytes per block of a type; 0 when unsupported. */
int pgr_kt_block_elems(int type);
size_t pgr_kt_block_bytes(int type);
const char *pgr_kt_name(int type);
/* Bytes of one row of n elements (n must be a multiple of the block size):
 * returns 0 and sets *bytes, or -1 when unsupported / not a multiple / overflow. */
int pgr_kt_row_bytes(int type, size_t n, size_t *bytes);

typedef struct pgr_wmat {
    int type;         /* PGR_KT_* */
    int rows, cols;   /* (out, in) */
    size_t row_bytes; /* bytes between consecutive rows */
    const void *data; /* (rows, row_bytes), borrowed: the mmap'd file or a weight pool */
} pgr_wmat;

/* Backend context: worker threads + scratch. Opaque. */
typedef struct pgr_kctx pgr_kctx;

/* n_threads >= 1 (the calling thread is one of them). Returns NULL on failure. */
pgr_kctx *pgr_kctx_new(int n_threads);
void pgr_kctx_free(pgr_kctx *ctx);
int pgr_kctx_threads(const pgr_kctx *ctx);

/* One adapter's segment for the sgmv op: rows[begin..end) of the call's row
 * list use these tensors (float32, row-major, borrowed). */
#define PGR_SGMV_MAX_RANK 1024
typedef struct pgr_sgmv_seg {
    int begin, end;    /* segments tile rows[0, n) in order: begin = previous end */
    int rank;          /* 1..PGR_SGMV_MAX_RANK */
    const float *a;    /* (rank, in_dim) shrink */
    const float *a2;   /* (rank, in_dim) whose product is subtracted, or NULL */
    const float *bias; /* (rank) or NULL */
    float scale;       /* multiplies a's product */
    const float *b;    /* expand: (out_dim, rank) when !b_rows, (rank, out_dim) when b_rows */
    int b_rows;
} pgr_sgmv_seg;

typedef struct pgr_kernels {
    const char *name;
    /* Does this backend support weights of this type in matmul/embed? */
    int (*supports)(int type);
    /* For each i < n_mats: y[i] (n_tok, w[i]->rows) = x (n_tok, cols) · w[i]^T.
     * All w[i] share cols. Several matrices in one call share one quantisation
     * of x and one dispatch to the threads (q,k,v; gate,up). */
    void (*matmul)(pgr_kctx *ctx, int n_mats, const pgr_wmat *const *w, const float *x,
                   float *const *y, int n_tok);
    /* out (n_tok, dim) = x / rms(x) * w; out may equal x. */
    void (*rmsnorm)(pgr_kctx *ctx, const float *x, const float *w, float *out, int n_tok, int dim,
                    float eps);
    /* In place on x (n_tok, n_heads, head_dim): llama's "normal" RoPE, rotating
     * pairs (x[2i], x[2i+1]) by pos[t] * theta_base^(-2i/head_dim). */
    void (*rope)(pgr_kctx *ctx, float *x, const int32_t *pos, int n_tok, int n_heads, int head_dim,
                 float theta_base);
    /* Writes k, v (n_tok, n_kv_head*head_dim) into the cache at each token's
     * position through its block table (fp16). */
    void (*kv_store)(pgr_kctx *ctx, uint16_t *kcache, uint16_t *vcache, const float *k,
                     const float *v, int n_tok, const int32_t *pos,
                     const int32_t *const *block_table, int block_size, int kv_dim);
    /* out (n_tok, n_head*head_dim): token t attends over positions 0..pos[t] of
     * its own sequence (block_table[t]), softmax(q·k * scale) · v, grouped-query
     * (head h reads kv head h / (n_head / n_kv_head)). */
    void (*attention)(pgr_kctx *ctx, const float *q, float *out, int n_tok, const int32_t *pos,
                      const int32_t *const *block_table, const uint16_t *kcache,
                      const uint16_t *vcache, int block_size, int n_head, int n_kv_head,
                      int head_dim, float scale);
    /* out (n) = silu(gate) * up; out may equal gate. */
    void (*swiglu)(pgr_kctx *ctx, const float *gate, const float *up, float *out, size_t n);
    /* In place softmax of x (n). */
    void (*softmax)(pgr_kctx *ctx, float *x, size_t n);
    /* out (n_tok, w->cols) = rows tokens[t] of w, dequantised. */
    void (*embed)(pgr_kctx *ctx, const pgr_wmat *w, const int32_t *tokens, float *out, int n_tok);
    /* Segmented low-rank update (adapters; Punica's SGMV). For each segment
     * s and row t = rows[i], i in [s.begin, s.end):
     *   u (rank) = s.scale * (s.a . x[t]) - (s.a2 . x[t]) + s.bias   (a2, bias optional)
     *   y[t] (out_dim) += s.b applied to u   (b (out, rank): b.u; b (rank, out): u^T b)
     * LoRA: a = A, b = B (out, r), scale = alpha / r. LoReFT: a = W, a2 = R,
     * bias = b, b = R (r, dim) rows, scale 1 (x = y: every row's u is taken
     * before any row changes). x (.., in_dim), y (.., out_dim), rows distinct.
     * A row's result never depends on the other rows. May be NULL in a
     * backend (callers fall back to pgr_kernels_ref()'s). */
    void (*sgmv)(pgr_kctx *ctx, int n_seg, const pgr_sgmv_seg *seg, const int32_t *rows,
                 const float *x, int in_dim, float *y, int out_dim);
} pgr_kernels;

const pgr_kernels *pgr_kernels_ref(void);
const pgr_kernels *pgr_kernels_cpu(void);
/* "avx2" or "portable": what pgr_kernels_cpu() chose on this CPU. */
const char *pgr_kernels_cpu_isa(void);
/* For tests/benchmarks: force the portable path even on an AVX2 CPU (0/1). */
void pgr_kernels_cpu_force_portable(int on);

/* Backward passes (inference/train.c): dx (n_tok, w->cols) += dy (n_tok, w->rows) · W,
 * i.e. W^T dy per token, dequantising W in tiles, threaded over ctx's pool
 * (kernels/cpu/matmul_t.c). Returns 0, or -1 for a type whose blocks are not
 * 1, 32, 64, 128 or 256 elements, or out of memory. Deterministic: independent of the thread count. */
int pgr_cpu_matmul_t(pgr_kctx *ctx, const pgr_wmat *w, const float *dy, float *dx, int n_tok);

/* fp16 / bf16 <-> fp32, round to nearest even (portable, exact). */
float pgr_f16_to_f32(uint16_t h);
uint16_t pgr_f32_to_f16(float f);
float pgr_bf16_to_f32(uint16_t h);
uint16_t pgr_f32_to_bf16(float f);

/* Dequantises one row of n elements of a type into out (n). 0 or -1 if unsupported. */
int pgr_dequant_row(int type, const void *src, float *out, size_t n);
/* Quantises n floats (multiple of the block size) into a row of type
 * (F32, F16, BF16, Q8_0, Q8_1, Q4_0, Q4_1, Q5_0, Q4_K, Q6_K, Q8_K), rounding
 * Q8_0/Q8_1 as llama.cpp rounds activations. For tests and random models. */
int pgr_quant_row(int type, const float *src, void *dst, size_t n);
/* Quantises n floats into a row of type exactly as ggml's reference
 * quantisers write model files (llama-quantize without an importance matrix):
 * the same bytes, bit for bit, so a file we write equals llama.cpp's.
 * Types F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q6_K; 0 or -1. */
int pgr_quant_row_ggml(int type, const float *src, void *dst, size_t n);

#endif
