#ifndef PEERGRAPH_TRAIN_H
#define PEERGRAPH_TRAIN_H
/* Training an adapter (inference/adapter.h) through the frozen base model
 * (issue 9): a training-time forward over one sequence that keeps what the
 * backward pass needs, backward passes for the adapter's parameters only
 * (LoRA at any projection, LoReFT, DiReFT), and AdamW.
 *
 * A training sequence is a prompt followed by a continuation; the loss is the
 * cross-entropy of the continuation tokens (each predicted from the tokens
 * before it). The adapter acts where pgr_adapter_acts_at says for the mode:
 *   PGR_AD_PREFILL  (PreFT) on prompt positions only: its gradient reaches the
 *                   adapter through the last prompt token's logits and through
 *                   the adapted keys and values the continuation attends to;
 *   PGR_AD_ALL      on every position.
 *
 * Numerics: weights stay quantised; W x uses the engine's matmul kernels
 * (activations quantised to Q8 as at inference), dx = W^T dy dequantises
 * 64x64 tiles (pgr_cpu_matmul_t). Attention runs in float32 over the
 * sequence (inference keeps K/V in fp16: losses agree to ~1e-2).
 *
 * Activation memory for a sequence of T tokens (floats; d = dim, f = ffn,
 * q = n_head*head_dim, kv = n_kv_head*head_dim, V = vocab):
 *   checkpoints  (n_layer + 1) * T * d     residual stream entering each layer
 *                (+ n_layer * T * d for ReFT: the stream before the intervention)
 *   one layer    T * (7d + 4q + 4kv + 6f) + n_head * T^2   recomputed per layer
 *                in the backward pass from its checkpoint (one extra forward)
 *   logits       32 * V                    the loss runs over 32 tokens at a time
 * SmolLM2-135M, T = 256: 17.4 + 15.9 + 2.3 + 6.0 MiB ~ 42 MiB (LoRA),
 * ~ 59 MiB (ReFT); pgr_trainer_act_bytes reports the exact figure.
 *
 * Deterministic: the same adapter, data, options and seed give the same
 * result whatever the thread count (no reduction depends on threads). */
#include <stddef.h>
#include <stdint.h>

#include "graph/util.h"
#include "inference/adapter.h"
#include "inference/model.h"

typedef struct pgr_train_seq {
    const int32_t *tok; /* (n_tok) */
    int n_tok;
    int prompt_len; /* 1 <= prompt_len < n_tok: tokens [0, prompt_len) are the prompt */
} pgr_train_seq;

typedef struct pgr_train_opts {
    float lr;           /* peak learning rate */
    float min_lr_frac;  /* cosine decays to lr * min_lr_frac at the last step */
    int warmup;         /* steps of linear warm-up from lr / warmup */
    int steps;          /* total steps (for the schedule) */
    float weight_decay; /* decoupled (AdamW), not on ReFT's bias */
    float beta1, beta2, eps;
    float clip; /* global gradient-norm clip; 0 = none */
} pgr_train_opts;
/* lr 5e-3 (LoRA) / 5e-4 (ReFT), min 0.1, warmup 10% of steps, wd 0.01,
 * betas 0.9 / 0.999, eps 1e-8, clip 1.0. */
void pgr_train_opts_default(pgr_train_opts *o, int method, int steps);
/* The learning rate at step (0-based): linear warm-up then cosine. */
float pgr_train_lr(const pgr_train_opts *o, int step);

/* An adapter to start training from, deterministic in seed: LoRA A uniform
 * in +-1/sqrt(in), B = 0 (the base model exactly); LoReFT R orthonormal, W = R,
 * b = 0 (exactly zero intervention); DiReFT R orthonormal, W = 0, b = 0. */
int pgr_adapter_new_trainable(const pgr_adapter_spec *s, const pgr_model *m, uint64_t seed,
                              pgr_adapter **out, pgr_err *err);

typedef struct pgr_trainer pgr_trainer;

/* a: the adapter to train, in place (borrowed: keep it alive and do not
 * change it elsewhere while the trainer lives); NULL = the base model
 * (pgr_trainer_loss only). mode: PGR_AD_PREFILL | PGR_AD_ALL. max_tok: the
 * longest sequence. n_threads >= 1. */
int pgr_trainer_new(const pgr_model *m, pgr_adapter *a, int mode, int max_tok, int n_threads,
                    pgr_trainer **out, pgr_err *err);
/* The same on a device: NULL or "cpu" (pgr_trainer_new), or "cuda": the
 * forward and backward run on the GPU (kernels/cuda/trainer.cu: bf16
 * weights, fp32 accumulation; the gradient is read back after each
 * sequence and AdamW runs here, on the host copy of the adapter, which is
 * uploaded again before the next sequence). "cuda" fails with
 * PGR_EUNSUPPORTED ("no CUDA device: ..." or "CUDA backend not compiled
 * in") where it cannot run; another name with PGR_EINVAL. n_threads is
 * unused on "cuda". */
int pgr_trainer_new_on(const pgr_model *m, pgr_adapter *a, int mode, int max_tok, int n_threads,
                       const char *device, pgr_trainer **out, pgr_err *err);
const char *pgr_trainer_device(const pgr_trainer *t); /* "cpu" | "cuda" */
void pgr_trainer_free(pgr_trainer *t); /* NULL is fine */

/* Forward (and, when grad_scale != 0, backward) over one sequence: *loss_sum
 * = summed cross-entropy (nats) of its n_tok - prompt_len continuation tokens
 * (*n_pred); the gradient of grad_scale * loss_sum is ADDED to the trainer's
 * gradient. Returns 0, or -1 with err (PGR_EINVAL for a bad sequence). */
int pgr_trainer_loss(pgr_trainer *t, const pgr_train_seq *s, float grad_scale, double *loss_sum,
                     int *n_pred, pgr_err *err);
/* One AdamW step (0-based step index for the schedule and bias correction)
 * with the accumulated gradient, clipped to o->clip global norm; then zeroes
 * the gradient. LoReFT's R rows are re-orthonormalised after the update.
 * *gnorm (may be NULL): the norm before clipping. */
void pgr_trainer_step(pgr_trainer *t, const pgr_train_opts *o, int step, double *gnorm);
void pgr_trainer_zero_grad(pgr_trainer *t);
/* The accumulated gradient, shaped as the adapter (borrowed). */
const pgr_adapter *pgr_trainer_grad(const pgr_trainer *t);
/* Bytes of activation buffers (the budget in the header comment; on
 * "cuda" the device's, which also holds all logits rows of a 64-row chunk
 * and their bf16 copy). */
size_t pgr_trainer_act_bytes(const pgr_trainer *t);

#endif
