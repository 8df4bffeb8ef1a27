#ifndef PEERGRAPH_TRAIN_IMPL_H
#define PEERGRAPH_TRAIN_IMPL_H
/* Private to inference/train*.c and tests/unit/test_train.c: the forward and
 * backward pieces of the training pass, each on plain float arrays so that
 * each can be checked against finite differences on its own.
 *
 * Conventions: row-major, one row per token; "d" prefixes a gradient of the
 * scalar loss; backward functions ADD into their input gradients (+=) so that
 * several consumers of one tensor can accumulate, and never touch the output
 * gradient they are given. mask (n) nonzero = the adapter acts at that token;
 * NULL = every token. */
#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"

/* y (n, d) = x * rsqrt(mean(x^2) + eps) * w, as pgr_ref_rmsnorm */
void pgr_tr_rmsnorm(const float *x, const float *w, float *y, int n, int d, float eps);
void pgr_tr_rmsnorm_bwd(const float *x, const float *w, const float *dy, float *dx, int n, int d,
                        float eps);

/* act (n) = silu(g) * u; backward adds dg, du */
void pgr_tr_swiglu_bwd(const float *g, const float *u, const float *dact, float *dg, float *du,
                       size_t n);

/* RoPE backward: the rotation's transpose is the rotation by -pos, so dx is
 * rotated in place by the kernel's own rope with negated positions. */
void pgr_tr_rope_bwd(const pgr_kernels *K, pgr_kctx *ctx, float *dx, const int32_t *pos, int n,
                     int n_heads, int head_dim, float theta, int32_t *neg_pos_scratch);

/* Causal self-attention of one sequence at positions 0..n-1 (q after RoPE):
 * q (n, nh*hd), k/v (n, nkv*hd), out (n, nh*hd), P (nh, n, n) the softmax
 * probabilities (row i holds entries j <= i; the rest are left alone). */
void pgr_tr_attention(const float *q, const float *k, const float *v, float *out, float *P, int n,
                      int nh, int nkv, int hd, float scale);
/* Adds dq, dk, dv. dP_row: scratch of n floats. */
void pgr_tr_attention_bwd(const float *q, const float *k, const float *v, const float *P,
                          const float *dout, float *dq, float *dk, float *dv, int n, int nh,
                          int nkv, int hd, float scale, float *dP_row);

/* LoRA at a projection: out (n, od) += scale * (in (n, id) · A^T) · B^T for
 * masked rows; A (r, id), B (od, r). u (n, r) scratch. Backward adds dA, dB
 * and din (din may be NULL when the input's gradient is not needed). */
void pgr_tr_lora(const float *in, const float *A, const float *B, float scale, const uint8_t *mask,
                 float *out, int n, int id, int od, int r);
void pgr_tr_lora_bwd(const float *in, const float *A, const float *B, float scale,
                     const uint8_t *mask, const float *dout, float *dA, float *dB, float *din,
                     int n, int id, int od, int r, float *u, float *du);

/* ReFT at the residual stream, in place on h (n, d) for masked rows:
 * loreft: h += R^T (W h + b - R h); direft: h += R^T (W h + b).
 * Backward from y = reft(h): given h (the input, saved) and dy, adds dR, dW,
 * db and dh (dh must not alias dy). z: scratch of r floats, dz r floats. */
void pgr_tr_reft(float *h, const float *R, const float *W, const float *b, int loreft,
                 const uint8_t *mask, int n, int d, int r, float *z);
void pgr_tr_reft_bwd(const float *h, const float *R, const float *W, const float *b, int loreft,
                     const uint8_t *mask, const float *dy, float *dR, float *dW, float *db,
                     float *dh, int n, int d, int r, float *z, float *dz);

/* Cross-entropy of logits (n, V) against targets (n): returns the summed
 * loss (double) and, when dlogits != NULL, writes dlogits = (softmax - onehot)
 * * gscale (dlogits may equal logits). */
double pgr_tr_xent(const float *logits, const int32_t *target, float *dlogits, int n, int V,
                   float gscale);

#endif
