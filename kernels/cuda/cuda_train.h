#ifndef PEERGRAPH_CUDA_TRAIN_H
#define PEERGRAPH_CUDA_TRAIN_H
/* Launchers of the training kernels of kernels/cuda (issue 9: adapter
 * training on the GPU), C-callable, for the GPU trainer (trainer.cu) and the
 * tests (tests/unit/test_cuda_train.c), which check each one against the CPU
 * reference function of inference/train_impl.h on the same inputs.
 *
 * Conventions are train_impl.h's: float32 row-major, one row per token, "d"
 * prefixes a gradient; every backward launcher ADDS into its input gradients
 * (+=) and never touches the output gradient it is given; mask (n) nonzero =
 * the adapter acts at that token, NULL = every token. Pointers d_* are device
 * memory; `stream` is a cudaStream_t (NULL = the default stream), and a
 * pgr_cu_blas handle passed with it must be bound to that stream
 * (pgr_cu_blas_new(stream, ...)). Each returns 0, or -1 with err naming the
 * launch (or the cuBLAS call) that failed. Only compiled with CUDA
 * (PEERGRAPH_CUDA); private to the backend and its tests. */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
#include "graph/util.h"
#include "kernels/cuda/cuda_kernels.h"

/* ---- row-major matrix products through cuBLAS (gemm_rm.cu) ---- */
/* C (M, N) = alpha op(A) op(B) + beta C, all row-major: op(A) is (M, K), A
 * stored (M, K) with leading dimension lda when ta == 0, (K, M) when ta != 0;
 * likewise B. bf16 != 0: A and B are bf16 (uint16_t), else float; C float,
 * fp32 accumulation always (CUBLAS_COMPUTE_32F: no TF32). */
int pgr_cu_mm(pgr_cu_blas *b, int ta, int tb, int M, int N, int K, float alpha, const void *d_A,
              int lda, const void *d_B, int ldb, float beta, float *d_C, int ldc, int bf16,
              pgr_err *err);

/* ---- small element-wise helpers (train_small.cu) ---- */
/* x (n, r) row t *= mask[t] ? scale : 0, then (bias != NULL) += bias for the
 * kept rows: the masked rank-space vectors of LoRA (u, du) and ReFT (z, dz). */
int pgr_cu_mask_rows(float *d_x, const uint8_t *d_mask, const float *d_bias, float scale, int n,
                     int r, void *stream, pgr_err *err);
/* out[j] += sum over t of x[t][j], x (n, r): ReFT's bias gradient, in token order. */
int pgr_cu_colsum_add(const float *d_x, float *d_out, int n, int r, void *stream, pgr_err *err);
/* out = a + alpha * b (n floats; out may alias a). */
int pgr_cu_axpy3(const float *d_a, float alpha, const float *d_b, float *d_out, size_t n,
                 void *stream, pgr_err *err);

/* ---- backward pieces (rmsnorm_bwd.cu, swiglu_bwd.cu, rope.cu) ---- */
/* = pgr_tr_rmsnorm_bwd: dx (n, d) += d(rmsnorm(x) * w)/dx ^T dy */
int pgr_cu_rmsnorm_bwd(const float *d_x, const float *d_w, const float *d_dy, float *d_dx, int n,
                       int d, float eps, void *stream, pgr_err *err);
/* = pgr_tr_swiglu_bwd: dg, du (n) += from dact through act = silu(g) * u */
int pgr_cu_swiglu_bwd(const float *d_g, const float *d_u, const float *d_dact, float *d_dg,
                      float *d_du, size_t n, void *stream, pgr_err *err);
/* = pgr_tr_rope_bwd: dx rotated in place by -pos (the rotation's transpose),
 * angles built exactly as pgr_cu_rope / the CPU rope (negated). */
int pgr_cu_rope_bwd(float *d_dx, const int32_t *d_pos, int n, int n_heads, int head_dim,
                    float theta_base, void *stream, pgr_err *err);

/* ---- causal attention of one sequence, keeping P (attention_train.cu) ---- */
/* = pgr_tr_attention: q (n, nh*hd) after RoPE, k/v (n, nkv*hd), out (n, nh*hd),
 * P (nh, n, n) softmax probabilities, row i: entries j <= i, zeros after
 * (written, unlike the CPU, so that P is fully defined). hd a multiple of 32,
 * at most 256; n at most 8192 (one row of scores in shared memory). */
int pgr_cu_attn_train_fwd(const float *d_q, const float *d_k, const float *d_v, float *d_out,
                          float *d_P, int n, int nh, int nkv, int hd, float scale, void *stream,
                          pgr_err *err);
/* = pgr_tr_attention_bwd: adds dq, dk, dv. d_dS: scratch (nh, n, n). No
 * atomics: dk, dv sum over the queries and the group's heads in order. */
int pgr_cu_attn_train_bwd(const float *d_q, const float *d_k, const float *d_v, const float *d_P,
                          const float *d_dout, float *d_dq, float *d_dk, float *d_dv, int n, int nh,
                          int nkv, int hd, float scale, float *d_dS, void *stream, pgr_err *err);

/* ---- LoRA (lora_train.cu) ---- */
/* = pgr_tr_lora: out (n, od) += scale * (in (n, id) · A^T) · B^T on masked
 * rows; A (r, id), B (od, r) (the host adapter's layouts). d_u: (n, r) scratch. */
int pgr_cu_lora_train_fwd(pgr_cu_blas *b, const float *d_in, const float *d_A, const float *d_B,
                          float scale, const uint8_t *d_mask, float *d_out, int n, int id, int od,
                          int r, float *d_u, void *stream, pgr_err *err);
/* = pgr_tr_lora_bwd: adds dA, dB and (d_din != NULL) din. d_u, d_du: (n, r). */
int pgr_cu_lora_train_bwd(pgr_cu_blas *b, const float *d_in, const float *d_A, const float *d_B,
                          float scale, const uint8_t *d_mask, const float *d_dout, float *d_dA,
                          float *d_dB, float *d_din, int n, int id, int od, int r, float *d_u,
                          float *d_du, void *stream, pgr_err *err);

/* ---- LoReFT / DiReFT (reft_train.cu) ---- */
/* = pgr_tr_reft, in place on h (n, d): h += R^T (W h + b - R h) (loreft) or
 * R^T (W h + b) (direft) on masked rows; R, W (r, d), bias (r). d_scratch:
 * n * r + r * d floats. */
int pgr_cu_reft_train_fwd(pgr_cu_blas *b, float *d_h, const float *d_R, const float *d_W,
                          const float *d_bias, int loreft, const uint8_t *d_mask, int n, int d,
                          int r, float *d_scratch, void *stream, pgr_err *err);
/* = pgr_tr_reft_bwd: from h (the input, saved) and dy adds dR, dW, db and dh
 * (dh must not alias dy). d_scratch: 2 * n * r + r * d floats. */
int pgr_cu_reft_train_bwd(pgr_cu_blas *b, const float *d_h, const float *d_R, const float *d_W,
                          const float *d_bias, int loreft, const uint8_t *d_mask, const float *d_dy,
                          float *d_dR, float *d_dW, float *d_db, float *d_dh, int n, int d, int r,
                          float *d_scratch, void *stream, pgr_err *err);

/* ---- cross-entropy (xent.cu) ---- */
/* = pgr_tr_xent per row: d_loss[t] (double) = logsumexp(logits[t]) -
 * logits[t][target[t]]; when d_dlogits != NULL it gets (softmax - onehot) *
 * gscale (it may equal d_logits). Sums and exponentials in double as the CPU. */
int pgr_cu_xent(const float *d_logits, const int32_t *d_target, float *d_dlogits, double *d_loss,
                int n, int V, float gscale, void *stream, pgr_err *err);

#ifdef __cplusplus
}
#endif
#endif
