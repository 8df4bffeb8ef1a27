#ifndef PEERGRAPH_CUDA_KERNELS_H
#define PEERGRAPH_CUDA_KERNELS_H
/* Launchers of kernels/cuda, C-callable, for the engine (engine.cu) and the
 * tests (tests/unit/test_cuda_*.c), which check each one against the CPU
 * reference. Only compiled with CUDA (PEERGRAPH_CUDA); private to the backend
 * and its tests.
 *
 * Conventions: pointers named d_* are device memory; `stream` is a
 * cudaStream_t (NULL = the default stream). Layouts are those of
 * kernels/kernels.h: activations float32 row-major (n_tok, width), weight
 * matrices (rows, cols) = (out, in) as runs of ggml blocks, KV cache fp16.
 * The paged KV cache is addressed as in kernels.h, with the per-token block
 * table given as d_tabs + d_tab_off[t]. A token with pos[t] < 0 is padding
 * (CUDA graph buckets): kv_store skips it, attention writes zeros.
 * Each launcher returns 0, or -1 with err naming the kernel and the CUDA
 * error of the launch (cudaGetLastError); errors during execution surface at
 * the next synchronising call (pgr_cu_sync). */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
#include "graph/util.h"

/* ---- device and memory (device.cu) ---- */
/* Devices present (0 with err set when there is no driver or device). */
int pgr_cu_device_count(pgr_err *err);
int pgr_cu_malloc(void **d, size_t bytes, pgr_err *err);
void pgr_cu_free(void *d);
int pgr_cu_h2d(void *d, const void *h, size_t bytes, pgr_err *err);
int pgr_cu_d2h(void *h, const void *d, size_t bytes, pgr_err *err);
int pgr_cu_memset(void *d, int byte, size_t bytes, pgr_err *err);
int pgr_cu_sync(pgr_err *err); /* device synchronise: reports execution errors */

/* ---- weights (dequant.cu, embed.cu, qmatvec.cu, gemm.cu, gemv_bf16.cu) ---- */
/* Is this weight type handled by the device kernels? */
int pgr_cu_type_ok(int type);
/* d_out (rows, cols) bf16 = dequantised d_w (rows, row_bytes). cols % 32 == 0. */
int pgr_cu_dequant_bf16(int type, const void *d_w, size_t row_bytes, int rows, int cols,
                        uint16_t *d_out, void *stream, pgr_err *err);
/* d_out (n_tok, cols) = rows d_tok[t] of d_w, dequantised to float. */
int pgr_cu_embed(int type, const void *d_w, size_t row_bytes, int cols, const int32_t *d_tok,
                 int n_tok, float *d_out, void *stream, pgr_err *err);
/* d_y (n_tok, rows) = d_x (n_tok, cols) · W^T with W dequantised on the fly and
 * float32 activations and accumulation: the small-batch decode path. */
int pgr_cu_qmatvec(int type, const void *d_w, size_t row_bytes, int rows, int cols,
                   const float *d_x, float *d_y, int n_tok, void *stream, pgr_err *err);

/* cuBLAS: a handle bound to a stream, with its own workspace (so that the
 * calls can be captured in CUDA graphs). */
typedef struct pgr_cu_blas pgr_cu_blas;
int pgr_cu_blas_new(void *stream, pgr_cu_blas **out, pgr_err *err);
void pgr_cu_blas_free(pgr_cu_blas *b);
/* d_y (n_tok, rows) fp32 = d_x (n_tok, cols) bf16 · W^T, W (rows, cols) bf16,
 * fp32 accumulation (cublasGemmEx). */
int pgr_cu_gemm_bf16(pgr_cu_blas *b, const uint16_t *d_w, int rows, int cols,
                     const uint16_t *d_x, float *d_y, int n_tok, pgr_err *err);
/* The same, adding into d_y when accumulate != 0 (beta = 1). */
int pgr_cu_gemm_bf16_acc(pgr_cu_blas *b, const uint16_t *d_w, int rows, int cols,
                         const uint16_t *d_x, float *d_y, int n_tok, int accumulate,
                         pgr_err *err);

/* Small-batch decode (gemv_bf16.cu): for each of n_mats (1..GV_MAX_MATS)
 * bf16 matrices W_i (rows_i, cols) sharing the float32 input d_x (n_tok,
 * cols), y_i (n_tok, rows_i) = d_x · W_i^T, or y_i += that when accumulate.
 * n_tok 1..GV_MAX_TOK, cols a multiple of 8, W_i and d_x 16-byte aligned. */
#define GV_MAX_MATS 3
#define GV_MAX_TOK 8
typedef struct pgr_cu_gemv_mat {
    const uint16_t *w; /* (rows, cols) bf16, device */
    float *y;          /* (n_tok, rows), device */
    int rows;
} pgr_cu_gemv_mat;
int pgr_cu_gemv_bf16(const pgr_cu_gemv_mat *mats, int n_mats, int cols, const float *d_x,
                     int n_tok, int accumulate, void *stream, pgr_err *err);

/* ---- element-wise and small ops (elementwise.cu, rmsnorm.cu, rope.cu, swiglu.cu) ---- */
int pgr_cu_rmsnorm(const float *d_x, const float *d_w, float *d_out, int n_tok, int dim,
                   float eps, void *stream, pgr_err *err);
int pgr_cu_rope(float *d_x, const int32_t *d_pos, int n_tok, int n_heads, int head_dim,
                float theta_base, void *stream, pgr_err *err);
int pgr_cu_swiglu(const float *d_gate, const float *d_up, float *d_out, size_t n, void *stream,
                  pgr_err *err);
int pgr_cu_add(float *d_x, const float *d_y, size_t n, void *stream, pgr_err *err); /* x += y */
int pgr_cu_to_bf16(const float *d_x, uint16_t *d_y, size_t n, void *stream, pgr_err *err);
/* d_out (n_rows, dim) = rows d_rows[i] of d_x. */
int pgr_cu_gather_rows(const float *d_x, const int32_t *d_rows, int n_rows, int dim,
                       float *d_out, void *stream, pgr_err *err);

/* ---- paged KV cache and attention (kv_store.cu, rope_kv.cu, attention.cu) ---- */
int pgr_cu_kv_store(uint16_t *d_kc, uint16_t *d_vc, const float *d_k, const float *d_v,
                    int n_tok, const int32_t *d_pos, const int32_t *d_tab_off,
                    const int32_t *d_tabs, int block_size, int kv_dim, void *stream,
                    pgr_err *err);
/* pgr_cu_rope on d_q (n_tok, n_head * head_dim) and on d_k (n_tok,
 * n_kv_head * head_dim), then pgr_cu_kv_store of the rotated k and d_v, in
 * one launch (rope_kv.cu): the same results. */
int pgr_cu_rope_kv_store(float *d_q, float *d_k, const float *d_v, uint16_t *d_kc, uint16_t *d_vc,
                         int n_tok, const int32_t *d_pos, const int32_t *d_tab_off,
                         const int32_t *d_tabs, int block_size, int n_head, int n_kv_head,
                         int head_dim, float theta_base, void *stream, pgr_err *err);
/* head_dim a multiple of 32, at most 256. */
int pgr_cu_attention(const float *d_q, float *d_out, int n_tok, const int32_t *d_pos,
                     const int32_t *d_tab_off, const int32_t *d_tabs, const uint16_t *d_kc,
                     const uint16_t *d_vc, int block_size, int n_head, int n_kv_head,
                     int head_dim, float scale, void *stream, pgr_err *err);

/* ---- adapters (lora_sgmv.cu, lora_bgmv.cu, reft.cu) ---- */
/* One LoRA site of one adapter on the device: A (rank, in) and B stored
 * transposed, Bt (rank, out), so that the expand reads it coalesced. A NULL
 * means the adapter does not touch this site. */
typedef struct pgr_cu_lora {
    const float *A;  /* (rank, in) */
    const float *Bt; /* (rank, out) */
    int rank;
    float scale; /* alpha / rank */
} pgr_cu_lora;
/* d_tabs: device array, per adapter slot, of a device pointer to that
 * adapter's sites (indexed by site_idx = layer * PGR_SITE_COUNT + site). */

/* Per token (BGMV, for decode steps where tokens rarely share an adapter):
 * d_y[t] += scale * (d_x[t] · A^T) · Bt for each t with d_slot[t] >= 0.
 * One block per token does shrink and expand. max_rank bounds every rank. */
int pgr_cu_lora_bgmv(const float *d_x, int in_dim, float *d_y, int out_dim, int n_tok,
                     const int32_t *d_slot, const pgr_cu_lora *const *d_tabs, int site_idx,
                     int max_rank, void *stream, pgr_err *err);
/* Segmented (SGMV, prefill): segment g is tokens d_seg_tok[d_seg_start[g] ..
 * d_seg_start[g+1]) of adapter slot d_seg_slot[g]; the shrink writes d_tmp
 * (n_seg_tok, max_rank), the expand adds into d_y. max_seg_len: the longest
 * segment's token count (the grid is sized by it); max_rank at most 256. */
int pgr_cu_lora_sgmv(const float *d_x, int in_dim, float *d_y, int out_dim, int n_seg,
                     int max_seg_len, const int32_t *d_seg_start, const int32_t *d_seg_tok,
                     const int32_t *d_seg_slot, const pgr_cu_lora *const *d_tabs, int site_idx,
                     int max_rank, float *d_tmp, void *stream, pgr_err *err);

/* One ReFT layer of one adapter: R, W (rank, dim), b (rank); R NULL = not
 * this layer. loreft: h += R^T (W h + b - R h); else (DiReFT) h += R^T (W h + b). */
typedef struct pgr_cu_reft {
    const float *R, *W, *b;
    int rank, loreft;
} pgr_cu_reft;
/* For tokens with d_slot[t] >= 0: d_h[t] (dim) changes in place; d_tabs per
 * slot points to the adapter's layers. (dim + max_rank) floats of shared
 * memory per block: dim + max_rank <= 12288. */
int pgr_cu_reft_apply(float *d_h, int dim, int n_tok, const int32_t *d_slot,
                      const pgr_cu_reft *const *d_tabs, int layer, int max_rank, void *stream,
                pgr_err *err);

/* ---- logits and sampling (sample.cu) ---- */
/* d_out[r] = index of the largest logit of row r (the first one on ties). */
int pgr_cu_argmax(const float *d_logits, int n_rows, int vocab, int32_t *d_out, void *stream,
                  pgr_err *err);
/* Per row: the top_k (1..256) largest logits (ties: lower index first), softmax
 * at temperature (> 0), the shortest prefix whose probability reaches top_p
 * (0 < top_p <= 1), renormalised, and the token where the cumulative
 * probability first exceeds d_u[r] (a uniform in [0, 1) per row) times the
 * prefix's mass. d_scratch holds (n_rows, vocab) floats. */
int pgr_cu_sample_topk_topp(const float *d_logits, int n_rows, int vocab, int top_k,
                            float top_p, float temperature, const float *d_u, float *d_scratch,
                            int32_t *d_out, void *stream, pgr_err *err);

#ifdef __cplusplus
}
#endif
#endif
