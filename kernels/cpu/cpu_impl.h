#ifndef PEERGRAPH_KERNELS_CPU_IMPL_H
#define PEERGRAPH_KERNELS_CPU_IMPL_H
/* Private to kernels/cpu: block layouts, the thread pool, per-type row kernels. */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"

#define QK 32 /* elements per block of every type below */

/* ggml's block layouts (byte-identical: GGUF files hold them as-is). */
typedef struct {
    uint16_t d;      /* fp16 scale */
    uint8_t qs[16];  /* x[j] = (lo/hi nibble - 8) * d; j < 16 low nibbles, j >= 16 high */
} blk_q4_0;
typedef struct {
    uint16_t d, m;   /* fp16 scale and minimum: x = q * d + m */
    uint8_t qs[16];
} blk_q4_1;
typedef struct {
    uint16_t d;      /* fp16 scale: x = q * d */
    int8_t qs[32];
} blk_q8_0;
typedef struct {
    uint16_t d, s;   /* fp16 scale and d * sum(qs) (for the Q4_1 minimum term) */
    int8_t qs[32];
} blk_q8_1;
typedef struct {
    uint16_t d;     /* fp16 scale: x = (q - 16) * d */
    uint8_t qh[4];  /* bit j: fifth bit of element j (little-endian u32) */
    uint8_t qs[16]; /* low four bits: j < 16 low nibbles, j >= 16 high */
} blk_q5_0;

/* k-quants: a super-block of QK_K elements in sub-blocks with their own
 * integer scales, themselves scaled by fp16 super-block factors. */
#define QK_K 256
typedef struct {
    uint16_t d, dmin;   /* fp16: scale of the 6-bit sub-block scales and of the mins */
    uint8_t scales[12]; /* 8 (scale, min) pairs of 6 bits (see pgr_k4_scale_min) */
    uint8_t qs[128];    /* 64-element chunk c: bytes 32c..32c+31, low nibbles then high */
} blk_q4_K;             /* x = d*sc[s]*q - dmin*m[s], s = sub-block of 32 */
typedef struct {
    uint8_t ql[128];   /* low 4 bits */
    uint8_t qh[64];    /* high 2 bits */
    int8_t scales[16]; /* one per 16 elements */
    uint16_t d;        /* fp16 */
} blk_q6_K;            /* x = d*scales[e/16]*(q - 32) */
typedef struct {
    float d;           /* x = q * d */
    int8_t qs[QK_K];
    int16_t bsums[16]; /* sum of each 16 qs (the Q4_K minimum term) */
} blk_q8_K;
_Static_assert(sizeof(blk_q5_0) == 22, "q5_0 block");
_Static_assert(sizeof(blk_q4_K) == 144, "q4_K block");
_Static_assert(sizeof(blk_q6_K) == 210, "q6_K block");
_Static_assert(sizeof(blk_q8_K) == 292, "q8_K block");
_Static_assert(sizeof(blk_q4_0) == 18, "q4_0 block");
_Static_assert(sizeof(blk_q4_1) == 20, "q4_1 block");
_Static_assert(sizeof(blk_q8_0) == 34, "q8_0 block");
_Static_assert(sizeof(blk_q8_1) == 36, "q8_1 block");

/* ---- thread pool ---------------------------------------------------------
 * pgr_pool_run calls fn(arg, chunk, ith) once for every chunk in [0, n_chunks),
 * spread over the threads (ith: which thread, 0 = the caller, for per-thread
 * scratch), and returns when all chunks are done. See threadpool.c. */
typedef void (*pgr_task_fn)(void *arg, int chunk, int ith);
typedef struct pgr_pool pgr_pool;
pgr_pool *pgr_pool_new(int n_threads);
void pgr_pool_free(pgr_pool *p);
void pgr_pool_run(pgr_pool *p, pgr_task_fn fn, void *arg, int n_chunks);
int pgr_pool_threads(const pgr_pool *p);

struct pgr_kctx {
    pgr_pool *pool;
    void *scratch; /* quantised activations, grown on demand, 64-byte aligned */
    size_t scratch_cap;
    float *fscratch; /* per-thread float scratch (attention scores) */
    size_t fscratch_cap; /* floats per thread */
};
/* Returns scratch of at least n bytes (NULL on OOM). Invalidates earlier pointers. */
void *pgr_kctx_scratch(pgr_kctx *ctx, size_t n);
float *pgr_kctx_fscratch(pgr_kctx *ctx, size_t per_thread);

/* ---- per-type row kernels -------------------------------------------------
 * For weight type t: act_type(t) is the type activations are converted to
 * (as ggml's vec_dot_type), quantize(act_type) converts a float row, and
 * dot(t) multiplies one weight row by one converted activation row. */
typedef void (*pgr_quant_fn)(const float *x, void *y, size_t n);
typedef float (*pgr_dot_fn)(const void *w, const void *a, size_t n);
typedef struct {
    int act_type;
    pgr_quant_fn quant; /* into act_type */
    pgr_dot_fn dot;
} pgr_type_ops;

int pgr_act_type(int wtype);
/* Reference (scalar) and fast (AVX2 or portable) row kernels; NULL dot if unsupported. */
void pgr_type_ops_ref(int wtype, pgr_type_ops *ops);
void pgr_type_ops_fast(int wtype, pgr_type_ops *ops);
int pgr_cpu_has_avx2(void); /* what the CPU has */
int pgr_use_avx2(void);     /* has it and not forced off for tests */
/* AVX2 ops that reproduce llama.cpp's CPU numerics (see quant_avx2.c). */
void pgr_avx2_swiglu(const float *gate, const float *up, float *out, size_t n);
void pgr_avx2_rope(float *x, const int32_t *pos, int n_tok, int n_heads, int head_dim,
                   float theta_base);
/* scratch: head_dim + round_up(pos + 1, 8) + 32 * head_dim floats; head_dim % 32 == 0 */
void pgr_avx2_attn(const float *q, float *out, int pos, const int32_t *table, const uint16_t *kc,
                   const uint16_t *vc, int bs, int kv_dim, int kvh, int hd, float scale,
                   float *scratch, int single);

/* Fast multi-token kernel for the matmul driver: y[t*ystride + r] for r in
 * [r0, r1), t in [0, nt): weight rows times activation rows (each arow_bytes).
 * NULL when a type has no blocked kernel (the driver falls back to dot). */
typedef void (*pgr_gemm_fn)(const uint8_t *w, size_t wrow_bytes, int r0, int r1,
                            const uint8_t *a, size_t arow_bytes, int nt, float *y,
                            size_t ystride, size_t n);
pgr_gemm_fn pgr_gemm_fast(int wtype);

/* kquant.c: Q5_0 and the k-quants. quant_* are ggml's reference quantisers
 * (weights; bit-identical), q8_K the activation quantiser of Q4_K/Q6_K; the
 * dot products keep llama.cpp's AVX2 lanes (see kquant.c). */
void pgr_quant_q5_0(const float *x, void *y, size_t n);
void pgr_quant_q4_K(const float *x, void *y, size_t n);
void pgr_quant_q6_K(const float *x, void *y, size_t n);
void pgr_quant_q8_K(const float *x, void *y, size_t n);
void pgr_quant_q8_0_ggml(const float *x, void *y, size_t n);
void pgr_dequant_q5_0(const void *x, float *y, size_t n);
void pgr_dequant_q4_K(const void *x, float *y, size_t n);
void pgr_dequant_q6_K(const void *x, float *y, size_t n);
void pgr_dequant_q8_K(const void *x, float *y, size_t n);
float pgr_dot_q5_0_ref(const void *w, const void *a, size_t n);
float pgr_dot_q4_K_ref(const void *w, const void *a, size_t n);
float pgr_dot_q6_K_ref(const void *w, const void *a, size_t n);
/* the 8 sub-block scales and mins of a Q4_K super-block, 6 bits each */
void pgr_k4_scales(const uint8_t *packed, uint8_t sc[8], uint8_t mn[8]);

/* Reference ops shared with the fast table where no faster version exists. */
void pgr_ref_rmsnorm(pgr_kctx *ctx, const float *x, const float *w, float *out, int n_tok,
                     int dim, float eps);
void pgr_ref_rope(pgr_kctx *ctx, float *x, const int32_t *pos, int n_tok, int n_heads,
                  int head_dim, float theta_base);
void pgr_ref_kv_store(pgr_kctx *ctx, uint16_t *kcache, uint16_t *vcache, const float *k,
                      const float *v, int n_tok, const int32_t *pos,
                      const int32_t *const *block_table, int block_size, int kv_dim);
void pgr_ref_softmax(pgr_kctx *ctx, float *x, size_t n);
void pgr_ref_embed(pgr_kctx *ctx, const pgr_wmat *w, const int32_t *tokens, float *out, int n_tok);
/* sgmv.c: the adapters' segmented low-rank update (kernels.h) */
void pgr_ref_sgmv(pgr_kctx *ctx, int n_seg, const pgr_sgmv_seg *seg, const int32_t *rows,
                  const float *x, int in_dim, float *y, int out_dim);
void pgr_cpu_sgmv(pgr_kctx *ctx, int n_seg, const pgr_sgmv_seg *seg, const int32_t *rows,
                  const float *x, int in_dim, float *y, int out_dim);
#endif
