#ifndef PEERGRAPH_CUDA_BACKEND_H
#define PEERGRAPH_CUDA_BACKEND_H
/* The CUDA backend as the engine sees it (plain C). inference/model.c uses it
 * for engines made with pgr_engine_new_on(m, "cuda", ...); nothing else should
 * need it. The kernels themselves are in kernels/cuda/NAME.cu, their C-callable
 * launchers in kernels/cuda/cuda_kernels.h (for the tests).
 *
 * Without CUDA compiled in (no nvcc, sanitizer and fuzz builds) these same
 * functions exist (kernels/cuda/cuda_stub.c) and fail with PGR_EUNSUPPORTED
 * "CUDA backend not compiled in", so `--device cuda` is a clear error there.
 *
 * Design (docs/cuda.md): weights are uploaded once (raw blocks for our own
 * quantised matrix-vector kernel, and a bf16 copy for cuBLAS GEMMs); the KV
 * cache data live in device memory while the block tables stay in the host's
 * pgr_kv (the scheduler's bookkeeping is unchanged); adapters are uploaded on
 * demand into a device pool; decode steps without adapter work replay CUDA
 * graphs captured per batch-size bucket. */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
#include "graph/util.h"
#include "inference/model.h"
struct pgr_adapter;

/* 0 if a CUDA device can be used (name gets its name and memory), or -1
 * with err: PGR_EUNSUPPORTED when CUDA is not compiled in or no device /
 * driver is present ("no CUDA device: ..."). Never crashes without a GPU. */
int pgr_cuda_available(char *name, size_t name_len, pgr_err *err);

typedef struct pgr_cuda_engine pgr_cuda_engine;

/* Uploads the model's weights (the model is borrowed: free the engine
 * first). Options from the environment, read once here:
 *   PEERGRAPH_CUDA_GEMM    auto (default) = cublas: cuBLAS on bf16 copies of
 *                          the weights at every batch size | quant: our
 *                          fp32-activation kernel on the quantised blocks
 *                          everywhere (closest to the CPU numerics)
 *   PEERGRAPH_CUDA_GEMV    auto (default): at 1..8 tokens, per projection
 *                          group, our bf16 matrix-vector kernel (gemv_bf16.cu)
 *                          where it timed faster than cuBLAS when the engine
 *                          started | on: wherever it applies | off: never
 *   PEERGRAPH_CUDA_GRAPHS  1 (default) | 0: CUDA graphs for adapter-free steps
 *   PEERGRAPH_CUDA_ADAPTER_MIB  device adapter pool budget (default 1024)
 *   PEERGRAPH_CUDA_SGMV_MIN  LoRA tokens of one adapter in a step from which
 *                          they go to SGMV rather than BGMV (default 2; 1 =
 *                          SGMV only) */
int pgr_cuda_engine_new(const pgr_model *m, pgr_cuda_engine **out, pgr_err *err);
void pgr_cuda_engine_free(pgr_cuda_engine *ce); /* NULL is fine */

/* One forward step, already admitted by the host engine (model.c): every
 * token's sequence is open, positions continue it, and the blocks it needs
 * are in table. kv_uid names the host pgr_kv: the device keeps one cache's
 * data at a time and refuses a batch that continues a sequence whose K/V
 * were written to another cache. */
typedef struct pgr_cuda_batch {
    int n_tok;
    const int32_t *token, *seq, *pos; /* (n_tok) */
    const uint8_t *want_logits;       /* (n_tok) or NULL: the last token only */
    uint64_t kv_uid;
    int kv_blocks, block_size, max_seqs, n_layer_kv;
    const int32_t *table; /* (max_seqs, kv_blocks) block tables */
} pgr_cuda_batch;

/* Runs the batch; writes the wanted tokens' logits (n_want, vocab) in batch
 * order into logits (host memory). hooks: NULL, none set, or the hooks of a
 * pgr_adapter_set (applied on the device); other hooks are refused
 * (PGR_EUNSUPPORTED). Returns 0 or -1 with err (CUDA and cuBLAS failures name
 * the call, file and line). */
int pgr_cuda_forward(pgr_cuda_engine *ce, const pgr_cuda_batch *b, const pgr_hooks *hooks,
                     float *logits, pgr_err *err);
/* The same step, but ids (n_want) gets each wanted token's argmax (first
 * index on ties), taken on the device (sample.cu pgr_cu_argmax): greedy
 * decoding without copying logits to the host. */
int pgr_cuda_forward_ids(pgr_cuda_engine *ce, const pgr_cuda_batch *b, const pgr_hooks *hooks,
                         int32_t *ids, pgr_err *err);

/* Device memory bandwidth as a large device-to-device copy measures it
 * (bytes read + bytes written per second, median of reps), for the G1/G2
 * ceilings of `peergraph bench gpu`. */
int pgr_cuda_copy_bandwidth(size_t bytes, int reps, double *bytes_per_s, pgr_err *err);

/* Free and total device memory of device 0 (cudaMemGetInfo), for the
 * memory plan of `bench gpu` G3. */
int pgr_cuda_mem_info(size_t *free_bytes, size_t *total_bytes, pgr_err *err);

/* G4 of `peergraph bench gpu`: one timed kernel (kernels/cuda/bench_kernels.cu). */
typedef struct pgr_cuda_kbench {
    char name[40];  /* the kernel, as its .cu file calls it */
    char shape[96]; /* the shape it ran on */
    double us;      /* median microseconds per launch */
    double bytes;   /* device memory bytes a launch must move (our count: inputs read once,
                       outputs written once) */
    double flops;   /* floating-point operations per launch (multiply-add = 2) */
    int compute;    /* judged against: 0 bandwidth (GB/s), 1 the bf16 tensor-core peak,
                       2 the fp32 CUDA-core peak (TFLOP/s) */
} pgr_cuda_kbench;
/* Times every kernel of kernels/cuda once per shape on random inputs of the
 * shapes of cfg (a Llama-3.1-8B layer for bench gpu): decode and prefill
 * sizes, n_adapters LoRA adapters of rank lora_rank for the adapter kernels.
 * reps timed launches after one warm-up; fills up to max entries, *n of
 * them. */
int pgr_cuda_kernel_bench(const pgr_model_cfg *cfg, int reps, int lora_rank, int n_adapters,
                          pgr_cuda_kbench *out, int max, int *n, pgr_err *err);

/* Adapter training on the GPU (kernels/cuda/trainer.cu; issue 9): the
 * device half of a pgr_trainer made with device "cuda" (inference/train.h),
 * which keeps the host half: the sequence checks, the mask, the AdamW step
 * on the host copy of the adapter. Per sequence, the device runs the
 * checkpointed forward, the loss and the backward of the CPU trainer
 * (inference/train.c) with the kernels of cuda_train.h and accumulates the
 * adapter's gradient in device memory; the host fetches it (it is small:
 * 9.3 MiB for LoRA rank 8 on all seven projections of SmolLM2-135M) for
 * the AdamW step and uploads the updated adapter before the next sequence.
 * Weights: dequantised on the host (any type the CPU reads) and uploaded
 * as bf16 for cuBLAS (PEERGRAPH_CUDA_TRAIN_WEIGHTS=f32: as float, fp32
 * products throughout: the closest to the CPU, for checking). */
typedef struct pgr_cuda_trainer pgr_cuda_trainer;
/* a: the adapter (uploaded now; NULL = the base model, loss only); mode
 * PGR_AD_PREFILL | PGR_AD_ALL as pgr_trainer_new; max_tok the longest
 * sequence. Fails with PGR_EUNSUPPORTED "no CUDA device: ..." without one. */
int pgr_cuda_trainer_new(const pgr_model *m, const struct pgr_adapter *a, int max_tok,
                         pgr_cuda_trainer **out, pgr_err *err);
void pgr_cuda_trainer_free(pgr_cuda_trainer *ct); /* NULL is fine */
/* Uploads the adapter's current parameters (same spec as at creation). */
int pgr_cuda_trainer_set_adapter(pgr_cuda_trainer *ct, const struct pgr_adapter *a, pgr_err *err);
/* One checked sequence (the caller validated tokens and lengths): tok (n),
 * mask (n) nonzero where the adapter acts. *loss_sum: summed cross-entropy
 * of tokens prompt_len..n-1 (each from the ones before). grad_scale != 0:
 * the gradient of grad_scale * loss_sum is added to the device gradient. */
int pgr_cuda_trainer_loss(pgr_cuda_trainer *ct, const int32_t *tok, int n, int prompt_len,
                          const uint8_t *mask, float grad_scale, double *loss_sum, pgr_err *err);
/* Copies the accumulated device gradient over g (the adapter's shapes). */
int pgr_cuda_trainer_grad(pgr_cuda_trainer *ct, struct pgr_adapter *g, pgr_err *err);
int pgr_cuda_trainer_zero_grad(pgr_cuda_trainer *ct, pgr_err *err);
/* Device bytes of activations (the CPU trainer's budget, on the device) and
 * of the weights. */
void pgr_cuda_trainer_bytes(const pgr_cuda_trainer *ct, size_t *act_bytes, size_t *weight_bytes);

/* Counters for tests and benchmarks. */
typedef struct pgr_cuda_stats {
    uint64_t steps, graph_steps, graph_captures, adapter_uploads, adapter_evictions;
    uint64_t gemm_cublas, gemm_quant, gemm_gemv; /* matrix products by path */
    uint32_t gemv_mask; /* bit group * 4 + class: gemv_bf16 chosen (engine.cu: groups qkv, o,
                           gate/up, down, output; classes 1, 2, 3-4, 5-8 tokens) */
    uint64_t lora_sgmv_tokens, lora_bgmv_tokens; /* LoRA tokens by kernel (lora_plan.h) */
    size_t weight_bytes, kv_bytes, adapter_bytes;
} pgr_cuda_stats;
void pgr_cuda_stats_get(const pgr_cuda_engine *ce, pgr_cuda_stats *out);

#ifdef __cplusplus
}
#endif
#endif
